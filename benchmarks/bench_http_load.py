"""Load on streamable HTTP: N concurrent MCP sessions calling churn-risk-list and health-score for S seconds.

    python benchmarks/bench_http_load.py [--sessions 50] [--seconds 30] [--data DIR] [--mode legacy|auto]

Starts `cs-mcp serve --transport http` on 127.0.0.1 (loopback only, a random port and a random bearer
token), makes one warm-up call (the data load and the churn model fit, reported as the first call), then
runs the sessions: each is its own MCP client with its own HTTP connection, calling churn-risk-list (varied
filters and pages) and health-score (accounts of the portfolio) in turn, back to back. Prints requests,
errors (any exception or isError result: must be 0), throughput, p50/p95/p99 latency per tool, and the
server's resident memory (now and peak) read from /proc. Bounded: at most 200 sessions and 300 seconds.
Without --data it serves the bundled 1,000-account demo workspace.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

MAX_SESSIONS = 200
MAX_SECONDS = 300
CHURN_ARGS = [
    {},
    {"segment": "enterprise"},
    {"min_tier": "medium"},
    {"renewal_within_days": 90},
    {"limit": 10},
    {"sort": "arr_at_risk", "limit": 20},
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> tuple[float, float]:
    """(resident, peak resident) memory of a process in MB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used, from /proc (the load-independent cost of the run)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def start_server(data: Path | None, port: int, token: str, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "cs_mcp", "serve", "--transport", "http", "--host", "127.0.0.1",
           "--port", str(port), "--token", token]
    if data is not None:
        cmd += ["--data", str(data)]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited:\n{log.read_text()}") from None
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not listen within 120 s")


def client(url: str, token: str, mode: str) -> Client:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    return Client(streamable_http_client(url, http_client=http), mode=mode)


class Tally:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = {"churn-risk-list": [], "health-score": []}
        self.connect: list[float] = []
        self.errors: list[str] = []

    def record(self, tool: str, seconds: float, error: str | None) -> None:
        self.latency[tool].append(seconds)
        if error is not None:
            self.errors.append(f"{tool}: {error}")


async def session(url: str, token: str, mode: str, accounts: list[str], stop_at: float, seed: int,
                  tally: Tally) -> None:
    rng = random.Random(seed)
    t = time.perf_counter()
    try:
        async with client(url, token, mode) as c:
            tally.connect.append(time.perf_counter() - t)
            turn = 0
            while time.monotonic() < stop_at:
                if turn % 2 == 0:
                    tool, args = "churn-risk-list", rng.choice(CHURN_ARGS)
                else:
                    tool, args = "health-score", {"account": rng.choice(accounts)}
                turn += 1
                t = time.perf_counter()
                try:
                    result = await c.call_tool(tool, args)
                    error = str(result.content)[:200] if result.is_error else None
                except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
                    error = f"{type(exc).__name__}: {exc}"
                tally.record(tool, time.perf_counter() - t, error)
    except Exception as exc:  # noqa: BLE001 - a session that cannot connect is an error too
        tally.errors.append(f"session {seed}: {type(exc).__name__}: {exc}")


async def warm_up(url: str, token: str, mode: str) -> tuple[float, list[str]]:
    """Seconds of the first churn-risk-list call, and account ids to score."""
    async with client(url, token, mode) as c:
        t = time.perf_counter()
        first = await c.call_tool("churn-risk-list", {"limit": 50})
        seconds = time.perf_counter() - t
        if first.is_error:
            raise SystemExit(f"warm-up call failed: {first.content}")
        found = await c.call_tool("find-accounts", {"limit": 50})
        ids = [a["account_id"] for a in first.structured_content["accounts"]]
        ids += [a["account_id"] for a in (found.structured_content or {}).get("accounts", [])]
        return seconds, sorted(set(ids))


async def run(args: argparse.Namespace) -> int:
    token = secrets.token_hex(16)
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="cs-mcp-http-load-")) / "server.stderr"
    proc = start_server(args.data, port, token, log)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        idle_rss, _ = rss_mb(proc.pid)
        first_s, accounts = await warm_up(url, token, args.mode)
        warm_rss, _ = rss_mb(proc.pid)
        print(f"server pid {proc.pid}, {url}, protocol mode {args.mode}, {len(accounts)} accounts to score")
        print(f"first churn-risk-list (load + model fit): {first_s:.2f} s; RSS idle {idle_rss:.0f} MB, "
              f"after warm-up {warm_rss:.0f} MB")
        tally = Tally()
        cpu_before = cpu_seconds(proc.pid)
        own_before = own_cpu_seconds()
        started = time.monotonic()
        stop_at = started + args.seconds
        async with anyio.create_task_group() as tg:
            for i in range(args.sessions):
                tg.start_soon(session, url, token, args.mode, accounts, stop_at, i, tally)
        elapsed = time.monotonic() - started
        cpu = cpu_seconds(proc.pid) - cpu_before
        own_cpu = own_cpu_seconds() - own_before
        rss, peak = rss_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()

    every = sorted(s for values in tally.latency.values() for s in values)
    print(f"\n{args.sessions} sessions for {elapsed:.1f} s: {len(every):,} requests "
          f"({len(every) / elapsed:.1f}/s), errors {len(tally.errors)}")
    for tool, values in [*tally.latency.items(), ("all", every)]:
        if not values:
            continue
        ordered = sorted(values)
        print(f"  {tool:<16} n={len(ordered):>6,}  p50 {1000 * statistics.median(ordered):7.1f} ms  "
              f"p95 {1000 * percentile(ordered, 0.95):7.1f} ms  p99 {1000 * percentile(ordered, 0.99):7.1f} ms  "
              f"max {1000 * ordered[-1]:7.1f} ms")
    if tally.connect:
        ordered = sorted(tally.connect)
        print(f"  session start (connect + initialize) p50 {1000 * statistics.median(ordered):.0f} ms, "
              f"max {1000 * ordered[-1]:.0f} ms")
    print(f"client CPU {own_cpu:.1f} s ({100 * own_cpu / elapsed:.0f}% of one core): the clients share this machine")
    print(f"server CPU {cpu:.1f} s ({1000 * cpu / max(len(every), 1):.0f} ms a request, "
          f"{100 * cpu / elapsed:.0f}% of one core); machine load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    print(f"server RSS at the end {rss:.0f} MB, peak {peak:.0f} MB")
    for line in tally.errors[:10]:
        print(f"  error: {line}")
    if proc.returncode not in (0, -15):
        print(f"server exit code {proc.returncode}; its stderr: {log}")
    return 1 if tally.errors else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--data", type=Path, help="workspace folder (default: the bundled demo)")
    parser.add_argument("--mode", choices=["legacy", "auto"], default="legacy",
                        help="protocol era: legacy = initialize handshake and a session id (default)")
    args = parser.parse_args()
    if not 1 <= args.sessions <= MAX_SESSIONS or not 0 < args.seconds <= MAX_SECONDS:
        raise SystemExit(f"--sessions must be 1-{MAX_SESSIONS} and --seconds 1-{MAX_SECONDS}")
    sys.exit(anyio.run(run, args))


if __name__ == "__main__":
    main()
