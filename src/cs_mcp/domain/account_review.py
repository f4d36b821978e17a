"""account-review-prep: the QBR pack of one account for a review period.

Period: the last planning.review_days days by default (ending on the as-of date), `days` for another length,
or a named period / inclusive dates as nps-analysis reads them ('last-quarter', '2026-Q2', 'last-3-months').
The previous period (same length, just before) is the comparison for tickets and newly adopted features.
Value delivered: monthly usage (average active users, summed logins) over planning.trend_months calendar months
ending with the period; features used in the period (users > 0) of the workspace's feature catalogue; tickets
opened / resolved in the period and the median resolution time of those resolved; NPS over each respondent's
latest answer in the period (feedback thresholds) and ticket CSAT.
Health, alerts and risk factors come from health_for_account; renewal date, probability, category and churn
drivers from renewal-forecast's per-account calculation; expansion signals from renewal-strategy's options, held
back (not proposable) by renewal-strategy's rule, renewal.expansion_hold.
Agenda: objectives, value, risks (yellow/red health, alerts or a renewal at risk) or wins, support (tickets in
the period or open), adoption, renewal (renewal within planning.renewal_agenda_days; the decision to leave when
notice is given), growth (expansion to offer and the renewal not at risk), next steps; minutes from
planning.agenda_minutes. Renewal and growth merge into one item when all optional items apply, so the agenda
holds 5-7 items.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from cs_mcp.domain.errors import InvalidArgument
from cs_mcp.domain.formatting import day_count, score_text
from cs_mcp.domain.health import Alert, TrendPoint, deciding_change
from cs_mcp.domain.periods import coverage_text, data_span
from cs_mcp.domain.renewal import expansion_hold
from cs_mcp.domain.renewal_strategy import (
    CATEGORY_WORDS,
    CustomerComment,
    SupportFigures,
    account_health,
    active_account,
    expansion_options,
    money,
    not_computed,
    renewal_risk,
    risk_group,
    support_figures,
)
from cs_mcp.workspace.queries.reviews import account_contacts, feature_use, nps_respondents, usage_by_period

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace

ONE_DAY = dt.timedelta(days=1)


# ------------------------------------------------------------------------- models


class ReviewPeriod(BaseModel):
    first_day: dt.date
    last_day: dt.date = Field(description="inclusive")
    days: int
    label: str
    previous_first_day: dt.date = Field(description="the comparison period: same length, just before")
    previous_last_day: dt.date


class MonthUsage(BaseModel):
    month: str = Field(description="YYYY-MM")
    active_users: float | None = Field(description="average active users over the month's usage rows")
    logins: int | None = Field(description="logins summed over the month's rows")
    rows: int
    to_date: bool = Field(description="the month is cut at the period's last day")


class UsageTrend(BaseModel):
    months: list[MonthUsage]
    active_users_change_pct: float | None = Field(
        description="last month with data vs the first month with data, %"
    )


class Adoption(BaseModel):
    features_used: list[str] = Field(description="features with users in the period")
    catalogue_size: int = Field(description="distinct features in feature_usage")
    adoption: float | None = Field(description="features used / catalogue")
    new_features: list[str] = Field(description="used in the period, not in the previous period")
    unused_features: list[str] = Field(description="catalogue features not used in the period (first 5)")


class Satisfaction(BaseModel):
    nps: float | None = Field(description="NPS of the period, latest answer per respondent")
    respondents: int
    promoters: int
    passives: int
    detractors: int
    detractor_contacts: list[str] = Field(description="who answered as a detractor in the period")
    csat: float | None = Field(description="ticket CSAT of the period (share satisfied)")
    csat_responses: int


class SupportPeriod(SupportFigures):
    opened_previous_period: int


class HealthSection(BaseModel):
    score: float | None
    band: str
    dimensions: dict[str, float | None] = Field(description="dimension -> 0-100 score (null: no data)")
    trend: str | None
    velocity_per_day: float | None
    trend_change: float | None = Field(None, description="points the score moved over trend_days, the look-back "
                                       "its trend was read from")
    trend_days: int | None = None
    history: list[TrendPoint]


class Risks(BaseModel):
    """Internal: for the CSM's preparation, not for the customer-facing agenda."""

    alerts: list[Alert]
    risk_factors: list[str]
    churn_drivers: list[str] = Field(description="what raises the churn risk, as churn-risk-list names it")
    churn_probability: float | None = Field(description="% risk of losing the account at or before its renewal")
    churn_probability_90d: float | None = Field(None, description="% risk of churn within 90 days")
    churn_tier: str | None
    at_risk_renewal: bool = Field(False, description="renewal probability under the 'likely' tier")
    customer_comments: list[CustomerComment] = Field(
        default_factory=list, description="the account's detractors' own recent NPS comments"
    )


class Outlook(BaseModel):
    renewal_date: dt.date | None
    days_to_renewal: int | None
    probability: float | None = Field(description="renewal probability, %")
    category: str | None
    plan_category: str | None = Field(description="the category the plan follows (at least at_risk when red)")
    expected_outcome: str | None
    notice_on: dt.date | None = Field(
        None, description="notice given: the churn date of an account marked churned with that date still ahead"
    )
    expansion_signals: list[str]
    expansion_arr: float = Field(description="expansion renewal-strategy would propose (0 while it holds it back)")
    expansion_held: str | None = Field(
        None, description="why renewal-strategy holds the expansion back (renewal.expansion_hold), else null"
    )


class Stakeholder(BaseModel):
    contact_id: str
    name: str | None
    role: str | None
    department: str | None
    active: bool
    left_on: dt.date | None


class Stakeholders(BaseModel):
    contacts: list[Stakeholder] = Field(description="active contacts first, then those who left")
    by_role: dict[str, int] = Field(description="active contacts per role")
    active_contacts: int
    exec_sponsor: Literal["active", "left", "none", "unknown"]
    exec_sponsor_name: str | None
    exec_sponsor_note: str
    champion: str | None


class AgendaItem(BaseModel):
    topic: str
    minutes: int
    start_minute: int
    points: str = Field(description="what to cover, with the account's numbers")


class AccountReview(BaseModel):
    account_id: str
    name: str
    segment: str | None
    csm_id: str | None
    arr: float | None
    as_of: dt.date
    period: ReviewPeriod
    executive_summary: list[str] = Field(description="3-5 sentences from the numbers")
    usage: UsageTrend | None
    adoption: Adoption | None
    support: SupportPeriod | None
    satisfaction: Satisfaction | None
    health: HealthSection
    risks: Risks
    outlook: Outlook
    stakeholders: Stakeholders | None
    agenda: list[AgendaItem]
    meeting_minutes: int
    prep_todos: list[str]
    tables_used: list[str]
    not_computed: list[str]
    note: str | None = None


# ------------------------------------------------------------------------ period


def resolve_review_period(
    ws: Workspace, days: int | None = None, period: str | None = None,
    start: dt.date | None = None, end: dt.date | None = None,
) -> ReviewPeriod:
    """The review period: the last N days (default), a named period, or inclusive dates."""
    from cs_mcp.domain.nps import resolve_event_period

    as_of = ws.as_of
    if days is not None and (period or start or end):
        raise InvalidArgument("Send days, period, or from/to dates: only one of them.")
    if period or start or end:
        ep = resolve_event_period(as_of, period, start, end)
        first, last, label = ep.first_day, ep.last_day, ep.label
    else:
        n = days or ws.settings.planning.review_days
        first, last, label = as_of - dt.timedelta(days=n - 1), as_of, f"last {n} days"
    length = (last - first).days + 1
    return ReviewPeriod(
        first_day=first, last_day=last, days=length, label=label,
        previous_first_day=first - dt.timedelta(days=length), previous_last_day=first - ONE_DAY,
    )


# ---------------------------------------------------------------------- sections


def _usage_trend(ws: Workspace, account_id: str, p: ReviewPeriod) -> UsageTrend:
    from cs_mcp.domain.nps import EventPeriod, trend_buckets

    buckets = trend_buckets(
        EventPeriod(first_day=p.first_day, last_day=p.last_day, label=p.label), "month",
        ws.settings.planning.trend_months,
    )
    usage = usage_by_period(ws, account_id, [(b[1], b[2]) for b in buckets])
    months = [
        MonthUsage(month=label, active_users=None if u.active_users is None else round(u.active_users, 1),
                   logins=None if u.rows == 0 or u.logins is None else int(u.logins), rows=u.rows, to_date=cut)
        for (label, _, _, cut), u in zip(buckets, usage, strict=True)
    ]
    with_data = [m for m in months if m.active_users is not None]
    change = None
    if len(with_data) >= 2 and with_data[0].active_users:
        change = round(100 * (with_data[-1].active_users - with_data[0].active_users) / with_data[0].active_users, 1)
    return UsageTrend(months=months, active_users_change_pct=change)


def _adoption(ws: Workspace, account_id: str, p: ReviewPeriod) -> Adoption:
    rows = feature_use(ws, account_id, (p.first_day, p.last_day), (p.previous_first_day, p.previous_last_day))
    used = [f for f, u, _ in rows if u]
    return Adoption(
        features_used=used,
        catalogue_size=len(rows),
        adoption=round(len(used) / len(rows), 4) if rows else None,
        new_features=[f for f, u, b in rows if u and not b],
        unused_features=[f for f, u, _ in rows if not u][:5],
    )


def _satisfaction(ws: Workspace, account_id: str, p: ReviewPeriod, support: SupportFigures | None) -> Satisfaction:
    fb = ws.settings.feedback
    n, prom, det, who = nps_respondents(ws, account_id, p.first_day, p.last_day, fb.promoter_min, fb.detractor_max)
    return Satisfaction(
        nps=round(100 * (prom - det) / n, 1) if n else None,
        respondents=int(n),
        promoters=int(prom),
        passives=int(n - prom - det),
        detractors=int(det),
        detractor_contacts=who,
        csat=support.csat if support else None,
        csat_responses=support.csat_responses if support else 0,
    )


def _stakeholders(ws: Workspace, account_id: str) -> Stakeholders:
    people = [Stakeholder(contact_id=c.contact_id, name=c.name, role=c.role, department=c.department,
                          active=c.active, left_on=c.left_on) for c in account_contacts(ws, account_id, ws.as_of)]
    active = [s for s in people if s.active]
    by_role: dict[str, int] = {}
    for s in active:
        by_role[s.role or "unknown"] = by_role.get(s.role or "unknown", 0) + 1
    sponsor = next((s for s in active if s.role == "executive_sponsor"), None)
    gone = next((s for s in people if not s.active and s.role == "executive_sponsor"), None)
    champion = next((s for s in active if s.role == "champion"), None)
    if sponsor:
        status, who, note = "active", sponsor.name, f"{sponsor.name or sponsor.contact_id} is the executive sponsor"
    elif gone:
        when = f" on {gone.left_on}" if gone.left_on else ""
        status, who = "left", gone.name
        note = f"executive sponsor {gone.name or gone.contact_id} left{when}; no successor on record"
    elif people:
        status, who, note = "none", None, "no executive sponsor on record"
    else:
        status, who, note = "unknown", None, "no contacts on record for this account"
    return Stakeholders(
        contacts=people[:12], by_role=by_role, active_contacts=len(active), exec_sponsor=status,
        exec_sponsor_name=who, exec_sponsor_note=note, champion=champion.name if champion else None,
    )


# ------------------------------------------------------------------------ agenda


def _agenda(
    ws: Workspace, health: HealthSection, risks: Risks, support: SupportPeriod | None, adoption: Adoption | None,
    outlook: Outlook, usage: UsageTrend | None, sat: Satisfaction | None,
) -> list[AgendaItem]:
    mins = ws.settings.planning.agenda_minutes
    # a renewal at risk is an account at risk, whatever its health band says
    at_risk = health.band in ("red", "yellow") or bool(risks.alerts) or risk_group(outlook.plan_category) != "healthy"
    objectives = ("Confirm the customer's goals for the next quarter and what success looks like."
                  if outlook.notice_on is None else
                  f"Confirm what the customer needs from us until {outlook.notice_on} and what would make them stay.")
    items: list[tuple[str, str, str]] = [("objectives", "Objectives and agenda", objectives)]
    value_points = []
    if usage and usage.active_users_change_pct is not None:
        with_data = [m for m in usage.months if m.active_users is not None]
        value_points.append(f"active users {with_data[0].active_users:.0f} ({with_data[0].month}) to "
                            f"{with_data[-1].active_users:.0f} ({with_data[-1].month}), "
                            f"{usage.active_users_change_pct:+.0f}%")
    if adoption and adoption.catalogue_size:
        value_points.append(f"{len(adoption.features_used)} of {adoption.catalogue_size} features in use")
    items.append(("value", "Value delivered", "; ".join(value_points) or "outcomes achieved this quarter"))
    if at_risk:
        # the agenda goes to the customer: concrete issues in their terms, no internal scores
        items.append(("health", "Open issues and the plan to fix them",
                      "; ".join(_customer_issues(ws, support, usage, sat)) or "what is not working yet, and the plan"))
    else:
        items.append(("wins", "Wins and success stories",
                      "what went well; ask for a reference or case study" if health.band == "green"
                      else "what went well this quarter"))
    if support and (support.opened or support.open_now):
        med = support.median_resolution_hours
        items.append(("support", "Support review",
                      f"{support.opened} opened, {support.resolved} resolved"
                      + (f", median {med:g} h" if med is not None else "")
                      + (f", {support.open_critical} critical open" if support.open_critical else "")
                      + (f", {support.open_now} open" if support.open_now and not support.open_critical else "")))
    unused = ", ".join(adoption.unused_features[:3]) if adoption and adoption.unused_features else ""
    items.append(("adoption", "Adoption and roadmap",
                  f"features not used yet: {unused}" if unused else "roadmap preview and the customer's requests"))
    renewal_due = outlook.notice_on is not None or _renewal_due(ws, outlook)
    growth = outlook.expansion_arr > 0 and risk_group(outlook.plan_category) == "healthy"
    renewal_text = ""
    if outlook.notice_on is not None:
        renewal_text = (f"your notice to leave on {outlook.notice_on}: what led to the decision, what would change "
                        "it, and the transition plan")
    elif renewal_due:
        renewal_text = (f"renewal on {outlook.renewal_date} ({day_count(outlook.days_to_renewal)}): timeline and "
                        "decision makers")
    growth_text = f"{'; '.join(outlook.expansion_signals[:2])}" if growth else ""
    optional = sum([bool(support and (support.opened or support.open_now)), renewal_due, growth])
    if renewal_due and growth and optional == 3:
        items.append(("renewal", "Renewal and growth plan", f"{renewal_text}; {growth_text}"))
        merged_minutes = mins["renewal"] + mins["expansion"]
    else:
        merged_minutes = None
        if renewal_due:
            items.append(("renewal", "Your decision to leave" if outlook.notice_on else "Renewal planning",
                          renewal_text))
        if growth:
            items.append(("expansion", "Growth opportunities", growth_text))
    items.append(("next_steps", "Next steps and owners", "agree actions, owners and dates; book the next review"))
    out, t = [], 0
    for key, topic, points in items:
        m = merged_minutes if key == "renewal" and merged_minutes else mins[key]
        out.append(AgendaItem(topic=topic, minutes=m, start_minute=t, points=points))
        t += m
    return out


def _renewal_due(ws: Workspace, outlook: Outlook) -> bool:
    """The renewal falls within planning.renewal_agenda_days: the review plans it."""
    days = outlook.days_to_renewal
    return days is not None and 0 <= days <= ws.settings.planning.renewal_agenda_days


def _customer_issues(ws: Workspace, support: SupportPeriod | None, usage: UsageTrend | None,
                     sat: Satisfaction | None) -> list[str]:
    out = []
    if support and support.open_critical:
        out.append(f"{support.open_critical} critical support issue(s) open: owner and fix date for each")
    flag = ws.settings.planning.usage_change_flag_pct
    if usage and usage.active_users_change_pct is not None and usage.active_users_change_pct <= -flag:
        out.append(f"fewer active users ({usage.active_users_change_pct:+.0f}%): what changed, and an adoption plan")
    if sat and sat.detractor_contacts:
        out.append("your team's feedback: what we heard and what we are changing")
    return out[:3]


def _todos(
    ws: Workspace, stake: Stakeholders | None, support: SupportPeriod | None, sat: Satisfaction | None,
    usage: UsageTrend | None, outlook: Outlook, risks: Risks,
) -> list[str]:
    out = []
    if stake:
        champ = f" and {stake.champion} (champion)" if stake.champion else ""
        if stake.exec_sponsor == "active":
            out.append(f"Confirm {stake.exec_sponsor_name} (executive sponsor){champ} will attend.")
        elif stake.exec_sponsor == "left":
            ask = f"; ask {stake.champion} for an introduction" if stake.champion else ""
            out.append(f"Find the new executive sponsor: {stake.exec_sponsor_note}{ask}.")
        else:
            out.append(f"Identify an executive sponsor and invite them ({stake.exec_sponsor_note}).")
    if support and support.open_critical:
        out.append(f"Get a dated fix plan from support for the {support.open_critical} open critical ticket(s).")
    elif support and support.open_now:
        out.append(f"Check the status of the {support.open_now} open ticket(s) so you can report on them.")
    if sat and sat.detractor_contacts:
        out.append(f"Call the detractor(s) before the meeting: {', '.join(sat.detractor_contacts[:3])}.")
    flag = ws.settings.planning.usage_change_flag_pct
    if usage and usage.active_users_change_pct is not None and usage.active_users_change_pct <= -flag:
        out.append(f"Ask the admin why active users fell {-usage.active_users_change_pct:.0f}%: team changes, "
                   "another tool, or friction?")
    if outlook.notice_on is not None:
        out.append(f"The customer has given notice (leaving on {outlook.notice_on}): with the account executive, "
                   "hear the reason from the decision maker before the meeting and bring a right-sized or "
                   "shorter-term offer (renewal-strategy).")
    elif _renewal_due(ws, outlook):
        prob = "" if outlook.probability is None else (
            f", {outlook.probability:g}% {CATEGORY_WORDS.get(outlook.category or '', '')}")
        out.append(f"Prepare the renewal options with renewal-strategy (renewal on {outlook.renewal_date}{prob}).")
    if risk_group(outlook.plan_category) != "healthy":
        top = [a.message for a in risks.alerts if a.severity == "critical"][:2] or risks.risk_factors[:2]
        if top:
            out.append(f"Draft a dated recovery plan for the top risks to walk through: {'; '.join(top)}.")
    elif outlook.expansion_arr > 0:
        out.append(f"Size the expansion before proposing it: {'; '.join(outlook.expansion_signals[:2])}.")
    for a in risks.alerts:
        if a.code == "invoice_overdue":
            out.append(f"Check with finance before the meeting: {a.message}.")
    out.append("Send the agenda and the usage summary to the attendees ahead of the meeting.")
    return out[:7]


# ---------------------------------------------------------------------- the answer


REVIEW_NEEDS = {
    "usage": "no usage trend",
    "feature_usage": "no feature adoption",
    "tickets": "no support figures or CSAT",
    "nps": "no NPS",
    "contacts": "no stakeholders or executive sponsor status",
    "subscriptions": "renewal date only from accounts.renewal_date",
    "opportunities": "no open opportunities in the outlook",
    "products": "no whitespace products",
}


def _summary(
    name: str, row: dict[str, Any], health: HealthSection, usage: UsageTrend | None, adoption: Adoption | None,
    support: SupportPeriod | None, sat: Satisfaction | None, outlook: Outlook, risks: Risks, p: ReviewPeriod,
) -> list[str]:
    seg = f"{row.get('segment')}, " if row.get("segment") else ""
    s = [f"{name} ({seg}{money(row.get('arr'))} ARR) is "
         + (f"{health.band} at health {score_text(health.score)}" if health.score is not None
            else "not scored for health")
         + (f", {health.trend.replace('_', ' ')}" if health.trend and health.trend != "unknown" else "")
         + (f" ({health.trend_change:+.0f} points in {health.trend_days} days)" if health.trend_change is not None
            else "") + "."]
    if usage and usage.active_users_change_pct is not None:
        m = [x for x in usage.months if x.active_users is not None]
        feats = (f"; {len(adoption.features_used)} of {adoption.catalogue_size} features used in the period"
                 if adoption and adoption.catalogue_size else "")
        s.append(f"Active users went from {m[0].active_users:.0f} in {m[0].month} to {m[-1].active_users:.0f} in "
                 f"{m[-1].month} ({usage.active_users_change_pct:+.0f}%){feats}.")
    parts = []
    if support:
        med = support.median_resolution_hours
        parts.append(f"{support.opened} ticket{'s' if support.opened != 1 else ''} opened and {support.resolved} "
                     "resolved" + (f" (median {med:g} h)" if med is not None else ""))
    if sat and sat.nps is not None:
        parts.append(f"NPS {sat.nps:+.0f} from {sat.respondents} respondent{'s' if sat.respondents != 1 else ''}")
    if parts:
        s.append(f"In {'the ' if p.label.startswith('last') else ''}{p.label}: " + "; ".join(parts) + ".")
    if outlook.renewal_date is not None:
        prob = "" if outlook.probability is None else (
            f": {outlook.probability:g}% ({CATEGORY_WORDS.get(outlook.category or '', 'n/a')})")
        exp = f", expected {outlook.expected_outcome}" if outlook.expected_outcome else ""
        s.append(f"Renewal on {outlook.renewal_date} ({day_count(outlook.days_to_renewal)}){prob}{exp}.")
    else:
        s.append("No renewal date on record.")
    watch = [a.message for a in risks.alerts if a.severity == "critical"][:2] or risks.churn_drivers[:2]
    critical = any(a.severity == "critical" for a in risks.alerts)
    if watch and (risk_group(outlook.plan_category) != "healthy" or critical):
        s.append("Watch: " + "; ".join(watch) + ".")
    elif outlook.expansion_signals and not outlook.expansion_held:
        s.append("Growth: " + "; ".join(outlook.expansion_signals[:2]) + ".")
    if len(s) < 3:
        s.append("The data holds no usage, ticket or NPS figures for this period, so the value story rests on "
                 "the customer's own account of it.")
    return s[:5]


def account_review(
    ws: Workspace, account: str, days: int | None = None, period: str | None = None,
    start: dt.date | None = None, end: dt.date | None = None,
) -> AccountReview:
    """QBR pack: summary, value delivered, health, risks, renewal and expansion outlook, stakeholders, agenda."""
    from cs_mcp.domain.portfolio import portfolio_snapshot

    account_id, name = active_account(ws, account, "account-review-prep")
    p = resolve_review_period(ws, days, period, start, end)
    row = portfolio_snapshot(ws).row(account_id)
    h = account_health(ws, account_id)
    risk = renewal_risk(ws, account_id, h)
    has = ws.tables
    usage = _usage_trend(ws, account_id, p) if "usage" in has else None
    adoption = _adoption(ws, account_id, p) if "feature_usage" in has else None
    support = None
    if "tickets" in has:
        fig = support_figures(ws, account_id, p.first_day, p.last_day)
        prev = support_figures(ws, account_id, p.previous_first_day, p.previous_last_day)
        support = SupportPeriod(**fig.model_dump(), opened_previous_period=prev.opened)
    sat = _satisfaction(ws, account_id, p, support) if ("nps" in has or support) else None
    if sat and "nps" not in has and sat.csat is None:
        sat = None
    health = HealthSection(
        score=h.score if h else None,
        band=h.band if h else "unknown",
        dimensions={d.dimension: d.score for d in h.dimensions} if h else {},
        trend=h.trend.direction if h and h.trend else None,
        velocity_per_day=h.trend.velocity_per_day if h and h.trend else None,
        history=h.trend.history if h and h.trend else [],
    )
    change = deciding_change(h.trend) if h and h.trend else None
    if change:
        health.trend_days, health.trend_change = change
    from cs_mcp.domain.renewal_strategy import customer_quotes

    risks = Risks(
        alerts=risk.alerts, risk_factors=h.risk_factors[:5] if h else [],
        churn_drivers=[t for _, t in risk._driver_features],
        churn_probability=risk.churn_probability, churn_probability_90d=risk.churn_probability_90d,
        churn_tier=risk.churn_tier, at_risk_renewal=risk.at_risk,
        customer_comments=customer_quotes(ws, account_id),
    )
    exp = expansion_options(ws, account_id, row)
    held = expansion_hold(risk.category, risk.health_band)
    signals = []
    for o in exp.options:
        label = {"seat_upsell": "seat upsell", "open_opportunity": "open", "cross_sell": "cross-sell",
                 "tier_upgrade": "tier"}[o.type]  # "tier upgrade to the enterprise plan"
        signals.append(f"{label} {o.description} ({money(o.arr)})")
    outlook = Outlook(
        renewal_date=risk.renewal_date, days_to_renewal=risk.days_to_renewal, probability=risk.probability,
        category=risk.category, plan_category=risk.plan_category, expected_outcome=risk.expected_outcome,
        notice_on=risk.notice_on, expansion_signals=signals[:4],
        expansion_arr=0.0 if held else exp.expansion_arr, expansion_held=held,
    )
    stake = _stakeholders(ws, account_id) if "contacts" in has else None
    agenda = _agenda(ws, health, risks, support, adoption, outlook, usage, sat)
    notes = []
    if h is None:
        notes.append("No data to score health for this account.")
    if risk.renewal_date is None:
        notes.append("No renewal date: set accounts.renewal_date or add a current subscription with an end_date.")
    span = data_span(ws)
    if span and (p.last_day < span[0] or p.first_day > span[1]):
        notes.append(f"The period {p.first_day} to {p.last_day} lies outside the data: {coverage_text(ws)}.")
    elif usage and not any(m.rows for m in usage.months):
        notes.append("No usage rows in the trend months.")
    used = {"accounts", *(h.tables_used if h else [])}
    used |= {t for t in ("usage", "feature_usage", "tickets", "nps", "contacts", "subscriptions", "opportunities",
                         "products", "entitlements") if t in has}
    return AccountReview(
        account_id=account_id,
        name=name,
        segment=row.get("segment"),
        csm_id=row.get("csm_id"),
        arr=row.get("arr") if row.get("arr") == row.get("arr") else None,
        as_of=ws.as_of,
        period=p,
        executive_summary=_summary(name, row, health, usage, adoption, support, sat, outlook, risks, p),
        usage=usage,
        adoption=adoption,
        support=support,
        satisfaction=sat,
        health=health,
        risks=risks,
        outlook=outlook,
        stakeholders=stake,
        agenda=agenda,
        meeting_minutes=sum(a.minutes for a in agenda),
        prep_todos=_todos(ws, stake, support, sat, usage, outlook, risks),
        tables_used=sorted(used),
        not_computed=not_computed(ws, REVIEW_NEEDS),
        note=" ".join(notes) or None,
    )
