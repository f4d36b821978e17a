"""Settings: every weight, band and threshold of the methodology, with defaults in code.

Precedence: defaults here < the workspace's `cs-mcp.yaml` (or `--config FILE`) < environment
variables (`CS_MCP_*`, one per flag, read by the CLI) < command-line flags. The active values are
served as `cs://config/active`.

Scoring curves: a health metric earns a fraction of its points from a piecewise-linear curve of
`[input, fraction]` breakpoints (linear between breakpoints, flat beyond the ends). A band such as
"8-14 days since the last touch" is two breakpoints, so points inside a band are interpolated.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import math
import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CONFIG_FILE_NAME = "cs-mcp.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _weights_with_a_total(values: dict[str, float], what: str) -> dict[str, float]:
    """`values` when each is a finite number >= 0 and they add up to more than 0; else a ValueError naming `what`."""
    bad = sorted(k for k, v in values.items() if not (math.isfinite(v) and v >= 0))
    if bad:
        raise ValueError(f"{what} must be finite numbers of 0 or more; check {', '.join(bad)}")
    if not sum(values.values()) > 0:
        raise ValueError(
            f"{what} add up to 0, so nothing could be scored: give at least one of them a value above 0"
            + (f" (now: {', '.join(f'{k}={v:g}' for k, v in values.items())})" if values else " (none given)")
        )
    return values


# --------------------------------------------------------------------------- data


class TableMapping(_Model):
    """How one canonical table is read from the workspace."""

    file: str | None = Field(None, description="file name or glob inside the workspace folder")
    table: str | None = Field(
        None, description="with data.url: the warehouse table or view to read, e.g. crm.accounts"
    )
    sql: str | None = Field(
        None,
        description="a SELECT producing canonical columns: over the workspace's files (read_csv('x.csv') / "
        "read_parquet('y.parquet') resolve relative to the workspace), or with data.url in the warehouse's "
        "own dialect",
    )
    columns: dict[str, str] = Field(
        default_factory=dict, description="canonical column -> column name in the file"
    )
    values: dict[str, dict[str, list[str]]] = Field(
        default_factory=dict,
        description="canonical column -> canonical value -> values in the file that mean it",
    )
    date_format: str | None = Field(None, description="strptime format for this table's dates")

    @model_validator(mode="after")
    def _file_or_sql(self) -> TableMapping:
        if sum(1 for v in (self.file, self.table, self.sql) if v) > 1:
            raise ValueError("give a table one of `file`, `table` or `sql`, not several")
        return self


class DataSettings(_Model):
    path: Path | None = Field(None, description="workspace folder; the bundled demo when empty")
    url: str | None = Field(
        None,
        description="where the tables live: empty (the workspace folder, embedded DuckDB), duckdb:///path.db, "
        "postgresql://user@host/db, spark://local or sc://host:port (Spark Connect)",
    )
    database_schema: str | None = Field(
        None, description="with data.url: the schema (PostgreSQL) or database (Spark) of tables named after the "
        "canonical tables (default: the connection's own)",
    )
    duckdb_memory_limit: str | None = Field(
        "2GB", description="DuckDB memory_limit, e.g. '2GB' (the default) or '8GB'; larger work spills to the "
        "cache folder and the tables are paged in from the database file (null: DuckDB's own, 80% of RAM, "
        "which a million-account load fills to 7.6 GB)",
    )
    duckdb_on_disk: bool = Field(
        True, description="build a workspace folder into a DuckDB database file in the cache folder, once per "
        "data version, and reopen it on restart (false: load into memory every time)",
    )
    parquet_in_place: bool = Field(
        True, description="read Parquet files where they are (validated, rejected rows left out by views) "
        "instead of copying them into the workspace database: a million accounts' usage is 66M rows "
        "(false: copy them, e.g. when the files sit on a slow network drive)",
    )
    as_of: Literal["latest", "today"] | dt.date = Field(
        "latest",
        description="the date analyses are computed as of: 'latest' = the newest activity date "
        "in the data (right for exports), 'today', or a fixed date",
    )
    tables: dict[str, TableMapping] = Field(default_factory=dict)
    max_reported_problems: int = Field(200, ge=1, description="problems listed per table in the report")

    @field_validator("url")
    @classmethod
    def _known_engine(cls, v: str | None) -> str | None:
        if v:
            from cs_mcp.workspace.backends import parse_url

            parse_url(v)  # raises with the URL forms it accepts
        return v


# ------------------------------------------------------------------------- health

Curve = list[tuple[float, float]]


class _Components(_Model):
    """Settings scored as weighted components of metric points (expansion, engagement): both add up to more than 0."""

    _weights_name: ClassVar[str] = "the weights"

    @field_validator("weights", check_fields=False)
    @classmethod
    def _weights_total(cls, v: dict[str, float]) -> dict[str, float]:
        return _weights_with_a_total(v, cls._weights_name)

    @field_validator("components", check_fields=False)
    @classmethod
    def _points_total(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for name, metrics in v.items():
            _weights_with_a_total(metrics, f"the metric points of component {name}")
        return v


class Dimension(_Model):
    weight: float = Field(ge=0)
    metrics: dict[str, float] = Field(description="metric -> points inside the dimension")

    @field_validator("metrics")
    @classmethod
    def _points_with_a_total(cls, v: dict[str, float]) -> dict[str, float]:
        return _weights_with_a_total(v, "the metric points of a dimension")


class Bands(_Model):
    green: float = Field(80, description="score at or above which an account is green")
    yellow: float = Field(50, description="score at or above which an account is yellow (else red)")

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if not 0 <= self.yellow <= self.green <= 100:
            raise ValueError("bands must satisfy 0 <= yellow <= green <= 100")
        return self


class HealthModel(_Model):
    description: str = ""
    dimensions: dict[str, Dimension]
    segment_weights: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="segment -> dimension -> weight, replacing the dimension weights for that segment",
    )
    bands: Bands = Field(default_factory=Bands)

    @field_validator("dimensions")
    @classmethod
    def _dimension_weights_total(cls, v: dict[str, Dimension]) -> dict[str, Dimension]:
        _weights_with_a_total({name: dim.weight for name, dim in v.items()}, "the dimension weights")
        return v

    @model_validator(mode="after")
    def _segment_weights_known(self) -> HealthModel:
        for segment, override in self.segment_weights.items():
            unknown = sorted(set(override) - set(self.dimensions))
            if unknown:
                raise ValueError(
                    f"segment_weights.{segment} names dimensions this model does not have: {unknown}; "
                    f"its dimensions: {sorted(self.dimensions)}"
                )
            weights = {name: override.get(name, dim.weight) for name, dim in self.dimensions.items()}
            _weights_with_a_total(weights, f"segment_weights.{segment} (with the model's weights where not given)")
        return self


def _default_models() -> dict[str, HealthModel]:
    usage = {"seat_utilization": 12, "logins_per_user_week": 9, "feature_adoption": 9}
    engagement = {"outreach_response_rate": 8, "meeting_attendance_rate": 8, "days_since_last_touch": 9}
    support = {"ticket_volume_ratio": 7, "open_critical_tickets": 6, "support_csat": 7}
    satisfaction = {"nps": 7, "csat": 8}
    financial = {"days_overdue": 5, "arr_growth_12m": 5}
    return {
        "default": HealthModel(
            description="customer-success plugin: usage 30, engagement 25, support 20, "
            "satisfaction 15, financial 10",
            dimensions={
                "usage": Dimension(weight=30, metrics=usage),
                "engagement": Dimension(weight=25, metrics=engagement),
                "support": Dimension(weight=20, metrics=support),
                "satisfaction": Dimension(weight=15, metrics=satisfaction),
                "financial": Dimension(weight=10, metrics=financial),
            },
            bands=Bands(green=80, yellow=50),
        ),
        "operations": HealthModel(
            description="customer-success-operations plugin: usage 35, engagement 25, sentiment 25, "
            "financial 15, with per-segment weights",
            dimensions={
                "usage": Dimension(weight=35, metrics=usage),
                "engagement": Dimension(weight=25, metrics=engagement),
                "sentiment": Dimension(weight=25, metrics={**support, **satisfaction}),
                "financial": Dimension(weight=15, metrics=financial),
            },
            segment_weights={
                "enterprise": {"usage": 30, "engagement": 30, "sentiment": 25, "financial": 15},
                "smb": {"usage": 40, "engagement": 20, "sentiment": 25, "financial": 15},
            },
            bands=Bands(green=80, yellow=60),
        ),
    }


def _default_curves() -> dict[str, Curve]:
    return {
        # active users / licensed seats
        "seat_utilization": [(0.2, 0.0), (0.5, 0.5), (0.8, 1.0)],
        # logins per active user per week
        "logins_per_user_week": [(0.0, 0.0), (1.0, 0.3), (3.0, 0.7), (5.0, 1.0)],
        # share of the product's features used in the last 30 days
        "feature_adoption": [(0.0, 0.0), (0.2, 0.3), (0.5, 0.7), (0.7, 1.0)],
        # share of CSM outreach that got an answer (90 days)
        "outreach_response_rate": [(0.0, 0.0), (0.5, 0.6), (0.8, 1.0)],
        # share of scheduled meetings that took place (90 days)
        "meeting_attendance_rate": [(0.0, 0.0), (0.5, 0.5), (0.9, 1.0)],
        # under 7 days full; 8-14 from 0.9 to 0.7; 15-30 from 0.6 to 0.3; over 30 from 0.25 to 0 at 60
        "days_since_last_touch": [
            (7, 1.0), (8, 0.9), (14, 0.7), (15, 0.6), (30, 0.3), (31, 0.25), (60, 0.0),
        ],
        # tickets in the last 30 days / the account's own monthly average over the 12 months before
        "ticket_volume_ratio": [(1.0, 1.0), (2.0, 0.3), (3.0, 0.0)],
        # open critical tickets now
        "open_critical_tickets": [(0, 1.0), (1, 0.5), (2, 0.0)],
        # share of ticket CSAT answers that are 4-5, last 90 days
        "support_csat": [(0.4, 0.0), (0.7, 0.5), (0.9, 1.0)],
        # account NPS (-100..100) over the last 12 months, one latest answer per respondent
        "nps": [(-100, 0.0), (0, 0.5), (50, 1.0)],
        # share of CSAT answers that are 4-5, last 12 months
        "csat": [(0.4, 0.0), (0.7, 0.5), (0.9, 1.0)],
        # days the oldest unpaid invoice is past due: current 5/5, 1-30 days 2/5, over 30 0/5
        "days_overdue": [(0, 1.0), (1, 0.4), (30, 0.4), (31, 0.0)],
        # ARR change over 12 months (0.1 = +10%)
        "arr_growth_12m": [(-0.2, 0.0), (0.0, 0.5), (0.1, 1.0)],
    }


class TrendSettings(_Model):
    lookback_days: list[int] = Field(default_factory=lambda: [30, 60, 90])
    velocity_window_days: int = Field(30, ge=1)
    fast_decline_per_day: float = Field(-0.5, description="velocity at or below which the decline is fast")
    stable_per_day: float = Field(0.1, ge=0, description="|velocity| under this reads as stable")


class AlertSettings(_Model):
    drop_points: float = Field(10, description="alert when the score fell this much ...")
    drop_window_days: int = Field(7, description="... within this many days")
    renewal_score_below: float = Field(70, description="alert when the score is under this ...")
    renewal_within_days: int = Field(90, description="... and the renewal is this close")
    usage_drop_pct: float = Field(50, description="critical: active users down this % vs 30 days ago")
    no_login_days: int = Field(14, description="critical: no logins for this many days")
    critical_ticket_hours: float = Field(48, description="critical: a critical ticket open this long")
    nps_at_most: int = Field(3, description="critical: an NPS answer at or below this (90 days)")
    invoice_overdue_days: int = Field(30, description="critical: an invoice this many days overdue")
    executive_sponsor_left: bool = Field(True, description="critical: the executive sponsor left")


class WindowSettings(_Model):
    """Look-back windows (days) of the per-account metrics."""

    usage_days: int = Field(28, ge=7)
    feature_days: int = Field(30, ge=7)
    engagement_days: int = Field(90, ge=7)
    ticket_recent_days: int = Field(30, ge=7)
    ticket_baseline_days: int = Field(365, ge=30)
    support_csat_days: int = Field(90, ge=7)
    satisfaction_days: int = Field(365, ge=30)
    growth_days: int = Field(365, ge=30)


class SmallSampleSettings(_Model):
    """Rates from few answers lean toward a neutral prior: (n x rate + k x prior) / (n + k)."""

    pseudo_count: float = Field(
        4, ge=0, description="k: answers' worth of prior mixed into a rate (0 = no damping)"
    )
    priors: dict[str, float] = Field(
        default_factory=lambda: {
            "support_csat": 0.7,
            "csat": 0.7,
            "outreach_response_rate": 0.5,
            "meeting_attendance_rate": 0.5,
            "nps": 0.0,
        },
        description="metric -> the neutral value a small sample is pulled toward (about half the points)",
    )


class CoverageSettings(_Model):
    """Engagement expected of an account depends on how it is covered: tech-touch accounts get no CSM meetings."""

    by_segment: dict[str, str] = Field(
        default_factory=lambda: {"smb": "tech_touch"},
        description="segment -> coverage model (segments not listed are high touch: every input expected)",
    )
    not_expected: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "tech_touch": ["outreach_response_rate", "meeting_attendance_rate", "days_since_last_touch"]
        },
        description="coverage model -> health inputs not expected of it: left out, their points re-spread",
    )

    def coverage_of(self, segment: str | None) -> str:
        key = "" if segment is None else str(segment).strip().lower()
        return {k.lower(): v for k, v in self.by_segment.items()}.get(key, "high_touch")


class HealthValidationSettings(_Model):
    """The evidence resource cs://models/health: churn after past cut-offs by the band scored then."""

    cutoffs_days_ago: list[int] = Field(
        default_factory=lambda: [365, 455, 545],
        description="cut-offs this many days before the as-of date (those with window_days observed after)",
    )
    window_days: int = Field(365, ge=30, description="churn counted within this many days after a cut-off")


class HealthSettings(_Model):
    model: str = Field("default", description="which of `models` scores accounts")
    models: dict[str, HealthModel] = Field(default_factory=_default_models)
    curves: dict[str, Curve] = Field(default_factory=_default_curves)
    trend: TrendSettings = Field(default_factory=TrendSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    windows: WindowSettings = Field(default_factory=WindowSettings)
    small_samples: SmallSampleSettings = Field(default_factory=SmallSampleSettings)
    coverage: CoverageSettings = Field(default_factory=CoverageSettings)
    validation: HealthValidationSettings = Field(default_factory=HealthValidationSettings)

    @model_validator(mode="after")
    def _consistent(self) -> HealthSettings:
        if self.model not in self.models:
            raise ValueError(f"health.model {self.model!r} is not one of {sorted(self.models)}")
        for name, model in self.models.items():
            for dim_name, dim in model.dimensions.items():
                unknown = set(dim.metrics) - set(self.curves)
                if unknown:
                    raise ValueError(
                        f"health.models.{name}.dimensions.{dim_name} names metrics with no curve: "
                        f"{sorted(unknown)}; known: {sorted(self.curves)}"
                    )
        for metric, curve in self.curves.items():
            xs = [x for x, _ in curve]
            if not curve or xs != sorted(xs):
                raise ValueError(f"health.curves.{metric} needs breakpoints in increasing input order")
        for where, names in (("small_samples.priors", list(self.small_samples.priors)),
                             *((f"coverage.not_expected.{k}", v) for k, v in self.coverage.not_expected.items())):
            unknown = set(names) - set(self.curves)
            if unknown:
                raise ValueError(f"health.{where} names metrics with no curve: {sorted(unknown)}; "
                                 f"known: {sorted(self.curves)}")
        return self

    @property
    def active(self) -> HealthModel:
        return self.models[self.model]


# -------------------------------------------------------------------------- churn


class ChurnTiers(_Model):
    """Tiers of the churn probability shown (rounded to a whole percent, so label and number agree)."""

    critical: float = Field(0.75, description="probability at or above which the tier is critical")
    high: float = Field(0.55, description="at or above: high")
    medium: float = Field(0.35, description="at or above: medium; below: low")

    @model_validator(mode="after")
    def _ordered(self) -> ChurnTiers:
        if not 0 < self.medium < self.high < self.critical <= 1:
            raise ValueError("churn.tiers needs 0 < medium < high < critical <= 1")
        return self


class LeadingIndicatorPoints(_Model):
    tier1: float = 30
    tier2: float = 15
    tier3: float = 5
    cap: float = 100


class ChurnIndicator(_Model):
    """A leading indicator of churn: a feature crossing a threshold earns its tier's points."""

    name: str
    tier: Literal[1, 2, 3]
    metric: str = Field(
        description="a per-account metric (cs_mcp.workspace.features.METRIC_COLUMNS), or health_score / "
        "health_red (1 when the health band is red)"
    )
    op: Literal["<", "<=", ">", ">=", "=="]
    value: float
    label: str = Field(
        description="the indicator in words; {v} is the metric's value, {neg} its negation, {pct} v x 100"
    )


def _default_indicators() -> list[ChurnIndicator]:
    rows = [
        ("usage_drop", 1, "usage_change_pct", "<=", -50, "active users down {neg:.0f}% in 30 days"),
        ("no_logins", 1, "days_since_last_login", ">=", 14, "no logins for {v:.0f} days"),
        ("sponsor_left", 1, "exec_sponsor_left_90d", ">=", 1, "executive sponsor left, no successor"),
        ("invoice_overdue", 1, "days_overdue", ">=", 30, "invoice {v:.0f} days overdue"),
        ("critical_ticket_open", 1, "oldest_open_critical_hours", ">", 48,
         "critical ticket open {v:.0f} hours"),
        ("nps_detractor", 2, "min_nps_score_90d", "<=", 6, "NPS detractor (answered {v:.0f}) in 90 days"),
        ("health_red", 2, "health_red", ">=", 1, "health score in the red band"),
        ("outreach_unanswered", 2, "outreach_response_rate", "<", 0.3,
         "answers only {pct:.0f}% of CSM outreach"),
        ("no_touch", 2, "days_since_last_touch", ">=", 30, "no CSM touch for {v:.0f} days"),
        ("ticket_spike", 3, "ticket_volume_ratio", ">=", 2, "ticket volume {v:.1f}x the usual"),
        ("low_adoption", 3, "feature_adoption", "<", 0.2, "uses only {pct:.0f}% of the features"),
        ("low_seat_use", 3, "seat_utilization", "<", 0.4, "only {pct:.0f}% of seats active"),
        ("missed_meetings", 3, "meeting_attendance_rate", "<", 0.5, "only {pct:.0f}% of meetings held"),
        ("escalations", 3, "escalations_90d", ">=", 1, "{v:.0f} escalation(s) in 90 days"),
        ("low_support_csat", 3, "support_csat", "<", 0.6, "support CSAT {pct:.0f}% satisfied"),
    ]
    return [ChurnIndicator(name=n, tier=t, metric=m, op=o, value=v, label=lbl) for n, t, m, o, v, lbl in rows]


class ChurnActions(_Model):
    """How churn-risk-list turns an account's tier, ARR at risk, renewal and drivers into an action."""

    executive_arr_at_risk: float = Field(
        25_000, ge=0, description="ARR at risk (ARR x probability) at or above which the CS lead and the "
        "executive sponsor own the play, below it the CSM"
    )
    renewal_soon_days: int = Field(45, ge=0, description="renewal this close: agree the renewal path now")
    renewal_planning_days: int = Field(
        120, ge=0, description="renewal this close: start the renewal plan (T-120 of the renewal timeline)"
    )
    plays: int = Field(2, ge=1, le=3, description="driver plays named in one recommended action")


class ChurnSettings(_Model):
    rank_by: Literal["next_renewal", "horizon"] = Field(
        "next_renewal",
        description="which probability ranks churn-risk-list and drives renewal probabilities: 'next_renewal' "
        "= P(lost at or before the account's next renewal), 'horizon' = P(churn within horizon_days); both "
        "are learned and shown",
    )
    horizon_days: int = Field(
        90, ge=7, description="the short-horizon probability: churned within this many days after a cut-off; "
        "also the window of accounts with no known renewal date"
    )
    renewal_grace_days: int = Field(
        30, ge=0, description="a churn recorded up to this many days after the renewal date counts as lost at "
        "that renewal"
    )
    candidates: list[Literal["logistic", "gradient_boosting", "health_logistic"]] = Field(
        default_factory=lambda: ["logistic", "gradient_boosting", "health_logistic"],
        description="model families compared by grouped cross-validation; the best ROC-AUC is used. "
        "health_logistic uses only the health score, its dimensions and days to renewal",
    )
    cv_folds: int = Field(5, ge=2, le=20)
    cv_folds_large: int = Field(
        3, ge=2, le=20,
        description="folds when there are over 10,000 training examples (bounds the fit time; "
        "metrics are stable at that size)"
    )
    cutoffs: int = Field(
        24, ge=1, description="past cut-off dates the training examples are computed as of (fewer when the "
        "data does not reach back that far)"
    )
    cutoff_spacing_days: int = Field(30, ge=7, description="days between cut-offs, the newest this long ago")
    warmup_days: int = Field(
        60, ge=0, description="cut-offs start this long after the first activity in the data, so features have "
        "history behind them"
    )
    driver_change_days: int = Field(90, ge=7, description="drivers show how their signal moved over this long")
    min_outcomes: int = Field(20, ge=2, description="churned examples needed before a model is fitted")
    random_state: int = 7
    tiers: ChurnTiers = Field(default_factory=ChurnTiers)
    actions: ChurnActions = Field(default_factory=ChurnActions)
    page_size: int = Field(
        15, ge=1, le=50, description="churn-risk-list rows per page by default (each row carries drivers, context "
        "and an action)"
    )
    leading_indicator_points: LeadingIndicatorPoints = Field(default_factory=LeadingIndicatorPoints)
    indicators: list[ChurnIndicator] = Field(
        default_factory=_default_indicators,
        description="leading indicators (tier 1/2/3) of the fallback score when the data holds too few "
        "outcomes",
    )
    max_training_examples: int = Field(
        20_000, ge=1_000,
        description="cap on training examples: above it, accounts are sampled (stratified by outcome) so the "
        "first fit stays fast; the model card says when this happened",
    )
    max_category_levels: int = Field(12, ge=2, description="one-hot levels kept per categorical attribute")
    disk_cache: bool = Field(
        True,
        description="keep fitted models on disk ($CS_MCP_CACHE_DIR or ~/.cache/cs-mcp), keyed by data "
        "version",
    )


# ---------------------------------------------------------------- renewal & growth


class RenewalProbability(_Model):
    """How renewal-forecast blends a renewal's probability (see cs_mcp.domain.renewal)."""

    health_weight: float = Field(
        0.3, ge=0, le=1,
        description="share of the probability taken from health; the rest is 1 - churn probability",
    )
    health_curve: list[tuple[float, float]] = Field(
        default_factory=lambda: [(0, 0.30), (50, 0.70), (80, 0.92), (100, 0.98)],
        description="health score -> renewal probability (piecewise linear)",
    )
    open_downgrade: float = Field(-0.10, description="added when an open downgrade opportunity exists")
    late_stage_renewal: float = Field(0.05, description="added when an open renewal opportunity is at a late stage")
    won_renewal_floor: float = Field(0.97, description="probability at least this once the renewal is won")
    lost_renewal_ceiling: float = Field(0.03, description="probability at most this once the renewal is lost")
    floor: float = Field(0.01, ge=0, le=1)
    ceiling: float = Field(0.99, ge=0, le=1)
    default_probability: float = Field(0.80, description="when an account has neither a churn score nor health")
    late_stages: list[str] = Field(
        default_factory=lambda: ["negotiat", "commit", "verbal", "contract", "closing", "procurement",
                                 "signature", "legal"],
        description="an open opportunity whose stage contains one of these (case-insensitive) is late-stage",
    )
    won_stages: list[str] = Field(default_factory=lambda: ["won", "closed won", "closed-won", "closed_won"])
    lost_stages: list[str] = Field(default_factory=lambda: ["lost", "closed lost", "closed-lost", "closed_lost"])
    opportunity_days_after_renewal: int = Field(
        30, ge=0, description="open opportunities closing up to this long after the renewal date count for it",
    )


class RenewalSettings(_Model):
    probability_tiers: dict[str, float] = Field(
        default_factory=lambda: {"high_confidence": 90, "likely": 75, "at_risk": 50},
        description="renewal probability (%) at or above which each tier starts; below at_risk: high_risk",
    )
    timeline_days: list[int] = Field(
        default_factory=lambda: [120, 90, 60, 30, 0],
        description="the five renewal milestones, days before the renewal date, largest first",
    )
    multi_year_discount_pct: float = Field(10, description="discount offered for a multi-year renewal")
    default_window_days: int = Field(90, ge=1)
    page_size: int = Field(
        20, ge=1, le=50, description="renewal-forecast rows per page by default (each row carries drivers, signals "
        "and a timeline)"
    )
    probability: RenewalProbability = Field(default_factory=RenewalProbability)

    @field_validator("timeline_days")
    @classmethod
    def _five_descending(cls, v: list[int]) -> list[int]:
        if len(v) != 5 or v != sorted(v, reverse=True) or v[-1] < 0:
            raise ValueError("renewal.timeline_days needs five day counts, largest first, e.g. [120, 90, 60, 30, 0]")
        return v


def _default_expansion_curves() -> dict[str, Curve]:
    return {
        # active users / licensed seats
        "seat_utilization": [(0.4, 0.0), (0.9, 1.0)],
        # share of the product's features used in the last 30 days
        "feature_adoption": [(0.1, 0.0), (0.6, 1.0)],
        # ARR change over 12 months (0.1 = +10%)
        "arr_growth_12m": [(-0.1, 0.0), (0.0, 0.4), (0.2, 1.0)],
        # active users now vs `user_growth_days` ago (0.1 = +10%)
        "active_user_growth": [(-0.2, 0.0), (0.0, 0.4), (0.2, 1.0)],
        # share of CSM outreach answered / of meetings held (90 days)
        "outreach_response_rate": [(0.0, 0.0), (0.8, 1.0)],
        "meeting_attendance_rate": [(0.0, 0.0), (0.8, 1.0)],
        # days since the last CSM touch: within two weeks full, nothing after 60
        "days_since_last_touch": [(14, 1.0), (60, 0.0)],
        # days the oldest unpaid invoice is past due: current full, 1-30 days half, over 30 nothing
        "days_overdue": [(0, 1.0), (1, 0.5), (30, 0.5), (31, 0.0)],
        # seats purchased / employees: the less of the company licensed, the more headroom
        "seat_penetration": [(0.2, 1.0), (0.6, 0.0)],
        # won upsell / cross-sell opportunities in the last `prior_expansion_days`: none is neutral
        "prior_expansions": [(0, 0.5), (1, 1.0)],
    }


class ExpansionSettings(_Components):
    """expansion-opportunities: propensity = weighted components (0-100), candidates by type."""

    _weights_name: ClassVar[str] = "the propensity weights"

    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "health": 0.30,
            "adoption": 0.25,
            "growth": 0.20,
            "engagement": 0.15,
            "budget": 0.10,
        },
        description="propensity = sum(weight x component 0-100) / sum(weights of components with data); "
        "health is the health score, the others come from `components`",
    )
    components: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {
            "adoption": {"seat_utilization": 1, "feature_adoption": 1},
            "growth": {"arr_growth_12m": 1, "active_user_growth": 1},
            "engagement": {
                "outreach_response_rate": 1, "meeting_attendance_rate": 1, "days_since_last_touch": 1,
            },
            "budget": {"days_overdue": 1, "seat_penetration": 1, "prior_expansions": 1},
        },
        description="component -> metric -> points: component = 100 x points-weighted mean of curve(metric) "
        "over the metrics with data",
    )
    curves: dict[str, Curve] = Field(
        default_factory=_default_expansion_curves,
        description="metric -> [input, fraction] breakpoints (piecewise linear, flat past the ends)",
    )
    seat_upsell_utilization: float = Field(0.85, description="seat upsell when utilization is above this")
    seat_target_utilization: float = Field(
        0.75, gt=0, le=1, description="seat upsell potential: seats that bring utilization down to this"
    )
    user_growth_days: int = Field(90, ge=7, description="active-user growth: now vs this many days ago")
    prior_expansion_days: int = Field(365, ge=1, description="won expansions counted over this many days")
    cross_sell_min_peer_share: float = Field(
        0.2, ge=0, le=1,
        description="cross-sell only products owned by at least this share of the account's segment",
    )
    cross_sell_default_share: float = Field(
        0.10, ge=0, description="cross-sell potential as a share of ARR when the product has no list price "
        "or the account no seat count",
    )
    plan_order: list[str] = Field(
        default_factory=lambda: ["starter", "professional", "enterprise"],
        description="plans from lowest to highest; tier upgrade targets the next one",
    )
    tier_upgrade_min_adoption: float = Field(
        0.6, ge=0, le=1, description="tier upgrade when feature adoption is at least this"
    )
    tier_upgrade_uplift: float = Field(0.30, ge=0, description="tier upgrade potential as a share of ARR")
    exclude_red_health: bool = Field(True, description="leave out accounts whose health band is red")
    exclude_churn_tiers: list[Literal["critical", "high", "medium", "low"]] = Field(
        default_factory=lambda: ["critical", "high"],
        description="leave out accounts in these churn tiers (churn-risk-list's): save the account before "
        "selling to it",
    )


    @model_validator(mode="after")
    def _consistent(self) -> ExpansionSettings:
        unknown = set(self.components) - (set(self.weights) - {"health"})
        if unknown:
            raise ValueError(f"expansion.components {sorted(unknown)} have no weight in expansion.weights")
        for comp, metrics in self.components.items():
            missing = set(metrics) - set(self.curves)
            if missing:
                raise ValueError(
                    f"expansion.components.{comp} names metrics with no curve: {sorted(missing)}"
                )
        return self


def _default_coverage() -> dict[str, dict[str, str]]:
    return {
        "value_tier": {
            "strategic": "dedicated CSM, high-touch: small named book, monthly touch, QBR/EBR, exec sponsor",
            "growth": "named CSM from a pooled team, mid-touch: quarterly review, playbook-driven",
            "core": "tech-touch with a pooled CSM: automated programmes, a human on alerts and renewals",
            "starter": "digital / scaled: in-app guidance, email nurture, community; a human on escalation",
        },
        "health_value": {
            "save": "executive-led recovery plan, weekly review",
            "protect": "fix the weakest health dimension this quarter, CSM with the sponsor",
            "grow": "expansion, references, EBR",
            "rescue": "CSM-led rescue playbook with a dated plan",
            "nurture": "adoption programme: training, success-plan refresh",
            "expand": "selective expansion where adoption supports it",
            "automated_recovery": "automated recovery sequence; accept some loss",
            "automated_nudges": "automated adoption nudges in product and email",
            "advocate": "reviews, case studies, community and referral asks",
            "unscored": "no health score: map the tables health needs (usage, touchpoints, tickets)",
        },
        "lifecycle": {
            "onboarding": "onboarding plan: kickoff, time-to-first-value milestones (onboarding-plan)",
            "adopting": "adoption programme: feature enablement, usage reviews",
            "mature": "cadence of the account's value tier; look for expansion and advocacy",
            "renewal_due": "renewal playbook from T-120 (renewal-strategy, cs://templates/renewal-playbook)",
            "at_risk": "save play: recovery plan on the top risk drivers, weekly review",
            "churned": "exit interview and win-back; feed the loss reasons back",
        },
        "rfm": {
            "champions": "advocacy and expansion: references, case studies, early access",
            "loyal": "expansion candidates: upsell on the value they already get",
            "at_risk": "big but fading: the most urgent save, CSM-led outreach now",
            "promising": "activation: use-case campaigns to build frequency",
            "needs_attention": "targeted check-in on the weakest of recency, frequency, value",
            "hibernating": "re-engagement campaign, tech-touch",
            "dormant": "re-activation outreach: find out why usage stopped",
        },
    }


class SegmentSettings(_Model):
    """customer-segments: the rules of each scheme and the coverage model of each segment."""

    value_tiers: dict[str, float] = Field(
        default_factory=lambda: {"strategic": 50_000, "growth": 15_000, "core": 5_000},
        description="ARR above which each tier starts (an ARR exactly on a threshold falls in the tier "
        "below); below the lowest: `lowest_tier`",
    )
    lowest_tier: str = Field("starter", description="the tier below the lowest threshold")
    value_levels: dict[str, str] = Field(
        default_factory=lambda: {"strategic": "high", "growth": "mid", "core": "low", "starter": "low"},
        description="value tier -> value level (high, mid, low) of the health x value grid",
    )
    health_value_cells: dict[str, dict[str, str]] = Field(
        default_factory=lambda: {
            "high": {"red": "save", "yellow": "protect", "green": "grow"},
            "mid": {"red": "rescue", "yellow": "nurture", "green": "expand"},
            "low": {"red": "automated_recovery", "yellow": "automated_nudges", "green": "advocate"},
        },
        description="value level -> health band -> segment (the cell's play)",
    )
    onboarding_days: int = Field(
        90, ge=1, description="lifecycle: onboarding until this many days after contract_start"
    )
    adopting_days: int = Field(365, ge=1, description="lifecycle: adopting until this many days, then mature")
    renewal_window_days: int | None = Field(
        None, ge=1,
        description="lifecycle: renewal due within this many days (empty: renewal.timeline_days[0])",
    )
    rfm_bins: int = Field(
        5, ge=2, le=10, description="RFM scores run from 1 to this, by quantile of the portfolio"
    )
    rfm_high: int = Field(4, ge=1, description="an RFM score at or above this is high")
    rfm_low: int = Field(2, ge=1, description="an RFM score at or below this is low")
    dormant_days: int = Field(30, ge=1, description="RFM: dormant when no login in this many days")
    churn_window_days: int = Field(
        365, ge=30,
        description="segment churn rate: churned within this many days / accounts active at its start",
    )
    cluster_features: list[str] = Field(
        default_factory=lambda: [
            "arr", "seat_utilization", "logins_per_user_week", "feature_adoption", "days_since_last_touch",
            "ticket_volume_ratio", "nps", "tenure_days", "health_score", "arr_growth_12m",
        ],
        description="per-account metrics clustered (cs_mcp.workspace.features.METRIC_COLUMNS, health_score)",
    )
    cluster_log_features: list[str] = Field(
        default_factory=lambda: ["arr"], description="features clustered as log(1 + x)"
    )
    cluster_k_min: int = Field(2, ge=2, description="fewest clusters tried")
    cluster_k_max: int = Field(6, ge=2, le=12, description="most clusters tried; the best silhouette wins")
    cluster_random_state: int = 7
    cluster_n_init: int = Field(4, ge=1, description="k-means restarts per k")
    cluster_max_fit_accounts: int = Field(
        20_000, ge=100, description="k-means is fitted on a seeded sample of this many accounts at most"
    )
    cluster_silhouette_sample: int = Field(
        2_000, ge=100, description="accounts sampled to compute silhouettes"
    )
    cluster_distinctive_sd: float = Field(
        0.5, ge=0,
        description="a feature distinguishes a cluster when its mean is this many sd from the portfolio's",
    )
    coverage: dict[str, dict[str, str]] = Field(
        default_factory=_default_coverage,
        description="scheme -> segment -> recommended coverage model (clusters take their main value tier's)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> SegmentSettings:
        if not 1 <= self.rfm_low < self.rfm_high <= self.rfm_bins:
            raise ValueError("segments needs 1 <= rfm_low < rfm_high <= rfm_bins")
        if self.cluster_k_min > self.cluster_k_max:
            raise ValueError("segments.cluster_k_min must not exceed cluster_k_max")
        tiers = [*self.value_tiers, self.lowest_tier]
        missing = [t for t in tiers if self.value_levels.get(t) not in self.health_value_cells]
        if missing:
            raise ValueError(
                f"segments.value_levels must map every tier {tiers} to a level of health_value_cells "
                f"({sorted(self.health_value_cells)}); check {missing}"
            )
        for level, cells in self.health_value_cells.items():
            if set(cells) != {"red", "yellow", "green"}:
                raise ValueError(f"segments.health_value_cells.{level} needs exactly red, yellow and green")
        return self


class EngagementSettings(_Components):
    """engagement-report: four components, each 0-100 from metric curves (see cs_mcp.domain.engagement).

    A metric earns `curve(input) x points`; a component's score is 100 x earned / possible over its metrics
    with data; the engagement score is the weighted mean of the components with data (weights re-spread).
    """

    _weights_name: ClassVar[str] = "the component weights"

    weights: dict[str, float] = Field(
        default_factory=lambda: {"frequency": 30, "quality": 35, "breadth": 20, "product": 15}
    )
    bands: dict[str, float] = Field(
        default_factory=lambda: {"high": 80, "medium": 60, "low": 40},
        description="score at or above which each band starts; below low: at risk",
    )
    components: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {
            "frequency": {"cadence_ratio": 60, "days_since_last_touch": 40},
            "quality": {"outreach_response_rate": 30, "meeting_attendance_rate": 25,
                        "strategic_touches": 25, "positive_outcome_rate": 20},
            "breadth": {"active_contacts": 30, "departments": 25, "has_champion": 25, "has_exec_sponsor": 20},
            "product": {"logins_per_user_week": 50, "feature_adoption": 50},
        },
        description="component -> metric -> points inside it; a metric without data passes its points to the "
        "component's other metrics",
    )
    curves: dict[str, Curve] = Field(
        default_factory=lambda: {
            # touches in window_days / the segment's expected touches (1 = on cadence)
            "cadence_ratio": [(0.0, 0.0), (1.0, 1.0)],
            # never touched scores like the last breakpoint
            "days_since_last_touch": [(7, 1.0), (30, 0.5), (60, 0.0)],
            "outreach_response_rate": [(0.0, 0.0), (0.8, 1.0)],
            "meeting_attendance_rate": [(0.0, 0.0), (0.9, 1.0)],
            # QBR/EBR held in strategic_days
            "strategic_touches": [(0, 0.0), (1, 0.7), (2, 1.0)],
            # share of touches with an outcome in window_days whose outcome is in positive_outcomes
            "positive_outcome_rate": [(0.0, 0.0), (0.8, 1.0)],
            "active_contacts": [(0, 0.0), (1, 0.2), (3, 0.6), (5, 1.0)],
            "departments": [(0, 0.0), (1, 0.3), (2, 0.7), (3, 1.0)],
            "has_champion": [(0, 0.0), (1, 1.0)],
            "has_exec_sponsor": [(0, 0.0), (1, 1.0)],
            "logins_per_user_week": [(0.0, 0.0), (1.0, 0.3), (3.0, 0.7), (5.0, 1.0)],
            "feature_adoption": [(0.0, 0.0), (0.2, 0.3), (0.5, 0.7), (0.7, 1.0)],
        },
        description="metric -> [input, fraction] breakpoints, linear between them, flat beyond the ends",
    )
    expected_touches_90d: dict[str, float] = Field(
        default_factory=lambda: {"enterprise": 6, "mid-market": 3, "smb": 1},
        description="CSM touches expected per 90 days, by segment (case-insensitive)",
    )
    default_expected_touches_90d: float = Field(2, gt=0, description="for accounts of another or no segment")
    window_days: int = Field(
        90, ge=7, description="look-back of touch counts, response and attendance rates, outcomes and flags"
    )
    strategic_days: int = Field(180, ge=30, description="look-back for strategic touches")
    strategic_types: list[str] = Field(
        default_factory=lambda: ["qbr", "ebr"], description="touchpoint types that count as strategic"
    )
    positive_outcomes: list[str] = Field(
        default_factory=lambda: ["completed", "responded", "positive", "success", "attended", "won"],
        description="touchpoint outcomes (case-insensitive) that count as positive",
    )
    cadence_months: int = Field(6, ge=1, le=24, description="30-day months shown in the cadence view")
    flag_single_threaded_contacts: int = Field(
        1, ge=0, description="red flag: at most this many active contacts (single-threaded)"
    )
    flag_no_exec_sponsor: bool = Field(True, description="red flag: no active executive sponsor")
    flag_no_touch_days: int | None = Field(
        None, ge=1, description="red flag 'no recent touch': no touch for this many days (or never); unset, an "
        "account is flagged when it is overdue for a touch by its segment's csm.touch_overdue_days, the rule "
        "csm-performance counts",
    )
    flag_missed_meetings: int = Field(2, ge=1, description="red flag: this many no-show meetings in window_days")
    flag_outreach_response_below: float = Field(
        0.5, ge=0, le=1, description="red flag: share of outreach answered below this ..."
    )
    flag_outreach_min_attempts: int = Field(2, ge=1, description="... over at least this many attempts")
    flag_usage_drop_pct: float = Field(
        25, gt=0, description="red flag: active users down this % or more vs 30 days earlier"
    )
    flag_cadence_share_below: float = Field(
        0.5, ge=0, le=1, description="red flag: touches in window_days below this share of the expected"
    )


    @model_validator(mode="after")
    def _consistent(self) -> EngagementSettings:
        if set(self.components) != set(self.weights):
            raise ValueError(
                f"engagement.components {sorted(self.components)} must name the same components as "
                f"engagement.weights {sorted(self.weights)}"
            )
        for name, metrics in self.components.items():
            unknown = set(metrics) - set(self.curves)
            if unknown:
                raise ValueError(f"engagement.components.{name} names metrics with no curve: {sorted(unknown)}")
        for metric, curve in self.curves.items():
            xs = [x for x, _ in curve]
            if not curve or xs != sorted(xs):
                raise ValueError(f"engagement.curves.{metric} needs breakpoints in increasing input order")
        if not self.bands.get("high", 0) >= self.bands.get("medium", 0) >= self.bands.get("low", 0) >= 0:
            raise ValueError("engagement.bands needs high >= medium >= low >= 0")
        return self


class CsmSettings(_Model):
    """csm-performance: capacity flags, overdue touches, renewal risk and the coaching-note thresholds."""

    near_capacity_utilization: float = Field(0.9, gt=0, description="flag 'near' at this book / capacity")
    over_capacity_utilization: float = Field(1.0, gt=0, description="flag 'over' above this book / capacity")
    touch_overdue_days: dict[str, int] = Field(
        default_factory=lambda: {"enterprise": 30, "mid-market": 45, "smb": 90},
        description="an account is overdue for a touch when its last touch is older than this, by segment",
    )
    default_touch_overdue_days: int = Field(60, ge=1, description="for accounts of another or no segment")
    activity_days: list[int] = Field(
        default_factory=lambda: [30, 90], description="the two look-backs of touch activity, shorter first"
    )
    renewal_window_days: int = Field(90, ge=1, description="renewals due within this many days")
    retention_period: str = Field("last-12-months", description="period of the book's GRR/NRR")
    top_overdue: int = Field(3, ge=0, le=10, description="overdue accounts listed per CSM, largest ARR first")
    save_plan_order: Literal["expected_loss", "risk"] = Field(
        "expected_loss",
        description="order of the at-risk renewals to start save plans on: expected_loss = ARR x risk of loss, "
        "largest first; risk = the likeliest to be lost first (whole percent), then ARR",
    )
    page_size: int = Field(
        10, ge=1, le=50, description="CSMs per page by default (each CSM row is long: keeps an answer near 5K tokens)"
    )
    coach_overdue_share: float = Field(
        0.1, ge=0, le=1, description="coaching note when at least this share of the book is overdue"
    )
    coach_red_share: float = Field(
        0.2, ge=0, le=1, description="coaching note when at least this share of the book is red"
    )
    coach_low_activity_ratio: float = Field(
        0.5, ge=0, description="coaching note when touches per account fall below this x the team's"
    )

    @field_validator("activity_days")
    @classmethod
    def _two_windows(cls, v: list[int]) -> list[int]:
        if len(v) != 2 or v[0] >= v[1] or v[0] < 1:
            raise ValueError("csm.activity_days needs two day counts, shorter first, e.g. [30, 90]")
        return v


def _default_themes() -> dict[str, list[str]]:
    return {
        "performance": ["slow*", "lag*", "timeout*", "time out", "times out", "freez*", "load time*",
                        "latency", "sluggish", "performance", "take forever", "takes forever", "speed"],
        "reliability": ["bug*", "buggy", "outage*", "crash*", "downtime", "error*", "fail*", "broken",
                        "unstable", "reliab*", "stable"],
        "pricing": ["pric*", "expensive", "cost*", "cheap*", "budget", "discount*", "per-seat",
                    "value for money", "billing", "invoice*"],
        "support": ["support", "ticket*", "csm", "customer success", "escalat*", "account manager",
                    "response time*", "responsive"],
        "reporting": ["report*", "dashboard*", "analytics", "insight*", "visibility", "metrics"],
        "integrations": ["integrat*", "api", "sync*", "connector*", "crm", "data warehouse", "salesforce",
                         "webhook*", "stack"],
        "onboarding": ["onboard*", "training", "implementation", "setup", "set up", "getting started",
                       "adopted", "ramp up"],
        "usability": ["usab*", "easy to use", "hard to use", "intuitive", "interface", "ui", "ux", "clunky",
                      "confus*", "complicated", "cluttered", "navigat*", "user-friendly", "learning curve"],
        "features": ["feature*", "roadmap", "missing", "customi*", "permission*", "workflow*", "automat*",
                     "functionality"],
    }


class FeedbackSettings(_Model):
    """Voice of the customer: nps-analysis (NPS, CSAT, comment themes) and escalation-analysis."""

    promoter_min: int = Field(9, ge=1, le=10, description="NPS answers (0-10) at or above this are promoters")
    detractor_max: int = Field(
        6, ge=0, le=9, description="NPS answers at or below this are detractors; those between are passives"
    )
    csat_satisfied_min: int = Field(4, ge=1, le=5, description="ticket CSAT (1-5) at or above this is satisfied")
    tenure_bands: list[tuple[str, int]] = Field(
        default_factory=lambda: [("<1y", 0), ("1-2y", 12), ("2y+", 24)],
        description="[band, months after contract_start at which it starts] pairs, tenure taken at the answer "
        "date; the lowest must start at 0",
    )
    trend_months: int = Field(6, ge=1, le=36, description="monthly NPS trend: months shown, the period's last first")
    trend_quarters: int = Field(4, ge=1, le=12, description="quarterly NPS trend: quarters shown")
    themes: dict[str, list[str]] = Field(
        default_factory=_default_themes,
        description="named seed themes: theme -> keywords or phrases, matched case-insensitively on word boundaries "
        "(a trailing * matches any word ending: 'slow*' is slow, slower, slowness); a discovered theme whose "
        "closest comments match a seed's keywords takes its name, and with theme_method 'keywords' (or too few "
        "comments to learn from) these are the themes; an empty list drops the theme",
    )
    theme_method: Literal["discover", "keywords"] = Field(
        "discover", description="discover: themes learned from the comments (TF-IDF, LSA, spherical k-means), "
        "named by their top terms or a matching seed; keywords: only the seed themes' keyword lists"
    )
    theme_min_comments: int = Field(
        40, ge=2, description="fewer comments than this in the period and cut: the seed keywords make the themes"
    )
    theme_k_min: int = Field(2, ge=2, le=30, description="fewest themes discovery may choose")
    theme_k_max: int = Field(15, ge=2, le=30, description="most themes discovery may choose")
    theme_k_tolerance: float = Field(
        0.1, ge=0, le=0.5, description="number of themes: the smallest k in [theme_k_min, theme_k_max] whose "
        "coverage is within this of the best coverage any k in that range reaches"
    )
    theme_min_similarity: float = Field(
        0.3, gt=0, lt=1, description="a comment belongs to a theme when its cosine similarity to the theme's "
        "centre (in the comments' latent semantic space) is at least this; below it for every theme it is 'other'"
    )
    theme_select_similarity: float = Field(
        0.4, gt=0, lt=1, description="closeness at which coverage is measured when choosing the number of themes: "
        "stricter than theme_min_similarity, so that two topics merged into one theme lose coverage"
    )
    theme_min_size: int = Field(5, ge=1, description="a discovered theme with fewer comments joins 'other'")
    theme_dimensions: int = Field(
        50, ge=2, le=300, description="latent semantic dimensions the TF-IDF vectors are reduced to before clustering"
    )
    theme_max_terms: int = Field(
        20_000, ge=100, description="vocabulary cap: the most frequent words and word pairs kept"
    )
    theme_stop_words: list[str] = Field(
        default_factory=list, description="words left out of themes besides the English stop words, e.g. the "
        "product's and the company's own names"
    )
    theme_fit_sample: int = Field(
        20_000, ge=1_000, description="comments the clustering is fitted on (a fixed-seed sample when there are "
        "more; every comment is then assigned to its nearest theme)"
    )
    theme_select_sample: int = Field(
        4_000, ge=500, description="comments the number of themes is chosen on (a fixed-seed sample when more)"
    )
    theme_seed_match: float = Field(
        0.5, gt=0, le=1, description="a discovered theme takes a seed's name when at least this share of its "
        "closest comments match the seed's keywords"
    )
    theme_min_mentions: int = Field(
        2, ge=1, description="comments a theme needs among promoters (detractors) to be called their driver"
    )
    theme_driver_lift: float = Field(
        1.5, ge=1, description="a theme drives detractors when its share of detractor comments is at least this "
        "multiple of its share of promoter comments (and the other way round for promoters)"
    )
    theme_significance: float = Field(
        0.05, gt=0, le=1, description="a driver's detractor-vs-promoter difference must also be significant: "
        "two-proportion z-test, p-value Holm-adjusted over the answer's themes, at most this"
    )
    theme_examples: int = Field(3, ge=0, le=5, description="quotes per theme: the comments closest to the theme")
    example_chars: int = Field(120, ge=20, le=500, description="quotes and comments are cut to this length")
    followup_days: int = Field(
        30, ge=1, description="detractor answers this recent with no touchpoint since are due for follow-up"
    )
    repeat_escalation_min: int = Field(
        2, ge=2, description="an account with at least this many escalations in the period is a repeat escalator"
    )

    @model_validator(mode="after")
    def _consistent(self) -> FeedbackSettings:
        if self.detractor_max >= self.promoter_min:
            raise ValueError("feedback.detractor_max must be below feedback.promoter_min")
        starts = sorted(m for _, m in self.tenure_bands)
        labels = [b for b, _ in self.tenure_bands]
        if not starts or starts[0] != 0 or len(set(starts)) != len(starts) or len(set(labels)) != len(labels):
            raise ValueError(
                "feedback.tenure_bands needs distinct labels and start months, the lowest 0, "
                "e.g. [['<1y', 0], ['1-2y', 12], ['2y+', 24]]"
            )
        if self.theme_k_min > self.theme_k_max:
            raise ValueError("feedback.theme_k_min must not be above feedback.theme_k_max")
        return self


OnboardingFocus = Literal["admin-setup", "integrations", "data-migration", "training", "reporting", "adoption"]
ONBOARDING_PHASES = ("kickoff", "setup", "go_live", "adoption", "review")


def parse_holiday_period(text: str) -> tuple[tuple[int | None, int, int], tuple[int | None, int, int]]:
    """'12-22..01-02' (every year) or '2026-11-26' (once) -> ((year, month, day), (year, month, day))."""
    bounds = []
    for part in text.strip().split("..") if text.strip() else []:
        if len(part) == 5 and part[2] == "-":
            month, day = int(part[:2]), int(part[3:])
            dt.date(2000, month, day)  # a leap year, so 02-29 passes
            bounds.append((None, month, day))
        else:
            d = dt.date.fromisoformat(part)
            bounds.append((d.year, d.month, d.day))
    if len(bounds) == 1:
        bounds.append(bounds[0])
    if len(bounds) != 2 or (bounds[0][0] is None) != (bounds[1][0] is None):
        raise ValueError(text)
    return bounds[0], bounds[1]


class OnboardingSettings(_Model):
    """onboarding-plan: default timelines, phase lengths, cadence, targets and risk thresholds."""

    timeline_days: dict[str, int] = Field(
        default_factory=lambda: {"enterprise": 90, "mid-market": 60, "smb": 30},
        description="segment -> default onboarding length in days (segment names compared "
        "case-insensitively)",
    )
    default_timeline_days: int = Field(60, ge=7, description="length for a segment not in timeline_days")
    segment_min_users: dict[str, int] = Field(
        default_factory=lambda: {"enterprise": 250, "mid-market": 50, "smb": 0},
        description="a customer not in the data (no segment given) gets the segment with the highest "
        "minimum its users reach",
    )
    phase_ends: dict[str, float] = Field(
        default_factory=lambda: {
            "kickoff": 0.05, "setup": 0.22, "go_live": 0.45, "adoption": 0.9, "review": 1.0,
        },
        description="share of the timeline at which each phase ends (kickoff, setup, go_live, adoption, "
        "review); a 90-day plan gets weeks 1, 1-3, 3-6, 6-12 and 12-13, as in the onboarding checklist",
    )
    check_in_days: int | None = Field(
        None, ge=1,
        description="days between status check-ins; empty = the first breakpoint of "
        "health.curves.days_since_last_touch (7 days), so contact recency keeps full points",
    )
    steering_days: dict[str, int] = Field(
        default_factory=lambda: {"enterprise": 30, "mid-market": 30},
        description="segment -> days between steering meetings with the executive sponsor; other segments "
        "meet the sponsor at kickoff and at the review only",
    )
    checkpoint_days: list[int] = Field(
        default_factory=lambda: [30], description="dated check-ins counted from kickoff (the 30-day check-in)"
    )
    activation_targets: list[tuple[float, float]] = Field(
        default_factory=lambda: [(0.6, 0.5), (0.9, 0.8)],
        description="[share of the timeline, share of users active by then]; 0.8 at the end matches the "
        "seat-utilisation level that earns full health points",
    )
    max_users_per_week: float = Field(
        50, gt=0, description="risk: more users per week of the timeline than this"
    )
    compressed_timeline_share: float = Field(
        0.75, gt=0, le=1, description="risk: a timeline shorter than this share of the segment's default"
    )
    max_focus_areas: int = Field(3, ge=1, description="risk (scope): more focus areas than this")
    default_focus: list[OnboardingFocus] = Field(
        default_factory=lambda: ["admin-setup", "training", "adoption"],
        description="focus areas of a plan when none are given",
    )
    holiday_periods: list[str] = Field(
        default_factory=lambda: ["12-22..01-02"],
        description="periods flagged as risky for kickoff and milestones: 'MM-DD..MM-DD' every year, or "
        "'YYYY-MM-DD..YYYY-MM-DD' / a single date once",
    )
    weekend_to_friday: bool = Field(
        True, description="a due date on a weekend moves to the Friday before (a kickoff on one: to Monday)"
    )
    late_after_days: int = Field(
        7, ge=0,
        description="a plan is late when a milestone is overdue by more than this, or go-live is overdue",
    )
    next_steps: int = Field(3, ge=1, le=10, description="open milestones listed as next steps")

    @model_validator(mode="after")
    def _consistent(self) -> OnboardingSettings:
        if tuple(self.phase_ends) != ONBOARDING_PHASES:
            names = ", ".join(ONBOARDING_PHASES)
            raise ValueError(f"onboarding.phase_ends needs the phases {names}, in order")
        ends = list(self.phase_ends.values())
        if not (0 < ends[0] and all(a < b for a, b in zip(ends, ends[1:], strict=False)) and ends[-1] == 1):
            raise ValueError("onboarding.phase_ends must increase from above 0 to exactly 1")
        users = [round(u * 100) for _, u in self.activation_targets]
        if any(not (0 < t <= 1 and 0 < u <= 1) for t, u in self.activation_targets) or len(set(users)) < len(users):
            raise ValueError(
                "onboarding.activation_targets are [timeline share, user share], each in (0, 1], one per user share"
            )
        bad = []
        for period in self.holiday_periods:
            try:
                parse_holiday_period(period)
            except ValueError:
                bad.append(period)
        if bad:
            raise ValueError(
                f"onboarding.holiday_periods {bad}: write 'MM-DD..MM-DD' or 'YYYY-MM-DD..YYYY-MM-DD'"
            )
        return self


class Targets(_Model):
    grr: float = Field(0.90, description="gross revenue retention target")
    nrr: float = Field(1.10, description="net revenue retention target")
    logo_retention: float = Field(0.90)
    expansion_rate: float = Field(0.15)
    green_accounts_share: float = Field(0.70)
    green_arr_share: float = Field(0.75)
    average_health: float = Field(75)


ProposalOption = Literal["renewal_only", "right_size", "renewal_expansion", "multi_year"]


class PlanningSettings(_Model):
    """renewal-strategy and account-review-prep: value look-backs, proposals, the QBR period and agenda."""

    value_lookback_days: list[int] = Field(
        default_factory=lambda: [180, 365],
        description="renewal-strategy's value delivered compares today's figures with these many days ago",
    )
    value_window_days: int = Field(
        365, ge=30, description="tickets resolved and the ARR history cover this many days back"
    )
    multi_year_years: int = Field(
        3, ge=2, le=5, description="term of the multi-year proposal (its discount: renewal.multi_year_discount_pct)"
    )
    lead_option: dict[str, ProposalOption] = Field(
        default_factory=lambda: {
            "high_confidence": "renewal_expansion", "likely": "multi_year",
            "at_risk": "renewal_only", "high_risk": "renewal_only",
        },
        description="renewal category -> the proposal to lead with; renewal_expansion with no expansion to "
        "offer falls back to multi_year",
    )
    whitespace_shown: int = Field(5, ge=0, le=20, description="whitespace products listed per account")
    right_size_below: float = Field(
        0.5, ge=0, le=1, description="seat utilization under which renewal-strategy offers a right-sized renewal "
        "(and leads with it when the renewal is at risk)"
    )
    right_size_target_utilization: float = Field(
        0.8, gt=0, le=1, description="a right-sized renewal keeps the seats the active users fill at this use"
    )
    right_size_min_arr_share: float = Field(
        0.75, ge=0, le=1, description="a right-sized renewal sized to the seats in use keeps at least this share "
        "of current ARR (a cut the customer asked for, an open CRM downgrade, is taken as it is)"
    )
    short_term_months: int = Field(
        6, ge=1, le=11, description="term of the shorter-term renewal offered, at the current price, when the "
        "renewal is marked lost in the CRM or notice is given"
    )
    review_days: int = Field(90, ge=7, le=366, description="account-review-prep's default period: the last N days")
    trend_months: int = Field(6, ge=2, le=24, description="months in account-review-prep's usage trend")
    usage_change_flag_pct: float = Field(
        10, ge=0, description="a change in active users at least this large (%) is called out in the QBR pack"
    )
    renewal_agenda_days: int = Field(
        180, ge=0, description="the QBR agenda gets a renewal item when the renewal is this close"
    )
    agenda_minutes: dict[str, int] = Field(
        default_factory=lambda: {
            "objectives": 5, "value": 15, "health": 10, "wins": 10, "support": 10, "adoption": 10,
            "renewal": 10, "expansion": 10, "next_steps": 5,
        },
        description="minutes of each QBR agenda item (items are picked by the account's situation)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> PlanningSettings:
        if not self.value_lookback_days or any(d <= 0 for d in self.value_lookback_days):
            raise ValueError("planning.value_lookback_days needs positive day counts, e.g. [180, 365]")
        categories = {"high_confidence", "likely", "at_risk", "high_risk"}
        if set(self.lead_option) != categories:
            raise ValueError(f"planning.lead_option needs exactly the categories {sorted(categories)}")
        items = {"objectives", "value", "health", "wins", "support", "adoption", "renewal", "expansion",
                 "next_steps"}
        if set(self.agenda_minutes) != items or any(m <= 0 for m in self.agenda_minutes.values()):
            raise ValueError(f"planning.agenda_minutes needs positive minutes for {sorted(items)}")
        return self


# ------------------------------------------------------------------------- server


WEBSITE_URL = "https://pypi.org/project/customer-success-mcp/"

ToolFamily = Literal[
    "accounts", "health", "churn", "renewal", "retention", "expansion", "nps", "segments",
    "engagement", "csm", "review", "escalation", "onboarding",
]


class ServerSettings(_Model):
    transport: Literal["stdio", "http"] = "stdio"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    path: str = "/mcp"
    token: str | None = Field(None, description="bearer token for HTTP (env CS_MCP_TOKEN)", repr=False)
    allowed_hosts: list[str] = Field(default_factory=list, description="extra Host values for HTTP")
    allowed_origins: list[str] = Field(default_factory=list, description="extra Origin values for HTTP")
    toolsets: list[ToolFamily | Literal["all", "default"]] | None = Field(
        None, description="enable only these toolsets (tool families); none: the default toolsets (every one)"
    )
    tools: list[str] | None = Field(None, description="enable these single tools (added to the toolsets)")
    exclude_tools: list[str] = Field(default_factory=list, description="leave out these tools")
    read_only: bool = Field(False, description="leave out every tool that writes")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "warning", description="stderr log level, and the level sent to clients that set none"
    )
    website_url: str = Field(WEBSITE_URL, description="the project page clients show for this server")
    max_text_chars: int = Field(20_000, ge=1_000, description="cap on a tool's text rendering")
    page_size: int = Field(25, ge=1, le=500, description="default rows per page of list tools")

    @field_validator("path")
    @classmethod
    def _slash(cls, v: str) -> str:
        return v if v.startswith("/") else "/" + v

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.lower() if isinstance(v, str) else v

    @model_validator(mode="before")
    @classmethod
    def _families_in_tools(cls, data: Any) -> Any:
        # `tools` used to name families: those names still work, as toolsets, with a warning (until 0.3).
        from cs_mcp.toolsets import TOOLSETS

        if not isinstance(data, dict) or not data.get("tools"):
            return data
        families = [t for t in data["tools"] if t in TOOLSETS]
        if not families:
            return data
        logging.getLogger("cs_mcp").warning(
            "tools: %s names a toolset; use toolsets (--toolsets %s). Toolset names in tools stop working "
            "in 0.3.", ", ".join(families), ",".join(families),
        )
        single = [t for t in data["tools"] if t not in TOOLSETS]
        return {**data, "toolsets": [*(data.get("toolsets") or []), *families], "tools": single or None}

    @model_validator(mode="after")
    def _known_tools(self) -> ServerSettings:
        from cs_mcp.toolsets import check_tool_names

        check_tool_names(self.tools or [])
        check_tool_names(self.exclude_tools, "tool to exclude")
        return self


class ExportSettings(_Model):
    keep: int = Field(20, ge=1, le=1000, description="exports a server keeps readable (cs://exports/...); older go")
    max_rows: int = Field(1_000_000, ge=1, description="most rows one export writes")
    preview_rows: int = Field(10, ge=1, le=50, description="rows an answer with an export shows (without limit)")
    dir: Path | None = Field(None, description="also write each export to this folder (env CS_MCP_EXPORT_DIR)")


class Settings(_Model):
    data: DataSettings = Field(default_factory=DataSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    churn: ChurnSettings = Field(default_factory=ChurnSettings)
    renewal: RenewalSettings = Field(default_factory=RenewalSettings)
    expansion: ExpansionSettings = Field(default_factory=ExpansionSettings)
    segments: SegmentSettings = Field(default_factory=SegmentSettings)
    engagement: EngagementSettings = Field(default_factory=EngagementSettings)
    csm: CsmSettings = Field(default_factory=CsmSettings)
    feedback: FeedbackSettings = Field(default_factory=FeedbackSettings)
    targets: Targets = Field(default_factory=Targets)
    onboarding: OnboardingSettings = Field(default_factory=OnboardingSettings)
    planning: PlanningSettings = Field(default_factory=PlanningSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    exports: ExportSettings = Field(default_factory=ExportSettings)

    def public_dict(self) -> dict[str, Any]:
        """The active configuration as served to clients (secrets left out)."""
        d = self.model_dump(mode="json")
        if d["server"].get("token"):
            d["server"]["token"] = "***"
        return d

    def lookup(self, dotted: str) -> Any:
        """Value at a dotted path, e.g. 'health.models.default.dimensions.usage.weight'."""
        node: Any = self.public_dict()
        for part in dotted.split("."):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise KeyError(f"no setting {dotted!r} (stopped at {part!r})")
        return node


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message says what to fix."""


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(loaded).__name__}")
    return loaded


def _yaml_to_settings_dict(raw: dict[str, Any]) -> dict[str, Any]:
    """`tables:` may sit at the top level of cs-mcp.yaml as a shorthand for `data.tables:`."""
    raw = dict(raw)
    if "tables" in raw:
        raw.setdefault("data", {})
        raw["data"] = {**raw["data"], "tables": raw.pop("tables")}
    return raw


def load_settings(
    data_path: Path | str | None = None,
    config_file: Path | str | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Defaults, then the YAML file (explicit, else `<data>/cs-mcp.yaml`), env, then overrides."""
    # Start from the defaults so a partial override (one weight, one tier) keeps its siblings.
    merged: dict[str, Any] = Settings().model_dump(mode="json")
    path = Path(data_path).expanduser() if data_path else None
    candidates = [Path(config_file).expanduser()] if config_file else []
    if not candidates and path is not None:
        candidates = [path / CONFIG_FILE_NAME]
    for candidate in candidates:
        if candidate.is_file():
            merged = _deep_merge(merged, _yaml_to_settings_dict(read_yaml(candidate)))
        elif config_file:
            raise ConfigError(f"config file {candidate} does not exist")
    if path is not None:
        merged = _deep_merge(merged, {"data": {"path": str(path)}})
    token = os.environ.get("CS_MCP_TOKEN")
    if token:
        merged = _deep_merge(merged, {"server": {"token": token}})
    export_dir = os.environ.get("CS_MCP_EXPORT_DIR", "").strip()
    if export_dir:
        merged = _deep_merge(merged, {"exports": {"dir": export_dir}})
    if overrides:
        merged = _deep_merge(merged, overrides)
    try:
        return Settings.model_validate(merged)
    except ValueError as exc:
        where = f" in {candidates[0]}" if candidates and candidates[0].is_file() else ""
        raise ConfigError(f"invalid configuration{where}:\n{exc}") from exc
