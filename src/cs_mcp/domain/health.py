"""One account's health: score, dimensions, trend, alerts, risks, signals and actions."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cs_mcp.domain import metrics
from cs_mcp.domain.errors import InvalidArgument, NoData
from cs_mcp.domain.formatting import day_count, score_text
from cs_mcp.domain.scoring import ScoredFrame, band_of, score_frame

if TYPE_CHECKING:
    from cs_mcp.config import Settings
    from cs_mcp.workspace.loader import Workspace

Band = Literal["green", "yellow", "red", "unknown"]

HEALTH_INPUTS = (
    "seat_utilization", "logins_per_user_week", "feature_adoption", "outreach_response_rate",
    "meeting_attendance_rate", "days_since_last_touch", "ticket_volume_ratio", "open_critical_tickets",
    "support_csat", "nps", "csat", "days_overdue", "arr_growth_12m",
)
METRIC_SOURCES = {m: metrics.source(m) for m in HEALTH_INPUTS}
METRIC_LABELS = {m: metrics.label(m) for m in HEALTH_INPUTS}


def action_for(metric: str) -> str | None:
    """The play for a weak input, from the actions catalogue (a sentence)."""
    from cs_mcp.content import catalogue

    play = catalogue("actions")["plays"].get(metric)
    return None if play is None else play[0].upper() + play[1:] + "."


class MetricResult(BaseModel):
    metric: str
    label: str = Field(description="what the input means, in words")
    value: float | None = Field(description="the input; null when the data has none")
    display: str = Field(description="the input in words, e.g. '72% of seats active'")
    sample_size: int | None = Field(None, description="answers a rate rests on (ratings, meetings, respondents)")
    scored_value: float | None = Field(
        None, description="the value scored: a rate from few answers is damped toward a neutral prior"
    )
    expected: bool = Field(
        True, description="false when the account's coverage model does not expect this input (not scored)"
    )
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
    velocity_per_day: float | None = Field(description="(score now - score N days ago) / N, N = the window")
    velocity_window_days: int
    velocities: dict[int, float] = Field(
        default_factory=dict, description="days ago -> (score now - score then) / days, per look-back"
    )
    direction: Literal["improving", "stable", "declining", "fast_decline", "unknown"] = Field(
        description="from every look-back: fast_decline when any velocity is at or below the fast-decline rate, "
        "declining when any is at or below -stable, improving when one is at or above +stable and none declines"
    )


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
        return metrics.label(metric), "no data"
    return metrics.label(metric), metrics.describe(metric, v, row)


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
        results = []
        for metric, points in dim.metrics.items():
            frac = _f(scored.metric_fractions[metric][i])
            label, display = _display(metric, row)
            expected = not bool(scored.not_expected[metric][i])
            if not expected:
                display += f" (not expected: {scored.coverage[i].replace('_', '-')} coverage)"
            col = metrics.sample_column(metric)
            n = _f(row.get(col)) if col else None
            value = _f(row.get(metric))
            used = _f(scored.scored_values[metric][i])
            results.append(
                MetricResult(
                    metric=metric,
                    label=label,
                    value=value,
                    display=display,
                    sample_size=None if n is None else int(n),
                    scored_value=None if used is None or used == value else round(used, 4),
                    expected=expected,
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
                metrics=results,
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
    actions = [a for _, m in weak if (a := action_for(m.metric))]
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
                            message=f"health {score_text(score)} is under {a.renewal_score_below:g} with the renewal "
                                    f"in {day_count(renewal_in_days)}"))
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
                            message=f"an invoice {day_count(overdue)} overdue"))
    if a.executive_sponsor_left and _f(row.get("exec_sponsor_left_90d")) == 1.0:
        alerts.append(Alert(severity="critical", code="sponsor_left",
                            message="the executive sponsor left in the last 90 days and has no successor"))
    return alerts


def _trend(settings: Settings, now: float, history: list[TrendPoint]) -> HealthTrend:
    """Velocity over each look-back; the direction reads all of them, so a drop 60 days ago still shows."""
    t = settings.health.trend
    window = t.velocity_window_days
    velocities = {p.days_ago: (now - p.score) / p.days_ago for p in history if p.score is not None and p.days_ago}
    v = velocities.get(window)
    if not velocities:
        direction = "unknown"
    elif min(velocities.values()) <= t.fast_decline_per_day:
        direction = "fast_decline"
    elif min(velocities.values()) <= -t.stable_per_day:
        direction = "declining"
    elif max(velocities.values()) >= t.stable_per_day:
        direction = "improving"
    else:
        direction = "stable"
    return HealthTrend(
        history=history,
        velocity_per_day=None if v is None else round(v, 3),
        velocity_window_days=window,
        velocities={d: round(x, 3) for d, x in sorted(velocities.items())},
        direction=direction,
    )


def trend_days(settings: Settings) -> list[int]:
    """The look-backs a trend reads: health.trend.lookback_days and the velocity window."""
    t = settings.health.trend
    return sorted({*t.lookback_days, t.velocity_window_days})


def trend_change(settings: Settings, now: float, then: dict[int, float], as_of: dt.date) -> tuple[int, float] | None:
    """(days, score then) of the look-back the trend of `now` is read from, given the scores `then` (days ago ->
    score, as health-score keeps them: one decimal); None without history."""
    history = [TrendPoint(days_ago=d, as_of=as_of - dt.timedelta(days=d), score=round(s, 1), band="unknown")
               for d, s in then.items() if s == s]
    change = deciding_change(_trend(settings, now, history))
    return None if change is None else (change[0], next(p.score for p in history if p.days_ago == change[0]))


def deciding_change(trend: HealthTrend) -> tuple[int, float] | None:
    """(days, points) of the look-back the direction was read from: the steepest fall for a decline, the
    steepest rise for an improvement, the velocity window otherwise; None without history."""
    if not trend.velocities:
        return None
    pick = {"fast_decline": min, "declining": min, "improving": max}.get(trend.direction)
    days = (pick(trend.velocities, key=trend.velocities.get) if pick else
            trend.velocity_window_days if trend.velocity_window_days in trend.velocities else None)
    if days is None:
        return None
    return int(days), round(trend.velocities[days] * int(days), 1)


def _note(dims: list[DimensionResult]) -> tuple[list[str], str | None]:
    off = {m.metric for d in dims for m in d.metrics if not m.expected}
    missing = [d.dimension for d in dims if d.score is None]
    not_expected = [d for d in missing if all(not m.expected for m in _dim(dims, d).metrics)]
    partial = [
        f"{m.metric} ({m.source_table})" for d in dims if d.score is not None for m in d.metrics
        if m.points is None and m.metric not in off
    ]
    parts = []
    if off:
        parts.append(
            f"Not expected of this account's coverage model, so left out: {', '.join(sorted(off))} "
            "(health.coverage)."
        )
    no_data = [d for d in missing if d not in not_expected]
    if no_data:
        parts.append(
            f"No data for {', '.join(no_data)}: their weight was re-spread over the other dimensions in "
            "proportion (see effective_weight)."
        )
    if partial:
        parts.append(f"Inputs without data, re-spread inside their dimension: {', '.join(partial)}.")
    return missing, " ".join(parts) or None


def _dim(dims: list[DimensionResult], name: str) -> DimensionResult:
    return next(d for d in dims if d.dimension == name)


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
        # before the account was a customer there is no health to compare with
        s = _f(scored.score[i]) if frame.row(i).get("is_active") == 1 else None
        history.append(TrendPoint(days_ago=days, as_of=dates[i], score=None if s is None else round(s, 1),
                                  band=scored.band(i) if s is not None else "unknown"))
    score_7d = next((p.score for p in history if p.days_ago == settings.health.alerts.drop_window_days), None)
    renewal = _f(row.get("days_to_renewal"))
    renewal_days = None if renewal is None else int(renewal)
    dims = _dimensions(scored, 0, row)
    missing, note = _note(dims)
    risks, signals, actions = _risks_and_signals(dims)
    alerts = _alerts(settings, row, score, score_7d, renewal_days)
    trend = _trend(settings, score, [p for p in history if p.days_ago in trend_days(settings)])
    if trend.direction == "fast_decline":
        actions.insert(0, "Health is falling fast: review this account with the CS lead this week.")
    if any(a.code == "renewal_at_risk" for a in alerts):
        actions.insert(0, "Start the at-risk renewal play now (the dated steps are in cs://templates/renewal-playbook).")
    if row.get("is_active") != 1.0:  # queries.customers: churned by then, or not started yet
        note = ((note or "") + f" The account was not a customer on {now.isoformat()}.").strip()
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
