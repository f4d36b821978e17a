"""Engagement: a 0-100 score from frequency, quality, breadth and product components, cadence, stakeholders,
red flags, for one account or the portfolio.

Each component is scored like a health dimension (config `engagement`):
  metric fraction  = curve(input)                                  (piecewise linear, flat past the ends)
  component score  = 100 * sum(fraction * points) / sum(points)     over the metrics with data
  engagement score = sum(weight * component) / sum(weight)          over the components with data
Inputs, as of the workspace's as-of date (W = window_days, S = strategic_days):
  frequency  cadence_ratio = touches in W / (expected touches per 90 days for the segment x W / 90);
             days_since_last_touch (never touched scores like the curve's last breakpoint)
  quality    outreach_response_rate = calls/emails answered / those with an outcome, in W;
             meeting_attendance_rate = meetings, QBRs, EBRs, trainings held / those with an outcome, in W;
             strategic_touches = QBR/EBR (strategic_types) held in S; positive_outcome_rate = touches whose
             outcome is in positive_outcomes / touches with an outcome, in W
  breadth    active contacts, distinct departments, champion present, executive sponsor present
  product    logins per active user per week and feature adoption (cs_mcp.workspace.features)
A contact is active unless it left on or before the as-of date (or is marked inactive without a date).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from cs_mcp.domain.accounts import require_known_value, resolve_account
from cs_mcp.domain.errors import InvalidArgument, NoData
from cs_mcp.domain.formatting import day_count, pct
from cs_mcp.domain.paging import Page, decode_cursor, encode_cursor
from cs_mcp.workspace.cache import cached
from cs_mcp.workspace.queries.engagement import active_contacts, engagement_inputs, touches_by_30_days

if TYPE_CHECKING:
    import numpy as np

    from cs_mcp.config import CsmSettings, EngagementSettings
    from cs_mcp.workspace.loader import Workspace

Band = Literal["high", "medium", "low", "at_risk", "unknown"]
BANDS: tuple[str, ...] = ("high", "medium", "low", "at_risk")
Sort = Literal["lowest", "highest", "arr"]
UNASSIGNED = "unassigned"

METRIC_SOURCES: dict[str, str] = {
    "cadence_ratio": "touchpoints",
    "days_since_last_touch": "touchpoints",
    "outreach_response_rate": "touchpoints",
    "meeting_attendance_rate": "touchpoints",
    "strategic_touches": "touchpoints",
    "positive_outcome_rate": "touchpoints",
    "active_contacts": "contacts",
    "departments": "contacts",
    "has_champion": "contacts",
    "has_exec_sponsor": "contacts",
    "logins_per_user_week": "usage",
    "feature_adoption": "feature_usage",
}
METRIC_LABELS: dict[str, str] = {
    "cadence_ratio": "touches in the window / touches expected for the segment",
    "days_since_last_touch": "days since the last touch",
    "outreach_response_rate": "share of calls and emails answered",
    "meeting_attendance_rate": "share of meetings, QBRs, EBRs and trainings held",
    "strategic_touches": "QBRs / EBRs held",
    "positive_outcome_rate": "share of touches with a positive outcome",
    "active_contacts": "active contacts",
    "departments": "departments of the active contacts",
    "has_champion": "an active champion (1) or not (0)",
    "has_exec_sponsor": "an active executive sponsor (1) or not (0)",
    "logins_per_user_week": "logins per active user per week",
    "feature_adoption": "share of the product's features used in 30 days",
}
FLAG_LABELS: dict[str, str] = {
    "single_threaded": "single-threaded",
    "no_exec_sponsor": "no executive sponsor",
    "no_recent_touch": "no recent touch",
    "below_cadence": "below cadence",
    "missed_meetings": "missed meetings",
    "outreach_ignored": "outreach ignored",
    "usage_dropping": "usage dropping",
}
FLAG_ACTIONS: dict[str, str] = {
    "single_threaded": "Multi-thread: ask the champion to introduce two more people (an admin, a second team).",
    "no_exec_sponsor": "Secure an executive sponsor: offer an EBR to the customer's budget owner.",
    "no_recent_touch": "Book a check-in this week.",
    "below_cadence": "Put the account back on its segment's touch cadence (recurring calls).",
    "missed_meetings": "Meetings are missed: confirm attendees and tie the agenda to their goals.",
    "outreach_ignored": "Outreach goes unanswered: switch channel or contact, or go through the sponsor.",
    "usage_dropping": "Usage is falling: find out why with the admin and plan re-enablement.",
}


# ------------------------------------------------------------------------ models


class EngagementMetric(BaseModel):
    metric: str
    label: str = Field(description="what the input means")
    value: float | None = Field(description="the input; null when the data has none")
    display: str = Field(description="the input in words")
    points: float | None = Field(description="points earned inside the component")
    max_points: float
    source_table: str


class EngagementComponent(BaseModel):
    component: str = Field(description="frequency, quality, breadth or product")
    weight: float = Field(description="configured weight")
    effective_weight: float = Field(description="weight after re-spreading components without data (sums to 100)")
    score: float | None = Field(description="0-100; null when none of its inputs has data")
    contribution: float | None = Field(description="points this component adds to the engagement score")
    metrics: list[EngagementMetric]


class MonthTouches(BaseModel):
    start: dt.date = Field(description="first day of the 30-day month")
    end: dt.date = Field(description="last day of the 30-day month")
    touches: int


class Cadence(BaseModel):
    window_days: int
    touches_in_window: int = Field(description="touches in the last window_days")
    expected_in_window: float = Field(description="touches expected in window_days for the account's segment")
    last_touch: dt.date | None
    days_since_last_touch: int | None = Field(description="null when never touched")
    months: list[MonthTouches] = Field(description="touches per 30-day month, oldest first, the last ending today")
    average_per_month: float
    median_gap_days: float | None = Field(
        description="median days between consecutive touch dates over those months; null under 2 touch dates"
    )


class Stakeholders(BaseModel):
    active_contacts: int
    by_role: dict[str, int] = Field(description="active contacts per role ('unknown' when no role)")
    departments: list[str]
    champion: bool
    executive_sponsor: bool
    single_threaded: bool = Field(description="at most engagement.flag_single_threaded_contacts active contacts")


class RedFlag(BaseModel):
    code: str = Field(description="single_threaded, no_exec_sponsor, no_recent_touch, below_cadence, "
                      "missed_meetings, outreach_ignored or usage_dropping")
    message: str
    action: str


class AccountEngagement(BaseModel):
    account_id: str
    name: str
    segment: str | None
    csm_id: str | None
    status: str | None
    arr: float | None
    as_of: dt.date
    score: float = Field(description="0-100")
    band: Band
    bands: dict[str, float] = Field(description="score at or above which each band starts")
    components: list[EngagementComponent]
    missing_components: list[str] = Field(description="components without data; their weight was re-spread")
    cadence: Cadence | None = Field(description="null without a touchpoints table")
    stakeholders: Stakeholders | None = Field(description="null without a contacts table")
    red_flags: list[RedFlag]
    not_computed: list[str]
    tables_used: list[str]
    note: str | None = None


class EngagementRow(BaseModel):
    rank: int
    account_id: str
    name: str
    segment: str | None
    csm_id: str | None
    arr: float | None
    score: float
    band: Band
    components: dict[str, float | None] = Field(description="component -> 0-100 score (null: no data)")
    touches_in_window: int | None
    days_since_last_touch: int | None = Field(description="null when never touched or without touchpoints")
    active_contacts: int | None
    red_flags: list[str] = Field(description="red flag codes")


class BandCount(BaseModel):
    band: str
    accounts: int
    arr: float


class FlagCount(BaseModel):
    code: str
    label: str
    accounts: int
    arr: float


class PortfolioEngagement(Page):
    as_of: dt.date
    filters: dict[str, str]
    sort: Sort
    scored_accounts: int = Field(description="active accounts matching the filters with a score")
    unscored_accounts: int = Field(description="active accounts matching the filters with no engagement data")
    average_score: float | None
    bands: list[BandCount] = Field(description="accounts and ARR per band over the filtered set")
    red_flags: list[FlagCount] = Field(description="accounts and ARR per red flag over the filtered set")
    weights: dict[str, float]
    components_without_data: dict[str, int] = Field(
        description="component -> scored accounts with no data for it (weight re-spread for them)"
    )
    accounts: list[EngagementRow]
    not_computed: list[str]
    tables_used: list[str]
    note: str | None = None


class EngagementReport(BaseModel):
    scope: Literal["account", "portfolio"]
    account: AccountEngagement | None = Field(None, description="set when scope is account")
    portfolio: PortfolioEngagement | None = Field(None, description="set when scope is portfolio")


# ------------------------------------------------------------------------ facts


@dataclass
class EngagementFacts:
    """Engagement inputs, scores and flags of every account, aligned with portfolio_snapshot's frame."""

    account_ids: np.ndarray
    position: dict[str, int]
    counts: dict[str, np.ndarray]
    metrics: dict[str, np.ndarray]
    fractions: dict[str, np.ndarray]
    component_scores: dict[str, np.ndarray]
    effective_weights: dict[str, np.ndarray]
    score: np.ndarray
    band: np.ndarray
    flags: dict[str, np.ndarray]
    active: np.ndarray


def expected_touches(s: EngagementSettings, segments: Any) -> np.ndarray:
    """Touches expected in window_days for each account's segment."""
    return _per_segment(s.expected_touches_90d, s.default_expected_touches_90d, segments) * (s.window_days / 90.0)


def touch_limits(s: CsmSettings, segments: Any) -> np.ndarray:
    """Days without a CSM touch after which each account is overdue: csm.touch_overdue_days of its segment,
    else default_touch_overdue_days."""
    return _per_segment(s.touch_overdue_days, s.default_touch_overdue_days, segments)


def _per_segment(values: dict[str, Any], default: float, segments: Any) -> np.ndarray:
    """Each account's value for its segment (matched without case or surrounding spaces), else the default."""
    import numpy as np

    by_name = {k.lower(): float(v) for k, v in values.items()}
    return np.array([default if seg is None else by_name.get(str(seg).strip().lower(), default) for seg in segments],
                    dtype=float)


def overdue_for_touch(days_since_last_touch: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """The one rule of an account overdue for a touch (engagement's red flag, csm-performance's count): its
    last touch is older than its limit, or it never had one."""
    import numpy as np

    days = np.asarray(days_since_last_touch, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.isnan(days) | (days > limits)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    import numpy as np

    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def score_components(metrics: dict[str, Any], s: EngagementSettings, n: int) -> tuple[Any, ...]:
    """(score, component scores, effective weights, metric fractions) for n rows of metric inputs."""
    import numpy as np

    from cs_mcp.domain.scoring import curve_value

    fractions = {
        m: curve_value(s.curves[m], metrics.get(m, np.full(n, np.nan)))
        for comp in s.components.values() for m in comp
    }
    comp_scores: dict[str, np.ndarray] = {}
    for name, comp in s.components.items():
        earned, possible = np.zeros(n), np.zeros(n)
        for m, points in comp.items():
            has = ~np.isnan(fractions[m])
            earned += np.where(has, fractions[m] * points, 0.0)
            possible += np.where(has, points, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            comp_scores[name] = np.where(possible > 0, 100.0 * earned / possible, np.nan)
    total, total_w = np.zeros(n), np.zeros(n)
    for name, sc in comp_scores.items():
        has = ~np.isnan(sc)
        total_w += np.where(has, s.weights[name], 0.0)
        total += np.where(has, s.weights[name] * sc, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(total_w > 0, total / total_w, np.nan)
        effective = {
            name: np.where(~np.isnan(sc) & (total_w > 0), 100.0 * s.weights[name] / total_w, 0.0)
            for name, sc in comp_scores.items()
        }
    return score, comp_scores, effective, fractions


def band_of(score: Any, bands: dict[str, float]) -> Any:
    """Band per score: high / medium / low at or above their thresholds, else at_risk; NaN unknown."""
    import numpy as np

    x = np.asarray(score, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(
            np.isnan(x), "unknown",
            np.where(x >= bands.get("high", 80), "high",
                     np.where(x >= bands.get("medium", 60), "medium",
                              np.where(x >= bands.get("low", 40), "low", "at_risk"))),
        )


def engagement_facts(ws: Workspace) -> EngagementFacts:
    """Inputs, component scores, score, band and red flags of every account as of ws.as_of, cached."""
    from cs_mcp.domain.portfolio import portfolio_snapshot

    snap = portfolio_snapshot(ws)
    csm = ws.settings.csm
    key = ("engagement-facts", snap.as_of, ws.settings.engagement.model_dump_json(),
           ws.settings.health.windows.model_dump_json(), tuple(sorted(csm.touch_overdue_days.items())),
           csm.default_touch_overdue_days)
    return cached(ws, key, lambda: _compute_facts(ws, snap))


def _compute_facts(ws: Workspace, snap: Any) -> EngagementFacts:
    import numpy as np

    s = ws.settings.engagement
    frame = snap.frame
    n = len(frame)
    raw = engagement_inputs(
        ws, snap.as_of, window_days=int(s.window_days), strategic_days=int(s.strategic_days),
        cadence_days=30 * int(s.cadence_months), strategic_types=list(s.strategic_types),
        positive_outcomes=list(s.positive_outcomes),
    )
    order = np.array([snap.position[a] for a in raw["account_id"]], dtype=int)
    counts: dict[str, np.ndarray] = {}
    for name, col in raw.items():
        if name == "account_id":
            continue
        values = np.full(n, np.nan)
        values[order] = np.asarray(col, dtype=float)
        counts[name] = values
    has_touch = "touchpoints" in ws.tables
    has_contacts = "contacts" in ws.tables
    counts["expected"] = expected_touches(s, frame["segment"])
    limits = (touch_limits(ws.settings.csm, frame["segment"]) if s.flag_no_touch_days is None
              else np.full(n, s.flag_no_touch_days - 0.5))  # a fixed limit flags from that day on
    never = np.isnan(counts["days_since_last_touch"])
    metrics: dict[str, np.ndarray] = {}
    nan = np.full(n, np.nan)
    if has_touch:
        metrics["cadence_ratio"] = _ratio(counts["touches"], counts["expected"])
        # never touched: past the curve's last breakpoint, so it earns that breakpoint's fraction
        beyond = s.curves["days_since_last_touch"][-1][0] + 1 if "days_since_last_touch" in s.curves else 1e9
        metrics["days_since_last_touch"] = np.where(never, beyond, counts["days_since_last_touch"])
        metrics["outreach_response_rate"] = _ratio(counts["outreach_answered"], counts["outreach_n"])
        metrics["meeting_attendance_rate"] = _ratio(counts["meetings_held"], counts["meetings_n"])
        metrics["strategic_touches"] = counts["strategic"]
        metrics["positive_outcome_rate"] = _ratio(counts["positive_n"], counts["outcomes_n"])
    if has_contacts:
        metrics["active_contacts"] = counts["contacts"]
        metrics["departments"] = counts["departments"]
        metrics["has_champion"] = (counts["champions"] > 0).astype(float)
        metrics["has_exec_sponsor"] = (counts["sponsors"] > 0).astype(float)
    metrics["logins_per_user_week"] = np.asarray(frame["logins_per_user_week"], dtype=float)
    metrics["feature_adoption"] = np.asarray(frame["feature_adoption"], dtype=float)
    for m in METRIC_SOURCES:
        metrics.setdefault(m, nan)
    unknown = {m for comp in s.components.values() for m in comp} - set(METRIC_SOURCES)
    if unknown:
        raise InvalidArgument(
            f"engagement.components names unknown metrics {sorted(unknown)}; known: {', '.join(METRIC_SOURCES)}"
        )
    score, comp_scores, effective, fractions = score_components(metrics, s, n)
    change = np.asarray(frame["usage_change_pct"], dtype=float)
    counts["usage_change_pct"] = change
    with np.errstate(invalid="ignore"):
        flags = {
            "single_threaded": np.full(n, has_contacts) & (counts["contacts"] <= s.flag_single_threaded_contacts),
            "no_exec_sponsor": np.full(n, has_contacts and s.flag_no_exec_sponsor) & (counts["sponsors"] == 0),
            "no_recent_touch": np.full(n, has_touch) & overdue_for_touch(counts["days_since_last_touch"], limits),
            "below_cadence": np.full(n, has_touch)
            & (counts["touches"] < counts["expected"] * s.flag_cadence_share_below),
            "missed_meetings": np.full(n, has_touch)
            & (counts["meetings_n"] - counts["meetings_held"] >= s.flag_missed_meetings),
            "outreach_ignored": (counts["outreach_n"] >= s.flag_outreach_min_attempts)
            & (_ratio(counts["outreach_answered"], counts["outreach_n"]) < s.flag_outreach_response_below),
            "usage_dropping": ~np.isnan(change) & (change <= -s.flag_usage_drop_pct),
        }
    active = np.asarray(frame["is_active"]) == 1.0  # customers as of the date (queries.customers)
    return EngagementFacts(
        account_ids=frame["account_id"],
        position=snap.position,
        counts=counts,
        metrics=metrics,
        fractions=fractions,
        component_scores=comp_scores,
        effective_weights=effective,
        score=score,
        band=band_of(score, s.bands),
        flags=flags,
        active=active,
    )


# ------------------------------------------------------------------------ one account


def _f(v: Any) -> float | None:
    return None if v is None or v != v else float(v)


def _int(v: Any) -> int | None:
    return None if v is None or v != v else int(round(float(v)))


def _display(metric: str, facts: EngagementFacts, i: int, segment: str | None, s: EngagementSettings) -> str:
    c = {k: v[i] for k, v in facts.counts.items()}
    v = facts.metrics[metric][i]
    if v != v:
        return "no data"
    match metric:
        case "cadence_ratio":
            return (f"{c['touches']:.0f} touches in {s.window_days} days vs {c['expected']:g} expected "
                    f"({segment or 'no segment'})")
        case "days_since_last_touch":
            d = c["days_since_last_touch"]
            return "never touched" if d != d else f"last touch {day_count(d)} ago"
        case "outreach_response_rate":
            return f"answered {c['outreach_answered']:.0f} of {c['outreach_n']:.0f} calls/emails ({pct(v)})"
        case "meeting_attendance_rate":
            return f"{c['meetings_held']:.0f} of {c['meetings_n']:.0f} meetings held ({pct(v)})"
        case "strategic_touches":
            return f"{v:.0f} {'/'.join(t.upper() for t in s.strategic_types)} held in {s.strategic_days} days"
        case "positive_outcome_rate":
            return f"{c['positive_n']:.0f} of {c['outcomes_n']:.0f} touches with a positive outcome ({pct(v)})"
        case "active_contacts":
            return f"{v:.0f} active contact{'s' if v != 1 else ''}"
        case "departments":
            return f"{v:.0f} department{'s' if v != 1 else ''}"
        case "has_champion":
            return "champion: yes" if v else "champion: none"
        case "has_exec_sponsor":
            return "executive sponsor: yes" if v else "executive sponsor: none"
        case "logins_per_user_week":
            return f"{v:.1f} logins per active user per week"
        case "feature_adoption":
            return f"uses {pct(v)} of the features"
    return f"{v:g}"


def _flag_message(code: str, facts: EngagementFacts, i: int, s: EngagementSettings) -> str:
    c = {k: v[i] for k, v in facts.counts.items()}
    match code:
        case "single_threaded":
            n = int(c["contacts"])
            if n == 0:
                return "no active contact on record"
            return f"single-threaded: {n} active contact{'s' if n != 1 else ''}"
        case "no_exec_sponsor":
            return "no active executive sponsor"
        case "no_recent_touch":
            d = c["days_since_last_touch"]
            return "never touched" if d != d else f"no touch for {day_count(d)}"
        case "below_cadence":
            return f"{c['touches']:.0f} touches in {s.window_days} days vs {c['expected']:g} expected"
        case "missed_meetings":
            return f"{c['meetings_n'] - c['meetings_held']:.0f} meetings missed in {s.window_days} days"
        case "outreach_ignored":
            return (f"{c['outreach_n'] - c['outreach_answered']:.0f} of {c['outreach_n']:.0f} calls/emails "
                    f"unanswered in {s.window_days} days")
        case "usage_dropping":
            return f"active users down {-c['usage_change_pct']:.0f}% vs 30 days earlier"
    return code


def _cadence(ws: Workspace, facts: EngagementFacts, i: int, account_id: str) -> Cadence:
    s = ws.settings.engagement
    as_of = ws.as_of
    m = int(s.cadence_months)
    by_k = touches_by_30_days(ws, account_id, as_of, 30 * m)
    months = [
        MonthTouches(start=as_of - dt.timedelta(days=30 * (k + 1) - 1), end=as_of - dt.timedelta(days=30 * k),
                     touches=by_k.get(k, 0))
        for k in reversed(range(m))
    ]
    c = {k: v[i] for k, v in facts.counts.items()}
    days = _int(c["days_since_last_touch"])
    return Cadence(
        window_days=s.window_days,
        touches_in_window=int(c["touches"]),
        expected_in_window=round(float(c["expected"]), 2),
        last_touch=None if days is None else as_of - dt.timedelta(days=days),
        days_since_last_touch=days,
        months=months,
        average_per_month=round(sum(x.touches for x in months) / m, 2),
        median_gap_days=_f(c["median_gap"]),
    )


def _stakeholders(ws: Workspace, account_id: str) -> Stakeholders:
    s = ws.settings.engagement
    rows = active_contacts(ws, account_id, ws.as_of)
    by_role: dict[str, int] = {}
    departments: dict[str, str] = {}
    for role, key, dept in rows:
        by_role[role] = by_role.get(role, 0) + 1
        if key:
            departments.setdefault(key, dept.strip())
    n = len(rows)
    return Stakeholders(
        active_contacts=n,
        by_role=dict(sorted(by_role.items(), key=lambda kv: (-kv[1], kv[0]))),
        departments=sorted(departments.values()),
        champion=by_role.get("champion", 0) > 0,
        executive_sponsor=by_role.get("executive_sponsor", 0) > 0,
        single_threaded=n <= s.flag_single_threaded_contacts,
    )


def _not_computed(ws: Workspace) -> list[str]:
    out = []
    if "touchpoints" not in ws.tables:
        out.append("frequency, quality, cadence and touch red flags: no touchpoints table")
    if "contacts" not in ws.tables:
        out.append("breadth, stakeholders, single-threaded and executive sponsor flags: no contacts table")
    if "usage" not in ws.tables:
        out.append("product logins and the usage-dropping flag: no usage table")
    if "feature_usage" not in ws.tables:
        out.append("product feature adoption: no feature_usage table")
    return out


def _tables_used(ws: Workspace) -> list[str]:
    return ["accounts", *[t for t in ("touchpoints", "contacts", "usage", "feature_usage") if t in ws.tables]]


def account_engagement(ws: Workspace, account: str) -> AccountEngagement:
    """One account's engagement score, components, cadence, stakeholders and red flags."""
    from cs_mcp.domain.portfolio import portfolio_snapshot

    s = ws.settings.engagement
    ref = resolve_account(ws, account)
    facts = engagement_facts(ws)
    i = facts.position[ref.account_id]
    row = portfolio_snapshot(ws).row(ref.account_id)
    score = _f(facts.score[i])
    if score is None:
        raise NoData(
            f"No engagement data for {ref.name} ({ref.account_id}): add touchpoints, contacts, usage or "
            "feature_usage rows for it."
        )
    components = []
    for name, comp in s.components.items():
        metrics = []
        for m, points in comp.items():
            frac = _f(facts.fractions[m][i])
            value = _f(facts.metrics[m][i])
            if m == "days_since_last_touch":
                value = _f(facts.counts["days_since_last_touch"][i])
            metrics.append(EngagementMetric(
                metric=m, label=METRIC_LABELS[m], value=None if value is None else round(value, 4),
                display=_display(m, facts, i, row.get("segment"), s),
                points=None if frac is None else round(frac * points, 2), max_points=points,
                source_table=METRIC_SOURCES[m],
            ))
        cs = _f(facts.component_scores[name][i])
        eff = float(facts.effective_weights[name][i])
        components.append(EngagementComponent(
            component=name, weight=s.weights[name], effective_weight=round(eff, 2),
            score=None if cs is None else round(cs, 1),
            contribution=None if cs is None else round(eff * cs / 100, 2), metrics=metrics,
        ))
    missing = [c.component for c in components if c.score is None]
    notes = []
    if missing:
        notes.append(f"No data for {', '.join(missing)}: their weight was re-spread over the other components "
                     "(see effective_weight).")
    partial = [m.metric for c in components if c.score is not None for m in c.metrics if m.points is None]
    if partial:
        notes.append(f"Inputs without data, re-spread inside their component: {', '.join(partial)}.")
    if not facts.active[i]:  # queries.customers: churned by then, or not started yet
        notes.append(f"The account was not a customer on {ws.as_of.isoformat()}.")
    flags = [
        RedFlag(code=code, message=_flag_message(code, facts, i, s), action=FLAG_ACTIONS[code])
        for code, mask in facts.flags.items() if mask[i]
    ]
    return AccountEngagement(
        account_id=ref.account_id,
        name=ref.name,
        segment=row.get("segment"),
        csm_id=row.get("csm_id"),
        status=row.get("status"),
        arr=_f(row.get("arr")),
        as_of=ws.as_of,
        score=round(score, 1),
        band=str(facts.band[i]),
        bands=dict(s.bands),
        components=components,
        missing_components=missing,
        cadence=_cadence(ws, facts, i, ref.account_id) if "touchpoints" in ws.tables else None,
        stakeholders=_stakeholders(ws, ref.account_id) if "contacts" in ws.tables else None,
        red_flags=flags,
        not_computed=_not_computed(ws),
        tables_used=_tables_used(ws),
        note=" ".join(notes) or None,
    )


# ------------------------------------------------------------------------ portfolio


def filter_mask(ws: Workspace, column: str, values: Any, wanted: str) -> np.ndarray:
    """Rows whose accounts.<column> equals `wanted` (case-insensitive; 'unassigned' = no CSM)."""
    import numpy as np

    key = wanted.strip().lower()
    if column == "csm_id" and key == UNASSIGNED:
        return np.array([v is None or str(v).strip() == "" for v in values], dtype=bool)
    require_known_value(ws, column, wanted.strip())
    return np.array([v is not None and str(v).strip().lower() == key for v in values], dtype=bool)


def portfolio_engagement(
    ws: Workspace,
    segment: str | None = None,
    csm_id: str | None = None,
    band: str | None = None,
    sort: Sort = "lowest",
    limit: int | None = None,
    cursor: str | None = None,
) -> PortfolioEngagement:
    """Active accounts ranked by engagement, with band and red-flag counts over the filtered set."""
    import numpy as np

    from cs_mcp.domain.portfolio import portfolio_snapshot

    s = ws.settings.engagement
    limit = limit or ws.settings.server.page_size
    offset = decode_cursor(cursor)
    facts = engagement_facts(ws)
    frame = portfolio_snapshot(ws).frame
    mask = facts.active.copy()
    filters: dict[str, str] = {}
    if segment:
        mask &= filter_mask(ws, "segment", frame["segment"], segment)
        filters["segment"] = segment
    if csm_id:
        mask &= filter_mask(ws, "csm_id", frame["csm_id"], csm_id)
        filters["csm_id"] = csm_id
    scored = mask & ~np.isnan(facts.score)
    if band:
        if band not in BANDS:
            raise InvalidArgument(f"Unknown band '{band}'. Send one of: {', '.join(BANDS)}.")
        filters["band"] = band
    arr = np.nan_to_num(np.asarray(frame["arr"], dtype=float))
    bands = [
        BandCount(band=b, accounts=int((scored & (facts.band == b)).sum()),
                  arr=round(float(arr[scored & (facts.band == b)].sum()), 2))
        for b in BANDS
    ]
    flag_counts = [
        FlagCount(code=code, label=FLAG_LABELS[code], accounts=int((scored & m).sum()),
                  arr=round(float(arr[scored & m].sum()), 2))
        for code, m in facts.flags.items()
    ]
    flag_counts.sort(key=lambda f: (-f.accounts, -f.arr))
    listed = scored & (facts.band == band) if band else scored
    idx = np.flatnonzero(listed)
    score = facts.score[idx]
    if sort == "highest":
        order = np.lexsort((-arr[idx], -score))
    elif sort == "arr":
        order = np.lexsort((score, -arr[idx]))
    else:
        order = np.lexsort((-arr[idx], score))
    ranked = idx[order]
    page = ranked[offset: offset + limit]
    rows = []
    for rank, i in enumerate(page, start=offset + 1):
        days = facts.counts["days_since_last_touch"][i]
        rows.append(EngagementRow(
            rank=rank,
            account_id=str(frame["account_id"][i]),
            name=str(frame["name"][i]),
            segment=frame["segment"][i],
            csm_id=frame["csm_id"][i],
            arr=_f(frame["arr"][i]),
            score=round(float(facts.score[i]), 1),
            band=str(facts.band[i]),
            components={c: (None if np.isnan(v[i]) else round(float(v[i]), 1))
                        for c, v in facts.component_scores.items()},
            touches_in_window=int(facts.counts["touches"][i]) if "touchpoints" in ws.tables else None,
            days_since_last_touch=None if "touchpoints" not in ws.tables else _int(days),
            active_contacts=int(facts.counts["contacts"][i]) if "contacts" in ws.tables else None,
            red_flags=[code for code, m in facts.flags.items() if m[i]],
        ))
    without = {c: int((scored & np.isnan(v)).sum()) for c, v in facts.component_scores.items()}
    n_scored = int(scored.sum())
    if n_scored == 0 and int(mask.sum()) > 0 and not any(
        t in ws.tables for t in ("touchpoints", "contacts", "usage", "feature_usage")
    ):
        raise NoData(
            "No engagement data: add a touchpoints, contacts, usage or feature_usage table to the workspace."
        )
    notes = []
    absent = [c for c, k in without.items() if n_scored and k == n_scored]
    if absent:
        notes.append(f"No data for {', '.join(absent)}: their weight was re-spread over the other components.")
    partial = {c: k for c, k in without.items() if k and c not in absent}
    if partial:
        notes.append(
            "Weight re-spread for accounts without data for a component: "
            + ", ".join(f"{c} ({k} accounts)" for c, k in partial.items()) + "."
        )
    unscored = int(mask.sum()) - n_scored
    if unscored:
        notes.append(f"{unscored} active accounts have no engagement data and are not ranked.")
    nxt = offset + len(rows)
    return PortfolioEngagement(
        as_of=ws.as_of,
        filters=filters,
        sort=sort,
        scored_accounts=n_scored,
        unscored_accounts=unscored,
        average_score=None if n_scored == 0 else round(float(facts.score[scored].mean()), 1),
        bands=bands,
        red_flags=flag_counts,
        weights=dict(s.weights),
        components_without_data=without,
        accounts=rows,
        total=len(ranked),
        returned=len(rows),
        next_cursor=encode_cursor(nxt) if nxt < len(ranked) else None,
        not_computed=_not_computed(ws),
        tables_used=_tables_used(ws),
        note=" ".join(notes) or None,
    )


def engagement_report(
    ws: Workspace,
    account: str | None = None,
    segment: str | None = None,
    csm_id: str | None = None,
    band: str | None = None,
    sort: Sort = "lowest",
    limit: int | None = None,
    cursor: str | None = None,
) -> EngagementReport:
    """One account's engagement when `account` is given, else the portfolio's."""
    if account:
        if segment or csm_id or band or cursor:
            raise InvalidArgument(
                "account reports one account: send it alone, or drop it and filter the portfolio by segment, "
                "csm_id or band."
            )
        return EngagementReport(scope="account", account=account_engagement(ws, account))
    return EngagementReport(
        scope="portfolio", portfolio=portfolio_engagement(ws, segment, csm_id, band, sort, limit, cursor)
    )
