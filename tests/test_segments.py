"""customer-segments on tests/data/growth, every figure computed by hand.

The fixture, as of 2026-06-30; churn window 2025-06-30 -> 2026-06-30. Health = seat utilization only (see its
cs-mcp.yaml): 20% -> 0, 50% -> 50, 80%+ -> 100, linear between; green >= 80, yellow >= 50.
  id    CRM seg  ARR now  ARR 2025-06-30  seats  users now (util, health)   last login   notes
  G-01  ent      120,000  100,000         200    184 (92%, 100 green)       1 day        contract 2022
  G-02  ent       50,000   40,000         100     50 (50%, 50 yellow)       13 days      renews 2026-08-15 (46 d)
  G-03  mid       30,000   (started 2026-05-01)  50  40 (80%, 100 green)    1 day        onboarding (day 60)
  G-04  mid       15,000   12,000          40     14 (35%, 25 red)          8 days
  G-05  smb       10,000   (started 2025-11-01)  20  16 (80%, 100 green)    1 day        adopting (day 241)
  G-06  smb        5,000    5,000          10     none in 28 days (0, red)  46 days      dormant
  G-07  smb        3,000    6,000          10      9 (90%, 100 green)       4 days       invoice 60 days overdue
  G-08  ent       churned 2026-02-01, 60,000 then; G-10 smb churned 2025-12-01, 4,000; G-09 churned 2025-03-01.
Active now: G-01..G-07, ARR 233,000. Active on 2025-06-30: G-01, G-02, G-04, G-06, G-07, G-08, G-10 (7), of
which G-08 and G-10 churned in the window: portfolio churn 2/7.
Health on 2025-06-30 (usage rows of 2025-06-29, seats as now): G-01 150/200 = 75% -> 91.67 green; G-02 60% ->
66.67 yellow; G-04 75% -> 91.67 green; G-06 80% -> 100; G-07 90% -> 100; G-08 30/120 = 25% -> 8.33 red;
G-10 50% -> 50 yellow.
"""

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pytest
from mcp import Client

from cs_mcp.config import load_settings
from cs_mcp.domain.errors import InvalidArgument, NoData
from cs_mcp.domain.segments import _quantile_score, customer_segments
from cs_mcp.server import create_server
from cs_mcp.tools.segments import render_segments

GROWTH = Path(__file__).parent / "data" / "growth"
TOTAL = 233_000


def _open(path=GROWTH, overrides=None):
    from cs_mcp.workspace.loader import open_workspace

    return open_workspace(load_settings(path, overrides=overrides))


@pytest.fixture(scope="module")
def ws():
    with _open() as w:
        yield w


def by_name(result):
    return {s.name: s for s in result.segments}


def members(ws, scheme, segment, **kw):
    detail = customer_segments(ws, scheme, segment_detail=segment, **kw).detail
    return [a.account_id for a in detail.accounts]


# ------------------------------------------------------------------ value tier


def test_value_tiers_match_the_hand_computation(ws):
    r = customer_segments(ws, "value_tier")
    assert (r.active_accounts, r.active_arr) == (7, TOTAL)
    assert [s.name for s in r.segments] == ["strategic", "growth", "core", "starter"]
    s = by_name(r)
    # strategic: G-01; growth: G-02 (exactly 50,000 falls below "above $50K") and G-03; core: G-04 (exactly
    # 15,000) and G-05; starter: G-06 (exactly 5,000) and G-07
    assert (s["strategic"].accounts, s["strategic"].arr, s["strategic"].average_arr) == (1, 120_000, 120_000)
    assert (s["growth"].accounts, s["growth"].arr, s["growth"].average_arr) == (2, 80_000, 40_000)
    assert (s["core"].accounts, s["core"].arr, s["core"].average_arr) == (2, 25_000, 12_500)
    assert (s["starter"].accounts, s["starter"].arr, s["starter"].average_arr) == (2, 8_000, 4_000)
    assert s["strategic"].arr_share == pytest.approx(120 / 233, abs=1e-6)
    assert s["starter"].arr_share == pytest.approx(8 / 233, abs=1e-6)
    # average health: 100; (50 + 100) / 2; (25 + 100) / 2; (0 + 100) / 2
    assert [s[n].average_health for n in ("strategic", "growth", "core", "starter")] == [100, 75, 62.5, 50]
    assert members(ws, "value_tier", "growth") == ["G-02", "G-03"]  # largest ARR first


def test_churn_rates_count_accounts_in_the_tier_they_held_at_the_window_start(ws):
    r = customer_segments(ws, "value_tier")
    s = by_name(r)
    # ARR on 2025-06-30 from subscriptions: strategic G-01 (100K), G-08 (60K, churned); growth G-02 (40K);
    # core G-04 (12K), G-07 (6K, now 3K: starter); starter G-06 (5K), G-10 (4K, churned)
    assert [(s[n].churned, s[n].churn_base) for n in ("strategic", "growth", "core", "starter")] == [
        (1, 2),
        (0, 1),
        (0, 2),
        (1, 2),
    ]
    assert (s["strategic"].churn_rate, s["core"].churn_rate, s["starter"].churn_rate) == (0.5, 0.0, 0.5)
    assert (r.portfolio_churned, r.portfolio_churn_base) == (2, 7)
    assert r.portfolio_churn_rate == pytest.approx(2 / 7, abs=1e-6)
    assert r.churn_window_start == dt.date(2025, 6, 30)
    assert "ARR on 2025-06-30 from subscriptions" in r.churn_rule


def test_each_tier_carries_its_configured_coverage_model(ws):
    s = by_name(customer_segments(ws, "value_tier"))
    assert s["strategic"].coverage.startswith("dedicated CSM, high-touch")
    assert s["starter"].coverage.startswith("digital / scaled")
    assert s["strategic"].description == "ARR above $50K"
    assert s["core"].description == "ARR above $5,000 up to $15K"


def test_the_crm_segment_filter_narrows_both_the_segments_and_the_churn_base(ws):
    r = customer_segments(ws, "value_tier", segment="SMB")
    s = by_name(r)
    assert (r.active_accounts, r.active_arr) == (3, 18_000)  # G-05, G-06, G-07
    assert (s["core"].accounts, s["starter"].accounts, s["strategic"].accounts) == (1, 2, 0)
    assert s["core"].arr_share == pytest.approx(10 / 18, abs=1e-6)
    # on 2025-06-30: G-07 core (6K), G-06 and G-10 starter; G-10 churned
    assert (s["core"].churned, s["core"].churn_base, s["starter"].churned, s["starter"].churn_base) == (0, 1, 1, 2)
    assert r.filters == {"segment": "SMB"}
    with pytest.raises(InvalidArgument, match="enterprise, mid-market, smb"):
        customer_segments(ws, "value_tier", segment="galactic")


# --------------------------------------------------------------- health x value


def test_health_value_cells_are_named_by_their_play(ws):
    r = customer_segments(ws, "health_value")
    s = by_name(r)
    # now: G-01 high/green grow; G-02 mid/yellow nurture; G-03 mid/green expand; G-04 and G-06 low/red
    # automated recovery; G-05 and G-07 low/green advocate
    assert {n: c.accounts for n, c in s.items() if c.accounts} == {
        "grow": 1,
        "nurture": 1,
        "expand": 1,
        "automated_recovery": 2,
        "advocate": 2,
    }
    assert s["automated_recovery"].average_health == 12.5  # (25 + 0) / 2
    assert members(ws, "health_value", "automated recovery") == ["G-04", "G-06"]
    assert s["grow"].coverage == "expansion, references, EBR"
    assert s["save"].description == "high value (strategic) with red health"


def test_health_value_churn_uses_the_cell_a_year_ago(ws):
    s = by_name(customer_segments(ws, "health_value"))
    # 2025-06-30: G-08 strategic red -> save (churned); G-10 starter yellow -> automated nudges (churned);
    # G-04, G-06, G-07 low green -> advocate; G-01 grow; G-02 nurture
    assert (s["save"].accounts, s["save"].churned, s["save"].churn_base, s["save"].churn_rate) == (0, 1, 1, 1.0)
    assert (s["automated_nudges"].churned, s["automated_nudges"].churn_base) == (1, 1)
    assert (s["advocate"].churned, s["advocate"].churn_base) == (0, 3)
    assert (s["grow"].churn_base, s["nurture"].churn_base, s["expand"].churn_base) == (1, 1, 0)
    assert s["expand"].churn_rate is None
    assert "protect" not in s  # empty now and a year ago


# -------------------------------------------------------------------- lifecycle


def test_lifecycle_stages_follow_the_documented_precedence(ws):
    r = customer_segments(ws, "lifecycle")
    s = by_name(r)
    assert [x.name for x in r.segments] == ["onboarding", "adopting", "mature", "renewal_due", "at_risk", "churned"]
    assert members(ws, "lifecycle", "onboarding") == ["G-03"]  # day 60 < 90
    assert members(ws, "lifecycle", "adopting") == ["G-05"]  # day 241 < 365; renews in 124 days > 120
    assert members(ws, "lifecycle", "mature") == ["G-01"]
    assert members(ws, "lifecycle", "renewal due") == ["G-02"]  # renews in 46 days, yellow
    # at risk before renewal due: G-04 red; G-06 red and no logins for 46 days; G-07 (renews in 93 days)
    # has an invoice 60 days overdue, a tier-1 churn indicator
    assert members(ws, "lifecycle", "at_risk") == ["G-04", "G-06", "G-07"]
    assert (s["at_risk"].arr, s["at_risk"].average_health) == (23_000, pytest.approx(125 / 3, abs=0.01))
    detail = customer_segments(ws, "lifecycle", segment_detail="at_risk").detail
    why = {a.account_id: a.detail for a in detail.accounts}
    assert why["G-07"] == "invoice 60 days overdue"
    assert why["G-06"].startswith("health red (0); active users down 100% in 30 days; no logins for 46 days")
    assert customer_segments(ws, "lifecycle", segment_detail="renewal_due").detail.accounts[0].detail == (
        "renewal in 46 days"
    )


def test_lifecycle_churned_stage_holds_the_accounts_lost_in_the_window(ws):
    s = by_name(customer_segments(ws, "lifecycle"))
    churned = s["churned"]
    assert (churned.accounts, churned.arr, churned.arr_share, churned.churn_rate) == (2, 64_000, None, None)
    detail = customer_segments(ws, "lifecycle", segment_detail="churned").detail
    assert [(a.account_id, a.detail) for a in detail.accounts] == [
        ("G-08", "churned 2026-02-01"),
        ("G-10", "churned 2025-12-01"),
    ]  # G-09 churned before the window


def test_lifecycle_churn_rates_use_the_stage_a_year_ago(ws):
    s = by_name(customer_segments(ws, "lifecycle"))
    # 2025-06-30: G-08 red -> at risk (churned); renewals moved back a year: G-02 2025-08-15 (46 d) and
    # G-07 2025-10-01 (93 d) -> renewal due; G-01 (2026-01-15), G-04, G-06, G-10 (2025-12-01, 154 d) mature
    assert (s["at_risk"].churned, s["at_risk"].churn_base) == (1, 1)
    assert (s["renewal_due"].churned, s["renewal_due"].churn_base) == (0, 2)
    assert (s["mature"].churned, s["mature"].churn_base, s["mature"].churn_rate) == (1, 4, 0.25)
    assert s["onboarding"].churn_base == 0 and s["onboarding"].churn_rate is None


# -------------------------------------------------------------------------- RFM


def test_quantile_scores_share_ties_and_rank_by_the_share_at_or_below():
    ref = np.array([0.0, 1, 2, 3, 4, 5, 6])
    # share at or below x, times 5, rounded up: 1/7 -> 1, 2/7 -> 2, 3/7 -> 3, 4/7 -> 3, 5/7 -> 4, 6/7 and 7/7 -> 5
    assert _quantile_score(ref, ref, 5).tolist() == [1, 2, 3, 3, 4, 5, 5]
    tied = np.array([-1.0, -1, -1, -4, -8])
    assert _quantile_score(tied, tied, 5).tolist() == [5, 5, 5, 2, 1]


def test_rfm_scores_and_groups_match_the_hand_computation(ws):
    # R from days since login (1, 13, 1, 8, 1, 46, 4): G-01/03/05 5, G-07 3, G-04 3, G-02 2, G-06 1
    # F logins/user/week (5, 2, 3, 1, 4, 0, 6): G-06 1, G-04 2, G-02 3, G-03 3, G-05 4, G-01 5, G-07 5
    # M ARR: G-07 1, G-06 2, G-05 3, G-04 3, G-03 4, G-02 5, G-01 5
    r = customer_segments(ws, "rfm")
    s = by_name(r)
    assert members(ws, "rfm", "champions") == ["G-01"]  # 5 5 5
    assert members(ws, "rfm", "loyal") == ["G-05"]  # 5 4 3
    assert members(ws, "rfm", "at_risk") == ["G-02"]  # 2 3 5: high value fading
    assert members(ws, "rfm", "dormant") == ["G-06"]  # 46 days without a login
    assert members(ws, "rfm", "needs_attention") == ["G-03", "G-04", "G-07"]  # 5 3 4, 3 2 3, 3 5 1
    assert s["champions"].profile["recency_score"] == 5.0
    assert s["needs_attention"].profile == {
        "recency_score": pytest.approx(11 / 3, abs=0.01),
        "frequency_score": pytest.approx(10 / 3, abs=0.01),
        "monetary_score": pytest.approx(8 / 3, abs=0.01),
        "days_since_last_login": pytest.approx(13 / 3, abs=0.1),
        "logins_per_user_week": pytest.approx(10 / 3, abs=0.01),
    }
    detail = customer_segments(ws, "rfm", segment_detail="at risk").detail
    assert detail.accounts[0].detail == "R2 F3 M5: last login 13 days ago, 2.0 logins/user/week"


def test_rfm_churn_scores_last_year_against_todays_distribution(ws):
    s = by_name(customer_segments(ws, "rfm"))
    # 2025-06-30, all last logins 1 day before (R 5); F: G-01 5.0 -> 5, G-02 2.0 -> 3, G-04 1.0 -> 2,
    # G-06 3.0 -> 3, G-07 6.0 -> 5, G-08 0.5 -> 1, G-10 1.0 -> 2; M (ARR then): 100K 5, 40K 4, 12K 3, 5K 2,
    # 6K 2, 60K 5, 4K 1 -> champions G-01; needs attention G-02, G-06; promising G-04, G-10 (churned);
    # loyal G-07; at risk G-08 (churned)
    assert (s["promising"].churned, s["promising"].churn_base, s["promising"].accounts) == (1, 2, 0)
    assert (s["at_risk"].churned, s["at_risk"].churn_base) == (1, 1)
    assert (s["needs_attention"].churn_base, s["loyal"].churn_base, s["champions"].churn_base) == (2, 1, 1)
    assert s["dormant"].churn_base == 0


def test_rfm_without_usage_says_which_table_to_add(tmp_path):
    for name in ("accounts.csv", "subscriptions.csv", "cs-mcp.yaml"):
        shutil.copy(GROWTH / name, tmp_path / name)
    with _open(tmp_path) as bare:
        with pytest.raises(NoData, match="usage"):
            customer_segments(bare, "rfm")
        with pytest.raises(NoData, match="health score"):
            customer_segments(bare, "health_value")
        r = customer_segments(bare, "value_tier")
        assert [x.accounts for x in r.segments] == [1, 2, 2, 2]
        assert all(x.average_health is None for x in r.segments)
        assert any(n.startswith("average health") for n in r.not_computed)
        lc = by_name(customer_segments(bare, "lifecycle"))
        assert lc["at_risk"].accounts == 0  # no health, no indicator data
        assert lc["renewal_due"].accounts == 2  # G-02 and G-07 renew within 120 days


# --------------------------------------------------------------------- clusters


CLUSTER_ACCOUNTS = "account_id,name,segment,plan,arr,seats_purchased,contract_start,renewal_date,status\n" + "".join(
    f"{p}-{i},{p} {i},{seg},pro,{arr + i * 1000},{seats},2024-01-01,2027-01-01,active\n"
    for p, seg, arr, seats in (("BIG", "enterprise", 100_000, 100), ("SMALL", "smb", 5_000, 10))
    for i in range(5)
)
CLUSTER_USAGE = "account_id,date,active_users,logins\n" + "".join(
    f"{p}-{i},2026-06-29,{users},{users * 4 * rate}\n"
    for p, users, rate in (("BIG", 30, 1), ("SMALL", 9, 6))
    for i in range(5)
)


@pytest.fixture(scope="module")
def two_groups(tmp_path_factory):
    path = tmp_path_factory.mktemp("two-groups")
    (path / "accounts.csv").write_text(CLUSTER_ACCOUNTS)
    (path / "usage.csv").write_text(CLUSTER_USAGE)
    (path / "cs-mcp.yaml").write_text("data:\n  as_of: 2026-06-30\n")
    with _open(path) as w:
        yield w


def test_clusters_find_two_obvious_groups_and_name_them_by_their_features(two_groups):
    r = customer_segments(two_groups, "clusters")
    cm = r.cluster_model
    assert cm.k == 2 and cm.silhouette > 0.8
    assert set(cm.silhouettes) == {2, 3, 4, 5, 6}
    assert "tenure_days: the same for every account" in cm.dropped_features
    assert "nps: no data" in cm.dropped_features
    big, small = r.segments  # largest ARR first
    assert members(two_groups, "clusters", "1") == [f"BIG-{i}" for i in (4, 3, 2, 1, 0)]
    assert members(two_groups, "clusters", "cluster 2") == [f"SMALL-{i}" for i in (4, 3, 2, 1, 0)]
    assert (big.accounts, big.arr) == (5, 510_000)
    words = {"high ARR", "low seat use", "low login frequency", "low health"}
    assert big.name.split(", ")[0] in words and big.name.split(", ")[1] in words
    assert small.name.split(", ")[0] in {"low ARR", "high seat use", "high login frequency", "high health"}
    assert big.profile["seat_utilization"] == 0.3 and small.profile["logins_per_user_week"] == 6.0
    assert any(d.startswith("seat use 30% vs 60%") for d in big.distinctive)
    assert "most of this cluster's ARR is strategic" in big.coverage
    assert members(two_groups, "clusters", big.name) == members(two_groups, "clusters", "1")


def test_clusters_are_deterministic_and_cover_every_active_account(ws):
    r = customer_segments(ws, "clusters")
    assert 2 <= r.cluster_model.k <= 6
    assert sum(s.accounts for s in r.segments) == 7 and sum(s.arr for s in r.segments) == TOTAL
    assert sum(s.churn_base for s in r.segments) == 7
    assert all(s.name and s.description.startswith("cluster ") for s in r.segments)
    with _open() as again:
        assert [s.name for s in customer_segments(again, "clusters").segments] == [s.name for s in r.segments]


def test_clusters_need_enough_accounts(ws):
    with pytest.raises(NoData, match="at least 3 active accounts"):
        customer_segments(ws, "clusters", segment="enterprise")


# ---------------------------------------------------------------- detail paging


def test_segment_detail_pages_largest_arr_first_and_refuses_unknown_names(ws):
    first = customer_segments(ws, "lifecycle", segment_detail="at_risk", limit=2)
    assert (first.detail.total, first.detail.returned) == (3, 2)
    assert [a.account_id for a in first.detail.accounts] == ["G-04", "G-06"]
    second = customer_segments(ws, "lifecycle", segment_detail="at_risk", limit=2, cursor=first.detail.next_cursor)
    assert [a.account_id for a in second.detail.accounts] == ["G-07"] and second.detail.next_cursor is None
    a = first.detail.accounts[0]
    assert (a.name, a.crm_segment, a.csm_id, a.arr, a.health_score, a.health_band) == (
        "Delta LLC",
        "mid-market",
        "CSM-2",
        15_000,
        25.0,
        "red",
    )
    with pytest.raises(InvalidArgument, match="onboarding, adopting, mature, renewal_due, at_risk, churned"):
        customer_segments(ws, "lifecycle", segment_detail="sleepy")
    with pytest.raises(InvalidArgument, match="segment_detail"):
        customer_segments(ws, "value_tier", cursor=first.detail.next_cursor)
    assert customer_segments(ws, "value_tier").detail is None


def test_settings_move_the_tier_thresholds_and_the_lifecycle_window():
    with _open(overrides={"segments": {"value_tiers": {"strategic": 40_000}, "renewal_window_days": 30}}) as w:
        s = by_name(customer_segments(w, "value_tier"))
        assert (s["strategic"].accounts, s["growth"].accounts) == (2, 1)  # G-02 (50K) is now strategic
        assert members(w, "lifecycle", "renewal_due") == []  # G-02 renews in 46 days > 30
        assert "G-02" in members(w, "lifecycle", "mature")


# ------------------------------------------------------------------ through MCP


@pytest.fixture(params=["auto", "legacy"])
async def seg_client(request, ws):
    async with Client(create_server(ws.settings, ws, warm_up=False), mode=request.param) as c:
        yield c


@pytest.mark.anyio
async def test_customer_segments_tool_returns_segments_and_a_compact_text(seg_client):
    tools = {t.name: t for t in (await seg_client.list_tools()).tools}
    tool = tools["customer-segments"]
    assert tool.annotations.read_only_hint is True
    assert set(tool.input_schema["properties"]["scheme"]["enum"]) == {
        "value_tier",
        "health_value",
        "lifecycle",
        "rfm",
        "clusters",
    }
    result = await seg_client.call_tool("customer-segments", {"scheme": "value_tier", "segment_detail": "core"})
    assert not result.is_error
    data = result.structured_content
    assert [s["accounts"] for s in data["segments"]] == [1, 2, 2, 2]
    assert [a["account_id"] for a in data["detail"]["accounts"]] == ["G-04", "G-05"]
    text = result.content[0].text
    assert text.startswith("Segments by value tier as of 2026-06-30: 7 active accounts, $233K ARR; churn 28.6%")
    assert "- strategic: 1 account, $120K ARR (51.5%), avg $120K, health 100, churn 50.0% (1 of 2)" in text
    assert "  G-04 Delta LLC: $15K, health 25 red, mid-market, CSM CSM-2" in text
    assert len(text) < 4000


@pytest.mark.anyio
async def test_customer_segments_tool_explains_bad_arguments(seg_client):
    scheme = await seg_client.call_tool("customer-segments", {"scheme": "zodiac"})
    assert scheme.is_error
    unknown = await seg_client.call_tool("customer-segments", {"scheme": "rfm", "segment_detail": "whales"})
    assert unknown.is_error and "champions" in unknown.content[0].text
    segment = await seg_client.call_tool("customer-segments", {"segment": "galactic"})
    assert segment.is_error and "enterprise, mid-market, smb" in segment.content[0].text


# ---------------------------------------------------------------------- demo


@pytest.fixture(scope="module")
def demo():
    from cs_mcp.workspace.loader import open_workspace

    with open_workspace(load_settings()) as w:
        yield w


@pytest.mark.parametrize(
    ("scheme", "detail"),
    [
        ("value_tier", "strategic"),
        ("health_value", "automated nudges"),
        ("lifecycle", "at_risk"),
        ("rfm", "champions"),
        ("clusters", "1"),
    ],
)
def test_every_scheme_on_the_demo_is_sane_and_compact(demo, scheme, detail):
    r = customer_segments(demo, scheme, segment_detail=detail)
    live = [s for s in r.segments if s.name != "churned"]
    assert sum(s.accounts for s in live) == r.active_accounts > 750
    assert sum(s.arr_share for s in live) == pytest.approx(1.0, abs=1e-4)
    assert all(s.churn_rate is None or 0 <= s.churn_rate <= 1 for s in r.segments)
    assert sum(s.churn_base for s in live) == r.portfolio_churn_base
    assert 0 < r.portfolio_churn_rate < 0.5
    assert r.detail.returned == 25 and r.detail.total > 25
    text = render_segments(r)
    assert len(text) < 8000
