"""renewal-strategy: one account's renewal risk, value delivered, expansion options, dated timeline,
conversation guide and proposal options.

Risk is the renewal book's (cs_mcp.domain.renewal: the churn model's P(lost by the renewal) with CRM
evidence), the churn model's top drivers, the health score's alerts and the customer's own words.
Value delivered: compute_features today and `planning.value_lookback_days` ago; ARR history from
subscriptions; tickets opened / resolved and the median resolution time over `planning.value_window_days`.
Expansion options: the account's candidates from the expansion engine (cs_mcp.domain.expansion, the same
as expansion-opportunities: seat upsell, cross-sell, tier upgrade; none for red health or a critical / high
churn tier), and open upsell / cross-sell deals the CRM holds that no candidate covers. The proposal's
expansion ARR is the candidate with the highest expected value.
Proposals: renewal only (current ARR, 12 months); right-sized (ARR - the open CRM downgrade, renewal-forecast's
contraction, when there is one; else, when seat utilization is under planning.right_size_below, the seats the
active users fill at planning.right_size_target_utilization, keeping at least planning.right_size_min_arr_share
of ARR); shorter-term (current ARR for planning.short_term_months, for a renewal marked lost in the CRM or notice
given); renewal + expansion (ARR + expansion ARR; offered only when the renewal is healthy); multi-year (ARR x
(1 - renewal.multi_year_discount_pct / 100) a year for planning.multi_year_years years; not offered for a
high-risk renewal). The lead follows planning.lead_option by renewal category; an at-risk plan with a right-size
leads with it; renewal + expansion with nothing to expand falls back to multi-year, a held-back multi-year to
renewal only; a renewal marked lost or notice given leads with the right-sized, else the shorter-term renewal
(churn-risk-list's action). Such a renewal with health not red gets the 'lost' talk track and milestones: hear
the reason from the decision maker, no recovery plan.
The talk track (openings, objections, responses) is in resources/catalogues/renewal-talk.yaml, the
milestone actions by risk group in resources/catalogues/renewal-milestones.yaml.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, PrivateAttr

from cs_mcp.config import ProposalOption
from cs_mcp.domain.accounts import resolve_account
from cs_mcp.domain.errors import InvalidArgument, NoData
from cs_mcp.domain.formatting import ago, day_count, money, money_change, pct
from cs_mcp.domain.health import Alert, HealthScore, health_for_account

if TYPE_CHECKING:
    from cs_mcp.workspace.features import FeatureFrame
    from cs_mcp.workspace.loader import Workspace

Category = Literal["high_confidence", "likely", "at_risk", "high_risk"]
MilestoneStatus = Literal["past", "current", "upcoming"]
CATEGORY_WORDS = {
    "high_confidence": "high confidence",
    "likely": "likely",
    "at_risk": "at risk",
    "high_risk": "high risk",
}
OfferOption = Literal[ProposalOption, "short_term"]
OPTION_TITLES = {
    "renewal_only": "Renewal only",
    "right_size": "Right-sized renewal",
    "short_term": "Shorter-term renewal",
    "renewal_expansion": "Renewal + expansion",
    "multi_year": "Multi-year with discount",
}


# ------------------------------------------------------------------------- models


class CustomerComment(BaseModel):
    text: str = Field(description="the comment, cut to feedback.example_chars")
    score: int = Field(description="the NPS answer (0-10) it came with")
    responded_at: dt.date


class RenewalRisk(BaseModel):
    renewal_date: dt.date | None = Field(description="accounts.renewal_date, else the current subscription's end")
    days_to_renewal: int | None
    renewal_date_source: Literal["accounts", "subscriptions"] | None
    notice_on: dt.date | None = Field(
        None, description="notice given: the churn date of an account marked churned with that date still ahead"
    )
    probability: float | None = Field(description="renewal probability, % (renewal-forecast's blend)")
    category: Category | None = Field(description="renewal.probability_tiers category of the probability")
    plan_category: Category | None = Field(
        description="the category the plan follows: the renewal category, but at least at_risk when health is red"
    )
    expected_outcome: str | None = Field(description="renewal-forecast's expected outcome")
    probability_rule: str
    churn_method: str = Field(description="model, leading-indicator, or health-only")
    churn_probability: float | None = Field(
        description="risk of losing the account at or before this renewal, % (= 100 - probability)"
    )
    churn_probability_90d: float | None = Field(None, description="P(churn within 90 days), %")
    churn_tier: str | None
    at_risk: bool = Field(False, description="an at-risk renewal (probability under the 'likely' tier)")
    churn_drivers: list[str] = Field(
        description="top drivers of the churn risk as churn-risk-list names them: a renewal marked lost in the CRM "
        "first, then risk-raising ones; '(+) ' marks one that lowers the risk"
    )
    signals: list[str] = Field(description="what moved the renewal probability or outcome")
    health_score: float | None
    health_band: str
    health_trend: str | None = Field(description="direction of the health score over 30 days")
    alerts: list[Alert]
    customer_comments: list[CustomerComment] = Field(
        default_factory=list, description="the account's detractors' own recent NPS comments, newest first"
    )
    _driver_features: list[tuple[str | None, str]] = PrivateAttr(default_factory=list)
    _downgrade_arr: float = PrivateAttr(0.0)  # renewal-forecast's contraction: the open CRM downgrade
    _lost: bool = PrivateAttr(False)  # the renewal is marked lost in the CRM, or notice is given


class PastValue(BaseModel):
    days_ago: int
    as_of: dt.date
    value: float | None


class ValueMetric(BaseModel):
    metric: str
    label: str
    now: float | None
    past: list[PastValue] = Field(description="the same figure planning.value_lookback_days ago")


class ArrPoint(BaseModel):
    date: dt.date = Field(description="the day the ARR changed to this value")
    arr: float


class SupportFigures(BaseModel):
    first_day: dt.date
    last_day: dt.date
    opened: int
    resolved: int = Field(description="tickets closed in the window")
    median_resolution_hours: float | None = Field(description="median opened-to-closed time of those resolved")
    open_now: int = Field(description="tickets open on the last day")
    open_critical: int
    escalated: int = Field(description="escalated tickets opened in the window")
    csat: float | None = Field(description="share of ticket ratings at or above feedback.csat_satisfied_min")
    csat_responses: int


class ValueDelivered(BaseModel):
    metrics: list[ValueMetric]
    arr_history: list[ArrPoint] = Field(description="ARR from subscriptions at each change, oldest first")
    arr_growth_12m: float | None = Field(description="ARR change over 12 months (0.5 = +50%)")
    support: SupportFigures | None
    highlights: list[str] = Field(description="the value story in sentences, with the account's numbers")


class ExpansionOption(BaseModel):
    type: Literal["seat_upsell", "cross_sell", "tier_upgrade", "open_opportunity"]
    description: str
    arr: float | None = Field(description="potential ARR")
    expected_value: float | None = Field(None, description="expansion-opportunities' propensity x potential")
    evidence: str
    in_crm: bool = Field(False, description="an open CRM opportunity already covers it")
    in_proposal: bool = Field(description="counted in the renewal + expansion proposal")


class Expansion(BaseModel):
    seat_utilization: float | None
    seat_upsell_trigger: float
    options: list[ExpansionOption]
    expansion_arr: float = Field(description="ARR added in the renewal + expansion proposal")
    rule: str


class Milestone(BaseModel):
    milestone: str = Field(description="e.g. T-90")
    days_before: int
    date: dt.date
    name: str
    status: MilestoneStatus
    owner: str
    action: str


class Objection(BaseModel):
    objection: str
    response: str
    from_signal: str = Field(description="the driver or figure that makes the objection likely")


class ConversationGuide(BaseModel):
    opening: str
    value_recap: list[str]
    questions: list[str]
    objections: list[Objection]


class Proposal(BaseModel):
    option: OfferOption
    title: str
    offered: bool = Field(True, description="false when the plan holds this option back (and why is in rationale)")
    arr: float = Field(description="annual recurring revenue of the offer")
    term_months: int
    total_contract_value: float
    discount_pct: float
    expansion_arr: float
    change_vs_current: float = Field(description="ARR of the offer - current ARR")
    rationale: str
    lead: bool = Field(description="the option to lead with")


class RenewalStrategy(BaseModel):
    account_id: str
    name: str
    segment: str | None
    csm_id: str | None
    arr: float | None = Field(description="current ARR (accounts.arr): the ARR up for renewal")
    seats_purchased: float | None
    as_of: dt.date
    stage: str | None = Field(description="timeline stage reached: 'T-60', 'before T-120', 'overdue'")
    risk: RenewalRisk
    value: ValueDelivered
    expansion: Expansion
    timeline: list[Milestone]
    guide: ConversationGuide
    proposals: list[Proposal] = Field(
        description="renewal only; right-sized (to the open CRM downgrade, else the seats in use); shorter-term "
        "(a renewal marked lost or notice given); renewal + expansion; multi-year"
    )
    lead_option: OfferOption
    lead_reason: str
    tables_used: list[str]
    not_computed: list[str] = Field(description="what the data could not support, and which table would fix it")
    note: str | None = None


# ------------------------------------------------------------------------- shared


def _f(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return None if v != v else v


def active_account(ws: Workspace, reference: str, purpose: str) -> tuple[str, str]:
    """(account_id, name) of an account that is a customer as of ws.as_of (queries.customers: in a look back,
    one that churned later still is); any other is an InvalidArgument."""
    from cs_mcp.domain.accounts import standing_words
    from cs_mcp.workspace.queries.customers import standing

    ref = resolve_account(ws, reference)
    st = standing(ws, ref.account_id, ws.as_of)
    if st is None or st.customer:
        return ref.account_id, ref.name
    why = standing_words(st, ws.as_of)
    raise InvalidArgument(
        f"{ref.name} ({ref.account_id}) {why}: {purpose} needs an active customer. Use "
        "churn-risk-list or renewal-forecast for the live portfolio."
    )


def account_health(ws: Workspace, account_id: str) -> HealthScore | None:
    """health_for_account, or None when the account has no data to score."""
    try:
        return health_for_account(ws, account_id)
    except NoData:
        return None


def _driver_list(base: Any, i: int | None, k: int) -> list[tuple[str | None, str, str]]:
    """(feature, words, direction) of the account's churn drivers as the renewal book shows them."""
    from cs_mcp.domain.renewal import book_drivers, driver_words

    found = [] if i is None else book_drivers(base, [i], k).get(i, [])
    return [(getattr(d, "feature", None), driver_words(d), getattr(d, "direction", "raises risk")) for d in found]


def renewal_risk(ws: Workspace, account_id: str, health: HealthScore | None, drivers_k: int = 3) -> RenewalRisk:
    """The account's renewal date, probability, category, tier and outcome from the renewal book."""
    from cs_mcp.domain.churn import TIERS
    from cs_mcp.domain.renewal import (
        category_of,
        lost_evidence,
        notice_on,
        plan_category,
        probability_rule,
        renewal_base,
        renewal_row,
    )

    rs = ws.settings.renewal
    base = renewal_base(ws)
    i = base.position.get(account_id)
    drivers = _driver_list(base, i, drivers_k)
    texts = [t for _, t, _ in drivers]
    common = {
        "probability_rule": probability_rule(rs, base.method),
        "churn_method": base.method,
        "churn_drivers": texts,
        "health_trend": health.trend.direction if health and health.trend else None,
        "alerts": health.alerts if health else [],
    }
    if i is not None and base.has_renewal[i]:
        r = renewal_row(base, i, ws.as_of, rs, texts)
        risk = RenewalRisk(
            renewal_date=r.renewal_date, days_to_renewal=r.days_to_renewal,
            renewal_date_source=r.renewal_date_source, notice_on=r.notice_on, probability=r.probability,
            category=r.category,
            plan_category=r.category, expected_outcome=r.expected_outcome, churn_probability=r.churn_probability,
            churn_probability_90d=r.churn_probability_90d, churn_tier=r.churn_tier, at_risk=r.at_risk,
            signals=r.signals, health_score=r.health_score, health_band=r.health_band, **common,
        )
    else:
        p90 = None if i is None or base.churn_90d[i] != base.churn_90d[i] else round(float(base.churn_90d[i]) * 100, 1)
        pct_ = None if i is None else float(base.pct[i])
        risk = RenewalRisk(
            renewal_date=None, days_to_renewal=None, renewal_date_source=None,
            notice_on=None if i is None else notice_on(base, i, ws.as_of), probability=pct_,
            category=None if pct_ is None else category_of(pct_, rs.probability_tiers), plan_category=None,
            expected_outcome=None,
            churn_probability=None if i is None else round(float(base.lost[i]) * 100, 1),
            churn_probability_90d=p90, churn_tier=None if i is None else TIERS[int(base.tier_code[i])],
            at_risk=False, signals=[],
            health_score=health.score if health else None, health_band=health.band if health else "unknown",
            **common,
        )
    risk._driver_features = [(f, t) for f, t, d in drivers if d == "raises risk"]
    if i is not None:
        risk._downgrade_arr = float(base.contraction[i]) if base.flags["downgrades"][i] > 0 else 0.0
        risk._lost = bool(lost_evidence(base.flags)[i])
    risk.plan_category = plan_category(risk.category, risk.health_band)
    return risk


def customer_quotes(ws: Workspace, account_id: str, limit: int = 2) -> list[CustomerComment]:
    """The account's detractors' own recent comments (NPS, 12 months), newest first."""
    from cs_mcp.workspace.queries.feedback import detractor_comments

    fb = ws.settings.feedback
    since = ws.as_of - dt.timedelta(days=ws.settings.health.windows.satisfaction_days)
    out = []
    for day, score, text in detractor_comments(ws, account_id, since, fb.detractor_max, limit):
        cut = text if len(text) <= fb.example_chars else text[: fb.example_chars - 1].rstrip() + "…"
        out.append(CustomerComment(text=cut, score=score, responded_at=day))
    return out


def support_figures(ws: Workspace, account_id: str, first_day: dt.date, last_day: dt.date) -> SupportFigures:
    """Tickets opened and resolved between two days (inclusive), median resolution hours, CSAT."""
    from cs_mcp.workspace.queries.renewals import support_window

    r = support_window(ws, account_id, first_day, last_day, ws.settings.feedback.csat_satisfied_min)
    median = _f(r["median_hours"])
    return SupportFigures(
        first_day=first_day,
        last_day=last_day,
        opened=int(r["opened"]),
        resolved=int(r["resolved"]),
        median_resolution_hours=None if median is None else round(median, 1),
        open_now=int(r["open_now"]),
        open_critical=int(r["open_critical"]),
        escalated=int(r["escalated"]),
        csat=round(r["csat_good"] / r["csat_n"], 4) if r["csat_n"] else None,
        csat_responses=int(r["csat_n"]),
    )


def _arr_history(ws: Workspace, account_id: str) -> list[ArrPoint]:
    from cs_mcp.workspace.queries.renewals import arr_steps

    points: list[ArrPoint] = []
    for day, arr in arr_steps(ws, account_id, ws.as_of):  # one account's subscription changes: a handful
        if not points or points[-1].arr != arr:
            points.append(ArrPoint(date=day, arr=arr))
    return points


def expansion_options(ws: Workspace, account_id: str, row: dict[str, Any]) -> Expansion:
    """The account's candidates from the expansion engine (expansion-opportunities), plus open CRM deals."""
    from cs_mcp.domain.expansion import expansion_opportunities

    ex = ws.settings.expansion
    util = _f(row.get("seat_utilization"))
    seats = _f(row.get("seats_purchased"))
    found = expansion_opportunities(ws, account=account_id, limit=50, include_held=True)  # held: see proposals
    options = [
        ExpansionOption(
            type=c.type, description=_candidate_words(c, seats), arr=c.potential_arr, expected_value=c.expected_value,
            evidence="; ".join(c.evidence), in_crm=c.in_crm, in_proposal=False,
        )
        for c in found.candidates
    ]
    covered = {o for c in found.candidates for o in c.crm_opportunities}
    for oid, kind, amount, stage, close, pname in _open_deals(ws, account_id):
        what = f"{kind} {oid}" + (f" ({pname})" if pname else "")
        if not any(oid in c for c in covered):
            options.append(ExpansionOption(
                type="open_opportunity", description=what, arr=float(amount), evidence=f"stage {stage or 'n/a'}"
                + (f", closes {close}" if close else ""), in_proposal=False,
            ))
    best = max((o for o in options if o.type != "open_opportunity"), key=lambda o: o.expected_value or 0,
               default=None)
    expansion_arr = 0.0
    if best is not None and (best.arr or 0) > 0:
        best.in_proposal, expansion_arr = True, best.arr or 0.0
    for o in options:
        if o.type == "open_opportunity" and (o.arr or 0) > 0:
            o.in_proposal, expansion_arr = True, expansion_arr + (o.arr or 0.0)
    rule = (
        "the expansion-opportunities candidate with the highest expected value (propensity x potential), plus "
        "open upsell / cross-sell deals no candidate covers; "
        f"seat upsell above {pct(ex.seat_upsell_utilization)} utilization, sized to "
        f"{pct(ex.seat_target_utilization)}; none for red health or a critical / high churn tier"
        + (f" ({found.note})" if found.note and not found.candidates else "")
    )
    return Expansion(
        seat_utilization=None if util is None else round(util, 4), seat_upsell_trigger=ex.seat_upsell_utilization,
        options=options, expansion_arr=round(expansion_arr, 2), rule=rule,
    )


def _candidate_words(c: Any, seats: float | None) -> str:
    if c.type == "seat_upsell":
        return f"+{c.extra_seats} seats" + (f" (to {int(seats) + c.extra_seats})" if seats else "")
    if c.type == "cross_sell":
        return f"{c.product_name or c.product_id} ({c.product_id})"
    return f"upgrade to the {c.target_plan} plan"


def _open_deals(ws: Workspace, account_id: str) -> list[tuple]:
    from cs_mcp.workspace.queries.renewals import open_expansion_deals

    if "opportunities" not in ws.tables:
        return []
    cfg = ws.settings.renewal.probability
    return open_expansion_deals(ws, account_id, cfg.won_stages + cfg.lost_stages)


def _has_subscription_products(ws: Workspace) -> bool:
    if "subscriptions" not in ws.tables:
        return False
    from cs_mcp.workspace.queries.renewals import subscriptions_name_products

    return subscriptions_name_products(ws)


# -------------------------------------------------------------------------- value


VALUE_METRICS = (
    ("active_users", "active users (28-day average)"),
    ("seat_utilization", "active users / licensed seats"),
    ("logins_per_user_week", "logins per active user per week"),
    ("features_used", "features used in 30 days"),
    ("nps", "account NPS (12 months)"),
    ("csat", "CSAT: share of 4-5 answers (12 months)"),
)


def _fmt(metric: str, v: float | None) -> str:
    if v is None:
        return "n/a"
    if metric == "seat_utilization" or metric == "csat":
        return pct(v)
    if metric == "nps":
        return f"{v:+.0f}"
    if metric == "logins_per_user_week":
        return f"{v:.1f}"
    return f"{v:.0f}"


def value_delivered(ws: Workspace, account_id: str, frame: FeatureFrame, lookbacks: list[int]) -> ValueDelivered:
    """Figures now vs the look-backs (frame rows: now, then each look-back), ARR history, tickets resolved."""
    rows = [frame.row(i) for i in range(len(frame))]
    now = rows[0]
    metrics = []
    for metric, label in VALUE_METRICS:
        metrics.append(ValueMetric(
            metric=metric,
            label=label,
            now=None if _f(now.get(metric)) is None else round(_f(now.get(metric)), 4),
            past=[
                PastValue(days_ago=d, as_of=r["as_of"],
                          value=None if _f(r.get(metric)) is None else round(_f(r.get(metric)), 4))
                for d, r in zip(lookbacks, rows[1:], strict=True)
            ],
        ))
    history = _arr_history(ws, account_id) if "subscriptions" in ws.tables else []
    window = ws.settings.planning.value_window_days
    support = (
        support_figures(ws, account_id, ws.as_of - dt.timedelta(days=window - 1), ws.as_of)
        if "tickets" in ws.tables else None
    )
    growth = _f(now.get("arr_growth_12m"))
    highlights = []
    by = {m.metric: m for m in metrics}
    for metric, what in (("active_users", "Active users"), ("features_used", "Features in use"),
                         ("nps", "NPS")):
        m = by[metric]
        if m.now is None:
            continue
        past = [f"{_fmt(metric, p.value)} {ago(p.days_ago)}" for p in m.past if p.value is not None]
        n = now.get("nps_responses") or 0
        extra = f" ({n:.0f} respondent{'s' if n != 1 else ''})" if metric == "nps" else ""
        highlights.append(f"{what} {_fmt(metric, m.now)}{extra}" + (f", vs {' and '.join(past)}" if past else ""))
    u = by["seat_utilization"].now
    if u is not None:
        seats = _f(now.get("seats_purchased"))
        highlights.append(f"{pct(u)} of {seats:.0f} licensed seats active" if seats else f"seat use {pct(u)}")
    if support is not None and (support.opened or support.resolved):
        med = support.median_resolution_hours
        highlights.append(
            f"{support.resolved} ticket{'s' if support.resolved != 1 else ''} resolved in {window} days"
            + (f", median {med:g} h to resolve" if med is not None else "")
        )
    if len(history) >= 2:
        highlights.append(
            f"ARR {money(history[0].arr)} ({history[0].date:%b %Y}) to {money(history[-1].arr)} "
            f"({history[-1].date:%b %Y})"
        )
    return ValueDelivered(
        metrics=metrics,
        arr_history=history,
        arr_growth_12m=None if growth is None else round(growth, 4),
        support=support,
        highlights=highlights,
    )


# ----------------------------------------------------------------------- timeline


RiskGroup = Literal["healthy", "at_risk", "high_risk"]
PlanGroup = Literal["healthy", "at_risk", "high_risk", "lost"]


def risk_group(category: str | None) -> RiskGroup:
    if category in ("at_risk", "high_risk"):
        return category  # type: ignore[return-value]
    return "healthy"


def plan_group(risk: RenewalRisk) -> PlanGroup:
    """The risk group of the plan category; 'lost' for a renewal marked lost in the CRM (or notice given) while
    health is not red: its reason is to be heard from the decision maker, not recovered from."""
    if risk._lost and risk.health_band != "red":
        return "lost"
    return risk_group(risk.plan_category)


def _actions(
    group: PlanGroup, drivers: str, lead: str, expansion: str, lead_option: str, weak_health: bool = True,
    open_critical: bool = True,
) -> list[tuple[str, str]]:
    """(owner, action) for the five milestones, largest lead time first (catalogue renewal-milestones)."""
    from cs_mcp.content import catalogue

    cat = catalogue("renewal-milestones")
    fill = {
        "drivers": drivers, "lead": lead, "expansion": expansion,
        "fallback": cat["fallback"]["right_size" if lead_option == "right_size" else "other"],
        "checkins": cat["checkins"]["recovery" if weak_health else "plain"],
        "critical": cat["critical"] if open_critical else "",
    }
    return [(m["owner"], m["action"].format(**fill)) for m in cat[group]]


def build_timeline(
    renewal_date: dt.date | None, days_left: int | None, milestones: list[int], group: PlanGroup,
    drivers: str, lead: str, expansion: str, lead_option: str = "renewal_only", weak_health: bool = True,
    open_critical: bool = True,
) -> tuple[list[Milestone], str | None]:
    """The dated milestones with their status (past, current, upcoming) and the stage reached."""
    from cs_mcp.domain.renewal import STAGE_NAMES, timeline_of

    if renewal_date is None or days_left is None:
        return [], None
    stage = timeline_of(days_left, renewal_date, milestones).stage
    names = STAGE_NAMES if len(milestones) == len(STAGE_NAMES) else tuple(f"T-{m}" for m in milestones)
    labels = [f"T-{m}" for m in milestones]
    current = labels.index(stage) if stage in labels else (len(labels) if stage == "overdue" else -1)
    actions = _actions(group, drivers, lead, expansion, lead_option, weak_health, open_critical)
    out = []
    for i, (m, (owner, action)) in enumerate(zip(milestones, actions, strict=True)):
        status: MilestoneStatus = "past" if i < current else "current" if i == current else "upcoming"
        out.append(Milestone(milestone=labels[i], days_before=m, date=renewal_date - dt.timedelta(days=m),
                             name=names[i], status=status, owner=owner, action=action))
    return out, stage


# ---------------------------------------------------------------- conversation guide


def _talk() -> dict[str, Any]:
    from cs_mcp.content import catalogue

    return catalogue("renewal-talk")


def _topic(feature: str | None) -> str | None:
    if not feature:
        return None
    key = feature.lower()
    for topic, t in _talk()["topics"].items():
        if any(k in key for k in t["signals"]):
            return topic
    return None


def conversation_guide(
    name: str, tenure_days: float | None, risk: RenewalRisk, value: ValueDelivered, expansion: Expansion,
    row: dict[str, Any], multi_year: Proposal, has_sponsor: float | None, flag_pct: float,
    quotes: list[CustomerComment] | None = None,
) -> ConversationGuide:
    talk = _talk()
    group = plan_group(risk)
    years = None if tenure_days is None else tenure_days / 365
    tenure = "" if years is None or years < 1 else f" for {years:.0f} year{'s' if years >= 1.5 else ''}"
    top = next((t for f, t in risk._driver_features if _topic(f)), None)
    key = {"healthy": "healthy", "at_risk": "at_risk", "lost": "lost"}.get(group, "critical")
    if key == "critical" and risk.health_band == "green":
        key = "at_risk"  # a high-risk renewal in good health: nothing on record has 'gone wrong' to apologise for
    growth = talk["growing"] if users_grew(value) else ""
    opening = talk["openings"][key].format(tenure=tenure, name=name, issue=f" ({top})" if top else "",
                                           growth=growth)
    by = {m.metric: m for m in value.metrics}
    users = by["active_users"]
    questions = ["Which outcomes matter most to you over the next twelve months?",
                 "Who else is involved in the renewal decision, and what is their timeline?"]
    if group != "healthy":
        questions.append("What would have to change for this renewal to be an easy yes?")
    past_users = next((p for p in users.past if p.value is not None), None)
    drop = 1 - flag_pct / 100
    if users.now is not None and past_users and past_users.value and users.now <= past_users.value * drop:
        questions.append(f"What changed for the team in the last {ago(past_users.days_ago, suffix=False)}? Active "
                         f"users went from {past_users.value:.0f} to {users.now:.0f}.")
    if any(o.type == "seat_upsell" for o in expansion.options):
        questions.append(f"Which teams are joining next? You are using {pct(expansion.seat_utilization)} of your "
                         "seats.")
    if has_sponsor == 0:
        questions.append("Who sponsors this partnership at the executive level today?")
    cross = next((o for o in expansion.options if o.type == "cross_sell"), None)
    if cross and group == "healthy":
        questions.append(f"Is {cross.description.split(' (')[0]} on your radar this year?")
    support = value.support
    if support and support.open_now:
        questions.append(f"How is the open support issue affecting you ({support.open_now} ticket(s) open)?")
    sup_text = "No tickets on record"
    if support and (support.opened or support.resolved):
        med = support.median_resolution_hours
        sup_text = (f"{support.resolved} tickets resolved since {support.first_day:%B %Y}"
                    + (f", median {med:g} h" if med is not None else "")
                    + (f", {support.open_critical} critical open" if support.open_critical else ""))
    ctx = {
        "users": "n/a" if users.now is None else (
            f"{users.now:.0f}" + (f" (from {past_users.value:.0f} {ago(past_users.days_ago)})"
                                  if past_users and past_users.value is not None else "")),
        "features": _fmt("features_used", by["features_used"].now),
        "support": sup_text,
        "nps": "n/a" if by["nps"].now is None else f"NPS {by['nps'].now:+.0f}",
        "quote": f'"{quotes[0].text}"' if quotes else ("n/a" if by["nps"].now is None
                                                  else f"NPS {by['nps'].now:+.0f}"),
        "multi_year": money(multi_year.arr),
    }
    objections: list[Objection] = []
    seen: set[str] = set()
    signals = [(f, t) for f, t in risk._driver_features] + [(a.code, a.message) for a in risk.alerts]
    for feature, text in signals:
        topic = _topic(feature)
        if topic and topic not in seen:
            seen.add(topic)
            t = talk["topics"][topic]
            objections.append(Objection(objection=t["objection"], response=t["response"].format(**ctx),
                                        from_signal=text))
    price = talk["price"]
    objections.append(Objection(
        objection=price["objection"], from_signal="every renewal",
        response=(price["with_multi_year"] if multi_year.offered else price["without"]).format(**ctx),
    ))
    return ConversationGuide(
        opening=opening, value_recap=value.highlights, questions=questions[:6], objections=objections[:5]
    )


def users_grew(value: ValueDelivered) -> bool:
    """Active users now above the first look-back's figure."""
    users = next(m for m in value.metrics if m.metric == "active_users")
    past = next((p.value for p in users.past if p.value is not None), None)
    return users.now is not None and past is not None and users.now > past


# ----------------------------------------------------------------------- proposals


def proposals(
    ws: Workspace, arr: float, expansion: Expansion, risk: RenewalRisk, row: dict[str, Any] | None = None,
    grew: bool = False,
) -> tuple[list[Proposal], OfferOption, str]:
    """The offers (renewal only, right-size for an open CRM downgrade or idle seats, a shorter term for a renewal
    marked lost, renewal + expansion, multi-year), which are offered for this risk, and the one to lead with."""
    category = risk.plan_category
    from cs_mcp.domain.renewal import expansion_hold

    group = risk_group(category)
    lead, reason = _category_lead(ws, risk)
    items = [_plain_offer("renewal_only", arr, arr, 12,
                          _rationales()["renewal_only" if group != "healthy" else "renewal_only_on_track"])]
    right = _right_size(ws, arr, row or {}, risk._downgrade_arr)
    if right is not None:
        items.append(right)
        if group != "healthy":
            lead = "right_size"
            reason += ("; the CRM holds an open downgrade, so the right-sized renewal it asks for leads"
                       if risk._downgrade_arr else "; seats sit idle, so a right-sized renewal leads")
    if risk._lost:
        items.append(_short_term(ws, arr))
    items.append(_expansion_offer(arr, expansion, expansion_hold(category, None) is not None, grew))
    if lead == "renewal_expansion" and expansion.expansion_arr <= 0:
        lead, reason = "multi_year", reason + "; nothing to expand, so multi-year instead"
    items.append(_multi_year(ws, arr, category))
    if lead == "multi_year" and not items[-1].offered:
        lead = "renewal_only"
    if risk._lost:
        lead = "right_size" if right is not None else "short_term"
        reason = ("the renewal is marked lost in the CRM or notice is given: a right-sized or shorter-term offer "
                  "leads, as churn-risk-list's action says")
    for p in items:
        p.lead = p.option == lead
    return items, lead, reason


def _category_lead(ws: Workspace, risk: RenewalRisk) -> tuple[OfferOption, str]:
    """planning.lead_option's option for the plan category, and why."""
    category = risk.plan_category
    lead: OfferOption = ws.settings.planning.lead_option.get(category or "likely", "multi_year")
    if risk.plan_category != risk.category:
        return lead, (f"health is red, so the plan treats the renewal as {CATEGORY_WORDS[category or 'at_risk']} "
                      "(planning.lead_option)")
    return lead, f"renewal category {CATEGORY_WORDS.get(category or '', 'unknown')} (planning.lead_option)"


def _rationales() -> dict[str, str]:
    return _talk()["proposals"]


def _plain_offer(option: OfferOption, arr: float, new_arr: float, months: int, why: str) -> Proposal:
    """An offer at new_arr a year for months, without discount or expansion."""
    return Proposal(
        option=option, title=OPTION_TITLES[option], arr=round(new_arr, 2), term_months=months,
        total_contract_value=round(new_arr * months / 12, 2), discount_pct=0, expansion_arr=0,
        change_vs_current=round(new_arr - arr, 2), rationale=why, lead=False,
    )


def _right_size(ws: Workspace, arr: float, row: dict[str, Any], downgrade: float = 0.0) -> Proposal | None:
    """A smaller renewal: the open CRM downgrade when there is one (renewal-forecast's contraction), else the
    seats in use when utilization is under planning.right_size_below, keeping at least
    planning.right_size_min_arr_share of ARR."""
    plan = ws.settings.planning
    text = _rationales()
    if 0 < downgrade < arr:
        return _plain_offer("right_size", arr, arr - downgrade, 12,
                            text["right_size_downgrade"].format(cut=money_change(-downgrade)))
    seats, users, util = _f(row.get("seats_purchased")), _f(row.get("active_users")), _f(row.get("seat_utilization"))
    if not seats or users is None or util is None or util >= plan.right_size_below:
        return None
    need = min(int(seats), max(1, math.ceil(users / plan.right_size_target_utilization)))
    keep = max(need, min(int(seats), math.ceil(round(seats * plan.right_size_min_arr_share, 6))))
    if keep >= seats:
        return None
    why = text["right_size_floor" if keep > need else "right_size_seats"].format(
        keep=keep, seats=f"{seats:.0f}", need=need, target=pct(plan.right_size_target_utilization),
        floor=pct(plan.right_size_min_arr_share),
    )
    return _plain_offer("right_size", arr, arr / seats * keep, 12, why)


def _short_term(ws: Workspace, arr: float) -> Proposal:
    months = ws.settings.planning.short_term_months
    return _plain_offer("short_term", arr, arr, months, _rationales()["short_term"].format(months=months))


def _expansion_offer(arr: float, expansion: Expansion, held: bool, grew: bool = False) -> Proposal:
    """Renewal + expansion: offered unless the hold rule (renewal.expansion_hold) keeps the expansion back."""
    text = _rationales()
    extra = expansion.expansion_arr
    parts = " and ".join(o.description for o in expansion.options if o.in_proposal)
    offered = extra > 0 and not held
    key = ("expansion_none" if extra <= 0 else "expansion_held" if not offered
           else "expansion_growing" if grew else "expansion")
    return Proposal(option="renewal_expansion", title=OPTION_TITLES["renewal_expansion"], offered=offered,
                    arr=round(arr + extra, 2), term_months=12, total_contract_value=round(arr + extra, 2),
                    discount_pct=0, expansion_arr=round(extra, 2), change_vs_current=round(extra, 2),
                    rationale=text[key].format(parts=parts, extra=money(extra)), lead=False)


def _multi_year(ws: Workspace, arr: float, category: str | None) -> Proposal:
    d = ws.settings.renewal.multi_year_discount_pct
    years = ws.settings.planning.multi_year_years
    my_arr = round(arr * (1 - d / 100), 2)
    offered = category != "high_risk"
    why = _rationales()["multi_year" if offered else "multi_year_held"].format(years=years, discount=f"{d:g}")
    return Proposal(option="multi_year", title=OPTION_TITLES["multi_year"], offered=offered, arr=my_arr,
                    term_months=12 * years, total_contract_value=round(my_arr * years, 2), discount_pct=d,
                    expansion_arr=0, change_vs_current=round(my_arr - arr, 2), rationale=why, lead=False)


# ---------------------------------------------------------------------- the answer


def not_computed(ws: Workspace, needs: dict[str, str]) -> list[str]:
    """'table: what is missing' for each needed table the workspace lacks."""
    return [f"{t}: {what}" for t, what in needs.items() if t not in ws.tables]


STRATEGY_NEEDS = {
    "subscriptions": "no ARR history; renewal date only from accounts.renewal_date",
    "usage": "no active users, seat utilization or seat upsell",
    "feature_usage": "no feature adoption",
    "tickets": "no tickets resolved or resolution time",
    "nps": "no NPS",
    "opportunities": "no open upsell, cross-sell, downgrade or renewal opportunities",
    "products": "no whitespace products",
    "contacts": "no executive sponsor status",
}


def renewal_strategy(ws: Workspace, account: str) -> RenewalStrategy:
    """Renewal plan for one account: risk, value, expansion, dated timeline, talking points, three proposals."""
    from cs_mcp.workspace.features import compute_features

    plan = ws.settings.planning
    account_id, name = active_account(ws, account, "renewal-strategy")
    lookbacks = sorted(set(plan.value_lookback_days))
    dates = [ws.as_of] + [ws.as_of - dt.timedelta(days=d) for d in lookbacks]
    frame = compute_features(ws, dates, [account_id])
    order = [frame.row(i)["as_of"] for i in range(len(frame))]
    frame = frame.select([order.index(d) for d in dates])
    row = frame.row(0)
    health = account_health(ws, account_id)
    risk = renewal_risk(ws, account_id, health)
    value = value_delivered(ws, account_id, frame, lookbacks)
    expansion = expansion_options(ws, account_id, row)
    arr = _f(row.get("arr")) or 0.0
    props, lead, reason = proposals(ws, arr, expansion, risk, row=row, grew=users_grew(value))
    lead_words = f"{OPTION_TITLES[lead].lower()} ({money(next(p.arr for p in props if p.lead))})"
    actionable = [t for f, t in risk._driver_features if _topic(f)] or [t for _, t in risk._driver_features]
    drivers = ", ".join(actionable[:2]) or "the weakest health dimensions"
    in_proposal = [o.description for o in expansion.options if o.in_proposal]
    timeline, stage = build_timeline(
        risk.renewal_date, risk.days_to_renewal, ws.settings.renewal.timeline_days, plan_group(risk),
        drivers, lead_words, ", ".join(in_proposal) or "no expansion evidence yet", lead,
        weak_health=risk.health_band != "green", open_critical=bool(value.support and value.support.open_critical),
    )
    multi = next(p for p in props if p.option == "multi_year")
    quotes = customer_quotes(ws, account_id)
    risk.customer_comments = quotes
    guide = conversation_guide(
        name, _f(row.get("tenure_days")), risk, value, expansion, row, multi, _f(row.get("has_exec_sponsor")),
        plan.usage_change_flag_pct, quotes,
    )
    notes = []
    if risk.renewal_date is None:
        notes.append("No renewal date: set accounts.renewal_date (or add a current subscription with an end_date) "
                     "to date the timeline.")
    elif risk.days_to_renewal is not None and risk.days_to_renewal < 0:
        notes.append(f"The renewal date passed {day_count(-risk.days_to_renewal)} ago: confirm it was signed and "
                     "update accounts.renewal_date.")
    if health is None:
        notes.append("No data to score health: the probability leans on the churn score alone.")
    if risk.churn_method == "leading-indicator":
        notes.append("Churn risk is the leading-indicator score (too few churn outcomes to fit a model).")
    used = {"accounts", *(health.tables_used if health else [])}
    used |= {t for t in ("subscriptions", "opportunities", "products", "entitlements", "contacts", "usage",
                         "tickets", "nps", "feature_usage") if t in ws.tables}
    return RenewalStrategy(
        account_id=account_id,
        name=name,
        segment=row.get("segment"),
        csm_id=row.get("csm_id"),
        arr=_f(row.get("arr")),
        seats_purchased=_f(row.get("seats_purchased")),
        as_of=ws.as_of,
        stage=stage,
        risk=risk,
        value=value,
        expansion=expansion,
        timeline=timeline,
        guide=guide,
        proposals=props,
        lead_option=lead,
        lead_reason=reason,
        tables_used=sorted(used),
        not_computed=not_computed(ws, STRATEGY_NEEDS) + (
            ["entitlements: product ownership unknown (nor subscriptions.product_id), so no whitespace"]
            if "products" in ws.tables and "entitlements" not in ws.tables and not _has_subscription_products(ws)
            else []
        ),
        note=" ".join(notes) or None,
    )
