"""Churn risk: the leading-indicator score, tiers, and the ranked churn-risk list of active accounts."""

from __future__ import annotations

import datetime as dt
import difflib
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from cs_mcp.domain.errors import InvalidArgument
from cs_mcp.domain.formatting import pct
from cs_mcp.domain.paging import Page, decode_cursor, encode_cursor
from cs_mcp.domain.periods import renewal_coverage, renewal_quarter

if TYPE_CHECKING:
    import numpy as np

    from cs_mcp.config import ChurnIndicator, ChurnSettings, ChurnTiers
    from cs_mcp.workspace.loader import Workspace

Tier = Literal["critical", "high", "medium", "low"]
TIERS: tuple[Tier, ...] = ("critical", "high", "medium", "low")
Method = Literal["model", "leading-indicator"]

TIER_ACTIONS: dict[str, str] = {
    "critical": "Save play this week: CS lead and executive sponsor call, a dated recovery plan on the top "
    "drivers.",
    "high": "Intervene within 2 weeks: CSM meeting on the top drivers, confirm the value case and the "
    "renewal path.",
    "medium": "Watch this month: one targeted touch on the top driver; re-check health in 30 days.",
    "low": "Keep the regular cadence; look for expansion and advocacy.",
}


class Driver(BaseModel):
    """One reason an account's churn risk differs from the portfolio's typical account."""

    feature: str = Field(description="model feature or indicator name")
    text: str = Field(description="the driver in words, e.g. 'active users down 46% in 30 days'")
    direction: Literal["raises risk", "lowers risk"]
    impact: float = Field(
        description="change in churn probability (percentage points) against the portfolio's typical value "
        "of this feature; for the leading-indicator score, the indicator's points / 100"
    )


# ----------------------------------------------------------------------------- leading indicators


def indicator_hits(columns: dict[str, Any], indicators: list[ChurnIndicator]) -> np.ndarray:
    """Boolean matrix rows x indicators: which indicators fire (a metric without data never fires)."""
    import numpy as np

    n = len(next(iter(columns.values())))
    hits = np.zeros((n, len(indicators)), dtype=bool)
    for j, ind in enumerate(indicators):
        raw = columns.get(ind.metric)
        if raw is None:
            continue
        v = np.asarray(raw, dtype=float)
        with np.errstate(invalid="ignore"):
            match ind.op:
                case "<":
                    hit = v < ind.value
                case "<=":
                    hit = v <= ind.value
                case ">":
                    hit = v > ind.value
                case ">=":
                    hit = v >= ind.value
                case _:
                    hit = v == ind.value
        hits[:, j] = hit & ~np.isnan(v)
    return hits


def indicator_points(settings: ChurnSettings) -> np.ndarray:
    import numpy as np

    pts = settings.leading_indicator_points
    by_tier = {1: pts.tier1, 2: pts.tier2, 3: pts.tier3}
    return np.array([by_tier[i.tier] for i in settings.indicators], dtype=float)


def leading_indicator_score(
    columns: dict[str, Any], settings: ChurnSettings
) -> tuple[np.ndarray, np.ndarray]:
    """(score 0..cap per row, hit matrix); by default tier-1 indicators earn 30, tier-2 15, tier-3 5."""
    import numpy as np

    hits = indicator_hits(columns, settings.indicators)
    score = np.minimum(hits.astype(float) @ indicator_points(settings), settings.leading_indicator_points.cap)
    return score, hits


def indicator_text(ind: ChurnIndicator, value: float) -> str:
    try:
        return ind.label.format(v=value, neg=-value, pct=value * 100)
    except (KeyError, ValueError, IndexError):
        return f"{ind.name} ({ind.metric} {value:g})"


def indicator_drivers(
    columns: dict[str, Any], row: int, hits_row: np.ndarray, settings: ChurnSettings, k: int = 3
) -> list[Driver]:
    """The fired indicators of one row as drivers, tier 1 first."""
    points = indicator_points(settings)
    fired = sorted(
        (j for j in range(len(hits_row)) if hits_row[j]), key=lambda j: (settings.indicators[j].tier, j)
    )
    out = []
    for j in fired[:k]:
        ind = settings.indicators[j]
        value = float(columns[ind.metric][row])
        out.append(
            Driver(
                feature=ind.name,
                text=indicator_text(ind, value),
                direction="raises risk",
                impact=round(float(points[j]), 1),
            )
        )
    return out


# ------------------------------------------------------------------------------------ driver words


def _money(v: float) -> str:
    if abs(v) >= 1_000_000:
        return f"${v / 1_000_000:.1f}M"
    if abs(v) >= 10_000:
        return f"${v / 1_000:.0f}K"
    return f"${v:,.0f}"


_NO_DATA = {
    "usage_change_pct": "no usage trend (no usage a month earlier)",
    "days_since_last_login": "no logins on record",
    "nps": "no NPS answers in 12 months",
    "min_nps_score_90d": "no NPS answer in 90 days",
    "days_since_last_touch": "no CSM touch on record",
    "outreach_response_rate": "no CSM outreach in 90 days",
    "meeting_attendance_rate": "no meetings scheduled in 90 days",
    "support_csat": "no support CSAT answers in 90 days",
    "csat": "no CSAT answers in 12 months",
    "days_overdue": "no invoices due yet",
    "arr_growth_12m": "no ARR history a year back",
    "has_exec_sponsor": "no contacts on record",
    "seat_utilization": "no usage data",
    "oldest_open_critical_hours": "no critical ticket open",
}


def describe(feature: str, value: Any, typical: Any = None) -> str:
    """A model feature's value in words a CSM uses."""
    if isinstance(value, float) and value != value or value is None:
        return _NO_DATA.get(feature, f"no {feature.replace('_', ' ')} data")
    if isinstance(value, str):
        return (
            f"{feature.replace('_', ' ')}: {value}"
            if str(value).strip()
            else f"no {feature.replace('_', ' ')}"
        )
    v = float(value)
    match feature:
        case "usage_change_pct":
            return f"active users {'down' if v < 0 else 'up'} {abs(v):.0f}% in 30 days"
        case "days_since_last_login":
            return f"no logins for {v:.0f} days" if v >= 7 else f"last login {v:.0f} days ago"
        case "days_since_last_touch":
            return f"no CSM touch for {v:.0f} days" if v >= 14 else f"CSM touch {v:.0f} days ago"
        case "nps":
            return f"NPS {v:+.0f}"
        case "min_nps_score_90d":
            return f"lowest NPS answer in 90 days: {v:.0f}"
        case "nps_responses":
            return f"{v:.0f} NPS respondents in 12 months"
        case "seat_utilization":
            return f"{pct(v)} of seats active"
        case "logins_per_user_week":
            return f"{v:.1f} logins per user per week"
        case "feature_adoption":
            return f"uses {pct(v)} of the features"
        case "features_used":
            return f"{v:.0f} features used in 30 days"
        case "active_users":
            return f"{v:.0f} active users"
        case "outreach_response_rate":
            return f"answers {pct(v)} of CSM outreach"
        case "meeting_attendance_rate":
            return f"{pct(v)} of meetings held"
        case "touches_90d":
            return f"{v:.0f} CSM touches in 90 days"
        case "tickets_30d":
            return f"{v:.0f} tickets in 30 days"
        case "ticket_volume_ratio":
            return f"ticket volume {v:.1f}x the usual"
        case "open_critical_tickets":
            return f"{v:.0f} critical ticket{'s' if v != 1 else ''} open"
        case "oldest_open_critical_hours":
            return f"critical ticket open {v:.0f} hours"
        case "escalations_90d":
            return f"{v:.0f} escalation{'s' if v != 1 else ''} in 90 days"
        case "support_csat":
            return f"support CSAT {pct(v)} satisfied"
        case "csat":
            return f"CSAT {pct(v)} satisfied"
        case "days_overdue":
            return "invoices paid on time" if v <= 0 else f"invoice {v:.0f} days overdue"
        case "arr_growth_12m":
            return f"ARR {v * 100:+.0f}% in 12 months"
        case "active_contacts":
            return f"{v:.0f} active contacts"
        case "has_exec_sponsor":
            return "has an executive sponsor" if v >= 1 else "no executive sponsor"
        case "exec_sponsor_left_90d":
            return "executive sponsor left in 90 days" if v >= 1 else "executive sponsor in place"
        case "arr":
            return f"ARR {_money(v)}"
        case "seats":
            return f"{v:.0f} seats"
        case "employees":
            return f"{v:,.0f} employees"
        case "tenure_days":
            return (
                f"customer for {v / 30.4:.0f} months" if v < 730 else f"customer for {v / 365.25:.1f} years"
            )
        case "days_to_renewal":
            return f"renewal in {v:.0f} days"
        case "health_score":
            return f"health score {v:.0f}"
    if feature.startswith("health_"):
        return f"{feature[7:]} health {v:.0f}/100"
    shown = f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
    if typical is not None and typical == typical:
        t = float(typical)
        return (
            f"{feature.replace('_', ' ')} {shown} (typical {t:,.0f})"
            if abs(t) >= 100
            else f"{feature.replace('_', ' ')} {shown} (typical {t:.3g})"
        )
    return f"{feature.replace('_', ' ')} {shown}"


# -------------------------------------------------------------------------------------------- tiers


def tier_of(probability: float, tiers: ChurnTiers) -> Tier:
    if probability >= tiers.critical:
        return "critical"
    if probability >= tiers.high:
        return "high"
    if probability >= tiers.medium:
        return "medium"
    return "low"


def tier_codes(probability: np.ndarray, tiers: ChurnTiers) -> np.ndarray:
    """Tier per probability as an index into TIERS (0 = critical)."""
    import numpy as np

    p = np.asarray(probability, dtype=float)
    return np.where(p >= tiers.critical, 0, np.where(p >= tiers.high, 1, np.where(p >= tiers.medium, 2, 3)))


# ----------------------------------------------------------------------------------- output models


class ModelSummary(BaseModel):
    method: Method = Field(
        description="'model' (learned from the workspace's churn outcomes) or "
        "'leading-indicator' (points for warning signs, no outcomes to learn from)"
    )
    mode: Literal["history", "snapshot", "none"] = Field(
        description="history: learned from past cut-offs and churn dates; snapshot: from current churn "
        "status only"
    )
    estimator: str | None = Field(None, description="chosen model, e.g. gradient_boosting")
    cv_roc_auc: float | None = Field(None, description="cross-validated ROC-AUC of the model")
    leading_indicator_roc_auc: float | None = Field(
        None, description="ROC-AUC of the leading-indicator score on the same examples"
    )
    horizon_days: int | None = Field(
        None,
        description="probability of churning within this many days (churn.label 'horizon'); null when the "
        "probability is of churning at or before the account's next renewal (label 'next_renewal', stated "
        "in the note and the model card)",
    )
    model_card: str = Field("cs://models/churn", description="resource with the full model card")


class TierTotal(BaseModel):
    tier: Tier
    accounts: int
    arr: float
    arr_at_risk: float = Field(description="sum of ARR x churn probability")


class ChurnRiskAccount(BaseModel):
    rank: int = Field(description="1 = highest risk among the filtered accounts")
    account_id: str
    name: str
    segment: str | None
    csm_id: str | None
    probability: float = Field(description="churn probability 0-1 (leading-indicator method: score / 100)")
    tier: Tier
    arr: float | None
    arr_at_risk: float | None = Field(description="ARR x probability")
    renewal_date: dt.date | None
    days_to_renewal: int | None
    days_since_last_touch: int | None
    health_score: float | None
    health_band: str
    drivers: list[Driver] = Field(description="top 3 reasons, from the model (or the fired indicators)")
    recommended_action: str


class ChurnRiskList(Page):
    as_of: dt.date
    method: Method
    model: ModelSummary
    filters: dict[str, Any] = Field(description="filters applied")
    sort: Literal["probability", "arr_at_risk"]
    totals_by_tier: list[TierTotal] = Field(description="over all filtered accounts, not only this page")
    total_arr: float
    total_arr_at_risk: float
    accounts: list[ChurnRiskAccount]
    note: str | None = None


# --------------------------------------------------------------------------------------- the list

def _match_value(value: str, known: list[str], field: str, plural: str) -> str:
    by_lower = {k.lower(): k for k in known}
    if value.strip().lower() not in by_lower:
        if len(known) <= 20:
            hint = f"send one of the {plural} among active accounts: {', '.join(sorted(known))}."
        else:
            close = difflib.get_close_matches(value, known, n=8, cutoff=0.0)
            hint = f"send one of the {len(known):,} {plural} among active accounts, e.g. {', '.join(close)}."
        raise InvalidArgument(f"Unknown {field} '{value[:60]}': {hint}")
    return by_lower[value.strip().lower()]


def churn_risk_list(
    ws: Workspace,
    segment: str | None = None,
    csm_id: str | None = None,
    min_tier: Tier | None = None,
    renewal_within_days: int | None = None,
    quarter: str | None = None,
    renewal_from: dt.date | None = None,
    renewal_to: dt.date | None = None,
    sort: Literal["probability", "arr_at_risk"] = "probability",
    limit: int | None = None,
    cursor: str | None = None,
    progress: Any = None,
) -> ChurnRiskList:
    """Active accounts ranked by churn risk, filtered, with tier totals and one page of rows."""
    import numpy as np

    from cs_mcp.domain.churn_model import churn_scores

    settings = ws.settings
    limit = limit or settings.server.page_size
    offset = decode_cursor(cursor)
    scores = churn_scores(ws, progress)
    view = scores.view
    mask = np.ones(len(scores.account_ids), dtype=bool)
    filters: dict[str, Any] = {}
    if segment:
        seg = _match_value(segment, view.segments, "segment", "segments")
        mask &= view.segment_lower == seg.lower()
        filters["segment"] = seg
    if csm_id:
        csm = _match_value(csm_id, view.csms, "csm_id", "CSM ids")
        mask &= view.csm_lower == csm.lower()
        filters["csm_id"] = csm
    if min_tier:
        mask &= scores.tier_code <= TIERS.index(min_tier)
        filters["min_tier"] = min_tier
    lo, hi = None, None
    if renewal_within_days is not None:
        lo, hi = ws.as_of, ws.as_of + dt.timedelta(days=renewal_within_days)
        filters["renewal_within_days"] = renewal_within_days
    if quarter:
        q_lo, q_hi, filters["quarter"] = renewal_quarter(quarter, ws.as_of)
        lo, hi = max(lo or q_lo, q_lo), min(hi or q_hi, q_hi)
    if renewal_from or renewal_to:
        lo = max(lo, renewal_from) if lo and renewal_from else (lo or renewal_from)
        hi = min(hi, renewal_to) if hi and renewal_to else (hi or renewal_to)
        filters.update(
            {k: v.isoformat() for k, v in (("renewal_from", renewal_from), ("renewal_to", renewal_to)) if v}
        )
    if lo is not None or hi is not None:
        days = view.days_to_renewal
        ok = ~np.isnan(days)
        with np.errstate(invalid="ignore"):
            if lo is not None:
                ok &= days >= (lo - ws.as_of).days
            if hi is not None:
                ok &= days <= (hi - ws.as_of).days
        mask &= ok
    order = scores.order_by_probability if sort == "probability" else scores.order_by_arr_at_risk
    ranked = order[mask[order]]
    total = int(len(ranked))
    codes = scores.tier_code[ranked]
    arr = np.nan_to_num(view.arr[ranked])
    at_risk = arr * scores.probability[ranked]
    totals = [
        TierTotal(
            tier=t,
            accounts=int((codes == i).sum()),
            arr=round(float(arr[codes == i].sum()), 2),
            arr_at_risk=round(float(at_risk[codes == i].sum()), 2),
        )
        for i, t in enumerate(TIERS)
    ]
    page = ranked[offset : offset + limit]
    drivers = scores.drivers([scores.account_ids[i] for i in page])
    rows = []
    for rank, i in enumerate(page, start=offset + 1):
        aid = scores.account_ids[i]
        p = float(scores.probability[i])
        tier = TIERS[int(scores.tier_code[i])]
        a = _num(view.arr[i])
        dtr = _num(view.days_to_renewal[i])
        touch = _num(view.days_since_last_touch[i])
        hs = _num(view.health_score[i])
        rows.append(
            ChurnRiskAccount(
                rank=rank,
                account_id=aid,
                name=str(view.name[i]),
                segment=view.segment[i],
                csm_id=view.csm_id[i],
                probability=round(p, 3),
                tier=tier,
                arr=a,
                arr_at_risk=None if a is None else round(a * p, 2),
                renewal_date=None if dtr is None else ws.as_of + dt.timedelta(days=int(dtr)),
                days_to_renewal=None if dtr is None else int(dtr),
                days_since_last_touch=None if touch is None else int(touch),
                health_score=None if hs is None else round(hs, 1),
                health_band=str(view.health_band[i]),
                drivers=drivers.get(aid, []),
                recommended_action=TIER_ACTIONS[tier],
            )
        )
    nxt = offset + len(rows)
    card = scores.card
    summary = ModelSummary(
        method=scores.method,
        mode=card.mode,
        estimator=card.estimator,
        cv_roc_auc=card.metrics.roc_auc if card.metrics else None,
        leading_indicator_roc_auc=card.metrics.leading_indicator_roc_auc if card.metrics else None,
        horizon_days=card.training.horizon_days
        if card.training and card.training.label != "next_renewal"
        else None,
    )
    return ChurnRiskList(
        as_of=ws.as_of,
        method=scores.method,
        model=summary,
        filters=filters,
        sort=sort,
        totals_by_tier=totals,
        total_arr=round(float(arr.sum()), 2),
        total_arr_at_risk=round(float(at_risk.sum()), 2),
        accounts=rows,
        total=total,
        returned=len(rows),
        next_cursor=encode_cursor(nxt) if nxt < total else None,
        note=" ".join(filter(None, [scores.note, _empty_window_note(ws, lo, hi) if not total else None])) or None,
    )


def _empty_window_note(ws: Workspace, lo: dt.date | None, hi: dt.date | None) -> str | None:
    if lo is None and hi is None:
        return None
    return f"No account in the filters renews from {lo or 'any date'} to {hi or 'any date'}: {renewal_coverage(ws)}."


def _num(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return None if f != f else f
