"""Churn risk: the leading-indicator score, tiers, and the ranked churn-risk list of active accounts."""

from __future__ import annotations

import datetime as dt
import difflib
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from cs_mcp.domain.errors import InvalidArgument
from cs_mcp.domain.metrics import family_of
from cs_mcp.domain.paging import Page, decode_cursor, encode_cursor
from cs_mcp.domain.periods import renewal_coverage, renewal_quarter

if TYPE_CHECKING:
    import numpy as np

    from cs_mcp.config import ChurnIndicator, ChurnSettings, ChurnTiers
    from cs_mcp.workspace.loader import Workspace

Tier = Literal["critical", "high", "medium", "low"]
TIERS: tuple[Tier, ...] = ("critical", "high", "medium", "low")
Method = Literal["model", "leading-indicator"]

class Driver(BaseModel):
    """One reason an account's churn risk differs from the portfolio's typical account: a behaviour signal."""

    feature: str = Field(description="model feature, indicator name, or CRM evidence (renewal_lost, renewal_won)")
    text: str = Field(description="the driver in words, e.g. '6% of seats active (3 of 50)'")
    change: str | None = Field(
        None, description="where the signal stood churn.driver_change_days ago (the health score: at the look-back "
        "its trend is read from), e.g. 'down from 45% over 90 days'"
    )
    family: str | None = Field(
        None, description="usage, adoption, engagement, support, sentiment, payment, stakeholder, health, "
        "commercial, crm (a renewal opportunity won or lost) or custom (a team's own account column)"
    )
    metric: str | None = Field(
        None, description="for a health dimension: its weakest input, the signal to act on"
    )
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
                family=family_of(ind.metric),
                direction="raises risk",
                impact=round(float(points[j]), 1),
            )
        )
    return out


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
    ranks_by: Literal["next_renewal", "horizon", "snapshot"] | None = Field(
        None, description="the probability that ranks: next_renewal = P(lost at or before the next renewal), "
        "horizon = P(churn within horizon_days), snapshot = resemblance to past churners"
    )
    estimator: str | None = Field(None, description="chosen model, e.g. gradient_boosting")
    cv_roc_auc: float | None = Field(None, description="cross-validated ROC-AUC of the ranking model")
    short_horizon_cv_roc_auc: float | None = Field(None, description="cross-validated ROC-AUC of the 90-day model")
    leading_indicator_roc_auc: float | None = Field(
        None, description="ROC-AUC of the leading-indicator score on the same examples"
    )
    horizon_days: int | None = Field(None, description="the window of probability_90d")
    model_card: str = Field("cs://models/churn", description="resource with the full model card")


class TierTotal(BaseModel):
    tier: Tier
    accounts: int
    arr: float
    arr_at_risk: float = Field(description="sum of ARR x churn probability")


class BandTotal(BaseModel):
    band: Literal["green", "yellow", "red", "unknown"] = Field(description="health band; unknown = no score")
    accounts: int
    arr: float


def lowers_risk_mark(direction: str) -> str:
    """What precedes a driver's words in an answer: '(+) ' for one that lowers the risk, nothing otherwise."""
    return "(+) " if direction == "lowers risk" else ""


class ChurnRiskAccount(BaseModel):
    rank: int = Field(description="1 = highest risk among the filtered accounts, in the order asked")
    account_id: str
    name: str
    segment: str | None
    csm_id: str | None
    probability: float = Field(
        description="churn probability 0-1 of the ranking label (model.ranks_by), after CRM evidence (a won "
        "renewal caps it, a lost one floors it); leading-indicator method: score / 100"
    )
    probability_90d: float | None = Field(
        None, description="P(churn within the short horizon), 0-1; never below probability when the renewal falls "
        "within the horizon"
    )
    tier: Tier = Field(description="tier of the probability as shown (whole percent)")
    arr: float | None
    arr_at_risk: float | None = Field(description="ARR x probability")
    renewal_date: dt.date | None
    days_to_renewal: int | None
    renewal_probability: float | None = Field(None, description="renewal-forecast's probability, % (100 - risk)")
    at_risk_renewal: bool = Field(
        False, description="an at-risk renewal: renewal probability under the 'likely' tier"
    )
    days_since_last_touch: int | None = Field(description="days since the last CSM touch on record")
    never_touched: bool = Field(False, description="no CSM touch on record (the workspace has touchpoints)")
    health_score: float | None
    health_band: str
    drivers: list[Driver] = Field(description="top 3 behaviour signals behind the probability, with their change")
    context: list[str] = Field(
        default_factory=list, description="timing and firmographics the model weighed (not drivers)"
    )
    recommended_action: str


class ChurnRiskList(Page):
    as_of: dt.date
    method: Method
    model: ModelSummary
    filters: dict[str, Any] = Field(description="filters applied")
    sort: Literal["probability", "arr_at_risk", "days_to_renewal"]
    totals_by_tier: list[TierTotal] = Field(description="over all filtered accounts, not only this page")
    health_bands: list[BandTotal] = Field(description="health band distribution of all filtered accounts")
    total_arr: float
    total_arr_at_risk: float
    at_risk_renewals: int = Field(
        description="filtered accounts that are an at-risk renewal (renewal-forecast's rule; with a renewal "
        "window, the same count renewal-forecast and csm-performance give for it)"
    )
    at_risk_renewal_arr: float
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


def _window(ws: Workspace, renewal_within_days: int | None, quarter: str | None, renewal_from: dt.date | None,
            renewal_to: dt.date | None, filters: dict[str, Any]) -> tuple[dt.date | None, dt.date | None]:
    lo: dt.date | None = None
    hi: dt.date | None = None
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
    return lo, hi


def churn_risk_list(
    ws: Workspace,
    segment: str | None = None,
    csm_id: str | None = None,
    min_tier: Tier | None = None,
    renewal_within_days: int | None = None,
    quarter: str | None = None,
    renewal_from: dt.date | None = None,
    renewal_to: dt.date | None = None,
    sort: Literal["probability", "arr_at_risk", "days_to_renewal"] = "probability",
    limit: int | None = None,
    cursor: str | None = None,
    progress: Any = None,
) -> ChurnRiskList:
    """Active accounts ranked by churn risk (the renewal book's), filtered, with tier totals and one page."""
    import numpy as np

    from cs_mcp.domain.churn_model import churn_scores
    from cs_mcp.domain.renewal import renewal_base

    limit = limit or min(ws.settings.server.page_size, ws.settings.churn.page_size)
    offset = decode_cursor(cursor)
    scores = churn_scores(ws, progress)
    book = renewal_base(ws)
    view = scores.view
    filters: dict[str, Any] = {}
    mask = np.ones(len(book.ids), dtype=bool)
    if segment:
        seg = _match_value(segment, view.segments, "segment", "segments")
        mask &= book.lowered["segment"] == seg.lower()
        filters["segment"] = seg
    if csm_id:
        csm = _match_value(csm_id, view.csms, "csm_id", "CSM ids")
        mask &= book.lowered["csm_id"] == csm.lower()
        filters["csm_id"] = csm
    days = book.days_to_renewal(ws.as_of)
    lo, hi = _window(ws, renewal_within_days, quarter, renewal_from, renewal_to, filters)
    with np.errstate(invalid="ignore"):
        if lo is not None:
            mask &= days >= (lo - ws.as_of).days
        if hi is not None:
            mask &= days <= (hi - ws.as_of).days
    before_tier = mask.copy()
    if min_tier:
        mask &= book.tier_code <= TIERS.index(min_tier)
        filters["min_tier"] = min_tier
    ranked = _ordered(ws, book, scores, sort, days)
    ranked = ranked[mask[ranked]]
    arr = np.nan_to_num(book.arr[ranked])
    at_risk = arr * book.lost[ranked]
    codes = book.tier_code[ranked]
    totals = [TierTotal(tier=t, accounts=int((codes == i).sum()), arr=round(float(arr[codes == i].sum()), 2),
                        arr_at_risk=round(float(at_risk[codes == i].sum()), 2)) for i, t in enumerate(TIERS)]
    bands = book.bands[ranked]
    health_bands = [BandTotal(band=b, accounts=int((bands == b).sum()), arr=round(float(arr[bands == b].sum()), 2))
                    for b in ("green", "yellow", "red", "unknown")]
    page = ranked[offset : offset + limit]
    rows = _rows(ws, book, scores, page, offset, days)
    nxt = offset + len(rows)
    flagged = book.at_risk[ranked]
    return ChurnRiskList(
        as_of=ws.as_of, method=scores.method, model=_summary(ws, scores), filters=filters, sort=sort,
        totals_by_tier=totals, health_bands=health_bands,
        total_arr=round(float(arr.sum()), 2), total_arr_at_risk=round(float(at_risk.sum()), 2),
        at_risk_renewals=int(flagged.sum()), at_risk_renewal_arr=round(float(arr[flagged].sum()), 2),
        accounts=rows, total=int(len(ranked)), returned=len(rows),
        next_cursor=encode_cursor(nxt) if nxt < len(ranked) else None,
        note=" ".join(filter(None, [scores.note, None if len(ranked) else _empty_window_note(ws, lo, hi),
                                    None if len(ranked) else _below_tier_note(ws, book, before_tier, min_tier)]))
        or None,
    )


def _below_tier_note(ws: Workspace, book: Any, candidates: np.ndarray, min_tier: Tier | None) -> str | None:
    """When min_tier leaves no account, how risky the riskiest one of the other filters is, and what to send."""
    import numpy as np

    from cs_mcp.domain.formatting import pct

    rows = np.flatnonzero(candidates)
    if min_tier is None or min_tier == "low" or not len(rows):
        return None
    top = rows[np.argmax(book.lost[rows])]
    floor = getattr(ws.settings.churn.tiers, min_tier)
    return (f"None of the {len(rows):,} accounts in the other filters is at {min_tier} or above ({pct(floor)}+); "
            f"the riskiest is {book.names[top]} ({book.ids[top]}) at {pct(float(book.lost[top]))}: send a lower "
            "min_tier, or none, to list them.")


def _empty_window_note(ws: Workspace, lo: dt.date | None, hi: dt.date | None) -> str | None:
    if lo is None and hi is None:
        return None
    return f"No account in the filters renews from {lo or 'any date'} to {hi or 'any date'}: {renewal_coverage(ws)}."


def _ordered(ws: Workspace, book: Any, scores: Any, sort: str, days: np.ndarray) -> np.ndarray:
    """`_order`, sorted once per book and sort (a million-row sort costs a third of a second)."""
    from cs_mcp.workspace.cache import cached

    key = ("churn-order", sort, ws.settings.renewal.model_dump_json(), ws.settings.health.model_dump_json(),
           ws.settings.churn.model_dump_json())
    order = cached(ws, key, lambda: _order(book, scores, sort, days))
    order.flags.writeable = False  # shared by every call: a caller must not sort it in place
    return order


def _order(book: Any, scores: Any, sort: str, days: np.ndarray) -> np.ndarray:
    """Book rows in the order asked; ties broken by the indicator score, then larger ARR, then id."""
    import numpy as np

    arr = np.nan_to_num(book.arr)
    ind = np.where(book.churn_index >= 0, scores.indicator_score[np.maximum(book.churn_index, 0)], 0.0)
    if sort == "arr_at_risk":
        keys = (book.id_rank, -book.lost, -arr * book.lost)
    elif sort == "days_to_renewal":
        keys = (book.id_rank, -book.lost, np.nan_to_num(days, nan=np.inf))
    else:
        keys = (book.id_rank, -arr, -ind, -book.lost)
    return np.lexsort(keys)


def _rows(
    ws: Workspace, book: Any, scores: Any, page: np.ndarray, offset: int, days: np.ndarray
) -> list[ChurnRiskAccount]:
    from cs_mcp.domain.renewal import book_drivers
    from cs_mcp.domain.risk_actions import recommended_action

    explained = scores.explanations([str(book.ids[i]) for i in page])
    shown = book_drivers(book, page)
    view = scores.view
    rows = []
    for rank, i in enumerate(page, start=offset + 1):
        aid = str(book.ids[i])
        j = int(book.churn_index[i])
        p = float(book.lost[i])
        tier = TIERS[int(book.tier_code[i])]
        a = _num(book.arr[i])
        dtr = _num(days[i])
        touch = _num(view.days_since_last_touch[j]) if j >= 0 else None
        hs = _num(book.health[i])
        e = explained.get(aid)
        drivers = shown.get(int(i), [])
        p90 = _num(book.churn_90d[i])
        rows.append(ChurnRiskAccount(
            rank=rank, account_id=aid, name=str(book.names[i]), segment=book.segments[i], csm_id=book.csm_ids[i],
            probability=round(p, 3), probability_90d=None if p90 is None else round(p90, 3), tier=tier, arr=a,
            arr_at_risk=None if a is None else round(a * p, 2),
            renewal_date=None if dtr is None else ws.as_of + dt.timedelta(days=int(dtr)),
            days_to_renewal=None if dtr is None else int(dtr),
            renewal_probability=float(book.pct[i]) if dtr is not None else None,
            at_risk_renewal=bool(book.at_risk[i]),
            days_since_last_touch=None if touch is None else int(touch),
            never_touched=touch is None and j >= 0 and view.touchpoints,
            health_score=None if hs is None else round(hs, 1), health_band=str(book.bands[i]),
            drivers=drivers, context=e.context if e else [],
            recommended_action=recommended_action(tier, None if a is None else a * p, dtr, drivers,
                                                  ws.settings.churn.actions),
        ))
    return rows


def _summary(ws: Workspace, scores: Any) -> ModelSummary:
    card = scores.card
    return ModelSummary(
        method=scores.method, mode=card.mode, ranks_by=scores.ranks_by, estimator=card.estimator,
        cv_roc_auc=card.metrics.roc_auc if card.metrics else None,
        short_horizon_cv_roc_auc=scores.short_card.metrics.roc_auc if scores.short_card and scores.short_card.metrics
        else (card.metrics.roc_auc if scores.ranks_by == "horizon" and card.metrics else None),
        leading_indicator_roc_auc=card.metrics.leading_indicator_roc_auc if card.metrics else None,
        horizon_days=ws.settings.churn.horizon_days if scores.method == "model" and card.mode == "history" else None,
    )


def _num(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return None if f != f else f
