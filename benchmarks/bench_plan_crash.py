"""Plans under SIGKILL: R rounds of a real server saving and updating onboarding plans, killed at random moments.

    python benchmarks/bench_plan_crash.py [--rounds 200] [--max-delay 0.6] [--seed 7] [--dir DIR]

Each round starts `cs-mcp serve` (stdio, the onboarding test workspace, plans in DIR or a scratch folder),
saves a new plan, then writes back to back (milestone notes on this and earlier plans, every fifth write a
new plan) until a timer SIGKILLs the server 0 to --max-delay seconds after the first save. After every round
each plan file must parse and every write the server acknowledged must be in it. Prints the rounds, writes
acknowledged, kills that left a half-written temporary file behind (the proof that kills landed mid-write),
problems found (must be 0) and the time taken. The harness is tests/plan_writers.py.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from plan_writers import Acknowledged, check_plans, crash_round  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--max-delay", type=float, default=0.6, help="latest kill, seconds after the first save")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, help="state folder (default: a new scratch folder)")
    args = parser.parse_args()
    state = args.dir or Path(tempfile.mkdtemp(prefix="cs-mcp-plan-crash-"))
    rng = random.Random(args.seed)
    acked = Acknowledged()
    problems: list[str] = []
    mid_write = 0
    started = time.monotonic()
    for r in range(args.rounds):
        crash_round(state, r, rng, acked, args.max_delay)
        mid_write += bool(list((state / "plans").glob(".*.tmp")))
        found = check_plans(state, acked)
        if found:
            problems += [f"round {r}: {p}" for p in found]
            break
        if (r + 1) % 20 == 0:
            print(f"  {r + 1} rounds, {acked.count() + len(acked.marks):,} writes acknowledged, "
                  f"{time.monotonic() - started:.0f} s", flush=True)
    elapsed = time.monotonic() - started
    print(f"{r + 1} rounds in {elapsed:.0f} s ({elapsed / (r + 1):.1f} s a round), state in {state}")
    print(f"writes acknowledged: {acked.count() + len(acked.marks):,} ({len(acked.marks)} plans saved, "
          f"{acked.count():,} updates); kills that left a temporary file mid-write: {mid_write}")
    print(f"plan files: {len(list((state / 'plans').glob('*.json')))}, problems: {len(problems)}")
    for line in problems[:20]:
        print(f"  {line}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
