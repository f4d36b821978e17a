"""The evidence resources: how the churn models rank and how tiers fall (cs://models/churn), and whether
the health score predicts churn on this workspace's own history (cs://models/health)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from cs_mcp.domain.churn_card import ChurnModels, TierCount

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace


def churn_models(ws: Workspace) -> ChurnModels:
    """Both churn models' cards and the tier counts of the renewal book."""
    import numpy as np

    from cs_mcp.domain.churn import TIERS
    from cs_mcp.domain.churn_model import churn_scores
    from cs_mcp.domain.renewal import renewal_base

    scores = churn_scores(ws)
    book = renewal_base(ws)
    t = ws.settings.churn.tiers
    floors = {"critical": t.critical, "high": t.high, "medium": t.medium, "low": 0.0}
    arr = np.nan_to_num(book.arr)
    tiers = [TierCount(tier=name, at_least=floors[name], accounts=int((book.tier_code == i).sum()),
                       arr=round(float(arr[book.tier_code == i].sum()), 2)) for i, name in enumerate(TIERS)]
    return ChurnModels(as_of=ws.as_of, method=scores.method, ranks_by=scores.ranks_by, ranking=scores.card,
                       short_horizon=scores.short_card, not_fitted=scores.not_fitted, tiers=tiers)


class BandOutcome(BaseModel):
    band: str
    accounts: int = Field(description="customers at the cut-off in this band")
    churned: int = Field(description="of them, churned within the window after the cut-off")
    churn_rate: float | None


class CutoffValidation(BaseModel):
    cutoff: dt.date
    window_end: dt.date
    bands: list[BandOutcome]
    roc_auc: float | None = Field(description="ROC-AUC of (100 - health score) for churn within the window")


class HealthValidation(BaseModel):
    as_of: dt.date
    model: str = Field(description="health model scored (health.model)")
    window_days: int
    cutoffs: list[CutoffValidation] = Field(description="newest first; only cut-offs whose window has passed")
    pooled: list[BandOutcome] = Field(description="all cut-offs together")
    falls_by_band: bool | None = Field(
        description="churn rate strictly falls red > yellow > green over the pooled cut-offs"
    )
    reading: str


def health_validation(ws: Workspace) -> HealthValidation:
    """Churn within the window after past cut-offs, by the health band each account had at the cut-off."""
    from cs_mcp.workspace.cache import cached

    return cached(ws, ("health-validation", ws.settings.health.model_dump_json()), lambda: _validate(ws))


def _validate(ws: Workspace) -> HealthValidation:
    import numpy as np

    from cs_mcp.domain.churn_training import active_at, epoch_days, facts_now
    from cs_mcp.domain.portfolio import portfolio_snapshot

    v = ws.settings.health.validation
    facts = facts_now(ws)
    churned = facts["churned_d"]
    results, pooled = [], {b: [0, 0] for b in ("red", "yellow", "green")}
    for days in sorted(v.cutoffs_days_ago):
        cut = ws.as_of - dt.timedelta(days=days)
        end = cut + dt.timedelta(days=v.window_days)
        if end > ws.as_of:
            continue
        snap = portfolio_snapshot(ws, cut)
        alive = active_at(facts, float(epoch_days(cut)))
        with np.errstate(invalid="ignore"):
            lost = (churned > epoch_days(cut)) & (churned <= epoch_days(end))
        bands = snap.health.bands()
        rows = []
        for b in ("red", "yellow", "green"):
            m = alive & (bands == b)
            n, k = int(m.sum()), int((m & lost).sum())
            pooled[b][0] += n
            pooled[b][1] += k
            rows.append(BandOutcome(band=b, accounts=n, churned=k, churn_rate=round(k / n, 4) if n else None))
        results.append(CutoffValidation(cutoff=cut, window_end=end, bands=rows,
                                        roc_auc=_auc(100 - snap.health.score[alive], lost[alive])))
    pooled_rows = [BandOutcome(band=b, accounts=n, churned=k, churn_rate=round(k / n, 4) if n else None)
                   for b, (n, k) in pooled.items()]
    rates = [r.churn_rate for r in pooled_rows]
    falls = None if None in rates else bool(rates[0] > rates[1] > rates[2])
    return HealthValidation(as_of=ws.as_of, model=ws.settings.health.model, window_days=v.window_days,
                            cutoffs=results, pooled=pooled_rows, falls_by_band=falls,
                            reading=_reading(falls, pooled_rows, v.window_days))


def _auc(score: object, y: object) -> float | None:
    import numpy as np

    s, t = np.asarray(score, dtype=float), np.asarray(y, dtype=bool)
    ok = ~np.isnan(s)
    s, t = s[ok], t[ok]
    n1, n0 = int(t.sum()), int((~t).sum())
    if not n1 or not n0:
        return None
    from scipy.stats import rankdata

    ranks = rankdata(s)
    return round(float((ranks[t].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)), 4)


def _reading(falls: bool | None, rows: list[BandOutcome], window: int) -> str:
    if falls is None:
        return (f"Not enough history: no cut-off has {window} days observed after it with accounts in every "
                "band.")
    rates = ", ".join(f"{r.band} {r.churn_rate:.1%} of {r.accounts}" for r in rows if r.churn_rate is not None)
    if falls:
        return f"Health predicts churn here: {window}-day churn by band at past cut-offs is {rates}."
    return (f"Health does not rank churn cleanly here ({rates}): review the weights and curves in "
            "health.models against this workspace's own outcomes.")
