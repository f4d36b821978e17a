"""Health scoring arithmetic: curves, dimension scores, weight re-spreading, bands.

Vectorized over numpy arrays so one account and a 100k-account portfolio go through the same
code. The rule, for every model:
  metric fraction   = curve(input)                     (piecewise linear, flat past the ends)
  dimension score   = 100 * sum(fraction * points) / sum(points)   over metrics with data
  health score      = sum(weight * dimension score) / sum(weight)  over dimensions with data
So a metric or a dimension without data passes its weight to the others in proportion.
Before the curve, a rate resting on few answers is damped toward a neutral prior
(health.small_samples: (n x rate + k x prior) / (n + k)); an input the account's coverage model does
not expect (health.coverage, e.g. CSM meetings of a tech-touch account) counts as no data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from cs_mcp.config import HealthModel, HealthSettings


def curve_value(curve: list[tuple[float, float]], x: Any) -> Any:
    """Fraction of a metric's points earned at input x (NaN stays NaN)."""
    import numpy as np

    xs = np.array([p[0] for p in curve], dtype=float)
    ys = np.array([p[1] for p in curve], dtype=float)
    arr = np.asarray(x, dtype=float)
    out = np.interp(np.nan_to_num(arr, nan=xs[0]), xs, ys)
    return np.where(np.isnan(arr), np.nan, out)


def band_of(score: float | None, green: float, yellow: float) -> str:
    if score is None:
        return "unknown"
    if score >= green:
        return "green"
    if score >= yellow:
        return "yellow"
    return "red"


@dataclass
class ScoredFrame:
    """Scores for every row of a feature frame under one health model."""

    model_name: str
    model: HealthModel
    score: np.ndarray
    dimension_scores: dict[str, np.ndarray]
    dimension_weights: dict[str, np.ndarray]
    effective_weights: dict[str, np.ndarray]
    metric_fractions: dict[str, np.ndarray]
    scored_values: dict[str, np.ndarray]
    """inputs as scored: after damping small samples"""
    not_expected: dict[str, np.ndarray]
    """metric -> rows whose coverage model does not expect the input (left out of the score)"""
    coverage: np.ndarray
    """coverage model per row (health.coverage)"""

    def band(self, i: int) -> str:
        s = self.score[i]
        return band_of(None if s != s else float(s), self.model.bands.green, self.model.bands.yellow)

    def bands(self) -> np.ndarray:
        import numpy as np

        g, y = self.model.bands.green, self.model.bands.yellow
        return np.where(
            np.isnan(self.score), "unknown",
            np.where(self.score >= g, "green", np.where(self.score >= y, "yellow", "red")),
        )


def segment_dimension_weights(model: HealthModel, segments: Any) -> dict[str, Any]:
    """Per-row dimension weights: the segment's override where one is configured."""
    import numpy as np

    n = len(segments)
    weights = {d: np.full(n, dim.weight, dtype=float) for d, dim in model.dimensions.items()}
    if model.segment_weights:
        keys = np.array([str(s).strip().lower() if s is not None else "" for s in segments], dtype=object)
        for segment, override in model.segment_weights.items():
            mask = keys == segment.lower()
            if mask.any():
                for d, w in override.items():
                    if d in weights:
                        weights[d][mask] = w
    return weights


def score_frame(columns: dict[str, Any], settings: HealthSettings, model_name: str | None = None) -> ScoredFrame:
    """Score every row of `columns` (metric name -> array, plus 'segment')."""
    import numpy as np

    name = model_name or settings.model
    model = settings.models[name]
    n = len(columns["segment"])
    coverage = np.array([settings.coverage.coverage_of(s) for s in columns["segment"]], dtype=object)
    fractions: dict[str, np.ndarray] = {}
    scored: dict[str, np.ndarray] = {}
    off: dict[str, np.ndarray] = {}
    for dim in model.dimensions.values():
        for metric in dim.metrics:
            if metric not in fractions:
                values = damped(metric, columns.get(metric, np.full(n, np.nan)), columns, settings)
                off[metric] = _not_expected(metric, coverage, settings)
                scored[metric] = values
                fractions[metric] = np.where(off[metric], np.nan, curve_value(settings.curves[metric], values))
    dim_scores: dict[str, np.ndarray] = {}
    for d, dim in model.dimensions.items():
        earned = np.zeros(n)
        possible = np.zeros(n)
        for metric, points in dim.metrics.items():
            f = fractions[metric]
            has = ~np.isnan(f)
            earned += np.where(has, f * points, 0.0)
            possible += np.where(has, points, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            dim_scores[d] = np.where(possible > 0, 100.0 * earned / possible, np.nan)
    weights = segment_dimension_weights(model, columns["segment"])
    total_w = np.zeros(n)
    total = np.zeros(n)
    for d, s in dim_scores.items():
        has = ~np.isnan(s)
        total_w += np.where(has, weights[d], 0.0)
        total += np.where(has, weights[d] * s, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(total_w > 0, total / total_w, np.nan)
        effective = {
            d: np.where(~np.isnan(s) & (total_w > 0), 100.0 * weights[d] / total_w, 0.0)
            for d, s in dim_scores.items()
        }
    return ScoredFrame(name, model, score, dim_scores, weights, effective, fractions, scored, off, coverage)


def damped(metric: str, values: Any, columns: dict[str, Any], settings: HealthSettings) -> Any:
    """A rate pulled toward its neutral prior in proportion to how few answers it rests on."""
    import numpy as np

    from cs_mcp.domain.metrics import sample_column

    values = np.asarray(values, dtype=float)
    prior = settings.small_samples.priors.get(metric)
    k = settings.small_samples.pseudo_count
    col = sample_column(metric)
    if prior is None or k <= 0 or col is None or col not in columns:
        return values
    n = np.nan_to_num(np.asarray(columns[col], dtype=float), nan=0.0)
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(values), np.nan, (n * values + k * prior) / (n + k))


def _not_expected(metric: str, coverage: Any, settings: HealthSettings) -> Any:
    import numpy as np

    models = [c for c, metrics in settings.coverage.not_expected.items() if metric in metrics]
    return np.isin(coverage, models) if models else np.zeros(len(coverage), dtype=bool)
