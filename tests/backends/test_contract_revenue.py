"""The revenue tools (nps, retention, expansion, segments) give the same answer on every engine."""

from __future__ import annotations

import pytest
from conftest import TINY
from contract import ACCOUNT, answer, assert_same_answer, in_engine

pytestmark = pytest.mark.anyio

NPS_CASES = [
    {},
    {"period": "2026-Q1"},
    {"period": "last-12-months", "by": "segment"},
    {"period": "last-12-months", "by": "tenure", "trend": "month"},
    {"period": "last-12-months", "segment": "smb", "followup_days": 365, "limit": 2},
    {"period": "last-12-months", "tenure": "<1y"},
    {"followup_days": 365, "limit": 2},
]


@pytest.mark.parametrize("args", NPS_CASES, ids=lambda a: ",".join(f"{k}={v}" for k, v in a.items()) or "default")
async def test_nps_analysis(args, contract_pair):
    ref, ws = contract_pair
    assert_same_answer(await answer(ref, "nps-analysis", args), await answer(ws, "nps-analysis", args))


RETENTION_CASES = [
    {},
    {"period": "2026-Q1"},
    {"period": "2025"},
    {"by": "segment"},
    {"by": "csm", "limit": 1},
    {"start_date": "2025-06-30", "end_date": "2026-03-31", "by": "plan"},
]


@pytest.mark.parametrize("args", RETENTION_CASES, ids=lambda a: ",".join(f"{k}={v}" for k, v in a.items()) or "default")
async def test_retention_metrics(args, contract_pair):
    ref, ws = contract_pair
    assert_same_answer(await answer(ref, "retention-metrics", args), await answer(ws, "retention-metrics", args))


def _tiny_variant(folder, skip: str = "") -> object:
    import shutil

    from cs_mcp.config import load_settings
    from cs_mcp.workspace.loader import open_workspace

    for f in TINY.iterdir():
        if f.name != skip and not (folder / f.name).exists():
            shutil.copy(f, folder / f.name)
    return open_workspace(load_settings(folder))


@pytest.fixture(scope="module")
def no_history(tmp_path_factory, reference):
    """The tiny workspace without its subscriptions table: retention falls back to accounts' dates."""
    ws = _tiny_variant(tmp_path_factory.mktemp("tiny-no-subscriptions"), skip="subscriptions.csv")
    yield {"nosubs": ws}
    ws.close()


@pytest.fixture(scope="module")
def nps_channel(tmp_path_factory, reference):
    """The tiny workspace with an extra nps column (Channel): a cut of nps-analysis."""
    folder = tmp_path_factory.mktemp("tiny-nps-channel")
    lines = (TINY / "nps.csv").read_text().splitlines()
    channels = ["email", "in-app"]
    rows = [lines[0] + ",Channel"] + [f"{line},{channels[i % 2]}" for i, line in enumerate(lines[1:])]
    (folder / "nps.csv").write_text("\n".join(rows) + "\n")
    ws = _tiny_variant(folder)
    yield {"npschannel": ws}
    ws.close()


@pytest.mark.parametrize("args", [{"period": "last-24-months", "by": "channel"},
                                  {"period": "last-24-months", "by": "nps.Channel", "trend": "month"}],
                         ids=["by=channel", "by=nps.Channel"])
async def test_nps_by_an_nps_column(args, engine, nps_channel, engine_url):
    if engine == "spark":
        pytest.skip("checked on PostgreSQL (Spark serves one workspace at a time)")
    ws = in_engine(engine, "npschannel", nps_channel, engine_url)
    ref = nps_channel["npschannel"]
    want = await answer(ref, "nps-analysis", args)
    assert len(want["groups"]) == 2
    assert_same_answer(want, await answer(ws, "nps-analysis", args))


@pytest.mark.parametrize("args", [{}, {"by": "segment"}], ids=["default", "by=segment"])
async def test_retention_without_subscriptions(args, engine, no_history, engine_url):
    if engine == "spark":
        pytest.skip("the accounts-only fallback is checked on PostgreSQL (Spark serves one workspace at a time)")
    ws = in_engine(engine, "nosubs", no_history, engine_url)
    ref = no_history["nosubs"]
    assert_same_answer(await answer(ref, "retention-metrics", args), await answer(ws, "retention-metrics", args))


EXPANSION_CASES = [
    {},
    {"include_red": True},
    {"type": "cross_sell", "include_red": True},
    {"min_propensity": 40, "include_red": True, "limit": 3},
    {"account": ACCOUNT, "include_red": True},
    {"account": ACCOUNT},
    {"segment": "smb", "include_red": True, "type": "tier_upgrade"},
]


@pytest.mark.parametrize("args", EXPANSION_CASES, ids=lambda a: ",".join(f"{k}={v}" for k, v in a.items()) or "default")
async def test_expansion_opportunities(args, contract_pair):
    ref, ws = contract_pair
    assert_same_answer(await answer(ref, "expansion-opportunities", args),
                       await answer(ws, "expansion-opportunities", args))


SEGMENT_CASES = [
    {},
    {"scheme": "health_value"},
    {"scheme": "lifecycle", "segment_detail": "mature"},
    {"scheme": "rfm"},
    {"scheme": "clusters"},
    {"scheme": "value_tier", "segment_detail": "growth", "limit": 2},
    {"scheme": "lifecycle", "segment": "smb"},
]


@pytest.mark.parametrize("args", SEGMENT_CASES, ids=lambda a: ",".join(f"{k}={v}" for k, v in a.items()) or "default")
async def test_customer_segments(args, name, contract_pair):
    if name == "tiny" and args.get("scheme") == "clusters":
        pytest.skip("the tiny workspace has too few active accounts to cluster")
    ref, ws = contract_pair
    assert_same_answer(await answer(ref, "customer-segments", args), await answer(ws, "customer-segments", args))
