"""renewal-strategy: one account's renewal risk, value delivered, expansion options, dated timeline,
conversation guide and three proposal options.

Risk is renewal-forecast's per-account calculation (cs_mcp.domain.renewal: the churn score blended with
health and open opportunities), the churn model's top drivers and the health score's alerts.
Value delivered: compute_features today and `planning.value_lookback_days` ago; ARR history from
subscriptions; tickets opened / resolved and the median resolution time over `planning.value_window_days`.
Expansion options:
  seat upsell    seat utilization >= renewal.seat_upsell_utilization (as renewal-forecast flags it): the
                 seats that bring utilization down to expansion.seat_target_utilization, at ARR per seat
  opportunities  open upsell and cross-sell opportunities (stage neither won nor lost)
  whitespace     catalogue products the account neither owns (entitlements, current subscriptions) nor has an
                 open opportunity for: list_price x licensed seats, else expansion.cross_sell_default_share x ARR
The proposal's expansion ARR = max(seat upsell, open upsell) + open cross-sell (an open upsell is taken to
be the seat upsell in the CRM); when that is 0, the largest whitespace product.
Proposals: renewal only (current ARR, 12 months); renewal + expansion (ARR + expansion ARR, 12 months);
multi-year (ARR x (1 - renewal.multi_year_discount_pct / 100) a year for planning.multi_year_years years).
The one to lead with follows planning.lead_option by renewal category (renewal + expansion with nothing to
expand falls back to multi-year).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, PrivateAttr

from cs_mcp.config import ProposalOption
from cs_mcp.domain.accounts import resolve_account
from cs_mcp.domain.errors import InvalidArgument, NoData
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
OPTION_TITLES = {
    "renewal_only": "Renewal only",
    "renewal_expansion": "Renewal + expansion",
    "multi_year": "Multi-year with discount",
}


# ------------------------------------------------------------------------- models


class RenewalRisk(BaseModel):
    renewal_date: dt.date | None = Field(description="accounts.renewal_date, else the current subscription's end")
    days_to_renewal: int | None
    renewal_date_source: Literal["accounts", "subscriptions"] | None
    probability: float | None = Field(description="renewal probability, % (renewal-forecast's blend)")
    category: Category | None = Field(description="renewal.probability_tiers category of the probability")
    plan_category: Category | None = Field(
        description="the category the plan follows: the renewal category, but at least at_risk when health is red"
    )
    expected_outcome: str | None = Field(description="renewal-forecast's expected outcome")
    probability_rule: str
    churn_method: str = Field(description="model, leading-indicator, or health-only")
    churn_probability: float | None = Field(description="churn probability over the churn horizon, %")
    churn_tier: str | None
    churn_drivers: list[str] = Field(description="top drivers of the churn score, risk-raising first")
    signals: list[str] = Field(description="what moved the renewal probability or outcome")
    health_score: float | None
    health_band: str
    health_trend: str | None = Field(description="direction of the health score over 30 days")
    alerts: list[Alert]
    _driver_features: list[tuple[str | None, str]] = PrivateAttr(default_factory=list)


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
    type: Literal["seat_upsell", "open_opportunity", "whitespace"]
    description: str
    arr: float | None = Field(description="potential ARR")
    evidence: str
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
    option: ProposalOption
    title: str
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
    proposals: list[Proposal] = Field(description="renewal only, renewal + expansion, multi-year")
    lead_option: ProposalOption
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


def money(v: float | None) -> str:
    if v is None:
        return "n/a"
    if abs(v) >= 1_000_000:
        return f"${v / 1_000_000:.2f}M"
    if abs(v) >= 10_000:
        return f"${v / 1_000:.1f}K".replace(".0K", "K")
    return f"${v:,.0f}"


def pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 100:.0f}%"


def active_account(ws: Workspace, reference: str, purpose: str) -> tuple[str, str]:
    """(account_id, name) of an active account; a churned one is an InvalidArgument."""
    ref = resolve_account(ws, reference)
    row = ws.cursor().execute(
        "SELECT status, CAST(churned_on AS VARCHAR) FROM accounts WHERE account_id = $a", {"a": ref.account_id}
    ).fetchone()
    if (row[0] or "").lower() == "churned" or (row[1] and row[1] <= ws.as_of.isoformat()):
        when = f" on {row[1]}" if row[1] else ""
        raise InvalidArgument(
            f"{ref.name} ({ref.account_id}) churned{when}: {purpose} needs an active customer. Use "
            "churn-risk-list or renewal-forecast for the live portfolio."
        )
    return ref.account_id, ref.name


def account_health(ws: Workspace, account_id: str) -> HealthScore | None:
    """health_for_account, or None when the account has no data to score."""
    try:
        return health_for_account(ws, account_id)
    except NoData:
        return None


def _driver_list(source: Any, account_id: str, k: int) -> list[tuple[str | None, str, str]]:
    """(feature, text, direction) of the churn score's top drivers, risk-raising first."""
    drivers = getattr(source, "drivers", None)
    if drivers is None:
        return []
    if callable(drivers):
        found = list(drivers([account_id], k).get(account_id, []))
    else:
        where = getattr(source, "position", None) or {a: i for i, a in enumerate(source.account_ids)}
        found = list(drivers[where[account_id]]) if account_id in where else []
    found.sort(key=lambda d: getattr(d, "direction", "raises risk") != "raises risk")
    return [
        (getattr(d, "feature", None), d if isinstance(d, str) else str(d.text),
         getattr(d, "direction", "raises risk"))
        for d in found[:k]
    ]


def renewal_risk(ws: Workspace, account_id: str, health: HealthScore | None, drivers_k: int = 3) -> RenewalRisk:
    """The account's renewal date, probability, category and outcome as renewal-forecast computes them."""
    import numpy as np

    from cs_mcp.domain.renewal import blend_probability, category_of, probability_rule, renewal_base, renewal_row

    rs = ws.settings.renewal
    base = renewal_base(ws)
    hit = np.flatnonzero(base.ids == account_id)
    source = base.churn_source
    drivers = _driver_list(source, account_id, drivers_k) if source is not None else []
    texts = [t for _, t, _ in drivers]
    tier_of = getattr(source, "tier_of", None)
    churn_tier = tier_of(account_id) if callable(tier_of) else None
    if hit.size:
        r = renewal_row(base, int(hit[0]), ws.as_of, rs, texts)
        risk = RenewalRisk(
            renewal_date=r.renewal_date,
            days_to_renewal=r.days_to_renewal,
            renewal_date_source=r.renewal_date_source,
            probability=r.probability,
            category=r.category,
            plan_category=r.category,
            expected_outcome=r.expected_outcome,
            probability_rule=probability_rule(rs, base.method),
            churn_method=base.method,
            churn_probability=r.churn_probability,
            churn_tier=churn_tier,
            churn_drivers=texts,
            signals=r.signals,
            health_score=r.health_score,
            health_band=r.health_band,
            health_trend=health.trend.direction if health and health.trend else None,
            alerts=health.alerts if health else [],
        )
    else:
        # no renewal date: the same blend without opportunity adjustments
        where = getattr(source, "position", None) or (
            {a: i for i, a in enumerate(source.account_ids)} if source is not None else {}
        )
        churn = float(source.probability[where[account_id]]) if account_id in where else float("nan")
        h = health.score if health else float("nan")
        zero = np.zeros(1)
        flags = {k: zero for k in ("downgrades", "late_renewals", "won_renewals", "lost_renewals")}
        p = float(blend_probability(np.array([churn]), np.array([h]), flags, rs)[0])
        p_pct = round(p * 100, 1)
        risk = RenewalRisk(
            renewal_date=None,
            days_to_renewal=None,
            renewal_date_source=None,
            probability=p_pct,
            category=category_of(p_pct, rs.probability_tiers),
            plan_category=None,
            expected_outcome=None,
            probability_rule=probability_rule(rs, base.method),
            churn_method=base.method,
            churn_probability=None if churn != churn else round(churn * 100, 1),
            churn_tier=churn_tier,
            churn_drivers=texts,
            signals=[],
            health_score=health.score if health else None,
            health_band=health.band if health else "unknown",
            health_trend=health.trend.direction if health and health.trend else None,
            alerts=health.alerts if health else [],
        )
    risk._driver_features = [(f, t) for f, t, d in drivers if d == "raises risk"]
    if risk.category in ("high_confidence", "likely") and risk.health_band == "red":
        risk.plan_category = "at_risk"
    else:
        risk.plan_category = risk.category
    return risk


def support_figures(ws: Workspace, account_id: str, first_day: dt.date, last_day: dt.date) -> SupportFigures:
    """Tickets opened and resolved between two days (inclusive), median resolution hours, CSAT."""
    sql = """
    SELECT
      COUNT(*) FILTER (WHERE CAST(opened_at AS DATE) BETWEEN $lo AND $hi) AS opened,
      COUNT(*) FILTER (WHERE CAST(closed_at AS DATE) BETWEEN $lo AND $hi) AS resolved,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY date_diff('minute', opened_at, closed_at) / 60.0)
        FILTER (WHERE CAST(closed_at AS DATE) BETWEEN $lo AND $hi) AS median_hours,
      COUNT(*) FILTER (WHERE CAST(opened_at AS DATE) <= $hi
        AND (closed_at IS NULL OR CAST(closed_at AS DATE) > $hi)) AS open_now,
      COUNT(*) FILTER (WHERE priority = 'critical' AND CAST(opened_at AS DATE) <= $hi
        AND (closed_at IS NULL OR CAST(closed_at AS DATE) > $hi)) AS open_critical,
      COUNT(*) FILTER (WHERE escalated AND CAST(opened_at AS DATE) BETWEEN $lo AND $hi) AS escalated,
      COUNT(csat) FILTER (WHERE CAST(COALESCE(closed_at, opened_at) AS DATE) BETWEEN $lo AND $hi) AS csat_n,
      COUNT(csat) FILTER (WHERE csat >= $cmin
        AND CAST(COALESCE(closed_at, opened_at) AS DATE) BETWEEN $lo AND $hi) AS csat_good
    FROM tickets WHERE account_id = $a
    """
    params = {"a": account_id, "lo": first_day, "hi": last_day, "cmin": ws.settings.feedback.csat_satisfied_min}
    r = ws.cursor().execute(sql, params).fetchone()
    median = _f(r[2])
    return SupportFigures(
        first_day=first_day,
        last_day=last_day,
        opened=int(r[0]),
        resolved=int(r[1]),
        median_resolution_hours=None if median is None else round(median, 1),
        open_now=int(r[3]),
        open_critical=int(r[4]),
        escalated=int(r[5]),
        csat=round(r[7] / r[6], 4) if r[6] else None,
        csat_responses=int(r[6]),
    )


def _arr_history(ws: Workspace, account_id: str) -> list[ArrPoint]:
    sql = """
    WITH s AS (SELECT start_date, end_date, arr FROM subscriptions WHERE account_id = $a AND start_date <= $d),
    days AS (
      SELECT start_date AS day FROM s UNION SELECT end_date FROM s WHERE end_date <= $d
    )
    SELECT days.day, COALESCE(SUM(s.arr) FILTER (WHERE s.start_date <= days.day
      AND (s.end_date IS NULL OR s.end_date > days.day)), 0) AS arr
    FROM days CROSS JOIN s GROUP BY days.day ORDER BY days.day
    """
    rows = ws.cursor().execute(sql, {"a": account_id, "d": ws.as_of}).fetchall()
    points: list[ArrPoint] = []
    for day, arr in rows:  # one account's subscription change dates: a handful of rows
        if not points or points[-1].arr != float(arr):
            points.append(ArrPoint(date=day, arr=float(arr)))
    return points


def expansion_options(ws: Workspace, account_id: str, row: dict[str, Any]) -> Expansion:
    """Seat upsell, open upsell / cross-sell opportunities and whitespace products, with the proposal's ARR."""
    rs, ex = ws.settings.renewal, ws.settings.expansion
    arr = _f(row.get("arr")) or 0.0
    seats = _f(row.get("seats_purchased"))
    util = _f(row.get("seat_utilization"))
    users = _f(row.get("active_users"))
    options: list[ExpansionOption] = []
    seat_arr = 0.0
    if util is not None and util >= rs.seat_upsell_utilization and seats and users:
        add = max(1, math.ceil(users / ex.seat_target_utilization - 1e-9) - int(seats))
        seat_arr = round(add * arr / seats, 2)
        options.append(ExpansionOption(
            type="seat_upsell",
            description=f"+{add} seats (to {int(seats) + add})",
            arr=seat_arr,
            evidence=f"{users:.0f} of {seats:.0f} seats active ({pct(util)}, trigger "
                     f"{pct(rs.seat_upsell_utilization)}); sized to {pct(ex.seat_target_utilization)} at "
                     f"{money(arr / seats)} per seat",
            in_proposal=False,
        ))
    cfg = rs.probability
    closed = [s.lower() for s in cfg.won_stages + cfg.lost_stages]
    opps = ws.cursor().execute(
        """SELECT o.opportunity_id, lower(o.type), COALESCE(o.amount, 0), o.stage, o.close_date, o.product_id,
                  p.name
           FROM opportunities o LEFT JOIN products p ON p.product_id = o.product_id
           WHERE o.account_id = $a AND lower(o.type) IN ('upsell', 'cross-sell')
             AND lower(trim(COALESCE(o.stage, ''))) NOT IN (SELECT unnest($closed))
           ORDER BY o.close_date NULLS LAST, o.opportunity_id""",
        {"a": account_id, "closed": closed},
    ).fetchall()
    upsell = sum(float(o[2]) for o in opps if o[1] == "upsell")
    cross = sum(float(o[2]) for o in opps if o[1] == "cross-sell")
    for oid, kind, amount, stage, close, _pid, pname in opps:
        what = f"{kind} {oid}" + (f" ({pname})" if pname else "")
        options.append(ExpansionOption(
            type="open_opportunity",
            description=what,
            arr=float(amount),
            evidence=f"stage {stage or 'n/a'}" + (f", closes {close}" if close else ""),
            in_proposal=False,
        ))
    whitespace = ws.cursor().execute(
        """SELECT p.product_id, p.name, p.list_price FROM products p
           WHERE p.product_id NOT IN (
               SELECT product_id FROM entitlements WHERE account_id = $a
                 AND (start_date IS NULL OR start_date <= $d) AND (end_date IS NULL OR end_date > $d)
               UNION SELECT product_id FROM subscriptions WHERE account_id = $a AND product_id IS NOT NULL
                 AND start_date <= $d AND (end_date IS NULL OR end_date > $d)
               UNION SELECT product_id FROM opportunities WHERE account_id = $a AND product_id IS NOT NULL
                 AND lower(type) IN ('upsell', 'cross-sell')
                 AND lower(trim(COALESCE(stage, ''))) NOT IN (SELECT unnest($closed)))
           ORDER BY p.product_id""",
        {"a": account_id, "d": ws.as_of, "closed": closed},
    ).fetchall() if ("entitlements" in ws.tables or _has_subscription_products(ws)) else []
    ws_options = []
    for pid, pname, price in whitespace:
        if price is not None and seats:
            value, how = float(price) * seats, f"list price {money(float(price))} x {seats:.0f} seats"
        else:
            value = arr * ex.cross_sell_default_share
            how = f"{ex.cross_sell_default_share * 100:g}% of ARR (no list price or seat count)"
        ws_options.append(ExpansionOption(
            type="whitespace", description=f"{pname or pid} ({pid})", arr=round(value, 2),
            evidence=f"not owned; {how}", in_proposal=False,
        ))
    ws_options.sort(key=lambda o: -(o.arr or 0))
    expansion_arr = max(seat_arr, upsell) + cross
    if expansion_arr > 0:
        for o in options:
            if o.type == "open_opportunity" and o.description.startswith("cross-sell"):
                o.in_proposal = True
            elif seat_arr >= upsell and o.type == "seat_upsell":
                o.in_proposal = True
            elif seat_arr < upsell and o.type == "open_opportunity" and o.description.startswith("upsell"):
                o.in_proposal = True
    elif ws_options and (ws_options[0].arr or 0) > 0:
        ws_options[0].in_proposal = True
        expansion_arr = ws_options[0].arr or 0.0
    options += ws_options[: ws.settings.planning.whitespace_shown]
    rule = (
        f"max(seat upsell, open upsell) + open cross-sell; the largest whitespace product when both are 0. "
        f"Seat upsell when utilization >= {pct(rs.seat_upsell_utilization)}, sized to "
        f"{pct(ex.seat_target_utilization)} at ARR per seat"
    )
    return Expansion(
        seat_utilization=None if util is None else round(util, 4),
        seat_upsell_trigger=rs.seat_upsell_utilization,
        options=options,
        expansion_arr=round(expansion_arr, 2),
        rule=rule,
    )


def _has_subscription_products(ws: Workspace) -> bool:
    if "subscriptions" not in ws.tables:
        return False
    return bool(ws.cursor().execute("SELECT COUNT(product_id) FROM subscriptions").fetchone()[0])


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
        past = [f"{_fmt(metric, p.value)} in {p.as_of:%b %Y}" for p in m.past if p.value is not None]
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


def risk_group(category: str | None) -> RiskGroup:
    if category in ("at_risk", "high_risk"):
        return category  # type: ignore[return-value]
    return "healthy"


def _actions(group: RiskGroup, drivers: str, lead: str, expansion: str) -> list[tuple[str, str]]:
    """(owner, action) for the five milestones, largest lead time first."""
    if group == "healthy":
        return [
            ("CSM", "Confirm the renewal owner, decision process and budget timing; refresh the success plan and "
                    f"size the expansion ({expansion})."),
            ("CSM", "Value review with the champion and executive sponsor: recap outcomes with the numbers below; "
                    "open the expansion conversation."),
            ("CSM + account executive", f"Send the proposal leading with {lead}; keep the other two options ready."),
            ("Account executive", "Agree final terms with procurement and legal; get a verbal commit."),
            ("CSM", "Renewal signed: kick off the next term's success plan and share the value summary."),
        ]
    if group == "at_risk":
        return [
            ("CSM + CS lead", f"Risk review: find the root cause of {drivers} and agree a dated recovery plan."),
            ("CSM", "Executive value review with the sponsor: show outcomes, own the issues, walk through the "
                    "recovery plan."),
            ("CSM + account executive", f"Propose {lead}; hold expansion until health recovers; prepare answers "
                                        "to the objections below."),
            ("Account executive", "Negotiate: trade term length or payment terms before price; escalate "
                                  "blockers to leadership."),
            ("Account executive", "Close, or agree a short extension rather than a lapse; log the outcome and "
                                  "reasons."),
        ]
    return [
        ("CS lead", f"Save play this week: CS lead and executive sponsor call; recovery plan on {drivers}."),
        ("CS lead + CSM", "Executive-to-executive meeting; weekly recovery check-ins until health improves; fix "
                          "open critical issues first."),
        ("Account executive + CSM", f"Propose {lead} with concessions ready (shorter term, phased price, "
                                    "success plan); no upsell."),
        ("Account executive", "Weekly deal review with your executive; prepare a right-sized (downgrade) "
                              "offer as the fallback to a loss."),
        ("Account executive", "Close, right-size or extend: do not let it lapse; log the outcome and reasons."),
    ]


def build_timeline(
    renewal_date: dt.date | None, days_left: int | None, milestones: list[int], group: RiskGroup,
    drivers: str, lead: str, expansion: str,
) -> tuple[list[Milestone], str | None]:
    """The dated milestones with their status (past, current, upcoming) and the stage reached."""
    from cs_mcp.domain.renewal import STAGE_NAMES, timeline_of

    if renewal_date is None or days_left is None:
        return [], None
    stage = timeline_of(days_left, renewal_date, milestones).stage
    names = STAGE_NAMES if len(milestones) == len(STAGE_NAMES) else tuple(f"T-{m}" for m in milestones)
    labels = [f"T-{m}" for m in milestones]
    current = labels.index(stage) if stage in labels else (len(labels) if stage == "overdue" else -1)
    out = []
    for i, (m, (owner, action)) in enumerate(zip(milestones, _actions(group, drivers, lead, expansion),
                                                 strict=True)):
        status: MilestoneStatus = "past" if i < current else "current" if i == current else "upcoming"
        out.append(Milestone(milestone=labels[i], days_before=m, date=renewal_date - dt.timedelta(days=m),
                             name=names[i], status=status, owner=owner, action=action))
    return out, stage


# ---------------------------------------------------------------- conversation guide


OBJECTIONS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("usage", "active_user", "seat", "login"), "usage",
     "We are not using it enough to justify the cost."),
    (("adoption", "feature"), "adoption", "It does not do what we need."),
    (("ticket", "critical", "escalat", "support_csat"), "support", "Support has been a problem for us."),
    (("sponsor",), "sponsor", "Our new leadership is reviewing every vendor."),
    (("overdue", "invoice", "arr_growth", "budget"), "budget", "Budget is tight this year."),
    (("nps", "detractor", "csat"), "satisfaction", "We are not happy with the product."),
    (("touch", "outreach", "meeting"), "engagement", "We rarely hear from you."),
)


def _topic(feature: str | None) -> str | None:
    if not feature:
        return None
    key = feature.lower()
    for keys, topic, _ in OBJECTIONS:
        if any(k in key for k in keys):
            return topic
    return None


def _responses(ctx: dict[str, str]) -> dict[str, str]:
    return {
        "usage": f"Active users are {ctx['users']}; let's agree an adoption plan for the inactive seats and "
                 "right-size at renewal if needed rather than lose the team's workflow.",
        "adoption": f"You use {ctx['features']} features today; I'll map your goals to the ones you don't use yet "
                    "and set up a working session.",
        "support": f"{ctx['support']}; here is the owner and date for each open issue, and how we'll review them "
                   "with you.",
        "sponsor": "Let's brief the new leader on what the team achieved; could you introduce us this month?",
        "budget": f"The multi-year option brings the annual price to {ctx['multi_year']}; we can also phase "
                  "payments.",
        "satisfaction": f"You told us {ctx['nps']}; here is what changed since and what is on the roadmap for "
                        "your requests.",
        "engagement": "Fair point: let's agree a cadence (monthly check-in, quarterly review) and who joins from "
                      "each side.",
        "price": (f"That is {ctx['per_user']} per active user a year for the outcomes above; t" if ctx["per_user"]
                  else "T") + f"he multi-year option lowers the annual price to {ctx['multi_year']}.",
    }


def conversation_guide(
    name: str, tenure_days: float | None, risk: RenewalRisk, value: ValueDelivered, expansion: Expansion,
    row: dict[str, Any], multi_year_arr: float, has_sponsor: float | None, flag_pct: float,
) -> ConversationGuide:
    group = risk_group(risk.plan_category)
    years = None if tenure_days is None else tenure_days / 365
    tenure = "" if years is None or years < 1 else f" for {years:.0f} year{'s' if years >= 1.5 else ''}"
    top = next((t for f, t in risk._driver_features if _topic(f)), None)
    if group == "healthy":
        opening = (f"Thank you for working with us{tenure}. I'd like to look back at what {name} achieved this "
                   "term and plan the next one together, including where the team is growing.")
    elif group == "at_risk":
        opening = (f"Thank you for working with us{tenure}. Before we talk about the renewal I want to hear "
                   f"what is working for {name} and what is not, and agree how we close the gaps.")
    else:
        issue = f" ({top})" if top else ""
        opening = (f"Thank you for making the time. I know the last months have not gone as they should{issue}; "
                   "I want to hear it from you directly and agree how we fix it before anything else.")
    by = {m.metric: m for m in value.metrics}
    users = by["active_users"]
    questions = ["Which outcomes matter most to you over the next twelve months?",
                 "Who else is involved in the renewal decision, and what is their timeline?"]
    if group != "healthy":
        questions.append("What would have to change for this renewal to be an easy yes?")
    past_users = next((p for p in users.past if p.value is not None), None)
    drop = 1 - flag_pct / 100
    if users.now is not None and past_users and past_users.value and users.now <= past_users.value * drop:
        questions.append(f"What changed for the team since {past_users.as_of:%B %Y}? Active users went from "
                         f"{past_users.value:.0f} to {users.now:.0f}.")
    if any(o.type == "seat_upsell" for o in expansion.options):
        questions.append(f"Which teams are joining next? You are using {pct(expansion.seat_utilization)} of your "
                         "seats.")
    if has_sponsor == 0:
        questions.append("Who sponsors this partnership at the executive level today?")
    ws_first = next((o for o in expansion.options if o.type == "whitespace"), None)
    if ws_first and group == "healthy":
        questions.append(f"Is {ws_first.description.split(' (')[0]} on your radar this year?")
    support = value.support
    if support and support.open_now:
        questions.append(f"How is the open support issue affecting you ({support.open_now} ticket(s) open)?")
    sup_text = "No tickets on record"
    if support and (support.opened or support.resolved):
        med = support.median_resolution_hours
        sup_text = (f"{support.resolved} tickets resolved since {support.first_day:%B %Y}"
                    + (f", median {med:g} h" if med is not None else "")
                    + (f", {support.open_critical} critical open" if support.open_critical else ""))
    arr = _f(row.get("arr"))
    ctx = {
        "users": "n/a" if users.now is None else (
            f"{users.now:.0f}" + (f" (from {past_users.value:.0f} in {past_users.as_of:%B %Y})"
                                  if past_users and past_users.value is not None else "")),
        "features": _fmt("features_used", by["features_used"].now),
        "support": sup_text,
        "nps": "n/a" if by["nps"].now is None else f"NPS {by['nps'].now:+.0f}",
        "multi_year": money(multi_year_arr),
        "per_user": money(arr / users.now) if arr and users.now else "",
    }
    responses = _responses(ctx)
    objections: list[Objection] = []
    seen: set[str] = set()
    for feature, text in risk._driver_features:
        topic = _topic(feature)
        if topic and topic not in seen:
            seen.add(topic)
            words = next(o for keys, t, o in OBJECTIONS if t == topic)
            objections.append(Objection(objection=words, response=responses[topic], from_signal=text))
    for a in risk.alerts:
        topic = _topic(a.code)
        if topic and topic not in seen:
            seen.add(topic)
            words = next(o for keys, t, o in OBJECTIONS if t == topic)
            objections.append(Objection(objection=words, response=responses[topic], from_signal=a.message))
    objections.append(Objection(objection="The price is too high.", response=responses["price"],
                                from_signal="every renewal"))
    return ConversationGuide(
        opening=opening, value_recap=value.highlights, questions=questions[:6], objections=objections[:5]
    )


# ----------------------------------------------------------------------- proposals


def proposals(
    ws: Workspace, arr: float, expansion: Expansion, category: str | None, demoted: bool = False
) -> tuple[list[Proposal], ProposalOption, str]:
    """The three offers (renewal only, renewal + expansion, multi-year) and the one to lead with."""
    rs, plan = ws.settings.renewal, ws.settings.planning
    d = rs.multi_year_discount_pct
    years = plan.multi_year_years
    my_arr = round(arr * (1 - d / 100), 2)
    expansion_arr = expansion.expansion_arr
    parts = [o.description for o in expansion.options if o.in_proposal]
    lead: ProposalOption = plan.lead_option.get(category or "likely", "multi_year")
    reason = f"renewal category {CATEGORY_WORDS.get(category or '', 'unknown')} (planning.lead_option)"
    if demoted:
        reason = f"health is red, so the plan treats the renewal as {CATEGORY_WORDS[category or 'at_risk']} " \
                 "(planning.lead_option)"
    if lead == "renewal_expansion" and expansion_arr <= 0:
        lead, reason = "multi_year", reason + "; nothing to expand, so multi-year instead"
    items = [
        Proposal(
            option="renewal_only", title=OPTION_TITLES["renewal_only"], arr=round(arr, 2), term_months=12,
            total_contract_value=round(arr, 2), discount_pct=0, expansion_arr=0, change_vs_current=0,
            rationale="Keeps the decision simple: same scope and price. Right when the renewal is at risk, "
                      "or when expansion needs more proof.",
            lead=False,
        ),
        Proposal(
            option="renewal_expansion", title=OPTION_TITLES["renewal_expansion"],
            arr=round(arr + expansion_arr, 2), term_months=12, total_contract_value=round(arr + expansion_arr, 2),
            discount_pct=0, expansion_arr=round(expansion_arr, 2), change_vs_current=round(expansion_arr, 2),
            rationale=(f"Adds {' and '.join(parts)} ({money(expansion_arr)}) at renewal"
                       + (": wait until the risks are resolved before offering it."
                          if risk_group(category) != "healthy" else ", so the growing team is covered.")
                       if expansion_arr > 0 else "No expansion evidence in the data: same as renewal only."),
            lead=False,
        ),
        Proposal(
            option="multi_year", title=OPTION_TITLES["multi_year"], arr=my_arr, term_months=12 * years,
            total_contract_value=round(my_arr * years, 2), discount_pct=d, expansion_arr=0,
            change_vs_current=round(my_arr - arr, 2),
            rationale=f"{years} years at {d:g}% off: locks in the relationship and the budget line; the "
                      "discount is paid for by the certainty.",
            lead=False,
        ),
    ]
    for p in items:
        p.lead = p.option == lead
    return items, lead, reason


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
    props, lead, reason = proposals(ws, arr, expansion, risk.plan_category,
                                    demoted=risk.plan_category != risk.category)
    lead_words = f"{OPTION_TITLES[lead].lower()} ({money(next(p.arr for p in props if p.lead))})"
    actionable = [t for f, t in risk._driver_features if _topic(f)] or [t for _, t in risk._driver_features]
    drivers = ", ".join(actionable[:2]) or "the weakest health dimensions"
    in_proposal = [o.description for o in expansion.options if o.in_proposal]
    timeline, stage = build_timeline(
        risk.renewal_date, risk.days_to_renewal, ws.settings.renewal.timeline_days, risk_group(risk.plan_category),
        drivers, lead_words, ", ".join(in_proposal) or "no expansion evidence yet",
    )
    multi = next(p for p in props if p.option == "multi_year")
    guide = conversation_guide(
        name, _f(row.get("tenure_days")), risk, value, expansion, row, multi.arr, _f(row.get("has_exec_sponsor")),
        plan.usage_change_flag_pct,
    )
    notes = []
    if risk.renewal_date is None:
        notes.append("No renewal date: set accounts.renewal_date (or add a current subscription with an end_date) "
                     "to date the timeline.")
    elif risk.days_to_renewal is not None and risk.days_to_renewal < 0:
        notes.append(f"The renewal date passed {-risk.days_to_renewal} days ago: confirm it was signed and update "
                     "accounts.renewal_date.")
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
