"""MCP features clients use: log notifications, progress, change notifications after a reload, icons."""

import shutil
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.types import ResourceListChangedNotification, ResourceUpdatedNotification

import cs_mcp.server as server_module
from cs_mcp.config import load_settings
from cs_mcp.progress import ProgressBoard, ProgressRelay
from cs_mcp.server import create_server

# logging/setLevel, resources/subscribe and ping are handshake-era methods: the SDK warns that 2026-07-28 dropped them
pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")]

TINY = Path(__file__).parent / "data" / "tiny"
LOADED = "workspace loaded: version"


def cold_server(**overrides):
    """A server that has not loaded its workspace yet: the first call loads it (and logs that)."""
    return create_server(load_settings(TINY, overrides=overrides or None), warm_up=False)


async def test_logging_set_level_succeeds_and_lines_arrive_at_the_clients_level():
    received = []

    async def on_log(params):
        received.append(params)

    async with Client(cold_server(), mode="legacy", logging_callback=on_log) as c:
        assert c.server_capabilities.logging is not None
        await c.set_logging_level("info")
        result = await c.call_tool("find-accounts", {"query": "acme"})
    assert not result.is_error
    loaded = [p for p in received if str(p.data).startswith(LOADED)]
    assert len(loaded) == 1 and loaded[0].level == "info" and loaded[0].logger == "cs_mcp"


async def test_a_client_that_sets_a_higher_level_gets_no_info_lines():
    received = []

    async def on_log(params):
        received.append(params)

    async with Client(cold_server(), mode="legacy", logging_callback=on_log) as c:
        await c.set_logging_level("error")
        await c.call_tool("find-accounts", {"query": "acme"})
    assert [p for p in received if p.level == "info"] == []


async def test_log_lines_reach_a_2026_client_only_when_its_requests_opt_in():
    received = []

    async def on_log(params):
        received.append(params)

    async with Client(cold_server(), logging_callback=on_log, log_level="info") as c:
        await c.call_tool("find-accounts", {"query": "acme"})
    assert any(str(p.data).startswith(LOADED) for p in received)

    silent = []

    async def on_silent(params):
        silent.append(params)

    async with Client(cold_server(), logging_callback=on_silent) as c:
        await c.call_tool("find-accounts", {"query": "acme"})
    assert silent == []


async def test_capabilities_announce_resource_changes_in_both_eras():
    async with Client(cold_server(), mode="legacy") as c:
        caps = c.server_capabilities
        assert caps.resources.list_changed is True and caps.resources.subscribe is True
        assert caps.tools.list_changed is False  # the tool list never changes while serving
    async with Client(cold_server()) as c:
        assert c.server_capabilities.resources.list_changed is True


async def test_server_info_carries_icons_and_a_website():
    async with Client(cold_server(), mode="legacy") as c:
        info = c.server_info
    assert info.website_url.startswith("https://")
    assert {i.mime_type for i in info.icons} == {"image/svg+xml", "image/png"}
    assert all(i.src.startswith(f"data:{i.mime_type};base64,") for i in info.icons)


def grow_accounts(ws: Path) -> None:
    with open(ws / "accounts.csv", "a") as f:
        f.write("A-4,Hooli,smb,C-2,starter,5000,10,2026-01-01,2027-01-01,active,,12,\n")


@pytest.fixture
def changing_workspace(tmp_path, monkeypatch):
    shutil.copytree(TINY, tmp_path / "ws")
    monkeypatch.setattr(server_module, "RECHECK_SECONDS", 0.0)
    monkeypatch.setattr(server_module, "SETTLE_SECONDS", 0.0)  # the appended file is complete at once
    return tmp_path / "ws"


async def test_a_reload_notifies_list_changed_and_the_subscribed_resource_legacy(changing_workspace):
    seen = []

    async def on_message(message):
        seen.append(message)

    server = create_server(load_settings(changing_workspace), warm_up=False)
    async with Client(server, mode="legacy", message_handler=on_message) as c:
        await c.call_tool("find-accounts", {})
        await c.subscribe_resource("cs://data/quality")
        await c.subscribe_resource("cs://skills/customer-success")  # not data-derived: no update
        grow_accounts(changing_workspace)
        after = await c.call_tool("find-accounts", {})
        assert after.structured_content["total"] == 4
        await c.send_ping()  # the notifications were sent before this answer
    kinds = [type(m) for m in seen]
    assert kinds.count(ResourceListChangedNotification) == 1
    updated = [m.params.uri for m in seen if isinstance(m, ResourceUpdatedNotification)]
    assert [str(u) for u in updated] == ["cs://data/quality"]


async def test_a_reload_reaches_a_2026_listen_stream(changing_workspace):
    server = create_server(load_settings(changing_workspace), warm_up=False)
    events = []
    async with Client(server) as c:
        await c.call_tool("find-accounts", {})
        async with c.listen(resources_list_changed=True, resource_subscriptions=["cs://data/quality"]) as sub:
            grow_accounts(changing_workspace)
            await c.call_tool("find-accounts", {})
            with anyio.fail_after(30):
                async for event in sub:
                    events.append(type(event).__name__)
                    if len(events) == 2:
                        break
    assert sorted(events) == ["ResourceUpdated", "ResourcesListChanged"]


async def test_the_relay_sends_news_then_heartbeats_with_growing_progress():
    board = ProgressBoard()
    sent = []

    async def send(progress, total, message):
        sent.append((progress, total, message))

    relay = ProgressRelay(board, send, "churn-risk-list")
    board.report(0.25, "churn model: cross-validating")
    await relay.tell()
    await relay.tell()  # nothing new: a heartbeat naming the call and the work still going
    await relay.tell(final=True)  # nothing new: the closing flush stays silent
    assert [m for _, _, m in sent] == [
        "churn model: cross-validating (25%)",
        "churn-risk-list: working (0 s); churn model: cross-validating (25%)",
    ]
    assert sent[1][0] > sent[0][0] and {t for _, t, _ in sent} == {None}


async def test_a_call_waiting_for_a_load_started_elsewhere_hears_its_progress():
    server = cold_server()
    seen = []

    async def on_progress(progress, total, message):
        seen.append(message)

    async with Client(server, mode="legacy") as c:
        state = server.app_state
        async with anyio.create_task_group() as tg:
            # the background load holds the lock; the call below waits for it and relays its reports
            tg.start_soon(anyio.to_thread.run_sync, state.open_workspace, state.board.reporter())
            result = await c.call_tool("find-accounts", {"query": "acme"}, progress_callback=on_progress)
    assert not result.is_error
    assert seen and seen[-1] == "workspace ready: 10 tables, 38 rows, 0 rejected"
