"""expansion-opportunities on tests/data/growth, every figure computed by hand.

As of 2026-06-30; health = seat utilization only (fixture model): G-01 100, G-02 50, G-03 100, G-04 25 (red),
G-05 100, G-06 0 (red), G-07 100. Components 0-100 under the default curves (config expansion.curves):
  adoption   = mean(seat use curve 40%->0, 90%->1; feature adoption curve 10%->0, 60%->1), 10 features in all
     G-01 92%, 8/10 -> 100 | G-02 50% .2, 4/10 .6 -> 40 | G-03 80% .8, 6/10 1 -> 90 | G-05 80% .8, 3/10 .4 -> 60
     G-07 90%, 7/10 -> 100
  growth     = mean(ARR 12m curve -10%->0, 0->.4, +20%->1; active users vs 90 days ago, same curve)
     G-01 +20% 1, users 160->184 +15% .85 -> 92.5 | G-02 +25% 1, 50->50 .4 -> 70 | G-03 too new -> none
     G-05 ARR too new, 16->16 .4 -> 40 | G-07 -50% 0, 10->9 -10% .2 -> 10
  engagement = mean(outreach answered 0->0, 80%->1; meetings held same; days since touch 14->1, 60->0)
     G-01 2/2, 2/2, 7 d -> 100 | G-02 2/5 .5, 2/5 .5, 37 d .5 -> 50 | G-03 no touch in its 60 days -> 0
     G-05 1/1, none, 14 d -> 100 | G-07 0/1 0, 1/1 1, 37 d .5 -> 50
  budget     = mean(payment: current 1, 1-30 days .5, over 30 0; seats/employees 20%->1, 60%->0; won
               expansions in 365 days: none .5, one 1)
     G-01 paid, 10%, none -> 83.33 | G-02 15 d late .5, 40% .5, O-4 won 1 -> 66.67 | G-03 paid, 20%, none -> 83.33
     G-05 no invoice, 40% .5, O-5 lost .5 -> 50 | G-07 60 d late 0, no employees, none .5 -> 25
Propensity = .30 health + .25 adoption + .20 growth + .15 engagement + .10 budget (re-spread when missing):
  G-01 30 + 25 + 18.5 + 15 + 8.33 = 96.8 | G-02 15 + 10 + 14 + 7.5 + 6.67 = 53.2
  G-03 (30 + 22.5 + 0 + 8.33) / .80 = 76.0 | G-05 30 + 15 + 8 + 15 + 5 = 73.0 | G-07 30 + 25 + 2 + 7.5 + 2.5 = 67.0
Candidates (expected value = propensity x potential):
  G-01 tier upgrade professional -> enterprise: 30% x 120,000 = 36,000 -> 34,848      (open upsell O-1)
  G-01 seat upsell: ceil(184 / 75%) = 246 seats, +46 x (120,000 / 200 = 600) = 27,600 -> 26,716.80 (O-1)
  G-03 tier upgrade: 30% x 30,000 = 9,000 -> 6,840
  G-01 cross-sell Connect (owned by 1 of 2 enterprise accounts): 20 x 200 seats = 4,000 -> 3,872
  G-03 cross-sell Analytics (1 of 2 mid-market): 40 x 50 = 2,000 -> 1,520     (open cross-sell O-2 is Connect)
  G-05 cross-sell Premium Support (1 of 3 smb, tied with Analytics; no list price: 10% x 10,000 = 1,000 beats
       Analytics' 40 x 20 = 800) -> 730
  G-07 tier upgrade: 900 -> 603 | seat upsell: ceil(9 / 75%) = 12, +2 x 300 = 600 -> 402
  G-07 cross-sell Connect (1 of 3 smb): 20 x 10 = 200 -> 134                    (open cross-sell O-3, no product)
  G-02: 50% seat use, top plan, and Premium Support (its only whitespace) is owned by no enterprise account.
G-07 renews on 2026-10-01 at 57.4% (at risk, under the 75% 'likely' tier): renewal-strategy holds its expansion, so
its three candidates (603 + 402 + 134 = 1,139) are held back unless include_held / include_red; the tests of the
hand figures above list them with include_held=True.
"""

import shutil
from pathlib import Path

import pytest
from mcp import Client

from cs_mcp.config import load_settings
from cs_mcp.domain.errors import AccountNotFound, InvalidArgument
from cs_mcp.domain.expansion import expansion_base, expansion_opportunities
from cs_mcp.server import create_server
from cs_mcp.tools.expansion import render_expansion

GROWTH = Path(__file__).parent / "data" / "growth"
RANKED = [
    ("G-01", "tier_upgrade", 36_000, 34_848),
    ("G-01", "seat_upsell", 27_600, 26_716.8),
    ("G-03", "tier_upgrade", 9_000, 6_840),
    ("G-01", "cross_sell", 4_000, 3_872),
    ("G-03", "cross_sell", 2_000, 1_520),
    ("G-05", "cross_sell", 1_000, 730),
    ("G-07", "tier_upgrade", 900, 603),
    ("G-07", "seat_upsell", 600, 402),
    ("G-07", "cross_sell", 200, 134),
]


def _open(path=GROWTH, overrides=None):
    from cs_mcp.workspace.loader import open_workspace

    return open_workspace(load_settings(path, overrides=overrides))


@pytest.fixture(scope="module")
def ws():
    with _open() as w:
        yield w


def rows(result):
    return [(c.account_id, c.type, c.potential_arr, c.expected_value) for c in result.candidates]


def test_propensity_and_its_components_match_the_hand_computation(ws):
    base = expansion_base(ws)
    got = {str(a): (base.propensity[i], {k: v[i] for k, v in base.components.items()}) for i, a in enumerate(base.ids)}
    assert {a: p for a, (p, _) in got.items()} == {
        "G-01": 96.8,
        "G-02": 53.2,
        "G-03": 76.0,
        "G-04": 37.5,
        "G-05": 73.0,
        "G-06": 13.0,
        "G-07": 67.0,
    }
    expected = {
        "G-01": (100, 100, 92.5, 100, 250 / 3),
        "G-02": (50, 40, 70, 50, 200 / 3),
        "G-05": (100, 60, 40, 100, 50),
        "G-07": (100, 100, 10, 50, 25),
    }
    for aid, values in expected.items():
        comps = got[aid][1]
        assert [comps[k] for k in ("health", "adoption", "growth", "engagement", "budget")] == pytest.approx(values)
    g3 = got["G-03"][1]
    assert g3["growth"] != g3["growth"] and g3["engagement"] == 0  # no growth data: weight re-spread


def test_candidates_are_ranked_by_expected_value_with_their_potential(ws):
    r = expansion_opportunities(ws, include_held=True)
    assert rows(r) == RANKED
    assert (r.total, r.returned, r.next_cursor) == (9, 9, None)
    c = {(x.account_id, x.type): x for x in r.candidates}
    assert c[("G-01", "tier_upgrade")].target_plan == "enterprise"
    assert (c[("G-05", "cross_sell")].product_id, c[("G-05", "cross_sell")].product_name) == ("P4", "Premium Support")
    assert c[("G-01", "seat_upsell")].propensity == 96.8
    assert c[("G-01", "seat_upsell")].components["growth"] == 92.5
    assert (c[("G-01", "seat_upsell")].days_to_renewal, c[("G-01", "seat_upsell")].health_band) == (199, "green")
    assert [x.rank for x in r.candidates] == list(range(1, 10))
    # each names its account's best: G-01 #1 for #2 and #4, G-03 #3 for #5, G-07 #7 for #8 and #9
    assert [x.best_rank for x in r.candidates] == [1, 1, 3, 1, 3, 6, 7, 7, 7]


def test_evidence_says_in_words_why_each_candidate_is_one(ws):
    c = {(x.account_id, x.type): x.evidence for x in expansion_opportunities(ws).candidates}
    assert c[("G-01", "seat_upsell")] == [
        "92% of 200 seats active (184 users)",
        "+46 seats to get to 75% use at $600/seat",
        "active users +15% in 90 days",
    ]
    assert c[("G-01", "tier_upgrade")] == [
        "uses 8 of 10 features (80%) on the professional plan",
        "next plan enterprise: +30% of ARR",
    ]
    assert c[("G-05", "cross_sell")] == [
        "no entitlement to Premium Support",
        "owned by 33% of smb peers",
        "no list price or seat count: 10% of ARR",
        "1 other product in whitespace",
    ]
    assert c[("G-03", "cross_sell")][2:] == ["list price $40 x 50 seats", "2 other products in whitespace"]


def test_open_crm_opportunities_flag_the_candidates_they_cover(ws):
    c = {(x.account_id, x.type): x for x in expansion_opportunities(ws, include_held=True).candidates}
    flagged = sorted(k for k, x in c.items() if x.in_crm)
    # O-1 (open upsell) covers G-01's seat upsell and tier upgrade, O-3 (open cross-sell, no product) G-07's
    # cross-sell; O-2 is a cross-sell of Connect, not of the Analytics proposed to G-03; O-6 is a renewal
    assert flagged == [("G-01", "seat_upsell"), ("G-01", "tier_upgrade"), ("G-07", "cross_sell")]
    assert c[("G-01", "seat_upsell")].crm_opportunities == ["O-1 upsell $25K Discovery closes 2026-09-30"]
    assert c[("G-07", "cross_sell")].crm_opportunities == ["O-3 cross-sell $300 Qualification closes 2026-09-15"]


def test_totals_by_type_and_one_motion_per_account(ws):
    r = expansion_opportunities(ws, include_held=True)
    t = {x.type: x for x in r.totals_by_type}
    assert (t["seat_upsell"].candidates, t["seat_upsell"].potential_arr) == (2, 28_200)
    assert t["seat_upsell"].expected_arr == pytest.approx(27_118.8)  # 26,716.80 + 402
    assert (t["seat_upsell"].in_crm, t["seat_upsell"].expected_arr_not_in_crm) == (1, 402)
    assert (t["tier_upgrade"].candidates, t["tier_upgrade"].potential_arr, t["tier_upgrade"].expected_arr) == (
        3,
        45_900,
        42_291,
    )
    assert t["tier_upgrade"].expected_arr_not_in_crm == 7_443  # 6,840 + 603
    assert (t["cross_sell"].candidates, t["cross_sell"].potential_arr, t["cross_sell"].expected_arr) == (
        4,
        7_200,
        6_256,
    )
    assert t["cross_sell"].expected_arr_not_in_crm == 6_122  # without G-07's 134
    # best per account: G-01 tier 34,848, G-03 tier 6,840, G-05 cross-sell 730, G-07 tier 603
    b = r.best_per_account
    assert (b.accounts, b.potential_arr, b.expected_arr) == (4, 46_900, 43_021)
    assert r.accounts_considered == 5


def test_red_accounts_are_left_out_by_default_and_the_answer_says_so(ws):
    r = expansion_opportunities(ws)
    assert r.excluded_red == 2  # G-04 (25) and G-06 (0)
    assert "2 accounts with red health are left out" in r.note and "include_red=true" in r.note
    with_red = expansion_opportunities(ws, include_red=True)
    assert with_red.excluded_red == 0 and with_red.accounts_considered == 7
    # G-06 (propensity 13.0): cross-sell Premium Support, 10% x 5,000 = 500 -> 65; G-04 has no candidate
    assert rows(with_red)[-1] == ("G-06", "cross_sell", 500, 65)
    assert with_red.total == 10
    with _open(overrides={"expansion": {"exclude_red_health": False}}) as w:
        assert expansion_opportunities(w).total == 10


def test_filters_narrow_the_candidates_and_the_totals(ws):
    assert [c.account_id for c in expansion_opportunities(ws, type="cross_sell", include_held=True).candidates] == [
        "G-01",
        "G-03",
        "G-05",
        "G-07",
    ]
    by_csm = expansion_opportunities(ws, csm_id="csm-3", include_held=True)
    assert {c.account_id for c in by_csm.candidates} == {"G-05", "G-07"} and by_csm.total == 4
    assert by_csm.excluded_red == 1  # G-06
    assert [c.type for c in expansion_opportunities(ws, segment="enterprise").candidates] == [
        "tier_upgrade",
        "seat_upsell",
        "cross_sell",
    ]
    high = expansion_opportunities(ws, min_propensity=70)
    assert {c.account_id for c in high.candidates} == {"G-01", "G-03", "G-05"} and high.total == 6
    one = expansion_opportunities(ws, account="Echo")
    assert rows(one) == [("G-05", "cross_sell", 1_000, 730)] and one.filters["account"] == "G-05"
    assert {x.type: x.candidates for x in one.totals_by_type} == {"seat_upsell": 0, "cross_sell": 1, "tier_upgrade": 0}
    red = expansion_opportunities(ws, account="G-06")
    assert red.total == 0 and red.excluded_red == 1


def test_an_at_risk_renewal_holds_its_expansion_back_as_renewal_strategy_does(ws):
    from cs_mcp.domain.renewal_strategy import renewal_strategy

    r = expansion_opportunities(ws)
    assert "G-07" not in {c.account_id for c in r.candidates}
    assert (r.total, r.held_back, r.accounts_considered) == (6, 1, 4)
    assert (
        "1 account with an at-risk renewal held back (3 candidates, expected $1,139): renewal-strategy holds "
        "expansion until the renewal is safe"
    ) in r.note
    # one motion per account without G-07: 34,848 + 6,840 + 730
    assert (r.best_per_account.accounts, r.best_per_account.expected_arr) == (3, 42_418)
    assert {t.type: t.candidates for t in r.totals_by_type} == {"seat_upsell": 1, "cross_sell": 3, "tier_upgrade": 2}
    shown = expansion_opportunities(ws, include_red=True)
    held = {(c.account_id, c.type): c.held for c in shown.candidates if c.held}
    assert set(held) == {("G-07", "tier_upgrade"), ("G-07", "seat_upsell"), ("G-07", "cross_sell"),
                         ("G-06", "cross_sell")}  # G-06: red health and a high-risk renewal
    assert held[("G-07", "seat_upsell")] == "the renewal is at risk, so expansion waits until the renewal is safe"
    assert shown.held_back == 0
    plan = renewal_strategy(ws, "G-07")
    offer = next(p for p in plan.proposals if p.option == "renewal_expansion")
    assert (plan.risk.category, offer.offered, offer.expansion_arr) == ("at_risk", False, 900)


def test_unknown_filters_name_the_valid_values(ws):
    with pytest.raises(InvalidArgument, match="enterprise, mid-market, smb"):
        expansion_opportunities(ws, segment="galactic")
    with pytest.raises(InvalidArgument, match="CSM-1, CSM-2, CSM-3"):
        expansion_opportunities(ws, csm_id="CSM-9")
    with pytest.raises(AccountNotFound, match="find-accounts"):
        expansion_opportunities(ws, account="Zebra Unlimited")
    churned = expansion_opportunities(ws, account="Holt Corp")
    assert churned.total == 0 and "not an active account" in churned.note


def test_pages_follow_the_expected_value_order(ws):
    first = expansion_opportunities(ws, limit=4, include_held=True)
    assert (first.returned, first.total) == (4, 9) and first.next_cursor
    second = expansion_opportunities(ws, limit=4, cursor=first.next_cursor, include_held=True)
    assert [c.rank for c in second.candidates] == [5, 6, 7, 8]
    assert rows(second) == RANKED[4:8]
    assert first.totals_by_type == second.totals_by_type


def test_weights_and_triggers_come_from_the_settings():
    overrides = {
        "expansion": {
            "weights": {"health": 1, "adoption": 0, "growth": 0, "engagement": 0, "budget": 0},
            "seat_upsell_utilization": 0.95,
            "tier_upgrade_uplift": 0.5,
        }
    }
    with _open(overrides=overrides) as w:
        r = expansion_opportunities(w)
    c = {(x.account_id, x.type): x for x in r.candidates}
    assert c[("G-01", "tier_upgrade")].propensity == 100  # health only
    assert c[("G-01", "tier_upgrade")].potential_arr == 60_000  # 50% of 120,000
    assert not [k for k in c if k[1] == "seat_upsell"]  # 92% and 90% are under 95%


def test_without_usage_products_or_features_the_answer_says_what_is_missing(tmp_path):
    for name in ("accounts.csv", "cs-mcp.yaml"):
        shutil.copy(GROWTH / name, tmp_path / name)
    with _open(tmp_path) as bare:
        r = expansion_opportunities(bare)
        base = expansion_base(bare)
    assert r.total == 0 and r.excluded_red == 0
    assert [n.split(":")[0] for n in r.not_computed[:3]] == ["seat_upsell", "tier_upgrade", "cross_sell"]
    assert "health component: no data (health); its weight is re-spread" in r.not_computed
    assert "No opportunities table" in r.note
    # budget alone (seats / employees headroom): G-01 10% -> 100, G-02 40% -> 50; G-06 has no employees
    props = dict(zip(base.ids, base.propensity, strict=True))
    assert (props["G-01"], props["G-02"]) == (100, 50) and props["G-06"] != props["G-06"]


# ------------------------------------------------------------------ through MCP


@pytest.fixture(params=["auto", "legacy"])
async def exp_client(request, ws):
    async with Client(create_server(ws.settings, ws, warm_up=False), mode=request.param) as c:
        yield c


@pytest.mark.anyio
async def test_expansion_tool_returns_candidates_and_a_compact_text(exp_client):
    tools = {t.name: t for t in (await exp_client.list_tools()).tools}
    tool = tools["expansion-opportunities"]
    assert tool.annotations.read_only_hint is True
    assert set(tool.input_schema["properties"]["type"]["anyOf"][0]["enum"]) == {
        "seat_upsell",
        "cross_sell",
        "tier_upgrade",
    }
    result = await exp_client.call_tool("expansion-opportunities", {"limit": 3})
    assert not result.is_error
    data = result.structured_content
    assert (data["total"], data["returned"], data["held_back"]) == (6, 3, 1)
    assert data["candidates"][0]["expected_value"] == 34_848
    text = result.content[0].text
    # best per account: 36,000 + 9,000 + 1,000 potential; 34,848 + 6,840 + 730 expected
    assert text.startswith(
        "Expansion candidates as of 2026-06-30: 6 across 3 of 4 accounts (an account can have several); counting "
        "only each account's best: potential $46K, expected $42.4K"
    )
    assert (
        "2. Apex Corp (G-01) seat upsell: EV $26.7K = 97% x $27.6K; 92% of 200 seats active (184 users); +46 seats to "
        "get to 75% use at $600/seat; health 100 green; renews in 199d [in CRM: O-1 upsell $25K Discovery closes "
        "2026-09-30] [its account's best is #1]"
    ) in text
    assert "2 accounts with red health are left out" in text
    assert "1 account with an at-risk renewal held back (3 candidates, expected $1,139)" in text
    assert len(text) < 4000


@pytest.mark.anyio
async def test_expansion_tool_explains_bad_arguments(exp_client):
    kind = await exp_client.call_tool("expansion-opportunities", {"type": "mega_deal"})
    assert kind.is_error
    csm = await exp_client.call_tool("expansion-opportunities", {"csm_id": "CSM-9"})
    assert csm.is_error and "CSM-1, CSM-2, CSM-3" in csm.content[0].text
    account = await exp_client.call_tool("expansion-opportunities", {"account": "Zebra Unlimited"})
    assert account.is_error and "find-accounts" in account.content[0].text
    propensity = await exp_client.call_tool("expansion-opportunities", {"min_propensity": 150})
    assert propensity.is_error


# ---------------------------------------------------------------------- demo


def test_the_demo_portfolio_gives_sane_ranked_candidates_in_a_compact_text():
    from cs_mcp.workspace.loader import open_workspace

    with open_workspace(load_settings()) as demo:
        r = expansion_opportunities(demo)
    evs = [c.expected_value for c in r.candidates]
    assert evs == sorted(evs, reverse=True) and r.total > 100
    assert all(c.health_band != "red" and 0 <= c.propensity <= 100 for c in r.candidates)
    assert all(0 < c.expected_value <= c.potential_arr for c in r.candidates)
    t = {x.type: x for x in r.totals_by_type}
    assert t["seat_upsell"].candidates > 0 and t["cross_sell"].candidates > 0
    assert r.best_per_account.expected_arr <= sum(x.expected_arr for x in r.totals_by_type)
    assert r.excluded_red > 0
    text = render_expansion(r)
    assert len(text) < 10_000


def test_a_qbr_names_a_tier_upgrade_once(ws):
    """account-review-prep read 'tier upgrade upgrade to the enterprise plan' (its label and the description)."""
    from cs_mcp.domain.account_review import account_review

    signals = account_review(ws, "G-03").outlook.expansion_signals
    assert any(s.startswith("tier upgrade to the ") for s in signals), signals
    assert not any("upgrade upgrade" in s for s in signals), signals
