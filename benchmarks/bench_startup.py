"""Start-up: time from spawn to `initialize` answered, cs-mcp next to an empty MCPServer.

    python benchmarks/bench_startup.py [--runs 9]

Each run spawns a fresh process, writes an initialize request on stdin and stops the clock at the
first response line on stdout. The two servers alternate so machine noise hits both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

INITIALIZE = json.dumps({
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {},
               "clientInfo": {"name": "bench", "version": "0"}},
}) + "\n"

EMPTY_SERVER = "from mcp.server.mcpserver import MCPServer\nMCPServer('empty').run()\n"


def time_to_initialize(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdin and proc.stdout
    proc.stdin.write(INITIALIZE.encode())
    proc.stdin.flush()
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - start
    proc.kill()
    proc.wait()
    if b'"result"' not in line:
        raise RuntimeError(f"{cmd}: unexpected answer {line[:200]!r}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(EMPTY_SERVER)
        empty_path = f.name
    commands = {
        "empty MCPServer": [sys.executable, empty_path],
        "cs-mcp (bundled demo)": [sys.executable, "-m", "cs_mcp"],
    }
    times: dict[str, list[float]] = {k: [] for k in commands}
    for cmd in commands.values():  # one warm-up each (disk cache, .pyc)
        time_to_initialize(cmd)
    for _ in range(args.runs):
        for name, cmd in commands.items():
            times[name].append(time_to_initialize(cmd))
    os.unlink(empty_path)
    base = statistics.median(times["empty MCPServer"])
    print(f"spawn -> initialize answered, median of {args.runs} runs (min-max):")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"  {name:24s} {med * 1000:7.0f} ms  ({min(values) * 1000:.0f}-{max(values) * 1000:.0f})  "
              f"ratio {med / base:.2f}")


if __name__ == "__main__":
    main()
