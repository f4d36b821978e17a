"""Streamable HTTP transport: bearer-token check and Host/Origin checks against DNS rebinding."""

from __future__ import annotations

import hmac
import ipaddress
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from cs_mcp.config import ServerSettings

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BearerTokenMiddleware:
    """Rejects requests without `Authorization: Bearer <token>` (plain ASGI, so streaming is untouched)."""

    def __init__(self, app: Any, token: str, open_paths: tuple[str, ...] = ("/health",)):
        self.app = app
        self.expected = f"Bearer {token}".encode()
        self.open_paths = open_paths

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") in self.open_paths:
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"authorization", b"")
        if hmac.compare_digest(given, self.expected):
            await self.app(scope, receive, send)
            return
        body = b'{"error": "unauthorized", "detail": "send Authorization: Bearer <token>"}'
        await send({"type": "http.response.start", "status": 401, "headers": [
            (b"content-type", b"application/json"), (b"www-authenticate", b'Bearer realm="cs-mcp"'),
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
    app = server.streamable_http_app(streamable_http_path=cfg.path, transport_security=security, host=cfg.host)
    if cfg.token:
        return BearerTokenMiddleware(app, cfg.token)
    return app


def serve_http(server: MCPServer, cfg: ServerSettings) -> None:
    import uvicorn

    app = build_http_app(server, cfg)
    uvicorn.run(app, host=cfg.host, port=cfg.port, log_level="warning")
