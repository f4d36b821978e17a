"""Does the product tell the truth about a workspace? The hidden-outcome check, health bands, tiers, consistency.

    python benchmarks/bench_truth.py                      # the demo generator at 1,000 and 10,000 accounts
    python benchmarks/bench_truth.py --accounts 1000      # one size
    python benchmarks/bench_truth.py --data DIR           # any workspace (its cs-mcp.yaml applies)
    python benchmarks/bench_truth.py --quick              # health bands and tiers only (no churn models)

Hidden-outcome check: the workspace is opened again as of a past date (`--back` days before its as-of date,
365 by default), so the server sees only what it would have seen then. Every scorer ranks the accounts active
on that date; the outcome is what the full data says happened next: churned within the following 12 months.
Printed per scorer: ROC-AUC and top-decile lift (churn rate of the riskiest tenth over the base rate).

Scorers (SCORERS below): the renewal-anchored risk as the tools show it (P(lost by the next renewal) after CRM
evidence), the same model's probability before CRM evidence, the 90-day model, the leading-indicator score,
and 100 - health score.

Also printed: 12-month churn by health band at past cut-offs (the cs://models/health table), the tier counts
of today's book (cs://models/churn), and the cross-tool check (at-risk renewals of a window counted the same
by churn-risk-list, renewal-forecast and csm-performance; forecast worst <= base <= best).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

WINDOW_DAYS = 365
CONSISTENCY_WINDOWS = (30, 90, 180, 365)


def _open(path: Path, as_of: dt.date | None = None):
    from cs_mcp.config import load_settings
    from cs_mcp.workspace.loader import open_workspace

    overrides = {"churn": {"disk_cache": False}}
    if as_of is not None:
        overrides["data"] = {"as_of": as_of.isoformat()}
    return open_workspace(load_settings(path, overrides=overrides))


# --------------------------------------------------------------------------------------------- scorers


def renewal_risk(ws) -> dict[str, float]:
    from cs_mcp.domain.renewal import renewal_base

    book = renewal_base(ws)
    return dict(zip(book.ids.tolist(), book.lost.tolist(), strict=True))


def renewal_model(ws) -> dict[str, float]:
    from cs_mcp.domain.churn_model import churn_scores

    s = churn_scores(ws)
    return dict(zip(s.account_ids.tolist(), s.probability.tolist(), strict=True))


def risk_90d(ws) -> dict[str, float]:
    from cs_mcp.domain.churn_model import churn_scores

    s = churn_scores(ws)
    return dict(zip(s.account_ids.tolist(), s.probability_90d.tolist(), strict=True))


def indicator_risk(ws) -> dict[str, float]:
    from cs_mcp.domain.churn_model import churn_scores

    s = churn_scores(ws)
    return dict(zip(s.account_ids.tolist(), s.indicator_score.tolist(), strict=True))


def health_risk(ws) -> dict[str, float]:
    from cs_mcp.domain.portfolio import portfolio_snapshot

    snap = portfolio_snapshot(ws)
    return dict(zip(snap.frame["account_id"].tolist(), (100 - snap.health.score).tolist(), strict=True))


SCORERS: dict[str, Callable] = {
    "renewal-anchored risk (shown)": renewal_risk,
    "renewal-anchored model": renewal_model,
    "90-day model": risk_90d,
    "leading-indicator score": indicator_risk,
    "100 - health score": health_risk,
}


def auc(score: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import rankdata

    n1, n0 = int(y.sum()), int((~y).sum())
    ranks = rankdata(score)
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def top_decile_lift(score: np.ndarray, y: np.ndarray) -> float:
    k = max(1, len(score) // 10)
    order = np.lexsort((np.arange(len(score)), -score))[:k]
    return float(y[order].mean() / y.mean())


# ------------------------------------------------------------------------------------------------ checks


def hidden_outcome_check(path: Path, back: int) -> None:
    full = _open(path)
    cut = full.as_of - dt.timedelta(days=back)
    end = cut + dt.timedelta(days=WINDOW_DAYS)
    churned = {r[0]: r[1] for r in full.rows("SELECT account_id, churned_on FROM accounts")}
    full.close()
    past = _open(path, cut)
    t = time.perf_counter()
    scored = {name: fn(past) for name, fn in SCORERS.items()}
    seconds = time.perf_counter() - t
    ids = sorted(set.intersection(*(set(s) for s in scored.values())))
    y = np.array([churned[a] is not None and cut < churned[a] <= end for a in ids])
    print(f"\nhidden-outcome check: scored as of {cut} (data after it hidden), outcome = churned by {end}")
    print(f"  {len(ids):,} active accounts, {int(y.sum())} churned ({y.mean():.1%}); scoring took {seconds:.0f} s")
    if not y.any() or y.all():
        print("  no contrast in outcomes: nothing to rank")
        past.close()
        return
    print(f"  {'scorer':32} {'ROC-AUC':>8} {'top-decile lift':>16}")
    for name, s in scored.items():
        score = np.nan_to_num(np.array([s[a] for a in ids], dtype=float), nan=-1.0)
        print(f"  {name:32} {auc(score, y):8.3f} {top_decile_lift(score, y):15.2f}x")
    card = past_card(past)
    if card:
        print(f"  (the renewal-anchored model as of {cut}: {card})")
    past.close()


def past_card(ws) -> str:
    from cs_mcp.domain.churn_model import churn_scores

    s = churn_scores(ws)
    c = s.card
    if c.metrics is None:
        return f"method {s.method}"
    return (f"{c.estimator}, label {c.label}, CV ROC-AUC {c.metrics.roc_auc:.3f} vs indicators "
            f"{c.metrics.leading_indicator_roc_auc or float('nan'):.3f}, {c.training.examples:,} examples")


def health_bands(ws) -> None:
    from cs_mcp.domain.model_cards import health_validation

    v = health_validation(ws)
    print(f"\n{v.window_days}-day churn by health band at past cut-offs ({ws.settings.health.model} model):")
    for c in v.cutoffs:
        cells = ", ".join(f"{b.band} {b.churn_rate:.1%} of {b.accounts}" if b.churn_rate is not None else
                          f"{b.band} - of 0" for b in c.bands)
        print(f"  cut-off {c.cutoff}: {cells}; ROC-AUC {c.roc_auc}")
    pooled = ", ".join(f"{b.band} {b.churn_rate:.1%} ({b.churned}/{b.accounts})" for b in v.pooled
                       if b.churn_rate is not None)
    print(f"  pooled: {pooled}; falls red > yellow > green: {v.falls_by_band}")
    from cs_mcp.domain.portfolio import portfolio_snapshot

    snap = portfolio_snapshot(ws)
    bands = snap.health.bands()[snap.frame["is_active"] == 1]
    shares = ", ".join(f"{b} {np.mean(bands == b):.0%}" for b in ("green", "yellow", "red"))
    print(f"  today's book ({len(bands):,} active accounts): {shares}")


def tiers(ws) -> None:
    from cs_mcp.domain.model_cards import churn_models

    m = churn_models(ws)
    cells = ", ".join(f"{t.tier} {t.accounts}" for t in m.tiers)
    print(f"\nchurn tiers today (ranked by {m.ranks_by}, method {m.method}): {cells}")
    c = m.ranking
    if c.metrics:
        print(f"  ranking model: {c.estimator}, CV ROC-AUC {c.metrics.roc_auc:.3f}, PR-AUC {c.metrics.pr_auc:.3f}, "
              f"indicators {c.metrics.leading_indicator_roc_auc}, base rate {c.metrics.base_rate:.3f}")
    if m.short_horizon and m.short_horizon.metrics:
        s = m.short_horizon.metrics
        print(f"  90-day model: {m.short_horizon.estimator}, CV ROC-AUC {s.roc_auc:.3f}, base rate {s.base_rate:.3f}")


def consistency(ws) -> None:
    from cs_mcp.domain.churn import churn_risk_list
    from cs_mcp.domain.csm import csm_performance
    from cs_mcp.domain.renewal import renewal_forecast

    print("\ncross-tool check (at-risk renewals: churn-risk-list / renewal-forecast / csm-performance at 90 d):")
    ok = True
    for days in CONSISTENCY_WINDOWS:
        churn = churn_risk_list(ws, renewal_within_days=days, limit=1)
        fc = renewal_forecast(ws, days=days, limit=1)
        s = fc.scenarios
        ordered = s.worst <= s.base <= s.best
        same = churn.at_risk_renewals == fc.at_risk_renewals
        ok &= ordered and same
        print(f"  {days:>3} days: at risk {churn.at_risk_renewals} / {fc.at_risk_renewals}; worst {s.worst:,.0f} "
              f"<= base {s.base:,.0f} <= best {s.best:,.0f}: {ordered}")
    team = csm_performance(ws, limit=1).team
    fc90 = renewal_forecast(ws, days=90, limit=1)
    ok &= team.renewals.at_risk == fc90.at_risk_renewals
    print(f"  csm-performance team at risk (90 d): {team.renewals.at_risk}; all agree: {ok}")


def data_facts(ws) -> None:
    """What the data itself says: yearly logo churn, support CSAT, escalations, opportunity stages."""
    years = ws.rows("""
        WITH y AS (SELECT DISTINCT year(churned_on) AS yr FROM accounts WHERE churned_on IS NOT NULL)
        SELECT yr,
          count(*) FILTER (WHERE a.contract_start < make_date(yr, 1, 1)
                            AND (a.churned_on IS NULL OR a.churned_on >= make_date(yr, 1, 1))) AS at_start,
          count(*) FILTER (WHERE year(a.churned_on) = yr) AS lost
        FROM y CROSS JOIN accounts a GROUP BY yr ORDER BY yr""")
    print("  logo churn by year: " + ", ".join(f"{yr} {lost}/{n} = {lost / n:.1%}" for yr, n, lost in years if n))
    csat = ws.scalar("SELECT avg(CASE WHEN csat >= 4 THEN 1.0 ELSE 0.0 END) FROM tickets WHERE csat IS NOT NULL")
    print(f"  support CSAT (ratings 4-5): {csat:.1%}")
    esc = ws.rows("""
        SELECT escalated, median(date_diff('minute', opened_at, closed_at) / 60.0), count(*)
        FROM tickets WHERE closed_at IS NOT NULL GROUP BY escalated ORDER BY escalated""")
    print("  median hours to resolve: " + ", ".join(f"{'escalated' if e else 'not escalated'} {h:.0f} h ({n:,})"
                                                    for e, h, n in esc))
    after = ws.rows("""
        WITH e AS (SELECT account_id, max(escalated::INT) AS esc FROM tickets
                   WHERE opened_at >= $lo AND opened_at < $cut GROUP BY account_id)
        SELECT coalesce(e.esc, 0) AS esc, avg(CASE WHEN a.churned_on > $cut AND a.churned_on <= $end
                                               THEN 1.0 ELSE 0.0 END), count(*)
        FROM accounts a LEFT JOIN e USING (account_id)
        WHERE a.contract_start < $cut AND (a.churned_on IS NULL OR a.churned_on > $cut) GROUP BY 1 ORDER BY 1""",
        lo=ws.as_of - dt.timedelta(days=545), cut=ws.as_of - dt.timedelta(days=365), end=ws.as_of)
    print("  12-month churn after the 6 months before a cut-off a year ago: " + ", ".join(
        f"{'with' if e else 'without'} an escalation {r:.1%} of {n}" for e, r, n in after))
    stages = ws.rows("SELECT stage, count(*) FROM opportunities GROUP BY 1 ORDER BY 2 DESC")
    print("  opportunity stages: " + ", ".join(f"{s} {n}" for s, n in stages))


def run(path: Path, quick: bool, back: int) -> None:
    ws = _open(path)
    t = time.perf_counter()
    print("\nthe data:")
    data_facts(ws)
    health_bands(ws)
    if not quick:
        tiers(ws)
        consistency(ws)
    print(f"  ({time.perf_counter() - t:.0f} s)")
    ws.close()
    if not quick:
        hidden_outcome_check(path, back)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, help="a workspace folder (default: the demo generator)")
    ap.add_argument("--accounts", type=int, action="append", help="demo size (repeatable; default 1000 and 10000)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--back", type=int, default=365, help="days before the as-of date to score the past from")
    ap.add_argument("--quick", action="store_true", help="health bands and tiers only, no churn models")
    args = ap.parse_args()
    if args.data:
        print(f"workspace {args.data}")
        run(args.data, args.quick, args.back)
        return 0
    from cs_mcp.demo.generator import generate_workspace

    with tempfile.TemporaryDirectory() as tmp:
        for n in args.accounts or [1000, 10000]:
            out = Path(tmp) / f"demo-{n}"
            t = time.perf_counter()
            generate_workspace(out, accounts=n, seed=args.seed, fmt="parquet", months=args.months)
            print(f"\n=== demo: {n:,} accounts, seed {args.seed}, {args.months} months "
                  f"(generated in {time.perf_counter() - t:.1f} s)")
            run(out, args.quick, args.back)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
