"""Escalated tickets over a period: per-group counts, resolution times, root causes, open escalations and the
accounts with the most escalations (escalation-analysis)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, NamedTuple

from cs_mcp.workspace.engine import ident
from cs_mcp.workspace.queries.customers import FIRST_START_SQL, customer_during_sql, customer_on_sql
from cs_mcp.workspace.queries.renewals import renewal_due_sql

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace


class Scope(NamedTuple):
    """Which accounts the figures cover and how they are grouped."""

    by_segment: bool = False
    """only accounts whose segment is the bound $segment"""
    group_column: str | None = None
    """an accounts column to break the figures down by (None: one group, 'all')"""

    @property
    def account_where(self) -> str:
        return " AND lower(a.segment) = lower($segment)" if self.by_segment else ""

    @property
    def group_expr(self) -> str:
        col = self.group_column
        return f"COALESCE(CAST(a.{ident(col)} AS VARCHAR), '(none)')" if col else "'all'"
def tickets_cte(scope: Scope) -> str:
    account_where, grp = scope.account_where, scope.group_expr
    return f"""
WITH k AS (
  SELECT k.ticket_id, k.account_id, k.opened_at, COALESCE(k.escalated, FALSE) AS esc,
    COALESCE(NULLIF(trim(k.category), ''), '(none)') AS category,
    CASE WHEN k.closed_at < $close_by AND k.closed_at >= k.opened_at
      THEN date_diff('minute', k.opened_at, k.closed_at) / 60.0 END AS hours,
    (k.closed_at IS NULL OR k.closed_at >= $close_by) AS is_open
  FROM tickets k JOIN accounts a ON a.account_id = k.account_id
  WHERE k.opened_at >= $lo AND k.opened_at < $hi{account_where}
),
per AS (
  SELECT account_id, COUNT(*) FILTER (WHERE esc) AS escalations,
    CAST(MIN(opened_at) FILTER (WHERE esc) AS DATE) AS first_esc,
    CAST(MAX(opened_at) FILTER (WHERE esc) AS DATE) AS last_esc
  FROM k GROUP BY account_id
),
acct AS (
  SELECT a.account_id, {grp} AS grp, CAST(a.arr AS DOUBLE) AS arr, a.churned_on,
    {customer_during_sql("a", "fs.first_start", "$lo", "$hi")} OR per.account_id IS NOT NULL AS active_in_period,
    {customer_on_sql("a", "fs.first_start", "$lo")} AS at_start,
    COALESCE(per.escalations, 0) AS escalations, per.first_esc
  FROM accounts a LEFT JOIN per ON per.account_id = a.account_id
  LEFT JOIN ({FIRST_START_SQL}) fs ON fs.account_id = a.account_id
  WHERE TRUE{account_where}
)"""


GROUP_SQL = """
SELECT grp,
  COUNT(*) FILTER (WHERE active_in_period) AS active_customers,
  COALESCE(SUM(escalations), 0) AS escalations,
  COUNT(*) FILTER (WHERE escalations > 0) AS escalated_accounts,
  COUNT(*) FILTER (WHERE escalations >= $repeat) AS repeat_escalators,
  COALESCE(SUM(arr) FILTER (WHERE escalations >= $repeat), 0) AS repeat_arr,
  COALESCE(SUM(escalations) FILTER (WHERE escalations >= $repeat), 0) AS repeat_escalations,
  COUNT(*) FILTER (WHERE at_start) AS cohort,
  COUNT(*) FILTER (WHERE at_start AND escalations > 0) AS esc_cohort,
  COUNT(*) FILTER (WHERE at_start AND escalations > 0 AND churned_on >= first_esc AND churned_on < $hi)
    AS esc_churned,
  COUNT(*) FILTER (WHERE at_start AND escalations = 0 AND churned_on > $lo AND churned_on < $hi) AS other_churned
FROM acct GROUP BY grp
"""

RESOLUTION_SQL = """
SELECT
  COUNT(*) FILTER (WHERE esc) AS esc_tickets, COUNT(hours) FILTER (WHERE esc) AS esc_resolved,
  COUNT(*) FILTER (WHERE esc AND is_open) AS esc_open,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) FILTER (WHERE esc) AS esc_median,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY hours) FILTER (WHERE esc) AS esc_p90,
  COUNT(*) AS all_tickets, COUNT(hours) AS all_resolved, COUNT(*) FILTER (WHERE is_open) AS all_open,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) AS all_median,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY hours) AS all_p90
FROM k
"""

ROOT_CAUSE_SQL = """
SELECT category, COUNT(*) FILTER (WHERE esc) AS escalations, COUNT(*) AS tickets,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) FILTER (WHERE esc) AS median_hours,
  COUNT(*) FILTER (WHERE esc AND is_open) AS open
FROM k GROUP BY category HAVING COUNT(*) FILTER (WHERE esc) > 0
ORDER BY escalations DESC, category
"""


def open_sql(scope: Scope) -> str:
    account_where = scope.account_where
    return f"""
WITH o AS (
  SELECT k.ticket_id, k.account_id, CAST($as_of AS DATE) - CAST(k.opened_at AS DATE) AS age
  FROM tickets k JOIN accounts a ON a.account_id = k.account_id
  WHERE k.escalated AND k.opened_at < $close_by AND (k.closed_at IS NULL OR k.closed_at >= $close_by){account_where}
)
SELECT COUNT(*) AS n, COUNT(DISTINCT account_id) AS accounts,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY age) AS median_age, MAX(age) AS oldest_age,
  (SELECT ticket_id FROM o ORDER BY age DESC, ticket_id LIMIT 1) AS oldest_ticket
FROM o
"""


def top_escalators_sql(scope: Scope) -> str:
    account_where = scope.account_where
    return f"""
WITH k AS (
  SELECT k.account_id, k.opened_at, COALESCE(NULLIF(trim(k.category), ''), '(none)') AS category
  FROM tickets k JOIN accounts a ON a.account_id = k.account_id
  WHERE k.escalated AND k.opened_at >= $lo AND k.opened_at < $hi{account_where}
),
per AS (
  SELECT account_id, COUNT(*) AS escalations, CAST(MIN(opened_at) AS DATE) AS first_esc,
    CAST(MAX(opened_at) AS DATE) AS last_esc
  FROM k GROUP BY account_id
),
cat AS (
  SELECT account_id, category,
    ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY COUNT(*) DESC, MAX(opened_at) DESC, category) AS rn
  FROM k GROUP BY account_id, category
),
open_now AS (
  SELECT account_id, COUNT(*) AS n FROM tickets
  WHERE escalated AND opened_at < $close_by AND (closed_at IS NULL OR closed_at >= $close_by)
  GROUP BY account_id
)
SELECT a.account_id, a.name, a.segment, a.csm_id, per.escalations, COALESCE(o.n, 0) AS open_escalations,
  per.first_esc, per.last_esc, cat.category AS top_category, CAST(a.arr AS DOUBLE) AS arr,
  {renewal_due_sql("a.renewal_date", "$as_of")} AS renewal_date,
  a.status, a.churned_on
FROM per JOIN accounts a ON a.account_id = per.account_id
LEFT JOIN cat ON cat.account_id = per.account_id AND cat.rn = 1
LEFT JOIN open_now o ON o.account_id = per.account_id
ORDER BY per.escalations DESC, a.arr DESC NULLS LAST, a.account_id
LIMIT $limit OFFSET $offset
"""


def _records(ws: Workspace, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return ws.records(sql, **params)


def escalation_groups(ws: Workspace, scope: Scope, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Per group: active customers, escalations, escalated and repeat accounts, the churn cohort's counts."""
    return _records(ws, tickets_cte(scope) + GROUP_SQL, params)


def resolution_times(ws: Workspace, scope: Scope, params: dict[str, Any]) -> dict[str, Any]:
    """Tickets of the period, resolved and open, with median and p90 hours to resolve (escalated and all)."""
    return _records(ws, tickets_cte(scope) + RESOLUTION_SQL, params)[0]


def root_causes(ws: Workspace, scope: Scope, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Per ticket category with escalations: escalations, tickets, median hours, open; most escalations first."""
    return _records(ws, tickets_cte(scope) + ROOT_CAUSE_SQL, params)


def open_escalations(ws: Workspace, scope: Scope, params: dict[str, Any]) -> dict[str, Any]:
    """Escalated tickets open at the as-of date: count, accounts, median and oldest age, the oldest ticket."""
    return _records(ws, open_sql(scope), params)[0]


def top_escalators(ws: Workspace, scope: Scope, params: dict[str, Any]) -> list[dict[str, Any]]:
    """One page of the accounts with the most escalations in the period, with their account fields (the renewal
    date is the one due as of ws.as_of)."""
    from cs_mcp.workspace.queries.coverage import data_end

    rows = _records(ws, top_escalators_sql(scope), {**params, "as_of": ws.as_of, "data_end": data_end(ws)})
    for row in rows:
        for key in ("first_esc", "last_esc", "renewal_date", "churned_on"):
            row[key] = _as_date(row[key])
    return rows


def ticket_counts(ws: Workspace) -> tuple[int, int]:
    """(tickets, tickets with an escalated value)."""
    n, flagged = ws.rows("SELECT COUNT(*) AS n, COUNT(escalated) AS flagged FROM tickets")[0]
    return int(n), int(flagged)


def any_churn_dates(ws: Workspace) -> bool:
    return bool(ws.scalar("SELECT COUNT(churned_on) AS n FROM accounts"))


def escalation_span(ws: Workspace) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(first, last) opened_at of the escalated tickets."""
    first, last = ws.rows("SELECT MIN(opened_at) AS lo, MAX(opened_at) AS hi FROM tickets WHERE escalated")[0]
    return first, last


def _as_date(value: Any) -> Any:
    return value.date() if isinstance(value, dt.datetime) else value
