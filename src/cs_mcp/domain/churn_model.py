"""The churn model: training examples as of past cut-offs, candidates compared by grouped CV, calibration,
per-account drivers, and the scores of the current portfolio (`churn_scores`), cached per workspace.

Modes, chosen from the data:
  history   churned accounts carry churned_on: examples are (account, cut-off) pairs with features computed
            as of the cut-off by the feature SQL; label (churn.label) = churned within horizon_days after the
            cut-off ("horizon"), or churned at or before the account's next renewal after it ("next_renewal";
            examples whose renewal falls after as_of are dropped, the outcome not being observed yet).
  snapshot  outcomes without dates (a flat export): one example per account, features = account attributes,
            label = current churn status; active accounts get out-of-fold probabilities.
  none      fewer than churn.min_outcomes outcomes: the leading-indicator score ranks instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from cs_mcp.domain.churn import (
    TIERS,
    Driver,
    Method,
    describe,
    indicator_drivers,
    leading_indicator_score,
    tier_codes,
)
from cs_mcp.domain.portfolio import portfolio_snapshot
from cs_mcp.workspace.cache import cached
from cs_mcp.workspace.features import METRIC_COLUMNS

if TYPE_CHECKING:
    import numpy as np

    from cs_mcp.workspace.features import FeatureFrame
    from cs_mcp.workspace.loader import Workspace

log = logging.getLogger("cs_mcp.churn")
Progress = Callable[[float, str], None]

FORMAT_VERSION = 1
DISK_CACHE_KEEP = 20
"""Fitted models kept on disk; older ones are deleted."""
EPOCH = dt.date(1970, 1, 1)
YEAR_DAYS = 365.25
LEAK_AUC = 0.99
"""One feature separating churned from retained this well is taken for a leak (e.g. a 'cancel_reason')."""
MIN_DRIVER_IMPACT = 0.001
LARGE_TRAINING_SET = 10_000
"""Above this many examples, churn.cv_folds_large folds are used."""

CATEGORICALS = ("segment", "plan", "industry", "region")
# Per-account metrics of the feature SQL used as model inputs. Left out: is_active (selects the examples),
# arr / seats_purchased / tenure_days / days_to_renewal (recomputed here as of each cut-off),
# active_users_prev and arr_12m_ago (redundant with the changes computed from them).
_NOT_MODEL_INPUTS = frozenset(
    {"arr", "seats_purchased", "is_active", "tenure_days", "days_to_renewal", "active_users_prev", "arr_12m_ago"}
)
HISTORY_METRICS = tuple(c for c in METRIC_COLUMNS if c not in _NOT_MODEL_INPUTS)
STATIC_NUMERIC = ("arr", "seats", "employees", "tenure_days")


# ------------------------------------------------------------------------------------- model card


class CandidateScore(BaseModel):
    estimator: Literal["logistic", "gradient_boosting"]
    roc_auc: float = Field(description="out-of-fold ROC-AUC (grouped by account)")
    pr_auc: float = Field(description="out-of-fold average precision")
    brier: float = Field(description="out-of-fold Brier score of the uncalibrated probabilities")
    fit_seconds: float


class CalibrationBin(BaseModel):
    bin: int
    predicted_mean: float = Field(description="mean calibrated probability in the bin")
    observed_rate: float = Field(description="share of the bin's examples that churned")
    count: int


class ModelMetrics(BaseModel):
    roc_auc: float = Field(description="cross-validated ROC-AUC of the chosen model")
    pr_auc: float = Field(description="cross-validated average precision (PR-AUC)")
    brier: float = Field(description="cross-validated Brier score of the calibrated probabilities")
    base_rate: float = Field(description="share of examples that churned")
    leading_indicator_roc_auc: float | None = Field(
        description="ROC-AUC of the leading-indicator score on the same examples, for comparison"
    )
    calibration_method: Literal["isotonic", "sigmoid"]
    cv_folds: int = Field(description="folds of the grouped cross-validation (fewer on large training sets)")


class TrainingWindow(BaseModel):
    mode: Literal["history", "snapshot"]
    label: Literal["horizon", "next_renewal"] | None = Field(
        None,
        description="history mode: what an example's label means: 'horizon' = churned within horizon_days "
        "after the cut-off; 'next_renewal' = churned after the cut-off and at or before the account's next "
        "renewal date after it",
    )
    horizon_days: int | None = Field(
        description="label 'horizon': churned within this many days after the cut-off; label 'next_renewal': "
        "the window used instead for accounts with no known renewal date"
    )
    cutoffs: list[dt.date] = Field(description="dates the training features were computed as of")
    examples: int
    positives: int
    accounts: int
    sampled: str | None = Field(None, description="how examples were subsampled to bound the fit time")
    renewal_unknown_accounts: int | None = Field(
        None,
        description="label 'next_renewal': accounts with no known renewal date (renewal_date nor "
        "contract_start), labelled by the horizon_days rule instead",
    )
    dropped_unobserved: int | None = Field(
        None,
        description="label 'next_renewal': examples dropped because the account's next renewal after the "
        "cut-off falls after the as-of date (outcome not observed yet)",
    )


class ExcludedFeature(BaseModel):
    feature: str
    reason: str


class ChurnModelCard(BaseModel):
    method: Method
    mode: Literal["history", "snapshot", "none"]
    estimator: Literal["logistic", "gradient_boosting"] | None = None
    estimator_detail: str | None = None
    candidates: list[CandidateScore] = Field(default_factory=list)
    metrics: ModelMetrics | None = None
    calibration: list[CalibrationBin] = Field(default_factory=list)
    features: list[str] = Field(default_factory=list, description="model inputs (before one-hot encoding)")
    excluded_features: list[ExcludedFeature] = Field(default_factory=list)
    training: TrainingWindow | None = None
    indicators: list[dict[str, Any]] = Field(
        default_factory=list, description="leading indicators and their points"
    )
    data_used: list[str] = Field(description="tables the features came from")
    leakage_controls: list[str] = Field(default_factory=list)
    as_of: dt.date
    workspace_version: str
    fitted_at: dt.datetime
    fit_seconds: float
    caveat: str


# ---------------------------------------------------------------------------------------- queries


def _epoch_days(d: dt.date) -> int:
    return (d - EPOCH).days


def _fetch(cur: Any, sql: str, params: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    raw = cur.execute(sql, params).fetchnumpy()
    out: dict[str, Any] = {}
    for k, col in raw.items():
        if np.ma.isMaskedArray(col):
            if col.dtype.kind in "iufb":
                out[k] = np.ma.filled(col.astype(float), np.nan)
            else:
                text = np.array(np.ma.getdata(col), dtype=object)
                text[np.ma.getmaskarray(col)] = None
                out[k] = text
        elif col.dtype.kind in "iufb":
            out[k] = col.astype(float)
        else:
            out[k] = np.asarray(col, dtype=object)
    return out


def _custom_columns(ws: Workspace) -> dict[str, str]:
    """Custom account attribute -> 'DOUBLE' or 'VARCHAR'."""
    types = getattr(ws, "custom_column_types", None)
    if types:
        return dict(types)
    return {c: "VARCHAR" for c in getattr(ws, "custom_columns", [])}


def _account_facts(
    ws: Workspace, dates: Sequence[dt.date], account_ids: Sequence[str] | None
) -> dict[str, Any]:
    """Account-level inputs per (as_of, account), in the order of compute_features: dates as epoch days,
    ARR and seats of the subscriptions running at each date, first subscription start, custom attributes."""
    from cs_mcp.workspace.engine import ident

    custom = _custom_columns(ws)
    custom_sql = "".join(f", a.{ident(c)} AS {ident('c__' + c)}" for c in custom)
    where = "WHERE a.account_id IN (SELECT unnest($ids))" if account_ids is not None else ""
    sql = f"""
WITH dates AS (SELECT CAST(unnest($dates) AS DATE) AS as_of),
x AS (SELECT a.account_id, d.as_of FROM accounts a CROSS JOIN dates d {where}),
s AS (
  SELECT x.account_id, x.as_of, SUM(s.arr) AS sub_arr, SUM(s.seats) AS sub_seats,
    arg_max(s.plan, s.arr) AS sub_plan
  FROM x JOIN subscriptions s ON s.account_id = x.account_id AND s.start_date <= x.as_of
   AND (s.end_date IS NULL OR s.end_date > x.as_of)
  GROUP BY x.account_id, x.as_of
),
fs AS (SELECT account_id, MIN(start_date) AS first_start FROM subscriptions GROUP BY account_id)
SELECT x.account_id,
  CAST(date_diff('day', DATE '1970-01-01', x.as_of) AS DOUBLE) AS as_of_d,
  CAST(s.sub_arr AS DOUBLE) AS sub_arr, CAST(s.sub_seats AS DOUBLE) AS sub_seats, s.sub_plan,
  CAST(date_diff('day', DATE '1970-01-01', fs.first_start) AS DOUBLE) AS first_start_d,
  CAST(date_diff('day', DATE '1970-01-01', a.contract_start) AS DOUBLE) AS contract_start_d,
  CAST(date_diff('day', DATE '1970-01-01', a.renewal_date) AS DOUBLE) AS renewal_d,
  CAST(date_diff('day', DATE '1970-01-01', a.churned_on) AS DOUBLE) AS churned_d,
  lower(a.status) AS status,
  CAST(a.arr AS DOUBLE) AS account_arr, CAST(a.seats_purchased AS DOUBLE) AS account_seats,
  CAST(a.employees AS DOUBLE) AS employees{custom_sql}
FROM x JOIN accounts a ON a.account_id = x.account_id
LEFT JOIN s ON s.account_id = x.account_id AND s.as_of = x.as_of
LEFT JOIN fs ON fs.account_id = x.account_id
ORDER BY x.as_of, a.account_id
"""
    params: dict[str, Any] = {"dates": [d.isoformat() for d in dates]}
    if account_ids is not None:
        params["ids"] = list(account_ids)
    return _fetch(ws.cursor(), sql, params)


def _facts_now(ws: Workspace) -> dict[str, Any]:
    return cached(ws, ("churn-facts", ws.as_of), lambda: _account_facts(ws, [ws.as_of], None))


def _start_days(facts: dict[str, Any]) -> np.ndarray:
    """When each account became a customer: its first subscription, else contract_start."""
    import numpy as np

    return np.where(np.isnan(facts["first_start_d"]), facts["contract_start_d"], facts["first_start_d"])


def _active_at(facts: dict[str, Any], day: np.ndarray | float) -> np.ndarray:
    """Customer at `day`: started by then, not churned by then; churned without a date counts as unknown."""
    import numpy as np

    start = _start_days(facts)
    churned = facts["churned_d"]
    status_churned = facts["status"] == "churned"
    with np.errstate(invalid="ignore"):
        started = np.isnan(start) | (start <= day)
        not_gone = np.where(np.isnan(churned), ~status_churned, churned > day)
    return started & not_gone


def _renewal_anchor(facts: dict[str, Any]) -> np.ndarray:
    """A date (epoch days) on the account's renewal cycle: renewal_date, else contract_start (NaN if neither).
    The renewal due as of a date is the anchor's next anniversary after it."""
    import numpy as np

    return np.where(np.isnan(facts["renewal_d"]), facts["contract_start_d"], facts["renewal_d"])


# ------------------------------------------------------------------------------------- labels


@dataclass
class Labels:
    """Outcome of each example (account, cut-off), under the label in force (churn.label)."""

    y: np.ndarray
    """1 = churned within the label's window after the cut-off"""
    observed: np.ndarray
    """the window ends on or before ws.as_of, so the outcome is known (examples without it are dropped)"""
    renewal_unknown: np.ndarray
    """next_renewal: no renewal date known, the horizon rule was used instead"""
    window_end: np.ndarray
    """last day (epoch days) of each example's window"""


def _labels(
    churned: np.ndarray,
    anchor: np.ndarray,
    day: np.ndarray,
    label: str,
    horizon_days: int,
    as_of_d: float,
) -> Labels:
    """Labels of examples at `day` (arrays broadcast together): churned in (day, window end]. Window end:
    day + horizon_days ('horizon'), or the anchor's next anniversary after day ('next_renewal': the renewal
    due as of the cut-off, the days_to_renewal feature's date, rounded up to a whole day; an anniversary
    falling on the cut-off itself is the one a year later), else day + horizon_days when no anchor is known."""
    import numpy as np

    churned, anchor, day = np.broadcast_arrays(churned, anchor, day)
    horizon_end = day + horizon_days
    if label == "next_renewal":
        with np.errstate(invalid="ignore"):
            ahead = np.mod(anchor - day, YEAR_DAYS)
            ahead = np.ceil(np.where(ahead == 0, YEAR_DAYS, ahead))
        unknown = np.isnan(anchor)
        end = np.where(unknown, horizon_end, day + ahead)
    else:
        unknown = np.zeros(churned.shape, dtype=bool)
        end = horizon_end
    with np.errstate(invalid="ignore"):
        y = (churned > day) & (churned <= end)
    return Labels(y.astype(int), end <= as_of_d, unknown, end)


def example_labels(ws: Workspace, facts: dict[str, Any]) -> Labels:
    """Labels of the examples of `examples_as_of(...).facts` under ws.settings.churn.label."""
    c = ws.settings.churn
    return _labels(
        facts["churned_d"], _renewal_anchor(facts), facts["as_of_d"], c.label, c.horizon_days,
        float(_epoch_days(ws.as_of)),
    )


def _label_words(label: str, horizon_days: int) -> str:
    if label == "next_renewal":
        return "churning at or before its next renewal"
    return f"churning within {horizon_days} days"


# ------------------------------------------------------------------------------------ raw columns


def _raw_columns(
    frame: FeatureFrame, facts: dict[str, Any], health: Any, mode: str, use_subscriptions: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(numeric, categorical) model inputs for each row of `frame`, all as of the row's date."""
    import numpy as np

    day = facts["as_of_d"]
    numeric: dict[str, Any] = {}
    arr = facts["account_arr"]
    seats = facts["account_seats"]
    if use_subscriptions:
        # ARR and seats as of the row's date come from the subscriptions running then; the accounts table
        # holds today's values, which for a churned account may already reflect the churn.
        arr = np.where(np.isnan(facts["sub_arr"]), arr, facts["sub_arr"])
        seats = np.where(np.isnan(facts["sub_seats"]), seats, facts["sub_seats"])
    numeric["arr"] = arr
    numeric["seats"] = seats
    numeric["employees"] = facts["employees"]
    with np.errstate(invalid="ignore"):
        numeric["tenure_days"] = day - _start_days(facts)
    if mode == "history":
        # Days to the next anniversary of the renewal date: the renewal that was due as of the cut-off, not
        # the renewal_date stored today (which has moved on for renewed accounts).
        numeric["days_to_renewal"] = np.mod(_renewal_anchor(facts) - day, YEAR_DAYS)
        for m in HISTORY_METRICS:
            numeric[m] = np.asarray(frame[m], dtype=float)
        numeric["health_score"] = np.asarray(health.score, dtype=float)
        for d, s in health.dimension_scores.items():
            numeric[f"health_{d}"] = np.asarray(s, dtype=float)
    categorical: dict[str, Any] = {c: frame[c] for c in CATEGORICALS}
    if use_subscriptions:
        categorical["plan"] = np.where(facts["sub_plan"] == None, frame["plan"], facts["sub_plan"])  # noqa: E711
    for k, v in facts.items():
        if k.startswith("c__"):
            if v.dtype.kind == "O":
                categorical[k[3:]] = v
            else:
                numeric[k[3:]] = v
    return numeric, categorical


def _indicator_columns(frame: FeatureFrame, health: Any) -> dict[str, Any]:
    import numpy as np

    from cs_mcp.workspace.features import METRIC_COLUMNS

    cols = {m: np.asarray(frame[m], dtype=float) for m in METRIC_COLUMNS}
    cols["health_score"] = np.asarray(health.score, dtype=float)
    cols["health_red"] = np.where(np.isnan(health.score), np.nan, (health.bands() == "red").astype(float))
    return cols


def _subset(cols: dict[str, Any], idx: Any) -> dict[str, Any]:
    return {k: v[idx] for k, v in cols.items()}


# ---------------------------------------------------------------------------------- design matrix


@dataclass
class FeatureSpec:
    """How raw columns become the model's matrix: numeric as-is (NaN = missing), categoricals one-hot."""

    numeric: list[str]
    categorical: dict[str, list[str]]
    has_other: dict[str, bool]

    @property
    def columns(self) -> list[str]:
        cols = list(self.numeric)
        for c, levels in self.categorical.items():
            cols += [f"{c}={lv}" for lv in levels] + ([f"{c}=other"] if self.has_other[c] else [])
        return cols

    @property
    def groups(self) -> list[tuple[str, list[int]]]:
        out = [(n, [i]) for i, n in enumerate(self.numeric)]
        j = len(self.numeric)
        for c, levels in self.categorical.items():
            k = len(levels) + int(self.has_other[c])
            out.append((c, list(range(j, j + k))))
            j += k
        return out

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def build(self, numeric: dict[str, Any], categorical: dict[str, Any]) -> np.ndarray:
        import numpy as np

        n = len(next(iter(numeric.values()))) if numeric else len(next(iter(categorical.values())))
        X = np.empty((n, len(self.columns)), dtype=float)
        for i, name in enumerate(self.numeric):
            X[:, i] = numeric[name]
        j = len(self.numeric)
        for c, levels in self.categorical.items():
            vals = _norm_cat(categorical[c])
            known = np.zeros(n, dtype=bool)
            for lv in levels:
                hit = vals == lv
                X[:, j] = hit
                known |= hit
                j += 1
            if self.has_other[c]:
                X[:, j] = (vals != "") & ~known
                j += 1
        return X


def _norm_cat(values: Any) -> np.ndarray:
    import numpy as np

    return np.array(["" if v is None or v != v else str(v).strip() for v in values], dtype=object)


def _make_spec(
    numeric: dict[str, Any], categorical: dict[str, Any], max_levels: int
) -> tuple[FeatureSpec, list[ExcludedFeature]]:
    import numpy as np

    excluded = []
    keep_num = []
    for name, v in numeric.items():
        finite = v[~np.isnan(v)]
        if finite.size == 0:
            excluded.append(ExcludedFeature(feature=name, reason="no data"))
        elif finite.min() == finite.max() and finite.size == v.size:
            excluded.append(ExcludedFeature(feature=name, reason="constant"))
        else:
            keep_num.append(name)
    cats: dict[str, list[str]] = {}
    other: dict[str, bool] = {}
    for name, raw in categorical.items():
        vals = _norm_cat(raw)
        present = vals[vals != ""]
        if present.size == 0:
            excluded.append(ExcludedFeature(feature=name, reason="no data"))
            continue
        levels, counts = np.unique(present, return_counts=True)
        if len(levels) < 2 and present.size == vals.size:
            excluded.append(ExcludedFeature(feature=name, reason="constant"))
            continue
        min_count = max(5, int(0.005 * len(vals)))
        order = np.argsort(-counts, kind="stable")
        kept = [str(levels[i]) for i in order[:max_levels] if counts[i] >= min_count]
        if not kept or len(levels) > 0.5 * len(vals):
            excluded.append(
                ExcludedFeature(feature=name, reason="identifier-like (too many distinct values)")
            )
            continue
        cats[name] = kept
        other[name] = len(kept) < len(levels)
    return FeatureSpec(keep_num, cats, other), excluded


def _roc_auc_columns(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ROC-AUC of every column of X (NaN imputed by the column median) as a one-feature score."""
    import numpy as np
    from scipy.stats import rankdata

    med = np.nanmedian(np.where(np.all(np.isnan(X), axis=0), 0.0, X), axis=0)
    Z = np.where(np.isnan(X), med, X)
    ranks = rankdata(Z, axis=0)
    n1 = y.sum()
    n0 = len(y) - n1
    return (ranks[y == 1].sum(axis=0) - n1 * (n1 + 1) / 2) / (n1 * n0)


def _leak_guard(spec: FeatureSpec, X: np.ndarray, y: np.ndarray) -> tuple[FeatureSpec, list[ExcludedFeature]]:
    import numpy as np

    auc = _roc_auc_columns(X, y)
    miss = _roc_auc_columns(np.isnan(X).astype(float), y)
    strength = np.maximum(np.maximum(auc, 1 - auc), np.maximum(miss, 1 - miss))
    bad: dict[str, float] = {}
    for name, cols in spec.groups:
        s = float(strength[cols].max())
        if s >= LEAK_AUC:
            bad[name] = s
    if not bad:
        return spec, []
    spec = FeatureSpec(
        [n for n in spec.numeric if n not in bad],
        {c: lv for c, lv in spec.categorical.items() if c not in bad},
        {c: o for c, o in spec.has_other.items() if c not in bad},
    )
    return spec, [
        ExcludedFeature(
            feature=n,
            reason=f"separates churned from retained almost perfectly on its own "
            f"(AUC {s:.3f}): probably recorded after the churn",
        )
        for n, s in bad.items()
    ]


# ---------------------------------------------------------------------------------------- fitting


class Calibrator:
    """Maps raw model probabilities to calibrated ones: isotonic with many positives, else Platt (sigmoid)."""

    def __init__(self, method: Literal["isotonic", "sigmoid"]):
        self.method = method
        self.model: Any = None

    def fit(self, p: np.ndarray, y: np.ndarray) -> Calibrator:
        if self.method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            self.model = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(p, y)
        else:
            from sklearn.linear_model import LogisticRegression

            self.model = LogisticRegression(C=1e4).fit(_logit(p)[:, None], y)
        return self

    def predict(self, p: np.ndarray) -> np.ndarray:
        import numpy as np

        if self.method == "isotonic":
            # a top block where every held-out example churned would read as certainty
            return np.clip(self.model.predict(p), 0.0005, 0.99)
        return self.model.predict_proba(_logit(p)[:, None])[:, 1]


def _logit(p: np.ndarray) -> np.ndarray:
    import numpy as np

    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q))


def _make_estimator(name: str, n: int, random_state: int) -> Any:
    if name == "logistic":
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        return Pipeline(
            [
                ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
                ("scale", StandardScaler()),
                ("model", LogisticRegression(C=0.3, tol=1e-3, max_iter=1000)),
            ]
        )
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        learning_rate=0.1,
        max_iter=100,
        max_leaf_nodes=15,
        min_samples_leaf=max(5, min(40, n // 50)),
        l2_regularization=1.0,
        early_stopping=False,
        random_state=random_state,
    )


ESTIMATOR_DETAIL = {
    "logistic": "L2-regularized logistic regression (C=0.3) on median-imputed, standardized features with "
    "missing-value indicators",
    "gradient_boosting": "histogram gradient-boosted trees (100 iterations, learning rate 0.1, 15 leaves, "
    "L2 1.0); missing values routed natively",
}


def _folds(groups: np.ndarray, y: np.ndarray, k: int, random_state: int) -> np.ndarray:
    """Fold per example: whole accounts per fold, accounts that ever churned spread evenly."""
    import numpy as np

    _, codes = np.unique(groups, return_inverse=True)
    ever = np.zeros(codes.max() + 1, dtype=bool)
    ever[codes[y == 1]] = True
    rng = np.random.default_rng(random_state)
    fold = np.empty(len(ever), dtype=int)
    for stratum in (True, False):
        g = np.flatnonzero(ever == stratum)
        rng.shuffle(g)
        fold[g] = np.arange(len(g)) % k
    return fold[codes]


def _cross_validate(
    names: list[str], X: np.ndarray, y: np.ndarray, fold: np.ndarray, k: int, random_state: int
) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, float]]:
    """Out-of-fold probabilities and a fit on all examples, per candidate; the fits run on a thread pool."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    jobs = [
        (name, f) for name in sorted(names, key=lambda n: n != "gradient_boosting") for f in [*range(k), -1]
    ]

    def run(job: tuple[str, int]) -> tuple[str, int, Any, float]:
        name, f = job
        t = time.perf_counter()
        train = np.ones(len(y), dtype=bool) if f < 0 else fold != f
        est = _make_estimator(name, int(train.sum()), random_state).fit(X[train], y[train])
        out = est if f < 0 else est.predict_proba(X[fold == f])[:, 1]
        return name, f, out, time.perf_counter() - t

    workers = max(1, min(len(jobs), os.cpu_count() or 1, 4))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="churn-fit") as pool:
        results = list(pool.map(run, jobs))
    oof = {name: np.empty(len(y)) for name in names}
    final: dict[str, Any] = {}
    seconds = dict.fromkeys(names, 0.0)
    for name, f, out, sec in results:
        seconds[name] += sec
        if f < 0:
            final[name] = out
        else:
            oof[name][fold == f] = out
    return oof, final, seconds


def _calibration_table(p: np.ndarray, y: np.ndarray) -> list[CalibrationBin]:
    import numpy as np

    bins = 10 if len(p) >= 500 else 5
    order = np.argsort(p, kind="stable")
    return [
        CalibrationBin(
            bin=i + 1,
            predicted_mean=round(float(p[idx].mean()), 4),
            observed_rate=round(float(y[idx].mean()), 4),
            count=int(len(idx)),
        )
        for i, idx in enumerate(np.array_split(order, bins))
        if len(idx)
    ]


@dataclass
class FittedModel:
    """What a fit produces; pickled to the disk cache."""

    mode: Literal["history", "snapshot"]
    spec: FeatureSpec
    estimator_name: str
    estimator: Any
    calibrator: Calibrator
    card: ChurnModelCard
    use_subscriptions: bool
    oof_probability: dict[str, float] = field(default_factory=dict)
    """snapshot mode: calibrated out-of-fold probability of each active account in the training set"""


@dataclass
class TrainingSet:
    mode: Literal["history", "snapshot"]
    numeric: dict[str, Any]
    categorical: dict[str, Any]
    y: np.ndarray
    groups: np.ndarray
    status_active: np.ndarray
    indicator_score: np.ndarray | None
    cutoffs: list[dt.date]
    sampled: str | None
    use_subscriptions: bool
    renewal_unknown_accounts: int | None = None
    dropped_unobserved: int | None = None


def _cutoffs(ws: Workspace) -> list[dt.date]:
    c = ws.settings.churn
    last = ws.as_of - dt.timedelta(days=c.horizon_days)
    return [last - dt.timedelta(days=k * c.cutoff_spacing_days) for k in range(c.cutoffs)]


def _sample_accounts(ids: np.ndarray, ever: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A stratified sample of accounts (same fraction of churners and of others): keeps the base rate."""
    import numpy as np

    rng = np.random.default_rng(seed)
    keep = np.zeros(len(ids), dtype=bool)
    for stratum in (True, False):
        idx = np.flatnonzero(ever == stratum)
        take = int(round(fraction * len(idx)))
        keep[rng.choice(idx, size=take, replace=False)] = True
    return ids[keep]


@dataclass
class Examples:
    """Model inputs of the accounts that were customers at each date, every value as of that date."""

    frame: FeatureFrame
    facts: dict[str, Any]
    health: Any
    numeric: dict[str, Any]
    categorical: dict[str, Any]


def examples_as_of(
    ws: Workspace, dates: Sequence[dt.date], account_ids: Sequence[str] | None = None
) -> Examples:
    """Training-style examples (history mode) at the given dates: one row per customer and date."""
    import numpy as np

    from cs_mcp.domain.scoring import score_frame
    from cs_mcp.workspace.features import compute_features

    frame = compute_features(ws, dates, account_ids)
    facts = _account_facts(ws, dates, account_ids)
    if not np.array_equal(frame["account_id"], facts["account_id"]):
        raise RuntimeError("feature rows and account facts are not aligned")
    keep = _active_at(facts, facts["as_of_d"])
    frame = frame.select(keep)
    facts = _subset(facts, keep)
    health = score_frame(frame.columns, ws.settings.health)
    numeric, categorical = _raw_columns(frame, facts, health, "history", "subscriptions" in ws.tables)
    return Examples(frame, facts, health, numeric, categorical)


def training_set(ws: Workspace) -> tuple[TrainingSet | None, str]:
    """Examples to learn from, or None and why not."""
    import numpy as np

    c = ws.settings.churn
    use_subs = "subscriptions" in ws.tables
    now = _facts_now(ws)
    ids = now["account_id"]
    cutoffs = [d for d in _cutoffs(ws)]
    cut_d = np.array([_epoch_days(d) for d in cutoffs], dtype=float)
    # accounts x cut-offs: customer at the cut-off, and churned within the label's window after it
    active = (
        np.stack([_active_at(now, d) for d in cut_d], axis=1) if len(cut_d) else np.zeros((len(ids), 0), bool)
    )
    grid = _labels(
        now["churned_d"][:, None], _renewal_anchor(now)[:, None], cut_d[None, :], c.label, c.horizon_days,
        float(_epoch_days(ws.as_of)),
    )
    if c.label == "next_renewal":
        active = active & grid.observed  # the outcome must be known by as_of
    label = active & grid.y.astype(bool)
    positives = int(label.sum())
    examples = int(active.sum())
    if positives >= c.min_outcomes and examples - positives >= c.min_outcomes:
        keep_cut = active.any(axis=0)
        cutoffs = [d for d, k in zip(cutoffs, keep_cut, strict=True) if k]
        sampled = None
        candidates = ids[active.any(axis=1)]
        account_ids = None
        if examples > c.max_training_examples:
            ever = label.any(axis=1)[active.any(axis=1)]
            frac = c.max_training_examples / examples
            account_ids = list(_sample_accounts(candidates, ever, frac, c.random_state))
            sampled = (
                f"{len(account_ids):,} of {len(candidates):,} accounts sampled at random, stratified by "
                f"outcome (fraction {frac:.3f}), to keep the fit fast; the base rate is unchanged"
            )
        ex = examples_as_of(ws, cutoffs, account_ids)
        facts = ex.facts
        labels = example_labels(ws, facts)
        y = labels.y
        score, _ = leading_indicator_score(_indicator_columns(ex.frame, ex.health), c)
        numeric, categorical = ex.numeric, ex.categorical
        unknown_accounts = dropped = None
        if c.label == "next_renewal":
            keep = labels.observed
            dropped = int((~keep).sum())
            numeric, categorical = _subset(numeric, keep), _subset(categorical, keep)
            facts, y, score = _subset(facts, keep), y[keep], score[keep]
            unknown_accounts = len(np.unique(facts["account_id"][labels.renewal_unknown[keep]]))
        return TrainingSet(
            "history",
            numeric,
            categorical,
            y,
            facts["account_id"],
            np.ones(len(y), dtype=bool),
            score,
            cutoffs,
            sampled,
            use_subs,
            unknown_accounts,
            dropped,
        ), ""
    status = now["status"]
    n_churned = int((status == "churned").sum())
    n_active = int((status != "churned").sum())
    dated = int((~np.isnan(now["churned_d"])).sum())
    if n_churned >= c.min_outcomes and n_active >= c.min_outcomes:
        snap = portfolio_snapshot(ws)
        frame = snap.frame
        facts = now
        if not np.array_equal(frame["account_id"], facts["account_id"]):
            raise RuntimeError("feature rows and account facts are not aligned")
        sampled = None
        if len(ids) > c.max_training_examples:
            chosen = set(
                _sample_accounts(ids, status == "churned", c.max_training_examples / len(ids), c.random_state)
            )
            keep = np.array([a in chosen for a in ids])
            frame, facts = frame.select(keep), _subset(facts, keep)
            sampled = (
                f"{int(keep.sum()):,} of {len(ids):,} accounts sampled at random, stratified by status, "
                "to keep the fit fast"
            )
        # Snapshot: only attributes that do not move after a churn (event metrics of a churned account
        # describe the time after it left).
        numeric, categorical = _raw_columns(frame, facts, None, "snapshot", False)
        y = (facts["status"] == "churned").astype(int)
        return TrainingSet(
            "snapshot",
            numeric,
            categorical,
            y,
            facts["account_id"],
            facts["status"] != "churned",
            None,
            [ws.as_of],
            sampled,
            False,
        ), ""
    why = (
        (
            f"only {positives} training example(s) churned at or before their next renewal after one of the "
            f"{len(cutoffs)} cut-offs (renewal on or before {ws.as_of})"
            if c.label == "next_renewal"
            else f"only {positives} training example(s) churned within {c.horizon_days} days after one of the "
            f"{len(cutoffs)} cut-offs"
        )
        if dated
        else "no churn dates (churned_on)"
    )
    why += (
        f", and {n_churned} account(s) have status churned; at least {c.min_outcomes} are needed "
        "(churn.min_outcomes)"
    )
    return None, why


def fit_model(ws: Workspace, progress: Progress | None = None) -> tuple[FittedModel | None, str]:
    """Learn the churn model from the workspace's outcomes; (None, why) when there are too few."""
    with _one_blas_thread():
        return _fit_model(ws, progress)


def _one_blas_thread() -> Any:
    # Threaded BLAS / OpenMP inside each fit collapse when a core is busy elsewhere (spinning workers made
    # tree fits 15x slower on 2 cores); single-threaded fits run side by side on a thread pool instead.
    from threadpoolctl import threadpool_limits

    _import_sklearn()  # the limits apply to the thread pools of libraries already loaded
    return threadpool_limits(limits=1)


def _fit_model(ws: Workspace, progress: Progress | None) -> tuple[FittedModel | None, str]:
    import numpy as np
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    report = progress or (lambda f, m: None)
    c = ws.settings.churn
    t0 = time.perf_counter()
    report(0.05, "churn model: computing training features as of past cut-offs")
    ts, why = training_set(ws)
    if ts is None:
        return None, why
    spec, excluded = _make_spec(ts.numeric, ts.categorical, c.max_category_levels)
    X = spec.build(ts.numeric, ts.categorical)
    y = ts.y
    spec, leaks = _leak_guard(spec, X, y)
    if leaks:
        X = spec.build(ts.numeric, ts.categorical)
    excluded += leaks
    k = min(
        c.cv_folds if len(y) <= LARGE_TRAINING_SET else c.cv_folds_large, int(y.sum()), int((1 - y).sum())
    )
    fold = _folds(ts.groups, y, k, c.random_state)
    names = list(dict.fromkeys(c.candidates))
    report(0.25, f"churn model: cross-validating {' and '.join(names)} on {len(y):,} examples")
    oofs, finals, seconds = _cross_validate(names, X, y, fold, k, c.random_state)
    candidates = [
        CandidateScore(
            estimator=name,
            roc_auc=round(float(roc_auc_score(y, p)), 4),
            pr_auc=round(float(average_precision_score(y, p)), 4),
            brier=round(float(brier_score_loss(y, p)), 4),
            fit_seconds=round(seconds[name], 2),
        )
        for name, p in oofs.items()
    ]
    best = max(candidates, key=lambda s: s.roc_auc)
    p = oofs[best.estimator]
    # Calibrated out-of-fold probabilities for honest metrics: each fold's calibrator is fit on the others.
    # Isotonic needs many positives; it is kept only where it beats the sigmoid on those held-out folds.
    methods: list[Literal["isotonic", "sigmoid"]] = ["sigmoid", "isotonic"] if y.sum() >= 200 else ["sigmoid"]
    cross_fitted = {}
    for m in methods:
        p_cal = np.empty_like(p)
        for f in range(k):
            test = fold == f
            p_cal[test] = Calibrator(m).fit(p[~test], y[~test]).predict(p[test])
        cross_fitted[m] = p_cal
    method = min(methods, key=lambda m: brier_score_loss(y, cross_fitted[m]))
    p_cal = cross_fitted[method]
    calibrator = Calibrator(method).fit(p, y)
    estimator = finals[best.estimator]
    indicator_auc = None
    if ts.indicator_score is not None and np.ptp(ts.indicator_score) > 0:
        indicator_auc = round(float(roc_auc_score(y, ts.indicator_score)), 4)
    metrics = ModelMetrics(
        roc_auc=best.roc_auc,
        pr_auc=round(float(average_precision_score(y, p_cal)), 4),
        brier=round(float(brier_score_loss(y, p_cal)), 4),
        base_rate=round(float(y.mean()), 4),
        leading_indicator_roc_auc=indicator_auc,
        calibration_method=method,
        cv_folds=k,
    )
    oof_active: dict[str, float] = {}
    if ts.mode == "snapshot":
        oof_active = {
            str(a): float(q) for a, q, s in zip(ts.groups, p_cal, ts.status_active, strict=True) if s
        }
    card = ChurnModelCard(
        method="model",
        mode=ts.mode,
        estimator=best.estimator,
        estimator_detail=ESTIMATOR_DETAIL[best.estimator],
        candidates=candidates,
        metrics=metrics,
        calibration=_calibration_table(p_cal, y),
        features=spec.features,
        excluded_features=excluded,
        training=TrainingWindow(
            mode=ts.mode,
            label=c.label if ts.mode == "history" else None,
            horizon_days=c.horizon_days if ts.mode == "history" else None,
            cutoffs=ts.cutoffs,
            examples=len(y),
            positives=int(y.sum()),
            accounts=len(np.unique(ts.groups)),
            sampled=ts.sampled,
            renewal_unknown_accounts=ts.renewal_unknown_accounts,
            dropped_unobserved=ts.dropped_unobserved,
        ),
        data_used=_data_used(ws, ts.mode),
        leakage_controls=_leakage_controls(ts.mode, ts.use_subscriptions),
        as_of=ws.as_of,
        workspace_version=ws.version,
        fitted_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        fit_seconds=round(time.perf_counter() - t0, 2),
        caveat=_caveat(ts.mode, c.horizon_days, c.label),
    )
    model = FittedModel(
        ts.mode, spec, best.estimator, estimator, calibrator, card, ts.use_subscriptions, oof_active
    )
    return model, ""


def _data_used(ws: Workspace, mode: str) -> list[str]:
    if mode == "snapshot":
        return ["accounts"]
    feeds = {
        "accounts",
        "subscriptions",
        "usage",
        "feature_usage",
        "touchpoints",
        "tickets",
        "nps",
        "invoices",
        "contacts",
    }
    return sorted(feeds & set(ws.tables) | {"accounts"})


def _leakage_controls(mode: str, use_subs: bool) -> list[str]:
    if mode == "snapshot":
        return [
            "only account attributes are used (arr, seats, employees, tenure, segment, plan, industry, "
            "region, custom columns): event metrics of a churned account describe the time after it left",
            f"any single feature separating churned from active with AUC >= {LEAK_AUC} is dropped as a leak",
            "active accounts are scored out-of-fold, by models that did not see them",
        ]
    out = [
        "every event metric is computed by the feature SQL as of the cut-off (later rows are ignored)",
        "customers at a cut-off: started on or before it (first subscription, else contract_start) and not "
        "churned by it",
        "days to renewal: the renewal date's next anniversary after the cut-off, not today's renewal_date",
        "cross-validation folds hold whole accounts, so no account is in both a training and a test fold",
        f"any single feature separating churned from retained with AUC >= {LEAK_AUC} is dropped as a leak",
    ]
    out.insert(
        2,
        "ARR and seats as of the cut-off come from the subscriptions running then"
        if use_subs
        else "no subscriptions table: ARR and seats are the accounts table's current values (a leak if the "
        "export zeroes churned accounts' ARR; the leak check above would drop it)",
    )
    return out


def _caveat(mode: str, horizon: int, label: str = "horizon") -> str:
    if mode == "snapshot":
        return (
            "This workspace has churn status but no churn dates or history, so the model learned from a "
            "single snapshot: how active accounts' attributes compare with those of customers who left. The "
            "probability says how much an account resembles past churners, not that it will leave within a "
            "given period; "
            "attributes may have changed since those customers left. Drivers are associations, not causes."
        )
    if label == "next_renewal":
        meaning = (
            "Probability of churning at or before the account's next renewal (churn.label = next_renewal; "
            f"within {horizon} days for accounts with no known renewal date), learned from past cut-offs of "
            "this workspace whose renewal had come by the as-of date, and calibrated on out-of-fold "
            "predictions. The window differs per account: an account renewing next month and one renewing "
            "in eleven months are not exposed for the same time."
        )
    else:
        meaning = (
            f"Probability of churning within {horizon} days, learned from past cut-offs of this workspace and "
            "calibrated on out-of-fold predictions."
        )
    return (
        meaning + " Drivers show what sets an account apart from the portfolio's "
        "typical account in the model: associations, not causes. Account attributes (segment, plan, custom "
        "columns) are today's values, assumed stable over the training window."
    )


def _fallback_card(ws: Workspace, why: str) -> ChurnModelCard:
    c = ws.settings.churn
    pts = c.leading_indicator_points
    by_tier = {1: pts.tier1, 2: pts.tier2, 3: pts.tier3}
    return ChurnModelCard(
        method="leading-indicator",
        mode="none",
        data_used=_data_used(ws, "history"),
        indicators=[{**i.model_dump(), "points": by_tier[i.tier]} for i in c.indicators],
        as_of=ws.as_of,
        workspace_version=ws.version,
        fitted_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        fit_seconds=0.0,
        caveat=(
            f"No model: {why}. Accounts are ranked by the leading-indicator score (tier-1 indicators "
            f"{pts.tier1:g} points, tier-2 {pts.tier2:g}, tier-3 {pts.tier3:g}, capped at {pts.cap:g}); the "
            "'probability' is the score / 100, a ranking, not a calibrated probability."
        ),
    )


# ------------------------------------------------------------------------------------- disk cache


def _cache_file(ws: Workspace) -> Path | None:
    if not ws.settings.churn.disk_cache or ws.path is None:
        return None
    import numpy
    import sklearn

    from cs_mcp.workspace import model_store

    key = "|".join(
        [
            str(FORMAT_VERSION),
            str(ws.path),
            ws.version,
            ws.as_of.isoformat(),
            ws.settings.churn.model_dump_json(),
            ws.settings.health.model_dump_json(),
            sklearn.__version__,
            numpy.__version__,
            _code_version(),
        ]
    )
    return model_store.cache_file("churn", key)


def _code_version() -> str:
    """Hash of the code a fitted model depends on, so an upgrade never reuses an incompatible model."""
    from cs_mcp.domain import scoring
    from cs_mcp.workspace import features

    h = hashlib.sha256()
    for module_file in (__file__, features.__file__, scoring.__file__):
        h.update(Path(module_file).read_bytes())
    return h.hexdigest()[:16]


def fitted_model(ws: Workspace, progress: Progress | None = None) -> tuple[FittedModel | None, str]:
    """The workspace's churn model, fitted once per data version (memory, then disk cache)."""
    key = ("churn-model", ws.settings.churn.model_dump_json(), ws.settings.health.model_dump_json())

    def compute() -> tuple[FittedModel | None, str]:
        from cs_mcp.workspace import model_store

        path = _cache_file(ws)
        model = model_store.load(path, FittedModel)
        if model is not None:
            return model, ""
        model, why = fit_model(ws, progress)
        if model is not None:
            model_store.save(path, model, keep=DISK_CACHE_KEEP)
        return model, why

    return cached(ws, key, compute)


def churn_model_card(ws: Workspace) -> ChurnModelCard:
    """The model card of the churn model in force (or of the leading-indicator fallback)."""
    return churn_scores(ws).card


# ------------------------------------------------------------------------------------------ scores


@dataclass
class ScoringView:
    """Display columns of the scored (active) accounts, aligned with ChurnScores.account_ids."""

    name: np.ndarray
    segment: np.ndarray
    csm_id: np.ndarray
    segment_lower: np.ndarray
    csm_lower: np.ndarray
    arr: np.ndarray
    days_to_renewal: np.ndarray
    days_since_last_touch: np.ndarray
    health_score: np.ndarray
    health_band: np.ndarray
    segments: list[str]
    csms: list[str]


@dataclass
class ChurnScores:
    """Churn probability of every active account as of ws.as_of, and the means to explain it.

    `probability[i]` belongs to `account_ids[i]`; `method` says whether the learned model or the
    leading-indicator score produced it; `drivers([...])` gives the top reasons per account.
    """

    as_of: dt.date
    method: Method
    account_ids: np.ndarray
    probability: np.ndarray
    indicator_score: np.ndarray
    tier_code: np.ndarray
    card: ChurnModelCard
    view: ScoringView
    note: str | None
    _explain: Callable[[np.ndarray], list[list[Driver]]]
    position: dict[str, int] = field(default_factory=dict)
    order_by_probability: np.ndarray | None = None
    order_by_arr_at_risk: np.ndarray | None = None
    _drivers: dict[str, list[Driver]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def probability_of(self, account_id: str) -> float | None:
        i = self.position.get(account_id)
        return None if i is None else float(self.probability[i])

    def tier_of(self, account_id: str) -> str | None:
        i = self.position.get(account_id)
        return None if i is None else TIERS[int(self.tier_code[i])]

    def drivers(self, account_ids: Sequence[str], k: int = 3) -> dict[str, list[Driver]]:
        """Top-k drivers of each given (active) account; computed on demand, then remembered."""
        import numpy as np

        missing = [a for a in dict.fromkeys(account_ids) if a not in self._drivers and a in self.position]
        if missing:
            rows = np.array([self.position[a] for a in missing], dtype=int)
            explained = self._explain(rows)
            with self._lock:
                for a, d in zip(missing, explained, strict=True):
                    self._drivers[a] = d
        return {a: self._drivers[a][:k] for a in account_ids if a in self._drivers}


def churn_scores(ws: Workspace, progress: Progress | None = None) -> ChurnScores:
    """Churn probabilities of the active accounts as of ws.as_of (model, else leading indicators), cached."""
    key = ("churn-scores", ws.settings.churn.model_dump_json(), ws.settings.health.model_dump_json())
    return cached(ws, key, lambda: _score(ws, progress))


def _score(ws: Workspace, progress: Progress | None) -> ChurnScores:
    # scikit-learn takes a second or two to import: let it load while DuckDB computes the features
    threading.Thread(target=_import_sklearn, name="churn-import", daemon=True).start()
    return _score_portfolio(ws, progress)


def _import_sklearn() -> None:
    import sklearn.ensemble  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sklearn.metrics  # noqa: F401


def _score_portfolio(ws: Workspace, progress: Progress | None) -> ChurnScores:
    import numpy as np

    c = ws.settings.churn
    snap = portfolio_snapshot(ws)
    frame = snap.frame
    facts = _facts_now(ws)
    if not np.array_equal(frame["account_id"], facts["account_id"]):
        raise RuntimeError("feature rows and account facts are not aligned")
    active = _active_at(facts, float(_epoch_days(ws.as_of))) & (facts["status"] != "churned")
    rows = np.flatnonzero(active)
    ind_cols = _subset(_indicator_columns(frame, snap.health), rows)
    ind_score, hits = leading_indicator_score(ind_cols, c)
    model, why = fitted_model(ws, progress)
    view = _view(frame, snap.health, rows)
    ids = np.asarray(frame["account_id"][rows], dtype=object)
    note = None
    if model is None:
        card = _fallback_card(ws, why)
        probability = ind_score / 100.0

        def explain(idx: np.ndarray) -> list[list[Driver]]:
            return [indicator_drivers(ind_cols, int(i), hits[int(i)], c) for i in idx]

        method: Method = "leading-indicator"
        note = card.caveat
    else:
        card = model.card
        health_sub = _HealthSubset(snap.health, rows)
        numeric, categorical = _raw_columns(
            frame.select(rows), _subset(facts, rows), health_sub, model.mode, model.use_subscriptions
        )
        X = model.spec.build(numeric, categorical)
        raw = model.estimator.predict_proba(X)[:, 1] if len(X) else np.zeros(0)
        probability = model.calibrator.predict(raw) if len(X) else np.zeros(0)
        if model.mode == "snapshot":
            oof = np.array([model.oof_probability.get(a, np.nan) for a in ids], dtype=float)
            probability = np.where(np.isnan(oof), probability, oof)
            note = "Snapshot model (no churn dates in the data): see the model card's caveat."
        elif model.card.training is not None and model.card.training.label == "next_renewal":
            note = (
                "Probability = P(churn at or before the account's next renewal) (churn.label = next_renewal; "
                f"within {model.card.training.horizon_days} days where no renewal date is known): see the "
                "model card's caveat."
            )
        explain = _explainer(model, X, raw, probability, numeric, categorical)
        method = "model"
    probability = np.clip(np.asarray(probability, dtype=float), 0.0, 1.0)
    arr = np.nan_to_num(view.arr)
    # ties (isotonic steps) broken by the indicator score, then by ARR
    order_p = np.lexsort((-arr, -ind_score, -probability))
    order_r = np.lexsort((-probability, -arr * probability))
    return ChurnScores(
        as_of=ws.as_of,
        method=method,
        account_ids=ids,
        probability=probability,
        indicator_score=ind_score,
        tier_code=tier_codes(probability, c.tiers),
        card=card,
        view=view,
        note=note,
        _explain=explain,
        position={a: i for i, a in enumerate(ids)},
        order_by_probability=order_p,
        order_by_arr_at_risk=order_r,
    )


class _HealthSubset:
    """The rows of a ScoredFrame, with the attributes _raw_columns reads."""

    def __init__(self, health: Any, rows: np.ndarray):
        self.score = health.score[rows]
        self.dimension_scores = {d: s[rows] for d, s in health.dimension_scores.items()}


def _view(frame: FeatureFrame, health: Any, rows: np.ndarray) -> ScoringView:
    import numpy as np

    seg = frame["segment"][rows]
    csm = frame["csm_id"][rows]
    lower = np.vectorize(lambda v: "" if v is None else str(v).lower(), otypes=[object])
    seg_l = lower(seg) if len(rows) else np.array([], dtype=object)
    csm_l = lower(csm) if len(rows) else np.array([], dtype=object)
    return ScoringView(
        name=frame["name"][rows],
        segment=seg,
        csm_id=csm,
        segment_lower=seg_l,
        csm_lower=csm_l,
        arr=np.asarray(frame["arr"][rows], dtype=float),
        days_to_renewal=np.asarray(frame["days_to_renewal"][rows], dtype=float),
        days_since_last_touch=np.asarray(frame["days_since_last_touch"][rows], dtype=float),
        health_score=np.asarray(health.score[rows], dtype=float),
        health_band=health.bands()[rows],
        segments=sorted({str(s) for s in seg if s is not None}),
        csms=sorted({str(s) for s in csm if s is not None}),
    )


# ----------------------------------------------------------------------------------------- drivers


def _explainer(
    model: FittedModel,
    X: np.ndarray,
    raw: np.ndarray,
    probability: np.ndarray,
    numeric: dict[str, Any],
    categorical: dict[str, Any],
) -> Callable[[np.ndarray], list[list[Driver]]]:
    """Per-account drivers against the portfolio baseline (scored accounts' median / most common value)."""
    import numpy as np

    groups = model.spec.groups
    base_rate = float(np.mean(probability)) if len(probability) else 0.0
    baseline = _baseline(model.spec, X)
    typical = {name: baseline[cols[0]] for name, cols in groups if name in model.spec.numeric}
    for name in model.spec.categorical:
        vals = _norm_cat(categorical[name])
        present = vals[vals != ""]
        if present.size:
            lv, counts = np.unique(present, return_counts=True)
            typical[name] = str(lv[np.argmax(counts)])

    if model.estimator_name == "logistic":
        imputer = model.estimator.named_steps["impute"]
        scaler = model.estimator.named_steps["scale"]
        coef = model.estimator.named_steps["model"].coef_[0]
        n_x = X.shape[1]
        indicator_of = list(imputer.indicator_.features_) if imputer.indicator_ is not None else []
        owner = np.empty(n_x + len(indicator_of), dtype=int)
        col_group = np.empty(n_x, dtype=int)
        for g, (_, cols) in enumerate(groups):
            col_group[cols] = g
        owner[:n_x] = col_group
        owner[n_x:] = col_group[indicator_of]
        G = np.zeros((len(owner), len(groups)))
        G[np.arange(len(owner)), owner] = 1.0
        z_mean = scaler.transform(imputer.transform(X)).mean(axis=0) if len(X) else np.zeros(len(owner))

        def without(idx: np.ndarray) -> np.ndarray:
            Z = scaler.transform(imputer.transform(X[idx]))
            logit_parts = ((Z - z_mean) * coef) @ G
            logit = _logit(raw[idx])[:, None]
            return 1.0 / (1.0 + np.exp(-(logit - logit_parts)))
    else:
        est = model.estimator

        def without(idx: np.ndarray) -> np.ndarray:
            stacked = np.repeat(X[idx][None, :, :], len(groups), axis=0)
            for g, (_, cols) in enumerate(groups):
                stacked[g][:, cols] = baseline[cols]
            return est.predict_proba(stacked.reshape(-1, X.shape[1]))[:, 1].reshape(len(groups), len(idx)).T

    def contributions(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(raw-scale, calibrated) change in probability from each feature group's value vs the baseline."""
        p_without = without(idx)
        calibrated = model.calibrator.predict(p_without.ravel()).reshape(p_without.shape)
        return raw[idx][:, None] - p_without, model.calibrator.predict(raw[idx])[:, None] - calibrated

    def explain(idx: np.ndarray) -> list[list[Driver]]:
        if len(idx) == 0:
            return []
        with _one_blas_thread():
            parts = [contributions(idx[s : s + 256]) for s in range(0, len(idx), 256)]
        strength = np.concatenate([p[0] for p in parts])
        impact = np.concatenate([p[1] for p in parts])
        out = []
        for r, i in enumerate(idx):
            # a risky account's drivers are what raises its risk; a safe account's, what keeps it low
            risky = probability[i] >= base_rate
            signed = strength[r] if risky else -strength[r]
            order = np.argsort(-signed, kind="stable")
            chosen = [g for g in order[:3] if signed[g] > MIN_DRIVER_IMPACT]
            drivers = []
            for g in chosen:
                name = groups[g][0]
                value = numeric[name][i] if name in numeric else categorical[name][i]
                drivers.append(
                    Driver(
                        feature=name,
                        text=describe(name, value, typical.get(name)),
                        direction="raises risk" if strength[r, g] > 0 else "lowers risk",
                        impact=round(float(impact[r, g]) * 100, 1),
                    )
                )
            out.append(drivers)
        return out

    return explain


def _baseline(spec: FeatureSpec, X: np.ndarray) -> np.ndarray:
    import numpy as np

    base = np.zeros(X.shape[1])
    if len(X) == 0:
        return base
    for name, cols in spec.groups:
        if name in spec.numeric:
            col = X[:, cols[0]]
            base[cols[0]] = np.nanmedian(col) if np.any(~np.isnan(col)) else np.nan
        else:
            block = X[:, cols]
            sums = block.sum(axis=0)
            none = len(X) - sums.sum()
            if sums.max() >= none:
                base[cols[int(np.argmax(sums))]] = 1.0
    return base
