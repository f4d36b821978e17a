"""Why an account's churn probability is what it is: drivers (behaviour) and context (timing, firmographics).

A feature's contribution is the change in the model's probability when the account's value of that
feature is replaced by the portfolio's typical value (median; most common level for a category), all else
held. Drivers are the behaviour features with the largest contributions (what raises a risky account's risk,
what keeps a safe account's low), each with its value and how it moved over churn.driver_change_days (the
health score over the look-back health-score's trend is read from); a health dimension
the account has no score on is not one (its absence may weigh, but there is nothing to act on).
Timing, firmographic and commercial features (days to renewal, tenure, employees, ARR, plan, segment) are
reported as context, never as drivers. An account the model explains by context alone gets its weakest (or,
when safe, strongest) health inputs as drivers, so no account is left without a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from cs_mcp.domain import metrics
from cs_mcp.domain.churn import Driver

if TYPE_CHECKING:
    import numpy as np

    from cs_mcp.domain.churn_fit import FeatureSpec, LabelModel

MIN_IMPACT = 0.001
CHUNK = 256


class Explanation(BaseModel):
    drivers: list[Driver]
    context: list[str] = Field(description="timing and firmographic facts the model also weighed")


@dataclass
class Scored:
    """The rows being explained: inputs, the model's view of them, and the same accounts earlier."""

    model: LabelModel
    X: np.ndarray
    raw: np.ndarray
    probability: np.ndarray
    numeric: dict[str, Any]
    categorical: dict[str, Any]
    rows: list[dict[str, Any]] | Callable[[int], dict[str, Any]]
    """feature-SQL row of scored account i (for wording: seats, counts)"""
    before: Callable[[str, int], Any]
    """(feature, i) -> the value change_of(feature, i) days ago (NaN when unknown)"""
    weakest: Callable[..., list[tuple[str, Any]]]
    """(i, risky, dimension=None) -> health inputs (metric, value), weakest first when risky, strongest first
    otherwise; only the dimension's inputs when one is named"""
    change_days: int

    def change_of(self, feature: str, i: int) -> int:
        """days the change of feature is read over: the before source's own (days(feature, i)), else change_days"""
        days = getattr(self.before, "days", None)
        return days(feature, i) if days is not None else self.change_days


@dataclass
class Population:
    """What an account is compared with, computed once over every scored account (kept with the scores)."""

    base_rate: float
    """mean probability: an account above it is explained by what raises its risk"""
    baseline: np.ndarray
    """the portfolio's typical design-matrix row (see _baseline)"""
    z_mean: np.ndarray | None
    """logistic models: the mean standardized model input (imputed, scaled, with missing-value indicators)"""


def population(model: LabelModel, numeric: dict[str, Any], categorical: dict[str, Any],
               probability: np.ndarray, chunk: int = 100_000) -> Population:
    """The Population of the scored accounts, from their model inputs (design matrices built a chunk at a time)."""
    import numpy as np

    n = len(probability)
    z_mean = None
    if model.estimator_name == "logistic":
        imputer, scaler = model.estimator.named_steps["impute"], model.estimator.named_steps["scale"]
        total = None
        for k in range(0, n, chunk):
            part = slice(k, k + chunk)
            X = model.spec.build({c: v[part] for c, v in numeric.items()}, {c: v[part] for c, v in categorical.items()})
            summed = imputer.transform(X).sum(axis=0)
            total = summed if total is None else total + summed
        # standardizing is affine per column: the mean of standardized rows is the standardized mean row
        z_mean = scaler.transform((total / n)[None, :])[0] if total is not None else None
    base_rate = float(np.mean(probability)) if n else 0.0
    return Population(base_rate, _baseline(model.spec, numeric, categorical, n), z_mean)


def explainer(s: Scored, pop: Population) -> Callable[[np.ndarray], list[Explanation]]:
    """A function from rows of `s` to their explanations, computed in chunks on demand."""
    import numpy as np

    groups = s.model.spec.groups
    without = _without(s, pop)
    behaviour = np.array([metrics.is_behaviour(name) for name, _ in groups], dtype=bool)

    def explain(idx: np.ndarray) -> list[Explanation]:
        from cs_mcp.domain.churn_fit import one_blas_thread

        if len(idx) == 0:
            return []
        prefetch = getattr(s.before, "prefetch", None)
        if prefetch is not None:
            prefetch(idx)
        with one_blas_thread():
            strength = np.concatenate([s.raw[idx[k:k + CHUNK], None] - without(idx[k:k + CHUNK])
                                       for k in range(0, len(idx), CHUNK)])
            calibrated = s.model.calibrator.predict
            impact = np.concatenate([
                calibrated(s.raw[idx[k:k + CHUNK]])[:, None]
                - calibrated(without(idx[k:k + CHUNK]).ravel()).reshape(-1, len(groups))
                for k in range(0, len(idx), CHUNK)
            ])
        return [_one(s, int(i), strength[r], impact[r], behaviour, s.probability[i] >= pop.base_rate)
                for r, i in enumerate(idx)]

    return explain


def _one(s: Scored, i: int, strength: np.ndarray, impact: np.ndarray, behaviour: np.ndarray,
         risky: bool) -> Explanation:
    import numpy as np

    groups = s.model.spec.groups
    signed = strength if risky else -strength
    order = np.argsort(-signed, kind="stable")
    drivers = [_driver(s, groups[g][0], i, float(strength[g]), float(impact[g]))
               for g in order if behaviour[g] and signed[g] > MIN_IMPACT and not _unscored(s, groups[g][0], i)][:3]
    if not drivers:
        drivers = _fallback(s, i, risky)
    by_size = np.argsort(-np.abs(strength), kind="stable")
    context = [_words(s, groups[g][0], i) for g in by_size if not behaviour[g] and abs(strength[g]) > MIN_IMPACT][:2]
    return Explanation(drivers=drivers, context=context)


def _unscored(s: Scored, feature: str, i: int) -> bool:
    """A health dimension the account has no score on (no data, or inputs its coverage model does not expect):
    nothing a CSM can act on, so never a driver."""
    if not feature.startswith("health_") or feature not in s.numeric:
        return False
    v = s.numeric[feature][i]
    return v != v


def _value(s: Scored, feature: str, i: int) -> Any:
    return s.numeric[feature][i] if feature in s.numeric else s.categorical[feature][i]


def _row(s: Scored, i: int) -> dict[str, Any]:
    return s.rows(i) if callable(s.rows) else s.rows[i]


def _words(s: Scored, feature: str, i: int) -> str:
    value = _value(s, feature, i)
    return metrics.describe(feature, value if not isinstance(value, str) else value, _row(s, i))


def _driver(s: Scored, feature: str, i: int, strength: float, impact: float) -> Driver:
    text = _words(s, feature, i)
    signal = None
    if feature.startswith("health_") and feature != "health_score":
        weak = s.weakest(i, strength > 0, feature.removeprefix("health_"))[:1]
        if weak:
            signal = weak[0][0]
            text += ": " + metrics.describe(signal, weak[0][1], _row(s, i))
    change = metrics.describe_change(feature, _value(s, feature, i), s.before(feature, i), s.change_of(feature, i))
    return Driver(
        feature=feature, text=text, change=change, family=metrics.family_of(feature), metric=signal,
        direction="raises risk" if strength > 0 else "lowers risk", impact=round(impact * 100, 1),
    )


def _fallback(s: Scored, i: int, risky: bool) -> list[Driver]:
    """Health inputs as the reason when the model's own contributions name no behaviour signal."""
    out = []
    for metric, value in s.weakest(i, risky)[:2]:
        out.append(Driver(
            feature=metric, text=metrics.describe(metric, value, _row(s, i)),
            change=metrics.describe_change(metric, value, s.before(metric, i), s.change_of(metric, i)),
            family=metrics.family_of(metric), direction="raises risk" if risky else "lowers risk", impact=0.0,
        ))
    return out


def _without(s: Scored, pop: Population) -> Callable[[np.ndarray], np.ndarray]:
    """Raw probability of rows idx with each feature group set to its baseline: (len(idx), groups)."""
    import numpy as np

    model, X, groups, baseline = s.model, s.X, s.model.spec.groups, pop.baseline
    if model.estimator_name == "logistic":
        imputer = model.estimator.named_steps["impute"]
        scaler = model.estimator.named_steps["scale"]
        coef = model.estimator.named_steps["model"].coef_[0]
        n_x = X.shape[1]
        indicator_of = list(imputer.indicator_.features_) if imputer.indicator_ is not None else []
        col_group = np.empty(n_x, dtype=int)
        for g, (_, cols) in enumerate(groups):
            col_group[cols] = g
        owner = np.concatenate([col_group, col_group[indicator_of]]).astype(int)
        G = np.zeros((len(owner), len(groups)))
        G[np.arange(len(owner)), owner] = 1.0
        z_mean = pop.z_mean if pop.z_mean is not None else np.zeros(len(owner))

        def logistic(idx: np.ndarray) -> np.ndarray:
            from cs_mcp.domain.churn_fit import _logit

            Z = scaler.transform(imputer.transform(X[idx]))
            logit = _logit(s.raw[idx])[:, None] - ((Z - z_mean) * coef) @ G
            return 1.0 / (1.0 + np.exp(-logit))

        return logistic

    def trees(idx: np.ndarray) -> np.ndarray:
        stacked = np.repeat(X[idx][None, :, :], len(groups), axis=0)
        for g, (_, cols) in enumerate(groups):
            stacked[g][:, cols] = baseline[cols]
        p = model.estimator.predict_proba(stacked.reshape(-1, X.shape[1]))[:, 1]
        return p.reshape(len(groups), len(idx)).T

    return trees


def _baseline(spec: FeatureSpec, numeric: dict[str, Any], categorical: dict[str, Any], n: int) -> np.ndarray:
    """The portfolio's typical design-matrix row: numeric medians, the most common level of each category
    (left at zero when more accounts have none of the levels shown)."""
    import numpy as np

    from cs_mcp.domain.churn_fit import _level_codes

    base = np.zeros(len(spec.columns))
    if n == 0:
        return base
    for name, cols in spec.groups:
        if name in spec.numeric:
            col = np.asarray(numeric[name], dtype=float)
            base[cols[0]] = np.nanmedian(col) if np.any(~np.isnan(col)) else np.nan
        else:
            codes = _level_codes(categorical[name], spec.categorical[name])
            sums = np.bincount(codes[codes >= 0], minlength=len(cols))[:len(cols)]
            if sums.max() >= n - sums.sum():
                base[cols[int(np.argmax(sums))]] = 1.0
    return base
