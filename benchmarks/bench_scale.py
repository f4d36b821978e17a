"""Scale: memory and latency of the portfolio tools through MCP over stdio, cold and after a restart.

    python benchmarks/bench_scale.py [--sizes 1000,10000,100000,1000000] [--dir /tmp/cs-mcp-bench]
                                     [--warm 10] [--memory-limit 2GB] [--postgres URL --pg-sizes 100000]

Per size (a seeded demo workspace with 18 months of weekly usage, generated once under --dir):
  cold     a fresh cache folder: spawn `cs-mcp serve --data DIR` (stdio), first churn-risk-list call (loads the
           workspace into its on-disk DuckDB database, computes features, fits the churn model), with the
           number of progress notifications it sent; then warm medians of health-score (one account),
           churn-risk-list, renewal-forecast and expansion-opportunities (its first call computes the candidates;
           the median of --warm calls is a warm one); the server's peak RSS (VmHWM)
  restart  a second server on the same cache folder: spawn -> first churn-risk-list answered, and its peak RSS
  stored   a third server after the cache folder lost everything but the DuckDB database (what an upgrade of the
           domain code leaves): spawn -> first churn-risk-list answered, features and the fit computed again
With --postgres: the workspace is copied into PostgreSQL (cs-mcp load) and the engine-side work of the
portfolio (validation on open, the feature query for every account) is timed beside DuckDB's, with this
process's peak RSS (the rows stay in the engine: only per-account rows come back); then `cs-mcp serve` on
that PostgreSQL schema answers the same calls over stdio, with the server's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import anyio
from common import ensure_workspace
from mcp import Client, StdioServerParameters


def _children_rss_peak() -> int:
    """Peak RSS (kB) of this process's live child processes (the stdio server)."""
    peak = 0
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
    return peak


WARM_TOOLS = (("health-score", "account"), ("churn-risk-list", None), ("renewal-forecast", None),
              ("expansion-opportunities", None))


async def _session(data: Path | None, cache: Path, memory_limit: str | None, warm: int, account: str,
                   config: Path | None = None, tools: int = len(WARM_TOOLS)) -> dict:
    """One stdio server (on the folder `data`, or as `config` says): first churn-risk-list, warm calls, peak RSS."""
    env = dict(os.environ, CS_MCP_CACHE_DIR=str(cache))
    args = ["-m", "cs_mcp", "serve"] + (["--data", str(data)] if data else [])
    if memory_limit:
        config = cache / "bench.yaml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(f"data:\n  duckdb_memory_limit: {memory_limit}\n")
    if config:
        args += ["--config", str(config)]
    progress: list[str] = []

    async def on_progress(p, total, message):
        progress.append(message or "")

    out: dict = {}
    t0 = time.perf_counter()
    async with Client(StdioServerParameters(command=sys.executable, args=args, env=env), mode="legacy") as c:
        first = await c.call_tool("churn-risk-list", {}, progress_callback=on_progress)
        out["first_s"] = time.perf_counter() - t0
        assert not first.is_error, first.content
        out["progress_events"] = len(progress)
        for tool, arg in WARM_TOOLS[:tools]:
            arguments = {arg: account} if arg else {}
            times = []
            for _ in range(warm):
                t = time.perf_counter()
                r = await c.call_tool(tool, arguments)
                times.append(time.perf_counter() - t)
                assert not r.is_error, (tool, r.content)
            out[tool] = statistics.median(times)
        out["rss_mb"] = _children_rss_peak() / 1024
    return out


def _first_account(data: Path) -> str:
    import duckdb

    return duckdb.connect().execute(
        "SELECT account_id FROM read_parquet($p) ORDER BY account_id LIMIT 1", {"p": str(data / "accounts.parquet")}
    ).fetchone()[0]


def bench_size(root: Path, n: int, warm: int, memory_limit: str | None) -> None:
    data = ensure_workspace(root, n)
    cache = root / f"cache-scale-{n}"
    if cache.exists():
        import shutil

        shutil.rmtree(cache)
    account = _first_account(data)
    cold = anyio.run(_session, data, cache, memory_limit, warm, account)
    again = anyio.run(_session, data, cache, memory_limit, warm, account, None, 3)
    _drop_all_but_the_database(cache)
    stored = anyio.run(_session, data, cache, memory_limit, 1, account, None, 3)
    print(f"{n:>9,}  cold: first churn-risk-list {cold['first_s']:7.2f} s ({cold['progress_events']} progress), "
          f"warm health-score {cold['health-score'] * 1000:6.1f} ms, churn-risk-list "
          f"{cold['churn-risk-list'] * 1000:6.1f} ms, renewal-forecast {cold['renewal-forecast'] * 1000:6.1f} ms, "
          f"expansion-opportunities {cold['expansion-opportunities'] * 1000:6.1f} ms, "
          f"peak RSS {cold['rss_mb']:7.0f} MB")
    print(f"{'':>9}  restart: spawn -> churn-risk-list answered {again['first_s']:6.2f} s, warm churn-risk-list "
          f"{again['churn-risk-list'] * 1000:6.1f} ms, peak RSS {again['rss_mb']:7.0f} MB")
    print(f"{'':>9}  stored database, no memo or model: first churn-risk-list {stored['first_s']:7.2f} s "
          f"({stored['progress_events']} progress), peak RSS {stored['rss_mb']:7.0f} MB")


def _drop_all_but_the_database(cache: Path) -> None:
    import shutil

    for sub in cache.iterdir():
        if sub.is_dir() and sub.name != "duckdb":
            shutil.rmtree(sub)


def bench_postgres(root: Path, n: int, url: str) -> None:
    from cs_mcp.config import load_settings
    from cs_mcp.workspace.features import compute_features
    from cs_mcp.workspace.loader import open_workspace
    from cs_mcp.workspace.transfer import load_into

    data = ensure_workspace(root, n)
    schema = f"bench_{n}"
    rows = []
    t = time.perf_counter()
    ref = open_workspace(load_settings(data))
    rows.append(("duckdb", "open (stored or loaded)", time.perf_counter() - t))
    t = time.perf_counter()
    load_into(ref, url, schema)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    pg = open_workspace(load_settings(overrides={"data": {"url": url, "database_schema": schema,
                                                          "as_of": ref.as_of.isoformat()}}))
    rows.append(("postgres", "open (validation in the engine)", time.perf_counter() - t))
    for label, ws in (("duckdb", ref), ("postgres", pg)):
        t = time.perf_counter()
        compute_features(ws)
        first = time.perf_counter() - t
        t = time.perf_counter()
        compute_features(ws)
        rows.append((label, "feature query, every account", first))
        rows.append((label, "feature query again", time.perf_counter() - t))
    print(f"{n:>9,}  cs-mcp load into PostgreSQL {load_s:.1f} s; this process's peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    for engine, what, s in rows:
        print(f"{'':>9}  {engine:<9} {what:<34} {s:7.2f} s")
    pg.close()
    config = root / f"pg-{n}.yaml"
    config.write_text(f"data:\n  url: '{url}'\n  database_schema: {schema}\n  as_of: '{ref.as_of.isoformat()}'\n")
    account = _first_account(data)
    ref.close()
    served = anyio.run(_session, None, root / f"cache-pg-{n}", None, 3, account, config)
    warm = ", ".join(f"{tool} {served[tool] * 1000:.0f} ms" for tool in ("health-score", "churn-risk-list",
                                                                         "renewal-forecast"))
    print(f"{'':>9}  postgres  cs-mcp serve --url (stdio): first churn-risk-list {served['first_s']:.1f} s, warm "
          f"{warm}, server peak RSS {served['rss_mb']:.0f} MB")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,10000,100000,1000000")
    p.add_argument("--dir", type=Path, default=Path("/tmp/cs-mcp-bench"))
    p.add_argument("--warm", type=int, default=10)
    p.add_argument("--memory-limit", help="data.duckdb_memory_limit for the server, e.g. 2GB")
    p.add_argument("--postgres", help="PostgreSQL URL for the engine comparison (a scratch database)")
    p.add_argument("--pg-sizes", default="100000")
    args = p.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    print("accounts   figures (stdio MCP server, median of warm calls)")
    for n in (int(s) for s in args.sizes.split(",") if s):
        bench_size(args.dir, n, args.warm, args.memory_limit)
    if args.postgres:
        print("\nPostgreSQL beside DuckDB (engine-side work of the portfolio)")
        for n in (int(s) for s in args.pg_sizes.split(",") if s):
            bench_postgres(args.dir, n, args.postgres)


if __name__ == "__main__":
    main()
