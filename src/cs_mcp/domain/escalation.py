"""Escalations over a period: rate per 100 customers, repeat escalators, root causes, time to resolve, churn of
escalated vs other accounts, and the accounts with the most escalations.

Definitions (config `feedback.repeat_escalation_min`):
  escalation          = a ticket with escalated = true, dated by opened_at, in the period
  active customers    = accounts that were customers on some day of the period (queries.customers: the first
                        subscription, else contract_start, if any, on or before its last day; churned_on, if
                        any, after its first day; a churned account without churned_on is left out) or that
                        opened a ticket in it
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
from cs_mcp.workspace.queries import escalations as q

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
    active_customers: int = Field(description="accounts that were customers on some day of the period (not only "
                                  "today's active accounts)")
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
    n_tickets, n_flagged = q.ticket_counts(ws)
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
    if segment:
        require_known_value(ws, "segment", segment)
        params["segment"] = filters["segment"] = segment.strip()
    col = group_column(ws, by)
    scope = q.Scope(by_segment=bool(segment), group_column=col)
    window = dict(params, lo=p.first_day, hi=p.end_exclusive, close_by=ws.as_of + ONE_DAY)
    group_rows = q.escalation_groups(ws, scope, dict(window, repeat=fb.repeat_escalation_min))
    keys = [
        "active_customers", "escalations", "escalated_accounts", "repeat_escalators", "repeat_arr",
        "repeat_escalations", "cohort", "esc_cohort", "esc_churned", "other_churned",
    ]
    total = {k: sum(float(r[k] or 0) for r in group_rows) for k in keys}
    for k in keys:
        if k != "repeat_arr":
            total[k] = int(total[k])
    res = q.resolution_times(ws, scope, window)
    causes = q.root_causes(ws, scope, window)
    opened = q.open_escalations(ws, scope, dict(params, as_of=ws.as_of, close_by=ws.as_of + ONE_DAY))

    has_churn_dates = q.any_churn_dates(ws)
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

    rows = q.top_escalators(ws, scope, dict(window, limit=limit, offset=offset))
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
        first, last = q.escalation_span(ws)
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
