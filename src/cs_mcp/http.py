"""Streamable HTTP transport: bearer-token check and Host/Origin checks against DNS rebinding."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from cs_mcp.config import ServerSettings

log = logging.getLogger("cs_mcp.http")

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
SSE_PING_SECONDS = 4
"""Keep-alive comment on open response streams. A first call can be silent for longer than a plain HTTP
client's read timeout (httpx: 5 s) while tools register and the data loads; the comment keeps it reading."""


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


def bearer_token_matches(authorization: bytes, expected_digest: bytes) -> bool:
    """Whether an `Authorization` header value carries the token whose SHA-256 is `expected_digest`.

    The comparison is constant-time (hmac.compare_digest) over fixed-length digests, so neither the
    token's characters nor its length can be learned by timing failed attempts.
    """
    scheme, _, given = authorization.strip().partition(b" ")
    if scheme.lower() != b"bearer":
        return False
    return hmac.compare_digest(_digest(given.strip()), expected_digest)


class BearerTokenMiddleware:
    """Rejects requests without `Authorization: Bearer <token>` (plain ASGI, so streaming is untouched)."""

    def __init__(self, app: Any, token: str, open_paths: tuple[str, ...] = ("/health",)):
        self.app = app
        self.expected_digest = _digest(token.encode())  # the token itself is not kept on the middleware
        self.open_paths = open_paths

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") in self.open_paths:
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"authorization")
        if given is not None and bearer_token_matches(given, self.expected_digest):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("?",))[0]
        log.info("refused an HTTP request from %s: %s bearer token", client, "no" if given is None else "wrong")
        await _send_unauthorized(send, missing=given is None)


async def _send_unauthorized(send: Any, missing: bool) -> None:
    # RFC 6750: no credentials -> a bare challenge; bad credentials -> error="invalid_token". The body
    # never repeats what the client sent.
    challenge = b'Bearer realm="cs-mcp"' if missing else b'Bearer realm="cs-mcp", error="invalid_token"'
    body = json.dumps({
        "error": "unauthorized" if missing else "invalid_token",
        "detail": "send the header Authorization: Bearer <token>, with the token the server was started with "
                  "(--token or CS_MCP_TOKEN)",
    }).encode()
    await send({"type": "http.response.start", "status": 401, "headers": [
        (b"content-type", b"application/json"), (b"www-authenticate", challenge),
        (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def build_http_app(server: MCPServer, cfg: ServerSettings) -> Any:
    """The ASGI app for `cs-mcp serve --transport http`; refuses a non-loopback bind without a token."""
    from mcp.server.transport_security import TransportSecuritySettings

    if not is_loopback(cfg.host) and not cfg.token:
        raise ValueError(
            f"Binding to {cfg.host} exposes the data beyond this machine: set a bearer token with --token or "
            "the CS_MCP_TOKEN environment variable (or bind to 127.0.0.1)."
        )
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", f"{cfg.host}:{cfg.port}", f"{cfg.host}:*"]
    origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=hosts + list(cfg.allowed_hosts),
        allowed_origins=origins + list(cfg.allowed_origins),
    )
    _keep_streams_alive()
    app = server.streamable_http_app(streamable_http_path=cfg.path, transport_security=security, host=cfg.host)
    if cfg.token:
        return BearerTokenMiddleware(app, cfg.token)
    return app


def _keep_streams_alive() -> None:
    # The SDK builds its SSE responses without a ping interval, so sse-starlette's class default (15 s) applies.
    from sse_starlette.sse import EventSourceResponse

    if getattr(EventSourceResponse, "DEFAULT_PING_INTERVAL", 0) > SSE_PING_SECONDS:
        EventSourceResponse.DEFAULT_PING_INTERVAL = SSE_PING_SECONDS


def serve_http(server: MCPServer, cfg: ServerSettings) -> None:
    import uvicorn

    app = build_http_app(server, cfg)
    uvicorn.run(app, host=cfg.host, port=cfg.port, log_level="warning")
