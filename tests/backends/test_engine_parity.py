"""The same queries give the same figures on DuckDB, PostgreSQL and Spark (the engines tested live).

Each workspace is loaded from files by the embedded loader (the reference), copied with `cs-mcp load`'s
code into each engine, reopened there by URL (validation in the engine), and queried through the layer.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from contract import in_engine

from cs_mcp.workspace.features import compute_features
from cs_mcp.workspace.queries.accounts import closest_accounts
from cs_mcp.workspace.queries.churn import account_facts


def assert_same_columns(expected: dict, got: dict) -> None:
    assert sorted(expected) == sorted(got)
    for name, want in expected.items():
        have = got[name]
        assert len(want) == len(have), name
        if want.dtype.kind == "f":
            # money to the cent and rates to 1e-9: one bound for both
            np.testing.assert_allclose(have.astype(float), want, rtol=0, atol=1e-9, equal_nan=True, err_msg=name)
        elif want.dtype.kind == "M":
            assert list(want.astype("datetime64[D]")) == list(have.astype("datetime64[D]")), name
        else:
            assert list(want) == list(have), name


def test_the_feature_query_gives_the_same_figures_at_several_dates_and_for_an_id_subset(
    engine, name, reference, engine_url
):
    ref = reference[name]
    ws = in_engine(engine, name, reference, engine_url)
    dates = [ref.as_of, ref.as_of - dt.timedelta(days=30), ref.as_of - dt.timedelta(days=200)]
    ids = sorted(compute_features(ref).columns["account_id"])[::2]
    expected = compute_features(ref, dates, ids)
    got = compute_features(ws, dates, ids)
    assert len(expected) == len(dates) * len(ids)
    assert_same_columns(expected.columns, got.columns)
    everyone = compute_features(ws, ref.as_of)
    assert_same_columns(compute_features(ref, ref.as_of).columns, everyone.columns)


def test_the_churn_account_facts_are_the_same(engine, name, reference, engine_url):
    ref = reference[name]
    ws = in_engine(engine, name, reference, engine_url)
    dates = [ref.as_of, ref.as_of - dt.timedelta(days=365)]
    expected = account_facts(ref, dates)
    assert np.nansum(expected["sub_arr"]) > 0
    assert_same_columns(expected, account_facts(ws, dates))
    some = list(expected["account_id"][:3])
    assert_same_columns(account_facts(ref, dates, some), account_facts(ws, dates, some))


def test_the_engine_reads_every_loaded_row_as_valid(engine, name, reference, engine_url):
    ref = reference[name]
    ws = in_engine(engine, name, reference, engine_url)
    assert ws.tables == ref.tables
    for table in ref.tables:
        want = ref.quality.table(table)
        have = ws.quality.table(table)
        assert (have.rows_read, have.rows_loaded, have.rows_rejected) == (want.rows_loaded, want.rows_loaded, 0)
    assert ws.custom_columns == ref.custom_columns
    assert ws.as_of == ref.as_of


REPLACED = {
    # arg_max (PostgreSQL: ARRAY_AGG ... [1]), date - date (Spark: DATEDIFF)
    "arg_max_and_date_minus_date": """
        SELECT s.account_id, arg_max(s.plan, s.arr) AS plan, MAX(s.end_date - s.start_date) AS longest_days
        FROM subscriptions s GROUP BY s.account_id ORDER BY s.account_id""",
    # percentile_cont WITHIN GROUP with FILTER (Spark: exact PERCENTILE), date_diff minutes
    "percentiles_of_resolution_hours": """
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY h) AS median_h,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY h) FILTER (WHERE priority <> 'low') AS p90_h,
               COUNT(*) FILTER (WHERE h > 24) AS over_a_day
        FROM (SELECT priority, date_diff('minute', opened_at, closed_at) / 60.0 AS h FROM tickets
              WHERE closed_at IS NOT NULL) k""",
    # regexp_matches (PostgreSQL ~, Spark RLIKE), contains (PostgreSQL STRPOS), GROUP BY ALL
    "regexp_contains_group_by_all": """
        SELECT segment, COUNT(*) FILTER (WHERE regexp_matches(lower(name), $pattern)) AS matching,
               COUNT(*) FILTER (WHERE contains(lower(name), $fragment)) AS containing, SUM(arr) AS arr
        FROM accounts GROUP BY ALL ORDER BY segment""",
    # TRY_CAST of text (PostgreSQL: a guarded CASE), a list parameter, decimal literals (Spark: DOUBLE)
    "try_cast_lists_and_decimals": """
        SELECT a.account_id, TRY_CAST(a.account_id AS DOUBLE) AS as_number,
               TRY_CAST(CAST(a.contract_start AS VARCHAR) AS DATE) AS start_again,
               a.arr * 1.0 / 7 AS seventh, 100.0 * a.arr / (a.arr + 3) AS share
        FROM accounts a WHERE a.account_id IN (SELECT unnest(CAST($ids AS VARCHAR[])))
        ORDER BY a.account_id""",
}


@pytest.mark.parametrize("query", sorted(REPLACED))
def test_queries_using_replaced_functions_give_duckdbs_figures(engine, name, query, reference, engine_url):
    ref = reference[name]
    ws = in_engine(engine, name, reference, engine_url)
    ids = list(ref.columns("SELECT account_id FROM accounts ORDER BY account_id LIMIT 7")["account_id"])
    params = {"pattern": "^[a-m]", "fragment": "a", "ids": ids}
    needed = {k: v for k, v in params.items() if "$" + k in REPLACED[query]}
    expected = ref.columns(REPLACED[query], **needed)
    assert len(next(iter(expected.values()))) > 0
    assert_same_columns(expected, ws.columns(REPLACED[query], **needed))


def test_closest_accounts_rank_the_same_without_jaro_winkler_in_sql(engine, name, reference, engine_url):
    ref = reference[name]
    ws = in_engine(engine, name, reference, engine_url)
    name = ref.rows("SELECT name FROM accounts ORDER BY account_id LIMIT 1")[0][0]
    typo = name[:-2] + name[-1:]
    expected = closest_accounts(ref, typo, 5)
    assert expected[0][1] == name
    assert closest_accounts(ws, typo, 5) == expected
