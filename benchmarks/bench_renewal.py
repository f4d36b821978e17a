"""renewal-forecast and retention-metrics latency, first call and warm, at several portfolio sizes.

    python benchmarks/bench_renewal.py [--sizes 1000,10000,100000] [--dir /tmp/cs-mcp-bench] [--warm 30]
                                       [--keep-model-cache]

Workspaces are generated once (seeded, parquet) under --dir and reused (the same ones bench_health.py
uses). Each tool gets a fresh server: 'load' is the first find-accounts call (opening the workspace),
'first' the tool's first call on the loaded data (for renewal-forecast this includes the portfolio's
features and health, the churn model fit and the renewal base), 'warm' the median of calls with varied
arguments (windows, sorts, segments, pages; periods and breakdowns). The churn model's disk cache is
pointed at a fresh folder unless --keep-model-cache, so 'first' includes a real fit.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import anyio
from common import ensure_workspace, summarize
from mcp import Client

from cs_mcp.config import load_settings
from cs_mcp.server import create_server

RENEWAL_ARGS = [
    {},
    {"days": 30},
    {"days": 60, "sort": "risk"},
    {"days": 120, "sort": "arr_at_risk"},
    {"segment": "enterprise"},
    {"sort": "arr", "limit": 50},
    {"days": 180, "sort": "risk", "limit": 10},
]
RETENTION_ARGS = [
    {},
    {"period": "last-quarter"},
    {"period": "ytd"},
    {"by": "segment"},
    {"period": "last-6-months", "by": "csm"},
    {"by": "plan"},
]



async def measure(path: Path, tool: str, variants: list[dict], warm_calls: int) -> dict[str, float]:
    server = create_server(load_settings(path), warm_up=False)
    async with Client(server) as c:
        t = time.perf_counter()
        r = await c.call_tool("find-accounts", {"limit": 1})
        load = time.perf_counter() - t
        assert not r.is_error, r.content
        t = time.perf_counter()
        first = await c.call_tool(tool, variants[0])
        first_s = time.perf_counter() - t
        assert not first.is_error, first.content
        text_chars = len(first.content[0].text)
        warm = []
        longest = text_chars
        for i in range(warm_calls):
            args = variants[i % len(variants)]
            second_page = first.structured_content.get("next_cursor")
            if i >= len(variants) and tool == "renewal-forecast" and second_page:
                args = {**args, "cursor": second_page}
            t = time.perf_counter()
            r = await c.call_tool(tool, args)
            warm.append(time.perf_counter() - t)
            assert not r.is_error, (args, r.content)
            longest = max(longest, len(r.content[0].text))
    return {
        "load": load,
        "first": first_s,
        **summarize(warm),
        "chars": longest,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/cs-mcp-bench"))
    parser.add_argument("--warm", type=int, default=30)
    parser.add_argument("--keep-model-cache", action="store_true", help="reuse fitted churn models on disk")
    args = parser.parse_args()
    if not args.keep_model_cache:
        os.environ["CS_MCP_CACHE_DIR"] = tempfile.mkdtemp(prefix="cs-mcp-bench-cache-")
    print("renewal-forecast and retention-metrics through an in-memory MCP client (fresh server per tool)")
    print(f"{'accounts':>9} {'tool':<18} {'load':>9} {'first':>10} {'warm med':>9} {'warm p90':>9} "
          f"{'max text':>9}")
    for size in [int(s) for s in args.sizes.split(",")]:
        path = ensure_workspace(args.dir, size)
        for tool, variants in (("renewal-forecast", RENEWAL_ARGS), ("retention-metrics", RETENTION_ARGS)):
            m = anyio.run(measure, path, tool, variants, args.warm)
            print(f"{size:>9,} {tool:<18} {m['load'] * 1000:>6.0f} ms {m['first'] * 1000:>7.0f} ms "
                  f"{m['warm'] * 1000:>6.1f} ms {m['p90'] * 1000:>6.1f} ms {m['chars']:>9,}")


if __name__ == "__main__":
    main()
