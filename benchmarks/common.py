"""What the benchmark scripts share: cached generated workspaces and latency summaries."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from cs_mcp.demo.generator import generate_workspace

SPEED_MONTHS = 18
"""History of the workspaces the speed benchmarks time: 18 months of weekly usage (the scale targets' basis)."""


def ensure_workspace(root: Path, accounts: int, months: int = SPEED_MONTHS) -> Path:
    """A seeded demo workspace of `accounts` accounts under `root`, generated once and reused."""
    path = root / f"demo-{accounts}-{months}m"
    if not (path / "accounts.parquet").exists():
        t = time.perf_counter()
        generate_workspace(path, accounts=accounts, seed=42, fmt="parquet", months=months)
        print(f"  generated {accounts:,} accounts in {time.perf_counter() - t:.1f} s")
    return path


def summarize(seconds: list[float]) -> dict[str, float]:
    """Median and 90th percentile of a list of durations."""
    ordered = sorted(seconds)
    return {"warm": statistics.median(ordered), "p90": ordered[int(0.9 * (len(ordered) - 1))]}
