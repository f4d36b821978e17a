"""Real `cs-mcp serve` processes that save and update onboarding plans, for the crash and race tests.

Shared by tests/test_plan_durability.py and benchmarks/bench_plan_crash.py. A server is driven over stdio
with plain newline-delimited JSON-RPC (initialize, then tools/call), so the harness knows exactly which
writes were acknowledged before it killed the process. Every update adds a note with a unique mark to a
milestone: an acknowledged update is present when its mark is in the stored plan.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

ONBOARDING = Path(__file__).parent / "data" / "onboarding"
ACCOUNTS = ("O-1", "O-2", "O-3")
FIRST_START = dt.date(2027, 2, 1)


class ServerGone(Exception):
    """The server process ended (killed) before answering."""


class StdioServer:
    """One `cs-mcp serve` subprocess speaking MCP over stdio, with blocking request/response calls."""

    def __init__(self, state_dir: Path, data: Path = ONBOARDING):
        env = {**os.environ, "CS_MCP_STATE_DIR": str(state_dir)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cs_mcp", "serve", "--data", str(data), "--tools", "onboarding"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        )
        self._next_id = 0
        self.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                    "clientInfo": {"name": "plan-writers", "version": "1"}})
        self._send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def _send(self, message: dict) -> None:
        try:
            self.proc.stdin.write(json.dumps(message).encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as exc:
            raise ServerGone() from exc

    def request(self, method: str, params: dict) -> dict:
        self._next_id += 1
        rid = self._next_id
        self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise ServerGone()
            message = json.loads(line)
            if message.get("id") == rid:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def call(self, args: dict) -> dict:
        """structuredContent of an onboarding-plan call; RuntimeError on a tool error."""
        result = self.request("tools/call", {"name": "onboarding-plan", "arguments": args})
        if result.get("isError"):
            raise RuntimeError(f"onboarding-plan {args}: {result['content'][0]['text']}")
        return result["structuredContent"]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)

    def close(self) -> None:
        self.kill()
        self.proc.wait(timeout=30)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


@dataclass
class Acknowledged:
    """What the servers confirmed: plan id -> milestones, and plan id -> the note marks they acknowledged."""

    milestones: dict[str, list[str]] = field(default_factory=dict)
    marks: dict[str, set[str]] = field(default_factory=dict)
    extra_plans: int = 0
    """extra plans asked for so far (acknowledged or not): each gets its own start date"""

    def count(self) -> int:
        return sum(len(m) for m in self.marks.values())


def create_plan(server: StdioServer, account: str, start: dt.date, acked: Acknowledged) -> str:
    plan = server.call({"action": "create", "account": account, "start_date": start.isoformat(), "save": True})
    pid = plan["plan"]["plan_id"]
    acked.milestones[pid] = [m["id"] for m in plan["plan"]["milestones"]]
    acked.marks.setdefault(pid, set())
    return pid


def add_note(server: StdioServer, pid: str, milestone: str, mark: str, acked: Acknowledged | None) -> None:
    server.call({"action": "update", "plan_id": pid, "updates": [{"milestone": milestone, "note": mark}]})
    if acked is not None:
        acked.marks[pid].add(mark)


def crash_round(state_dir: Path, round_no: int, rng: random.Random, acked: Acknowledged,
                max_delay: float = 0.6) -> int:
    """One server life: save a new plan, then update plans back to back until SIGKILL at a random moment.

    Returns how many writes the server acknowledged before it died.
    """
    server = StdioServer(state_dir)
    before = acked.count() + len(acked.marks)
    killer = threading.Timer(rng.uniform(0, max_delay), server.kill)
    try:
        start = FIRST_START + dt.timedelta(weeks=round_no)  # a Monday: weekend starts move to the Monday
        pid = create_plan(server, ACCOUNTS[round_no % len(ACCOUNTS)], start, acked)
        killer.start()
        n = 0
        while True:  # mostly updates (read-modify-write), every fifth write a new plan
            if n % 5 == 4:
                # a start date never asked before (a fast server writes many plans per round), and a Monday:
                # a weekend start moves to the next Monday, and two plans of that day would be one plan
                acked.extra_plans += 1
                extra = FIRST_START + dt.timedelta(weeks=1000 + acked.extra_plans)
                create_plan(server, rng.choice(ACCOUNTS), extra, acked)
            else:
                target = pid if n % 2 == 0 else rng.choice(sorted(acked.marks))
                add_note(server, target, rng.choice(acked.milestones[target]), f"r{round_no}-u{n}", acked)
            n += 1
    except ServerGone:
        pass  # killed: whatever was acknowledged before must be on disk
    finally:
        killer.cancel()
        server.close()
    return acked.count() + len(acked.marks) - before


def check_plans(state_dir: Path, acked: Acknowledged) -> list[str]:
    """Problems: a plan file that does not parse, a plan missing, an acknowledged note missing."""
    folder = state_dir / "plans"
    problems = []
    stored: dict[str, dict] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            stored[raw["plan"]["plan_id"]] = raw["plan"]
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"{path.name} does not parse: {exc}")
    for pid, marks in acked.marks.items():
        if pid not in stored:
            problems.append(f"acknowledged plan {pid} is missing")
            continue
        present = {note.split(": ", 1)[1] for m in stored[pid]["milestones"] for note in m["notes"]}
        problems += [f"{pid}: acknowledged update {mark} is missing" for mark in sorted(marks - present)]
    return problems
