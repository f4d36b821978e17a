"""The per-account metrics in one registry: what each means, where it comes from, and how it reads in words.

Every metric is a column of the feature query (cs_mcp.workspace.features). Health, churn drivers, the
templates and the answers take labels, sources and wording from here, so they cannot disagree.

Families say what kind of signal a metric is. Behaviour families (usage, adoption, engagement, support,
sentiment, payment, stakeholder) are things a CSM can act on or that show how the customer behaves: they
can be churn drivers. Context families (timing, firmographic, commercial) may feed a model but are shown
as context, never as a driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from cs_mcp.domain.formatting import day_count, money, pct, score_text

Family = Literal[
    "usage", "adoption", "engagement", "support", "sentiment", "payment", "stakeholder", "health", "custom",
    "coverage", "timing", "firmographic", "commercial", "crm",
]
BEHAVIOUR: frozenset[str] = frozenset(
    {"usage", "adoption", "engagement", "support", "sentiment", "payment", "stakeholder", "health", "custom", "crm"}
)
"""Families that can be churn drivers. 'custom' is a team's own account column (a contract type, a support
plan): the team's signal, so it may drive; 'coverage' (how often the CSM reached out) describes the CSM, not
the customer, and is context like timing and firmographics. 'crm' is what the account team recorded of the
customer's renewal decision (a renewal opportunity won or lost): it overrides the model, so it leads."""


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    family: Family
    source: str
    no_data: str
    sample: str | None = None
    """column holding how many answers a rate rests on (shown, and used to damp small samples)"""
    window: str | None = None
    """the health.windows setting that sets the metric's look-back"""


def _m(name: str, label: str, family: Family, source: str, no_data: str, **kw: Any) -> Metric:
    return Metric(name, label, family, source, no_data, **kw)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        _m("active_users", "active users (4 weeks)", "usage", "usage", "no usage data", window="usage_days"),
        _m("usage_change_pct", "change in active users vs 30 days earlier", "usage", "usage",
           "no usage trend (no usage a month earlier)"),
        _m("seat_utilization", "active users / licensed seats", "usage", "usage", "no usage data",
           window="usage_days"),
        _m("logins_per_user_week", "logins per active user per week", "usage", "usage", "no usage data",
           window="usage_days"),
        _m("days_since_last_login", "days since the last login", "usage", "usage", "no logins on record"),
        _m("feature_adoption", "share of the product's features used", "adoption", "feature_usage",
           "no feature usage data", window="feature_days"),
        _m("features_used", "features used", "adoption", "feature_usage", "no feature usage data",
           window="feature_days"),
        _m("outreach_response_rate", "share of CSM outreach answered", "engagement", "touchpoints",
           "no CSM outreach in 90 days", sample="outreach_n", window="engagement_days"),
        _m("meeting_attendance_rate", "share of scheduled meetings held", "engagement", "touchpoints",
           "no meetings scheduled in 90 days", sample="meetings_n", window="engagement_days"),
        _m("days_since_last_touch", "days since the last CSM touch", "engagement", "touchpoints",
           "no CSM touch on record"),
        _m("touches_90d", "CSM touches in 90 days", "coverage", "touchpoints", "no touchpoints data"),
        _m("tickets_30d", "tickets opened in 30 days", "support", "tickets", "no tickets data"),
        _m("ticket_volume_ratio", "tickets in 30 days vs the account's usual monthly volume", "support",
           "tickets", "no tickets data", window="ticket_recent_days"),
        _m("open_critical_tickets", "critical tickets open", "support", "tickets", "no tickets data"),
        _m("oldest_open_critical_hours", "hours the oldest critical ticket has been open", "support", "tickets",
           "no critical ticket open"),
        _m("escalations_90d", "escalated tickets in 90 days", "support", "tickets", "no tickets data"),
        _m("support_csat", "support CSAT: share of satisfied ticket ratings", "support", "tickets",
           "no support CSAT answers in 90 days", sample="support_csat_n", window="support_csat_days"),
        _m("nps", "account NPS (latest answer per respondent)", "sentiment", "nps",
           "no NPS answers in 12 months", sample="nps_responses", window="satisfaction_days"),
        _m("nps_responses", "NPS respondents", "coverage", "nps", "no NPS answers in 12 months"),
        _m("min_nps_score_90d", "lowest NPS answer in 90 days", "sentiment", "nps", "no NPS answer in 90 days"),
        _m("csat", "survey CSAT: share of satisfied answers", "sentiment", "nps",
           "no survey CSAT answers in 12 months", sample="csat_n", window="satisfaction_days"),
        _m("days_overdue", "days the oldest unpaid invoice is overdue", "payment", "invoices",
           "no invoices due yet"),
        _m("arr_growth_12m", "ARR change over 12 months", "commercial", "subscriptions",
           "no ARR history a year back", window="growth_days"),
        _m("active_contacts", "active contacts", "stakeholder", "contacts", "no contacts on record"),
        _m("has_exec_sponsor", "an active executive sponsor", "stakeholder", "contacts", "no contacts on record"),
        _m("exec_sponsor_left_90d", "executive sponsor left in 90 days without a successor", "stakeholder",
           "contacts", "no contacts on record"),
        _m("arr", "ARR", "commercial", "accounts", "no ARR"),
        _m("seats", "licensed seats", "commercial", "accounts", "no seat count"),
        _m("seats_purchased", "licensed seats", "commercial", "accounts", "no seat count"),
        _m("employees", "employees", "firmographic", "accounts", "no employee count"),
        _m("tenure_days", "time as a customer", "timing", "accounts", "no start date"),
        _m("days_to_renewal", "days to the renewal", "timing", "accounts", "no renewal date"),
        _m("health_score", "health score", "health", "accounts", "no health score"),
    )
}
CATEGORICAL_FAMILIES: dict[str, Family] = {
    "segment": "firmographic", "industry": "firmographic", "region": "firmographic", "plan": "commercial",
}
CRM_EVIDENCE: dict[str, Family] = {"renewal_lost": "crm", "renewal_won": "crm", "churn_notice": "crm"}
"""Renewal opportunities closed won or lost in the CRM: not model features, but drivers of the probability
shown (renewal.probability caps or floors it on them)."""


def family_of(feature: str) -> Family:
    """The family of a model feature: registry metrics, health dimensions, standard categoricals; any other
    feature is a custom account attribute."""
    if feature in METRICS:
        return METRICS[feature].family
    if feature.startswith("health_"):
        return "health"
    return CATEGORICAL_FAMILIES.get(feature) or CRM_EVIDENCE.get(feature, "custom")


def is_behaviour(feature: str) -> bool:
    """A signal a CSM can act on or that shows behaviour: may be shown as a churn driver."""
    return family_of(feature) in BEHAVIOUR


def label(metric: str) -> str:
    m = METRICS.get(metric)
    return m.label if m else metric.replace("_", " ")


def source(metric: str) -> str:
    m = METRICS.get(metric)
    return m.source if m else "accounts"


def sample_column(metric: str) -> str | None:
    m = METRICS.get(metric)
    return m.sample if m else None


def _count(n: Any, one: str, many: str) -> str:
    k = int(n)
    return f"{k} {one if k == 1 else many}"


def _sample(metric: str, row: dict[str, Any] | None, one: str, many: str) -> str:
    col = sample_column(metric)
    n = None if row is None or col is None else row.get(col)
    if n is None or n != n:
        return ""
    return f" ({_count(n, one, many)})"


def describe(metric: str, value: Any, row: dict[str, Any] | None = None) -> str:
    """A metric's value in the words a CSM uses, with the sample size behind a rate when the row has it."""
    if value is None or isinstance(value, float) and value != value:
        m = METRICS.get(metric)
        return m.no_data if m else f"no {metric.replace('_', ' ')} data"
    if isinstance(value, str):
        return f"{metric.replace('_', ' ')}: {value}" if value.strip() else f"no {metric.replace('_', ' ')}"
    v = float(value)
    row = row or {}
    match metric:
        case "usage_change_pct":
            return f"active users {'down' if v < 0 else 'up'} {abs(v):.0f}% in 30 days"
        case "days_since_last_login":
            return f"no logins for {day_count(v)}" if v >= 7 else f"last login {day_count(v)} ago"
        case "days_since_last_touch":
            if "last_touch_days" in row and not _known(row["last_touch_days"]):
                return "no CSM touch on record" + (f" in {day_count(v)} as a customer" if v < 365 else "")
            return f"no CSM touch for {day_count(v)}" if v >= 14 else f"last CSM touch {day_count(v)} ago"
        case "nps":
            return f"NPS {v:+.0f}" + _sample(metric, row, "respondent", "respondents")
        case "min_nps_score_90d":
            return f"an NPS answer of {v:.0f} in 90 days"
        case "nps_responses":
            return f"{v:.0f} NPS respondents in 12 months"
        case "seat_utilization":
            au, seats = row.get("active_users"), row.get("seats_purchased")
            extra = f" ({au:.0f} of {seats:.0f})" if _known(au) and _known(seats) and seats else ""
            return f"{pct(v)} of seats active{extra}"
        case "logins_per_user_week":
            return f"{v:.1f} logins per active user a week"
        case "feature_adoption":
            used = row.get("features_used")
            extra = f" ({_count(used, 'feature', 'features')})" if _known(used) else ""
            return f"uses {pct(v)} of the product's features{extra}"
        case "features_used":
            return f"{v:.0f} features used in 30 days"
        case "active_users":
            return f"{v:.0f} active users"
        case "outreach_response_rate":
            return f"answers {pct(v)} of CSM outreach" + _sample(metric, row, "attempt", "attempts")
        case "meeting_attendance_rate":
            return f"{pct(v)} of meetings held" + _sample(metric, row, "meeting", "meetings")
        case "touches_90d":
            return f"{v:.0f} CSM touches in 90 days"
        case "tickets_30d":
            return f"{v:.0f} tickets in 30 days"
        case "ticket_volume_ratio":
            n = row.get("tickets_30d")
            extra = f" ({_count(n, 'ticket', 'tickets')} in 30 days)" if _known(n) else ""
            return f"ticket volume {v:.1f}x the usual{extra}"
        case "open_critical_tickets":
            return "no critical ticket open" if v == 0 else f"{_count(v, 'critical ticket', 'critical tickets')} open"
        case "oldest_open_critical_hours":
            return f"a critical ticket open {v:.0f} hours"
        case "escalations_90d":
            return f"{_count(v, 'escalation', 'escalations')} in 90 days"
        case "support_csat":
            return f"support CSAT {pct(v)} satisfied" + _sample(metric, row, "rating", "ratings")
        case "csat":
            return f"survey CSAT {pct(v)} satisfied" + _sample(metric, row, "answer", "answers")
        case "days_overdue":
            return "invoices paid on time" if v <= 0 else f"an invoice {day_count(v)} overdue"
        case "arr_growth_12m":
            return f"ARR {v * 100:+.0f}% in 12 months" if round(v * 100) != 0 else "ARR flat over 12 months"
        case "active_contacts":
            return _count(v, "active contact", "active contacts")
        case "has_exec_sponsor":
            return "has an executive sponsor" if v >= 1 else "no executive sponsor"
        case "exec_sponsor_left_90d":
            return "executive sponsor left in 90 days" if v >= 1 else "executive sponsor in place"
        case "arr":
            return f"ARR {money(v)}"
        case "seats" | "seats_purchased":
            return f"{v:.0f} seats"
        case "employees":
            return f"{v:,.0f} employees"
        case "tenure_days":
            return f"customer for {v / 30.4:.0f} months" if v < 730 else f"customer for {v / 365.25:.1f} years"
        case "days_to_renewal":
            return f"renewal in {day_count(v)}"
        case "health_score":
            return f"health score {score_text(v)}"
        case "renewal_lost":
            return "renewal opportunity marked lost in the CRM"
        case "renewal_won":
            return "renewal opportunity won in the CRM"
        case "churn_notice":
            return f"notice given: marked churned, leaving in {day_count(v)}"
    if metric.startswith("health_"):
        return f"{metric[7:]} health {score_text(v)}/100"
    return f"{metric.replace('_', ' ')} {v:,.0f}" if abs(v) >= 100 else f"{metric.replace('_', ' ')} {v:.3g}"


def describe_change(metric: str, now: Any, before: Any, days: int) -> str | None:
    """How a metric moved over `days`, in words ('down from 45% over 90 days'); None when unknown or unchanged
    at the precision shown."""
    if metric in _NO_CHANGE or not (_known(now) and _known(before)):
        return None
    a, b = float(now), float(before)
    shown = _change_format(metric)
    if shown(a) == shown(b):
        return None
    return f"{'up' if a > b else 'down'} from {shown(b)} over {days} days"


_NO_CHANGE = frozenset({  # these count days themselves (their change is the passing of time), or are flags
    "days_since_last_touch", "days_since_last_login", "days_overdue", "oldest_open_critical_hours",
    "has_exec_sponsor", "exec_sponsor_left_90d",
})


def _change_format(metric: str) -> Any:
    if metric in ("seat_utilization", "feature_adoption", "outreach_response_rate", "meeting_attendance_rate",
                  "support_csat", "csat"):
        return pct
    if metric in ("logins_per_user_week", "ticket_volume_ratio"):
        return lambda x: f"{x:.1f}"
    if metric == "nps":
        return lambda x: f"{x:+.0f}"
    if metric.startswith("health"):
        return score_text
    return lambda x: f"{x:,.0f}" if abs(x) >= 10 else f"{x:.2g}"


def _known(v: Any) -> bool:
    return v is not None and v == v
