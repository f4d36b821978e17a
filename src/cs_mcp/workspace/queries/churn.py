"""Account-level facts the churn model needs at past dates, and how far back the activity reaches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace

ACTIVITY = (("usage", "date"), ("touchpoints", "date"), ("tickets", "opened_at"), ("nps", "responded_at"))


def account_facts_sql(custom: Sequence[str], filtered: bool) -> str:
    from cs_mcp.workspace.engine import ident

    custom_sql = "".join(f", a.{ident(c)} AS {ident('c__' + c)}" for c in custom)
    where = "WHERE a.account_id IN (SELECT unnest(CAST($ids AS VARCHAR[])))" if filtered else ""
    return f"""
WITH dates AS (SELECT unnest(CAST($dates AS DATE[])) AS as_of),
x AS (SELECT a.account_id, d.as_of FROM accounts a CROSS JOIN dates d {where}),
running AS (
  SELECT x.account_id, x.as_of, s.arr, s.seats, s.plan,
    ROW_NUMBER() OVER (PARTITION BY x.account_id, x.as_of
      ORDER BY s.arr DESC NULLS LAST, s.start_date DESC, s.plan) AS rn
  FROM x JOIN subscriptions s ON s.account_id = x.account_id AND s.start_date <= x.as_of
   AND (s.end_date IS NULL OR s.end_date > x.as_of)
),
-- the plan is the largest running subscription's; on equal ARR the newest, then the first by name
s AS (
  SELECT account_id, as_of, SUM(arr) AS sub_arr, SUM(seats) AS sub_seats,
    MAX(CASE WHEN rn = 1 THEN plan END) AS sub_plan
  FROM running GROUP BY account_id, as_of
),
fs AS (SELECT account_id, MIN(start_date) AS first_start FROM subscriptions GROUP BY account_id)
SELECT x.account_id,
  CAST(date_diff('day', DATE '1970-01-01', x.as_of) AS DOUBLE) AS as_of_d,
  CAST(s.sub_arr AS DOUBLE) AS sub_arr, CAST(s.sub_seats AS DOUBLE) AS sub_seats, s.sub_plan,
  CAST(date_diff('day', DATE '1970-01-01', fs.first_start) AS DOUBLE) AS first_start_d,
  CAST(date_diff('day', DATE '1970-01-01', a.contract_start) AS DOUBLE) AS contract_start_d,
  CAST(date_diff('day', DATE '1970-01-01', a.renewal_date) AS DOUBLE) AS renewal_d,
  CAST(date_diff('day', DATE '1970-01-01', a.churned_on) AS DOUBLE) AS churned_d,
  lower(a.status) AS status,
  CAST(a.arr AS DOUBLE) AS account_arr, CAST(a.seats_purchased AS DOUBLE) AS account_seats,
  CAST(a.employees AS DOUBLE) AS employees{custom_sql}
FROM x JOIN accounts a ON a.account_id = x.account_id
LEFT JOIN s ON s.account_id = x.account_id AND s.as_of = x.as_of
LEFT JOIN fs ON fs.account_id = x.account_id
ORDER BY x.as_of, a.account_id
"""


def account_facts(
    ws: Workspace, dates: Sequence[dt.date], account_ids: Sequence[str] | None = None
) -> dict[str, Any]:
    """Per (as_of, account), ordered like compute_features: dates as epoch days, ARR / seats / plan of the
    subscriptions running at each date, first subscription start, and the custom attributes."""
    params: dict[str, Any] = {"dates": list(dates)}
    if account_ids is not None:
        params["ids"] = list(account_ids)
    return ws.columns(account_facts_sql(list(custom_column_types(ws)), account_ids is not None), **params)


def custom_column_types(ws: Workspace) -> dict[str, str]:
    """Custom account attribute -> 'DOUBLE' or 'VARCHAR'."""
    types = getattr(ws, "custom_column_types", None)
    if types:
        return dict(types)
    return {c: "VARCHAR" for c in getattr(ws, "custom_columns", [])}


def first_activity_date(ws: Workspace) -> dt.date | None:
    """The earliest activity date in the event tables (None when they are empty)."""
    parts = [f"SELECT MIN(CAST({col} AS DATE)) AS d FROM {table}" for table, col in ACTIVITY if table in ws.tables]
    if not parts:
        return None
    found = ws.scalar(f"SELECT MIN(d) FROM ({' UNION ALL '.join(parts)}) AS activity")
    return found.date() if hasattr(found, "date") and callable(found.date) else found
