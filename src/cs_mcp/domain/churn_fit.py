"""Fitting the churn models: the design matrix, a leak guard, candidates compared by grouped cross-validation,
calibration, and one fitted model per outcome label (see cs_mcp.domain.churn_training for the examples)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from cs_mcp.domain.churn_card import (
    CalibrationBin,
    CandidateScore,
    ChurnModelCard,
    ExcludedFeature,
    ModelMetrics,
    TrainingWindow,
)

if TYPE_CHECKING:
    import numpy as np

    from cs_mcp.domain.churn_training import LabelSet, TrainingSet
    from cs_mcp.workspace.loader import Workspace

LEAK_AUC = 0.99
"""One feature separating churned from retained this well is taken for a leak (e.g. a 'cancel_reason')."""
LARGE_TRAINING_SET = 10_000
"""Above this many examples, churn.cv_folds_large folds are used."""


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
            codes = _level_codes(categorical[c], levels)
            for k in range(len(levels)):
                X[:, j] = codes == k
                j += 1
            if self.has_other[c]:
                X[:, j] = codes == len(levels)
                j += 1
        return X


def _clean(v: Any) -> str:
    return "" if v is None or v != v else str(v).strip()


def _level_codes(values: Any, levels: list[str]) -> np.ndarray:
    """Per row: the index of its cleaned value in `levels`, len(levels) for another value, -1 for no value.

    Each distinct value is cleaned and looked up once (a million rows hold a handful of segments)."""
    import numpy as np

    items = values.tolist() if hasattr(values, "tolist") else list(values)  # the same objects looked up below
    index = {lv: k for k, lv in enumerate(levels)}
    code_of: dict[Any, int] = {}
    for v in set(items):
        text = _clean(v)
        code_of[v] = index.get(text, len(levels)) if text else -1
    return np.fromiter((code_of[v] for v in items), dtype=np.int32, count=len(items))


def _norm_cat(values: Any) -> np.ndarray:
    import numpy as np

    return np.array([_clean(v) for v in values], dtype=object)


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


COMPACT_FEATURES = ("health_score", "days_to_renewal")
"""health_logistic's inputs besides the health dimensions: the methodology's own score, timed."""


class ColumnSubset:
    """Keeps the given columns of a matrix (a pipeline step of the compact candidate)."""

    def __init__(self, columns: list[int]):
        self.columns = columns

    def fit(self, X: Any, y: Any = None) -> ColumnSubset:
        return self

    def transform(self, X: Any) -> Any:
        return X[:, self.columns]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"columns": self.columns}

    def set_params(self, **params: Any) -> ColumnSubset:
        self.columns = params.get("columns", self.columns)
        return self


def compact_columns(spec: FeatureSpec) -> list[int]:
    """Design-matrix columns of the health score, its dimension scores and days to renewal."""
    return [i for i, name in enumerate(spec.numeric) if name in COMPACT_FEATURES or name.startswith("health_")]


def _make_estimator(name: str, n: int, random_state: int, compact: list[int] | None = None) -> Any:
    if name in ("logistic", "health_logistic"):
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        steps = [
            ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("model", LogisticRegression(C=0.3 if name == "logistic" else 1.0, tol=1e-3, max_iter=1000)),
        ]
        if name == "health_logistic":
            steps.insert(0, ("columns", ColumnSubset(list(compact or []))))
        return Pipeline(steps)
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
    "health_logistic": "logistic regression (C=1) on the health score, its dimension scores and days to "
    "renewal only: few inputs, so it holds up where outcomes are few",
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


def _no_empty_columns(X: np.ndarray) -> np.ndarray:
    """X with columns that hold no value at all (every row missing) set to 0: a constant the estimators ignore.

    scikit-learn's histogram gradient boosting fails on such a column ("window shape cannot be larger than
    input array shape"); a small workspace, or one fold of it, can have one."""
    import numpy as np

    empty = np.isnan(X).all(axis=0) if X.dtype.kind == "f" and len(X) else np.zeros(X.shape[1], dtype=bool)
    if not empty.any():
        return X
    X = X.copy()
    X[:, empty] = 0.0
    return X


def _cross_validate(
    names: list[str], X: np.ndarray, y: np.ndarray, fold: np.ndarray, k: int, random_state: int,
    compact: list[int] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Out-of-fold probabilities per candidate, and the seconds its k fits took.

    The fits run one after another on this thread: tree growing holds the interpreter, so two fits on two
    threads each take twice as long, and threaded fits (OpenMP) collapse when another process takes a core.
    """
    import numpy as np

    oof = {name: np.empty(len(y)) for name in names}
    seconds = dict.fromkeys(names, 0.0)
    for name in names:
        for f in range(k):
            t = time.perf_counter()
            train = fold != f
            est = _fit(name, X[train], y[train], random_state, compact)
            oof[name][fold == f] = est.predict_proba(X[fold == f])[:, 1]
            seconds[name] += time.perf_counter() - t
    return oof, seconds


def _fit(name: str, X: np.ndarray, y: np.ndarray, random_state: int, compact: list[int] | None) -> Any:
    return _make_estimator(name, len(y), random_state, compact).fit(_no_empty_columns(X), y)


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



# ------------------------------------------------------------------------------------ fitted models


@dataclass
class LabelModel:
    """A fitted, calibrated model of one outcome label."""

    label: str
    spec: FeatureSpec
    estimator_name: str
    estimator: Any
    calibrator: Calibrator
    card: ChurnModelCard
    oof_probability: dict[str, float] = field(default_factory=dict)
    """snapshot mode: calibrated out-of-fold probability of each active account in the training set"""

    def predict(
        self, numeric: dict[str, Any], categorical: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(design matrix, raw probability, calibrated probability) of the given rows."""
        import numpy as np

        X = self.spec.build(numeric, categorical)
        if not len(X):
            return X, np.zeros(0), np.zeros(0)
        raw = self.estimator.predict_proba(X)[:, 1]
        return X, raw, self.calibrator.predict(raw)

    def probability(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probability of each row of a design matrix built by this model's spec."""
        import numpy as np

        return self.calibrator.predict(self.estimator.predict_proba(X)[:, 1]) if len(X) else np.zeros(0)


@dataclass
class FittedModel:
    """What a fit produces (pickled to the disk cache): a model per label that had enough outcomes."""

    mode: Literal["history", "snapshot"]
    use_subscriptions: bool
    models: dict[str, LabelModel]
    not_fitted: dict[str, str] = field(default_factory=dict)


def fit_models(ws: Workspace, ts: TrainingSet, started: float) -> FittedModel:
    """One calibrated model per label of the training set, each chosen among the candidates by grouped CV."""
    models = {name: fit_label(ws, ts, ls, started) for name, ls in ts.labels.items()}
    return FittedModel(ts.mode, ts.use_subscriptions, models, dict(ts.not_enough))  # type: ignore[arg-type]


def fit_label(ws: Workspace, ts: TrainingSet, ls: LabelSet, started: float) -> LabelModel:
    import numpy as np
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    from cs_mcp.domain.churn_training import subset

    c = ws.settings.churn
    numeric, categorical = subset(ts.numeric, ls.rows), subset(ts.categorical, ls.rows)
    groups, y = ts.groups[ls.rows], ls.y
    spec, excluded = _make_spec(numeric, categorical, c.max_category_levels)
    X = spec.build(numeric, categorical)
    spec, leaks = _leak_guard(spec, X, y)
    if leaks:
        X = spec.build(numeric, categorical)
    k = min(c.cv_folds if len(y) <= LARGE_TRAINING_SET else c.cv_folds_large, int(y.sum()), int((1 - y).sum()))
    fold = _folds(groups, y, k, c.random_state)
    compact = compact_columns(spec)
    names = [n for n in dict.fromkeys(c.candidates) if n != "health_logistic" or compact]
    oofs, seconds = _cross_validate(names, X, y, fold, k, c.random_state, compact)
    candidates = [
        CandidateScore(estimator=name, roc_auc=round(float(roc_auc_score(y, p)), 4),
                       pr_auc=round(float(average_precision_score(y, p)), 4),
                       brier=round(float(brier_score_loss(y, p)), 4), fit_seconds=round(seconds[name], 2))
        for name, p in oofs.items()
    ]
    best = max(candidates, key=lambda s: s.roc_auc)
    p = oofs[best.estimator]
    method, p_cal = _choose_calibration(p, y, fold, k)
    indicator = None if ts.indicator_score is None else ts.indicator_score[ls.rows]
    indicator_auc = None
    if indicator is not None and np.ptp(indicator) > 0:
        indicator_auc = round(float(roc_auc_score(y, indicator)), 4)
    metrics = ModelMetrics(
        roc_auc=best.roc_auc, pr_auc=round(float(average_precision_score(y, p_cal)), 4),
        brier=round(float(brier_score_loss(y, p_cal)), 4), base_rate=round(float(y.mean()), 4),
        leading_indicator_roc_auc=indicator_auc, calibration_method=method, cv_folds=k,
    )
    oof_active: dict[str, float] = {}
    if ts.mode == "snapshot":
        active = ts.status_active[ls.rows]
        oof_active = {str(a): float(q) for a, q, s in zip(groups, p_cal, active, strict=True) if s}
    final = _fit(best.estimator, X, y, c.random_state, compact)  # on every example: only the chosen candidate
    card = _card(ws, ts, ls, best.estimator, candidates, metrics, _calibration_table(p_cal, y), spec, excluded,
                 started)
    return LabelModel(ls.label, spec, best.estimator, final, Calibrator(method).fit(p, y), card, oof_active)


def _choose_calibration(p: np.ndarray, y: np.ndarray, fold: np.ndarray, k: int) -> tuple[Any, np.ndarray]:
    """Calibrated out-of-fold probabilities for honest metrics: each fold's calibrator is fit on the others.
    Isotonic needs many positives; it is kept only where it beats the sigmoid on those held-out folds."""
    import numpy as np
    from sklearn.metrics import brier_score_loss

    methods: list[Literal["isotonic", "sigmoid"]] = ["sigmoid", "isotonic"] if y.sum() >= 200 else ["sigmoid"]
    cross_fitted = {}
    for m in methods:
        p_cal = np.empty_like(p)
        for f in range(k):
            test = fold == f
            p_cal[test] = Calibrator(m).fit(p[~test], y[~test]).predict(p[test])
        cross_fitted[m] = p_cal
    method = min(methods, key=lambda m: brier_score_loss(y, cross_fitted[m]))
    return method, cross_fitted[method]


def _card(ws: Workspace, ts: TrainingSet, ls: LabelSet, estimator: str, candidates: list[CandidateScore],
          metrics: ModelMetrics, calibration: list[CalibrationBin], spec: FeatureSpec,
          excluded: list[ExcludedFeature], started: float) -> ChurnModelCard:
    import numpy as np

    from cs_mcp.domain.metrics import is_behaviour

    c = ws.settings.churn
    history = ts.mode == "history"
    return ChurnModelCard(
        method="model", mode=ts.mode, label=ls.label, estimator=estimator,
        estimator_detail=ESTIMATOR_DETAIL[estimator], candidates=candidates, metrics=metrics,
        calibration=calibration, features=spec.features,
        context_features=[f for f in spec.features if not is_behaviour(f)],
        excluded_features=excluded,
        training=TrainingWindow(
            mode=ts.mode, label=ls.label, horizon_days=c.horizon_days if history else None,
            renewal_grace_days=c.renewal_grace_days if ls.label == "next_renewal" else None,
            cutoffs=ts.cutoffs, examples=len(ls.y), positives=int(ls.y.sum()),
            accounts=len(np.unique(ts.groups[ls.rows])), sampled=ts.sampled,
            renewal_unknown_accounts=ls.renewal_unknown_accounts,
            dropped_unobserved=ls.dropped_unobserved if history else None,
        ),
        data_used=data_used(ws, ts.mode), leakage_controls=_leakage_controls(ts.mode, ts.use_subscriptions),
        as_of=ws.as_of, workspace_version=ws.version, fitted_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        fit_seconds=round(time.perf_counter() - started, 2), caveat=caveat(ts.mode, ls.label, c.horizon_days),
    )


def data_used(ws: Workspace, mode: str) -> list[str]:
    if mode == "snapshot":
        return ["accounts"]
    feeds = {"accounts", "subscriptions", "usage", "feature_usage", "touchpoints", "tickets", "nps", "invoices",
             "contacts"}
    return sorted(feeds & set(ws.tables) | {"accounts"})


def _leakage_controls(mode: str, use_subs: bool) -> list[str]:
    if mode == "snapshot":
        return [
            "only account attributes are used (arr, seats, employees, tenure, segment, plan, industry, "
            "region, custom columns): event metrics of a churned account describe the time after it left",
            f"any single feature separating churned from active with AUC >= {LEAK_AUC} is dropped as a leak",
            "active accounts are scored out-of-fold, by models that did not see them",
        ]
    return [
        "every event metric is computed by the feature SQL as of the cut-off (later rows are ignored)",
        "customers at a cut-off: started on or before it (first subscription, else contract_start) and not "
        "churned by it",
        "ARR and seats as of the cut-off come from the subscriptions running then" if use_subs else
        "no subscriptions table: ARR and seats are the accounts table's current values (a leak if the "
        "export zeroes churned accounts' ARR; the leak check below would drop it)",
        "days to renewal: the renewal date's next anniversary after the cut-off, not today's renewal_date",
        "an example whose outcome window had not ended by the as-of date is left out of that label, so open "
        "windows do not count as retained",
        "cross-validation folds hold whole accounts, so no account is in both a training and a test fold",
        f"any single feature separating churned from retained with AUC >= {LEAK_AUC} is dropped as a leak",
    ]


def caveat(mode: str, label: str, horizon: int) -> str:
    if mode == "snapshot":
        return (
            "This workspace has churn status but no churn dates or history, so the model learned from a "
            "single snapshot: how active accounts' attributes compare with those of customers who left. The "
            "probability says how much an account resembles past churners, not that it will leave within a "
            "given period; attributes may have changed since those customers left. Drivers are associations, "
            "not causes."
        )
    meaning = (
        "Probability that the account is lost at or before its next renewal (within "
        f"{horizon} days where no renewal date is known), learned from past cut-offs of this workspace whose "
        "renewal had come by the as-of date, and calibrated on out-of-fold predictions. An account renewing "
        "next month and one renewing in eleven months are not exposed for the same time: days to renewal is "
        "a model input, shown as context."
        if label == "next_renewal" else
        f"Probability of churning within {horizon} days, learned from past cut-offs of this workspace and "
        "calibrated on out-of-fold predictions."
    )
    return (
        meaning + " Drivers are the behaviour signals (usage, adoption, engagement, support, sentiment, payment, "
        "stakeholders) that move the account's probability most against the portfolio's typical account: "
        "associations, not causes. Account attributes (segment, plan, custom columns) are today's values."
    )


def import_sklearn() -> None:
    import sklearn.ensemble  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sklearn.metrics  # noqa: F401


def one_blas_thread() -> Any:
    # Threaded BLAS / OpenMP inside each fit collapse when a core is busy elsewhere (spinning workers made
    # tree fits 15x slower on 2 cores); single-threaded fits run side by side on a thread pool instead.
    from threadpoolctl import threadpool_limits

    import_sklearn()  # the limits apply to the thread pools of libraries already loaded
    return threadpool_limits(limits=1)
