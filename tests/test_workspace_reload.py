"""Data files replaced or truncated while the server serves: it keeps answering from the last good version."""

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from mcp import Client

import cs_mcp.server as server_module
import cs_mcp.workspace.loader as loader
from cs_mcp.config import load_settings
from cs_mcp.server import AppState, create_server

TINY = Path(__file__).parent / "data" / "tiny"
NEW_ACCOUNT = "A-4,Hooli,smb,C-2,starter,5000,10,2026-01-01,2027-01-01,active,,12,\n"


@pytest.fixture
def ws_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(server_module, "RECHECK_SECONDS", 0.0)
    monkeypatch.setattr(server_module, "SETTLE_SECONDS", 0.0)
    shutil.copytree(TINY, tmp_path / "ws")
    settled = time.time() - 600  # copytree keeps the fixture's mtimes: a fixture edited a moment ago looks mid-write
    for f in (tmp_path / "ws").iterdir():
        os.utime(f, (settled, settled))
    return tmp_path / "ws"


@pytest.fixture
def state(ws_dir):
    s = AppState(load_settings(ws_dir))
    s.open_workspace()
    yield s
    s.close()


def account_count(state: AppState) -> int:
    return state.loaded.cursor().execute("SELECT count(*) FROM accounts").fetchone()[0]


def usage_rows(state: AppState) -> int:
    return state.loaded.cursor().execute("SELECT count(*) FROM usage").fetchone()[0]


def test_an_emptied_accounts_file_keeps_the_last_good_version_and_says_why(state, ws_dir):
    served = state.loaded
    (ws_dir / "accounts.csv").write_text("")
    assert state.reload_if_changed() is False
    assert state.loaded is served and account_count(state) == 3
    problem = state.loaded.quality.reload_problem
    assert "accounts.csv is empty" in problem and served.version in problem


def test_a_truncated_usage_file_keeps_the_last_good_usage(state, ws_dir):
    before = usage_rows(state)
    (ws_dir / "usage.csv").write_text("")
    assert state.reload_if_changed() is False
    assert usage_rows(state) == before > 0
    assert "usage.csv is unusable" in state.loaded.quality.reload_problem


def test_an_accounts_file_cut_mid_row_keeps_the_last_good_version(state, ws_dir):
    text = (ws_dir / "accounts.csv").read_text()
    header_end = text.index("\n") + 1
    (ws_dir / "accounts.csv").write_text(text[: header_end + 20])  # the header and part of the first row
    assert state.reload_if_changed() is False
    assert account_count(state) == 3
    assert "accounts.csv now loads no rows" in state.loaded.quality.reload_problem


def test_a_fixed_file_is_loaded_and_the_problem_cleared(state, ws_dir, monkeypatch):
    good = (ws_dir / "accounts.csv").read_text()
    (ws_dir / "accounts.csv").write_text("")
    assert state.reload_if_changed() is False
    loads = []
    original_open = loader.open_workspace

    def counting_open(*args, **kwargs):
        loads.append(1)
        return original_open(*args, **kwargs)

    monkeypatch.setattr(loader, "open_workspace", counting_open)
    assert state.reload_if_changed() is False and loads == []  # the same broken files are not retried
    (ws_dir / "accounts.csv.tmp").write_text(good + NEW_ACCOUNT)
    os.replace(ws_dir / "accounts.csv.tmp", ws_dir / "accounts.csv")  # replaced atomically, as an export should
    assert state.reload_if_changed() is True and loads == [1]
    assert account_count(state) == 4
    assert state.loaded.quality.reload_problem is None


def test_a_file_still_being_written_is_waited_for(state, ws_dir, monkeypatch):
    monkeypatch.setattr(server_module, "SETTLE_SECONDS", 60.0)
    served = state.loaded
    with open(ws_dir / "accounts.csv", "a") as fh:
        fh.write(NEW_ACCOUNT)
    assert state.reload_if_changed() is False  # modified just now: may be mid-write
    assert state.loaded is served and served.quality.reload_problem is None
    past = time.time() - 120
    os.utime(ws_dir / "accounts.csv", (past, past))  # quiet for two minutes: done
    assert state.reload_if_changed() is True
    assert account_count(state) == 4


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_tools_keep_answering_and_data_quality_reports_a_broken_reload(ws_dir, mode):
    server = create_server(load_settings(ws_dir), warm_up=False)
    async with Client(server, mode=mode) as c:
        before = await c.call_tool("health-score", {"account": "A-1"})
        assert not before.is_error and before.structured_content["score"] > 0
        (ws_dir / "usage.csv").write_text("")
        (ws_dir / "accounts.csv").write_text("account_id,name,arr\nA-1,Acme")
        after = await c.call_tool("health-score", {"account": "A-1"})
        assert not after.is_error, after.content
        assert after.structured_content["score"] == before.structured_content["score"]
        found = await c.call_tool("find-accounts", {})
        assert found.structured_content["total"] == 3
        report = json.loads((await c.read_resource("cs://data/quality")).contents[0].text)
        assert report["rows_loaded"] > 0
        assert "the new version was not loaded" in report["reload_problem"]
        assert "Answers still come from the last good version" in report["reload_problem"]


def test_a_table_whose_file_was_deleted_is_a_change_like_any_other(state, ws_dir):
    assert "tickets" in state.loaded.tables
    (ws_dir / "tickets.csv").unlink()
    assert state.reload_if_changed() is True
    assert "tickets" not in state.loaded.tables and state.loaded.quality.reload_problem is None


def test_a_refused_reload_says_which_parquet_tables_already_show_the_changed_files(tmp_path, monkeypatch):
    monkeypatch.setattr(server_module, "RECHECK_SECONDS", 0.0)
    monkeypatch.setattr(server_module, "SETTLE_SECONDS", 0.0)
    import duckdb

    ws = tmp_path / "ws"
    shutil.copytree(TINY, ws)
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_csv('{ws / 'usage.csv'}')) TO '{ws / 'usage.parquet'}' (FORMAT parquet)")
    (ws / "usage.csv").unlink()
    settled = time.time() - 600
    for f in ws.iterdir():
        os.utime(f, (settled, settled))
    s = AppState(load_settings(ws))
    s.open_workspace()
    try:
        assert s.loaded.quality.table("usage").read_in_place
        assert not s.loaded.quality.table("accounts").read_in_place
        (ws / "accounts.csv").write_text("")
        assert s.reload_if_changed() is False
        problem = s.loaded.quality.reload_problem
        assert "accounts.csv is empty" in problem
        assert "Except usage: read in place from Parquet" in problem
    finally:
        s.close()
