"""The demo-workspace generator: deterministic, canonical, and realistic enough to learn churn from."""

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest

from cs_mcp.demo.generator import generate_workspace
from cs_mcp.workspace.schema import TABLES

AS_OF = dt.date(2026, 10, 31)
BUNDLED = Path(__file__).parent.parent / "src" / "cs_mcp" / "demo" / "workspace"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A 300-account CSV workspace, seed 42, and the counts the generator returned."""
    out = tmp_path_factory.mktemp("demo")
    counts = generate_workspace(out, accounts=300, seed=42)
    return out, counts


@pytest.fixture(scope="module")
def db(demo):
    """An in-memory DuckDB with one table per generated CSV file."""
    out, _ = demo
    con = duckdb.connect()
    for name in TABLES:
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{out / name}.csv')")
    yield con
    con.close()


def _one(con, sql):
    return con.execute(sql).fetchall()[0][0]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_gives_identical_files(tmp_path, fmt):
    first = generate_workspace(tmp_path / "a", accounts=300, seed=7, fmt=fmt)
    second = generate_workspace(tmp_path / "b", accounts=300, seed=7, fmt=fmt)
    assert first == second
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_another_seed_gives_other_data(tmp_path, demo):
    generate_workspace(tmp_path, accounts=300, seed=43)
    assert (tmp_path / "accounts.csv").read_bytes() != (demo[0] / "accounts.csv").read_bytes()


def test_every_table_is_written_once_with_the_canonical_columns_in_order(demo):
    out, _ = demo
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.csv" for t in TABLES)
    for name, table in TABLES.items():
        header = (out / f"{name}.csv").read_text().split("\n", 1)[0]
        assert header.split(",") == table.column_names, name


def test_parquet_files_carry_the_canonical_columns_and_types(tmp_path):
    generate_workspace(tmp_path, accounts=50, fmt="parquet")
    duck_types = {"string": "VARCHAR", "float": "DOUBLE", "integer": "BIGINT", "date": "DATE",
                  "timestamp": "TIMESTAMP", "boolean": "BOOLEAN"}
    con = duckdb.connect()
    for name, table in TABLES.items():
        described = con.execute(f"DESCRIBE SELECT * FROM '{tmp_path / name}.parquet'").fetchall()
        expected = [(c.name, duck_types[c.type]) for c in table.columns]
        assert [(r[0], r[1]) for r in described] == expected, name


def test_returned_counts_are_the_rows_in_each_file(demo, db):
    _, counts = demo
    for name in TABLES:
        assert counts[name] == _one(db, f"SELECT count(*) FROM {name}"), name
    assert counts["accounts"] == 300


def test_csv_cells_use_iso_dates_timestamps_lowercase_booleans_and_empty_for_missing(demo):
    out, _ = demo
    tickets = (out / "tickets.csv").read_text().splitlines()[1:]
    ts = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
    priority = "(low|medium|high|critical)"
    pattern = re.compile(rf"^T-\d+,A-\d+,{ts},({ts})?,{priority},[a-z -]+,[1-5]?,(true|false)$")
    assert all(pattern.match(line) for line in tickets)
    accounts = (out / "accounts.csv").read_text().splitlines()[1:]
    dates = re.compile(r",\d{4}-\d\d-\d\d,\d{4}-\d\d-\d\d,(active,|churned,\d{4}-\d\d-\d\d)")
    assert all(dates.search(a) for a in accounts)


def test_identifiers_are_unique_and_children_point_at_existing_accounts(db):
    for name, table in TABLES.items():
        if table.key:
            keys = ", ".join(table.key)
            assert _one(db, f"SELECT count(*) - count(DISTINCT ({keys})) FROM {name}") == 0, name
        if table.account_child:
            orphans = f"SELECT count(*) FROM {name} WHERE account_id NOT IN (SELECT account_id FROM accounts)"
            assert _one(db, orphans) == 0, name
    assert _one(db, "SELECT count(*) FROM accounts WHERE csm_id NOT IN (SELECT csm_id FROM csms)") == 0


def test_yearly_logo_churn_is_about_ten_percent_and_spread_over_the_whole_history(db):
    yearly = db.execute("""
        SELECT y, count(*) FILTER (WHERE contract_start < make_date(y, 1, 1)
                                     AND (churned_on IS NULL OR churned_on >= make_date(y, 1, 1))),
               count(*) FILTER (WHERE year(churned_on) = y)
        FROM accounts, (VALUES (2024), (2025)) AS t(y) GROUP BY y ORDER BY y""").fetchall()
    for year, at_start, lost in yearly:
        assert 0.05 <= lost / at_start <= 0.17, (year, at_start, lost)
    first, last = db.execute(
        "SELECT min(churned_on), max(churned_on) FROM accounts WHERE status = 'churned'"
    ).fetchall()[0]
    assert first <= AS_OF - dt.timedelta(days=36 * 30 - 120) and last <= AS_OF
    inconsistent = "SELECT count(*) FROM accounts WHERE (status = 'churned') <> (churned_on IS NOT NULL)"
    assert _one(db, inconsistent) == 0


def test_churn_happens_mostly_but_not_only_at_renewal_dates(db):
    at_renewal = _one(db, """SELECT avg((churned_on = renewal_date)::INT) FROM accounts
                               WHERE status = 'churned'""")
    assert 0.6 <= at_renewal < 1.0


def test_churned_accounts_have_no_activity_after_churn(db):
    for table, column in (("usage", "date"), ("touchpoints", "date"), ("tickets", "opened_at"),
                          ("nps", "responded_at"), ("feature_usage", "date")):
        late = f"""SELECT count(*) FROM {table} t JOIN accounts a USING (account_id)
                   WHERE a.churned_on IS NOT NULL AND CAST(t.{column} AS DATE) > a.churned_on"""
        assert _one(db, late) == 0, table
    open_rows = """SELECT count(*) FROM subscriptions s JOIN accounts a USING (account_id)
                   WHERE a.status = 'churned' AND (s.end_date IS NULL OR s.end_date > a.churned_on)"""
    assert _one(db, open_rows) == 0


def test_usage_is_weekly_for_thirty_six_months_ending_at_as_of(db):
    span = "SELECT count(DISTINCT date), min(date), max(date) FROM usage"
    weeks, first, last = db.execute(span).fetchall()[0]
    assert weeks == 156
    assert last == AS_OF - dt.timedelta(days=AS_OF.weekday())
    assert (last - first).days == 155 * 7
    assert _one(db, "SELECT count(*) FROM usage WHERE dayofweek(date) <> 1") == 0


def test_active_users_never_exceed_the_seats_in_force(db):
    over_current = """SELECT count(*) FROM usage u JOIN accounts a USING (account_id)
                      WHERE u.active_users > a.seats_purchased"""
    assert _one(db, over_current) == 0
    over_then = """SELECT count(*) FROM usage u JOIN subscriptions s ON s.account_id = u.account_id
                   AND u.date >= s.start_date AND (s.end_date IS NULL OR u.date < s.end_date)
                   WHERE u.active_users > s.seats"""
    assert _one(db, over_then) == 0


def test_active_accounts_renew_within_a_year_after_as_of(db):
    outside = f"""SELECT count(*) FROM accounts WHERE status = 'active'
                  AND NOT (renewal_date > DATE '{AS_OF}' AND renewal_date <= DATE '{AS_OF}' + 366)"""
    assert _one(db, outside) == 0
    wrong_day = """SELECT count(*) FROM accounts WHERE status = 'active'
                   AND (day(renewal_date) <> day(contract_start)
                        OR month(renewal_date) <> month(contract_start))"""
    assert _one(db, wrong_day) == 0


def test_the_open_subscription_row_carries_the_account_arr_and_seats(db):
    mismatch = """SELECT count(*) FROM accounts a LEFT JOIN subscriptions s
                  ON s.account_id = a.account_id AND s.end_date IS NULL
                  WHERE a.status = 'active'
                    AND (s.arr IS DISTINCT FROM a.arr OR s.seats IS DISTINCT FROM a.seats_purchased)"""
    assert _one(db, mismatch) == 0
    empty = "SELECT count(*) FROM subscriptions WHERE end_date IS NOT NULL AND end_date <= start_date"
    assert _one(db, empty) == 0


def test_arr_history_has_expansions_contractions_and_new_logos(db):
    changes = db.execute("""
        SELECT count(*) FILTER (WHERE arr > prev), count(*) FILTER (WHERE arr < prev) FROM (
          SELECT arr, lag(arr) OVER (PARTITION BY account_id ORDER BY start_date) AS prev FROM subscriptions
        ) WHERE prev IS NOT NULL""").fetchall()[0]
    assert changes[0] > 0 and changes[1] > 0
    assert _one(db, f"SELECT count(*) FROM accounts WHERE contract_start > DATE '{AS_OF}' - 540") > 0


def test_segments_differ_in_size_arr_and_seats(db):
    rows = db.execute("""SELECT segment, count(*), min(arr), max(arr),
                           min(seats_purchased), max(seats_purchased)
                         FROM accounts GROUP BY 1""").fetchall()
    seg = {r[0]: r[1:] for r in rows}
    assert set(seg) == {"enterprise", "mid-market", "smb"}
    assert seg["smb"][0] > seg["mid-market"][0] > seg["enterprise"][0]
    assert 60_000 <= seg["enterprise"][1] and seg["enterprise"][2] <= 400_000
    assert 15_000 <= seg["mid-market"][1] and seg["mid-market"][2] <= 60_000
    assert 2_000 <= seg["smb"][1] and seg["smb"][2] <= 15_000
    assert 200 <= seg["enterprise"][3] and seg["enterprise"][4] <= 2000
    assert 5 <= seg["smb"][3] and seg["smb"][4] <= 60


def test_some_accounts_have_no_usage_and_some_optional_values_are_missing(db):
    no_usage = "SELECT count(*) FROM accounts WHERE account_id NOT IN (SELECT account_id FROM usage)"
    without_usage = _one(db, no_usage)
    assert 1 <= without_usage <= 30
    assert _one(db, "SELECT count(*) FROM accounts WHERE industry IS NULL") > 0
    assert _one(db, "SELECT count(*) FROM accounts WHERE employees IS NULL") > 0
    assert _one(db, "SELECT count(*) FROM accounts WHERE csm_id IS NULL") > 0


def test_some_csm_books_exceed_capacity(db):
    overloaded = _one(db, """
        SELECT count(*) FROM (
          SELECT c.csm_id, any_value(c.capacity) AS cap, count(*) AS book
          FROM csms c JOIN accounts a ON a.csm_id = c.csm_id GROUP BY 1
        ) WHERE book > cap""")
    assert overloaded >= 1


def test_churned_accounts_usage_falls_in_their_last_90_days(db):
    trend = dict(db.execute(f"""
        WITH ends AS (SELECT account_id, status, coalesce(churned_on, DATE '{AS_OF}') AS t FROM accounts),
        windows AS (
          SELECT e.status, e.account_id,
            avg(u.active_users) FILTER (WHERE u.date > e.t - 45) AS recent,
            avg(u.active_users) FILTER (WHERE u.date <= e.t - 45 AND u.date > e.t - 90) AS earlier
          FROM ends e JOIN usage u USING (account_id) GROUP BY 1, 2)
        SELECT status, avg(recent / earlier) FROM windows WHERE earlier > 0 GROUP BY 1""").fetchall())
    assert trend["churned"] < trend["active"] - 0.15


def test_churned_accounts_look_worse_on_average_but_not_all_of_them(db):
    rows = db.execute("""
        SELECT a.status, avg(n.score), avg(CASE WHEN n.score >= 9 THEN 1.0 ELSE 0 END)
        FROM nps n JOIN accounts a USING (account_id) GROUP BY 1""").fetchall()
    by = {r[0]: r[1:] for r in rows}
    assert by["churned"][0] < by["active"][0] - 0.5
    assert by["churned"][1] > 0  # some churned accounts still had promoters


def test_nps_comments_match_the_sentiment_of_the_score(db):
    def mean_score(words: str) -> float:
        return _one(db, f"SELECT avg(score) FROM nps WHERE regexp_matches(lower(comment), '{words}')")

    assert mean_score("too expensive|slow support|too many bugs|hard to use") < 6
    assert mean_score("excellent|easy to use|saves us|love") > 8.5
    assert 0.4 < _one(db, "SELECT avg((comment IS NOT NULL)::INT) FROM nps") < 0.8


def test_sponsors_leave_and_some_invoices_are_unpaid_and_overdue(db):
    assert _one(db, """SELECT count(*) FROM contacts WHERE role = 'executive_sponsor'
                       AND NOT active AND left_on IS NOT NULL""") > 0
    assert _one(db, "SELECT count(*) FROM contacts WHERE active AND left_on IS NOT NULL") == 0
    overdue = f"SELECT count(*) FROM invoices WHERE paid_on IS NULL AND due_on < DATE '{AS_OF}' - 30"
    assert _one(db, overdue) > 0
    assert _one(db, "SELECT count(*) FROM invoices WHERE paid_on > due_on") > 0


def test_a_few_old_critical_tickets_are_still_open(tmp_path):
    generate_workspace(tmp_path, accounts=1000, seed=42)
    old_open = _one(duckdb.connect(), f"""
        SELECT count(*) FROM '{tmp_path}/tickets.csv'
        WHERE priority = 'critical' AND closed_at IS NULL
          AND opened_at < TIMESTAMP '{AS_OF}' - INTERVAL 2 DAY""")
    assert old_open >= 1


def test_whitespace_exists_between_the_catalogue_and_entitlements(db):
    assert _one(db, "SELECT count(*) FROM products") == 6
    owned = _one(db, "SELECT count(*) FROM entitlements")
    assert _one(db, "SELECT count(*) FROM accounts") < owned < 6 * _one(db, "SELECT count(*) FROM accounts")


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="accounts"):
        generate_workspace(tmp_path, accounts=0)
    with pytest.raises(ValueError, match="fmt"):
        generate_workspace(tmp_path, fmt="xlsx")  # type: ignore[arg-type]


def test_the_bundled_demo_is_what_the_generator_writes(tmp_path):
    counts = generate_workspace(tmp_path, accounts=1000, seed=42, fmt="parquet")
    con = duckdb.connect()
    for name in TABLES:
        ours, bundled = f"'{tmp_path / name}.parquet'", f"'{BUNDLED / name}.parquet'"
        differ = f"SELECT count(*) FROM (FROM {ours} EXCEPT ALL FROM {bundled}) UNION ALL " \
                 f"SELECT count(*) FROM (FROM {bundled} EXCEPT ALL FROM {ours})"
        assert [r[0] for r in con.execute(differ).fetchall()] == [0, 0], (
            f"{name} differs: regenerate with `cs-mcp demo --accounts 1000 --seed 42 --format parquet "
            f"--out src/cs_mcp/demo/workspace`"
        )
    assert counts["accounts"] == 1000


def test_support_csat_is_mostly_satisfied_and_escalations_take_longer(db):
    satisfied = _one(db, "SELECT avg((csat >= 4)::INT) FROM tickets WHERE csat IS NOT NULL")
    assert 0.72 <= satisfied <= 0.85
    hours = dict(db.execute("""
        SELECT escalated, median(date_diff('minute', opened_at, closed_at) / 60.0) FROM tickets
        WHERE closed_at IS NOT NULL GROUP BY escalated""").fetchall())
    assert hours[True] > 1.5 * hours[False]


def test_accounts_with_a_recent_escalation_churn_more_in_the_next_year(tmp_path):
    out = tmp_path / "demo"
    generate_workspace(out, accounts=2000, seed=5, fmt="parquet")
    con = duckdb.connect()
    cut, lo, end = AS_OF - dt.timedelta(days=365), AS_OF - dt.timedelta(days=545), AS_OF
    rates = dict(con.execute(f"""
        WITH e AS (SELECT account_id, max(escalated::INT) AS esc FROM '{out}/tickets.parquet'
                   WHERE opened_at >= DATE '{lo}' AND opened_at < DATE '{cut}' GROUP BY account_id)
        SELECT coalesce(e.esc, 0),
               avg(coalesce(a.churned_on > DATE '{cut}' AND a.churned_on <= DATE '{end}', false)::INT)
        FROM '{out}/accounts.parquet' a LEFT JOIN e USING (account_id)
        WHERE a.contract_start < DATE '{cut}' AND (a.churned_on IS NULL OR a.churned_on > DATE '{cut}')
        GROUP BY 1""").fetchall())
    con.close()
    assert rates[1] > 1.3 * rates[0], rates


def test_opportunity_stages_run_from_discovery_to_closed(db):
    from cs_mcp.demo.vocabulary import STAGES

    stages = dict(db.execute("SELECT stage, count(*) FROM opportunities GROUP BY 1").fetchall())
    assert set(stages) == set(STAGES)
    late_open = "SELECT count(*) FROM opportunities WHERE stage = 'Negotiation' AND close_date > DATE '{}'"
    assert _one(db, late_open.format(AS_OF + dt.timedelta(days=120))) == 0


def test_plans_follow_segments(db):
    odd = """SELECT count(*) FROM accounts WHERE (segment = 'smb' AND plan = 'enterprise')
             OR (segment = 'enterprise' AND plan = 'starter')"""
    assert _one(db, odd) == 0


def test_some_customers_who_will_leave_have_said_so_in_the_crm(db):
    # a lost renewal dated before the renewal of an account still active: the critical tier's evidence
    noticed = """SELECT count(*) FROM opportunities o JOIN accounts a USING (account_id)
                 WHERE o.type = 'renewal' AND o.stage = 'Closed Lost' AND a.status = 'active'
                   AND o.close_date < a.renewal_date"""
    assert _one(db, noticed) >= 1
