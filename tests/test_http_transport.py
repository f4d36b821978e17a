"""Streamable HTTP: a real `cs-mcp serve --transport http` subprocess, its bearer token and Host checks."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from cs_mcp.config import ServerSettings
from cs_mcp.http import build_http_app, is_loopback

pytestmark = pytest.mark.e2e

TINY = Path(__file__).parent / "data" / "tiny"
TOKEN = "test-token-123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def http_server():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cs_mcp", "serve", "--data", str(TINY), "--transport", "http",
         "--port", str(port), "--token", TOKEN],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode()) from None
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.anyio
async def test_http_client_with_the_token_calls_tools(http_server):
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"})
    async with Client(streamable_http_client(http_server, http_client=http), mode="legacy") as c:
        result = await c.call_tool("health-score", {"account": "A-1"})
        assert not result.is_error, result.content
        assert result.structured_content["score"] == pytest.approx(65.0, abs=0.05)


def test_requests_without_the_token_are_refused(http_server):
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"Accept": "application/json, text/event-stream"}
    anonymous = httpx2.post(http_server, json=body, headers=headers)
    assert anonymous.status_code == 401
    wrong = httpx2.post(http_server, json=body, headers={**headers, "Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_a_foreign_host_header_is_refused_against_dns_rebinding(http_server):
    headers = {"Accept": "application/json, text/event-stream", "Authorization": f"Bearer {TOKEN}",
               "Host": "evil.example:80"}
    response = httpx2.post(http_server, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=headers)
    assert response.status_code == 421


def test_binding_beyond_loopback_requires_a_token():
    from cs_mcp.server import create_server

    with pytest.raises(ValueError, match="bearer token"):
        build_http_app(create_server(warm_up=False), ServerSettings(host="0.0.0.0"))
    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("0.0.0.0")
