"""engagement-report on tests/data/engagement, every figure computed by hand.

As of 2026-06-30: window 90 days (touches after 2026-04-01), strategic 180 days (after 2026-01-01), 30-day
months over 180 days. Default curves and points (config `engagement`); weights F 30, Q 35, B 20, P 15.
Six active accounts (E-5 churned):

E-1 Alpha Corp, enterprise (expects 6 touches / 90 days), C-1, $100K
  frequency: 6 touches / 6 -> 1.0 x 60; last touch 06-25, 5 days -> 1.0 x 40                     = 100
  quality:   outreach 2 of 3 answered .667/.8 = .8333 x 30 = 25; meetings 2 of 3 held .667/.9 = .7407 x 25
             = 18.5185; QBR 05-20 + EBR 03-01 = 2 -> 25; positive 4 of 6 .667/.8 x 20 = 16.6667  = 85.1852
  breadth:   4 active contacts (Eve inactive) .8 x 30 = 24; 3 departments 25; champion 25; sponsor 20 = 94
  product:   logins 640 / 4 weeks / 40 users = 4.0 -> .85 x 50 = 42.5; 3 of 5 features .6 -> .85 x 50 = 85
  score = (30 x 100 + 35 x 85.1852 + 20 x 94 + 15 x 85) / 100 = 91.3648, high
E-2 Beta Inc, mid-market (3), C-1, $40K
  frequency: 3 / 3 -> 60; 29 days -> 1 - 22/23 x .5 = .5217 x 40 = 20.8696                      = 80.8696
  quality:   outreach 1 of 3 .4167 x 30 = 12.5; no meetings in 90 days (re-spread); strategic 0; positive
             1 of 3 .4167 x 20 = 8.3333 -> 20.8333 / 75                                          = 27.7778
  breadth:   1 contact .2 x 30 = 6; 1 department .3 x 25 = 7.5; champion 25; no sponsor           = 38.5
  product:   80 logins / 4 / 10 users = 2.0 -> .5 x 50 = 25; 1 of 5 features .3 x 50 = 15        = 40
  score = (2426.087 + 972.222 + 770 + 600) / 100 = 47.6831, low
E-3 Gamma LLC, smb (1), C-1, $10K: last touch 2025-12-01 (211 days), no contacts, no usage, no features: 0
E-4 Delta Co, smb (1), C-2, $5K
  frequency: 1 / 1 -> 60; 10 days -> 1 - 3/23 x .5 = .9348 x 40 = 37.3913                         = 97.3913
  quality:   training held 1 of 1 -> 25; strategic 0; positive 1 of 1 -> 20; 45 / 70            = 64.2857
  breadth:   2 contacts .4 x 30 = 12; 1 department 7.5; champion 25; no sponsor                    = 44.5
  product:   100 / 4 / 5 = 5.0 -> 50; 2 of 5 features .4 -> .5667 x 50 = 28.3333                  = 78.3333
  score = (2921.739 + 2250 + 890 + 1175) / 100 = 72.3674, medium
E-6 Zeta GmbH, enterprise (6), no CSM, $60K
  frequency: 2 / 6 -> .3333 x 60 = 20; 46 days -> .5 - 16/30 x .5 = .2333 x 40 = 9.3333          = 29.3333
  quality:   meetings 0 of 2 held 0; QBR 03-10 -> .7 x 25 = 17.5; positive 0 of 2 -> 0; 17.5 / 70  = 25
  breadth:   3 active contacts (Lee left 05-01) .6 x 30 = 18; 2 departments .7 x 25 = 17.5; 25; 20 = 80.5
  product:   120 / 4 / 30 = 1.0 -> .3 x 50 = 15; no features 0                                      = 15
  score = (880 + 875 + 1610 + 225) / 100 = 35.9, at risk
E-7 Eta Works, mid-market (3), C-2, $20K: never touched -> F 0, Q 0 (strategic 0); breadth 1 contact in 1
  department, champion: 38.5; product: no usage (re-spread), 1 of 5 features .3 -> 30
  score = (20 x 38.5 + 15 x 30) / 100 = 12.2, at risk
Portfolio: average (91.3648 + 72.3674 + 47.6831 + 35.9 + 12.2 + 0) / 6 = 43.2526.
"""

import shutil
from pathlib import Path

import pytest
from mcp import Client

from cs_mcp.config import load_settings
from cs_mcp.domain.engagement import engagement_report
from cs_mcp.domain.errors import AccountNotFound, InvalidArgument, NoData
from cs_mcp.server import create_server

ENGAGEMENT = Path(__file__).parent / "data" / "engagement"
SCORES = {"E-1": 91.3648, "E-2": 47.6831, "E-3": 0.0, "E-4": 72.3674, "E-6": 35.9, "E-7": 12.2}


def _open(path=ENGAGEMENT, overrides=None):
    from cs_mcp.workspace.loader import open_workspace

    return open_workspace(load_settings(path, overrides=overrides))


@pytest.fixture(scope="module")
def ws():
    with _open() as w:
        yield w


def portfolio(ws, **kw):
    return engagement_report(ws, **kw).portfolio


def account(ws, ref):
    return engagement_report(ws, ref).account


def components(a):
    return {c.component: c for c in a.components}


def test_each_accounts_score_matches_the_hand_computation(ws):
    p = portfolio(ws)
    scores = {r.account_id: r.score for r in p.accounts}
    assert scores == {k: pytest.approx(v, abs=0.05) for k, v in SCORES.items()}
    bands = {r.account_id: r.band for r in p.accounts}
    assert bands == {"E-1": "high", "E-4": "medium", "E-2": "low", "E-6": "at_risk", "E-7": "at_risk",
                     "E-3": "at_risk"}
    e2 = next(r for r in p.accounts if r.account_id == "E-2")
    assert e2.components == {"frequency": 80.9, "quality": 27.8, "breadth": 38.5, "product": 40.0}


def test_one_accounts_components_show_each_input_and_its_points(ws):
    a = account(ws, "Alpha Corp")
    assert (a.account_id, a.score, a.band) == ("E-1", 91.4, "high")
    c = components(a)
    assert (c["frequency"].score, c["quality"].score, c["breadth"].score, c["product"].score) == (
        100.0, 85.2, 94.0, 85.0
    )
    assert c["quality"].contribution == pytest.approx(35 * 85.1852 / 100, abs=0.01)
    points = {m.metric: m.points for m in c["quality"].metrics}
    assert points == {"outreach_response_rate": 25.0, "meeting_attendance_rate": 18.52, "strategic_touches": 25.0,
                      "positive_outcome_rate": 16.67}
    displays = [m.display for comp in a.components for m in comp.metrics]
    assert "6 touches in 90 days vs 6 expected (enterprise)" in displays
    assert "answered 2 of 3 calls/emails (67%)" in displays
    assert "4.0 logins per active user per week" in displays
    assert a.missing_components == [] and a.note is None and a.red_flags == []


def test_cadence_counts_touches_per_30_day_month_and_the_median_gap(ws):
    cd = account(ws, "E-1").cadence
    # months end 06-30, 05-31, 05-01, 04-01, 03-02, 01-31: 06-25 + 06-10 | 05-20 + 05-05 | 04-20 + 04-15 | - |
    # 03-01 + 02-01 | -
    assert [m.touches for m in cd.months] == [0, 2, 0, 2, 2, 2]
    assert (str(cd.months[0].start), str(cd.months[-1].start), str(cd.months[-1].end)) == (
        "2026-01-02", "2026-06-01", "2026-06-30"
    )
    assert (cd.touches_in_window, cd.expected_in_window, cd.average_per_month) == (6, 6.0, 1.33)
    # gaps 28, 45, 5, 15, 15, 21, 15 days -> median 15
    assert (str(cd.last_touch), cd.days_since_last_touch, cd.median_gap_days) == ("2026-06-25", 5, 15.0)
    assert account(ws, "E-2").cadence.median_gap_days == 30.0  # 02-15, 04-10, 05-10, 06-01: 54, 30, 22
    assert account(ws, "E-6").cadence.median_gap_days == 33.0  # 03-10, 04-25, 05-15: 46, 20
    never = account(ws, "E-7").cadence
    assert (never.last_touch, never.days_since_last_touch, never.median_gap_days) == (None, None, None)


def test_stakeholders_count_active_contacts_by_role_and_department(ws):
    st = account(ws, "Zeta GmbH").stakeholders
    # Lee (decision maker) left on 2026-05-01: not counted
    assert st.active_contacts == 3
    assert st.by_role == {"champion": 1, "executive_sponsor": 1, "user": 1}
    assert st.departments == ["Executive", "Finance"]
    assert (st.champion, st.executive_sponsor, st.single_threaded) == (True, True, False)
    beta = account(ws, "E-2").stakeholders
    assert (beta.active_contacts, beta.executive_sponsor, beta.single_threaded) == (1, False, True)


def test_red_flags_fire_at_their_thresholds_with_the_figures(ws):
    beta = {f.code: f.message for f in account(ws, "E-2").red_flags}
    assert beta == {
        "single_threaded": "single-threaded: 1 active contact",
        "no_exec_sponsor": "no active executive sponsor",
        "outreach_ignored": "2 of 3 calls/emails unanswered in 90 days",
        "usage_dropping": "active users down 50% vs 30 days earlier",  # 20 -> 10 active users
    }
    zeta = {f.code: f.message for f in account(ws, "E-6").red_flags}
    assert zeta == {
        "no_recent_touch": "no touch for 46 days",
        "below_cadence": "2 touches in 90 days vs 6 expected",  # under half the cadence
        "missed_meetings": "2 meetings missed in 90 days",
    }
    assert all(f.action for f in account(ws, "E-6").red_flags)
    assert {f.code for f in account(ws, "E-7").red_flags} == {
        "single_threaded", "no_exec_sponsor", "no_recent_touch", "below_cadence"
    }


def test_portfolio_counts_bands_and_flags_and_ranks_lowest_first(ws):
    p = portfolio(ws)
    assert (p.scored_accounts, p.unscored_accounts, p.total) == (6, 0, 6)
    assert p.average_score == 43.3
    assert [(b.band, b.accounts, b.arr) for b in p.bands] == [
        ("high", 1, 100_000), ("medium", 1, 5_000), ("low", 1, 40_000), ("at_risk", 3, 90_000)
    ]
    flags = {f.code: (f.accounts, f.arr) for f in p.red_flags}
    assert flags == {
        "no_exec_sponsor": (4, 75_000),  # E-2, E-3, E-4, E-7
        "no_recent_touch": (3, 90_000),  # E-3 211 days, E-6 46 days, E-7 never
        "below_cadence": (3, 90_000),  # E-3, E-6, E-7
        "single_threaded": (3, 70_000),  # E-2, E-3 (no contact), E-7
        "missed_meetings": (1, 60_000),
        "outreach_ignored": (1, 40_000),
        "usage_dropping": (1, 40_000),
    }
    assert [r.account_id for r in p.accounts] == ["E-3", "E-7", "E-6", "E-2", "E-4", "E-1"]
    assert [r.account_id for r in portfolio(ws, sort="highest").accounts][:2] == ["E-1", "E-4"]
    assert [r.account_id for r in portfolio(ws, sort="arr").accounts][:2] == ["E-1", "E-6"]
    never = p.accounts[1]
    assert (never.touches_in_window, never.days_since_last_touch, never.active_contacts) == (0, None, 1)


def test_portfolio_filters_by_segment_csm_and_band_and_pages(ws):
    c1 = portfolio(ws, csm_id="c-1")
    assert [r.account_id for r in c1.accounts] == ["E-3", "E-2", "E-1"]
    assert c1.average_score == 46.3  # (91.3648 + 47.6831 + 0) / 3
    assert [r.account_id for r in portfolio(ws, csm_id="unassigned").accounts] == ["E-6"]
    assert [r.account_id for r in portfolio(ws, segment="enterprise").accounts] == ["E-6", "E-1"]
    at_risk = portfolio(ws, band="at_risk")
    assert at_risk.total == 3 and at_risk.bands[0].accounts == 1  # counts still cover the whole set
    first = portfolio(ws, limit=4)
    second = portfolio(ws, limit=4, cursor=first.next_cursor)
    assert (first.returned, second.returned, second.next_cursor) == (4, 2, None)
    assert [r.rank for r in second.accounts] == [5, 6]


def test_unknown_filters_and_mixed_arguments_are_refused_with_what_to_send(ws):
    with pytest.raises(InvalidArgument, match="enterprise, mid-market, smb"):
        portfolio(ws, segment="galaxy")
    with pytest.raises(InvalidArgument, match="C-1, C-2"):
        portfolio(ws, csm_id="C-9")
    with pytest.raises(InvalidArgument, match="alone"):
        engagement_report(ws, account="E-1", segment="smb")
    with pytest.raises(AccountNotFound, match="Alpha Corp"):
        engagement_report(ws, account="Alpha Crop")


def test_settings_move_the_score(tmp_path):
    # enterprise expects 12 touches: E-1's cadence 6/12 = .5 -> frequency 30 + 40 = 70, score 91.36 - 9 = 82.36
    with _open(overrides={"engagement": {"expected_touches_90d": {"enterprise": 12}}}) as w:
        a = account(w, "E-1")
    assert components(a)["frequency"].score == 70.0
    assert a.score == pytest.approx(82.4, abs=0.05)
    assert a.band == "high"
    with _open(overrides={"engagement": {"bands": {"high": 95}}}) as w:
        assert account(w, "E-1").band == "medium"


def test_without_touchpoints_or_contacts_the_weight_is_re_spread_and_said(tmp_path):
    for name in ("accounts.csv", "usage.csv", "feature_usage.csv", "cs-mcp.yaml"):
        shutil.copy(ENGAGEMENT / name, tmp_path / name)
    with _open(tmp_path) as w:
        a = account(w, "E-1")
        p = portfolio(w)
    assert (a.score, a.missing_components) == (85.0, ["frequency", "quality", "breadth"])
    assert components(a)["product"].effective_weight == 100.0
    assert a.cadence is None and a.stakeholders is None
    assert "re-spread" in a.note
    assert any(n.startswith("breadth") for n in a.not_computed)
    assert [r.account_id for r in p.accounts] == ["E-3", "E-6", "E-7", "E-2", "E-4", "E-1"]
    assert "No data for frequency, quality, breadth" in p.note
    assert p.tables_used == ["accounts", "usage", "feature_usage"]


def test_a_workspace_with_accounts_only_says_which_tables_to_add(tmp_path):
    for name in ("accounts.csv", "cs-mcp.yaml"):
        shutil.copy(ENGAGEMENT / name, tmp_path / name)
    with _open(tmp_path) as w:
        with pytest.raises(NoData, match="touchpoints"):
            portfolio(w)
        with pytest.raises(NoData, match="touchpoints"):
            account(w, "E-1")


# ------------------------------------------------------------------ through MCP


def test_no_recent_touch_is_the_segments_overdue_limit_unless_one_limit_is_set():
    # csm.touch_overdue_days: enterprise 30, mid-market 45, smb 90. E-2 (mid-market, 29 days) and E-4 (smb, 10
    # days) are within their limits; E-3 (smb, 211), E-6 (enterprise, 46) and E-7 (never) are over.
    def flagged(overrides):
        with _open(overrides=overrides) as w:
            return {r.account_id for r in portfolio(w, limit=10).accounts
                    if "no_recent_touch" in r.red_flags}

    assert flagged(None) == {"E-3", "E-6", "E-7"}
    assert flagged({"csm": {"touch_overdue_days": {"enterprise": 60}}}) == {"E-3", "E-7"}  # E-6: 46 of 60
    assert flagged({"engagement": {"flag_no_touch_days": 29}}) == {"E-2", "E-3", "E-6", "E-7"}  # from day 29


@pytest.fixture(params=["auto", "legacy"])
async def engagement_client(request, ws):
    async with Client(create_server(ws.settings, ws, warm_up=False), mode=request.param) as c:
        yield c


@pytest.mark.anyio
async def test_engagement_report_tool_ranks_the_portfolio_in_a_short_text(engagement_client):
    tools = {t.name: t for t in (await engagement_client.list_tools()).tools}
    tool = tools["engagement-report"]
    assert tool.annotations.read_only_hint is True
    assert "portfolio" in tool.output_schema["properties"]
    result = await engagement_client.call_tool("engagement-report", {"csm_id": "C-1"})
    assert not result.is_error
    data = result.structured_content
    assert data["scope"] == "portfolio" and data["account"] is None
    assert [r["account_id"] for r in data["portfolio"]["accounts"]] == ["E-3", "E-2", "E-1"]
    text = result.content[0].text
    assert text.startswith("Engagement as of 2026-06-30 (csm_id=C-1): 3 active accounts scored, average 46.3")
    assert "1. Gamma LLC (E-3) 0 AT RISK" in text
    assert "flags: single-threaded, no executive sponsor, outreach ignored, usage dropping" in text
    assert len(text) < 2500


@pytest.mark.anyio
async def test_engagement_report_tool_explains_one_account(engagement_client):
    result = await engagement_client.call_tool("engagement-report", {"account": "Beta Inc"})
    assert not result.is_error
    assert result.structured_content["account"]["score"] == 47.7
    text = result.content[0].text
    assert text.startswith("Beta Inc (E-2), mid-market, CSM C-1, ARR $40K: engagement 47.7/100, LOW")
    assert "meeting attendance rate: no data" in text
    assert "SINGLE-THREADED" in text
    assert "- active users down 50% vs 30 days earlier: Usage is falling" in text


@pytest.mark.anyio
async def test_engagement_report_tool_errors_say_what_to_send(engagement_client):
    missing = await engagement_client.call_tool("engagement-report", {"account": "Alpha Crop"})
    assert missing.is_error and "Alpha Corp" in missing.content[0].text
    mixed = await engagement_client.call_tool("engagement-report", {"account": "E-1", "csm_id": "C-1"})
    assert mixed.is_error and "alone" in mixed.content[0].text
    band = await engagement_client.call_tool("engagement-report", {"band": "purple"})
    assert band.is_error and "at_risk" in band.content[0].text
    segment = await engagement_client.call_tool("engagement-report", {"segment": "galaxy"})
    assert segment.is_error and "mid-market" in segment.content[0].text


# ------------------------------------------------------------------ the bundled demo


def test_on_the_demo_the_answers_are_sane_and_compact():
    from cs_mcp.tools.engagement import render_engagement

    with _open(None) as demo:
        p = engagement_report(demo, limit=50)
        text = render_engagement(p)
        assert len(text) < 12_000
        po = p.portfolio
        assert po.scored_accounts + po.unscored_accounts > 750
        assert sum(b.accounts for b in po.bands) == po.scored_accounts
        assert 0 < po.average_score < 100
        scores = [r.score for r in po.accounts]
        assert scores == sorted(scores)
        one = engagement_report(demo, po.accounts[-1].account_id)
        assert len(render_engagement(one)) < 4_000
        assert one.account.cadence is not None and one.account.stakeholders is not None
