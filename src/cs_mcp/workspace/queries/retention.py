"""Retention sums over a past period: ARR on two dates per group (subscriptions), or logos (accounts only).

ARR of an account on a date d = sum of its subscription rows active on d (start_date <= d and (end_date is
null or end_date > d)). Groups are the values of one accounts column ('all' without one, '(none)' for NULL).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from cs_mcp.workspace.engine import ident

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace


def table_columns(ws: Workspace, table: str) -> list[str]:
    """The column names of a canonical table as the engine holds it (custom columns included)."""
    return list(ws.columns(f"SELECT * FROM {ident(table)} LIMIT 0"))


def group_expr(col: str | None) -> str:
    """SQL of the group label of accounts row `a`."""
    return f"COALESCE(CAST(a.{ident(col)} AS VARCHAR), '(none)')" if col else "'all'"


def account_groups(ws: Workspace, col: str) -> dict[str, str]:
    """account_id -> its group label under `col`."""
    return dict(ws.rows(f"SELECT a.account_id, {group_expr(col)} AS grp FROM accounts a"))


def history_sql(col: str | None) -> str:
    return f"""
WITH per AS (
  SELECT s.account_id,
    ROUND(COALESCE(SUM(s.arr) FILTER (
      WHERE s.start_date <= $d0 AND (s.end_date IS NULL OR s.end_date > $d0)), 0), 2)
      AS arr0,
    ROUND(COALESCE(SUM(s.arr) FILTER (
      WHERE s.start_date <= $d1 AND (s.end_date IS NULL OR s.end_date > $d1)), 0), 2)
      AS arr1
  FROM subscriptions s
  WHERE s.start_date <= $d1 AND (s.end_date IS NULL OR s.end_date > $d0)
  GROUP BY s.account_id
),
g AS (
  SELECT per.arr0, per.arr1, {group_expr(col)} AS grp
  FROM per LEFT JOIN accounts a ON a.account_id = per.account_id
)
SELECT grp,
  COUNT(*) FILTER (WHERE arr0 > 0) AS customers,
  COUNT(*) FILTER (WHERE arr0 > 0 AND arr1 <= 0) AS lost,
  COUNT(*) FILTER (WHERE arr0 <= 0 AND arr1 > 0) AS new_logos,
  COALESCE(SUM(arr0) FILTER (WHERE arr0 > 0), 0) AS start_arr,
  COALESCE(SUM(arr0 - arr1) FILTER (WHERE arr1 > 0 AND arr1 < arr0), 0) AS contraction,
  COALESCE(SUM(arr0) FILTER (WHERE arr0 > 0 AND arr1 <= 0), 0) AS churn,
  COALESCE(SUM(arr1 - arr0) FILTER (WHERE arr0 > 0 AND arr1 > arr0), 0) AS expansion,
  COALESCE(SUM(arr1) FILTER (WHERE arr0 <= 0 AND arr1 > 0), 0) AS new_arr,
  COALESCE(SUM(arr1) FILTER (WHERE arr1 > 0), 0) AS end_arr
FROM g GROUP BY grp
"""


def accounts_sql(col: str | None) -> str:
    """Without ARR history: an account counts as a customer on d by queries.customers (started, not churned)."""
    from cs_mcp.workspace.queries.customers import FIRST_START_SQL, customer_on_sql, started_sql

    active0 = customer_on_sql("a", "fs.first_start", "$d0")
    lost = "a.churned_on IS NOT NULL AND a.churned_on <= $d1"
    new = f"{started_sql('a', 'fs.first_start')} > $d0 AND {customer_on_sql('a', 'fs.first_start', '$d1')}"
    return f"""
SELECT {group_expr(col)} AS grp,
  COUNT(*) FILTER (WHERE {active0}) AS customers,
  COUNT(*) FILTER (WHERE {active0} AND {lost}) AS lost,
  COUNT(*) FILTER (WHERE {new}) AS new_logos,
  COALESCE(SUM(a.arr) FILTER (WHERE {active0}), 0) AS start_arr,
  COALESCE(SUM(a.arr) FILTER (WHERE {active0} AND {lost}), 0) AS churn,
  COALESCE(SUM(a.arr) FILTER (WHERE {new}), 0) AS new_arr,
  COUNT(*) FILTER (WHERE COALESCE(a.status, '') = 'churned' AND a.churned_on IS NULL) AS undated_churn
FROM accounts a LEFT JOIN ({FIRST_START_SQL}) fs ON fs.account_id = a.account_id GROUP BY 1
"""


def period_sums(ws: Workspace, col: str | None, start: dt.date, end: dt.date, history: bool) -> list[dict[str, Any]]:
    """Per group: customers at start, lost, new logos and the ARR sums (from subscriptions when `history`)."""
    return ws.records(history_sql(col) if history else accounts_sql(col), d0=start, d1=end)


def subscription_span(ws: Workspace) -> tuple[dt.date | None, dt.date | None]:
    """The first and last subscription start dates."""
    rows = ws.rows("SELECT MIN(start_date) AS first, MAX(start_date) AS last FROM subscriptions")
    return (rows[0][0], rows[0][1]) if rows else (None, None)


ARR_ON_SQL = """
SELECT account_id, SUM(arr) AS arr FROM subscriptions
WHERE start_date <= $d AND (end_date IS NULL OR end_date > $d) GROUP BY account_id
"""


def arr_on(ws: Workspace, day: dt.date) -> dict[str, float | None]:
    """account_id -> ARR of its subscriptions active on `day` (accounts with none are absent)."""
    return dict(ws.rows(ARR_ON_SQL, d=day))
