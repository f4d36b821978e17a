"""Training examples of the churn models: accounts as they stood at past cut-offs, and what happened next.

An example is (account, cut-off): the account was a customer at the cut-off, its features are computed as
of the cut-off by the same feature SQL as the health score (later rows are invisible), and it carries two
outcomes:
  next_renewal  lost after the cut-off and at or before its next renewal (the renewal date's anniversary
                after the cut-off) plus churn.renewal_grace_days; accounts with no renewal date or contract
                start use the horizon window instead. Known once that date has passed by the as-of date.
  horizon       churned within churn.horizon_days after the cut-off. Known once that window has passed.
An outcome not yet known by the as-of date leaves the example out of that label's training set (keeping
negatives whose window is still open would bias the probability down).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cs_mcp.domain.churn import leading_indicator_score
from cs_mcp.workspace.features import METRIC_COLUMNS

if TYPE_CHECKING:
    import numpy as np

    from cs_mcp.config import ChurnSettings
    from cs_mcp.workspace.features import FeatureFrame
    from cs_mcp.workspace.loader import Workspace

EPOCH = dt.date(1970, 1, 1)
YEAR_DAYS = 365.25
CATEGORICALS = ("segment", "plan", "industry", "region")
# Feature-SQL metrics left out of the model: is_active selects the examples; arr / seats / tenure / days to
# renewal are recomputed here as of each cut-off; the rest are redundant with changes or are sample sizes
# (last_touch_days is days_since_last_touch without its never-touched fallback, for display).
_NOT_MODEL_INPUTS = frozenset({
    "arr", "seats_purchased", "is_active", "tenure_days", "days_to_renewal", "active_users_prev", "arr_12m_ago",
    "outreach_n", "meetings_n", "support_csat_n", "csat_n", "last_touch_days",
})
HISTORY_METRICS = tuple(c for c in METRIC_COLUMNS if c not in _NOT_MODEL_INPUTS)
LABELS = ("next_renewal", "horizon")


def epoch_days(d: dt.date) -> int:
    return (d - EPOCH).days


def subset(cols: dict[str, Any], idx: Any) -> dict[str, Any]:
    return {k: v[idx] for k, v in cols.items()}


# ------------------------------------------------------------------------------------ account facts


def facts_now(ws: Workspace) -> dict[str, Any]:
    from cs_mcp.workspace.cache import cached
    from cs_mcp.workspace.queries.churn import account_facts

    return cached(ws, ("churn-facts", ws.as_of), lambda: account_facts(ws, [ws.as_of], None))


def facts_of(ws: Workspace, rows: Any, ids: Any) -> dict[str, Any]:
    """`facts_now` of the accounts `ids` at portfolio-snapshot `rows`: a slice of it when it is in memory, else
    a query of just those accounts (after a restart, explaining a page does not read every account's facts)."""
    import numpy as np

    from cs_mcp.workspace.cache import in_memory
    from cs_mcp.workspace.queries.churn import account_facts

    if in_memory(ws, ("churn-facts", ws.as_of)):
        return subset(facts_now(ws), rows)  # aligned with the snapshot (checked when the portfolio is scored)
    facts = account_facts(ws, [ws.as_of], [str(a) for a in ids])
    where = {a: k for k, a in enumerate(facts["account_id"])}
    return subset(facts, np.array([where[a] for a in ids], dtype=np.int64))


def start_days(facts: dict[str, Any]) -> np.ndarray:
    """When each account became a customer: its first subscription, else contract_start."""
    import numpy as np

    return np.where(np.isnan(facts["first_start_d"]), facts["contract_start_d"], facts["first_start_d"])


def active_at(facts: dict[str, Any], day: np.ndarray | float) -> np.ndarray:
    """Customer at `day`: started by then and not churned by then (a churn after `day` was still ahead)."""
    import numpy as np

    start = start_days(facts)
    churned = facts["churned_d"]
    status_churned = facts["status"] == "churned"
    with np.errstate(invalid="ignore"):
        started = np.isnan(start) | (start <= day)
        not_gone = np.where(np.isnan(churned), ~status_churned, churned > day)
    return started & not_gone


def renewal_anchor(facts: dict[str, Any]) -> np.ndarray:
    """A date (epoch days) on the account's renewal cycle: renewal_date, else contract_start (NaN if neither)."""
    import numpy as np

    return np.where(np.isnan(facts["renewal_d"]), facts["contract_start_d"], facts["renewal_d"])


def days_to_next_renewal(anchor: np.ndarray, day: np.ndarray | float) -> np.ndarray:
    """Days from `day` to the anchor's next anniversary after it (an anniversary on the day is a year out)."""
    import numpy as np

    with np.errstate(invalid="ignore"):
        ahead = np.ceil(np.mod(anchor - day, YEAR_DAYS))
    return np.where(ahead == 0, np.ceil(YEAR_DAYS), ahead)


# ----------------------------------------------------------------------------------------- outcomes


@dataclass
class Outcomes:
    """Both outcomes of examples at `day` (arrays broadcast together)."""

    next_renewal: np.ndarray
    next_renewal_known: np.ndarray
    renewal_unknown: np.ndarray
    """no renewal date known: the next_renewal outcome used the horizon window"""
    horizon: np.ndarray
    horizon_known: np.ndarray

    def of(self, label: str) -> tuple[np.ndarray, np.ndarray]:
        """(outcome, known) of one label."""
        if label == "next_renewal":
            return self.next_renewal, self.next_renewal_known
        return self.horizon, self.horizon_known


def outcomes(churned: Any, anchor: Any, day: Any, c: ChurnSettings, as_of_d: float) -> Outcomes:
    import numpy as np

    churned, anchor, day = np.broadcast_arrays(churned, anchor, day)
    horizon_end = day + c.horizon_days
    unknown = np.isnan(anchor)
    renewal_end = np.where(unknown, horizon_end, day + days_to_next_renewal(anchor, day) + c.renewal_grace_days)
    with np.errstate(invalid="ignore"):
        lost = (churned > day) & (churned <= renewal_end)
        gone = (churned > day) & (churned <= horizon_end)
    return Outcomes(lost.astype(int), renewal_end <= as_of_d, unknown, gone.astype(int), horizon_end <= as_of_d)


def example_outcomes(ws: Workspace, facts: dict[str, Any]) -> Outcomes:
    """Outcomes of the examples of `examples_as_of(...).facts`."""
    return outcomes(facts["churned_d"], renewal_anchor(facts), facts["as_of_d"], ws.settings.churn,
                    float(epoch_days(ws.as_of)))


def label_words(label: str, horizon_days: int) -> str:
    if label == "next_renewal":
        return "lost at or before the next renewal"
    if label == "horizon":
        return f"churn within {horizon_days} days"
    return "resemblance to past churners"


# ------------------------------------------------------------------------------------ model inputs


def raw_columns(
    frame: FeatureFrame, facts: dict[str, Any], health: Any, mode: str, use_subscriptions: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(numeric, categorical) model inputs for each row of `frame`, all as of the row's date."""
    import numpy as np

    day = facts["as_of_d"]
    numeric: dict[str, Any] = {}
    arr, seats = facts["account_arr"], facts["account_seats"]
    if use_subscriptions:
        # ARR and seats as of the row's date come from the subscriptions running then; the accounts table
        # holds today's values, which for a churned account may already reflect the churn.
        arr = np.where(np.isnan(facts["sub_arr"]), arr, facts["sub_arr"])
        seats = np.where(np.isnan(facts["sub_seats"]), seats, facts["sub_seats"])
    numeric["arr"], numeric["seats"], numeric["employees"] = arr, seats, facts["employees"]
    with np.errstate(invalid="ignore"):
        numeric["tenure_days"] = day - start_days(facts)
    if mode == "history":
        # the renewal due as of the row's date, not the renewal_date stored today (renewed accounts moved on)
        numeric["days_to_renewal"] = days_to_next_renewal(renewal_anchor(facts), day)
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
            (categorical if v.dtype.kind == "O" else numeric)[k[3:]] = v
    return numeric, categorical


def indicator_columns(frame: FeatureFrame, health: Any) -> dict[str, Any]:
    import numpy as np

    cols = {m: np.asarray(frame[m], dtype=float) for m in METRIC_COLUMNS}
    for m, off in getattr(health, "not_expected", {}).items():  # e.g. no CSM touch of a tech-touch account
        cols[m] = np.where(off, np.nan, cols[m])
    cols["health_score"] = np.asarray(health.score, dtype=float)
    cols["health_red"] = np.where(np.isnan(health.score), np.nan, (health.bands() == "red").astype(float))
    return cols


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
    from cs_mcp.workspace.queries.churn import account_facts

    frame = compute_features(ws, dates, account_ids)
    facts = account_facts(ws, dates, account_ids)
    if not np.array_equal(frame["account_id"], facts["account_id"]):
        raise RuntimeError("feature rows and account facts are not aligned")
    keep = active_at(facts, facts["as_of_d"])
    frame = frame.select(keep)
    facts = subset(facts, keep)
    health = score_frame(frame.columns, ws.settings.health)
    numeric, categorical = raw_columns(frame, facts, health, "history", "subscriptions" in ws.tables)
    return Examples(frame, facts, health, numeric, categorical)


# ----------------------------------------------------------------------------------- training sets


@dataclass
class LabelSet:
    """The examples whose outcome under one label is known, with that outcome."""

    label: str
    rows: np.ndarray
    y: np.ndarray
    renewal_unknown_accounts: int | None
    dropped_unobserved: int


@dataclass
class TrainingSet:
    mode: str
    numeric: dict[str, Any]
    categorical: dict[str, Any]
    groups: np.ndarray
    status_active: np.ndarray
    indicator_score: np.ndarray | None
    cutoffs: list[dt.date]
    sampled: str | None
    use_subscriptions: bool
    labels: dict[str, LabelSet]
    not_enough: dict[str, str]


def cutoffs(ws: Workspace) -> list[dt.date]:
    """Past dates to learn at: every cutoff_spacing_days back from the as-of date, while history reaches."""
    from cs_mcp.workspace.queries.churn import first_activity_date

    c = ws.settings.churn
    first = first_activity_date(ws)
    earliest = None if first is None else first + dt.timedelta(days=c.warmup_days)
    dates = [ws.as_of - dt.timedelta(days=c.cutoff_spacing_days * (k + 1)) for k in range(c.cutoffs)]
    return [d for d in dates if earliest is None or d >= earliest]


def training_set(ws: Workspace) -> tuple[TrainingSet | None, str]:
    """Examples to learn from (history mode, else a snapshot of a flat export), or None and why not."""
    ts, why = _history_set(ws)
    if ts is not None:
        return ts, ""
    snap, why_snap = _snapshot_set(ws)
    return (snap, "") if snap is not None else (None, f"{why}, and {why_snap}")


def _grid(ws: Workspace, now: dict[str, Any], cut: list[dt.date]) -> tuple[np.ndarray, Outcomes]:
    """(customer at each cut-off, outcomes) as accounts x cut-offs matrices."""
    import numpy as np

    cut_d = np.array([epoch_days(d) for d in cut], dtype=float)
    n = len(now["status"])
    active = np.stack([active_at(now, d) for d in cut_d], axis=1) if len(cut_d) else np.zeros((n, 0), bool)
    grid = outcomes(now["churned_d"][:, None], renewal_anchor(now)[:, None], cut_d[None, :], ws.settings.churn,
                    float(epoch_days(ws.as_of)))
    return active, grid


def _history_set(ws: Workspace) -> tuple[TrainingSet | None, str]:
    import numpy as np

    c = ws.settings.churn
    now = facts_now(ws)
    ids = now["account_id"]
    cut = cutoffs(ws)
    active, grid = _grid(ws, now, cut)
    enough: dict[str, bool] = {}
    why: dict[str, str] = {}
    for label in LABELS:
        y, known = grid.of(label)
        usable = active & known
        pos, n = int((usable & (y == 1)).sum()), int(usable.sum())
        enough[label] = pos >= c.min_outcomes and n - pos >= c.min_outcomes
        if not enough[label]:
            why[label] = (f"{pos} training example(s) {label_words(label, c.horizon_days)} at one of the "
                          f"{len(cut)} cut-offs; at least {c.min_outcomes} are needed (churn.min_outcomes)")
    if not any(enough.values()):
        dated = int((~np.isnan(now["churned_d"])).sum())
        return None, (why[c.rank_by] if dated else "no churn dates (churned_on)")
    usable_any = active & (grid.next_renewal_known | grid.horizon_known)
    keep_cut = usable_any.any(axis=0)
    cut = [d for d, k in zip(cut, keep_cut, strict=True) if k]
    candidates = ids[usable_any.any(axis=1)]
    examples = int(usable_any.sum())
    account_ids, sampled = None, None
    if examples > c.max_training_examples:
        ever = (usable_any & ((grid.next_renewal == 1) | (grid.horizon == 1))).any(axis=1)[usable_any.any(axis=1)]
        frac = c.max_training_examples / examples
        account_ids = list(_sample_accounts(candidates, ever, frac, c.random_state))
        sampled = (f"{len(account_ids):,} of {len(candidates):,} accounts sampled at random, stratified by "
                   f"outcome (fraction {frac:.3f}), to keep the fit fast; the base rate is unchanged")
    ex = examples_as_of(ws, cut, account_ids)
    got = example_outcomes(ws, ex.facts)
    labels = {label: _label_set(label, got, ex.facts) for label in LABELS if enough[label]}
    any_known = got.next_renewal_known | got.horizon_known
    rows = np.flatnonzero(any_known)
    for ls in labels.values():
        ls.rows = np.searchsorted(rows, ls.rows)
    score, _ = leading_indicator_score(indicator_columns(ex.frame, ex.health), c)
    return TrainingSet(
        "history", subset(ex.numeric, rows), subset(ex.categorical, rows), ex.facts["account_id"][rows],
        np.ones(len(rows), dtype=bool), score[rows], cut, sampled, "subscriptions" in ws.tables, labels,
        {k: v for k, v in why.items() if k not in labels},
    ), ""


def _label_set(label: str, got: Outcomes, facts: dict[str, Any]) -> LabelSet:
    import numpy as np

    y, known = got.of(label)
    rows = np.flatnonzero(known)
    unknown_accounts = None
    if label == "next_renewal":
        unknown_accounts = len(np.unique(facts["account_id"][rows][got.renewal_unknown[rows]]))
    return LabelSet(label, rows, y[rows], unknown_accounts, int((~known).sum()))


def _snapshot_set(ws: Workspace) -> tuple[TrainingSet | None, str]:
    """A flat export (churn status, no dates): one example per account, account attributes only."""
    import numpy as np

    from cs_mcp.domain.portfolio import portfolio_snapshot

    c = ws.settings.churn
    now = facts_now(ws)
    status = now["status"]
    n_churned, n_active = int((status == "churned").sum()), int((status != "churned").sum())
    if n_churned < c.min_outcomes or n_active < c.min_outcomes:
        return None, (f"{n_churned} account(s) have status churned; at least {c.min_outcomes} are needed "
                      "(churn.min_outcomes)")
    frame, facts, ids = portfolio_snapshot(ws).frame, now, now["account_id"]
    if not np.array_equal(frame["account_id"], ids):
        raise RuntimeError("feature rows and account facts are not aligned")
    sampled = None
    if len(ids) > c.max_training_examples:
        chosen = set(_sample_accounts(ids, status == "churned", c.max_training_examples / len(ids), c.random_state))
        keep = np.array([a in chosen for a in ids])
        frame, facts = frame.select(keep), subset(facts, keep)
        sampled = f"{int(keep.sum()):,} of {len(ids):,} accounts sampled at random, stratified by status"
    # only attributes that do not move after a churn (event metrics of a churned account describe the time after)
    numeric, categorical = raw_columns(frame, facts, None, "snapshot", False)
    y = (facts["status"] == "churned").astype(int)
    labels = {"snapshot": LabelSet("snapshot", np.arange(len(y)), y, None, 0)}
    return TrainingSet("snapshot", numeric, categorical, facts["account_id"], facts["status"] != "churned", None,
                       [ws.as_of], sampled, False, labels, {}), ""


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
