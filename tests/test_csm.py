"""csm-performance on tests/data/engagement, every figure computed by hand.

As of 2026-06-30. Roster: csms C-1 Dana (capacity 2), C-2 Eli (2), C-3 Fay (5); E-6 has no CSM.
Active books (E-5, C-2's, churned on 2026-03-01):
  C-1  E-1 Alpha $100K enterprise, E-2 Beta $40K mid-market, E-3 Gamma $10K smb  -> 3 accounts, $150K, 150% OVER
  C-2  E-4 Delta $5K smb, E-7 Eta $20K mid-market                               -> 2 accounts, $25K, 100% NEAR
  C-3  none                                                                     -> 0 of 5
  unassigned  E-6 Zeta $60K enterprise
Health (the fixture's model is 12-month ARR growth alone: -20% 0, flat 50, +10% 100; bands 80 / 50):
  E-1 90K -> 100K +11% = 100 green; E-2, E-6, E-7 flat = 50 yellow; E-3 12K -> 10K -16.7% = 8.33 red;
  E-4 started 2025-07-30, no ARR a year ago = unscored.   C-1 average (100 + 50 + 8.33) / 3 = 52.78
Retention, last 12 months (2025-06-30 -> 2026-06-30), by current CSM:
  C-1  start 90 + 40 + 12 = 142K; E-1 +10K, E-3 -2K: GRR 140/142 = 98.59%, NRR 150/142 = 105.63%
  C-2  start E-5 30K + E-7 20K = 50K (E-4 new); E-5 churned 30K: GRR = NRR = 40%, logos 1/2
  none E-6 60K flat: 100%.   Team: start 252K, GRR 220/252 = 87.30%, NRR 230/252 = 91.27%, logos 5/6
Touches (30 days: after 05-31; 90 days: after 04-01), on the active book's accounts:
  C-1  E-1 2 / 6, E-2 1 / 3, E-3 0 / 0 -> 3 / 9 (1.0 / 3.0 per account); C-2 E-4 1 / 1 -> 1 / 1 (0.5 / 0.5)
  unassigned E-6 0 / 2.  Team 4 / 12 over 6 accounts: 2.0 per account in 90 days
Overdue (enterprise 30, mid-market 45, smb 90 days): E-3 211 > 90, E-7 never, E-6 46 > 30; E-1 5, E-2 29, E-4 10 fine
Renewals in 90 days (to 2026-09-28): E-1 08-14, E-4 07-30, E-3 09-15 -> C-1 2 ($110K), C-2 1 ($5K).
  At risk = renewal-forecast's rule (renewal probability under 75%, here 1 - the injected churn probability):
  E-1 only when its churn probability is 0.60 (40%); E-3 at 0.20 (80%) is not, whatever its health band.
"""

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from mcp import Client

from cs_mcp.config import load_settings
from cs_mcp.domain.csm import csm_performance
from cs_mcp.domain.errors import InvalidArgument
from cs_mcp.server import create_server

ENGAGEMENT = Path(__file__).parent / "data" / "engagement"


@dataclass
class FixedChurn:
    account_ids: np.ndarray
    probability: np.ndarray
    method: str = "model"


IDS = np.array(["E-1", "E-2", "E-3", "E-4", "E-6", "E-7"], dtype=object)
E1_HIGH = FixedChurn(IDS, np.array([0.60, 0.10, 0.20, 0.10, 0.10, 0.10]))  # E-1 high tier (>= 55%)
ALL_LOW = FixedChurn(IDS, np.full(6, 0.10))


def _open(path=ENGAGEMENT):
    from cs_mcp.workspace.loader import open_workspace

    return open_workspace(load_settings(path))


@pytest.fixture(scope="module")
def ws():
    with _open() as w:
        yield w


def books(report):
    return {b.csm_id: b for b in report.csms}


def test_books_capacity_and_utilization_flags(ws):
    r = csm_performance(ws, churn=E1_HIGH)
    b = books(r)
    assert [x.csm_id for x in r.csms] == ["C-1", "unassigned", "C-2", "C-3"]  # by ARR
    assert (b["C-1"].accounts, b["C-1"].arr, b["C-1"].utilization, b["C-1"].capacity_flag) == (3, 150_000, 1.5, "over")
    assert (b["C-2"].accounts, b["C-2"].arr, b["C-2"].utilization, b["C-2"].capacity_flag) == (2, 25_000, 1.0, "near")
    assert (b["C-3"].accounts, b["C-3"].utilization, b["C-3"].capacity_flag) == (0, 0.0, "ok")
    assert (b["unassigned"].accounts, b["unassigned"].capacity, b["unassigned"].capacity_flag) == (1, None, "unknown")
    assert (b["C-1"].name, b["C-1"].team) == ("Dana", "Enterprise")


def test_health_mix_and_average_come_from_the_snapshot(ws):
    b = books(csm_performance(ws, churn=E1_HIGH))
    h = b["C-1"].health
    assert (h.green, h.yellow, h.red, h.unknown) == (1, 1, 1, 0)
    assert (h.green_arr, h.yellow_arr, h.red_arr) == (100_000, 40_000, 10_000)
    assert b["C-1"].average_health == pytest.approx(52.78, abs=0.01)
    c2 = b["C-2"].health
    assert (c2.yellow, c2.unknown, c2.unknown_arr, b["C-2"].average_health) == (1, 1, 5_000, 50.0)


def test_book_retention_reuses_the_retention_figures_per_csm(ws):
    r = csm_performance(ws, churn=E1_HIGH)
    b = books(r)
    c1, c2, none = b["C-1"].retention, b["C-2"].retention, b["unassigned"].retention
    assert c1.start_arr == 142_000
    assert (c1.grr, c1.nrr) == (pytest.approx(140 / 142, abs=1e-6), pytest.approx(150 / 142, abs=1e-6))
    assert (c2.start_arr, c2.churned_arr, c2.grr, c2.nrr, c2.logo_retention) == (50_000, 30_000, 0.4, 0.4, 0.5)
    assert (none.grr, none.nrr) == (1.0, 1.0)
    assert b["C-3"].retention is None
    team = r.team.retention
    assert (team.start_arr, team.grr, team.nrr) == (
        252_000, pytest.approx(220 / 252, abs=1e-6), pytest.approx(230 / 252, abs=1e-6)
    )
    assert team.logo_retention == pytest.approx(5 / 6, abs=1e-6)


def test_activity_and_overdue_touches_per_book(ws):
    b = books(csm_performance(ws, churn=E1_HIGH))
    a = b["C-1"].activity
    assert (a.touches_recent, a.touches_window, a.per_account_recent, a.per_account_window) == (3, 9, 1.0, 3.0)
    assert (b["C-2"].activity.touches_window, b["C-2"].activity.per_account_window) == (1, 0.5)
    c1 = b["C-1"].coverage
    assert (c1.overdue_accounts, c1.overdue_arr) == (1, 10_000)
    assert (c1.top[0].account_id, c1.top[0].days_since_last_touch, c1.top[0].overdue_after_days) == ("E-3", 211, 90)
    c2 = b["C-2"].coverage.top[0]
    assert (c2.account_id, c2.days_since_last_touch, c2.overdue_after_days) == ("E-7", None, 45)
    zeta = b["unassigned"].coverage.top[0]
    assert (zeta.account_id, zeta.days_since_last_touch, zeta.overdue_after_days) == ("E-6", 46, 30)


def test_renewals_at_risk_follow_the_one_renewal_probability_rule(ws):
    b = books(csm_performance(ws, churn=E1_HIGH))
    r1 = b["C-1"].renewals
    assert (r1.due, r1.due_arr, r1.at_risk, r1.at_risk_arr) == (2, 110_000, 1, 100_000)
    assert [(x.account_id, x.health_band, x.churn_tier, x.renewal_probability) for x in r1.at_risk_accounts] == [
        ("E-1", "green", "high", 40.0)  # 1 - 0.60; E-3 is red but 80% likely to renew
    ]
    assert str(r1.at_risk_accounts[0].renewal_date) == "2026-08-14"
    r2 = b["C-2"].renewals
    assert (r2.due, r2.due_arr, r2.at_risk) == (1, 5_000, 0)
    low = books(csm_performance(ws, churn=ALL_LOW))["C-1"].renewals
    assert (low.at_risk, low.at_risk_arr) == (0, 0)


def _beta_renews_in_september(tmp_path):
    """A copy where Beta ($40K) renews on 2026-09-01, inside the 90 days, beside Alpha ($100K)."""
    for f in ENGAGEMENT.iterdir():
        shutil.copy(f, tmp_path / f.name)
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(accounts.read_text().replace("E-2,Beta Inc,mid-market,C-1,growth,40000,20,2025-03-01,"
                                                     "2027-03-01", "E-2,Beta Inc,mid-market,C-1,growth,40000,20,"
                                                     "2025-03-01,2026-09-01"))
    return tmp_path


def test_save_plans_start_with_the_largest_expected_loss_not_the_largest_arr(tmp_path):
    # Alpha $100K x 30% = $30K expected loss, Beta $40K x 97% = $38.8K: Beta's save plan comes first although
    # Alpha's ARR is larger
    churn = FixedChurn(IDS, np.array([0.30, 0.97, 0.20, 0.10, 0.10, 0.10]))
    with _open(_beta_renews_in_september(tmp_path)) as w:
        c1 = books(csm_performance(w, churn=churn))["C-1"]
    r = c1.renewals
    assert [(a.account_id, a.expected_loss, a.churn_probability, a.renewal_category, a.churn_tier)
            for a in r.at_risk_accounts] == [
        ("E-2", 38_800, 97.0, "high_risk", "critical"), ("E-1", 30_000, 30.0, "at_risk", "low"),
    ]
    assert (
        "start save plans with renewal-strategy, largest expected loss (ARR x risk of loss) first: Beta Inc ($40K "
        "ARR, 97% risk of loss: renewal high risk, churn tier critical), then Alpha Corp ($100K ARR, 30% risk of "
        "loss: renewal at risk, churn tier low)." in " ".join(c1.coaching_notes)
    )


def test_save_plans_can_start_with_the_likeliest_loss_instead(tmp_path):
    # Alpha $100K x 30% = $30K, Beta $40K x 70% = $28K: Alpha first by expected loss, Beta (70%) first by risk
    from cs_mcp.workspace.loader import open_workspace

    churn = FixedChurn(IDS, np.array([0.30, 0.70, 0.20, 0.10, 0.10, 0.10]))
    path = _beta_renews_in_september(tmp_path)
    with _open(path) as w:
        assert [a.account_id for a in books(csm_performance(w, churn=churn))["C-1"].renewals.at_risk_accounts] == [
            "E-1", "E-2"
        ]
    with open_workspace(load_settings(path, overrides={"csm": {"save_plan_order": "risk"}})) as w:
        c1 = books(csm_performance(w, churn=churn))["C-1"]
    assert [a.account_id for a in c1.renewals.at_risk_accounts] == ["E-2", "E-1"]
    assert "start save plans with renewal-strategy, likeliest to be lost (then largest ARR) first: Beta Inc" in (
        " ".join(c1.coaching_notes)
    )


def test_coaching_notes_quote_the_figures(ws):
    b = books(csm_performance(ws, churn=E1_HIGH))
    assert b["C-1"].coaching_notes == [
        "Book of 3 accounts is 150% of capacity 2: move 1 account to a CSM with room or to a pooled model.",
        "1 of 2 renewals in the next 90 days at risk ($100K): start save plans with renewal-strategy, largest "
        "expected loss (ARR x risk of loss) first: Alpha Corp ($100K ARR, 60% risk of loss: renewal high risk, "
        "churn tier high).",
        "1 of 3 accounts overdue for a touch ($10K ARR; largest Gamma LLC $10K, 211 days): book a check-in "
        "sprint this week.",
        "1 of 3 accounts red ($10K ARR): review each with health-score and agree recovery plans.",
        "NRR 105.6% over the last 12 months vs target 110%: look for expansion in the healthy accounts "
        "(expansion-opportunities).",
    ]
    assert b["C-2"].coaching_notes == [
        "At 100% of capacity (2 of 2): hold new assignments.",
        "1 of 2 accounts overdue for a touch ($20K ARR; largest Eta Works $20K, never touched): book a check-in "
        "sprint this week.",
        "GRR 40.0% over the last 12 months vs target 90% ($30K churned): run a loss review of churned and "
        "contracted accounts.",
        "0.5 touches per account in 90 days vs 2.0 for the team: block time for proactive outreach.",
    ]
    assert b["C-3"].coaching_notes == ["No active accounts assigned (capacity 5): room for new assignments."]
    assert b["unassigned"].coaching_notes[0] == (
        "1 active account has no CSM ($60K ARR): assign owners, largest ARR first."
    )


def test_team_totals_cover_every_book(ws):
    t = csm_performance(ws, churn=E1_HIGH).team
    assert (t.csms, t.accounts, t.arr, t.capacity, t.utilization) == (3, 6, 235_000, 9, pytest.approx(5 / 9, abs=1e-4))
    assert (t.over_capacity, t.near_capacity, t.unassigned_accounts, t.unassigned_arr) == (1, 1, 1, 60_000)
    assert (t.health.green, t.health.yellow, t.health.red, t.health.unknown) == (1, 3, 1, 1)
    assert t.average_health == pytest.approx(51.67, abs=0.01)  # (100 + 50 + 8.33 + 50 + 50) / 5
    assert (t.activity.touches_recent, t.activity.touches_window, t.activity.per_account_window) == (4, 12, 2.0)
    assert (t.coverage.overdue_accounts, t.coverage.overdue_arr) == (3, 90_000)
    assert [o.account_id for o in t.coverage.top] == ["E-6", "E-7", "E-3"]
    assert (t.renewals.due, t.renewals.due_arr, t.renewals.at_risk, t.renewals.at_risk_arr) == (3, 115_000, 1, 100_000)


def test_sort_by_any_metric_with_missing_values_last_and_pages(ws):
    by_grr = csm_performance(ws, sort="grr", order="asc", churn=E1_HIGH)
    assert [b.csm_id for b in by_grr.csms] == ["C-2", "C-1", "unassigned", "C-3"]  # C-3 has no GRR
    by_accounts = csm_performance(ws, sort="accounts", churn=E1_HIGH)
    assert [b.csm_id for b in by_accounts.csms] == ["C-1", "C-2", "unassigned", "C-3"]
    first = csm_performance(ws, sort="overdue_arr", limit=2, churn=E1_HIGH)
    assert [b.csm_id for b in first.csms] == ["unassigned", "C-2"]
    rest = csm_performance(ws, sort="overdue_arr", limit=2, cursor=first.next_cursor, churn=E1_HIGH)
    assert ([b.csm_id for b in rest.csms], rest.next_cursor, rest.total) == (["C-1", "C-3"], None, 4)


def test_one_csm_by_id_keeps_the_team_totals_and_unknown_ids_are_refused(ws):
    one = csm_performance(ws, csm_id="c-2", churn=E1_HIGH)
    assert ([b.csm_id for b in one.csms], one.filters, one.team.accounts) == (["C-2"], {"csm_id": "C-2"}, 6)
    assert [b.csm_id for b in csm_performance(ws, csm_id="unassigned", churn=E1_HIGH).csms] == ["unassigned"]
    with pytest.raises(InvalidArgument, match="C-1, C-2, C-3"):
        csm_performance(ws, csm_id="C-9")


def test_with_accounts_only_the_roster_comes_from_accounts_and_gaps_are_named(tmp_path):
    for name in ("accounts.csv", "cs-mcp.yaml"):
        shutil.copy(ENGAGEMENT / name, tmp_path / name)
    with _open(tmp_path) as bare:
        r = csm_performance(bare, churn=ALL_LOW)
    b = books(r)
    assert set(b) == {"C-1", "C-2", "unassigned"}
    c1 = b["C-1"]
    assert (c1.accounts, c1.capacity, c1.capacity_flag, c1.activity) == (3, None, "unknown", None)
    assert b["C-1"].retention.grr is None and b["C-2"].retention.logo_retention == 0.5
    assert (b["C-1"].renewals.due, b["C-1"].renewals.at_risk) == (2, 0)  # no health, low churn
    assert r.not_computed == [
        "capacity and utilization: no csms table",
        "activity and overdue touches: no touchpoints table",
        "GRR / NRR per book: no subscriptions table (ARR history)",
    ]
    assert r.tables_used == ["accounts"]


# ------------------------------------------------------------------ through MCP


@pytest.fixture(params=["auto", "legacy"])
async def csm_client(request, ws):
    async with Client(create_server(ws.settings, ws, warm_up=False), mode=request.param) as c:
        yield c


@pytest.mark.anyio
async def test_csm_performance_tool_leads_with_the_team_and_each_book(csm_client):
    tools = {t.name: t for t in (await csm_client.list_tools()).tools}
    assert tools["csm-performance"].annotations.read_only_hint is True
    result = await csm_client.call_tool("csm-performance", {})
    assert not result.is_error
    data = result.structured_content
    assert [b["csm_id"] for b in data["csms"]] == ["C-1", "unassigned", "C-2", "C-3"]
    # real churn scores here: the leading-indicator fallback (one churn outcome), E-1 fires no indicator
    assert data["csms"][0]["renewals"]["at_risk"] == 1
    text = result.content[0].text
    assert text.startswith(
        "CSM performance as of 2026-06-30: 3 CSMs, 6 active accounts, $235K ARR; capacity 9 (55.6% used), "
        "1 over, 1 near; 1 unassigned ($60K)"
    )
    assert "GRR 87.3%, NRR 91.3% (last 12 months)" in text
    assert "- C-1 Dana (Enterprise): 3 accts $150K | 150% of capacity 2 OVER" in text
    assert len(text) < 3000


@pytest.mark.anyio
async def test_csm_performance_tool_shows_one_csm_in_full_and_refuses_bad_arguments(csm_client):
    one = await csm_client.call_tool("csm-performance", {"csm_id": "C-2"})
    assert not one.is_error
    text = one.content[0].text
    assert "0.5 touches per account in 90 days vs 2.0 for the team" in text
    assert "Overdue: Eta Works $20K never touched" in text
    bad = await csm_client.call_tool("csm-performance", {"csm_id": "C-9"})
    assert bad.is_error and "C-1, C-2, C-3" in bad.content[0].text
    sort = await csm_client.call_tool("csm-performance", {"sort": "vibes"})
    assert sort.is_error and "overdue_accounts" in sort.content[0].text


# ------------------------------------------------------------------ the bundled demo


def test_on_the_demo_every_book_adds_up_to_the_team_and_the_text_is_compact():
    from cs_mcp.tools.csm import render_csm

    with _open(None) as demo:
        r = csm_performance(demo, limit=50)
        text = render_csm(r)
    assert len(text) < 12_000
    assert r.total == 15  # 14 CSMs and the unassigned accounts
    assert sum(b.accounts for b in r.csms) == r.team.accounts
    assert sum(b.arr for b in r.csms) == pytest.approx(r.team.arr)
    assert r.team.capacity > 0 and all(b.coaching_notes for b in r.csms)
    assert all(0 <= (b.retention.grr or 0) <= 1 for b in r.csms if b.retention)
