"""Escalations over a period: rate per 100 customers, repeat escalators, root causes, time to resolve, churn of
escalated vs other accounts, and the accounts with the most escalations.

Definitions (config `feedback.repeat_escalation_min`):
  escalation          = a ticket with escalated = true, dated by opened_at, in the period
  active customers    = accounts that were customers on some day of the period (contract_start, if any, on or
                        before its last day; churned_on, if any, after its first day; a churned account without
                        churned_on is left out) or that opened a ticket in it
  per 100 customers   = escalations / active customers x 100
  repeat escalator    = an account with at least repeat_escalation_min escalations in the period
  time to resolve     = closed_at - opened_at in hours over tickets opened in the period and closed by the as-of
                        date (median and 90th percentile, interpolated); open = not closed by the as-of date
  open escalations    = escalated tickets not closed by the as-of date, whenever opened; age in days to the as-of date
  churn comparison    = over the accounts that were customers on the period's first day: escalated = at least
                        one escalation in the period, churn rate = share with churned_on on or after their first
                        escalation and within the period; non-escalated churn rate = share with churned_on within
                        the period; relative risk = escalated rate / non-escalated rate
Periods as in nps-analysis: named quarters, months and years cover their days, 'last N months' ends on the
as-of date, start/end dates are inclusive.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from cs_mcp.domain.accounts import require_known_value
from cs_mcp.domain.errors import NoData
from cs_mcp.domain.nps import ONE_DAY, EventPeriod, resolve_event_period
from cs_mcp.domain.paging import Page, decode_cursor, encode_cursor
from cs_mcp.domain.retention import group_column
from cs_mcp.workspace.engine import ident

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace


class ResolutionTimes(BaseModel):
    tickets: int = Field(description="tickets opened in the period")
    resolved: int = Field(description="of those, closed by the as-of date")
    open: int = Field(description="of those, still open at the as-of date")
    median_hours: float | None
    p90_hours: float | None


class OpenEscalations(BaseModel):
    count: int = Field(description="escalated tickets open at the as-of date, whenever opened")
    accounts: int
    median_age_days: float | None
    oldest_age_days: int | None
    oldest_ticket_id: str | None


class RootCause(BaseModel):
    category: str = Field(description="ticket category of the escalated tickets ('(none)' when empty)")
    escalations: int
    share: float = Field(description="share of the period's escalations")
    tickets: int = Field(description="all tickets of the category opened in the period")
    escalation_rate: float = Field(description="escalations / tickets of the category")
    median_hours_to_resolve: float | None = Field(description="over its resolved escalations")
    open: int = Field(description="its escalations still open at the as-of date")


class ChurnComparison(BaseModel):
    cohort_accounts: int = Field(description="customers on the period's first day")
    escalated_accounts: int = Field(description="of those, with at least one escalation in the period")
    escalated_churned: int = Field(description="of those, churned on or after their first escalation, in the period")
    escalated_churn_rate: float | None
    other_accounts: int = Field(description="cohort accounts without an escalation in the period")
    other_churned: int
    other_churn_rate: float | None
    relative_risk: float | None = Field(description="escalated churn rate / non-escalated churn rate")


class EscalationGroup(BaseModel):
    key: str
    active_customers: int
    escalations: int
    per_100_customers: float | None
    escalated_accounts: int
    repeat_escalators: int
    churn: ChurnComparison | None


class EscalatorRow(BaseModel):
    account_id: str
    name: str
    segment: str | None
    csm_id: str | None
    escalations: int = Field(description="escalations opened in the period")
    open_escalations: int = Field(description="escalated tickets open at the as-of date, whenever opened")
    first_escalation: dt.date
    last_escalation: dt.date
    top_category: str | None = Field(description="most frequent category of its escalations in the period")
    arr: float | None
    health_score: float | None
    health_band: str = Field(description="green / yellow / red / unknown, as of the as-of date")
    renewal_date: dt.date | None
    days_to_renewal: int | None
    status: str | None
    churned_on: dt.date | None


class EscalationReport(Page):
    period: EventPeriod
    as_of: dt.date
    filters: dict[str, str]
    definitions: dict[str, str]
    tickets: int = Field(description="tickets opened in the period")
    escalations: int = Field(description="escalated tickets opened in the period")
    escalation_rate: float | None = Field(description="escalations / tickets")
    active_customers: int
    per_100_customers: float | None = Field(description="escalations per 100 active customers")
    escalated_accounts: int
    repeat_threshold: int
    repeat_escalators: int
    repeat_escalator_arr: float
    repeat_escalations_share: float | None = Field(description="share of escalations from repeat escalators")
    resolution: dict[str, ResolutionTimes] = Field(description="'escalated' and 'all' tickets of the period")
    open_now: OpenEscalations
    root_causes: list[RootCause] = Field(description="most escalations first")
    churn: ChurnComparison | None = Field(description="null when accounts carry no churn dates")
    by: str | None
    groups: list[EscalationGroup] = Field(description="per group when `by` is given, most escalations first")
    accounts: list[EscalatorRow] = Field(description="accounts with the most escalations in the period")
    tables_used: list[str]
    not_computed: list[str]
    note: str | None = None


DEFINITIONS = {
    "per_100_customers": "escalated tickets opened in the period / accounts that were customers during it x 100",
    "repeat_escalator": "an account with at least {n} escalations in the period",
    "time_to_resolve": "closed_at - opened_at in hours, tickets opened in the period and closed by the as-of date",
    "churn": "over customers on the period's first day: escalated accounts churned on or after their first "
    "escalation within the period vs the others' churn within the period",
}


# --------------------------------------------------------------------------- SQL


def _tickets_cte(account_where: str, grp: str) -> str:
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
    ((a.contract_start IS NULL OR a.contract_start < $hi) AND (a.churned_on IS NULL OR a.churned_on > $lo)
      AND NOT (COALESCE(a.status, '') = 'churned' AND a.churned_on IS NULL)) OR per.account_id IS NOT NULL
      AS active_in_period,
    (a.contract_start IS NULL OR a.contract_start <= $lo) AND (a.churned_on IS NULL OR a.churned_on > $lo)
      AND NOT (COALESCE(a.status, '') = 'churned' AND a.churned_on IS NULL) AS at_start,
    COALESCE(per.escalations, 0) AS escalations, per.first_esc
  FROM accounts a LEFT JOIN per ON per.account_id = a.account_id
  WHERE TRUE{account_where}
)"""


_GROUP_SQL = """
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

_RESOLUTION_SQL = """
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

_ROOT_CAUSE_SQL = """
SELECT category, COUNT(*) FILTER (WHERE esc) AS escalations, COUNT(*) AS tickets,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) FILTER (WHERE esc) AS median_hours,
  COUNT(*) FILTER (WHERE esc AND is_open) AS open
FROM k GROUP BY category HAVING COUNT(*) FILTER (WHERE esc) > 0
ORDER BY escalations DESC, category
"""


def _open_sql(account_where: str) -> str:
    return f"""
WITH o AS (
  SELECT k.ticket_id, k.account_id, $as_of - CAST(k.opened_at AS DATE) AS age
  FROM tickets k JOIN accounts a ON a.account_id = k.account_id
  WHERE k.escalated AND k.opened_at < $close_by AND (k.closed_at IS NULL OR k.closed_at >= $close_by){account_where}
)
SELECT COUNT(*) AS n, COUNT(DISTINCT account_id) AS accounts,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY age) AS median_age, MAX(age) AS oldest_age,
  (SELECT ticket_id FROM o ORDER BY age DESC, ticket_id LIMIT 1) AS oldest_ticket
FROM o
"""


def _accounts_sql(account_where: str) -> str:
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
  per.first_esc, per.last_esc, cat.category AS top_category, CAST(a.arr AS DOUBLE) AS arr, a.renewal_date,
  a.status, a.churned_on
FROM per JOIN accounts a ON a.account_id = per.account_id
LEFT JOIN cat ON cat.account_id = per.account_id AND cat.rn = 1
LEFT JOIN open_now o ON o.account_id = per.account_id
ORDER BY per.escalations DESC, a.arr DESC NULLS LAST, a.account_id
LIMIT $limit OFFSET $offset
"""


def _fetch(ws: Workspace, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cur = ws.cursor().execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _rate(n: int, d: int) -> float | None:
    return None if d <= 0 else round(n / d, 6)


def _hours(v: float | None) -> float | None:
    return None if v is None else round(float(v), 1)


def _churn(row: dict[str, Any]) -> ChurnComparison:
    cohort, esc, esc_churned, other_churned = (
        int(row["cohort"]), int(row["esc_cohort"]), int(row["esc_churned"]), int(row["other_churned"])
    )
    esc_rate, other_rate = _rate(esc_churned, esc), _rate(other_churned, cohort - esc)
    return ChurnComparison(
        cohort_accounts=cohort,
        escalated_accounts=esc,
        escalated_churned=esc_churned,
        escalated_churn_rate=esc_rate,
        other_accounts=cohort - esc,
        other_churned=other_churned,
        other_churn_rate=other_rate,
        relative_risk=None if esc_rate is None or not other_rate else round(esc_rate / other_rate, 3),
    )


def _per_100(escalations: int, customers: int) -> float | None:
    return None if customers <= 0 else round(100.0 * escalations / customers, 2)


# ------------------------------------------------------------------------ answer


def escalation_analysis(
    ws: Workspace,
    period: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    segment: str | None = None,
    by: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> EscalationReport:
    """Escalation rate, repeat escalators, root causes, resolution times, churn comparison and top escalators."""
    from cs_mcp.domain.health import METRIC_SOURCES
    from cs_mcp.domain.portfolio import portfolio_snapshot

    if "tickets" not in ws.tables:
        raise NoData(
            "escalation-analysis needs a tickets table (ticket_id, account_id, opened_at, closed_at, category, "
            "escalated): add tickets.csv (or map your export in cs-mcp.yaml)."
        )
    n_tickets, n_flagged = ws.cursor().execute("SELECT COUNT(*), COUNT(escalated) FROM tickets").fetchone()
    if not n_flagged:
        raise NoData(
            f"The tickets table ({n_tickets} rows) has no escalated values: add an escalated column (true/false) "
            "or map yours with tables.tickets.columns.escalated in cs-mcp.yaml."
        )
    p = resolve_event_period(ws.as_of, period, start, end)
    fb = ws.settings.feedback
    limit = limit or ws.settings.server.page_size
    offset = decode_cursor(cursor)
    filters: dict[str, str] = {}
    params: dict[str, Any] = {}
    account_where = ""
    if segment:
        require_known_value(ws, "segment", segment)
        account_where = " AND lower(a.segment) = lower($segment)"
        params["segment"] = filters["segment"] = segment.strip()
    col = group_column(ws, by)
    grp = f"COALESCE(CAST(a.{ident(col)} AS VARCHAR), '(none)')" if col else "'all'"
    window = dict(params, lo=p.first_day, hi=p.end_exclusive, close_by=ws.as_of + ONE_DAY)
    cte = _tickets_cte(account_where, grp)

    group_rows = _fetch(ws, cte + _GROUP_SQL, dict(window, repeat=fb.repeat_escalation_min))
    keys = [
        "active_customers", "escalations", "escalated_accounts", "repeat_escalators", "repeat_arr",
        "repeat_escalations", "cohort", "esc_cohort", "esc_churned", "other_churned",
    ]
    total = {k: sum(float(r[k] or 0) for r in group_rows) for k in keys}
    for k in keys:
        if k != "repeat_arr":
            total[k] = int(total[k])
    res = _fetch(ws, cte + _RESOLUTION_SQL, window)[0]
    causes = _fetch(ws, cte + _ROOT_CAUSE_SQL, window)
    opened = _fetch(ws, _open_sql(account_where), dict(params, as_of=ws.as_of, close_by=ws.as_of + ONE_DAY))[0]

    has_churn_dates = bool(
        ws.cursor().execute("SELECT COUNT(churned_on) FROM accounts").fetchone()[0]
    )
    not_computed: list[str] = []
    notes: list[str] = []
    if not has_churn_dates:
        not_computed.append("churn comparison: no account has a churned_on date")

    groups: list[EscalationGroup] = []
    if col:
        for r in group_rows:
            groups.append(
                EscalationGroup(
                    key=str(r["grp"]),
                    active_customers=int(r["active_customers"]),
                    escalations=int(r["escalations"]),
                    per_100_customers=_per_100(int(r["escalations"]), int(r["active_customers"])),
                    escalated_accounts=int(r["escalated_accounts"]),
                    repeat_escalators=int(r["repeat_escalators"]),
                    churn=_churn(r) if has_churn_dates else None,
                )
            )
        groups.sort(key=lambda g: (-g.escalations, -g.active_customers, g.key))

    n_esc = total["escalations"]
    root_causes = [
        RootCause(
            category=str(c["category"]),
            escalations=int(c["escalations"]),
            share=round(int(c["escalations"]) / n_esc, 6) if n_esc else 0.0,
            tickets=int(c["tickets"]),
            escalation_rate=round(int(c["escalations"]) / int(c["tickets"]), 6),
            median_hours_to_resolve=_hours(c["median_hours"]),
            open=int(c["open"]),
        )
        for c in causes
    ]
    if root_causes and all(c.category == "(none)" for c in root_causes):
        not_computed.append("root causes: tickets carry no category")

    open_now = OpenEscalations(
        count=int(opened["n"]),
        accounts=int(opened["accounts"]),
        median_age_days=None if opened["median_age"] is None else round(float(opened["median_age"]), 1),
        oldest_age_days=None if opened["oldest_age"] is None else int(opened["oldest_age"]),
        oldest_ticket_id=opened["oldest_ticket"],
    )

    rows = _fetch(ws, _accounts_sql(account_where), dict(window, limit=limit, offset=offset))
    snap = portfolio_snapshot(ws)
    bands = snap.health.bands()
    accounts = []
    for r in rows:
        i = snap.position.get(r["account_id"])
        score = None if i is None else snap.health.score[i]
        renewal = r["renewal_date"]
        accounts.append(
            EscalatorRow(
                account_id=r["account_id"],
                name=r["name"],
                segment=r["segment"],
                csm_id=r["csm_id"],
                escalations=int(r["escalations"]),
                open_escalations=int(r["open_escalations"]),
                first_escalation=r["first_esc"],
                last_escalation=r["last_esc"],
                top_category=r["top_category"],
                arr=r["arr"],
                health_score=None if score is None or score != score else round(float(score), 1),
                health_band="unknown" if i is None else str(bands[i]),
                renewal_date=renewal,
                days_to_renewal=None if renewal is None else (renewal - ws.as_of).days,
                status=r["status"],
                churned_on=r["churned_on"],
            )
        )
    n_accounts = total["escalated_accounts"]
    nxt = offset + len(accounts)

    if not n_esc:
        first, last = ws.cursor().execute(
            "SELECT MIN(opened_at), MAX(opened_at) FROM tickets WHERE escalated"
        ).fetchone()
        span = (
            f"escalations in the data run from {first:%Y-%m-%d} to {last:%Y-%m-%d}" if first
            else "no ticket is escalated"
        )
        notes.append(f"No escalation opened in {p.first_day} to {p.last_day}; {span}.")
    if n_flagged < n_tickets:
        notes.append(f"{n_tickets - n_flagged} tickets have no escalated value and count as not escalated.")
    if p.cut_to_as_of:
        notes.append(f"The period was cut at the data's as-of date {ws.as_of}.")
    health_tables = sorted({t for t in METRIC_SOURCES.values() if t in ws.tables} - {"tickets"})
    definitions = dict(
        DEFINITIONS, repeat_escalator=DEFINITIONS["repeat_escalator"].format(n=fb.repeat_escalation_min)
    )
    return EscalationReport(
        period=p,
        as_of=ws.as_of,
        filters=filters,
        definitions=definitions,
        tickets=int(res["all_tickets"]),
        escalations=n_esc,
        escalation_rate=_rate(n_esc, int(res["all_tickets"])),
        active_customers=total["active_customers"],
        per_100_customers=_per_100(n_esc, total["active_customers"]),
        escalated_accounts=n_accounts,
        repeat_threshold=fb.repeat_escalation_min,
        repeat_escalators=total["repeat_escalators"],
        repeat_escalator_arr=round(float(total["repeat_arr"]), 2),
        repeat_escalations_share=_rate(total["repeat_escalations"], n_esc),
        resolution={
            "escalated": ResolutionTimes(
                tickets=int(res["esc_tickets"]),
                resolved=int(res["esc_resolved"]),
                open=int(res["esc_open"]),
                median_hours=_hours(res["esc_median"]),
                p90_hours=_hours(res["esc_p90"]),
            ),
            "all": ResolutionTimes(
                tickets=int(res["all_tickets"]),
                resolved=int(res["all_resolved"]),
                open=int(res["all_open"]),
                median_hours=_hours(res["all_median"]),
                p90_hours=_hours(res["all_p90"]),
            ),
        },
        open_now=open_now,
        root_causes=root_causes,
        churn=_churn(total) if has_churn_dates else None,
        by=col,
        groups=groups,
        accounts=accounts,
        total=n_accounts,
        returned=len(accounts),
        next_cursor=encode_cursor(nxt) if nxt < n_accounts else None,
        tables_used=["accounts", "tickets", *health_tables],
        not_computed=not_computed,
        note=" ".join(notes) or None,
    )
