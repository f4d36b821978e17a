"""Streamable HTTP: a real `cs-mcp serve --transport http` subprocess, its bearer token and Host/Origin checks.

The clients here are built with the SDK's `create_mcp_http_client`: its 300 s read timeout is what an MCP
response stream needs. A bare `httpx2.AsyncClient` reads with a 5 s timeout, and a first call that is silent
for longer (tool registration and the data load on a busy machine) then ended as "SSE stream ended without
a response": that was the flake of the first test below. The server now also sends a keep-alive comment on
open streams every 4 s, so such a client keeps reading too.
"""

import hashlib
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from cs_mcp import http as cs_http
from cs_mcp.config import ServerSettings
from cs_mcp.http import BearerTokenMiddleware, bearer_token_matches, build_http_app, is_loopback

pytestmark = pytest.mark.e2e

TINY = Path(__file__).parent / "data" / "tiny"
TOKEN = "test-token-5f1c9a7e42"
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
ACCEPT = {"Accept": "application/json, text/event-stream"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(proc: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(log.read_text()) from None
            time.sleep(0.1)
    raise RuntimeError(f"the server did not listen on {port} within 60 s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def http_server(tmp_path_factory):
    """(url, stderr file) of a server logging at DEBUG, so the log test sees everything it writes."""
    port = free_port()
    log = tmp_path_factory.mktemp("http") / "stderr.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cs_mcp", "serve", "--data", str(TINY), "--transport", "http",
             "--port", str(port), "--token", TOKEN, "--log-level", "DEBUG"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
        )
    try:
        wait_for_port(proc, port, log)
        yield f"http://127.0.0.1:{port}/mcp", log
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def authorized_client(url: str, mode: str, token: str = TOKEN) -> Client:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    return Client(streamable_http_client(url, http_client=http), mode=mode)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_http_client_with_the_token_calls_tools(http_server, mode):
    url, _ = http_server
    async with authorized_client(url, mode) as c:
        result = await c.call_tool("health-score", {"account": "A-1"})
        assert not result.is_error, result.content
        assert result.structured_content["score"] == pytest.approx(65.0, abs=0.05)
        risk = await c.call_tool("churn-risk-list", {})
        assert not risk.is_error, risk.content
        assert {a["account_id"] for a in risk.structured_content["accounts"]} == {"A-1", "A-2"}  # A-3 churned


def test_a_missing_token_gets_401_with_a_bearer_challenge(http_server):
    url, _ = http_server
    response = httpx2.post(url, json=PING, headers=ACCEPT)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="cs-mcp"'
    assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize("authorization", [
    "Bearer nope", f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer", "",
])
def test_a_wrong_token_gets_401_invalid_token_without_echoing_it(http_server, authorization):
    url, _ = http_server
    response = httpx2.post(url, json=PING, headers={**ACCEPT, "Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="cs-mcp", error="invalid_token"'
    assert response.json()["error"] == "invalid_token"
    assert TOKEN not in response.text and TOKEN[:-1] not in response.text


def test_the_bearer_scheme_is_case_insensitive(http_server):
    url, _ = http_server
    response = httpx2.post(url, json={**PING, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
        headers={**ACCEPT, "Authorization": f"bearer {TOKEN}"})
    assert response.status_code == 200


def test_a_foreign_host_header_is_refused_against_dns_rebinding(http_server):
    url, _ = http_server
    headers = {**ACCEPT, "Authorization": f"Bearer {TOKEN}", "Host": "evil.example:80"}
    assert httpx2.post(url, json=PING, headers=headers).status_code == 421


@pytest.mark.parametrize("origin", ["http://evil.example", "https://127.0.0.1.evil.example", "null"])
def test_an_evil_origin_is_refused(http_server, origin):
    url, _ = http_server
    headers = {**ACCEPT, "Authorization": f"Bearer {TOKEN}", "Origin": origin}
    response = httpx2.post(url, json=PING, headers=headers)
    assert response.status_code == 403
    assert "Origin" in response.text


def test_a_loopback_origin_is_accepted(http_server):
    url, _ = http_server
    port = url.split(":")[2].split("/")[0]
    init = {**PING, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    headers = {**ACCEPT, "Authorization": f"Bearer {TOKEN}", "Origin": f"http://localhost:{port}"}
    assert httpx2.post(url, json=init, headers=headers).status_code == 200


@pytest.mark.anyio
async def test_the_token_never_appears_in_logs_or_error_text(http_server):
    url, log = http_server
    near_misses = [TOKEN[:-1], TOKEN + "0", TOKEN.upper()]
    for wrong in near_misses:
        refused = httpx2.post(url, json=PING, headers={**ACCEPT, "Authorization": f"Bearer {wrong}"})
        assert refused.status_code == 401 and wrong not in refused.text
    evil = httpx2.post(url, json=PING, headers={**ACCEPT, "Authorization": f"Bearer {TOKEN}",
                                                "Origin": "http://evil.example"})
    assert evil.status_code == 403 and TOKEN not in evil.text
    async with authorized_client(url, "legacy") as c:
        config = await c.read_resource("cs://config/active")
        assert TOKEN not in config.contents[0].text and '"token": "***"' in config.contents[0].text
        failed = await c.call_tool("health-score", {"account": "no-such-account"})
        assert failed.is_error and TOKEN not in str(failed.content)
    text = log.read_text()
    assert "refused an HTTP request from 127.0.0.1: wrong bearer token" in text  # the refusals are logged ...
    for secret in [TOKEN, *near_misses]:
        assert secret not in text  # ... without the token, right or wrong


def test_a_config_error_at_start_does_not_print_the_token():
    secret = "s3cret-not-for-logs-81"
    proc = subprocess.run(
        [sys.executable, "-m", "cs_mcp", "serve", "--data", str(TINY), "--transport", "http", "--port", "0",
         "--token", secret],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2 and "server.port" in proc.stderr
    assert secret not in proc.stderr + proc.stdout


@pytest.mark.parametrize("host", ["::", "cs.example.internal"])  # 0.0.0.0: tests/test_cli.py
def test_binding_beyond_loopback_without_a_token_refuses_to_start(host):
    proc = subprocess.run(
        [sys.executable, "-m", "cs_mcp", "serve", "--data", str(TINY), "--transport", "http", "--host", host,
         "--port", "1"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "CS_MCP_TOKEN": ""},
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"cs-mcp: Binding to {host} exposes the data")
    assert "--token" in proc.stderr and "CS_MCP_TOKEN" in proc.stderr and "Traceback" not in proc.stderr


def test_binding_beyond_loopback_requires_a_token():
    from cs_mcp.server import create_server

    with pytest.raises(ValueError, match="bearer token"):
        build_http_app(create_server(warm_up=False), ServerSettings(host="0.0.0.0"))
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("127.8.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("localhost.evil.example")


def test_open_response_streams_get_a_keep_alive_more_often_than_a_plain_client_times_out():
    from sse_starlette.sse import EventSourceResponse

    from cs_mcp.server import create_server

    build_http_app(create_server(warm_up=False), ServerSettings())
    # httpx reads with a 5 s timeout by default; a first call silent for longer would end the stream
    assert EventSourceResponse.DEFAULT_PING_INTERVAL == cs_http.SSE_PING_SECONDS < 5


# ------------------------------------------------------------------------------- the verifier itself


def test_the_verifier_accepts_only_the_token_and_compares_in_constant_time(monkeypatch):
    expected = hashlib.sha256(TOKEN.encode()).digest()
    calls: list[tuple[bytes, bytes]] = []
    real = cs_http.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(cs_http.hmac, "compare_digest", spy)
    assert bearer_token_matches(f"Bearer {TOKEN}".encode(), expected)
    assert not bearer_token_matches(b"Bearer " + TOKEN[:-1].encode(), expected)
    assert not bearer_token_matches(b"Bearer " + TOKEN.encode() * 10, expected)
    # every decision went through compare_digest, on fixed-length digests: no early exit, no length leak
    assert len(calls) == 3 and all(len(a) == len(b) == 32 for a, b in calls)
    assert all(b == expected for _, b in calls)


@pytest.mark.anyio
async def test_the_middleware_lets_compare_digest_decide(monkeypatch):
    passed: list[str] = []

    async def app(scope, receive, send):
        passed.append(scope["path"])

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    middleware = BearerTokenMiddleware(app, TOKEN)
    assert TOKEN not in repr(vars(middleware))  # only the digest is kept
    scope = {"type": "http", "path": "/mcp", "headers": [(b"authorization", f"Bearer {TOKEN}".encode())]}
    await middleware(scope, None, send)
    assert passed == ["/mcp"]
    monkeypatch.setattr(cs_http.hmac, "compare_digest", lambda a, b: False)
    await middleware(scope, None, send)
    assert passed == ["/mcp"] and sent[0]["status"] == 401

