"""Per-account figures as of given dates, computed by SQL inside the engine.

This is the one place that turns event tables into per-account metrics. The query is
portable SQL (CTEs, FILTER, date - integer, bound parameters) run through the query layer
(`cs_mcp.workspace.sql`), so the same text runs on DuckDB, PostgreSQL and Spark; nothing here
loops over event rows in Python, and settings are bound as parameters, never written into the text.
One call computes any number of accounts at any number of as-of dates (health trends and churn
training use several dates).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from cs_mcp.config import Settings
    from cs_mcp.workspace.loader import Workspace

OUTREACH_TYPES = ("call", "email")
MEETING_TYPES = ("meeting", "qbr", "ebr", "training")
NO_ANSWER_OUTCOMES = ("no_response", "no_show", "no-show", "unanswered", "bounced")

# Metric columns the query returns, all numeric (DOUBLE); NULL means "no data for this account".
# days_since_last_touch, which health scores and the model reads, counts a never-touched account's days as a
# customer (up to 365); last_touch_days is the days since a touch on record, NULL when none (what is shown).
METRIC_COLUMNS: tuple[str, ...] = (
    "arr",
    "seats_purchased",
    "is_active",
    "tenure_days",
    "days_to_renewal",
    "active_users",
    "active_users_prev",
    "usage_change_pct",
    "seat_utilization",
    "logins_per_user_week",
    "days_since_last_login",
    "feature_adoption",
    "features_used",
    "outreach_response_rate",
    "outreach_n",
    "meeting_attendance_rate",
    "meetings_n",
    "days_since_last_touch",
    "last_touch_days",
    "touches_90d",
    "tickets_30d",
    "ticket_volume_ratio",
    "open_critical_tickets",
    "oldest_open_critical_hours",
    "escalations_90d",
    "support_csat",
    "support_csat_n",
    "csat",
    "csat_n",
    "nps",
    "nps_responses",
    "min_nps_score_90d",
    "days_overdue",
    "arr_growth_12m",
    "arr_12m_ago",
    "active_contacts",
    "has_exec_sponsor",
    "exec_sponsor_left_90d",
)
TEXT_COLUMNS: tuple[str, ...] = (
    "account_id", "name", "segment", "csm_id", "plan", "industry", "region", "status",
)


@dataclass
class FeatureFrame:
    """Column arrays, one row per (account, as_of); numeric NULLs are NaN."""

    columns: dict[str, Any]
    as_of: list[dt.date]

    def __len__(self) -> int:
        return len(self.columns["account_id"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def row(self, i: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in self.columns.items():
            value = v[i]
            out[k] = value.item() if hasattr(value, "item") else value
        return out

    def select(self, mask_or_index: Any) -> FeatureFrame:
        return FeatureFrame({k: v[mask_or_index] for k, v in self.columns.items()}, self.as_of)


def _params(settings: Settings) -> dict[str, Any]:
    """The settings the feature query reads, bound as parameters (config values never enter the SQL text)."""
    w = settings.health.windows
    fb = settings.feedback
    return {
        "usage_days": w.usage_days,
        "feature_days": w.feature_days,
        "engagement_days": w.engagement_days,
        "ticket_recent_days": w.ticket_recent_days,
        "ticket_baseline_days": w.ticket_baseline_days,
        "ticket_window_days": w.ticket_recent_days + w.ticket_baseline_days,
        "support_csat_days": w.support_csat_days,
        "satisfaction_days": w.satisfaction_days,
        "growth_days": w.growth_days,
        "longest_days": max(w.usage_days * 2, w.engagement_days, w.ticket_recent_days + w.ticket_baseline_days,
                            w.satisfaction_days, w.support_csat_days),
        "promoter": int(fb.promoter_min),
        "detractor": int(fb.detractor_max),
        "satisfied": int(fb.csat_satisfied_min),
    }


def _sql(settings: Settings, tables: frozenset[str], filtered: bool) -> str:
    """The feature query. Tables the workspace lacks still exist (empty), so joins stay valid. Days to renewal
    count to the renewal due as of each date (`renewal_due_sql`: before the data's end, not today's date)."""
    from cs_mcp.workspace.queries.customers import customer_on_sql
    from cs_mcp.workspace.queries.nps import LATEST_ANSWER_FIRST, RESPONDENT
    from cs_mcp.workspace.queries.renewals import renewal_due_sql

    outreach = ", ".join(f"'{t}'" for t in OUTREACH_TYPES)
    meetings = ", ".join(f"'{t}'" for t in MEETING_TYPES)
    no_answer = ", ".join(f"'{o}'" for o in NO_ANSWER_OUTCOMES)
    account_filter = "WHERE a.account_id IN (SELECT unnest(CAST($ids AS VARCHAR[])))" if filtered else ""
    touch_fallback = "LEAST(x.as_of - COALESCE(a.contract_start, x.as_of - 365), 365)" if (
        "touchpoints" in tables
    ) else "NULL"
    w = {name: f"CAST(${name} AS INTEGER)" for name in _params(settings)}
    return f"""
WITH dates AS (SELECT unnest(CAST($dates AS DATE[])) AS as_of),
x AS (
  SELECT a.account_id, d.as_of FROM accounts a CROSS JOIN dates d {account_filter}
),
u AS (
  SELECT x.account_id, x.as_of,
    AVG(u.active_users) FILTER (WHERE u.date > x.as_of - {w['usage_days']}) AS active_users,
    AVG(u.active_users) FILTER (WHERE u.date <= x.as_of - 30 AND u.date > x.as_of - 30 - {w['usage_days']})
      AS active_users_prev,
    SUM(u.logins) FILTER (WHERE u.date > x.as_of - {w['usage_days']}) AS logins_window,
    MAX(u.date) FILTER (WHERE u.logins > 0) AS last_login,
    COUNT(*) AS usage_rows
  FROM x JOIN usage u ON u.account_id = x.account_id AND u.date <= x.as_of
  GROUP BY x.account_id, x.as_of
),
catalogue AS (SELECT CAST($catalogue AS BIGINT) AS n),
fs AS (  -- when each account became a customer, with contract_start (queries.customers)
  SELECT s.account_id, MIN(s.start_date) AS first_start
  FROM (SELECT DISTINCT account_id FROM x) k JOIN subscriptions s ON s.account_id = k.account_id
  GROUP BY s.account_id
),
f AS (
  SELECT x.account_id, x.as_of, COUNT(DISTINCT fu.feature) AS features_used
  FROM x JOIN feature_usage fu ON fu.account_id = x.account_id
   -- inclusive start: monthly rows are dated the 1st, which a 30-day window must still reach on the 31st
   AND fu.date <= x.as_of AND fu.date >= x.as_of - {w['feature_days']} AND fu.users > 0
  GROUP BY x.account_id, x.as_of
),
tp AS (
  SELECT x.account_id, x.as_of,
    MAX(t.date) AS last_touch,
    COUNT(*) FILTER (WHERE t.date > x.as_of - 90) AS touches_90d,
    COUNT(*) FILTER (WHERE t.date > x.as_of - {w['engagement_days']} AND t.type IN ({outreach})
                       AND t.outcome IS NOT NULL) AS outreach_n,
    COUNT(*) FILTER (WHERE t.date > x.as_of - {w['engagement_days']} AND t.type IN ({outreach})
                       AND t.outcome IS NOT NULL AND t.outcome NOT IN ({no_answer})) AS outreach_answered,
    COUNT(*) FILTER (WHERE t.date > x.as_of - {w['engagement_days']} AND t.type IN ({meetings})
                       AND t.outcome IS NOT NULL) AS meetings_n,
    COUNT(*) FILTER (WHERE t.date > x.as_of - {w['engagement_days']} AND t.type IN ({meetings})
                       AND t.outcome IS NOT NULL AND t.outcome NOT IN ({no_answer})) AS meetings_held
  FROM x JOIN touchpoints t ON t.account_id = x.account_id AND t.date <= x.as_of
  GROUP BY x.account_id, x.as_of
),
tk AS (
  SELECT x.account_id, x.as_of,
    COUNT(*) FILTER (WHERE CAST(k.opened_at AS DATE) > x.as_of - {w['ticket_recent_days']}) AS tickets_recent,
    COUNT(*) FILTER (WHERE CAST(k.opened_at AS DATE) <= x.as_of - {w['ticket_recent_days']}
      AND CAST(k.opened_at AS DATE) > x.as_of - {w['ticket_window_days']})
      AS tickets_baseline,
    COUNT(*) FILTER (WHERE k.priority = 'critical'
      AND (k.closed_at IS NULL OR CAST(k.closed_at AS DATE) > x.as_of)) AS open_critical,
    MIN(k.opened_at) FILTER (WHERE k.priority = 'critical'
      AND (k.closed_at IS NULL OR CAST(k.closed_at AS DATE) > x.as_of)) AS oldest_open_critical,
    COUNT(*) FILTER (WHERE k.escalated AND CAST(k.opened_at AS DATE) > x.as_of - 90) AS escalations_90d,
    COUNT(k.csat) FILTER (WHERE k.csat_known <= x.as_of AND k.csat_known > x.as_of - {w['support_csat_days']})
      AS csat_recent_n,
    COUNT(k.csat) FILTER (WHERE k.csat >= {w['satisfied']}
      AND k.csat_known <= x.as_of AND k.csat_known > x.as_of - {w['support_csat_days']}) AS csat_recent_good
  -- a CSAT answer is known once its ticket closes: as of a past date, later answers do not count
  FROM x JOIN (SELECT *, CAST(COALESCE(closed_at, opened_at) AS DATE) AS csat_known FROM tickets) k
   ON k.account_id = x.account_id AND CAST(k.opened_at AS DATE) <= x.as_of
   AND CAST(k.opened_at AS DATE) > x.as_of - {w['longest_days']}
  GROUP BY x.account_id, x.as_of
),
nps_latest AS (
  SELECT x.account_id, x.as_of, n.score, n.csat, n.responded_at,
    ROW_NUMBER() OVER (PARTITION BY x.account_id, x.as_of, {RESPONDENT} ORDER BY {LATEST_ANSWER_FIRST}) AS rn
  FROM x JOIN nps n ON n.account_id = x.account_id AND n.responded_at <= x.as_of
   AND n.responded_at > x.as_of - {w['satisfaction_days']}
),
np AS (
  SELECT account_id, as_of,
    COUNT(*) AS responses,
    100.0 * (COUNT(*) FILTER (WHERE score >= {w['promoter']}) - COUNT(*) FILTER (WHERE score <= {w['detractor']}))
      / COUNT(*) AS nps,
    MIN(score) FILTER (WHERE responded_at > as_of - 90) AS min_score_90d,
    COUNT(csat) AS csat_n,
    COUNT(csat) FILTER (WHERE csat >= {w['satisfied']}) AS csat_good
  FROM nps_latest WHERE rn = 1
  GROUP BY account_id, as_of
),
inv AS (
  SELECT x.account_id, x.as_of,
    COUNT(*) AS invoices_due,
    MAX(x.as_of - i.due_on) FILTER (WHERE i.paid_on IS NULL OR i.paid_on > x.as_of) AS max_overdue
  FROM x JOIN invoices i ON i.account_id = x.account_id AND i.due_on < x.as_of
  GROUP BY x.account_id, x.as_of
),
sub AS (
  SELECT x.account_id, x.as_of,
    SUM(s.arr) FILTER (WHERE s.start_date <= x.as_of AND (s.end_date IS NULL OR s.end_date > x.as_of))
      AS arr_now,
    SUM(s.arr) FILTER (WHERE s.start_date <= x.as_of - {w['growth_days']}
      AND (s.end_date IS NULL OR s.end_date > x.as_of - {w['growth_days']})) AS arr_then
  FROM x JOIN subscriptions s ON s.account_id = x.account_id AND s.start_date <= x.as_of
  GROUP BY x.account_id, x.as_of
),
ct AS (
  SELECT x.account_id, x.as_of,
    COUNT(*) FILTER (WHERE c.left_on IS NULL OR c.left_on > x.as_of) AS active_contacts,
    COUNT(*) FILTER (WHERE c.role = 'executive_sponsor'
      AND (c.left_on > x.as_of OR (c.left_on IS NULL AND COALESCE(c.active, TRUE)))) AS sponsors,
    COUNT(*) FILTER (WHERE c.role = 'executive_sponsor' AND c.left_on <= x.as_of
      AND c.left_on > x.as_of - 90) AS sponsors_left_90d
  FROM x JOIN contacts c ON c.account_id = x.account_id
  GROUP BY x.account_id, x.as_of
)
SELECT
  a.account_id, a.name, a.segment, a.csm_id, a.plan, a.industry, a.region, a.status,
  x.as_of,
  CAST(a.arr AS DOUBLE) AS arr,
  CAST(a.seats_purchased AS DOUBLE) AS seats_purchased,
  CASE WHEN {customer_on_sql("a", "fs.first_start", "x.as_of")} THEN 1.0 ELSE 0.0 END AS is_active,
  CAST(x.as_of - a.contract_start AS DOUBLE) AS tenure_days,
  CAST({renewal_due_sql("a.renewal_date", "x.as_of")} - x.as_of AS DOUBLE) AS days_to_renewal,
  u.active_users,
  u.active_users_prev,
  CASE WHEN u.active_users_prev > 0
       THEN 100.0 * (COALESCE(u.active_users, 0) - u.active_users_prev) / u.active_users_prev END
    AS usage_change_pct,
  CASE WHEN a.seats_purchased > 0 AND u.usage_rows > 0
       THEN COALESCE(u.active_users, 0) / a.seats_purchased END AS seat_utilization,
  CASE WHEN u.usage_rows > 0 AND u.active_users > 0
       THEN u.logins_window / (CAST($usage_days AS DOUBLE) / 7.0) / u.active_users
       WHEN u.usage_rows > 0 THEN 0.0 END AS logins_per_user_week,
  CAST(x.as_of - u.last_login AS DOUBLE) AS days_since_last_login,
  CASE WHEN (SELECT n FROM catalogue) > 0 THEN COALESCE(f.features_used, 0) * 1.0 / (SELECT n FROM catalogue)
    END AS feature_adoption,
  CAST(f.features_used AS DOUBLE) AS features_used,
  CASE WHEN tp.outreach_n > 0 THEN tp.outreach_answered * 1.0 / tp.outreach_n END AS outreach_response_rate,
  CAST(tp.outreach_n AS DOUBLE) AS outreach_n,
  CASE WHEN tp.meetings_n > 0 THEN tp.meetings_held * 1.0 / tp.meetings_n END AS meeting_attendance_rate,
  CAST(tp.meetings_n AS DOUBLE) AS meetings_n,
  CAST(COALESCE(x.as_of - tp.last_touch, {touch_fallback}) AS DOUBLE) AS days_since_last_touch,
  CAST(x.as_of - tp.last_touch AS DOUBLE) AS last_touch_days,
  CAST(COALESCE(tp.touches_90d, 0) AS DOUBLE) AS touches_90d,
  CAST(COALESCE(tk.tickets_recent, 0) AS DOUBLE) AS tickets_30d,
  (COALESCE(tk.tickets_recent, 0) + 1.0)
    / (COALESCE(tk.tickets_baseline, 0) * CAST($ticket_recent_days AS DOUBLE) / $ticket_baseline_days + 1.0)
    AS ticket_volume_ratio,
  CAST(COALESCE(tk.open_critical, 0) AS DOUBLE) AS open_critical_tickets,
  CAST(date_diff('minute', tk.oldest_open_critical, CAST(x.as_of AS TIMESTAMP)) / 60.0 AS DOUBLE)
    AS oldest_open_critical_hours,
  CAST(COALESCE(tk.escalations_90d, 0) AS DOUBLE) AS escalations_90d,
  CASE WHEN tk.csat_recent_n > 0 THEN tk.csat_recent_good * 1.0 / tk.csat_recent_n END AS support_csat,
  CAST(tk.csat_recent_n AS DOUBLE) AS support_csat_n,
  CASE WHEN np.csat_n > 0 THEN np.csat_good * 1.0 / np.csat_n END AS csat,
  CAST(np.csat_n AS DOUBLE) AS csat_n,
  np.nps,
  CAST(COALESCE(np.responses, 0) AS DOUBLE) AS nps_responses,
  CAST(np.min_score_90d AS DOUBLE) AS min_nps_score_90d,
  CASE WHEN inv.invoices_due > 0 THEN CAST(COALESCE(inv.max_overdue, 0) AS DOUBLE) END AS days_overdue,
  CASE WHEN sub.arr_then > 0 THEN COALESCE(sub.arr_now, 0) / sub.arr_then - 1.0 END AS arr_growth_12m,
  sub.arr_then AS arr_12m_ago,
  CAST(ct.active_contacts AS DOUBLE) AS active_contacts,
  CASE WHEN ct.account_id IS NOT NULL THEN CASE WHEN ct.sponsors > 0 THEN 1.0 ELSE 0.0 END END
    AS has_exec_sponsor,
  CASE WHEN ct.account_id IS NOT NULL THEN CASE WHEN ct.sponsors_left_90d > 0 AND ct.sponsors = 0
    THEN 1.0 ELSE 0.0 END END AS exec_sponsor_left_90d
FROM x
JOIN accounts a ON a.account_id = x.account_id
LEFT JOIN u ON u.account_id = x.account_id AND u.as_of = x.as_of
LEFT JOIN f ON f.account_id = x.account_id AND f.as_of = x.as_of
LEFT JOIN tp ON tp.account_id = x.account_id AND tp.as_of = x.as_of
LEFT JOIN tk ON tk.account_id = x.account_id AND tk.as_of = x.as_of
LEFT JOIN np ON np.account_id = x.account_id AND np.as_of = x.as_of
LEFT JOIN inv ON inv.account_id = x.account_id AND inv.as_of = x.as_of
LEFT JOIN sub ON sub.account_id = x.account_id AND sub.as_of = x.as_of
LEFT JOIN ct ON ct.account_id = x.account_id AND ct.as_of = x.as_of
LEFT JOIN fs ON fs.account_id = x.account_id
ORDER BY x.as_of, a.account_id
"""


def _null_unavailable(frame: dict[str, Any], tables: frozenset[str]) -> None:
    """A metric whose source table the workspace lacks is 'no data', not zero."""
    import numpy as np

    needs = {
        "usage": ("active_users", "active_users_prev", "usage_change_pct", "seat_utilization",
                  "logins_per_user_week", "days_since_last_login"),
        "feature_usage": ("feature_adoption", "features_used"),
        "touchpoints": ("outreach_response_rate", "outreach_n", "meeting_attendance_rate", "meetings_n",
                        "days_since_last_touch", "last_touch_days", "touches_90d"),
        "tickets": ("tickets_30d", "ticket_volume_ratio", "open_critical_tickets", "escalations_90d",
                    "support_csat", "support_csat_n", "oldest_open_critical_hours"),
        "nps": ("nps", "nps_responses", "min_nps_score_90d", "csat", "csat_n"),
        "invoices": ("days_overdue",),
        "subscriptions": ("arr_growth_12m", "arr_12m_ago"),
        "contacts": ("active_contacts", "has_exec_sponsor", "exec_sponsor_left_90d"),
    }
    for table, columns in needs.items():
        if table not in tables:
            for c in columns:
                frame[c] = np.full(len(frame["account_id"]), np.nan)


def feature_catalogue_size(ws: Workspace) -> int:
    """Distinct features in feature_usage: the denominator of feature adoption (counted once)."""
    from cs_mcp.workspace.cache import cached

    def count() -> int:
        # grouped, not COUNT(DISTINCT): PostgreSQL sorts every row for the latter, hashes for the former
        return int(ws.scalar("SELECT COUNT(*) FROM (SELECT feature FROM feature_usage WHERE feature IS NOT NULL "
                             "GROUP BY feature) f") or 0)

    return cached(ws, ("feature_catalogue",), count)


def compute_features(
    ws: Workspace,
    as_of: Sequence[dt.date] | dt.date | None = None,
    account_ids: Sequence[str] | None = None,
) -> FeatureFrame:
    """Per-account metrics at each as-of date (default: the workspace's as_of)."""
    import numpy as np

    from cs_mcp.domain.columns import shared
    from cs_mcp.workspace.queries.coverage import data_end

    dates = [ws.as_of] if as_of is None else ([as_of] if isinstance(as_of, dt.date) else list(as_of))
    params: dict[str, Any] = {"dates": dates, "catalogue": feature_catalogue_size(ws), "data_end": data_end(ws),
                              **_params(ws.settings)}
    if account_ids is not None:
        params["ids"] = list(account_ids)
    columns = ws.columns(_sql(ws.settings, ws.tables, account_ids is not None), **params)
    columns["as_of"] = columns["as_of"].astype("datetime64[D]")
    for name in METRIC_COLUMNS:
        columns[name] = np.asarray(columns[name], dtype=float)
    for name in SHARED_TEXT:
        if name in columns:
            columns[name] = shared(columns[name])
    _null_unavailable(columns, ws.tables)
    return FeatureFrame(columns, dates)


SHARED_TEXT = ("segment", "plan", "industry", "region", "status", "csm_id")
"""Text columns of a few distinct values: one str object per value, not one per row (a million rows of
'smb' are 55 MB as separate objects, and the portfolio memo pickles each of them)."""

