"""Loading files of hundreds of thousands of rows: reported rows stay file rows, duplicate keys are found in
any row order, and copied tables keep the files' order. Parquet is read in place by default (the tables are
views over the files) and copied with `data.parquet_in_place: false`: both are checked.

DuckDB stores a parallel INSERT's rows out of file order when its plan holds a join (a long `IN (...)` list
becomes one), and only from a few row groups up: these files are large enough for that to show.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from cs_mcp.config import load_settings
from cs_mcp.workspace.loader import Workspace, _disjoint, open_workspace

N = 300_000
"""Rows of the large files: several of DuckDB's row groups (122,880 rows), so two threads share them."""


def load(path: Path, in_place: bool = True) -> Workspace:
    overrides = {"data": {"duckdb_on_disk": False, "parquet_in_place": in_place}}
    return open_workspace(load_settings(path, overrides=overrides))


def _accounts(folder: Path, n: int = 1000) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    duckdb.execute(
        f"COPY (SELECT 'A-' || lpad(i::VARCHAR, 5, '0') AS account_id, 'Account ' || i AS name, "
        f"1200.0 AS arr, DATE '2026-12-31' AS renewal_date FROM range({n}) t(i)) "
        f"TO '{folder / 'accounts.parquet'}' (FORMAT parquet)"
    )


def _problems(ws: Workspace, table: str) -> list[tuple[int | None, str | None, str]]:
    return sorted((p.row, p.column, p.reason) for p in ws.quality.table(table).problems)


@pytest.fixture(scope="module", params=[True, False], ids=["read in place", "copied"])
def touchpoints(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Workspace:
    """300,000 touchpoints with a categorical type (once a long IN list), a bad date at rows 3 and 250,001
    (rejected) and an unknown type at row 280,001 (a warning, the row kept)."""
    folder = tmp_path_factory.mktemp("touchpoints")
    _accounts(folder)
    duckdb.execute(
        f"COPY (SELECT 'TP-' || lpad(i::VARCHAR, 7, '0') AS touchpoint_id, "
        f"'A-' || lpad((i % 1000)::VARCHAR, 5, '0') AS account_id, "
        f"CASE WHEN i IN (2, 250000) THEN 'not a date' "
        f"ELSE CAST(DATE '2026-01-01' + (i % 300)::INTEGER AS VARCHAR) END AS date, "
        f"CASE WHEN i = 280000 THEN 'carrier pigeon' "
        f"ELSE (['call', 'Email', 'meeting', 'QBR', 'ebr', 'training', 'event'])[i % 7 + 1] END AS type "
        f"FROM range({N}) t(i)) TO '{folder / 'touchpoints.parquet'}' (FORMAT parquet)"
    )
    ws = load(folder, in_place=request.param)
    yield ws
    ws.close()


def test_reported_rows_are_file_rows_in_a_large_file(touchpoints: Workspace) -> None:
    reasons = _problems(touchpoints, "touchpoints")
    assert [(row, col) for row, col, _ in reasons] == [(3, "date"), (250_001, "date"), (280_001, "type")]
    bad = {p.row: p for p in touchpoints.quality.table("touchpoints").problems}
    assert bad[250_001].value == "not a date" and bad[250_001].rejected
    assert bad[280_001].value == "carrier pigeon" and not bad[280_001].rejected


def test_a_large_table_loses_only_rejected_rows_and_a_copy_keeps_the_file_order(touchpoints: Workspace) -> None:
    cur = touchpoints.cursor()
    ids = [r[0] for r in cur.execute("SELECT touchpoint_id FROM touchpoints").fetchall()]
    expected = [f"TP-{i:07d}" for i in range(N) if i not in (2, 250_000)]
    in_place = touchpoints.settings.data.parquet_in_place
    # a view leaves rejected rows out by a join, which may interleave row groups: queries order explicitly
    assert (sorted(ids) if in_place else ids) == expected
    kind = cur.execute("SELECT table_type FROM information_schema.tables WHERE table_name = 'touchpoints'")
    assert kind.fetchone()[0] == ("VIEW" if in_place else "BASE TABLE")
    assert cur.execute(
        "SELECT type, count(*) FROM touchpoints WHERE touchpoint_id IN ('TP-0000001', 'TP-0000003', 'TP-0280000') "
        "GROUP BY ALL ORDER BY 1"
    ).fetchall() == [("carrier pigeon", 1), ("email", 1), ("qbr", 1)]
    columns = cur.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'touchpoints' "
        "ORDER BY ordinal_position"
    ).fetchall()
    assert [c for c, _ in columns][:4] == ["touchpoint_id", "account_id", "date", "type"]
    assert dict(columns)["date"] == "DATE"


def _usage(folder: Path, order: str, dup_rows: tuple[int, ...] = ()) -> Path:
    """300,000 weekly usage rows of 1,000 accounts, written in `order`; each of `dup_rows` (rows in key order,
    from 1) takes the key of the row before it."""
    _accounts(folder)
    keyed = (
        "SELECT i, 'A-' || lpad((i // 300)::VARCHAR, 5, '0') AS account_id, "
        f"DATE '2020-01-06' + 7 * (i % 300)::INTEGER AS date, i % 17 AS active_users FROM range({N}) t(i)"
    )
    dups = ", ".join(str(r - 1) for r in dup_rows) or "-1"
    shown = (
        f"SELECT account_id, CASE WHEN i IN ({dups}) THEN date - 7 ELSE date END AS date, active_users "
        f"FROM ({keyed}) ORDER BY {order}"
    )
    duckdb.execute(f"COPY ({shown}) TO '{folder / 'usage.parquet'}' (FORMAT parquet)")
    return folder


@pytest.mark.parametrize(
    "order",
    ["i", "i % 2, i", "hash(i)"],
    ids=["key order", "two interleaved key-ordered halves", "no order"],
)
def test_no_duplicate_is_reported_where_there_is_none(tmp_path: Path, order: str) -> None:
    with load(_usage(tmp_path, order)) as ws:
        assert _problems(ws, "usage") == []
        assert ws.quality.table("usage").rows_loaded == N


def test_a_duplicate_next_to_its_first_is_found_in_a_key_ordered_file(tmp_path: Path) -> None:
    with load(_usage(tmp_path, "i", dup_rows=(150_002,))) as ws:
        assert _problems(ws, "usage") == [
            (150_002, "account_id, date", "duplicate key (account_id, date): first at row 150001")
        ]
        assert ws.quality.table("usage").rows_loaded == N - 1


def test_a_duplicate_between_two_key_ordered_blocks_is_found(tmp_path: Path) -> None:
    # the file holds even rows, then odd rows: both halves are in key order, their key ranges overlap
    with load(_usage(tmp_path, "i % 2, i", dup_rows=(200_001,))) as ws:
        [(row, column, reason)] = _problems(ws, "usage")
        assert column == "account_id, date" and reason.startswith("duplicate key (account_id, date): first at row ")
        first = int(reason.rsplit(" ", 1)[1])
        assert (row, first) == (250_000, 100_001)  # key row 199,999 is odd, file row 250,000


@pytest.mark.parametrize("in_place", [True, False], ids=["read in place", "copied"])
def test_a_duplicate_in_an_unordered_file_is_found(tmp_path: Path, in_place: bool) -> None:
    with load(_usage(tmp_path, "hash(i)", dup_rows=(7, 299_999)), in_place) as ws:
        found = _problems(ws, "usage")
        assert len(found) == 2 and all(r.startswith("duplicate key (account_id, date)") for _, _, r in found)
        assert ws.quality.table("usage").rows_loaded == N - 2


def test_key_ranges_are_disjoint_only_when_each_ends_below_the_next() -> None:
    assert _disjoint([(("a", 1), ("a", 9)), (("b", 1), ("c", 2))])
    assert not _disjoint([(("a", 1), ("b", 5)), (("b", 5), ("c", 2))])  # b,5 in both
    assert not _disjoint([(("a", 1), ("c", 1)), (("b", 1), ("b", 2))])
    assert _disjoint([])
