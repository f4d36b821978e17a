"""Customer segments by a named scheme, each with size, ARR, health, churn rate and a coverage model.

Schemes (every number is a setting of `segments`):
  value_tier    ARR above each threshold of `value_tiers` (an ARR exactly on one falls in the tier below);
                below the lowest: `lowest_tier`.
  health_value  health band (green / yellow / red) x value level of the tier (`value_levels`); each cell is
                named by its play (`health_value_cells`); accounts without a health score: "unscored".
  lifecycle     first match of: at_risk (red health or a tier-1 churn indicator such as no logins or an
                invoice 30+ days overdue), renewal_due (renewal within `renewal_window_days`, or overdue),
                onboarding (under `onboarding_days` since contract_start), adopting (under `adopting_days`),
                mature; plus churned = accounts that churned within the churn window.
  rfm           recency = days since the last login, frequency = logins per active user per week,
                monetary = ARR; each scored 1..`rfm_bins` by the share of the portfolio at or below the
                account's value (ties share a score; no login on record scores lowest). Groups, first match:
                dormant (no login in `dormant_days`+ days), champions (R, F, M >= rfm_high), loyal (R, F >=
                high), at_risk (M >= high and R or F <= rfm_low), promising (R >= high, F <= low),
                hibernating (R, F <= low), needs_attention (the rest).
  clusters      k-means on standardized `cluster_features` (log for `cluster_log_features`, missing values
                at the median), k in [cluster_k_min, cluster_k_max] with the best silhouette, fixed seed;
                each cluster named by the features whose mean is furthest (in sd) from the portfolio's; its
                coverage is that of the value tier holding most of its ARR.
Segment sizes cover active accounts now. Churn rate = accounts that churned within the last
`churn_window_days` / accounts active at the window's start, each counted in the segment it belonged to
on that date (the scheme applied to the data as of then; ARR then from subscriptions when present).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from cs_mcp.domain.errors import InvalidArgument, NoData
from cs_mcp.domain.formatting import day_count, money
from cs_mcp.domain.paging import Page, decode_cursor, encode_cursor
from cs_mcp.workspace.queries import retention as retention_queries
from cs_mcp.workspace.queries import segments as segment_queries

if TYPE_CHECKING:
    import numpy as np

    from cs_mcp.config import SegmentSettings
    from cs_mcp.domain.portfolio import PortfolioSnapshot
    from cs_mcp.workspace.loader import Workspace

Scheme = Literal["value_tier", "health_value", "lifecycle", "rfm", "clusters"]
SCHEMES: tuple[str, ...] = ("value_tier", "health_value", "lifecycle", "rfm", "clusters")
LIFECYCLE = ("onboarding", "adopting", "mature", "renewal_due", "at_risk", "churned")
RFM_GROUPS = ("champions", "loyal", "promising", "needs_attention", "at_risk", "hibernating", "dormant")
BANDS = ("red", "yellow", "green")
LEVELS = ("high", "mid", "low")

FEATURE_LABELS = {
    "arr": "ARR",
    "seats_purchased": "seats",
    "tenure_days": "tenure",
    "days_to_renewal": "days to renewal",
    "active_users": "active users",
    "usage_change_pct": "usage trend",
    "seat_utilization": "seat use",
    "logins_per_user_week": "login frequency",
    "days_since_last_login": "days since login",
    "feature_adoption": "feature adoption",
    "features_used": "features used",
    "outreach_response_rate": "outreach response",
    "meeting_attendance_rate": "meeting attendance",
    "days_since_last_touch": "days since CSM touch",
    "touches_90d": "CSM touches",
    "tickets_30d": "tickets",
    "ticket_volume_ratio": "ticket volume",
    "open_critical_tickets": "critical tickets",
    "escalations_90d": "escalations",
    "support_csat": "support CSAT",
    "csat": "CSAT",
    "nps": "NPS",
    "days_overdue": "days overdue",
    "arr_growth_12m": "ARR growth",
    "active_contacts": "contacts",
    "health_score": "health",
}
NAME_WORDS = {
    "days_since_last_touch": ("no recent CSM touch", "recent CSM touch"),
    "days_since_last_login": ("no recent logins", "recent logins"),
    "tenure_days": ("long tenure", "new"),
    "days_to_renewal": ("renewal far off", "renewal near"),
}
"""Words for a cluster whose mean is high / low on a feature (default: 'high <label>' / 'low <label>')."""
PERCENT_FEATURES = (
    "seat_utilization",
    "feature_adoption",
    "outreach_response_rate",
    "meeting_attendance_rate",
    "support_csat",
    "csat",
    "arr_growth_12m",
)


# ------------------------------------------------------------------------- models


class Segment(BaseModel):
    name: str = Field(description="segment name; send it as segment_detail to list its accounts")
    description: str = Field(description="who is in it, with the thresholds in force")
    accounts: int = Field(description="active accounts in the segment now (churned: lost in the window)")
    arr: float = Field(description="their current ARR (churned: ARR when lost)")
    arr_share: float | None = Field(description="share of the active ARR (null for churned)")
    average_arr: float | None
    average_health: float | None = Field(description="mean health score of the scored accounts")
    health_scored: int = Field(description="accounts with a health score")
    churn_rate: float | None = Field(
        description="churned in the window / active at its start in this segment; null without a base"
    )
    churn_base: int = Field(description="accounts active at the window start that were in this segment then")
    churned: int = Field(description="of those, accounts that churned within the window")
    coverage: str = Field(description="recommended coverage model / play (config segments.coverage)")
    profile: dict[str, float | None] = Field(
        default_factory=dict,
        description="mean inputs of the scheme (rfm: scores and raw values; clusters: feature means)",
    )
    distinctive: list[str] = Field(
        default_factory=list, description="clusters: features that set the cluster apart from the portfolio"
    )


class SegmentAccount(BaseModel):
    account_id: str
    name: str
    crm_segment: str | None = Field(description="the accounts table's own segment column")
    csm_id: str | None
    arr: float | None
    health_score: float | None
    health_band: str
    detail: str | None = Field(description="why the account is in the segment")


class SegmentDetail(Page):
    segment: str
    accounts: list[SegmentAccount] = Field(description="largest ARR first")


class ClusterModel(BaseModel):
    k: int
    silhouette: float = Field(description="mean silhouette of the chosen k (-1..1; higher separates better)")
    silhouettes: dict[int, float] = Field(description="silhouette of each k tried")
    features: list[str] = Field(description="features clustered")
    dropped_features: list[str] = Field(description="configured features left out, with the reason")
    imputed_share: float = Field(description="share of feature values filled with the median")
    fitted_on: int = Field(description="accounts the k-means was fitted on (a seeded sample when large)")


class CustomerSegments(BaseModel):
    scheme: Scheme
    as_of: dt.date
    filters: dict[str, str]
    active_accounts: int
    active_arr: float
    segments: list[Segment]
    churn_window_start: dt.date
    churn_rule: str = Field(description="how churn rates are computed")
    portfolio_churn_rate: float | None
    portfolio_churn_base: int
    portfolio_churned: int
    rule: str = Field(description="the scheme's rule with the thresholds in force")
    cluster_model: ClusterModel | None = None
    detail: SegmentDetail | None = Field(None, description="the accounts of segment_detail, when asked")
    tables_used: list[str]
    not_computed: list[str]
    note: str | None = None


# ------------------------------------------------------------------------ helpers


def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


@dataclass
class _State:
    """Every account as of one date: features, health, ARR then, and who was active."""

    day: dt.date
    snap: PortfolioSnapshot
    arr: np.ndarray
    active: np.ndarray
    days_to_renewal: np.ndarray

    @property
    def frame(self) -> Any:
        return self.snap.frame

    @property
    def health(self) -> np.ndarray:
        return self.snap.health.score


@dataclass
class _Facts:
    """accounts columns the feature frame lacks, aligned with the frame's rows."""

    churned_on: np.ndarray  # datetime64[D], NaT when empty
    renewal: np.ndarray  # datetime64[D]
    undated_churn: np.ndarray  # status churned without churned_on


def _facts(ws: Workspace, snap: PortfolioSnapshot) -> _Facts:
    import numpy as np

    raw = segment_queries.account_dates(ws)
    n = len(snap.frame)
    rows = np.array([snap.position[a] for a in raw["account_id"]], dtype=np.int64)

    def dates(name: str) -> np.ndarray:
        out = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
        out[rows] = np.asarray(raw[name]).astype("datetime64[D]")
        return out

    undated = np.zeros(n, dtype=bool)
    undated[rows] = raw["undated"] == 1.0
    return _Facts(dates("churned_on"), dates("renewal_date"), undated)


def _states(ws: Workspace, start: dt.date) -> tuple[_State, _State, _Facts]:
    """The portfolio now and at the churn window's start, cached per workspace and settings."""
    from cs_mcp.domain.portfolio import cached, portfolio_snapshot

    def compute() -> tuple[_State, _State, _Facts]:
        facts = _facts(ws, portfolio_snapshot(ws))
        return _state(ws, ws.as_of), _state(ws, start), facts

    return cached(ws, ("segment-states", start, ws.settings.health.model_dump_json()), compute)


def _state(ws: Workspace, day: dt.date) -> _State:
    import numpy as np

    from cs_mcp.domain.portfolio import portfolio_snapshot

    snap = portfolio_snapshot(ws, day)
    frame = snap.frame
    arr = np.nan_to_num(frame["arr"], nan=0.0)
    days = frame["days_to_renewal"]  # to the renewal due on `day` (the feature SQL moves later dates back)
    active = frame["is_active"] == 1.0  # customers on `day` (queries.customers)
    if day != ws.as_of and "subscriptions" in ws.tables:
        then = retention_queries.arr_on(ws, day)
        then_arr = np.array([then.get(a) or 0.0 for a in frame["account_id"]], dtype=float)
        arr = np.where(then_arr > 0, then_arr, arr)
    return _State(day, snap, arr, active, days)


# ------------------------------------------------------------------------ schemes


def _tier_order(cfg: SegmentSettings) -> list[tuple[str, float | None]]:
    tiers: list[tuple[str, float | None]] = sorted(cfg.value_tiers.items(), key=lambda kv: -kv[1])
    return [*tiers, (cfg.lowest_tier, None)]


def _value_tiers(cfg: SegmentSettings, arr: np.ndarray) -> np.ndarray:
    import numpy as np

    out = np.full(len(arr), cfg.lowest_tier, dtype=object)
    for name, threshold in reversed(_tier_order(cfg)[:-1]):
        out[arr > threshold] = name
    return out


def _tier_descriptions(cfg: SegmentSettings) -> dict[str, str]:
    order = _tier_order(cfg)
    out = {}
    for i, (name, lo) in enumerate(order):
        hi = order[i - 1][1] if i > 0 else None
        if lo is None:
            out[name] = f"ARR up to {money(order[i - 1][1] or 0)}"
        elif hi is None:
            out[name] = f"ARR above {money(lo)}"
        else:
            out[name] = f"ARR above {money(lo)} up to {money(hi)}"
    return out


def _health_value(cfg: SegmentSettings, st: _State) -> np.ndarray:
    import numpy as np

    tiers = _value_tiers(cfg, st.arr)
    bands = st.snap.health.bands()
    out = np.full(len(tiers), "unscored", dtype=object)
    for tier, level in cfg.value_levels.items():
        for band, cell in cfg.health_value_cells[level].items():
            out[(tiers == tier) & (bands == band)] = cell
    return out


def _hv_descriptions(cfg: SegmentSettings) -> dict[str, str]:
    out = {"unscored": "no health score (the data lacks the tables health is computed from)"}
    for level in cfg.health_value_cells:
        tiers = [t for t, lv in cfg.value_levels.items() if lv == level]
        for band, cell in cfg.health_value_cells[level].items():
            out[cell] = f"{level} value ({', '.join(tiers) or 'no tier'}) with {band} health"
    return out


def _hv_order(cfg: SegmentSettings) -> list[str]:
    levels = [lv for lv in LEVELS if lv in cfg.health_value_cells] + [
        lv for lv in cfg.health_value_cells if lv not in LEVELS
    ]
    return [cfg.health_value_cells[lv][b] for lv in levels for b in BANDS] + ["unscored"]


def _renewal_window(ws: Workspace) -> int:
    cfg = ws.settings.segments
    return cfg.renewal_window_days or ws.settings.renewal.timeline_days[0]


def _critical(ws: Workspace, st: _State) -> tuple[np.ndarray, list[Any], np.ndarray]:
    """Tier-1 churn indicators that fire per row (the critical alerts), and the hit matrix."""
    from cs_mcp.domain.churn import indicator_hits

    tier1 = [i for i in ws.settings.churn.indicators if i.tier == 1]
    hits = indicator_hits(st.frame.columns, tier1)
    return hits.any(axis=1), tier1, hits


def _lifecycle(ws: Workspace, st: _State) -> np.ndarray:
    import numpy as np

    cfg = ws.settings.segments
    critical, _, _ = _critical(ws, st)
    red = st.snap.health.bands() == "red"
    tenure = st.frame["tenure_days"]
    days = st.days_to_renewal
    with np.errstate(invalid="ignore"):
        due = days <= _renewal_window(ws)
        onboarding = tenure < cfg.onboarding_days
        adopting = tenure < cfg.adopting_days
    return np.select(
        [red | critical, due, onboarding, adopting],
        ["at_risk", "renewal_due", "onboarding", "adopting"],
        "mature",
    ).astype(object)


def _lifecycle_descriptions(ws: Workspace) -> dict[str, str]:
    cfg = ws.settings.segments
    return {
        "onboarding": f"under {cfg.onboarding_days} days since contract start",
        "adopting": f"{cfg.onboarding_days} to {cfg.adopting_days} days since contract start",
        "mature": f"over {cfg.adopting_days} days since contract start (or no start date)",
        "renewal_due": f"renewal within {_renewal_window(ws)} days, or overdue",
        "at_risk": "red health or a critical alert (a tier-1 churn indicator); checked first",
        "churned": f"churned within the last {cfg.churn_window_days} days (lost ARR, not in the totals)",
    }


@dataclass
class _RfmInputs:
    recency: np.ndarray  # days since the last login, inf without one
    frequency: np.ndarray
    monetary: np.ndarray


def _rfm_inputs(st: _State) -> _RfmInputs:
    import numpy as np

    days = st.frame["days_since_last_login"]
    return _RfmInputs(
        np.where(np.isnan(days), np.inf, days),
        np.nan_to_num(st.frame["logins_per_user_week"], nan=0.0),
        st.arr,
    )


def _quantile_score(x: np.ndarray, reference: np.ndarray, bins: int) -> np.ndarray:
    """1..bins from the share of the reference at or below x (ties share a score)."""
    import numpy as np

    ref = np.sort(reference)
    share = np.searchsorted(ref, x, side="right") / max(len(ref), 1)
    return np.clip(np.ceil(bins * share - 1e-9), 1, bins).astype(int)


def _rfm(cfg: SegmentSettings, inputs: _RfmInputs, ref: _RfmInputs) -> tuple[np.ndarray, np.ndarray]:
    """(group per row, scores rows x 3) against the reference population's distribution."""
    import numpy as np

    b = cfg.rfm_bins
    r = _quantile_score(-inputs.recency, -ref.recency, b)
    f = _quantile_score(inputs.frequency, ref.frequency, b)
    m = _quantile_score(inputs.monetary, ref.monetary, b)
    hi, lo = cfg.rfm_high, cfg.rfm_low
    group = np.select(
        [
            inputs.recency >= cfg.dormant_days,
            (r >= hi) & (f >= hi) & (m >= hi),
            (r >= hi) & (f >= hi),
            (m >= hi) & ((r <= lo) | (f <= lo)),
            (r >= hi) & (f <= lo),
            (r <= lo) & (f <= lo),
        ],
        ["dormant", "champions", "loyal", "at_risk", "promising", "hibernating"],
        "needs_attention",
    ).astype(object)
    return group, np.stack([r, f, m], axis=1)


def _rfm_descriptions(cfg: SegmentSettings) -> dict[str, str]:
    hi, lo = cfg.rfm_high, cfg.rfm_low
    return {
        "champions": f"recent, frequent and high-value (R, F and M >= {hi})",
        "loyal": f"recent and frequent, lower value (R and F >= {hi}): expansion candidates",
        "promising": f"recent but infrequent (R >= {hi}, F <= {lo})",
        "needs_attention": "middling recency or frequency",
        "at_risk": f"high value fading (M >= {hi}, R or F <= {lo})",
        "hibernating": f"rarely and not recently active (R and F <= {lo})",
        "dormant": f"no login in {cfg.dormant_days}+ days (or none on record)",
    }


# ----------------------------------------------------------------------- clusters


@dataclass
class _Clusters:
    model: Any
    features: list[str]
    log: list[bool]
    median: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    info: ClusterModel
    names: dict[int, str]
    distinctive: dict[int, list[str]]
    profile: dict[int, dict[str, float | None]]
    order: list[int]  # cluster labels, largest ARR first
    main_tier: dict[int, str]  # the value tier holding most of the cluster's ARR
    top_features: dict[int, list[str]]  # its most distinctive features, for per-account details


def _cluster_matrix(st: _State, features: list[str], log: list[bool]) -> np.ndarray:
    import numpy as np

    cols = []
    for f, lg in zip(features, log, strict=True):
        x = (
            st.health.astype(float)
            if f == "health_score"
            else (st.arr if f == "arr" else np.asarray(st.frame[f], dtype=float))
        )
        cols.append(np.log1p(np.maximum(x, 0)) if lg else x)
    return np.stack(cols, axis=1) if cols else np.zeros((len(st.arr), 0))


def _fmt_feature(f: str, v: float) -> str:
    if v != v:
        return "n/a"
    if f == "arr":
        return money(v)
    if f in PERCENT_FEATURES:
        return f"{v * 100:.0f}%"
    return f"{v:.1f}" if abs(v) < 10 else f"{v:.0f}"


def _side(feature: str, high: bool) -> str:
    label = FEATURE_LABELS.get(feature, feature)
    words = NAME_WORDS.get(feature, (f"high {label}", f"low {label}"))
    return words[0] if high else words[1]


def _fit_clusters(ws: Workspace, st: _State, rows: np.ndarray) -> _Clusters:
    import warnings

    import numpy as np

    from cs_mcp.workspace.features import METRIC_COLUMNS

    cfg = ws.settings.segments
    dropped: list[str] = []
    features: list[str] = []
    for f in dict.fromkeys(cfg.cluster_features):
        if f != "health_score" and f not in METRIC_COLUMNS:
            dropped.append(f"{f}: not a per-account metric")
        else:
            features.append(f)
    log = [f in cfg.cluster_log_features for f in features]
    X = _cluster_matrix(st, features, log)[rows]
    keep = []
    for j, f in enumerate(features):
        col = X[:, j]
        if np.isnan(col).all():
            dropped.append(f"{f}: no data")
        elif np.nanstd(col) == 0:
            dropped.append(f"{f}: the same for every account")
        else:
            keep.append(j)
    features = [features[j] for j in keep]
    log = [log[j] for j in keep]
    X = X[:, keep]
    n = len(rows)
    k_hi = min(cfg.cluster_k_max, n - 1)
    if len(features) < 2:
        raise NoData(
            "Clustering needs at least two features with data that vary across accounts; "
            f"usable: {features or 'none'} ({'; '.join(dropped)}). Add usage, touchpoints, tickets or NPS "
            "tables, or use scheme value_tier."
        )
    if k_hi < cfg.cluster_k_min:
        raise NoData(
            f"Clustering needs at least {cfg.cluster_k_min + 1} active accounts; this selection has {n}. "
            "Drop the segment filter, or use scheme value_tier, health_value, lifecycle or rfm."
        )
    missing = np.isnan(X)
    median = np.nanmedian(X, axis=0)
    X = np.where(missing, median, X)
    mean, std = X.mean(axis=0), X.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    Z = (X - mean) / std

    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(cfg.cluster_random_state)
    fit_rows = (
        np.sort(rng.choice(n, cfg.cluster_max_fit_accounts, replace=False))
        if n > cfg.cluster_max_fit_accounts
        else np.arange(n)
    )
    sample = cfg.cluster_silhouette_sample if n > cfg.cluster_silhouette_sample else None
    scores: dict[int, float] = {}
    models: dict[int, Any] = {}
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(cfg.cluster_k_min, k_hi + 1):
            km = KMeans(n_clusters=k, n_init=cfg.cluster_n_init, random_state=cfg.cluster_random_state)
            km.fit(Z[fit_rows])
            labels = km.predict(Z)
            if len(np.unique(labels)) < 2:
                continue
            scores[k] = round(
                float(silhouette_score(Z, labels, sample_size=sample, random_state=cfg.cluster_random_state)), 4
            )
            models[k] = km
    if not scores:
        raise NoData("The accounts do not separate into clusters (every k-means run found one group).")
    k = max(scores, key=lambda kk: (scores[kk], -kk))
    km = models[k]
    labels = km.predict(Z)

    arr = st.arr[rows]
    tiers = _value_tiers(cfg, arr)
    raw = np.where(missing, np.nan, _cluster_matrix(st, features, [False] * len(features))[rows])
    order = sorted(range(k), key=lambda c: (-float(arr[labels == c].sum()), c))
    names: dict[int, str] = {}
    distinctive: dict[int, list[str]] = {}
    top: dict[int, list[str]] = {}
    profile: dict[int, dict[str, float | None]] = {}
    main_tier: dict[int, str] = {}
    portfolio = {
        f: float(np.nanmean(raw[:, j])) if (~np.isnan(raw[:, j])).any() else None for j, f in enumerate(features)
    }
    for c in range(k):
        members = labels == c
        z = Z[members].mean(axis=0)
        ranked = [j for j in np.argsort(-np.abs(z), kind="stable") if abs(z[j]) >= cfg.cluster_distinctive_sd]
        words = [_side(features[j], z[j] > 0) for j in ranked[:2]]
        names[c] = ", ".join(words) or "typical"
        means = {}
        for j, f in enumerate(features):
            col = raw[members, j]
            means[f] = None if np.isnan(col).all() else round(float(np.nanmean(col)), 4)
        profile[c] = means
        top[c] = [features[j] for j in ranked[:2]]
        distinctive[c] = [
            f"{FEATURE_LABELS.get(features[j], features[j])} {_fmt_feature(features[j], means[features[j]] or 0)} "
            f"vs {_fmt_feature(features[j], portfolio[features[j]] or 0)} ({z[j]:+.1f} sd)"
            for j in ranked[:4]
        ]
        values, inverse = np.unique(tiers[members].astype(str), return_inverse=True)
        main_tier[c] = str(values[np.argmax(np.bincount(inverse, weights=arr[members]))])
    seen: dict[str, int] = {}
    for c in order:
        base = names[c]
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:
            names[c] = f"{base} ({seen[base]})"
    info = ClusterModel(
        k=k,
        silhouette=scores[k],
        silhouettes=scores,
        features=features,
        dropped_features=dropped,
        imputed_share=round(float(missing.mean()), 4) if missing.size else 0.0,
        fitted_on=len(fit_rows),
    )
    return _Clusters(km, features, log, median, mean, std, info, names, distinctive, profile, order, main_tier, top)


def _predict(cl: _Clusters, st: _State, rows: np.ndarray) -> np.ndarray:
    import numpy as np

    X = _cluster_matrix(st, cl.features, cl.log)[rows]
    X = np.where(np.isnan(X), cl.median, X)
    if not len(rows):
        return np.array([], dtype=int)
    return cl.model.predict((X - cl.mean) / cl.std)


# ------------------------------------------------------------------------ answer


def _segment_filter(ws: Workspace, st: _State, segment: str | None) -> np.ndarray:
    import numpy as np

    if not segment:
        return np.ones(len(st.frame), dtype=bool)
    from cs_mcp.domain.accounts import require_known_value

    require_known_value(ws, "segment", segment)
    key = segment.strip().lower()
    return np.array([s is not None and str(s).lower() == key for s in st.frame["segment"]], dtype=bool)


def _assign(ws: Workspace, scheme: str, st: _State, rows: np.ndarray, ref: Any) -> tuple[np.ndarray, Any]:
    """Segment label per row of `rows` (and scheme extras: RFM scores)."""
    import numpy as np

    cfg = ws.settings.segments
    if scheme == "value_tier":
        return _value_tiers(cfg, st.arr[rows]), None
    if scheme == "health_value":
        return _health_value(cfg, st)[rows], None
    if scheme == "lifecycle":
        return _lifecycle(ws, st)[rows], None
    if scheme == "rfm":
        inputs = _rfm_inputs(st)
        sub = _RfmInputs(inputs.recency[rows], inputs.frequency[rows], inputs.monetary[rows])
        return _rfm(cfg, sub, ref)
    labels = _predict(ref, st, rows)
    return np.array([ref.names[int(c)] for c in labels], dtype=object), labels


def _feature_value(st: _State, feature: str, i: int) -> float:
    if feature == "arr":
        return float(st.arr[i])
    return float(st.health[i] if feature == "health_score" else st.frame[feature][i])


def _detail_text(
    ws: Workspace, scheme: str, st: _State, i: int, label: str, extra: Any, pos: int, context: Any
) -> str | None:
    """Why account row `i` is in its segment; `context` is the scheme's precomputed extra (see _detail)."""
    frame = st.frame
    h = st.health[i]
    if scheme == "value_tier":
        return f"plan {frame['plan'][i]}" if frame["plan"][i] else None
    if scheme == "health_value":
        tier = _value_tiers(ws.settings.segments, st.arr[i : i + 1])[0]
        return f"{tier}, health " + ("n/a" if h != h else f"{h:.0f}")
    if scheme == "lifecycle":
        if label == "at_risk":
            from cs_mcp.domain.churn import indicator_text

            tier1, hits = context

            fired = [indicator_text(ind, float(frame[ind.metric][i])) for j, ind in enumerate(tier1) if hits[i, j]]
            red = [f"health red ({h:.0f})"] if st.snap.health.band(i) == "red" else []
            return "; ".join(red + fired)
        if label == "renewal_due":
            d = st.days_to_renewal[i]
            return f"renewal in {day_count(d)}" if d >= 0 else f"renewal {day_count(-d)} overdue"
        t = frame["tenure_days"][i]
        return None if t != t else f"day {t:.0f} since contract start"
    if scheme == "rfm":
        r, f, m = extra[pos]
        days = frame["days_since_last_login"][i]
        last = "no login on record" if days != days else f"last login {day_count(days)} ago"
        return f"R{r} F{f} M{m}: {last}, {frame['logins_per_user_week'][i] or 0:.1f} logins/user/week"
    if scheme == "clusters":
        cl: _Clusters = context
        top = cl.top_features[int(extra[pos])]
        return ", ".join(f"{FEATURE_LABELS.get(f, f)} {_fmt_feature(f, _feature_value(st, f, i))}" for f in top) or None
    return None


def customer_segments(
    ws: Workspace,
    scheme: Scheme = "value_tier",
    segment: str | None = None,
    segment_detail: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> CustomerSegments:
    """Segments of the active portfolio by a scheme, with size, ARR, health, churn rate and coverage."""
    import numpy as np

    if scheme not in SCHEMES:
        raise InvalidArgument(f"Unknown scheme '{scheme}'. Send one of: {', '.join(SCHEMES)}.")
    if cursor and not segment_detail:
        raise InvalidArgument("cursor pages the accounts of segment_detail; send segment_detail with it.")
    cfg = ws.settings.segments
    limit = limit or ws.settings.server.page_size
    start = ws.as_of - dt.timedelta(days=cfg.churn_window_days)
    now, then, f = _states(ws, start)
    chosen = _segment_filter(ws, now, segment)
    filters = {"segment": segment} if segment else {}
    rows_now = np.flatnonzero(now.active & chosen)
    rows_then = np.flatnonzero(then.active & chosen)
    lo, hi = np.datetime64(start, "D"), np.datetime64(ws.as_of, "D")
    with np.errstate(invalid="ignore"):
        churned_all = ~np.isnat(f.churned_on) & (f.churned_on > lo) & (f.churned_on <= hi)
    churned_then = churned_all[rows_then]
    not_computed: list[str] = []
    notes: list[str] = []
    tables = ["accounts"]

    has_health = bool((~np.isnan(now.health[rows_now])).any())
    if scheme == "health_value" and not has_health:
        raise NoData(
            "No active account has a health score, so the health x value grid is empty: add usage, "
            "touchpoints, tickets, NPS, invoices or subscriptions tables (health-score lists what each "
            "dimension needs), or use scheme value_tier."
        )
    if scheme == "rfm" and "usage" not in ws.tables:
        raise NoData(
            "RFM needs the usage table (recency = days since the last login, frequency = logins per user per "
            "week). Add usage.csv (account_id, date, active_users, logins), or use scheme value_tier."
        )
    if not len(rows_now):
        raise NoData("No active accounts" + (f" in segment '{segment}'" if segment else "") + " to segment.")

    ref: Any = None
    cl: _Clusters | None = None
    if scheme == "rfm":
        ref = _rfm_inputs(now)
        ref = _RfmInputs(ref.recency[rows_now], ref.frequency[rows_now], ref.monetary[rows_now])
    elif scheme == "clusters":
        from cs_mcp.domain.portfolio import cached

        key = (
            "segment-clusters",
            segment and segment.lower(),
            cfg.model_dump_json(),
            ws.settings.health.model_dump_json(),
        )
        cl = cached(ws, key, lambda: _fit_clusters(ws, now, rows_now))
        ref = cl
    labels_now, extra_now = _assign(ws, scheme, now, rows_now, ref)
    labels_then, _ = _assign(ws, scheme, then, rows_then, ref)

    if scheme == "value_tier":
        order = [name for name, _ in _tier_order(cfg)]
        descriptions = _tier_descriptions(cfg)
        rule = "; ".join(f"{n}: {descriptions[n]}" for n in order)
    elif scheme == "health_value":
        order = _hv_order(cfg)
        descriptions = _hv_descriptions(cfg)
        bands = now.snap.health.model.bands
        rule = (
            f"health band (green >= {bands.green:g}, yellow >= {bands.yellow:g}, else red) x value level of "
            "the tier (" + ", ".join(f"{t} {lv}" for t, lv in cfg.value_levels.items()) + ")"
        )
    elif scheme == "lifecycle":
        order = list(LIFECYCLE)
        descriptions = _lifecycle_descriptions(ws)
        rule = "first match: at_risk, renewal_due, onboarding, adopting, mature; churned = lost in the window"
    elif scheme == "rfm":
        order = list(RFM_GROUPS)
        descriptions = _rfm_descriptions(cfg)
        rule = (
            f"R = days since the last login, F = logins per user per week, M = ARR; each 1-{cfg.rfm_bins} by "
            f"the share of active accounts at or below the value; high >= {cfg.rfm_high}, low <= {cfg.rfm_low}"
        )
    else:
        assert cl is not None
        order = [cl.names[c] for c in cl.order]
        descriptions = {
            cl.names[c]: f"cluster {n + 1}: "
            + ("; ".join(cl.distinctive[c]) or "close to the portfolio on every feature")
            for n, c in enumerate(cl.order)
        }
        info = cl.info
        rule = (
            f"k-means, k = {info.k} (best silhouette {info.silhouette:.2f} of k "
            f"{min(info.silhouettes)}-{max(info.silhouettes)}) on standardized "
            + ", ".join(FEATURE_LABELS.get(x, x) for x in info.features)
        )

    coverage = cfg.coverage.get(scheme, {})
    arr_now = now.arr[rows_now]
    health_now = now.health[rows_now]
    total_arr = float(arr_now.sum())
    segments: list[Segment] = []
    for name in order:
        m = labels_now == name
        base = labels_then == name
        n_base = int(base.sum())
        lost = int(churned_then[base].sum())
        scored = m & ~np.isnan(health_now)
        n = int(m.sum())
        arr = float(arr_now[m].sum())
        profile: dict[str, float | None] = {}
        distinctive: list[str] = []
        cov = coverage.get(name)
        if scheme == "rfm" and n:
            scores = extra_now[m]
            r_in = _RfmInputs(ref.recency[m], ref.frequency[m], ref.monetary[m])
            finite = r_in.recency[np.isfinite(r_in.recency)]
            profile = {
                "recency_score": round(float(scores[:, 0].mean()), 2),
                "frequency_score": round(float(scores[:, 1].mean()), 2),
                "monetary_score": round(float(scores[:, 2].mean()), 2),
                "days_since_last_login": round(float(finite.mean()), 1) if len(finite) else None,
                "logins_per_user_week": round(float(r_in.frequency.mean()), 2),
            }
        if scheme == "clusters":
            assert cl is not None
            c = next(c for c in cl.order if cl.names[c] == name)
            profile = cl.profile[c]
            distinctive = cl.distinctive[c]
            tier = cl.main_tier[c]
            cov = f"cover each account by its value tier; most of this cluster's ARR is {tier}: " + cfg.coverage.get(
                "value_tier", {}
            ).get(tier, "n/a")
        if scheme == "lifecycle" and name == "churned":
            lost_rows = np.flatnonzero(churned_all & chosen)
            n = len(lost_rows)
            arr = float(now.arr[lost_rows].sum())
            scored = np.zeros(0, dtype=bool)
        if not n and not n_base and scheme in ("health_value", "rfm"):
            continue
        segments.append(
            Segment(
                name=name,
                description=descriptions.get(name, name),
                accounts=n,
                arr=round(arr, 2),
                arr_share=None
                if (scheme == "lifecycle" and name == "churned") or total_arr <= 0
                else round(arr / total_arr, 6),
                average_arr=round(arr / n, 2) if n else None,
                average_health=round(float(health_now[scored].mean()), 2) if scored.any() else None,
                health_scored=int(scored.sum()),
                churn_rate=round(lost / n_base, 6) if n_base else None,
                churn_base=n_base,
                churned=lost,
                coverage=cov or f"no coverage model configured (segments.coverage.{scheme}.{name})",
                profile=profile,
                distinctive=distinctive,
            )
        )

    detail = None
    if segment_detail:
        detail = _detail(
            ws,
            scheme,
            segment_detail,
            segments,
            now,
            rows_now,
            labels_now,
            extra_now,
            _critical(ws, now)[1:] if scheme == "lifecycle" else cl,
            churned_all & chosen,
            f.churned_on,
            limit,
            cursor,
        )

    base_n = len(rows_then)
    lost_n = int(churned_then.sum())
    churn_rule = (
        f"accounts that churned between {start} and {ws.as_of} (accounts.churned_on) / accounts "
        f"active on {start}, each counted in the segment it belonged to on {start} (the scheme applied to the "
        "data as of that date)"
    )
    if scheme in ("value_tier", "health_value", "rfm", "clusters"):
        if "subscriptions" in ws.tables:
            tables.append("subscriptions")
            churn_rule += f"; ARR on {start} from subscriptions (current ARR where none was active)"
        else:
            notes.append(f"Without subscriptions, ARR on {start} is taken as the current (last recorded) ARR.")
    if scheme == "lifecycle":
        churn_rule += "; renewal dates then = the renewal date moved back whole years (annual terms assumed)"
    undated = int((f.undated_churn & chosen).sum())
    if undated:
        notes.append(f"{undated} churned accounts have no churned_on date and are left out of churn rates.")
    if scheme in ("health_value", "lifecycle", "clusters") or (scheme == "value_tier" and has_health):
        from cs_mcp.domain.health import METRIC_SOURCES

        tables += sorted({t for t in METRIC_SOURCES.values() if t in ws.tables} - set(tables))
    if scheme == "rfm":
        tables.append("usage")
    if not has_health:
        not_computed.append(
            "average health: no active account has a health score (no usage, engagement, "
            "support, satisfaction or financial data)"
        )
    elif scheme != "health_value":
        unscored = int(np.isnan(health_now).sum())
        if unscored:
            notes.append(f"{unscored} active accounts have no health score (left out of average health).")
    if scheme == "lifecycle":
        if not (~np.isnat(f.renewal[rows_now])).any():
            not_computed.append("renewal_due: no account has a renewal_date")
        if np.isnan(now.frame["tenure_days"][rows_now]).all():
            not_computed.append("onboarding / adopting: no account has a contract_start (all read as mature)")
    if scheme == "clusters" and cl is not None:
        if cl.info.dropped_features:
            not_computed.append("cluster features left out: " + "; ".join(cl.info.dropped_features))
        notes.append(
            "Clusters are found by the algorithm and renamed from their features; re-running on new "
            "data can reshuffle them."
        )
    if segment_detail is None:
        notes.append("Send segment_detail with a segment name to list its accounts.")
    return CustomerSegments(
        scheme=scheme,
        as_of=ws.as_of,
        filters=filters,
        active_accounts=len(rows_now),
        active_arr=round(total_arr, 2),
        segments=segments,
        churn_window_start=start,
        churn_rule=churn_rule,
        portfolio_churn_rate=round(lost_n / base_n, 6) if base_n else None,
        portfolio_churn_base=base_n,
        portfolio_churned=lost_n,
        rule=rule,
        cluster_model=cl.info if cl else None,
        detail=detail,
        tables_used=list(dict.fromkeys(tables)),
        not_computed=not_computed,
        note=" ".join(notes) or None,
    )


def _detail(
    ws: Workspace,
    scheme: str,
    wanted: str,
    segments: list[Segment],
    st: _State,
    rows: np.ndarray,
    labels: np.ndarray,
    extra: Any,
    context: Any,
    churned: np.ndarray,
    churned_on: np.ndarray,
    limit: int,
    cursor: str | None,
) -> SegmentDetail:
    """One page of a segment's accounts, largest ARR first."""
    import numpy as np

    by_key = {_key(s.name): s.name for s in segments}
    if scheme == "clusters":
        by_key.update({f"cluster_{i + 1}": s.name for i, s in enumerate(segments)})
        by_key.update({str(i + 1): s.name for i, s in enumerate(segments)})
    name = by_key.get(_key(wanted))
    if name is None:
        raise InvalidArgument(
            f"No segment '{wanted}' in the {scheme} scheme. Segments: {', '.join(s.name for s in segments)}."
        )
    offset = decode_cursor(cursor)
    if scheme == "lifecycle" and name == "churned":
        members = np.flatnonzero(churned)
        positions = np.full(len(members), -1)
    else:
        positions = np.flatnonzero(labels == name)
        members = rows[positions]
    ids = st.frame["account_id"][members].astype(str)
    order = np.lexsort((ids, -st.arr[members]))
    members, positions = members[order], positions[order]
    page = []
    for i, pos in zip(members[offset : offset + limit], positions[offset : offset + limit], strict=True):
        i = int(i)
        if pos < 0:
            text = f"churned {churned_on[i]}"
        else:
            text = _detail_text(ws, scheme, st, i, name, extra, int(pos), context)
        h = st.health[i]
        page.append(
            SegmentAccount(
                account_id=str(st.frame["account_id"][i]),
                name=str(st.frame["name"][i]),
                crm_segment=st.frame["segment"][i],
                csm_id=st.frame["csm_id"][i],
                arr=round(float(st.arr[i]), 2),
                health_score=None if h != h or pos < 0 else round(float(h), 1),
                health_band="n/a" if pos < 0 else st.snap.health.band(i),
                detail=text,
            )
        )
    nxt = offset + len(page)
    return SegmentDetail(
        segment=name,
        accounts=page,
        total=len(members),
        returned=len(page),
        next_cursor=encode_cursor(nxt) if nxt < len(members) else None,
    )
