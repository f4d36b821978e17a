"""churn-risk-list: load, model fit, first call and warm latency at several portfolio sizes.

    python benchmarks/bench_churn.py [--sizes 1000,10000,100000] [--dir /tmp/cs-mcp-bench] [--warm 20]

Workspaces are generated once (seeded, Parquet) under --dir and reused. Per size:
  domain  open_workspace, then churn_risk_list: the first call computes the portfolio features, the training
          examples at past cut-offs and fits the model (fit time from the model card); warm = median over
          varied filters and pages.
  mcp     a fresh server and an in-memory client: the first churn-risk-list call loads the workspace and fits;
          warm = median of later calls.
  restart a fresh server with the disk cache on (second process start after a fit): load + cached model.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import anyio
from common import ensure_workspace, summarize
from mcp import Client

from cs_mcp.config import load_settings
from cs_mcp.domain.churn import churn_risk_list
from cs_mcp.domain.churn_model import churn_model_card
from cs_mcp.server import create_server
from cs_mcp.workspace.loader import open_workspace

NO_DISK = {"churn": {"disk_cache": False}}
WARM_ARGS = [
    {},
    {"segment": "enterprise"},
    {"min_tier": "medium"},
    {"renewal_within_days": 90},
    {"quarter": "2026-Q4", "segment": "mid-market"},
    {"sort": "arr_at_risk", "limit": 50},
]



def measure_domain(path: Path, warm_calls: int) -> dict[str, float]:
    t = time.perf_counter()
    ws = open_workspace(load_settings(path, overrides=NO_DISK))
    load = time.perf_counter() - t
    t = time.perf_counter()
    first = churn_risk_list(ws)
    first_s = time.perf_counter() - t
    card = churn_model_card(ws)
    warm = []
    for i in range(warm_calls):
        args = WARM_ARGS[i % len(WARM_ARGS)]
        t = time.perf_counter()
        churn_risk_list(ws, **args)
        warm.append(time.perf_counter() - t)
    nxt = churn_risk_list(ws, cursor=first.next_cursor) if first.next_cursor else None
    assert nxt is None or nxt.accounts[0].rank == first.returned + 1
    ws.close()
    m = card.metrics
    return {
        "load": load,
        "first": first_s,
        "fit": card.fit_seconds,
        "warm": statistics.median(warm),
        "auc": m.roc_auc if m else float("nan"),
        "li_auc": (m.leading_indicator_roc_auc or float("nan")) if m else float("nan"),
        "examples": card.training.examples if card.training else 0,
        "estimator": card.estimator or card.method,
    }


async def measure_mcp(path: Path, warm_calls: int, overrides: dict) -> dict[str, float]:
    server = create_server(load_settings(path, overrides=overrides), warm_up=False)
    async with Client(server) as c:
        t = time.perf_counter()
        r = await c.call_tool("churn-risk-list", {})
        first = time.perf_counter() - t
        assert not r.is_error, r.content
        size = len(r.content[0].text)
        warm = []
        for i in range(warm_calls):
            args = WARM_ARGS[i % len(WARM_ARGS)]
            t = time.perf_counter()
            r = await c.call_tool("churn-risk-list", args)
            warm.append(time.perf_counter() - t)
            assert not r.is_error, r.content
            size = max(size, len(r.content[0].text))
    server.app_state.close()
    return {
        "first": first,
        **summarize(warm),
        "text": size,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/cs-mcp-bench"))
    parser.add_argument("--warm", type=int, default=20)
    args = parser.parse_args()
    print(f"churn-risk-list ({os.cpu_count()} CPUs)")
    print(
        f"{'accounts':>9} | {'load':>6} {'1st call':>8} {'fit':>6} {'warm':>7} | {'mcp 1st':>8} {'warm':>7} "
        f"{'p90':>7} {'text':>6} | {'restart':>8} | {'model':>17} {'AUC':>5} {'LI AUC':>6} {'examples':>8} "
        f"{'max RSS':>8}"
    )
    for size in [int(s) for s in args.sizes.split(",")]:
        path = ensure_workspace(args.dir, size)
        d = measure_domain(path, args.warm)
        m = anyio.run(measure_mcp, path, args.warm, NO_DISK)
        with tempfile.TemporaryDirectory() as cache:
            os.environ["CS_MCP_CACHE_DIR"] = cache
            anyio.run(measure_mcp, path, 1, {})  # fits and writes the disk cache
            restart = anyio.run(measure_mcp, path, 1, {})
            del os.environ["CS_MCP_CACHE_DIR"]
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{size:>9,} | {d['load']:>5.2f}s {d['first']:>7.2f}s {d['fit']:>5.2f}s "
            f"{d['warm'] * 1000:>5.1f}ms | "
            f"{m['first']:>7.2f}s {m['warm'] * 1000:>5.1f}ms {m['p90'] * 1000:>5.1f}ms {m['text']:>6,} | "
            f"{restart['first']:>7.2f}s | {d['estimator']:>17} {d['auc']:>5.3f} {d['li_auc']:>6.3f} "
            f"{d['examples']:>8,} {rss:>6.0f}MB",
            flush=True,
        )


if __name__ == "__main__":
    main()
