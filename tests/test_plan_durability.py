"""Saved plans survive a server killed mid-write and two servers updating one plan at once."""

import datetime as dt
import random
import threading

import pytest
from plan_writers import Acknowledged, StdioServer, add_note, check_plans, crash_round, create_plan

from cs_mcp.domain.onboarding import OnboardingPlan
from cs_mcp.domain.plan_store import PlanStore

pytestmark = pytest.mark.e2e

KILL_ROUNDS = 3
UPDATES_PER_WRITER = 25


def test_a_server_killed_while_saving_and_updating_plans_loses_no_acknowledged_write(tmp_path):
    acked = Acknowledged()
    rng = random.Random(20270201)
    writes = [crash_round(tmp_path, r, rng, acked) for r in range(KILL_ROUNDS)]
    assert sum(writes) >= KILL_ROUNDS  # each round at least saved its plan before the kill
    assert check_plans(tmp_path, acked) == []
    plans, problems = PlanStore(tmp_path / "plans", OnboardingPlan).load_all()
    assert problems == [] and set(acked.marks) <= {p.plan_id for p in plans}  # (+ one saved unacknowledged)
    server = StdioServer(tmp_path)  # a kill mid-write may leave a temporary file: the next write clears it
    try:
        pid = sorted(acked.marks)[0]
        add_note(server, pid, acked.milestones[pid][0], "after-the-crashes", acked)
    finally:
        server.close()
    assert not list((tmp_path / "plans").glob(".*.tmp"))
    assert check_plans(tmp_path, acked) == []


def test_two_servers_updating_one_plan_at_once_lose_no_update(tmp_path):
    acked = Acknowledged()
    servers = [StdioServer(tmp_path), StdioServer(tmp_path)]
    try:
        pid = create_plan(servers[0], "O-1", dt.date(2027, 2, 1), acked)
        milestones = acked.milestones[pid]
        servers[1].call({"action": "get", "plan_id": pid})  # both servers loaded before the race starts
        barrier = threading.Barrier(2)
        failures: list[BaseException] = []

        def writer(i: int) -> None:
            try:
                barrier.wait(timeout=60)
                for n in range(UPDATES_PER_WRITER):
                    add_note(servers[i], pid, milestones[n % 2], f"w{i}-u{n}", acked)
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                failures.append(exc)

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert failures == []
    finally:
        for server in servers:
            server.close()
    assert len(acked.marks[pid]) == 2 * UPDATES_PER_WRITER
    assert check_plans(tmp_path, acked) == []
