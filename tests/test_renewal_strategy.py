"""renewal-strategy on tests/data/review, figures computed by hand (as of 2026-06-30).

V-1 Vantage Labs: ARR 60,000, 50 seats, renews 2026-09-13 (75 days: stage T-90). Weekly usage rows, 4 logins per
  active user a week; active users 45 now (June rows), 30 on 2026-01-01 (December rows), 20 on 2025-06-30.
  No leading indicator fires: churn 0. Seat utilization 45/50 = 90% >= 85%: +ceil(45 / 0.75) - 50 = 10 seats at
  60,000 / 50 = 1,200 = 12,000. Open upsell O-1 8,000 (taken to be the seat upsell), open cross-sell O-2 2,500
  (Integrations); O-3 is lost. Owns P1 and P2; P3 has an open opportunity; whitespace P4 (no list price):
  10% x 60,000 = 6,000. Expansion = max(12,000, 8,000) + 2,500 = 14,500.
W-2 Westwind Retail: ARR 24,000, 40 seats, renews 2026-07-20 (20 days: stage T-30). Indicators: active users
  10 vs 20 (-50%, 30), sponsor left on 2026-05-15 (30), NPS 4 in 90 days (15), 25% of seats (5) = 80.
  Open downgrade 4,000 (-10 pts). Whitespace P2 100 x 40 = 4,000, P4 2,400, P3 50 x 40 = 2,000.
X-3 Xeno Partners (mid-market): no renewal date, no subscription. Indicators: red health (15), no touch for 272
  days (15) = 30.
Z-4 Zenith Old churned on 2026-03-01.
Renewal probability (the renewal book's rule without a learned model): .7 x (1 - indicator score / 100) + .3 x
health curve (0 .30, 50 .70, 80 .92, 100 .98) + opportunity adjustments; churn risk = 100% - that.
"""

import datetime as dt
import shutil
from pathlib import Path

import pytest
from mcp import Client

from cs_mcp.config import load_settings
from cs_mcp.domain.errors import AccountNotFound, InvalidArgument
from cs_mcp.domain.health import health_for_account
from cs_mcp.domain.renewal import renewal_forecast
from cs_mcp.domain.renewal_strategy import _expansion_offer, _right_size, renewal_strategy, users_grew
from cs_mcp.server import create_server
from cs_mcp.tools.renewal_strategy import render_strategy

REVIEW = Path(__file__).parent / "data" / "review"


def _open(path=REVIEW, overrides=None):
    from cs_mcp.workspace.loader import open_workspace

    return open_workspace(load_settings(path, overrides=overrides))


@pytest.fixture(scope="module")
def ws():
    with _open() as w:
        yield w


@pytest.fixture(scope="module")
def vantage(ws):
    return renewal_strategy(ws, "vantage")


@pytest.fixture(scope="module")
def westwind(ws):
    return renewal_strategy(ws, "W-2")


def curve(h):
    """The default renewal.probability.health_curve between its breakpoints."""
    if h <= 50:
        return 0.30 + h / 50 * 0.40
    if h <= 80:
        return 0.70 + (h - 50) / 30 * 0.22
    return 0.92 + (h - 80) / 20 * 0.06


def test_renewal_risk_is_renewal_forecasts_probability_for_the_account(ws, vantage, westwind):
    r = vantage.risk
    assert (r.renewal_date, r.days_to_renewal, r.renewal_date_source) == (dt.date(2026, 9, 13), 75, "accounts")
    h1 = health_for_account(ws, "V-1").score
    assert r.health_score == h1 == 84.4 and r.health_band == "green"
    assert r.probability == round(100 * (0.7 + 0.3 * curve(h1)), 1) == 98.0
    assert (r.churn_method, r.churn_probability, r.churn_tier) == ("leading-indicator", 2.0, "low")
    assert r.churn_drivers  # no indicator fires: its strongest health inputs say why it is safe
    assert r.category == r.plan_category == "high_confidence"
    w = westwind.risk
    h2 = health_for_account(ws, "W-2").score
    assert w.probability == round(100 * (0.7 * 0.2 + 0.3 * curve(h2) - 0.10), 1)
    assert w.churn_probability == round(100 - w.probability, 1) and w.churn_tier in ("high", "critical")
    assert (w.category, w.expected_outcome) == ("high_risk", "churn")
    assert w.churn_drivers == [
        "active users down 50% in 30 days",
        "executive sponsor left, no successor",
        "NPS detractor (answered 4) in 90 days",
    ]
    assert {a.code for a in w.alerts} >= {"usage_drop", "sponsor_left"}
    forecast = {row.account_id: row for row in renewal_forecast(ws, days=120).accounts}
    assert (forecast["V-1"].probability, forecast["W-2"].probability) == (r.probability, w.probability)


def test_value_delivered_compares_today_with_six_and_twelve_months_ago(vantage, westwind):
    m = {x.metric: x for x in vantage.value.metrics}
    assert m["active_users"].now == 45
    assert [(p.days_ago, p.as_of, p.value) for p in m["active_users"].past] == [
        (180, dt.date(2026, 1, 1), 30),
        (365, dt.date(2025, 6, 30), 20),
    ]
    assert (m["seat_utilization"].now, [p.value for p in m["seat_utilization"].past]) == (0.9, [0.6, 0.4])
    assert (m["features_used"].now, [p.value for p in m["features_used"].past]) == (3, [1, 1])
    # NPS now: K-11 9, K-12 10, K-13 6 -> (2 - 1) / 3; on 2026-01-01 only K-11's 7 -> 0; a year ago none
    assert m["nps"].now == pytest.approx(33.3333) and [p.value for p in m["nps"].past] == [0, None]
    assert [(a.date, a.arr) for a in vantage.value.arr_history] == [
        (dt.date(2024, 9, 13), 40_000),
        (dt.date(2025, 9, 13), 50_000),
        (dt.date(2026, 2, 1), 60_000),
    ]
    assert vantage.value.arr_growth_12m == 0.5
    s = vantage.value.support
    # 2025-07-01 to 2026-06-30: T-11..T-16 opened, T-11..T-15 resolved in 24, 48, 12, 30, 24 hours
    assert (s.opened, s.resolved, s.median_resolution_hours, s.open_now, s.open_critical) == (6, 5, 24.0, 1, 0)
    assert "Active users 45, vs 30 six months ago and 20 a year ago" in vantage.value.highlights
    w = {x.metric: x for x in westwind.value.metrics}
    assert (w["active_users"].now, [p.value for p in w["active_users"].past]) == (10, [30, None])


def test_expansion_options_come_from_the_expansion_engine_plus_open_deals(ws, vantage, westwind):
    from cs_mcp.domain.expansion import expansion_opportunities

    e = vantage.expansion
    got = [(o.type, o.description, o.arr, o.in_crm, o.in_proposal) for o in e.options]
    assert got == [
        ("seat_upsell", "+10 seats (to 60)", 12_000, True, True),  # covered by the open upsell O-1 (8,000)
        ("open_opportunity", "cross-sell O-2 (Integrations)", 2_500, False, True),  # no candidate covers it
    ]
    assert e.expansion_arr == 14_500 and e.seat_utilization == 0.9
    engine = expansion_opportunities(ws, account="V-1")
    assert [(c.type, c.potential_arr) for c in engine.candidates] == [("seat_upsell", 12_000)]
    # Westwind is a high churn tier: the engine proposes nothing to an account about to be lost
    assert westwind.risk.churn_tier in ("high", "critical")
    assert westwind.expansion.options == [] and westwind.expansion.expansion_arr == 0
    assert "churn tier are left out" in expansion_opportunities(ws, account="W-2").note


def test_proposals_fit_the_risk_right_size_idle_seats_and_hold_back_discounts(vantage, westwind):
    p = {x.option: x for x in vantage.proposals}
    assert list(p) == ["renewal_only", "renewal_expansion", "multi_year"]  # 90% of seats used: no right-size
    assert (p["renewal_only"].arr, p["renewal_only"].term_months) == (60_000, 12)
    assert (p["renewal_expansion"].arr, p["renewal_expansion"].expansion_arr) == (74_500, 14_500)
    my = p["multi_year"]
    assert (my.arr, my.term_months, my.total_contract_value, my.discount_pct) == (54_000, 36, 162_000, 10)
    assert all(x.offered for x in vantage.proposals)
    assert vantage.lead_option == "renewal_expansion" and [x.lead for x in vantage.proposals] == [False, True, False]
    w = {x.option: x for x in westwind.proposals}
    assert list(w) == ["renewal_only", "right_size", "renewal_expansion", "multi_year"]
    # the CRM's open downgrade O-4 (renewal-forecast's contraction) sizes it: 24,000 - 4,000, not the 10 of 40
    # seats in use (13 seats, 7,800)
    assert (w["right_size"].arr, w["right_size"].change_vs_current) == (20_000, -4_000)
    assert "open downgrade in the CRM (-$4,000)" in w["right_size"].rationale
    assert westwind.lead_option == "right_size" and w["right_size"].lead
    assert "open downgrade" in westwind.lead_reason
    assert not w["renewal_expansion"].offered and not w["multi_year"].offered  # high risk: no discount, no upsell
    assert "Held back" in w["multi_year"].rationale


def test_a_right_size_from_the_seats_in_use_keeps_at_least_the_configured_share_of_arr(ws):
    row = {"seats_purchased": 40, "active_users": 10, "seat_utilization": 0.25}
    # the users fill ceil(10 / 0.8) = 13 seats, but 75% of 40 seats = 30 stay: 30 x 24,000 / 40 = 18,000
    p = _right_size(ws, 24_000, row)
    assert (p.arr, p.change_vs_current) == (18_000, -6_000)
    assert p.rationale.startswith("30 of 40 seats: the users active now fill 13 at 80% use")
    assert "at least 75% of ARR" in p.rationale
    with _open(overrides={"planning": {"right_size_min_arr_share": 0}}) as w:
        q = _right_size(w, 24_000, row)
    assert (q.arr, q.rationale.split(",")[0]) == (7_800, "13 of 40 seats")


@pytest.fixture(scope="module")
def vantage_lost(tmp_path_factory):
    """Vantage (green health, 90% of seats used, no downgrade) with its renewal marked lost in the CRM."""
    d = tmp_path_factory.mktemp("lost")
    shutil.copytree(REVIEW, d, dirs_exist_ok=True)
    with open(d / "opportunities.csv", "a", encoding="utf-8") as f:
        f.write("O-5,V-1,renewal,60000,Closed Lost,2026-06-20,P1\n")
    with _open(d) as w:
        return renewal_strategy(w, "V-1")


def test_a_renewal_marked_lost_with_healthy_signals_hears_the_reason_and_leads_with_a_shorter_term(vantage_lost):
    s = vantage_lost
    assert s.risk.churn_drivers[0] == "renewal opportunity marked lost in the CRM"
    assert (s.risk.health_band, s.risk.category) == ("green", "high_risk")
    p = {x.option: x for x in s.proposals}
    # no idle seats and no downgrade: no right-size, so churn-risk-list's shorter-term offer leads, at today's price
    assert s.lead_option == "short_term" and p["short_term"].lead and "churn-risk-list" in s.lead_reason
    assert (p["short_term"].arr, p["short_term"].term_months, p["short_term"].total_contract_value) == (
        60_000, 6, 30_000)
    assert "- LEAD Shorter-term renewal: $60K/yr, 6 months." in render_strategy(s)
    assert "hear the reason from you directly" in s.guide.opening
    assert "not gone as they should" not in s.guide.opening
    assert s.timeline[0].action.startswith("Hear the reason from the decision maker")
    actions = " ".join(m.action for m in s.timeline)
    assert "recovery" not in actions and "critical" not in actions


def test_growing_is_said_only_when_active_users_grew(vantage, westwind):
    assert users_grew(vantage.value) and not users_grew(westwind.value)  # 30 -> 45; 30 -> 10
    assert "where the team is growing" in vantage.guide.opening
    assert "so the growing team is covered" in vantage.proposals[1].rationale
    flat = _expansion_offer(60_000, vantage.expansion, held=False, grew=False)
    assert flat.rationale == "Adds +10 seats (to 60) and cross-sell O-2 (Integrations) ($14.5K) at renewal."
    # Westwind renewing at 28.4% is high confidence from 20%; its health is yellow, so the plan is healthy
    tiers = {"high_confidence": 20, "likely": 10, "at_risk": 5}
    with _open(overrides={"renewal": {"probability_tiers": tiers}}) as w:
        s = renewal_strategy(w, "W-2")
    assert s.risk.plan_category == "high_confidence"
    assert s.guide.opening.endswith("plan the next one together.")


def test_timeline_is_dated_from_the_renewal_with_past_current_and_upcoming_milestones(vantage, westwind):
    t = [(m.milestone, m.date, m.status) for m in vantage.timeline]
    assert t == [
        ("T-120", dt.date(2026, 5, 16), "past"),
        ("T-90", dt.date(2026, 6, 15), "current"),
        ("T-60", dt.date(2026, 7, 15), "upcoming"),
        ("T-30", dt.date(2026, 8, 14), "upcoming"),
        ("T-0", dt.date(2026, 9, 13), "upcoming"),
    ]
    assert vantage.stage == "T-90"
    assert "renewal + expansion ($74.5K)" in vantage.timeline[2].action
    assert [m.status for m in westwind.timeline] == ["past", "past", "past", "current", "upcoming"]
    assert westwind.timeline[0].action.startswith("Save play")
    assert "active users down 50% in 30 days" in westwind.timeline[0].action
    # health yellow: recovery check-ins; no critical ticket open: nothing to fix first
    assert westwind.timeline[1].action == "Executive-to-executive meeting; weekly recovery check-ins until health " \
                                          "improves."


def test_conversation_guide_turns_drivers_into_objections_with_the_accounts_numbers(vantage, westwind):
    g = westwind.guide
    assert [o.objection for o in g.objections] == [
        "We are not using it enough to justify the cost.",
        "Our new leadership is reviewing every vendor.",
        "We are not happy with the product.",
        "The price is too high.",
    ]
    assert "Active users are 10 (from 30 six months ago)" in g.objections[0].response
    assert '"Too slow for our stores"' in g.objections[2].response  # the customer's own words
    assert "multi-year" not in g.objections[3].response  # not offered at high risk
    assert "What changed for the team in the last six months? Active users went from 30 to 10." in g.questions
    assert "Who sponsors this partnership at the executive level today?" in g.questions
    v = vantage.guide
    assert [o.objection for o in v.objections] == ["The price is too high."]
    assert "$54K" in v.objections[0].response and "per active user" not in v.objections[0].response
    assert "Which teams are joining next? You are using 90% of your seats." in v.questions
    assert "for 2 years" in v.opening and "Vantage Labs" in v.opening


def test_an_account_without_a_renewal_date_gets_risk_and_proposals_but_no_timeline(ws):
    s = renewal_strategy(ws, "X-3")
    assert (s.risk.renewal_date, s.stage, s.timeline) == (None, None, [])
    h = health_for_account(ws, "X-3").score
    # leading indicators: red health 15 + no CSM touch for 272 days 15 = 30 -> p = .7 x .7 + .3 x curve(38.7)
    assert s.risk.probability == round(100 * (0.7 * 0.7 + 0.3 * curve(h)), 1) == 67.3
    assert s.risk.churn_probability == 32.7
    assert s.risk.plan_category == "at_risk" and s.lead_option == "renewal_only"
    assert "No renewal date" in s.note


def test_red_health_makes_a_likely_renewal_an_at_risk_plan(ws):
    # X-3 renews at 67.3% (at risk); with the likely tier from 65% it is likely, but its health is red
    with _open(overrides={"renewal": {"probability_tiers": {"high_confidence": 90, "likely": 65, "at_risk": 50}}}) as w:
        s = renewal_strategy(w, "X-3")
    assert (s.risk.category, s.risk.plan_category, s.lead_option) == ("likely", "at_risk", "renewal_only")
    assert "health is red" in s.lead_reason


def test_churned_and_unknown_accounts_are_errors_that_say_what_to_send(ws):
    with pytest.raises(InvalidArgument, match="churned on 2026-03-01"):
        renewal_strategy(ws, "Z-4")
    with pytest.raises(AccountNotFound, match="Vantage Labs"):
        renewal_strategy(ws, "Vantage Laboratories Ltd")


def test_a_workspace_with_only_accounts_degrades_and_says_what_is_missing(tmp_path):
    for name in ("accounts.csv", "cs-mcp.yaml"):
        shutil.copy(REVIEW / name, tmp_path / name)
    with _open(tmp_path) as w:
        s = renewal_strategy(w, "V-1")
    assert s.risk.health_score is None and s.risk.probability == 99.0  # churn 0, no health: clipped to 99%
    assert s.value.arr_history == [] and s.value.support is None
    assert s.expansion.options == [] and s.expansion.expansion_arr == 0
    assert s.lead_option == "multi_year"  # high confidence, but nothing to expand
    assert len(s.timeline) == 5 and s.tables_used == ["accounts"]
    assert any(n.startswith("usage:") for n in s.not_computed)
    assert "No data to score health" in s.note


def test_text_leads_with_the_renewal_and_stays_compact(vantage, westwind):
    text = render_strategy(vantage)
    assert text.startswith(
        "Vantage Labs (V-1), $60K ARR: renews 2026-09-13 (75 days, stage T-90); renewal probability 98% high "
        "confidence, expected expand. Lead with renewal + expansion ($74.5K/yr)."
    )
    assert "- [NOW] T-90 2026-06-15 value review" in text
    # deltas in the one money format: +14,500 and 54,000 - 60,000 = -6,000
    assert "- LEAD Renewal + expansion: $74.5K/yr (+$14.5K), 12 months." in text
    assert "- Multi-year with discount: $54K/yr (-$6,000), 3 years" in text
    assert len(text) < 6000 and len(render_strategy(westwind)) < 6000


# ------------------------------------------------------------------ through MCP


@pytest.fixture(params=["auto", "legacy"])
async def review_client(request, ws):
    async with Client(create_server(ws.settings, ws, warm_up=False), mode=request.param) as c:
        yield c


@pytest.mark.anyio
async def test_renewal_strategy_tool_returns_the_plan_and_a_text(review_client):
    tools = {t.name: t for t in (await review_client.list_tools()).tools}
    tool = tools["renewal-strategy"]
    assert tool.annotations.read_only_hint is True
    assert tool.input_schema["required"] == ["account"]
    result = await review_client.call_tool("renewal-strategy", {"account": "westwind"})
    assert not result.is_error
    data = result.structured_content
    assert (data["account_id"], data["lead_option"], data["risk"]["probability"]) == ("W-2", "right_size", 28.4)
    assert [p["arr"] for p in data["proposals"]] == [24_000, 20_000, 24_000, 21_600]
    assert [p["offered"] for p in data["proposals"]] == [True, True, False, False]
    assert result.content[0].text.startswith("Westwind Retail (W-2), $24K ARR: renews 2026-07-20 (20 days")


@pytest.mark.anyio
async def test_renewal_strategy_tool_explains_bad_accounts(review_client):
    churned = await review_client.call_tool("renewal-strategy", {"account": "Zenith Old"})
    assert churned.is_error and "churned on 2026-03-01" in churned.content[0].text
    unknown = await review_client.call_tool("renewal-strategy", {"account": "Vantage Laboratories Ltd"})
    assert unknown.is_error and "'Vantage Labs' (V-1)" in unknown.content[0].text
    missing = await review_client.call_tool("renewal-strategy", {})
    assert missing.is_error


# ------------------------------------------------------------------ the bundled demo


def test_on_the_demo_every_plan_is_complete_and_compact():
    import numpy as np

    from cs_mcp.domain.renewal import renewal_base

    with _open(None) as demo:
        base = renewal_base(demo)
        order = np.argsort(base.pct, kind="stable")
        picks = [str(base.ids[i]) for i in (*order[:2], *order[-2:])]
        plans = [renewal_strategy(demo, a) for a in picks]
    for s in plans:
        assert len(s.proposals) in (3, 4, 5) and sum(p.lead for p in s.proposals) == 1
        assert all(p.offered for p in s.proposals if p.lead)
        by = {p.option: p for p in s.proposals}
        assert by["multi_year"].arr == pytest.approx(by["renewal_only"].arr * 0.9)
        if s.risk.category == "high_risk":
            assert not by["multi_year"].offered and not by["renewal_expansion"].offered
        assert len(s.timeline) == 5 and sum(m.status == "current" for m in s.timeline) <= 1
        assert s.guide.objections and s.value.highlights
        assert len(render_strategy(s)) < 6000
    assert plans[0].risk.probability <= plans[-1].risk.probability
    assert plans[0].lead_option in ("renewal_only", "right_size", "short_term")
    for s in plans:
        if "renewal opportunity marked lost in the CRM" in s.risk.churn_drivers:  # churn-risk-list's action
            assert s.lead_option in ("right_size", "short_term")


def test_a_renewal_on_track_is_not_told_its_risks_are_worked_on_nor_a_green_one_that_things_went_wrong(vantage):
    """Vantage renews at 98% in green health. Under tiers that call 98% high risk, its health is still green:
    the opening asks what works and what does not instead of 'the last months have not gone as they should'."""
    assert vantage.proposals[0].rationale == "Same scope and price: the simplest decision for a renewal on track."
    tiers = {"high_confidence": 99.5, "likely": 99.2, "at_risk": 99}
    with _open(overrides={"renewal": {"probability_tiers": tiers}}) as w:
        risky = renewal_strategy(w, "vantage")
    assert (risky.risk.plan_category, risky.risk.health_band) == ("high_risk", "green")
    assert "have not gone as they should" not in risky.guide.opening
    assert risky.guide.opening.startswith("Thank you for working with us for 2 years. Before we talk about the")
    assert risky.proposals[0].rationale.endswith("while the risks are worked on.")
