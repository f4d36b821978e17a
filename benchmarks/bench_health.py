"""health-score latency, first call and warm, at several portfolio sizes, through the MCP client.

    python benchmarks/bench_health.py [--sizes 1000,10000,100000] [--dir /tmp/cs-mcp-bench] [--warm 30]

Workspaces are generated once (seeded) under --dir and reused. 'first' is the first tool call on a
fresh server, so it includes loading the workspace; 'warm' is the median over different accounts.
Peak memory is the process's max RSS after each size (it only grows, so read it as an upper bound).
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from pathlib import Path

import anyio
from common import ensure_workspace, summarize
from mcp import Client

from cs_mcp.config import load_settings
from cs_mcp.server import create_server


async def measure(path: Path, warm_calls: int) -> dict[str, float]:
    server = create_server(load_settings(path), warm_up=False)
    async with Client(server) as c:
        ids = [a["account_id"] for a in (await c.call_tool("find-accounts", {"limit": 200})).structured_content[
            "accounts"]]
        # find-accounts above loaded the workspace: this is the first health-score on loaded data
        t = time.perf_counter()
        first = await c.call_tool("health-score", {"account": ids[0]})
        first_s = time.perf_counter() - t
        assert not first.is_error, first.content
        rng = random.Random(1)
        warm = []
        for _ in range(warm_calls):
            t = time.perf_counter()
            r = await c.call_tool("health-score", {"account": rng.choice(ids)})
            warm.append(time.perf_counter() - t)
            assert not r.is_error
    return {"first": first_s, **summarize(warm)}


async def measure_load(path: Path) -> float:
    server = create_server(load_settings(path), warm_up=False)
    async with Client(server) as c:
        t = time.perf_counter()
        r = await c.call_tool("find-accounts", {"limit": 1})
        assert not r.is_error, r.content
        return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/cs-mcp-bench"))
    parser.add_argument("--warm", type=int, default=30)
    args = parser.parse_args()
    print("health-score through an in-memory MCP client")
    print(f"{'accounts':>9} {'load+1st call':>14} {'first score':>12} {'warm median':>12} {'warm p90':>9} "
          f"{'max RSS':>9}")
    for size in [int(s) for s in args.sizes.split(",")]:
        path = ensure_workspace(args.dir, size)
        load = anyio.run(measure_load, path)
        m = anyio.run(measure, path, args.warm)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{size:>9,} {load * 1000:>11.0f} ms {m['first'] * 1000:>9.1f} ms {m['warm'] * 1000:>9.1f} ms "
              f"{m['p90'] * 1000:>6.1f} ms {rss:>6.0f} MB")


if __name__ == "__main__":
    main()
