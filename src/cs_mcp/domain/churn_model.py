"""The churn models in force and the scores of the current portfolio (`churn_scores`), cached per workspace.

Modes, chosen from the data:
  history   churned accounts carry churned_on: two models are learned from past cut-offs
            (cs_mcp.domain.churn_training): P(lost at or before the next renewal) and P(churn within
            horizon_days). churn.rank_by says which ranks (default next_renewal); both are shown.
  snapshot  outcomes without dates (a flat export): one model of resemblance to past churners; active
            accounts get out-of-fold probabilities.
  none      too few outcomes: the leading-indicator score ranks instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cs_mcp.domain.churn import indicator_drivers, leading_indicator_score
from cs_mcp.domain.churn_card import ChurnModelCard, Method
from cs_mcp.domain.churn_drivers import Explanation, Population
from cs_mcp.domain.churn_fit import FittedModel, LabelModel, data_used, fit_models, import_sklearn, one_blas_thread
from cs_mcp.domain.churn_training import (
    active_at,
    epoch_days,
    examples_as_of,  # noqa: F401  (part of this module's interface)
    facts_now,
    facts_of,
    indicator_columns,
    raw_columns,
    subset,
    training_set,
)
from cs_mcp.domain.portfolio import portfolio_snapshot
from cs_mcp.workspace.cache import cached

if TYPE_CHECKING:
    import numpy as np

    from cs_mcp.workspace.features import FeatureFrame
    from cs_mcp.workspace.loader import Workspace

log = logging.getLogger("cs_mcp.churn")
Progress = Callable[[float, str], None]

FORMAT_VERSION = 2
DISK_CACHE_KEEP = 20
"""Fitted models kept on disk; older ones are deleted."""


def fit_model(ws: Workspace, progress: Progress | None = None,
              data_read: threading.Event | None = None) -> tuple[FittedModel | None, str]:
    """Learn the churn models from the workspace's outcomes; (None, why) when there are too few. `data_read`
    is set once the training set is read: what is left is computing in this process."""
    with one_blas_thread():
        return _fit_model(ws, progress, data_read)


def _fit_model(ws: Workspace, progress: Progress | None,
               data_read: threading.Event | None) -> tuple[FittedModel | None, str]:
    report = progress or (lambda f, m: None)
    t0 = time.perf_counter()
    report(0.05, "churn model: computing training features as of past cut-offs")
    ts, why = training_set(ws)
    if data_read is not None:
        data_read.set()
    if ts is None:
        return None, why
    sizes = ", ".join(f"{name} on {len(ls.y):,} examples" for name, ls in ts.labels.items())
    report(0.25, f"churn model: cross-validating the candidates ({sizes})")
    return fit_models(ws, ts, t0), ""


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
    from cs_mcp.domain import churn_fit, churn_training, scoring
    from cs_mcp.workspace import features

    h = hashlib.sha256()
    for module_file in (__file__, features.__file__, scoring.__file__, churn_fit.__file__, churn_training.__file__):
        h.update(Path(module_file).read_bytes())
    return h.hexdigest()[:16]


def fitted_model(ws: Workspace, progress: Progress | None = None,
                 data_read: threading.Event | None = None) -> tuple[FittedModel | None, str]:
    """The workspace's churn model, fitted once per data version (memory, then disk cache); `data_read` as
    fit_model's, when this call fits."""
    key = ("churn-model", ws.settings.churn.model_dump_json(), ws.settings.health.model_dump_json())

    def compute() -> tuple[FittedModel | None, str]:
        from cs_mcp.workspace import model_store

        path = _cache_file(ws)
        model = model_store.load(path, FittedModel)
        if model is not None:
            return model, ""
        model, why = fit_model(ws, progress, data_read)
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
    """NaN when never touched (or without touchpoints)"""
    touchpoints: bool
    health_score: np.ndarray
    health_band: np.ndarray
    segments: list[str]
    csms: list[str]


@dataclass
class ChurnScores:
    """The models' churn probabilities of every active account as of ws.as_of, and the means to explain them.

    `probability[i]` (the ranking probability, churn.rank_by) and `probability_90d[i]` belong to
    `account_ids[i]`; `method` says whether learned models or the leading-indicator score produced them.
    These are the models' figures before CRM evidence: the renewal book (cs_mcp.domain.renewal) applies won
    and lost renewals on top, and every tool reads the book.
    """

    as_of: dt.date
    method: Method
    ranks_by: str | None
    account_ids: np.ndarray
    probability: np.ndarray
    probability_90d: np.ndarray
    indicator_score: np.ndarray
    card: ChurnModelCard
    short_card: ChurnModelCard | None
    not_fitted: dict[str, str]
    view: ScoringView
    note: str | None
    rows: np.ndarray
    """row of the portfolio snapshot of each scored account"""
    population: Population | None
    """what the ranking model's explanations compare with (None: leading-indicator scores)"""
    position: dict[str, int] = field(default_factory=dict)
    _explained: dict[str, Explanation] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _explain: Callable[[np.ndarray], list[Explanation]] | None = field(default=None, repr=False)
    """bound to a workspace by `bind` (not kept on disk: it rebuilds the inputs of the accounts it explains)"""

    def __getstate__(self) -> dict[str, Any]:
        # ids and names are the portfolio snapshot's (its own memo): `bind` takes them from there again
        # explanations are rebuilt on demand (and may be added by another thread while this is pickled)
        view = dataclasses.replace(self.view, name=None)
        return {**self.__dict__, "_explain": None, "_explained": {}, "account_ids": None, "position": None,
                "view": view}

    def bind(self, ws: Workspace) -> ChurnScores:
        """Attach the explainer of this workspace's accounts (once; also after the scores come off disk, when
        the account ids and names are taken from the portfolio snapshot again)."""
        if self._explain is None:
            with self._lock:
                if self._explain is None:
                    if self.account_ids is None:
                        frame = portfolio_snapshot(ws).frame
                        self.account_ids = frame["account_id"][self.rows]
                        self.view.name = frame["name"][self.rows]
                        self.position = dict(zip(self.account_ids.tolist(), range(len(self.rows)), strict=True))
                    self._explain = _explainer_of(ws, self)
        return self

    def probability_of(self, account_id: str) -> float | None:
        i = self.position.get(account_id)
        return None if i is None else float(self.probability[i])

    def explanations(self, account_ids: Sequence[str]) -> dict[str, Explanation]:
        """Drivers and context of each given (active) account; computed on demand, then remembered."""
        import numpy as np

        missing = [a for a in dict.fromkeys(account_ids) if a not in self._explained and a in self.position]
        if missing:
            if self._explain is None:
                raise RuntimeError("churn scores used before bind(ws)")
            explained = self._explain(np.array([self.position[a] for a in missing], dtype=int))
            with self._lock:
                self._explained.update(zip(missing, explained, strict=True))
        return {a: self._explained[a] for a in account_ids if a in self._explained}

    def drivers(self, account_ids: Sequence[str], k: int = 3) -> dict[str, list[Any]]:
        return {a: e.drivers[:k] for a, e in self.explanations(account_ids).items()}


def churn_scores(ws: Workspace, progress: Progress | None = None) -> ChurnScores:
    """Churn probabilities of the active accounts as of ws.as_of (models, else leading indicators), cached."""
    key = ("churn-scores", ws.settings.churn.model_dump_json(), ws.settings.health.model_dump_json())
    return cached(ws, key, lambda: _score(ws, progress)).bind(ws)


def _score(ws: Workspace, progress: Progress | None) -> ChurnScores:
    import_in_background()
    return _score_portfolio(ws, progress)


def import_in_background() -> None:
    """Start importing scikit-learn (most of a second) on a thread. The first churn answer needs it, to fit a
    model or to read one off disk, and DuckDB's work (a load, the features) leaves the interpreter free."""
    threading.Thread(target=_quiet_import, name="churn-import", daemon=True).start()


def _quiet_import() -> None:
    try:
        import_sklearn()
    except Exception:  # at interpreter shutdown the import may fail; the fit imports again when it needs to
        log.debug("background import of scikit-learn failed", exc_info=True)


def active_rows(ws: Workspace) -> np.ndarray:
    """Rows of the portfolio snapshot that are customers as of ws.as_of (a later churn is still ahead)."""
    import numpy as np

    facts = facts_now(ws)
    frame = portfolio_snapshot(ws).frame
    if not np.array_equal(frame["account_id"], facts["account_id"]):
        raise RuntimeError("feature rows and account facts are not aligned")
    return np.flatnonzero(active_at(facts, float(epoch_days(ws.as_of))))


def _score_portfolio(ws: Workspace, progress: Progress | None) -> ChurnScores:
    import numpy as np

    c = ws.settings.churn
    fitted_later = _fit_alongside(ws, progress)
    snap = portfolio_snapshot(ws)
    rows = active_rows(ws)
    ind_score, _ = leading_indicator_score(subset(indicator_columns(snap.frame, snap.health), rows), c)
    fitted, why = fitted_later()
    view = _view(snap.frame, snap.health, rows, "touchpoints" in ws.tables)
    ids = np.asarray(snap.frame["account_id"][rows], dtype=object)
    position = {a: i for i, a in enumerate(ids)}
    nan = np.full(len(rows), np.nan)
    if fitted is None:
        card = _fallback_card(ws, why)
        return ChurnScores(ws.as_of, "leading-indicator", None, ids, np.clip(ind_score / 100.0, 0, 1), nan,
                           ind_score, card, None, {}, view, card.caveat, rows, None, position)
    numeric, categorical = _model_inputs(ws, fitted, rows)
    ranking = _ranking_label(fitted, c.rank_by)
    ranked = fitted.models[ranking]
    short = fitted.models.get("horizon") if ranking != "horizon" else None
    p, *rest = _predict([ranked, *([short] if short else [])], numeric, categorical)
    if fitted.mode == "snapshot":
        oof = np.array([ranked.oof_probability.get(a, np.nan) for a in ids], dtype=float)
        p = np.where(np.isnan(oof), p, oof)
    p90 = p if ranking == "horizon" else (rest[0] if short else nan)
    from cs_mcp.domain.churn_drivers import population

    return ChurnScores(
        ws.as_of, "model", ranking, ids, np.clip(p, 0, 1), np.clip(p90, 0, 1), ind_score, ranked.card,
        None if short is None else short.card, fitted.not_fitted, view, _note(fitted, ranking, c.rank_by), rows,
        population(ranked, numeric, categorical, p), position,
    )


SIDE_BY_SIDE_MAX_ACCOUNTS = 250_000
"""Up to this many accounts the churn model is fitted while today's snapshot is computed. Above it they run one
after the other: side by side, the fit's memory (its training set, released to the allocator but kept by the
process) and the snapshot's add up, 0.5 GB more at a million accounts to save 2 s of 45."""


def _accounts(ws: Workspace) -> int:
    return sum(t.rows_loaded for t in ws.quality.tables if t.table == "accounts")


def _fit_alongside(ws: Workspace, progress: Progress | None) -> Callable[[], tuple[FittedModel | None, str]]:
    """Start `fitted_model` on its own thread, return once it has read its training set from the engine; the
    returned call waits for the model.

    The fitting that follows holds the interpreter on one core (tree growing) and little memory, while today's
    snapshot, computed meanwhile, runs its feature query inside DuckDB, which lets go of the interpreter: a
    cold first answer takes the longer of the two instead of their sum. The engine's work is not overlapped:
    two large queries at once (a training set and the snapshot) would hold both results in memory together,
    1 GB more at a million accounts. Above SIDE_BY_SIDE_MAX_ACCOUNTS the fit waits for the snapshot."""
    import contextvars
    from concurrent.futures import ThreadPoolExecutor

    if _accounts(ws) > SIDE_BY_SIDE_MAX_ACCOUNTS:
        return lambda: fitted_model(ws, progress)

    data_read = threading.Event()

    def fit() -> tuple[FittedModel | None, str]:
        try:
            return fitted_model(ws, progress, data_read)
        finally:
            data_read.set()  # read from memory or disk, or failed: nothing to wait for

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="churn-model")
    future = pool.submit(contextvars.copy_context().run, fit)  # the request's log too
    pool.shutdown(wait=False)
    data_read.wait()
    return future.result


PREDICT_CHUNK = 100_000
"""Rows per design matrix when scoring the portfolio: a million accounts never sit in one matrix."""


def _predict(models: list[LabelModel], numeric: dict[str, Any], categorical: dict[str, Any]) -> list[np.ndarray]:
    """Calibrated probabilities of every row under each model, a chunk of rows at a time; models with the same
    inputs (the usual case for the two labels) share each chunk's design matrix."""
    import numpy as np

    n = len(next(iter(numeric.values()))) if numeric else len(next(iter(categorical.values())))
    parts: list[list[np.ndarray]] = [[] for _ in models]
    for i in range(0, n, PREDICT_CHUNK):
        num = {k: v[i:i + PREDICT_CHUNK] for k, v in numeric.items()}
        cat = {k: v[i:i + PREDICT_CHUNK] for k, v in categorical.items()}
        built: dict[tuple[str, ...], np.ndarray] = {}
        for m, out in zip(models, parts, strict=True):
            columns = tuple(m.spec.columns)
            if columns not in built:
                built[columns] = m.spec.build(num, cat)
            out.append(m.probability(built[columns]))
    return [np.concatenate(out) if out else np.zeros(0) for out in parts]


def _model_inputs(ws: Workspace, fitted: FittedModel, rows: np.ndarray) -> tuple[dict[str, Any], dict[str, Any]]:
    """(numeric, categorical) model inputs of the given snapshot rows, as of ws.as_of."""
    snap = portfolio_snapshot(ws)
    frame = snap.frame.select(rows)
    return raw_columns(frame, facts_of(ws, rows, frame["account_id"]), _HealthSubset(snap.health, rows),
                       fitted.mode, fitted.use_subscriptions)


def _explainer_of(ws: Workspace, scores: ChurnScores) -> Callable[[np.ndarray], list[Explanation]]:
    """Explanations of scored accounts (by index into scores.account_ids), their inputs rebuilt on demand."""
    snap = portfolio_snapshot(ws)
    if scores.population is None:
        return _indicator_explainer(ws, scores)
    fitted, _ = fitted_model(ws)
    if fitted is None or scores.ranks_by not in fitted.models:
        raise RuntimeError("the churn model that produced these scores is gone")
    model = fitted.models[scores.ranks_by]
    c = ws.settings.churn

    def explain(idx: np.ndarray) -> list[Explanation]:
        import numpy as np

        from cs_mcp.domain.churn_drivers import Scored, explainer

        rows = scores.rows[idx]
        numeric, categorical = _model_inputs(ws, fitted, rows)
        X, raw, _ = model.predict(numeric, categorical)
        scored = Scored(model, X, raw, scores.probability[idx], numeric, categorical,
                        lambda j: snap.frame.row(int(rows[j])),
                        _Before(ws, scores.account_ids[idx], snap.health.score[rows]),
                        _health_inputs(snap, rows), c.driver_change_days)
        return explainer(scored, scores.population)(np.arange(len(idx)))

    return explain


def _indicator_explainer(ws: Workspace, scores: ChurnScores) -> Callable[[np.ndarray], list[Explanation]]:
    """Leading-indicator scores: the indicators that fired, else the strongest health inputs."""
    c = ws.settings.churn
    snap = portfolio_snapshot(ws)

    def explain(idx: np.ndarray) -> list[Explanation]:
        rows = scores.rows[idx]
        cols = subset(indicator_columns(snap.frame, snap.health), rows)
        _, hits = leading_indicator_score(cols, c)
        inputs = _health_inputs(snap, rows)
        return [Explanation(drivers=indicator_drivers(cols, j, hits[j], c)
                            or _health_drivers(inputs, snap.frame.row(int(rows[j])), j), context=[])
                for j in range(len(idx))]

    return explain


def _ranking_label(fitted: FittedModel, wanted: str) -> str:
    if fitted.mode == "snapshot":
        return "snapshot"
    return wanted if wanted in fitted.models else next(iter(fitted.models))


def _note(fitted: FittedModel, ranking: str, wanted: str) -> str | None:
    if fitted.mode == "snapshot":
        return "Snapshot model (no churn dates in the data): see the model card's caveat."
    if ranking != wanted:
        return (f"Ranked by {ranking.replace('_', ' ')} probability: the {wanted.replace('_', ' ')} model could "
                f"not be fitted ({fitted.not_fitted.get(wanted, 'too few outcomes')}).")
    return None


class _HealthSubset:
    """The rows of a ScoredFrame, with the attributes raw_columns reads."""

    def __init__(self, health: Any, rows: np.ndarray):
        self.score = health.score[rows]
        self.dimension_scores = {d: s[rows] for d, s in health.dimension_scores.items()}


class _Before:
    """Feature values of scored accounts churn.driver_change_days before as_of, fetched for the ids explained;
    the health score's from the look-back health-score's trend is read from (health.deciding_change), so the
    driver and the trend agree. An account that was not a customer on a day has nothing to compare with."""

    def __init__(self, ws: Workspace, ids: np.ndarray, health_now: np.ndarray):
        self.ws, self.ids, self.health_now = ws, ids, health_now
        self.values: dict[str, dict[str, float]] = {}
        self.health: dict[str, tuple[int, float]] = {}
        """account id -> (days, health score then) of its trend's deciding look-back"""

    def prefetch(self, idx: np.ndarray) -> None:
        from cs_mcp.domain.health import trend_change, trend_days

        wanted = {str(self.ids[i]): int(i) for i in idx if str(self.ids[i]) not in self.values}
        if not wanted:
            return
        change, trend = self.ws.settings.churn.driver_change_days, trend_days(self.ws.settings)
        at = self._at(sorted({change, *trend}), list(wanted))
        for aid, i in wanted.items():
            self.values[aid] = at.get((aid, change), {})
            then = {d: at[(aid, d)]["health_score"] for d in trend if (aid, d) in at}
            moved = trend_change(self.ws.settings, float(self.health_now[i]), then, self.ws.as_of)
            if moved is not None:
                self.health[aid] = moved

    def _at(self, days_ago: list[int], ids: list[str]) -> dict[tuple[str, int], dict[str, float]]:
        """(account id, days ago) -> its numeric features and health scores then, for the days it was a customer"""
        from cs_mcp.domain.scoring import score_frame
        from cs_mcp.workspace.features import compute_features

        frame = compute_features(self.ws, [self.ws.as_of - dt.timedelta(days=d) for d in days_ago], ids)
        health = score_frame(frame.columns, self.ws.settings.health)
        numeric = {k: v for k, v in frame.columns.items() if getattr(v, "dtype", None) is not None
                   and v.dtype.kind == "f"}
        numeric["health_score"] = health.score
        numeric.update({f"health_{d}": s for d, s in health.dimension_scores.items()})
        active = frame["is_active"]
        return {(str(aid), (self.ws.as_of - day).days): {k: float(v[r]) for k, v in numeric.items()}
                for r, (aid, day) in enumerate(zip(frame["account_id"], frame["as_of"], strict=True))
                if active[r] == 1}

    def __call__(self, feature: str, i: int) -> float:
        aid = str(self.ids[i])
        if feature == "health_score":
            return self.health.get(aid, (0, float("nan")))[1]
        return self.values.get(aid, {}).get(feature, float("nan"))

    def days(self, feature: str, i: int) -> int:
        """the look-back the change of feature is read over"""
        if feature == "health_score" and str(self.ids[i]) in self.health:
            return self.health[str(self.ids[i])][0]
        return self.ws.settings.churn.driver_change_days


def _health_inputs(snap: Any, rows: np.ndarray) -> Callable[..., list[tuple[str, Any]]]:
    """(i, risky, dimension=None) -> the account's health inputs as (metric, value), weakest first when risky.

    Ranked by the points each input scored; the value is the account's own (what health-score shows), not the
    one scored, which damps a rate from few answers toward its prior (NPS +67 from 3 respondents scores as
    +29, but the customer's NPS is +67)."""
    import numpy as np

    health, columns = snap.health, snap.frame.columns
    fractions = {m: f[rows] for m, f in health.metric_fractions.items()}
    values = {m: (columns[m] if m in columns else health.scored_values[m])[rows] for m in fractions}
    of_dimension = {d: set(dim.metrics) for d, dim in health.model.dimensions.items()}

    def inputs(i: int, risky: bool, dimension: str | None = None) -> list[tuple[str, Any]]:
        wanted = of_dimension.get(dimension, set(fractions)) if dimension else set(fractions)
        have = [(float(f[i]), m) for m, f in fractions.items() if m in wanted and not np.isnan(f[i])]
        have.sort(key=lambda t: t[0] if risky else -t[0])
        return [(m, float(values[m][i])) for _, m in have]

    return inputs


def _health_drivers(inputs: Callable[[int, bool], list[tuple[str, Any]]], row: dict[str, Any], i: int) -> list[Any]:
    """No indicator fired: the account's strongest health inputs say why it is not at risk."""
    from cs_mcp.domain.churn import Driver
    from cs_mcp.domain.metrics import describe, family_of

    return [Driver(feature=m, text=describe(m, v, row), family=family_of(m), direction="lowers risk", impact=0.0)
            for m, v in inputs(i, False)[:2]]


def _view(frame: FeatureFrame, health: Any, rows: np.ndarray, touchpoints: bool) -> ScoringView:
    import numpy as np

    from cs_mcp.domain.columns import lowered

    seg = frame["segment"][rows]
    csm = frame["csm_id"][rows]
    return ScoringView(
        name=frame["name"][rows],
        segment=seg,
        csm_id=csm,
        segment_lower=lowered(seg, ""),
        csm_lower=lowered(csm, ""),
        arr=np.asarray(frame["arr"][rows], dtype=float),
        days_to_renewal=np.asarray(frame["days_to_renewal"][rows], dtype=float),
        days_since_last_touch=np.asarray(frame["last_touch_days"][rows], dtype=float),
        touchpoints=touchpoints,
        health_score=np.asarray(health.score[rows], dtype=float),
        health_band=health.bands()[rows],
        segments=sorted({str(s) for s in seg if s is not None}),
        csms=sorted({str(s) for s in csm if s is not None}),
    )


def _fallback_card(ws: Workspace, why: str) -> ChurnModelCard:
    c = ws.settings.churn
    pts = c.leading_indicator_points
    by_tier = {1: pts.tier1, 2: pts.tier2, 3: pts.tier3}
    return ChurnModelCard(
        method="leading-indicator",
        mode="none",
        data_used=data_used(ws, "history"),
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
