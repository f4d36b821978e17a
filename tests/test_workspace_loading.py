"""Loading a workspace: mapping, typing, validation and the data-quality report."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest

from cs_mcp.config import load_settings
from cs_mcp.workspace.loader import Workspace, WorkspaceError, open_workspace
from cs_mcp.workspace.quality import Problem

FIXTURES = Path(__file__).parent / "fixtures"


def load(path: Path, **data: object) -> Workspace:
    return open_workspace(load_settings(path, overrides={"data": data} if data else None))


def rows(ws: Workspace, query: str) -> list[tuple]:
    return ws.cursor().execute(query).fetchall()


def problem(ws: Workspace, table: str, row: int | None, column: str | None = None) -> Problem:
    found = [
        p for p in ws.quality.table(table).problems if p.row == row and (column is None or p.column == column)
    ]
    assert len(found) == 1, (
        f"expected one problem at {table} row {row} {column}: {ws.quality.table(table).problems}"
    )
    return found[0]


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / "clean", tmp_path / "clean"))


# ------------------------------------------------------------------------------------ clean data


def test_a_clean_workspace_loads_every_row_with_exact_counts() -> None:
    with load(FIXTURES / "clean") as ws:
        counts = {t.table: (t.rows_read, t.rows_loaded, t.rows_rejected) for t in ws.quality.tables}
        assert counts == {
            "accounts": (4, 4, 0),
            "usage": (7, 7, 0),
            "tickets": (3, 3, 0),
            "nps": (3, 3, 0),
            "touchpoints": (2, 2, 0),
            "csms": (2, 2, 0),
        }
        assert ws.tables == {"accounts", "usage", "tickets", "nps", "touchpoints", "csms"}
        assert not ws.quality.has_errors and ws.quality.warnings == 0
        assert rows(ws, "SELECT count(*) FROM usage") == [(7,)]


def test_every_canonical_table_exists_typed_even_when_absent() -> None:
    with load(FIXTURES / "clean") as ws:
        types = dict(
            rows(
                ws,
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'subscriptions'",
            )
        )
        assert types == {
            "subscription_id": "VARCHAR",
            "account_id": "VARCHAR",
            "start_date": "DATE",
            "end_date": "DATE",
            "arr": "DOUBLE",
            "plan": "VARCHAR",
            "product_id": "VARCHAR",
            "seats": "BIGINT",
        }
        assert rows(ws, "SELECT count(*) FROM subscriptions") == [(0,)]
        assert "subscriptions" not in ws.tables and "subscriptions" in ws.quality.tables_absent
        assert rows(ws, "SELECT count(*) FROM accounts a LEFT JOIN invoices i USING (account_id)") == [(4,)]


def test_values_are_typed_and_categoricals_lower_cased() -> None:
    with load(FIXTURES / "clean") as ws:
        assert rows(ws, "SELECT account_id, status FROM accounts ORDER BY 1") == [
            ("A-1", "active"),
            ("A-2", "active"),
            ("A-3", "churned"),
            ("A-4", "active"),
        ]
        assert rows(ws, "SELECT ticket_id, opened_at, priority, escalated FROM tickets ORDER BY 1") == [
            ("T-1", dt.datetime(2024, 6, 1, 9, 30), "high", False),
            ("T-2", dt.datetime(2024, 6, 5, 14, 0), "critical", True),
            ("T-3", dt.datetime(2024, 6, 11, 8, 0), "low", False),
        ]
        assert rows(ws, "SELECT type FROM touchpoints ORDER BY date") == [("email",), ("qbr",)]
        # free-text columns keep their case; 'NA' is a region here, not a missing value
        assert rows(ws, "SELECT segment, region FROM accounts WHERE account_id = 'A-2'") == [
            ("mid-market", "NA")
        ]


def test_absent_optional_columns_are_null_and_reported() -> None:
    with load(FIXTURES / "clean") as ws:
        assert rows(ws, "SELECT count(*) FROM touchpoints WHERE touchpoint_id IS NULL") == [(2,)]
        assert ws.quality.table("touchpoints").missing_optional_columns == ["touchpoint_id"]


def test_custom_account_columns_are_kept_and_typed() -> None:
    with load(FIXTURES / "clean") as ws:
        assert ws.custom_columns == ["contract_type", "health_override"]
        assert ws.custom_column_types == {"contract_type": "VARCHAR", "health_override": "DOUBLE"}
        assert ws.custom_column_sources["contract_type"] == "Contract Type"
        assert rows(ws, "SELECT contract_type, health_override FROM accounts ORDER BY account_id") == [
            ("annual", 0.5),
            ("monthly", None),
            ("monthly", 1.0),
            ("multi-year", 2.25),
        ]


def test_progress_reports_rising_fractions_ending_at_one() -> None:
    seen: list[tuple[float, str]] = []
    # a fresh load, not the database stored by an earlier test
    settings = load_settings(FIXTURES / "clean", overrides={"data": {"duckdb_on_disk": False}})
    open_workspace(settings, progress=lambda f, m: seen.append((f, m))).close()
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(m == "loading usage (7 rows)" for _, m in seen)


# ------------------------------------------------------------------------------------- mapping


def test_columns_and_values_are_mapped_by_the_workspace_yaml() -> None:
    with load(FIXTURES / "mapped") as ws:
        assert rows(
            ws,
            "SELECT account_id, name, arr, status, csm_id, renewal_date, seats_purchased, tier "
            "FROM accounts ORDER BY 1",
        ) == [
            ("001A", "Acme Corp", 120000.0, "active", "C-1", dt.date(2025, 1, 15), 200, "Gold"),
            ("001B", "Globex", 36000.0, "churned", "C-1", dt.date(2025, 6, 1), 50, "Silver"),
            ("001C", "Initech", 4800.0, "churned", "C-2", dt.date(2024, 3, 1), 10, "Bronze"),
        ]
        accounts = ws.quality.table("accounts")
        assert accounts.columns_mapped["arr"] == "ARR__c" and accounts.source == "crm_accounts.csv"


def test_a_glob_reads_several_files_and_reports_rows_per_file() -> None:
    with load(FIXTURES / "mapped") as ws:
        usage = ws.quality.table("usage")
        assert usage.source == "usage_2024q1.csv, usage_2024q2.csv"
        assert (usage.rows_read, usage.rows_loaded, usage.rows_rejected) == (5, 4, 1)
        bad = problem(ws, "usage", 2)
        assert (bad.file, bad.column, bad.value, bad.rejected) == (
            "usage_2024q2.csv",
            "date",
            "1st April",
            True,
        )
        assert rows(ws, "SELECT account_id, date, active_users FROM usage ORDER BY date, account_id") == [
            ("001A", dt.date(2024, 1, 8), 150),
            ("001B", dt.date(2024, 1, 8), 40),
            ("001A", dt.date(2024, 4, 1), 160),
            ("001C", dt.date(2024, 4, 8), 3),
        ]


def test_source_columns_match_canonical_names_up_to_case_and_punctuation(tmp_path: Path) -> None:
    write(tmp_path, "Accounts.CSV", "Account ID,NAME,Arr,Seats Purchased\nA-1,Acme,100,5")
    with load(tmp_path) as ws:
        assert rows(ws, "SELECT account_id, name, arr, seats_purchased FROM accounts") == [
            ("A-1", "Acme", 100.0, 5)
        ]
        assert ws.custom_columns == []


def test_a_sql_table_joins_two_files_of_the_workspace() -> None:
    with load(FIXTURES / "sql_join") as ws:
        assert "subscriptions" in ws.tables
        assert ws.quality.table("subscriptions").source == "sql"
        assert rows(
            ws, "SELECT subscription_id, account_id, start_date, end_date, arr FROM subscriptions ORDER BY 1"
        ) == [
            ("S-10", "A-1", dt.date(2023, 1, 1), dt.date(2023, 12, 31), 18000.0),
            ("S-11", "A-1", dt.date(2024, 1, 1), None, 24000.0),
            ("S-20", "A-2", dt.date(2023, 6, 1), None, 12000.0),
        ]


def test_a_flat_churn_export_maps_to_accounts_through_sql() -> None:
    with load(FIXTURES / "churn_export") as ws:
        assert ws.tables == {"accounts"}
        assert rows(ws, "SELECT status, count(*) FROM accounts GROUP BY 1 ORDER BY 1") == [
            ("active", 4),
            ("churned", 2),
        ]
        assert rows(ws, "SELECT round(arr, 2) FROM accounts WHERE account_id = '3668-QPYBK'") == [(646.2,)]
        assert ws.custom_column_types == {
            "gender": "VARCHAR",
            "senior_citizen": "DOUBLE",
            "tenure": "DOUBLE",
            "contract": "VARCHAR",
            "monthly_charges": "DOUBLE",
            "total_charges": "DOUBLE",
        }
        # a blank TotalCharges (a new customer) is a missing value, not a reason to type the column as text
        assert rows(ws, "SELECT tenure, total_charges FROM accounts WHERE account_id = '4190-MFLUW'") == [
            (0.0, None)
        ]
        assert not ws.quality.has_errors


def test_dates_in_a_configured_format_parse_and_iso_still_does(tmp_path: Path) -> None:
    write(
        tmp_path,
        "accounts.csv",
        "account_id,name,arr,renewal_date\nA-1,Acme,1,31/12/2024\nA-2,Beta,1,2025-01-31",
    )
    write(tmp_path, "cs-mcp.yaml", "tables:\n  accounts:\n    date_format: '%d/%m/%Y'")
    with load(tmp_path) as ws:
        assert rows(ws, "SELECT renewal_date FROM accounts ORDER BY 1") == [
            (dt.date(2024, 12, 31),),
            (dt.date(2025, 1, 31),),
        ]
        assert ws.quality.warnings == 0


def test_money_and_boolean_spellings_are_understood(tmp_path: Path) -> None:
    write(
        tmp_path, "accounts.csv", 'account_id,name,arr\nA-1,Acme,"$1,200.50"\nA-2,Beta,"€ 300"\nA-3,Gamma,1e3'
    )
    write(
        tmp_path, "contacts.csv", "contact_id,account_id,active\nP-1,A-1,Y\nP-2,A-1,0\nP-3,A-2,TRUE\nP-4,A-2,"
    )
    with load(tmp_path) as ws:
        assert rows(ws, "SELECT arr FROM accounts ORDER BY 1") == [(300.0,), (1000.0,), (1200.5,)]
        assert rows(ws, "SELECT contact_id, active FROM contacts ORDER BY 1") == [
            ("P-1", True),
            ("P-2", False),
            ("P-3", True),
            ("P-4", None),
        ]


# --------------------------------------------------------------------------------------- bad rows


@pytest.fixture(scope="module")
def bad() -> Workspace:
    ws = load(FIXTURES / "bad")
    yield ws
    ws.close()


def test_a_negative_arr_rejects_the_account(bad: Workspace) -> None:
    p = problem(bad, "accounts", 2)
    assert (p.file, p.column, p.value, p.reason, p.rejected) == (
        "accounts.csv",
        "arr",
        "-5",
        "below the minimum 0",
        True,
    )


def test_an_unparseable_required_value_rejects_the_row(bad: Workspace) -> None:
    p = problem(bad, "accounts", 3)
    assert (p.column, p.value, p.reason, p.rejected) == ("arr", "abc", "not a number", True)


def test_a_missing_required_value_rejects_the_row(bad: Workspace) -> None:
    p = problem(bad, "accounts", 4)
    assert (p.column, p.value, p.reason, p.rejected) == ("name", None, "missing required value", True)


def test_a_duplicate_key_rejects_every_occurrence_after_the_first(bad: Workspace) -> None:
    p = problem(bad, "accounts", 5)
    assert (p.column, p.value, p.rejected) == ("account_id", "A-1", True)
    assert p.reason == "duplicate key (account_id): first at row 1"
    assert rows(bad, "SELECT name FROM accounts WHERE account_id = 'A-1'") == [("Acme",)]
    dup = problem(bad, "usage", 2)
    assert (dup.column, dup.value, dup.reason) == (
        "account_id, date",
        "A-1, 2024-06-03",
        "duplicate key (account_id, date): first at row 1",
    )


def test_bad_optional_values_are_nulled_with_a_warning_and_the_row_kept(bad: Workspace) -> None:
    warned = {(p.column, p.value, p.reason) for p in bad.quality.table("accounts").problems if p.row == 6}
    assert warned == {
        ("seats_purchased", "ten", "not a whole number"),
        ("renewal_date", "2025-13-01", "not a date (expected YYYY-MM-DD)"),
        ("employees", "-3", "below the minimum 0"),
        ("status", "paused", "unknown value (expected one of: active, churned); kept"),
    }
    assert all(not p.rejected for p in bad.quality.table("accounts").problems if p.row == 6)
    assert rows(
        bad,
        "SELECT arr, seats_purchased, renewal_date, employees, status FROM accounts WHERE account_id = 'A-5'",
    ) == [(1200.5, None, None, None, "paused")]


def test_an_unknown_account_in_a_child_table_rejects_the_row(bad: Workspace) -> None:
    unknown = problem(bad, "usage", 3)
    assert (unknown.column, unknown.value, unknown.reason, unknown.rejected) == (
        "account_id",
        "A-9",
        "account_id not in accounts",
        True,
    )
    cascaded = problem(bad, "usage", 4)
    assert (cascaded.value, cascaded.reason) == ("A-2", "account_id's accounts row was rejected")


def test_out_of_range_values_reject_required_columns_and_warn_optional_ones(bad: Workspace) -> None:
    assert (problem(bad, "nps", 1).value, problem(bad, "nps", 1).reason, problem(bad, "nps", 1).rejected) == (
        "11",
        "above the maximum 10",
        True,
    )
    assert problem(bad, "nps", 2).reason == "missing required value"  # 'n/a' spells no value
    csat = problem(bad, "tickets", 1, "csat")
    assert (csat.value, csat.reason, csat.rejected) == ("6", "above the maximum 5", False)
    assert rows(bad, "SELECT ticket_id, csat, escalated, priority FROM tickets ORDER BY 1") == [
        ("T-1", None, None, "urgent"),
        ("T-2", 5, True, "low"),
    ]


def test_a_malformed_csv_line_is_reported_and_later_rows_keep_their_numbers(bad: Workspace) -> None:
    malformed = problem(bad, "usage", 7)
    assert malformed.rejected and malformed.reason.startswith("malformed line")
    assert malformed.value == "A-6,2024-06-10,3,4,99"
    after = problem(bad, "usage", 8)
    assert (after.column, after.value, after.rejected) == ("logins", "x", False)


def test_good_rows_are_still_served_next_to_bad_ones(bad: Workspace) -> None:
    assert rows(bad, "SELECT account_id FROM accounts ORDER BY 1") == [("A-1",), ("A-5",), ("A-6",)]
    assert rows(bad, "SELECT account_id, date, active_users, logins FROM usage ORDER BY 1, 2") == [
        ("A-1", dt.date(2024, 6, 3), 10, 50),
        ("A-5", dt.date(2024, 6, 10), None, None),
        ("A-6", dt.date(2024, 6, 17), 3, None),
    ]
    usage = bad.quality.table("usage")
    assert (usage.rows_read, usage.rows_loaded, usage.rows_rejected) == (8, 3, 5)
    assert bad.quality.has_errors


def test_the_quality_report_serializes_to_json_and_renders_as_text(bad: Workspace) -> None:
    doc = json.loads(bad.quality.model_dump_json())
    assert doc["has_errors"] is True and doc["rows_rejected"] == 11
    assert doc["tables"][0]["problems"][0]["file"] == "accounts.csv"
    text = bad.quality.render_text()
    assert "accounts.csv row 2, arr = '-5': below the minimum 0 (rejected)" in text
    assert "ERRORS" in text.splitlines()[0]


def test_a_compact_report_lists_fewer_problems_and_counts_the_rest(bad: Workspace) -> None:
    small = bad.quality.compact(problems_per_table=2)
    accounts = small.table("accounts")
    assert len(accounts.problems) == 2 and accounts.problems_not_listed == 6
    assert (
        small.rows_rejected == bad.quality.rows_rejected and len(bad.quality.table("accounts").problems) == 8
    )


def test_a_column_of_non_iso_dates_gets_a_date_format_hint(bad: Workspace) -> None:
    assert any("date_format" in n and "%m/%d/%Y" in n for n in bad.quality.table("usage").notes)


def test_reported_problems_are_capped_per_table_with_a_count_of_the_rest(tmp_path: Path) -> None:
    body = "\n".join(f"A-{i},Acme {i},-{i}" for i in range(1, 31))
    write(tmp_path, "accounts.csv", "account_id,name,arr\n" + body + "\nA-99,Ok,5")
    with load(tmp_path, max_reported_problems=10) as ws:
        accounts = ws.quality.table("accounts")
        assert len(accounts.problems) == 10 and accounts.problems_not_listed == 20
        assert accounts.problem_summary[0].count == 30
        assert (accounts.rows_loaded, accounts.rows_rejected) == (1, 30)


def test_parquet_and_gzipped_csv_files_load_with_their_own_types(tmp_path: Path) -> None:
    import duckdb

    write(tmp_path, "accounts.csv", "account_id,name,arr\nA-1,Acme,100\nA-2,Beta,200")
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT * FROM (VALUES ('A-1', DATE '2024-06-03', 3.0, 10), ('A-2', DATE '2024-06-03', 2.5, 4))"
        f" t(account_id, date, active_users, logins)) TO '{tmp_path / 'usage.parquet'}' (FORMAT parquet)"
    )
    con.execute(
        f"COPY (SELECT 'T-1' AS ticket_id, 'A-2' AS account_id, '2024-06-01 10:00' AS opened_at) "
        f"TO '{tmp_path / 'tickets.csv.gz'}' (HEADER, COMPRESSION gzip)"
    )
    con.close()
    with load(tmp_path) as ws:
        assert rows(ws, "SELECT account_id, date, active_users, logins FROM usage ORDER BY 1") == [
            ("A-1", dt.date(2024, 6, 3), 3, 10),
            ("A-2", dt.date(2024, 6, 3), None, 4),
        ]
        p = problem(ws, "usage", 2)
        assert (p.file, p.column, p.value, p.reason, p.rejected) == (
            "usage.parquet",
            "active_users",
            "2.5",
            "not a whole number",
            False,
        )
        assert rows(ws, "SELECT ticket_id, opened_at FROM tickets") == [
            ("T-1", dt.datetime(2024, 6, 1, 10, 0))
        ]


def test_a_header_only_file_is_a_provided_table_with_no_rows(clean: Path) -> None:
    write(clean, "invoices.csv", "invoice_id,account_id,due_on,paid_on,amount")
    with load(clean) as ws:
        assert "invoices" in ws.tables and ws.quality.table("invoices").rows_loaded == 0


# ------------------------------------------------------------------------------ unusable inputs


def test_a_child_table_without_a_required_column_is_unusable_but_the_rest_loads(clean: Path) -> None:
    write(clean, "tickets.csv", "ticket_id,account_id,created,priority\nT-1,A-1,2024-06-01,high")
    with load(clean) as ws:
        tickets = ws.quality.table("tickets")
        assert tickets.status == "unusable" and "tickets" not in ws.tables
        assert (tickets.rows_read, tickets.rows_rejected) == (1, 1)
        p = tickets.problems[0]
        assert p.column == "opened_at" and p.row is None and p.rejected
        assert "ticket_id, account_id, created, priority" in p.reason and "tables.tickets.columns" in p.reason
        assert rows(ws, "SELECT count(*) FROM tickets") == [(0,)]
        assert "usage" in ws.tables and ws.quality.has_errors and ws.quality.tables_unusable == ["tickets"]


def test_an_unreadable_child_file_is_reported_not_raised(clean: Path) -> None:
    (clean / "invoices.parquet").write_bytes(b"this is not parquet")
    with load(clean) as ws:
        invoices = ws.quality.table("invoices")
        assert invoices.status == "unusable" and "cannot read invoices.parquet" in invoices.problems[0].reason
        assert "accounts" in ws.tables


def test_a_workspace_without_accounts_raises_a_helpful_error(tmp_path: Path) -> None:
    write(tmp_path, "customers.csv", "id,name\n1,Acme")
    with pytest.raises(WorkspaceError) as err:
        load(tmp_path)
    message = str(err.value)
    assert "No accounts table" in message and "customers.csv" in message and "file:" in message


def test_a_missing_folder_raises_a_helpful_error(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="does not exist.*cs-mcp demo"):
        load(tmp_path / "nope")


def test_accounts_missing_a_required_column_raise_with_the_columns_found_and_a_mapping(
    tmp_path: Path,
) -> None:
    write(tmp_path, "accounts.csv", "Id,Account Name,ARR__c\n1,Acme,100")
    with pytest.raises(WorkspaceError) as err:
        load(tmp_path)
    message = str(err.value)
    assert "account_id" in message and "arr" in message
    assert "Columns found: Id, Account Name, ARR__c" in message
    assert "arr: ARR__c" in message and "tables:\n  accounts:\n    columns:" in message
    assert isinstance(err.value, ValueError)


def test_an_unreadable_accounts_file_raises(tmp_path: Path) -> None:
    (tmp_path / "accounts.parquet").write_bytes(b"garbage")
    with pytest.raises(WorkspaceError, match="cannot read accounts.parquet"):
        load(tmp_path)


# ----------------------------------------------------------------------------- as_of and version


def test_as_of_latest_is_the_newest_activity_date(clean: Path) -> None:
    with load(clean) as ws:
        assert ws.as_of == dt.date(2024, 6, 12)  # nps.responded_at beats usage (06-10) and tickets (06-11)
        assert "nps.responded_at" in ws.quality.as_of_rule


def test_as_of_latest_ignores_activity_dated_in_the_future(clean: Path) -> None:
    future = dt.date.today() + dt.timedelta(days=400)
    with (clean / "touchpoints.tsv").open("a") as f:
        f.write(f"A-1\t{future}\tmeeting\tC-1\tscheduled\n")
    with load(clean) as ws:
        assert ws.as_of == dt.date(2024, 6, 12)
        assert any("after today" in n for n in ws.quality.notes)


def test_a_restart_chooses_as_of_from_the_stored_newest_dates_and_scans_only_for_future_ones(clean: Path) -> None:
    """The stored database remembers each activity column's newest date: a restart chooses as_of without a
    scan while none lies after today, and scans the column that has a future date (its note comes back)."""
    from cs_mcp.workspace.loader import ACTIVITY_DATES
    from cs_mcp.workspace.warehouse import resolve_as_of

    class NoQueries:
        dialect = "duckdb"

        def rows(self, *_: object) -> None:
            raise AssertionError("no query expected")

    with load(clean) as first, load(clean) as again:  # the second reopens the stored database
        assert (again.as_of, again.quality.as_of_rule) == (first.as_of, first.quality.as_of_rule)
    loaded = frozenset({"usage", "nps"})
    newest = {"usage.date": dt.date(2024, 6, 10), "nps.responded_at": dt.date(2024, 6, 12)}
    found = resolve_as_of(NoQueries(), "latest", loaded, ACTIVITY_DATES, newest)  # type: ignore[arg-type]
    assert (found.date, found.rule, found.notes) == (
        dt.date(2024, 6, 12), "latest activity date in the data (nps.responded_at)", [])
    future = dt.date.today() + dt.timedelta(days=400)
    with (clean / "touchpoints.tsv").open("a") as f:
        f.write(f"A-1\t{future}\tmeeting\tC-1\tscheduled\n")
    with load(clean) as first, load(clean) as again:
        assert first.quality.version == again.quality.version
        assert again.as_of == first.as_of == dt.date(2024, 6, 12)
        assert [n for n in again.quality.notes if "after today" in n] == ["1 touchpoints rows have date after today; "
                                                                        "not used to choose as_of"]


def test_as_of_can_be_today_or_a_fixed_date() -> None:
    with load(FIXTURES / "clean", as_of="today") as ws:
        assert ws.as_of == dt.date.today()
    with load(FIXTURES / "clean", as_of="2024-01-31") as ws:
        assert ws.as_of == dt.date(2024, 1, 31) and ws.quality.as_of == dt.date(2024, 1, 31)


def test_as_of_latest_without_activity_data_is_today() -> None:
    with load(FIXTURES / "churn_export") as ws:
        assert ws.as_of == dt.date.today()


def test_version_changes_when_a_file_changes(clean: Path) -> None:
    with load(clean) as ws:
        first = ws.version
    with load(clean) as ws:
        assert ws.version == first
    usage = clean / "usage.csv"
    usage.write_text(usage.read_text() + "A-4,2024-06-17,431,3200\n")
    os.utime(usage, ns=(usage.stat().st_atime_ns, usage.stat().st_mtime_ns + 1_000_000_000))
    with load(clean) as ws:
        assert ws.version != first and ws.quality.version == ws.version


def test_version_changes_when_the_mapping_changes(clean: Path) -> None:
    with load(clean) as ws:
        first = ws.version
    write(clean, "cs-mcp.yaml", "tables:\n  accounts:\n    date_format: '%d/%m/%Y'")
    with load(clean) as ws:
        assert ws.version != first


# ------------------------------------------------------------------------------------- plumbing


def test_cursors_are_independent_views_of_one_database() -> None:
    with load(FIXTURES / "clean") as ws:
        a, b = ws.cursor(), ws.cursor()
        assert (
            a.execute("SELECT count(*) FROM accounts").fetchall()
            == b.execute("SELECT count(*) FROM accounts").fetchall()
            == [(4,)]
        )


def test_a_mapping_for_an_unknown_table_is_noted(clean: Path) -> None:
    write(clean, "cs-mcp.yaml", "tables:\n  acounts:\n    file: accounts.csv")
    with load(clean) as ws:
        assert any("tables.acounts" in n for n in ws.quality.notes)


def test_the_demo_folder_is_used_when_no_path_is_set(monkeypatch: pytest.MonkeyPatch, clean: Path) -> None:
    import cs_mcp.workspace.loader as loader

    monkeypatch.setattr(loader, "demo_path", lambda: clean)
    with open_workspace(load_settings()) as ws:
        assert ws.path == clean and "accounts" in ws.tables


def test_a_file_that_is_not_utf8_is_read_as_latin1(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_bytes(
        "account_id,name,arr\nA-1,Société Générale,100\n".encode("latin-1")
    )
    with load(tmp_path) as ws:
        assert rows(ws, "SELECT name FROM accounts") == [("Société Générale",)]
        assert any("latin-1" in n for n in ws.quality.table("accounts").notes) and not ws.quality.has_errors


def test_a_failing_sql_table_is_reported_with_the_engine_message(clean: Path) -> None:
    write(clean, "cs-mcp.yaml", "tables:\n  invoices:\n    sql: SELECT * FROM read_csv('no_such_file.csv')")
    with load(clean) as ws:
        invoices = ws.quality.table("invoices")
        assert invoices.status == "unusable" and invoices.source == "sql"
        assert invoices.problems[0].reason.startswith("tables.invoices.sql failed:")
        assert "no_such_file.csv" in invoices.problems[0].reason


def test_one_unusable_file_of_a_glob_is_reported_and_the_others_load(clean: Path) -> None:
    write(clean, "usage_extra.csv", "account,week\nA-1,2024-06-17")
    write(clean, "cs-mcp.yaml", "tables:\n  usage:\n    file: 'usage*.csv'")
    with load(clean) as ws:
        usage = ws.quality.table("usage")
        assert usage.status == "loaded" and (usage.rows_read, usage.rows_loaded, usage.rows_rejected) == (
            8,
            7,
            1,
        )
        assert [(p.file, p.row, p.column) for p in usage.problems] == [
            ("usage_extra.csv", None, "account_id, date")
        ]
