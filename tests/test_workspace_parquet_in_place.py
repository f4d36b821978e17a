"""Parquet read in place: the tables are views over the files, checked like a copy.

A view must hold exactly the rows and values a copy holds (rejected rows left out, out-of-range optional
values NULL, text trimmed), report the same problems at the same file rows, survive a restart from another
working folder, and fall back to a copy (which reports the damage) when a file cannot be read through.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from cs_mcp.config import load_settings
from cs_mcp.workspace.loader import Workspace, open_workspace

USAGE = [
    ("A-1", "2026-01-05", 5, 10),  # row 1: kept
    ("A-9", "2026-01-05", 1, 1),  # row 2: unknown account, rejected
    (" A-1 ", "2026-01-12", -3, 7),  # row 3: kept, id trimmed, active_users below 0 -> NULL (a warning)
    ("A-2", "not a date", 2, 2),  # row 4: unparseable required date, rejected
    ("A-1", "2026-01-05", 6, 6),  # row 5: duplicate of row 1, rejected
    ("A-2", "2026-01-05", 4, 4),  # row 6: kept
]


def _workspace(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT * FROM (VALUES ('A-1', 'One', 1200.0, DATE '2026-12-31'), "
        "('A-2', 'Two', 600.0, DATE '2026-06-30')) t(account_id, name, arr, renewal_date)) "
        f"TO '{folder / 'accounts.parquet'}' (FORMAT parquet)"
    )
    con.execute("CREATE TABLE u (account_id VARCHAR, date VARCHAR, active_users BIGINT, logins BIGINT)")
    con.executemany("INSERT INTO u VALUES (?, ?, ?, ?)", USAGE)
    con.execute(f"COPY u TO '{folder / 'usage.parquet'}' (FORMAT parquet)")
    return folder


def _open(folder: Path | str, in_place: bool, on_disk: bool = False, progress=None) -> Workspace:
    overrides = {"data": {"duckdb_on_disk": on_disk, "parquet_in_place": in_place}}
    return open_workspace(load_settings(folder, overrides=overrides), progress)


def _usage(ws: Workspace) -> list[tuple]:
    return ws.cursor().execute("SELECT * FROM usage ORDER BY ALL").fetchall()


def test_a_view_holds_what_a_copy_holds_and_reports_the_same_rows(tmp_path: Path) -> None:
    folder = _workspace(tmp_path / "ws")
    with _open(folder, in_place=True) as view, _open(folder, in_place=False) as copy:
        kinds = {
            ws.settings.data.parquet_in_place: ws.cursor().execute(
                "SELECT table_type FROM information_schema.tables WHERE table_name = 'usage'"
            ).fetchone()[0]
            for ws in (view, copy)
        }
        assert kinds == {True: "VIEW", False: "BASE TABLE"}
        rows = _usage(view)
        assert [(a, str(d), u, n) for a, d, u, n in rows] == [
            ("A-1", "2026-01-05", 5, 10),
            ("A-1", "2026-01-12", None, 7),
            ("A-2", "2026-01-05", 4, 4),
        ]
        assert rows == _usage(copy)
        assert view.cursor().execute("DESCRIBE usage").fetchall() == copy.cursor().execute(
            "DESCRIBE usage"
        ).fetchall()
        q_view, q_copy = view.quality.table("usage"), copy.quality.table("usage")
        assert (q_view.rows_read, q_view.rows_loaded, q_view.rows_rejected, q_view.warnings) == (6, 3, 3, 1)
        assert q_view.read_in_place and not q_copy.read_in_place
        assert q_view.model_dump(exclude={"read_in_place"}) == q_copy.model_dump(exclude={"read_in_place"})
        assert sorted((p.row, p.column, p.rejected) for p in q_view.problems) == [
            (2, "account_id", True),
            (3, "active_users", False),
            (4, "date", True),
            (5, "account_id, date", True),
        ]


def test_a_stored_view_reads_its_files_after_a_restart_from_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _workspace(tmp_path / "ws")
    monkeypatch.chdir(tmp_path)
    with _open("ws", in_place=True, on_disk=True) as ws:  # a relative --data
        first = _usage(ws)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    said: list[str] = []
    with _open(tmp_path / "ws", in_place=True, on_disk=True, progress=lambda f, m: said.append(m)) as ws:
        assert any("stored database" in m for m in said)
        assert _usage(ws) == first and len(first) == 3


def test_a_file_that_cannot_be_read_through_is_copied_and_its_damage_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = _workspace(tmp_path / "ws")
    con = duckdb.connect()
    # several row groups, uncompressed: the footer (read to describe and count) stays whole
    con.execute(
        "COPY (SELECT 'A-1' AS account_id, DATE '2020-01-06' + i::INTEGER AS date, i AS active_users, i AS logins "
        f"FROM range(200000) t(i)) TO '{folder / 'usage.parquet'}' "
        "(FORMAT parquet, COMPRESSION uncompressed, ROW_GROUP_SIZE 20000)"
    )
    path = folder / "usage.parquet"
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(size // 2)
        f.write(os.urandom(size // 8))
    with caplog.at_level("INFO", logger="cs_mcp"), _open(folder, in_place=True) as ws:
        assert "reading usage in place failed" in caplog.text  # the views met the damage; the copy reports it
        q = ws.quality.table("usage")
        assert q.status == "unusable"
        assert any("usage.parquet" in p.reason for p in q.problems)
        assert ws.cursor().execute("SELECT count(*) FROM usage").fetchone()[0] == 0
        assert ws.quality.table("accounts").rows_loaded == 2


def test_a_clean_text_column_is_read_as_it_is_and_a_padded_one_trimmed(tmp_path: Path) -> None:
    """A bare column lets `account_id = $id` reach the Parquet reader's row-group statistics."""
    folder = _workspace(tmp_path / "ws")
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT * FROM (VALUES ('T-1', 'A-1', DATE '2026-01-05', 'call'), ('T-2', ' A-2', DATE '2026-01-06', "
        f"'QBR')) t(touchpoint_id, account_id, date, type)) TO '{folder / 'touchpoints.parquet'}' (FORMAT parquet)"
    )
    with _open(folder, in_place=True) as ws:
        cur = ws.cursor()
        views = dict(cur.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal").fetchall())
        assert '"trim"(CAST(account_id AS VARCHAR))' in views["usage"]  # ' A-1 ' in row 3
        assert '"trim"(CAST(account_id AS VARCHAR))' in views["touchpoints"]  # ' A-2'
        assert "touchpoint_id AS p0" in views["touchpoints"] and "trim\"(CAST(touchpoint_id" not in views["touchpoints"]
        assert cur.execute("SELECT touchpoint_id, account_id, type FROM touchpoints ORDER BY 1").fetchall() == [
            ("T-1", "A-1", "call"),
            ("T-2", "A-2", "qbr"),
        ]


def test_a_categorical_column_spelled_canonically_is_read_as_it_is(tmp_path: Path) -> None:
    """Every type already canonical: the view reads `type` bare (no lower-casing per query); one 'QBR' is
    enough for the view to keep normalizing, and it reads 'qbr'."""
    folder = _workspace(tmp_path / "ws")
    con = duckdb.connect()

    def touchpoints(second_type: str) -> None:
        con.execute(
            "COPY (SELECT * FROM (VALUES ('T-1', 'A-1', DATE '2026-01-05', 'call', 'held'), "
            f"('T-2', 'A-2', DATE '2026-01-06', '{second_type}', NULL)) t(touchpoint_id, account_id, date, type, "
            f"outcome)) TO '{folder / 'touchpoints.parquet'}' (FORMAT parquet)"
        )

    for second, bare in (("qbr", True), ("QBR", False)):
        touchpoints(second)
        with _open(folder, in_place=True) as ws:
            cur = ws.cursor()
            view = cur.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'touchpoints'").fetchone()[0]
            assert (' "type" AS p3' in view) is bare, view
            assert cur.execute("SELECT type, outcome FROM touchpoints ORDER BY touchpoint_id").fetchall() == [
                ("call", "held"), ("qbr", None),
            ]


def test_changing_parquet_in_place_builds_another_stored_database(tmp_path: Path) -> None:
    folder = _workspace(tmp_path / "ws")
    for in_place, kind in ((True, "VIEW"), (False, "BASE TABLE"), (True, "VIEW")):
        with _open(folder, in_place=in_place, on_disk=True) as ws:
            found = ws.cursor().execute(
                "SELECT table_type FROM information_schema.tables WHERE table_name = 'usage'"
            ).fetchone()[0]
            assert found == kind
            assert len(_usage(ws)) == 3
