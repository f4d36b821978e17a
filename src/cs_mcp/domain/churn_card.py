"""The churn model card: what was learned, from which examples, how well it validates, and how tiers fall."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

Method = Literal["model", "leading-indicator"]
Label = Literal["next_renewal", "horizon", "snapshot"]
Estimator = Literal["logistic", "gradient_boosting", "health_logistic"]


class CandidateScore(BaseModel):
    estimator: Estimator
    roc_auc: float = Field(description="out-of-fold ROC-AUC (grouped by account)")
    pr_auc: float = Field(description="out-of-fold average precision")
    brier: float = Field(description="out-of-fold Brier score of the uncalibrated probabilities")
    fit_seconds: float = Field(description="seconds of its cross-validation fits (the chosen candidate is then "
                               "refitted on every example)")


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
    label: Label = Field(
        description="what an example's outcome means: 'next_renewal' = lost after the cut-off and at or before "
        "the account's next renewal (plus renewal_grace_days); 'horizon' = churned within horizon_days after "
        "the cut-off; 'snapshot' = churned by the export"
    )
    horizon_days: int | None = Field(
        None, description="label 'horizon': the window; label 'next_renewal': the window of accounts with no "
        "known renewal date"
    )
    renewal_grace_days: int | None = Field(None, description="label 'next_renewal': churn recorded this long "
                                           "after the renewal date still counts as lost at it")
    cutoffs: list[dt.date] = Field(description="dates the training features were computed as of")
    examples: int
    positives: int
    accounts: int
    sampled: str | None = Field(None, description="how examples were subsampled to bound the fit time")
    renewal_unknown_accounts: int | None = Field(
        None, description="label 'next_renewal': accounts with no known renewal date, labelled by horizon_days"
    )
    dropped_unobserved: int | None = Field(
        None, description="examples left out because their outcome window ends after the as-of date"
    )


class ExcludedFeature(BaseModel):
    feature: str
    reason: str


class ChurnModelCard(BaseModel):
    method: Method
    mode: Literal["history", "snapshot", "none"]
    label: Label | None = Field(None, description="the outcome this model predicts (see training.label)")
    estimator: Estimator | None = None
    estimator_detail: str | None = None
    candidates: list[CandidateScore] = Field(default_factory=list)
    metrics: ModelMetrics | None = None
    calibration: list[CalibrationBin] = Field(default_factory=list)
    features: list[str] = Field(default_factory=list, description="model inputs (before one-hot encoding)")
    context_features: list[str] = Field(
        default_factory=list,
        description="inputs shown as context, never as drivers: timing, firmographics, commercial terms",
    )
    excluded_features: list[ExcludedFeature] = Field(default_factory=list)
    training: TrainingWindow | None = None
    indicators: list[dict[str, Any]] = Field(default_factory=list, description="leading indicators and points")
    data_used: list[str] = Field(description="tables the features came from")
    leakage_controls: list[str] = Field(default_factory=list)
    as_of: dt.date
    workspace_version: str
    fitted_at: dt.datetime
    fit_seconds: float
    caveat: str


class TierCount(BaseModel):
    tier: Literal["critical", "high", "medium", "low"]
    at_least: float = Field(description="lowest probability of the tier (rounded to a whole percent)")
    accounts: int = Field(description="active accounts in the tier as of the as-of date")
    arr: float


class ChurnModels(BaseModel):
    """The resource cs://models/churn: both churn probabilities and how the portfolio falls into tiers."""

    as_of: dt.date
    method: Method
    ranks_by: Label | None = Field(
        description="the probability that ranks churn-risk-list and sets renewal probabilities"
    )
    ranking: ChurnModelCard = Field(description="the model of the ranking probability (or the fallback)")
    short_horizon: ChurnModelCard | None = Field(
        None, description="P(churn within horizon_days), shown beside the ranking probability"
    )
    not_fitted: dict[str, str] = Field(default_factory=dict, description="label -> why no model was fitted")
    tiers: list[TierCount] = Field(description="churn tiers of the active accounts (after CRM evidence)")
    health_validation: str = Field("cs://models/health", description="does the health score predict churn here")
