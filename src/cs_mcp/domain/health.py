"""One account's health: score, dimensions, trend, alerts, risks, signals and actions."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cs_mcp.domain.errors import InvalidArgument, NoData
from cs_mcp.domain.formatting import pct
from cs_mcp.domain.scoring import ScoredFrame, band_of, score_frame

if TYPE_CHECKING:
    from cs_mcp.config import Settings
    from cs_mcp.workspace.loader import Workspace

Band = Literal["green", "yellow", "red", "unknown"]

METRIC_SOURCES = {
    "seat_utilization": "usage",
    "logins_per_user_week": "usage",
    "feature_adoption": "feature_usage",
    "outreach_response_rate": "touchpoints",
    "meeting_attendance_rate": "touchpoints",
    "days_since_last_touch": "touchpoints",
    "ticket_volume_ratio": "tickets",
    "open_critical_tickets": "tickets",
    "support_csat": "tickets",
    "nps": "nps",
    "csat": "tickets",
    "days_overdue": "invoices",
    "arr_growth_12m": "subscriptions",
}

ACTIONS = {
    "seat_utilization": "Run an adoption push: identify inactive licensed users with the admin and schedule "
    "enablement sessions.",
    "logins_per_user_week": "Find out why users log in rarely (workflow fit, friction); share quick-win use cases.",
    "feature_adoption": "Walk the champion through unused features that match their goals; offer training.",
    "outreach_response_rate": "Outreach goes unanswered: try another channel or contact, or escalate via the "
    "executive sponsor.",
    "meeting_attendance_rate": "Meetings are missed: shorten them, tie the agenda to the customer's goals, "
    "confirm attendees.",
    "days_since_last_touch": "Book a check-in this week: the account has not heard from its CSM recently.",
    "ticket_volume_ratio": "Ticket volume is above the account's norm: review the recent tickets for a common "
    "cause with support.",
    "open_critical_tickets": "Get the open critical tickets owned and resolved; give the customer a dated plan.",
    "support_csat": "Support satisfaction is low: review the poorly rated tickets and close the loop.",
    "nps": "Follow up with detractors personally; turn their feedback into a tracked plan.",
    "csat": "Satisfaction is low: review recent survey answers and agree fixes with the champion.",
    "days_overdue": "Involve finance: resolve the overdue invoice before it becomes a renewal blocker.",
    "arr_growth_12m": "ARR is shrinking: review the contraction reasons and rebuild the value case.",
}


class MetricResult(BaseModel):
    metric: str
    label: str = Field(description="what the input means, in words")
    value: float | None = Field(description="the input; null when the data has none")
    display: str = Field(description="the input in words, e.g. '72% of seats active'")
    points: float | None = Field(description="points earned inside the dimension")
    max_points: float
    source_table: str


class DimensionResult(BaseModel):
    dimension: str
    weight: float = Field(description="configured weight for this account's segment")
    effective_weight: float = Field(description="weight after re-spreading missing dimensions (sums to 100)")
    score: float | None = Field(description="0-100 within the dimension; null when no input has data")
    contribution: float | None = Field(description="points this dimension adds to the 0-100 health score")
    metrics: list[MetricResult]


class TrendPoint(BaseModel):
    days_ago: int
    as_of: dt.date
    score: float | None
    band: Band


class HealthTrend(BaseModel):
    history: list[TrendPoint]
    velocity_per_day: float | None = Field(description="(score now - score N days ago) / N")
    velocity_window_days: int
    direction: Literal["improving", "stable", "declining", "fast_decline", "unknown"]


class Alert(BaseModel):
    severity: Literal["critical", "warning"]
    code: str
    message: str


class HealthScore(BaseModel):
    account_id: str | None
    name: str | None
    segment: str | None
    status: str | None
    arr: float | None
    renewal_in_days: int | None
    as_of: dt.date | None
    source: Literal["workspace", "ad-hoc metrics"]
    model: str = Field(description="health model used (config health.model)")
    score: float = Field(description="0-100")
    band: Band
    bands: dict[str, float] = Field(description="band thresholds in force")
    dimensions: list[DimensionResult]
    missing_dimensions: list[str] = Field(description="dimensions with no data; their weight was re-spread")
    note: str | None = None
    trend: HealthTrend | None
    risk_factors: list[str]
    positive_signals: list[str]
    alerts: list[Alert]
    recommended_actions: list[str]
    tables_used: list[str]


class AdHocMetrics(BaseModel):
    """Metrics for an account that is not in the data (any subset)."""

    # an unknown key is refused, not ignored: a misspelt metric would silently re-spread its weight
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    segment: str | None = Field(
        None, max_length=200, description="segment, for per-segment weights (e.g. enterprise, smb)"
    )
    active_users: float | None = Field(None, ge=0, le=1e8, description="users active in the last 4 weeks")
    seats: float | None = Field(
        None, gt=0, le=1e8, description="licensed seats (with active_users gives utilization)"
    )
    seat_utilization: float | None = Field(None, ge=0, le=5, description="active users / seats, e.g. 0.85")
    logins_per_user_week: float | None = Field(
        None, ge=0, le=10_000, description="logins per active user per week"
    )
    feature_adoption: float | None = Field(None, ge=0, le=1, description="share of features used, 0-1")
    outreach_response_rate: float | None = Field(None, ge=0, le=1, description="share of outreach answered")
    meeting_attendance_rate: float | None = Field(None, ge=0, le=1, description="share of meetings held")
    days_since_last_touch: float | None = Field(
        None, ge=0, le=36_500, description="days since the last CSM contact"
    )
    ticket_volume_ratio: float | None = Field(
        None, ge=0, le=10_000, description="recent tickets / usual volume (1 = normal)"
    )
    open_critical_tickets: float | None = Field(None, ge=0, le=1e6, description="critical tickets open now")
    support_csat: float | None = Field(None, ge=0, le=1, description="share of support CSAT answers 4-5")
    nps: float | None = Field(None, ge=-100, le=100, description="account NPS, -100..100")
    csat: float | None = Field(None, ge=0, le=1, description="share of CSAT answers 4-5, 0-1")
    days_overdue: float | None = Field(
        None, ge=0, le=36_500, description="days the oldest unpaid invoice is overdue (0 = current)"
    )
    arr_growth_12m: float | None = Field(
        None, ge=-1, le=1_000, description="ARR change over 12 months, e.g. 0.1 = +10%"
    )
    renewal_in_days: int | None = Field(
        None, ge=-36_500, le=36_500, description="days to renewal, for the renewal alert"
    )
    previous_score: float | None = Field(None, ge=0, le=100, description="health score 30 days ago, for the trend")


def _display(metric: str, row: dict[str, Any]) -> tuple[str, str]:
    """(label, the value in words) for a metric of a feature row."""
    v = row.get(metric)
    if v is None or v != v:
        return METRIC_LABELS[metric], "no data"
    match metric:
        case "seat_utilization":
            au, seats = row.get("active_users"), row.get("seats_purchased")
            extra = f" ({au:.0f} of {seats:.0f} seats active)" if au == au and au is not None and seats else ""
            return METRIC_LABELS[metric], f"seat utilization {pct(v)}{extra}"
        case "logins_per_user_week":
            return METRIC_LABELS[metric], f"{v:.1f} logins per active user per week"
        case "feature_adoption":
            used = row.get("features_used")
            extra = f" ({used:.0f} features)" if used is not None and used == used else ""
            return METRIC_LABELS[metric], f"uses {pct(v)} of the product's features{extra}"
        case "outreach_response_rate":
            return METRIC_LABELS[metric], f"answered {pct(v)} of CSM outreach"
        case "meeting_attendance_rate":
            return METRIC_LABELS[metric], f"{pct(v)} of scheduled meetings held"
        case "days_since_last_touch":
            return METRIC_LABELS[metric], f"last CSM touch {v:.0f} days ago"
        case "ticket_volume_ratio":
            n = row.get("tickets_30d")
            extra = f" ({n:.0f} tickets in 30 days)" if n is not None and n == n else ""
            return METRIC_LABELS[metric], f"ticket volume {v:.1f}x the usual{extra}"
        case "open_critical_tickets":
            return METRIC_LABELS[metric], f"{v:.0f} critical ticket{'s' if v != 1 else ''} open"
        case "support_csat":
            return METRIC_LABELS[metric], f"support CSAT {pct(v)} satisfied"
        case "nps":
            n = row.get("nps_responses")
            extra = f" ({n:.0f} respondents)" if n is not None and n == n and n else ""
            return METRIC_LABELS[metric], f"NPS {v:+.0f}{extra}"
        case "csat":
            return METRIC_LABELS[metric], f"CSAT {pct(v)} satisfied"
        case "days_overdue":
            text = "invoices paid on time" if v <= 0 else f"oldest unpaid invoice {v:.0f} days overdue"
            return METRIC_LABELS[metric], text
        case "arr_growth_12m":
            return METRIC_LABELS[metric], f"ARR {v * 100:+.0f}% over 12 months"
    return METRIC_LABELS.get(metric, metric), f"{v:g}"


METRIC_LABELS = {
    "seat_utilization": "active users / licensed seats",
    "logins_per_user_week": "logins per active user per week",
    "feature_adoption": "share of features used in 30 days",
    "outreach_response_rate": "share of CSM outreach answered (90 days)",
    "meeting_attendance_rate": "share of scheduled meetings held (90 days)",
    "days_since_last_touch": "days since the last CSM touch",
    "ticket_volume_ratio": "tickets in 30 days vs the account's usual monthly volume",
    "open_critical_tickets": "critical tickets open",
    "support_csat": "support CSAT: share of 4-5 answers (90 days)",
    "nps": "account NPS (12 months, latest answer per respondent)",
    "csat": "CSAT: share of 4-5 answers (12 months)",
    "days_overdue": "days the oldest unpaid invoice is overdue",
    "arr_growth_12m": "ARR change over 12 months",
}


def _f(value: Any) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if v != v else v


def _dimensions(scored: ScoredFrame, i: int, row: dict[str, Any]) -> list[DimensionResult]:
    out = []
    for d, dim in scored.model.dimensions.items():
        metrics = []
        for metric, points in dim.metrics.items():
            frac = _f(scored.metric_fractions[metric][i])
            label, display = _display(metric, row)
            metrics.append(
                MetricResult(
                    metric=metric,
                    label=label,
                    value=_f(row.get(metric)),
                    display=display,
                    points=None if frac is None else round(frac * points, 2),
                    max_points=points,
                    source_table=METRIC_SOURCES.get(metric, "accounts"),
                )
            )
        score = _f(scored.dimension_scores[d][i])
        eff = float(scored.effective_weights[d][i])
        out.append(
            DimensionResult(
                dimension=d,
                weight=float(scored.dimension_weights[d][i]),
                effective_weight=round(eff, 2),
                score=None if score is None else round(score, 1),
                contribution=None if score is None else round(eff * score / 100, 2),
                metrics=metrics,
            )
        )
    return out


def _risks_and_signals(dims: list[DimensionResult]) -> tuple[list[str], list[str], list[str]]:
    weak: list[tuple[float, MetricResult]] = []
    strong: list[tuple[float, MetricResult]] = []
    for d in dims:
        for m in d.metrics:
            if m.points is None:
                continue
            frac = m.points / m.max_points if m.max_points else 0
            if frac < 0.5:
                weak.append(((m.max_points - m.points) * d.effective_weight, m))
            elif frac >= 0.9:
                strong.append((m.max_points * d.effective_weight, m))
    weak.sort(key=lambda t: -t[0])
    strong.sort(key=lambda t: -t[0])
    risks = [m.display for _, m in weak]
    signals = [m.display for _, m in strong]
    actions = [ACTIONS[m.metric] for _, m in weak if m.metric in ACTIONS]
    return risks, signals, actions


def _alerts(
    settings: Settings, row: dict[str, Any], score: float, score_7d: float | None, renewal_in_days: int | None
) -> list[Alert]:
    a = settings.health.alerts
    alerts: list[Alert] = []
    if score_7d is not None and score_7d - score >= a.drop_points:
        alerts.append(Alert(severity="warning", code="score_drop",
                            message=f"health fell {score_7d - score:.0f} points in {a.drop_window_days} days"))
    if renewal_in_days is not None and 0 <= renewal_in_days <= a.renewal_within_days and score < a.renewal_score_below:
        alerts.append(Alert(severity="warning", code="renewal_at_risk",
                            message=f"health {score:.0f} is under {a.renewal_score_below:g} with the renewal "
                                    f"in {renewal_in_days} days"))
    change = _f(row.get("usage_change_pct"))
    if change is not None and change <= -a.usage_drop_pct:
        alerts.append(Alert(severity="critical", code="usage_drop",
                            message=f"active users down {-change:.0f}% vs 30 days earlier"))
    idle = _f(row.get("days_since_last_login"))
    if idle is not None and idle >= a.no_login_days:
        alerts.append(Alert(severity="critical", code="no_logins", message=f"no logins for {idle:.0f} days"))
    hours = _f(row.get("oldest_open_critical_hours"))
    if hours is not None and hours > a.critical_ticket_hours:
        alerts.append(Alert(severity="critical", code="critical_ticket_open",
                            message=f"a critical ticket has been open {hours:.0f} hours"))
    low_nps = _f(row.get("min_nps_score_90d"))
    if low_nps is not None and low_nps <= a.nps_at_most:
        alerts.append(Alert(severity="critical", code="nps_detractor",
                            message=f"an NPS answer of {low_nps:.0f} in the last 90 days"))
    overdue = _f(row.get("days_overdue"))
    if overdue is not None and overdue >= a.invoice_overdue_days:
        alerts.append(Alert(severity="critical", code="invoice_overdue",
                            message=f"an invoice is {overdue:.0f} days overdue"))
    if a.executive_sponsor_left and _f(row.get("exec_sponsor_left_90d")) == 1.0:
        alerts.append(Alert(severity="critical", code="sponsor_left",
                            message="the executive sponsor left in the last 90 days and has no successor"))
    return alerts


def _trend(settings: Settings, now: float, history: list[TrendPoint]) -> HealthTrend:
    t = settings.health.trend
    window = t.velocity_window_days
    ref = next((p for p in history if p.days_ago == window), None)
    velocity = None if ref is None or ref.score is None else (now - ref.score) / window
    if velocity is None:
        direction = "unknown"
    elif velocity <= t.fast_decline_per_day:
        direction = "fast_decline"
    elif velocity <= -t.stable_per_day:
        direction = "declining"
    elif velocity >= t.stable_per_day:
        direction = "improving"
    else:
        direction = "stable"
    return HealthTrend(
        history=history,
        velocity_per_day=None if velocity is None else round(velocity, 3),
        velocity_window_days=window,
        direction=direction,
    )


def _note(dims: list[DimensionResult]) -> tuple[list[str], str | None]:
    missing = [d.dimension for d in dims if d.score is None]
    partial = [
        f"{m.metric} ({m.source_table})" for d in dims if d.score is not None for m in d.metrics if m.points is None
    ]
    parts = []
    if missing:
        parts.append(
            f"No data for {', '.join(missing)}: their weight was re-spread over the other dimensions in "
            "proportion (see effective_weight)."
        )
    if partial:
        parts.append(f"Inputs without data, re-spread inside their dimension: {', '.join(partial)}.")
    return missing, " ".join(parts) or None


def health_for_account(ws: Workspace, account_id: str, as_of: dt.date | None = None) -> HealthScore:
    """Score one account from the workspace, with its trend over the configured look-backs."""
    from cs_mcp.workspace.features import compute_features

    settings = ws.settings
    now = as_of or ws.as_of
    lookbacks = sorted({settings.health.alerts.drop_window_days, *settings.health.trend.lookback_days,
                        settings.health.trend.velocity_window_days})
    dates = [now] + [now - dt.timedelta(days=d) for d in lookbacks]
    frame = compute_features(ws, dates, [account_id])
    if len(frame) == 0:
        raise InvalidArgument(f"account {account_id} is not in the workspace")
    order = [frame.row(i)["as_of"] for i in range(len(frame))]
    frame = frame.select([order.index(d) for d in dates])  # rows in the order of `dates`
    scored = score_frame(frame.columns, settings.health)
    row = frame.row(0)
    score = _f(scored.score[0])
    if score is None:
        raise NoData(
            f"No data to score {row['name']} ({account_id}): add usage, touchpoints, tickets, nps, "
            "invoices or subscriptions rows for it."
        )
    history = []
    for i, days in enumerate(lookbacks, start=1):
        s = _f(scored.score[i])
        history.append(TrendPoint(days_ago=days, as_of=dates[i], score=None if s is None else round(s, 1),
                                  band=scored.band(i)))
    score_7d = next((p.score for p in history if p.days_ago == settings.health.alerts.drop_window_days), None)
    renewal = _f(row.get("days_to_renewal"))
    renewal_days = None if renewal is None else int(renewal)
    dims = _dimensions(scored, 0, row)
    missing, note = _note(dims)
    risks, signals, actions = _risks_and_signals(dims)
    alerts = _alerts(settings, row, score, score_7d, renewal_days)
    trend = _trend(settings, score, [p for p in history if p.days_ago in settings.health.trend.lookback_days
                                     or p.days_ago == settings.health.trend.velocity_window_days])
    if trend.direction == "fast_decline":
        actions.insert(0, "Health is falling fast: review this account with the CS lead this week.")
    if any(a.code == "renewal_at_risk" for a in alerts):
        actions.insert(0, "Start the at-risk renewal play now (the dated steps are in cs://templates/renewal-playbook).")
    if row.get("status") == "churned":
        note = ((note or "") + " The account is marked churned.").strip()
    used = sorted({"accounts", *(m.source_table for d in dims for m in d.metrics if m.points is not None)})
    return HealthScore(
        account_id=row["account_id"],
        name=row["name"],
        segment=row.get("segment"),
        status=row.get("status"),
        arr=_f(row.get("arr")),
        renewal_in_days=renewal_days,
        as_of=now,
        source="workspace",
        model=scored.model_name,
        score=round(score, 1),
        band=scored.band(0),
        bands={"green": scored.model.bands.green, "yellow": scored.model.bands.yellow},
        dimensions=dims,
        missing_dimensions=missing,
        note=note,
        trend=trend,
        risk_factors=risks,
        positive_signals=signals,
        alerts=alerts,
        recommended_actions=list(dict.fromkeys(actions)),
        tables_used=used,
    )


def health_from_metrics(settings: Settings, metrics: AdHocMetrics, name: str | None = None) -> HealthScore:
    """Score an account that is not in the data from metrics the user states."""
    import numpy as np

    values = metrics.model_dump()
    if values["seat_utilization"] is None and values["active_users"] is not None and values["seats"]:
        values["seat_utilization"] = values["active_users"] / values["seats"]
    row: dict[str, Any] = {k: (np.nan if v is None else v) for k, v in values.items()}
    row["seats_purchased"] = values["seats"] if values["seats"] is not None else np.nan
    metric_names = set(METRIC_LABELS)
    if all(values.get(m) is None for m in metric_names):
        raise InvalidArgument(
            "metrics holds no scoring input: send at least one of " + ", ".join(sorted(metric_names))
            + " (for utilization, active_users and seats)."
        )
    columns = {k: np.array([v], dtype=float) for k, v in row.items() if k != "segment"}
    columns["segment"] = np.array([metrics.segment], dtype=object)
    scored = score_frame(columns, settings.health)
    score = float(scored.score[0])
    dims = _dimensions(scored, 0, row)
    missing, note = _note(dims)
    risks, signals, actions = _risks_and_signals(dims)
    alerts = _alerts(settings, row, score, None, metrics.renewal_in_days)
    trend = None
    if metrics.previous_score is not None:
        window = settings.health.trend.velocity_window_days
        trend = _trend(settings, score, [TrendPoint(
            days_ago=window, as_of=dt.date.today() - dt.timedelta(days=window), score=metrics.previous_score,
            band=band_of(metrics.previous_score, scored.model.bands.green, scored.model.bands.yellow))])
    used_metrics = sorted(m for m in metric_names if values.get(m) is not None)
    return HealthScore(
        account_id=None,
        name=name,
        segment=metrics.segment,
        status=None,
        arr=None,
        renewal_in_days=metrics.renewal_in_days,
        as_of=None,
        source="ad-hoc metrics",
        model=scored.model_name,
        score=round(score, 1),
        band=scored.band(0),
        bands={"green": scored.model.bands.green, "yellow": scored.model.bands.yellow},
        dimensions=dims,
        missing_dimensions=missing,
        note=note,
        trend=trend,
        risk_factors=risks,
        positive_signals=signals,
        alerts=alerts,
        recommended_actions=list(dict.fromkeys(actions)),
        tables_used=[f"metrics: {', '.join(used_metrics)}"],
    )
