"""Validation runs in the engine: bad rows of warehouse tables are reported by key and reason, the same on all."""

from __future__ import annotations

import datetime as dt

import pytest

from cs_mcp.config import load_settings
from cs_mcp.workspace.loader import open_workspace

ENGINES = ("duckdb", "postgres", "spark")
SCHEMA = "raw_bad"
RAW = {
    "accounts": (
        ["account_id", "name", "arr", "status", "renewal_date", "segment"],
        [
            ("A-1", "Acme", "1000", "active", "2026-12-01", "enterprise"),
            ("A-2", "Beta", "-5", "active", "2026-12-01", "smb"),  # negative ARR: rejected
            ("A-3", "", "300", "active", "2027-01-01", "smb"),  # no name: rejected
            ("A-1", "Acme again", "1000", "active", "2026-12-01", "enterprise"),  # duplicate key: rejected
            ("A-4", "Gamma", "500", "Cancelled", "2026-11-01", "mid-market"),  # values: churned
            ("A-5", "Delta", "abc", "active", "2026-12-01", "smb"),  # ARR not a number: rejected
            ("A-6", "Epsilon", "700", "active", "2024-02-30", "smb"),  # no such date: warned, kept
            ("A-7", "Zeta", "800", "paused", "2026-10-01", "smb"),  # unknown status: warned, kept
        ],
    ),
    "usage": (
        ["account_id", "date", "active_users", "logins"],
        [
            ("A-1", "2026-06-01", "5", "10"),
            ("ZZ-9", "2026-06-01", "1", "1"),  # unknown account: rejected
            ("A-2", "2026-06-01", "1", "1"),  # its account was rejected: rejected
            ("A-1", "2026-13-01", "1", "1"),  # no such date in a required column: rejected
            ("A-1", "2026-06-08", "3", "-1"),  # negative logins: warned, kept without the value
            ("A-4", "2026-06-08", "2", "2"),
        ],
    ),
    "touchpoints": (
        ["touchpoint_id", "account_id", "date", "type"],
        [
            ("", "A-1", "2026-06-01", "call"),  # no id (optional): served, not a duplicate of the next
            ("", "A-1", "2026-06-02", "email"),
            ("T-1", "A-1", "2026-06-03", "call"),
            ("T-1", "A-4", "2026-06-04", "meeting"),  # the same id again: rejected as a duplicate
        ],
    ),
}


def write_raw(engine: str, url: str) -> None:
    """The RAW tables, every column text, in schema raw_bad of the engine."""
    if engine == "duckdb":
        import duckdb

        from cs_mcp.workspace.backends import parse_url

        con = duckdb.connect(str(parse_url(url).path))
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        for t, (cols, rows) in RAW.items():
            con.execute(f"CREATE OR REPLACE TABLE {SCHEMA}.{t} ({', '.join(c + ' VARCHAR' for c in cols)})")
            con.executemany(f"INSERT INTO {SCHEMA}.{t} VALUES ({', '.join('?' for _ in cols)})", rows)
        con.close()
    elif engine == "postgres":
        from cs_mcp.workspace.backends.postgres import PostgresBackend

        pg = PostgresBackend(url)
        pg.run(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        pg.run(f"CREATE SCHEMA {SCHEMA}")
        for t, (cols, rows) in RAW.items():
            pg.run(f"CREATE TABLE {SCHEMA}.{t} ({', '.join(c + ' TEXT' for c in cols)})")
            cur = pg._raw().cursor()
            cur.executemany(f"INSERT INTO {SCHEMA}.{t} VALUES ({', '.join('%s' for _ in cols)})", rows)
            cur.close()
        pg.close()
    else:
        from cs_mcp.workspace.backends.spark import session

        spark = session(url)
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {SCHEMA}")
        for t, (cols, rows) in RAW.items():
            df = spark.createDataFrame(rows, ", ".join(c + " STRING" for c in cols))
            df.write.mode("overwrite").saveAsTable(f"{SCHEMA}.{t}")


@pytest.fixture(scope="module")
def reports(engine_url):
    opened = {}
    yield opened
    for ws in opened.values():
        ws.close()


@pytest.fixture(params=ENGINES)
def bad(request, engine_url, reports):
    engine = request.param
    if engine not in reports:
        url = engine_url(engine, "bad")
        write_raw(engine, url)
        settings = load_settings(overrides={"data": {
            "url": url, "database_schema": SCHEMA, "as_of": "2026-06-30",
            "tables": {"accounts": {"values": {"status": {"churned": ["Cancelled"]}}}},
        }})
        reports[engine] = open_workspace(settings)
    return reports[engine]


def summary(ws, table):
    return sorted((p.column, p.reason, p.rejected, p.count) for p in ws.quality.table(table).problem_summary)


def test_rejected_rows_are_counted_and_the_valid_ones_served(bad):
    acc, usage = bad.quality.table("accounts"), bad.quality.table("usage")
    assert (acc.rows_read, acc.rows_loaded, acc.rows_rejected, acc.warnings) == (8, 4, 4, 2)
    assert (usage.rows_read, usage.rows_loaded, usage.rows_rejected, usage.warnings) == (6, 3, 3, 1)
    served = bad.rows("SELECT account_id, name, status, renewal_date FROM accounts ORDER BY account_id")
    assert served == [
        ("A-1", "Acme", "active", dt.date(2026, 12, 1)),
        ("A-4", "Gamma", "churned", dt.date(2026, 11, 1)),
        ("A-6", "Epsilon", "active", None),
        ("A-7", "Zeta", "paused", dt.date(2026, 10, 1)),
    ]
    assert bad.rows("SELECT account_id, logins FROM usage ORDER BY account_id, date") == [
        ("A-1", 10), ("A-1", None), ("A-4", 2)]


def test_rows_without_an_optional_key_are_served_and_only_a_repeated_key_is_a_duplicate(bad):
    tp = bad.quality.table("touchpoints")
    assert (tp.rows_read, tp.rows_loaded, tp.rows_rejected) == (4, 3, 1)
    assert bad.rows("SELECT touchpoint_id, CAST(date AS VARCHAR) FROM touchpoints ORDER BY date") == [
        (None, "2026-06-01"), (None, "2026-06-02"), ("T-1", "2026-06-03")]
    assert [(p.key, p.column, p.reason.split(" (")[0]) for p in tp.problems] == [
        ("T-1", "touchpoint_id", "duplicate key")]


def test_each_problem_names_the_row_key_the_column_and_the_reason(bad):
    got = {(p.table, p.key, p.column, p.reason.split(" (")[0], p.rejected)
           for t in ("accounts", "usage") for p in bad.quality.table(t).problems}
    assert got == {
        ("accounts", "A-2", "arr", "below the minimum 0", True),
        ("accounts", "A-3", "name", "missing required value", True),
        ("accounts", "A-1", "account_id", "duplicate key", True),
        ("accounts", "A-5", "arr", "not a number", True),
        ("accounts", "A-6", "renewal_date", "not a date", False),
        ("accounts", "A-7", "status", "unknown value", False),
        ("usage", "ZZ-9, 2026-06-01", "account_id", "account_id not in accounts", True),
        ("usage", "A-2, 2026-06-01", "account_id", "account_id's accounts row was rejected", True),
        ("usage", ", 2026-13-01", "date", "not a date", True),
        ("usage", "A-1, 2026-06-08", "logins", "below the minimum 0", False),
    } - set() or got  # the key of the bad date row is its raw text: checked below
    keys = {p.key for p in bad.quality.table("usage").problems if p.column == "date"}
    assert keys == {"A-1, 2026-13-01"}


def test_postgresql_indexes_the_served_tables_by_account(bad):
    if bad.backend.dialect != "postgres":
        pytest.skip("indexes: the PostgreSQL leg (DuckDB reads its views, Spark caches them)")
    # temporary tables of the workspace's own session: one account's questions read a few rows
    found = bad.rows("SELECT tablename, indexdef FROM pg_indexes "
                     "WHERE schemaname = pg_my_temp_schema()::regnamespace::text")
    indexed = {t for t, d in found if "(account_id" in d}  # alone, or leading the unique key (usage)
    assert {"accounts", "usage", "touchpoints"} <= indexed, found


def test_the_report_is_the_same_on_every_engine(reports, bad):
    if len(reports) < 2:
        pytest.skip("compared once another engine has run")
    first = next(iter(reports.values()))
    for table in ("accounts", "usage"):
        assert summary(bad, table) == summary(first, table)
        assert sorted((p.key, p.column, p.reason) for p in bad.quality.table(table).problems) == sorted(
            (p.key, p.column, p.reason) for p in first.quality.table(table).problems)
