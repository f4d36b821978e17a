"""The query layer: per-dialect replacements, bound parameters, results, and translation to every dialect."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pytest
import sqlglot
from layer_accounts import account_queries
from layer_renewal import renewal_queries
from layer_revenue import revenue_queries

from cs_mcp.config import Settings
from cs_mcp.workspace import features
from cs_mcp.workspace.backends import BackendUnavailable, parse_url, redact
from cs_mcp.workspace.queries.accounts import _CLOSEST_SQL
from cs_mcp.workspace.queries.churn import account_facts_sql
from cs_mcp.workspace.schema import TABLES, query_schema
from cs_mcp.workspace.sql import (
    LIVE_DIALECTS,
    TRANSLATED_DIALECTS,
    EngineLacksFunction,
    column_array,
    compile_sql,
    jaro_winkler,
)

SCHEMA = query_schema({"partner_tier": "VARCHAR"})


def layer_queries() -> dict[str, str]:
    """Every query text the layer runs, in the forms the code builds."""
    every_table = frozenset(TABLES)
    return {
        "features": features._sql(Settings(), every_table, filtered=False),
        "features_subset": features._sql(Settings(), every_table, filtered=True),
        "features_no_touchpoints": features._sql(Settings(), every_table - {"touchpoints"}, filtered=False),
        "churn_facts": account_facts_sql(["partner_tier"], filtered=True),
        **account_queries(),
        **renewal_queries(),
        **revenue_queries(),
    }


@pytest.mark.parametrize("dialect", [d for d in LIVE_DIALECTS if d != "duckdb"] + list(TRANSLATED_DIALECTS))
@pytest.mark.parametrize("query", sorted(layer_queries()))
def test_every_query_transpiles_and_parses_back_in_each_dialect(query, dialect):
    text = compile_sql(layer_queries()[query], dialect, SCHEMA)
    reparsed = sqlglot.parse_one(text, read=dialect)
    assert reparsed.find(sqlglot.exp.Select) is not None
    assert "$" not in text  # DuckDB's parameter markers never leak into another dialect


def test_parameters_are_bound_in_each_engines_style():
    text = "SELECT * FROM accounts WHERE arr > $min AND account_id IN (SELECT unnest(CAST($ids AS VARCHAR[])))"
    assert compile_sql(text, "duckdb") == text
    assert "%(min)s" in compile_sql(text, "postgres") and "UNNEST(CAST(%(ids)s AS TEXT[]))" in compile_sql(
        text, "postgres")
    spark = compile_sql(text, "spark")
    assert ":min" in spark and "EXPLODE(CAST(:ids AS ARRAY<STRING>))" in spark


def test_a_cast_around_unnest_moves_inside_for_spark():
    spark = compile_sql("SELECT CAST(unnest($dates) AS DATE) AS d", "spark")
    assert "EXPLODE(CAST(:dates AS ARRAY<DATE>))" in spark


def test_postgres_gets_guarded_casts_arg_max_strpos_and_escaped_percents():
    pg = compile_sql(
        "SELECT TRY_CAST(x AS DOUBLE) AS n, TRY_CAST(x AS DATE) AS d, arg_max(plan, arr) AS p, "
        "contains(name, 'a') AS c, name LIKE 'a%' AS l, arr % 3 AS m FROM t", "postgres")
    assert "TRY_CAST" not in pg and "CASE WHEN CAST(x AS TEXT) ~" in pg
    assert "INTERVAL '1 MONTH' - INTERVAL '1 DAY'" in pg  # 2024-02-30 fits the pattern: the day is checked too
    assert "(ARRAY_AGG(plan ORDER BY arr DESC NULLS LAST) FILTER(WHERE NOT arr IS NULL))[1]" in pg
    assert "POSITION('a' IN name) > 0" in pg
    assert "'a%%'" in pg and "MOD(arr, 3)" in pg


def test_group_by_all_lists_the_grouping_columns_for_postgres():
    pg = compile_sql("SELECT segment, plan, COUNT(*) AS n, SUM(arr) AS a FROM accounts GROUP BY ALL", "postgres")
    assert pg.endswith("GROUP BY segment, plan")


def test_spark_gets_datediff_for_date_minus_date_double_literals_and_an_exact_percentile():
    spark = compile_sql(
        "SELECT a.renewal_date - a.contract_start AS days, a.renewal_date - 30 AS before, a.arr * 1.5 AS x, "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY a.arr) AS med FROM accounts a", "spark", SCHEMA)
    assert "DATEDIFF(a.renewal_date, a.contract_start)" in spark
    assert "a.renewal_date - 30" in spark
    assert "CAST(1.5 AS DOUBLE)" in spark
    assert "PERCENTILE(a.arr, CAST(0.5 AS DOUBLE))" in spark and "APPROX" not in spark


def test_minute_differences_count_boundaries_on_spark_as_in_duckdb():
    spark = compile_sql("SELECT date_diff('minute', opened_at, closed_at) AS m FROM tickets", "spark", SCHEMA)
    assert "DATEDIFF(MINUTE, DATE_TRUNC('MINUTE', tickets.opened_at), DATE_TRUNC('MINUTE', tickets.closed_at))" in spark


def test_jaro_winkler_is_refused_outside_duckdb_and_ranked_in_python_instead():
    with pytest.raises(EngineLacksFunction, match="jarowinklersimilarity"):
        compile_sql(_CLOSEST_SQL, "postgres")
    con = duckdb.connect()
    pairs = [("summitspark", "sumitspark"), ("acme corp", "acme"), ("martha", "marhta"), ("abc", "xyz"),
             ("", "a"), ("dwayne", "duane"), ("a-00042", "a-0042"), ("a-1", "acme cop")]
    for a, b in pairs:
        want = con.execute("SELECT jaro_winkler_similarity($a, $b)", {"a": a, "b": b}).fetchone()[0]
        assert jaro_winkler(a, b) == pytest.approx(want, abs=1e-12), (a, b)


def test_result_columns_follow_the_contract_whatever_the_driver_returns():
    from decimal import Decimal

    assert column_array([1, None, Decimal("2.5")]).tolist()[0::2] == [1.0, 2.5]
    assert np.isnan(column_array([1, None])[1])
    dates = column_array([dt.date(2026, 1, 2), None])
    assert dates.dtype == np.dtype("datetime64[D]") and np.isnat(dates[1])
    text = column_array(["a", None])
    assert text.dtype == object and text[1] is None
    assert column_array([True, False, None]).tolist()[:2] == [1.0, 0.0]


def test_urls_name_their_engine_and_hide_passwords():
    assert parse_url(None).kind == "folder"
    assert parse_url("/data/ws").kind == "folder"
    assert parse_url("duckdb:///srv/cs.db").path.as_posix() == "/srv/cs.db"
    assert parse_url("postgresql://u:pw@db/cs").kind == "postgres"
    assert parse_url("spark://local[4]").kind == "spark"
    assert parse_url("sc://spark:15002").kind == "spark-connect"
    assert redact("postgresql://u:secret@db/cs") == "postgresql://u:***@db/cs"
    with pytest.raises(BackendUnavailable, match="unknown engine 'mysql'"):
        parse_url("mysql://db/cs")


def test_settings_refuse_an_unknown_engine_with_the_forms_accepted():
    from cs_mcp.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="postgresql://"):
        load_settings(overrides={"data": {"url": "oracle://db"}})


def test_raw_duckdb_access_on_a_warehouse_says_so_instead_of_failing_blindly():
    from cs_mcp.domain.errors import CSError
    from cs_mcp.workspace.loader import NotOnThisEngine, Workspace
    from cs_mcp.workspace.quality import DataQualityReport

    class Engine:
        dialect, label = "postgres", "postgresql://db/cs"

    report = DataQualityReport(path=None, version="v", as_of=dt.date(2026, 6, 30), as_of_rule="fixed")
    ws = Workspace(path=None, settings=Settings(), tables=frozenset(), custom=[], quality=report, backend=Engine())
    with pytest.raises(NotOnThisEngine, match="cannot run on postgres") as raised:
        ws.cursor()
    assert isinstance(raised.value, CSError)  # shown to the model as-is
