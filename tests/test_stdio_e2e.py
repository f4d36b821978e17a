"""End to end: `cs-mcp` started as a subprocess and driven over stdio, as Claude Desktop does."""

import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

TINY = Path(__file__).parent / "data" / "tiny"


def server(*args: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "cs_mcp", *args])


@pytest.fixture(autouse=True)
def patient_discover(monkeypatch):
    """A starting process on a busy machine can take longer than the SDK's 10 s `server/discover` probe;
    the client would then quietly fall back to the handshake and `auto` would test the legacy era."""
    import mcp.client.session

    monkeypatch.setattr(mcp.client.session, "DISCOVER_TIMEOUT_SECONDS", 120.0)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_stdio_server_scores_an_account_of_the_given_workspace(mode):
    async with Client(server("serve", "--data", str(TINY)), mode=mode) as c:
        assert (c.protocol_version == "2026-07-28") == (mode == "auto")
        tools = {t.name for t in (await c.list_tools()).tools}
        assert {"health-score", "find-accounts"} <= tools
        result = await c.call_tool("health-score", {"account": "Acme Corp"})
        assert not result.is_error, result.content
        assert result.structured_content["score"] == pytest.approx(65.0, abs=0.05)


async def test_stdio_server_without_arguments_serves_the_bundled_demo():
    async with Client(server(), mode="legacy") as c:
        found = await c.call_tool("find-accounts", {"limit": 1})
        assert not found.is_error, found.content
        assert found.structured_content["total"] == 1000
        account_id = found.structured_content["accounts"][0]["account_id"]
        health = await c.call_tool("health-score", {"account": account_id})
        assert not health.is_error, health.content
        assert 0 <= health.structured_content["score"] <= 100
        quality = await c.read_resource("cs://data/quality")
        assert "accounts" in quality.contents[0].text


async def test_a_bad_tool_call_does_not_stop_the_server():
    async with Client(server("--data", str(TINY)), mode="legacy") as c:
        bad = await c.call_tool("health-score", {"account": 12, "as_of": "yesterday"})
        assert bad.is_error
        good = await c.call_tool("find-accounts", {"query": "acme"})
        assert good.structured_content["accounts"][0]["account_id"] == "A-1"


@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
async def test_logging_set_level_succeeds_over_stdio_and_the_server_keeps_answering():
    async with Client(server("--data", str(TINY)), mode="legacy") as c:
        assert c.server_capabilities.logging is not None
        await c.set_logging_level("debug")
        found = await c.call_tool("find-accounts", {"query": "acme"})
        assert found.structured_content["accounts"][0]["account_id"] == "A-1"
