"""Renewal forecast and the renewal book: every active account's renewal probability, category and outcome.

The renewal book (`renewal_base`) is the one place where an account's churn risk, renewal probability,
tier and at-risk status are decided; churn-risk-list, renewal-forecast, renewal-strategy,
account-review-prep, csm-performance and the account profile all read it.
Renewal probability (config `renewal.probability`):
  p = 1 - the churn model's probability (churn.rank_by: by default P(lost at or before the next renewal),
      which already weighs health); without a model (leading-indicator score), with w = health_weight:
      p = (1 - w) * (1 - score / 100) + w * health_curve(health score); health alone without either
  + open_downgrade when an open downgrade opportunity exists
  + late_stage_renewal when an open renewal opportunity is at a late stage (stage names in late_stages)
  then clipped to [floor, ceiling]; a won renewal lifts p to at least won_renewal_floor, a lost one, or
  notice given (the accounts table marks it churned with a churn date ahead, at the data's end), caps it at
  lost_renewal_ceiling. Churn risk (lost) = 1 - p, tiered by churn.tiers on the whole percent
  shown. An at-risk renewal is one whose category is at_risk or high_risk (p under the 'likely' tier).
Expected outcome: churn when p falls in the high-risk tier, the renewal opportunity is lost or notice is given; else
expand / contract by the net of open upsell + cross-sell (or, without one, seats in use beyond those
licensed, priced at ARR per seat) minus open downgrades; else renew when the renewal is won or at a late
stage (committed), flat otherwise (forecast to renew at today's ARR, not committed yet).
Window scenarios, over the renewals in the window (ARR = current ARR up for renewal):
  best  = every renewal renews and every expansion lands, no contraction: sum(ARR + expansion)
  base  = probability-weighted: sum(p * (ARR + expansion - contraction))
  worst = every at-risk and high-risk renewal churns; the rest renew at their probability with their
          contractions and no expansion: sum over p >= likely of p * (ARR - contraction)
  so worst <= base <= best for every renewal, hence for every window.
Forecast GRR, NRR and logo retention are the base case's expected values: churn = sum((1 - p) * ARR),
contraction = sum(p * contraction), expansion = sum(p * expansion), logos retained = sum(p).
Opportunities count for a renewal when open and closing up to `opportunity_days_after_renewal` after it
(or undated); a won or lost renewal opportunity counts when it closed within the renewal cycle, i.e.
after (first timeline milestone + 60) days before the renewal date.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, Field

from cs_mcp.domain.churn import TIERS, Driver, lowers_risk_mark
from cs_mcp.domain.errors import InvalidArgument, NoData
from cs_mcp.domain.formatting import day_count, money
from cs_mcp.domain.metrics import describe
from cs_mcp.domain.paging import Page, decode_cursor, encode_cursor
from cs_mcp.domain.periods import renewal_coverage, renewal_quarter
from cs_mcp.domain.retention import MetricVsTarget, Waterfall, vs_target

if TYPE_CHECKING:
    import numpy as np

    from cs_mcp.config import RenewalSettings
    from cs_mcp.workspace.loader import Workspace

Category = Literal["high_confidence", "likely", "at_risk", "high_risk"]
Outcome = Literal["renew", "expand", "flat", "contract", "churn"]
Sort = Literal["date", "risk", "arr", "arr_at_risk"]
OUTCOMES: tuple[str, ...] = ("expand", "renew", "flat", "contract", "churn")
STAGE_NAMES = ("assess", "value review", "proposal", "negotiate and close", "renewal date")


class ChurnInput(Protocol):
    """What renewal needs from a churn scorer (cs_mcp.domain.churn_model.ChurnScores fits it)."""

    account_ids: Any
    probability: Any
    method: str


# ------------------------------------------------------------------------- models


class RenewalWindow(BaseModel):
    start: dt.date = Field(description="first renewal date included")
    end: dt.date = Field(description="last renewal date included")
    label: str


class Timeline(BaseModel):
    stage: str = Field(description="last milestone reached: 'T-60', 'before T-120', or 'overdue'")
    stage_name: str
    next_milestone: str | None
    next_milestone_date: dt.date | None


class RenewalRow(BaseModel):
    account_id: str
    name: str
    segment: str | None
    csm_id: str | None
    arr: float = Field(description="ARR up for renewal (current ARR)")
    renewal_date: dt.date
    days_to_renewal: int
    renewal_date_source: Literal["accounts", "subscriptions"]
    notice_on: dt.date | None = Field(
        None, description="notice given: the churn date of an account marked churned with that date still ahead "
        "(at the data's end); its renewal counts as lost"
    )
    probability: float = Field(description="renewal probability, %")
    category: Category
    churn_probability: float | None = Field(
        description="churn risk %: P(lost at or before this renewal) after CRM evidence (= 100 - probability)"
    )
    churn_probability_90d: float | None = Field(
        None, description="P(churn within churn.horizon_days), %; never below churn_probability when the renewal "
        "falls within it"
    )
    churn_tier: str = Field(description="churn tier of churn_probability (churn.tiers)")
    at_risk: bool = Field(description="an at-risk renewal: category at_risk or high_risk")
    health_score: float | None
    health_band: str
    expected_outcome: Outcome
    expansion_arr: float = Field(description="expansion expected if it renews")
    contraction_arr: float = Field(description="contraction expected if it renews")
    expected_arr: float = Field(description="ARR if it renews: ARR + expansion - contraction")
    weighted_arr: float = Field(description="probability x expected_arr")
    seat_utilization: float | None
    expansion_candidate: bool = Field(description="seat utilization at or above the upsell trigger")
    timeline: Timeline
    signals: list[str] = Field(description="what moved the probability or the outcome")
    churn_drivers: list[str] = Field(
        description="top drivers of the churn risk as churn-risk-list names them: a renewal marked lost in the CRM "
        "first, then risk-raising ones; '(+) ' marks one that lowers the risk"
    )


class Bucket(BaseModel):
    name: str
    accounts: int
    arr: float
    weighted_arr: float


class Scenarios(BaseModel):
    best: float
    base: float
    worst: float
    definitions: dict[str, str]


class RenewalForecast(Page):
    window: RenewalWindow
    as_of: dt.date
    filters: dict[str, str]
    sort: Sort
    method: str = Field(
        description="what the churn term came from: model, leading-indicator, or health-only"
    )
    probability_rule: str
    renewals: int = Field(description="renewals in the window (after filters)")
    arr_up_for_renewal: float
    at_risk_renewals: int = Field(
        description="renewals in the window whose probability is under the 'likely' tier (at_risk or "
        "high_risk): the at-risk rule every tool uses"
    )
    at_risk_arr: float = Field(description="ARR of those at-risk renewals")
    scenarios: Scenarios
    metrics: dict[str, MetricVsTarget] = Field(
        description="forecast grr, nrr, logo_retention of the window"
    )
    waterfall: Waterfall
    by_category: list[Bucket]
    by_outcome: list[Bucket]
    by_stage: list[Bucket]
    accounts: list[RenewalRow]
    tables_used: list[str]
    note: str | None = None


# ------------------------------------------------------------------------ windows


def resolve_window(
    as_of: dt.date,
    default_days: int,
    days: int | None = None,
    quarter: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> RenewalWindow:
    """The renewal dates to include: next N days (default), a quarter, or from/to dates."""
    given = [name for name, v in (("days", days), ("quarter", quarter), ("dates", start or end)) if v]
    if len(given) > 1:
        raise InvalidArgument(f"Send one of days, quarter or from/to dates, not {' and '.join(given)}.")
    if quarter:
        s, e, label = renewal_quarter(quarter, as_of)
        return RenewalWindow(start=s, end=e, label=label)
    if start or end:
        s = start or as_of
        e = end or s + dt.timedelta(days=default_days)
        if e < s:
            raise InvalidArgument(f"to_date {e} is before from_date {s}.")
        return RenewalWindow(start=s, end=e, label=f"{s} to {e}")
    n_days = days or default_days
    return RenewalWindow(start=as_of, end=as_of + dt.timedelta(days=n_days), label=f"next {n_days} days")


def category_of(pct: float, tiers: dict[str, float]) -> str:
    for name in ("high_confidence", "likely", "at_risk"):
        if pct >= tiers[name]:
            return name
    return "high_risk"


def timeline_of(days_to_renewal: int, renewal_date: dt.date, milestones: list[int]) -> Timeline:
    """Where a renewal stands on the T-120/90/60/30/0 timeline, and the next milestone's date."""
    names = STAGE_NAMES if len(milestones) == len(STAGE_NAMES) else tuple(f"T-{m}" for m in milestones)
    if days_to_renewal < 0:
        return Timeline(
            stage="overdue",
            stage_name=f"renewal date passed {day_count(-days_to_renewal)} ago",
            next_milestone=None,
            next_milestone_date=None,
        )
    reached = [i for i, m in enumerate(milestones) if days_to_renewal <= m]
    if not reached:
        first = milestones[0]
        return Timeline(
            stage=f"before T-{first}",
            stage_name="not started",
            next_milestone=f"T-{first}",
            next_milestone_date=renewal_date - dt.timedelta(days=first),
        )
    i = reached[-1]
    nxt = i + 1 if i + 1 < len(milestones) else None
    return Timeline(
        stage=f"T-{milestones[i]}",
        stage_name=names[i],
        next_milestone=None if nxt is None else f"T-{milestones[nxt]}",
        next_milestone_date=None if nxt is None else renewal_date - dt.timedelta(days=milestones[nxt]),
    )


# -------------------------------------------------------------------------- base


@dataclass
class RenewalBase:
    """The renewal book: every active account as of ws.as_of with its one churn / renewal figure set.

    Every tool that speaks of an account's churn risk, renewal probability or at-risk renewal reads it here.
    Accounts without a renewal date have NaT as renewal and no category (they are never an at-risk renewal).
    """

    ids: np.ndarray
    names: np.ndarray
    segments: np.ndarray
    csm_ids: np.ndarray
    arr: np.ndarray
    renewal: np.ndarray  # datetime64[D], NaT without a renewal date
    derived_date: np.ndarray
    churn: np.ndarray  # the churn model's probability 0-1 before CRM evidence (NaN without a score)
    churn_90d: np.ndarray  # P(churn within churn.horizon_days), NaN without that model; at least `lost` when the
    # renewal falls within the horizon
    lost: np.ndarray  # P(lost at or before the next renewal) after CRM evidence: what tiers and ranks use
    tier_code: np.ndarray  # index into cs_mcp.domain.churn.TIERS of the lost probability shown (whole %)
    health: np.ndarray
    bands: np.ndarray
    prob: np.ndarray  # renewal probability 0-1 = 1 - lost
    pct: np.ndarray  # renewal probability in %, one decimal: what categories are cut on
    category: np.ndarray  # None without a renewal date
    at_risk: np.ndarray  # an at-risk renewal: category at_risk or high_risk
    expansion: np.ndarray
    contraction: np.ndarray
    outcome: np.ndarray
    seat_util: np.ndarray
    candidate: np.ndarray
    flags: dict[str, np.ndarray]
    opp_expansion: np.ndarray
    method: str
    churn_source: Any
    churn_index: np.ndarray  # row of churn_source for each account, -1 without
    id_rank: np.ndarray  # position of each account id in sorted order, for stable tie-breaks
    lowered: dict[str, np.ndarray]  # segment / csm_id in lower case, for filters
    position: dict[str, int] = field(default_factory=dict)
    rows: np.ndarray | None = None
    """row of the portfolio snapshot of each account"""
    seat_trigger: float = 0.85
    """expansion.seat_upsell_utilization: seat use above it makes an upsell candidate"""

    def __getstate__(self) -> dict[str, Any]:
        # kept on disk without its churn scores (they have their own memo) and without the snapshot's ids,
        # names, segments and CSM ids: renewal_base attaches them again
        gone = ("churn_source", "ids", "names", "segments", "csm_ids", "position")
        return {**self.__dict__, **dict.fromkeys(gone)}

    def reattach(self, ws: Workspace) -> None:
        """What __getstate__ left out, from the portfolio snapshot and the churn scores (after a read)."""
        from cs_mcp.domain.portfolio import portfolio_snapshot

        if self.ids is None:
            frame = portfolio_snapshot(ws).frame
            self.ids, self.names = frame["account_id"][self.rows], frame["name"][self.rows]
            self.segments, self.csm_ids = frame["segment"][self.rows], frame["csm_id"][self.rows]
            self.position = dict(zip(map(str, self.ids.tolist()), range(len(self.ids)), strict=True))
        if self.churn_source is None and self.method != "health-only":
            self.churn_source = _churn_scores(ws)

    @property
    def has_renewal(self) -> np.ndarray:
        import numpy as np

        return ~np.isnat(self.renewal)

    def days_to_renewal(self, as_of: dt.date) -> np.ndarray:
        """Days from as_of to each renewal (NaN without one)."""
        import numpy as np

        days = (self.renewal - np.datetime64(as_of)).astype("timedelta64[D]").astype(float)
        return np.where(self.has_renewal, days, np.nan)


AT_RISK_CATEGORIES = ("at_risk", "high_risk")
"""The one at-risk renewal rule: a renewal whose probability falls under renewal.probability_tiers.likely."""


SAFE_CATEGORIES = ("high_confidence", "likely")


def plan_category(category: str | None, health_band: str | None) -> str | None:
    """The category a renewal plan follows: the renewal's, but at least at_risk when health is red."""
    if category in SAFE_CATEGORIES and health_band == "red":
        return "at_risk"
    return category


def plan_at_risk(category: np.ndarray, bands: np.ndarray) -> np.ndarray:
    """plan_category(...) in AT_RISK_CATEGORIES, over arrays: where expansion_hold holds expansion back."""
    import numpy as np

    return np.isin(category, AT_RISK_CATEGORIES) | (np.isin(category, SAFE_CATEGORIES) & (bands == "red"))


def expansion_hold(category: str | None, health_band: str | None) -> str | None:
    """Why expansion waits for this renewal, or None: the plan category is at risk (an at-risk renewal, or red
    health). The one hold rule of renewal-strategy, expansion-opportunities and account-review-prep."""
    plan = plan_category(category, health_band)
    if plan not in AT_RISK_CATEGORIES:
        return None
    why = "health is red" if plan != category else f"the renewal is {plan.replace('_', ' ')}"
    return f"{why}, so expansion waits until the renewal is safe"


def _churn_scores(ws: Workspace) -> ChurnInput | None:
    """The churn model's scores, or None while no churn model is installed."""
    try:
        from cs_mcp.domain.churn_model import churn_scores
    except ModuleNotFoundError as exc:
        if exc.name != "cs_mcp.domain.churn_model":
            raise
        return None
    return churn_scores(ws)


def blend_probability(
    churn: np.ndarray, health: np.ndarray, flags: dict[str, np.ndarray], rs: RenewalSettings,
    method: str = "model",
) -> np.ndarray:
    """Renewal probability 0-1 per account under the documented rule (module docstring)."""
    import numpy as np

    from cs_mcp.domain.scoring import curve_value

    cfg = rs.probability
    from_health = curve_value(cfg.health_curve, health)
    has_c, has_h = ~np.isnan(churn), ~np.isnan(from_health)
    if method == "model":  # the model already weighs health: its probability is the renewal risk
        p = np.where(has_c, 1 - churn, np.where(has_h, from_health, cfg.default_probability))
    else:
        w = cfg.health_weight
        p = np.where(
            has_c & has_h,
            (1 - w) * (1 - churn) + w * from_health,
            np.where(has_c, 1 - churn, np.where(has_h, from_health, cfg.default_probability)),
        )
    p = p + np.where(flags["downgrades"] > 0, cfg.open_downgrade, 0.0)
    p = p + np.where(flags["late_renewals"] > 0, cfg.late_stage_renewal, 0.0)
    p = np.clip(p, cfg.floor, cfg.ceiling)
    p = np.where(flags["won_renewals"] > 0, np.maximum(p, cfg.won_renewal_floor), p)
    return np.where(lost_evidence(flags), np.minimum(p, cfg.lost_renewal_ceiling), p)


def lost_evidence(flags: dict[str, np.ndarray]) -> np.ndarray:
    """Rows the data says are lost: a renewal opportunity marked lost, or notice given (status churned with a
    churn date ahead)."""
    lost = flags["lost_renewals"] > 0
    return lost | (flags["churn_notice"] > 0) if "churn_notice" in flags else lost


def categories(pct: np.ndarray, tiers: dict[str, float]) -> np.ndarray:
    import numpy as np

    return np.where(
        pct >= tiers["high_confidence"], "high_confidence",
        np.where(pct >= tiers["likely"], "likely", np.where(pct >= tiers["at_risk"], "at_risk", "high_risk")),
    ).astype(object)


def shown_tier_codes(lost: np.ndarray, ws: Workspace) -> np.ndarray:
    """Tier of each probability as shown (a whole percent), so a label never contradicts its number."""
    import numpy as np

    from cs_mcp.domain.churn import tier_codes

    return tier_codes(np.round(np.asarray(lost, dtype=float) * 100) / 100, ws.settings.churn.tiers)


def _book_rows(ws: Workspace, source: ChurnInput | None) -> np.ndarray:
    """Snapshot rows of the active accounts: the churn scorer's, else every active non-churned account."""
    import numpy as np

    from cs_mcp.domain.portfolio import portfolio_snapshot

    snap = portfolio_snapshot(ws)
    if source is not None:
        rows = getattr(source, "rows", None)  # ChurnScores knows its snapshot rows
        if rows is not None:
            return np.asarray(rows, dtype=np.int64)
        return np.array([snap.position[a] for a in source.account_ids], dtype=np.int64)
    return np.flatnonzero(snap.frame["is_active"] == 1.0)  # customers as of the date (queries.customers)


def closed_by(ws: Workspace) -> dt.date:
    """The last close date of a deal the as-of date can know of (9999-12-31: no limit).

    The opportunities table is today's CRM snapshot. Scored as of a date inside the data (a look back), what
    it says of a deal that closes after that date was not known then (nor whether the deal existed yet), so
    only deals closed by the as-of date count; at the data's end (coverage.data_end: its newest activity not
    after today, so scheduled meetings do not make a look back) every deal counts."""
    from cs_mcp.workspace.queries.coverage import data_end

    return ws.as_of if data_end(ws) > ws.as_of else dt.date.max


def _opportunity_columns(ws: Workspace, ids: np.ndarray) -> dict[str, np.ndarray]:
    """Renewal date and CRM evidence per account of `ids` (renewal NaT and zeros where none)."""
    import numpy as np

    from cs_mcp.workspace.queries.renewals import renewal_evidence

    rs = ws.settings.renewal
    cfg = rs.probability
    raw = renewal_evidence(ws, won=cfg.won_stages, lost=cfg.lost_stages, late=cfg.late_stages,
                           slack_days=cfg.opportunity_days_after_renewal, cycle_days=max(rs.timeline_days) + 60,
                           closed_by=closed_by(ws))
    where = {a: i for i, a in enumerate(raw["account_id"])}
    at = np.array([where.get(a, -1) for a in ids], dtype=np.int64)
    out: dict[str, np.ndarray] = {}
    for name in ("expansion", "contraction", "downgrades", "late_renewals", "won_renewals", "lost_renewals",
                 "churn_notice", "derived"):
        v = np.nan_to_num(np.asarray(raw[name], dtype=float), nan=0.0)
        out[name] = np.where(at >= 0, v[np.maximum(at, 0)], 0.0) if len(v) else np.zeros(len(ids))
    dates = np.asarray(raw["renewal_date"]).astype("datetime64[D]")
    nat = np.datetime64("NaT", "D")
    out["renewal_date"] = np.where(at >= 0, dates[np.maximum(at, 0)], nat) if len(dates) else np.full(len(ids), nat)
    return out


def _at_least_the_renewal(churn_90: np.ndarray, lost: np.ndarray, renewal: np.ndarray, ws: Workspace) -> np.ndarray:
    """P(churn within churn.horizon_days), never below P(lost at or before the renewal) when that renewal falls
    inside the horizon: losing it is churning within the horizon. The two models are fitted apart, and the lost
    figure carries the CRM evidence (a renewal marked lost in 14 days is not an 8% churn risk for 90 days)."""
    import numpy as np

    days = (renewal - np.datetime64(ws.as_of, "D")).astype("timedelta64[D]").astype(float)
    with np.errstate(invalid="ignore"):
        inside = ~np.isnan(churn_90) & (days >= 0) & (days <= ws.settings.churn.horizon_days)
    return np.where(inside, np.maximum(churn_90, lost), churn_90)


def build_base(ws: Workspace, churn: ChurnInput | None = None) -> RenewalBase:
    """The renewal book of every active account: probabilities, tiers, categories and expected outcomes."""
    import numpy as np

    from cs_mcp.domain.columns import lowered, shared
    from cs_mcp.domain.portfolio import portfolio_snapshot

    rs = ws.settings.renewal
    snap = portfolio_snapshot(ws)
    frame = snap.frame
    source = churn if churn is not None else _churn_scores(ws)
    idx = _book_rows(ws, source)
    ids = frame["account_id"][idx]
    opp = _opportunity_columns(ws, ids)
    flags = {k: opp[k] for k in ("downgrades", "late_renewals", "won_renewals", "lost_renewals", "churn_notice")}
    arr = np.nan_to_num(frame["arr"][idx], nan=0.0)
    health = snap.health.score[idx]
    churn_p, churn_90 = np.full(len(idx), np.nan), np.full(len(idx), np.nan)
    churn_index = np.full(len(idx), -1, dtype=np.int64)
    method = "health-only"
    if source is not None:
        if getattr(source, "rows", None) is not None:  # the book's rows are the scores' rows, in order
            churn_index = np.arange(len(ids), dtype=np.int64)
        else:
            where = getattr(source, "position", None) or {a: i for i, a in enumerate(source.account_ids)}
            churn_index = np.array([where.get(a, -1) for a in ids], dtype=np.int64)
        has = churn_index >= 0
        churn_p[has] = np.asarray(source.probability, dtype=float)[churn_index[has]]
        p90 = getattr(source, "probability_90d", None)
        if p90 is not None:
            churn_90[has] = np.asarray(p90, dtype=float)[churn_index[has]]
        method = str(source.method)
    renewal = opp["renewal_date"].astype("datetime64[D]")
    has_renewal = ~np.isnat(renewal)
    prob = blend_probability(churn_p, health, flags, rs, method)
    lost = 1 - prob
    churn_90 = _at_least_the_renewal(churn_90, lost, renewal, ws)
    pct = np.round(prob * 100, 1)
    category = shared(np.where(has_renewal, categories(pct, rs.probability_tiers), None))
    trigger = ws.settings.expansion.seat_upsell_utilization
    expansion, contraction, outcome, util, candidate = _expected_outcome(trigger, frame, idx, arr, opp, flags,
                                                                         category)
    return RenewalBase(
        ids=ids, names=frame["name"][idx], segments=frame["segment"][idx], csm_ids=frame["csm_id"][idx], arr=arr,
        renewal=renewal, derived_date=opp["derived"].astype(bool), churn=churn_p, churn_90d=churn_90, lost=lost,
        tier_code=shown_tier_codes(lost, ws), health=health, bands=snap.health.bands()[idx], prob=prob, pct=pct,
        category=category, at_risk=np.isin(category, AT_RISK_CATEGORIES), expansion=expansion,
        contraction=contraction, outcome=outcome, seat_util=util, candidate=candidate, flags=flags,
        opp_expansion=opp["expansion"], method=method, churn_source=source, churn_index=churn_index,
        id_rank=np.argsort(np.argsort(ids.astype(str), kind="stable"), kind="stable"),
        lowered={c: lowered(frame[c][idx]) for c in ("segment", "csm_id")},
        position={str(a): i for i, a in enumerate(ids)},
        rows=idx,
        seat_trigger=trigger,
    )


def _expected_outcome(
    seat_trigger: float, frame: Any, idx: np.ndarray, arr: np.ndarray, opp: dict[str, np.ndarray],
    flags: dict[str, np.ndarray], category: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """(expansion, contraction, outcome, seat utilization, upsell candidate) of each renewal."""
    import numpy as np

    from cs_mcp.domain.columns import shared

    seats = frame["seats_purchased"][idx]
    active_users = frame["active_users"][idx]
    util = frame["seat_utilization"][idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        overage = np.where((seats > 0) & (active_users > seats), arr / seats * (active_users - seats), 0.0)
    overage = np.nan_to_num(overage, nan=0.0)
    expansion = np.where(opp["expansion"] > 0, opp["expansion"], overage)
    contraction = np.minimum(opp["contraction"], arr)
    net = expansion - contraction
    committed = (flags["won_renewals"] > 0) | (flags["late_renewals"] > 0)
    outcome = shared(np.where(
        lost_evidence(flags) | (category == "high_risk"),
        "churn",
        np.where(net > 0, "expand", np.where(net < 0, "contract", np.where(committed, "renew", "flat"))),
    ))
    candidate = np.nan_to_num(util, nan=0.0) > seat_trigger
    return expansion, contraction, outcome, util, candidate


def renewal_base(ws: Workspace) -> RenewalBase:
    """`build_base` from the churn model, cached per workspace and settings."""
    from cs_mcp.domain.portfolio import cached

    key = ("renewal-base", ws.settings.renewal.model_dump_json(), ws.settings.health.model_dump_json(),
           ws.settings.churn.model_dump_json())
    base = cached(ws, key, lambda: build_base(ws))
    if base.ids is None or (base.churn_source is None and base.method != "health-only"):  # read from disk
        with _reattach_lock:
            base.reattach(ws)
    return base


_reattach_lock = threading.Lock()


# ------------------------------------------------------------------------ answer


def book_drivers(base: RenewalBase, rows: Sequence[int], n: int = 3) -> dict[int, list[Any]]:
    """The churn drivers of each book row as every tool shows them: at most n, risk-raising first.

    CRM evidence, which decides the probability shown, leads. Notice given and a lost renewal opportunity
    (renewal probability capped at renewal.probability.lost_renewal_ceiling) come first, and the model's
    drivers that lower the risk are left out: they explain a probability the book no longer shows. A won
    renewal comes first as what lowers the risk. Drivers come from one ChurnScores.drivers(ids, k) call, or an
    injected sequence (whose plain strings count as risk-raising)."""
    found = _model_drivers(base, rows, n)
    out: dict[int, list[Any]] = {}
    for i in rows:
        ds = sorted(found.get(i, []), key=lambda d: _direction(d) != "raises risk")
        notice = base.flags.get("churn_notice")
        lost = (["churn_notice"] if notice is not None and notice[i] > 0 else []) + (
            ["renewal_lost"] if base.flags["lost_renewals"][i] > 0 else [])
        if lost:
            days = {"churn_notice": notice[i]} if notice is not None else {}  # the notice driver names its days
            ds = [*(_crm_driver(c, "raises risk", days.get(c, 1.0)) for c in lost),
                  *(d for d in ds if _direction(d) == "raises risk")]
        elif base.flags["won_renewals"][i] > 0:
            ds = [_crm_driver("renewal_won", "lowers risk"), *ds]
        if ds:
            out[i] = ds[:n]
    return out


def _crm_driver(feature: str, direction: Literal["raises risk", "lowers risk"], value: float = 1.0) -> Driver:
    return Driver(feature=feature, text=describe(feature, float(value)), family="crm", direction=direction,
                  impact=0.0)


def notice_on(base: RenewalBase, i: int, as_of: dt.date) -> dt.date | None:
    """The churn date of book row i when the customer has given notice (marked churned, that date ahead)."""
    days = base.flags.get("churn_notice")
    return None if days is None or days[i] <= 0 else as_of + dt.timedelta(days=int(days[i]))


def driver_words(d: Any) -> str:
    """A driver in an answer's words: '(+) ' marks one that lowers the risk."""
    return d if isinstance(d, str) else lowers_risk_mark(d.direction) + d.text


def _direction(d: Any) -> str:
    return getattr(d, "direction", "raises risk")


def _model_drivers(base: RenewalBase, rows: Sequence[int], n: int) -> dict[int, list[Any]]:
    scored = [i for i in rows if base.churn_index[i] >= 0]
    drivers = getattr(base.churn_source, "drivers", None)
    if not scored or drivers is None:
        return {}
    if callable(drivers):
        found = drivers([str(base.ids[i]) for i in scored], n)
        return {i: list(found.get(str(base.ids[i]), [])) for i in scored}
    return {i: list(drivers[int(base.churn_index[i])]) for i in scored}


def _signals(base: RenewalBase, i: int, rs: RenewalSettings) -> list[str]:
    f = base.flags
    out = []
    if f["churn_notice"][i] > 0:
        out.append(describe("churn_notice", f["churn_notice"][i]))
    if f["lost_renewals"][i] > 0:
        out.append(describe("renewal_lost", 1.0))
    if f["won_renewals"][i] > 0:
        out.append(describe("renewal_won", 1.0))
    if f["late_renewals"][i] > 0:
        out.append(
            f"renewal opportunity at a late stage ({rs.probability.late_stage_renewal * 100:+.0f} pts)"
        )
    if f["downgrades"][i] > 0:
        out.append(
            f"open downgrade -{money(base.contraction[i])} ({rs.probability.open_downgrade * 100:+.0f} pts)"
        )
    if base.opp_expansion[i] > 0:
        out.append(f"open upsell/cross-sell +{money(base.opp_expansion[i])}")
    elif base.expansion[i] > 0:
        out.append(f"more users than seats: about +{money(base.expansion[i])} at ARR per seat")
    if base.candidate[i]:
        out.append(
            f"seat utilization {base.seat_util[i] * 100:.0f}% (upsell trigger "
            f"{base.seat_trigger * 100:.0f}%)"
        )
    h = base.health[i]
    if h == h and base.bands[i] in ("red", "yellow"):
        out.append(f"health {h:.0f} ({base.bands[i]})")
    if base.churn[i] != base.churn[i]:
        out.append(
            "no churn score: probability from health" if h == h else "no churn score or health: default"
        )
    return out


def renewal_row(base: RenewalBase, i: int, as_of: dt.date, rs: RenewalSettings, drivers: list[str]) -> RenewalRow:
    renewal = base.renewal[i].astype(dt.date)
    days = (renewal - as_of).days
    health = base.health[i]
    util = base.seat_util[i]
    p90 = base.churn_90d[i]
    expected = base.arr[i] + base.expansion[i] - base.contraction[i]
    return RenewalRow(
        account_id=str(base.ids[i]),
        name=str(base.names[i]),
        segment=base.segments[i],
        csm_id=base.csm_ids[i],
        arr=round(float(base.arr[i]), 2),
        renewal_date=renewal,
        days_to_renewal=days,
        renewal_date_source="subscriptions" if base.derived_date[i] else "accounts",
        notice_on=notice_on(base, i, as_of),
        probability=float(base.pct[i]),
        category=base.category[i],
        churn_probability=round(float(base.lost[i]) * 100, 1),
        churn_probability_90d=None if p90 != p90 else round(float(p90) * 100, 1),
        churn_tier=TIERS[int(base.tier_code[i])],
        at_risk=bool(base.at_risk[i]),
        health_score=None if health != health else round(float(health), 1),
        health_band=str(base.bands[i]),
        expected_outcome=base.outcome[i],
        expansion_arr=round(float(base.expansion[i]), 2),
        contraction_arr=round(float(base.contraction[i]), 2),
        expected_arr=round(float(expected), 2),
        weighted_arr=round(float(base.prob[i] * expected), 2),
        seat_utilization=None if util != util else round(float(util), 3),
        expansion_candidate=bool(base.candidate[i]),
        timeline=timeline_of(days, renewal, rs.timeline_days),
        signals=_signals(base, i, rs),
        churn_drivers=drivers,
    )


def _match_filter(lowered: np.ndarray, wanted: str, what: str, ws: Workspace, column: str) -> np.ndarray:
    from cs_mcp.workspace.queries.renewals import account_values

    key = wanted.strip().lower()
    mask = lowered == key
    if not mask.any():
        known = account_values(ws, column)
        if key not in {k.lower() for k in known}:
            listed = ", ".join(str(k) for k in known[:40]) + (", ..." if len(known) > 40 else "")
            raise InvalidArgument(f"Unknown {what} '{wanted}'. Valid: {listed or 'none in the data'}.")
    return mask


def _buckets(names: list[str], labels: np.ndarray, arr: np.ndarray, weighted: np.ndarray) -> list[Bucket]:
    return [
        Bucket(
            name=n,
            accounts=int(m.sum()),
            arr=round(float(arr[m].sum()), 2),
            weighted_arr=round(float(weighted[m].sum()), 2),
        )
        for n in names
        for m in [labels == n]
    ]


def probability_rule(rs: RenewalSettings, method: str) -> str:
    c = rs.probability
    if method == "model":
        head = "p = 1 - the churn model's P(lost at or before the renewal)"
    elif method == "health-only":
        head = "no churn model available: p = health curve"
    else:
        head = (f"p = {1 - c.health_weight:g} x (1 - churn {method} score / 100) + {c.health_weight:g} x "
                "health curve")
    return (
        f"{head}; {c.open_downgrade * 100:+g} pts with an open downgrade, "
        f"{c.late_stage_renewal * 100:+g} pts with a late-stage renewal opportunity; "
        f"clipped to {c.floor * 100:g}-{c.ceiling * 100:g}%; won renewal "
        f">= {c.won_renewal_floor * 100:g}%, lost renewal or notice given <= {c.lost_renewal_ceiling * 100:g}%; "
        f"at risk when under {rs.probability_tiers['likely']:g}%"
    )


SCENARIO_DEFINITIONS = {
    "best": "every renewal renews and every expected expansion lands; no contraction",
    "base": "probability-weighted: sum of p x (ARR + expansion - contraction)",
    "worst": "every at-risk and high-risk renewal churns; the rest renew at their probability with "
    "contractions and no expansion",
}


def scenario_values(
    arr: np.ndarray, p: np.ndarray, expansion: np.ndarray, contraction: np.ndarray, likely: np.ndarray
) -> tuple[float, float, float]:
    """(best, base, worst) of a set of renewals (module docstring); worst <= base <= best for each renewal,
    given 0 <= p <= 1, expansion >= 0 and 0 <= contraction <= ARR."""
    import numpy as np

    best = float((arr + expansion).sum())
    base = float((p * (arr + expansion - contraction)).sum())
    worst = float(np.where(likely, p * (arr - contraction), 0.0).sum())
    return best, base, worst


def renewal_forecast(
    ws: Workspace,
    days: int | None = None,
    quarter: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    segment: str | None = None,
    csm_id: str | None = None,
    sort: Sort = "date",
    limit: int | None = None,
    cursor: str | None = None,
    churn: ChurnInput | None = None,
) -> RenewalForecast:
    """Renewals due in a window: per-account probability, category, outcome, timeline; portfolio totals."""
    import numpy as np

    from cs_mcp.workspace.queries.renewals import renewal_dates_known

    rs = ws.settings.renewal
    window = resolve_window(ws.as_of, rs.default_window_days, days, quarter, start, end)
    offset = decode_cursor(cursor)
    limit = limit or min(ws.settings.server.page_size, rs.page_size)
    base = build_base(ws, churn) if churn is not None else renewal_base(ws)
    if len(base.ids) == 0 and not renewal_dates_known(ws):
        raise NoData(
            "No account has a renewal date: map accounts.renewal_date (or add a subscriptions table "
            "whose current rows have an end_date) to forecast renewals."
        )
    mask = (base.renewal >= np.datetime64(window.start)) & (base.renewal <= np.datetime64(window.end))
    filters: dict[str, str] = {}
    if segment:
        mask &= _match_filter(base.lowered["segment"], segment, "segment", ws, "segment")
        filters["segment"] = segment
    if csm_id:
        mask &= _match_filter(base.lowered["csm_id"], csm_id, "csm_id", ws, "csm_id")
        filters["csm_id"] = csm_id
    sel = np.flatnonzero(mask)

    arr, p = base.arr[sel], base.prob[sel]
    exp, con = base.expansion[sel], base.contraction[sel]
    expected = arr + exp - con
    weighted = p * expected
    start_arr = float(arr.sum())
    best, base_case, worst = scenario_values(arr, p, exp, con, ~base.at_risk[sel])
    churned = float(((1 - p) * arr).sum())
    contraction = float((p * con).sum())
    expansion = float((p * exp).sum())
    targets = ws.settings.targets
    if len(sel):
        grr = min(1.0, (start_arr - churned - contraction) / start_arr) if start_arr > 0 else None
        nrr = base_case / start_arr if start_arr > 0 else None
        logos = float(p.sum()) / len(sel)
        metrics = {
            "grr": vs_target(None if grr is None else round(grr, 6), targets.grr),
            "nrr": vs_target(None if nrr is None else round(nrr, 6), targets.nrr),
            "logo_retention": vs_target(round(logos, 6), targets.logo_retention),
        }
    else:
        metrics = {
            k: vs_target(None, getattr(targets, k), "no renewals in the window")
            for k in ("grr", "nrr", "logo_retention")
        }

    order = _order(base, sel, sort)
    page_idx = order[offset : offset + limit]
    page = [int(i) for i in page_idx]
    drivers = book_drivers(base, page)
    rows = [renewal_row(base, i, ws.as_of, rs, [driver_words(d) for d in drivers.get(i, [])]) for i in page]
    nxt = offset + len(rows)
    stage_labels = _stage_labels(
        (base.renewal[sel] - np.datetime64(ws.as_of)).astype(int), rs.timeline_days
    )
    stage_names = (
        ["overdue"] + [f"T-{m}" for m in reversed(rs.timeline_days)] + [f"before T-{rs.timeline_days[0]}"]
    )

    notes = []
    if not len(sel):
        notes.append(
            f"No renewals fall in {window.label} ({window.start} to {window.end})"
            + (f" for {', '.join(f'{k} {v}' for k, v in filters.items())}" if filters else "")
            + f": widen the window (days, quarter or from/to dates) or drop filters; {renewal_coverage(ws)}."
        )
    if method_note := {
        "health-only": "No churn model is available, so probabilities come from health alone."
    }.get(base.method):
        notes.append(method_note)
    if len(sel) and base.derived_date[sel].any():
        notes.append(
            f"{int(base.derived_date[sel].sum())} renewal dates come from the end of the current "
            "subscription (accounts.renewal_date is empty)."
        )
    if (len(sel) and getattr(base.churn_source, "ranks_by", None) == "horizon"
            and window.end > ws.as_of + dt.timedelta(days=ws.settings.churn.horizon_days)):
        notes.append(
            f"Churn probabilities cover {ws.settings.churn.horizon_days} days; renewals further out are "
            "scored on today's signals."
        )
    tables = ["accounts"] + [t for t in ("subscriptions", "opportunities") if t in ws.tables]

    return RenewalForecast(
        window=window,
        as_of=ws.as_of,
        filters=filters,
        sort=sort,
        method=base.method,
        probability_rule=probability_rule(rs, base.method),
        renewals=len(sel),
        arr_up_for_renewal=round(start_arr, 2),
        at_risk_renewals=int(base.at_risk[sel].sum()),
        at_risk_arr=round(float(arr[base.at_risk[sel]].sum()), 2),
        scenarios=Scenarios(
            best=round(best, 2),
            base=round(base_case, 2),
            worst=round(worst, 2),
            definitions=SCENARIO_DEFINITIONS,
        ),
        metrics=metrics,
        waterfall=Waterfall(
            start_arr=round(start_arr, 2),
            expansion_arr=round(expansion, 2),
            contraction_arr=round(contraction, 2),
            churned_arr=round(churned, 2),
            end_arr=round(base_case, 2),
        ),
        by_category=_buckets(
            ["high_confidence", "likely", "at_risk", "high_risk"], base.category[sel], arr, weighted
        ),
        by_outcome=_buckets(list(OUTCOMES), base.outcome[sel], arr, weighted),
        by_stage=[b for b in _buckets(stage_names, stage_labels, arr, weighted) if b.accounts],
        accounts=rows,
        total=len(sel),
        returned=len(rows),
        next_cursor=encode_cursor(nxt) if nxt < len(sel) else None,
        tables_used=tables,
        note=" ".join(notes) or None,
    )


def _stage_labels(days: np.ndarray, milestones: list[int]) -> np.ndarray:
    """Timeline stage per renewal, vectorized: the smallest milestone at or above the days left."""
    import numpy as np

    asc = sorted(milestones)
    labels = np.array([f"T-{m}" for m in asc] + [f"before T-{asc[-1]}"], dtype=object)
    out = labels[np.searchsorted(asc, days, side="left")]
    out[days < 0] = "overdue"
    return out


def _order(base: RenewalBase, sel: np.ndarray, sort: Sort) -> np.ndarray:
    """Indices of `sel` in the requested order (ties: larger ARR first, then account id)."""
    import numpy as np

    arr = base.arr[sel]
    ids = base.id_rank[sel]
    if sort == "date":
        keys = (ids, -arr, base.renewal[sel])
    elif sort == "risk":
        keys = (ids, -arr, base.prob[sel])
    elif sort == "arr":
        keys = (ids, -arr)
    else:
        keys = (ids, -arr, -(1 - base.prob[sel]) * arr)
    return sel[np.lexsort(keys)]
