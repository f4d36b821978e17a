"""account-review-prep on tests/data/review, figures computed by hand (as of 2026-06-30).

Default period: the last 90 days, 2026-04-02 to 2026-06-30; the previous period 2026-01-02 to 2026-04-01.
V-1 Vantage Labs: weekly usage rows (Mondays), active users constant within a month: Jan 32, Feb 35, Mar 38,
  Apr 40, May 42, Jun 45, logins 4 per active user a row (Jan 4 rows x 128 = 512, Mar 5 x 152 = 760, Jun
  5 x 180 = 900). Features in the period: dashboards, reports, api (catalogue of 5); before it only dashboards.
  Tickets: T-14 opened 04-14, closed after 30 h; T-15 opened 05-20, closed after 24 h; T-16 open since 06-25;
  T-13 (02-02) in the previous period. NPS in the period: Ada 9, Ben 10. Sponsor Ben Ortiz, champion Ada Park.
W-2 Westwind Retail: active users 30 Jan-Apr, 20 in May, 10 in June; Finn Cole answered NPS 4 on 05-20; sponsor
  Eve Hart left on 2026-05-15; one ticket (04-10, resolved in 24 h); renews in 20 days at high risk.
"""

import datetime as dt
import shutil
from pathlib import Path

import pytest
from mcp import Client

from cs_mcp.config import load_settings
from cs_mcp.domain.account_review import account_review
from cs_mcp.domain.errors import AccountNotFound, InvalidArgument
from cs_mcp.domain.health import health_for_account
from cs_mcp.server import create_server
from cs_mcp.tools.account_review import render_review

REVIEW = Path(__file__).parent / "data" / "review"


def _open(path=REVIEW):
    from cs_mcp.workspace.loader import open_workspace

    return open_workspace(load_settings(path))


@pytest.fixture(scope="module")
def ws():
    with _open() as w:
        yield w


@pytest.fixture(scope="module")
def vantage(ws):
    return account_review(ws, "Vantage Labs")


@pytest.fixture(scope="module")
def westwind(ws):
    return account_review(ws, "W-2")


def test_default_period_is_the_last_90_days_with_the_previous_90_to_compare(vantage):
    p = vantage.period
    assert (p.first_day, p.last_day, p.days, p.label) == (dt.date(2026, 4, 2), dt.date(2026, 6, 30), 90, "last 90 days")
    assert (p.previous_first_day, p.previous_last_day) == (dt.date(2026, 1, 2), dt.date(2026, 4, 1))


def test_usage_trend_averages_active_users_and_sums_logins_per_month(vantage, westwind):
    months = [(m.month, m.active_users, m.logins, m.rows) for m in vantage.usage.months]
    assert months == [
        ("2026-01", 32, 512, 4),
        ("2026-02", 35, 560, 4),
        ("2026-03", 38, 760, 5),
        ("2026-04", 40, 640, 4),
        ("2026-05", 42, 672, 4),
        ("2026-06", 45, 900, 5),
    ]
    assert vantage.usage.active_users_change_pct == 40.6  # (45 - 32) / 32
    assert westwind.usage.active_users_change_pct == -66.7  # (10 - 30) / 30


def test_adoption_support_and_satisfaction_cover_the_period(vantage, westwind):
    a = vantage.adoption
    assert (a.features_used, a.catalogue_size, a.adoption) == (["api", "dashboards", "reports"], 5, 0.6)
    assert (a.new_features, a.unused_features) == (["api", "reports"], ["alerts", "workflows"])
    s = vantage.support
    assert (s.opened, s.resolved, s.median_resolution_hours, s.open_now, s.opened_previous_period) == (3, 2, 27.0, 1, 1)
    assert (s.csat, s.csat_responses) == (1.0, 2)  # T-14 rated 4, T-15 rated 5
    n = vantage.satisfaction
    assert (n.nps, n.respondents, n.promoters, n.detractors) == (100.0, 2, 2, 0)
    w = westwind.satisfaction
    assert (w.nps, w.detractors, w.detractor_contacts) == (-100.0, 1, ["Finn Cole (4)"])


def test_health_risks_and_outlook_come_from_the_shared_domain_functions(ws, vantage, westwind):
    h = health_for_account(ws, "V-1")
    assert (vantage.health.score, vantage.health.band) == (h.score, "green")
    assert vantage.health.dimensions == {d.dimension: d.score for d in h.dimensions}
    assert [p.days_ago for p in vantage.health.history] == [30, 60, 90]
    o = vantage.outlook
    assert (o.renewal_date, o.days_to_renewal, o.probability, o.category) == (
        dt.date(2026, 9, 13), 75, 98.0, "high_confidence"
    )
    assert o.expansion_arr == 14_500 and o.expansion_signals[0] == "seat upsell +10 seats (to 60) ($12K)"
    r = westwind.risks
    assert r.churn_probability == round(100 - westwind.outlook.probability, 1) and r.at_risk_renewal
    assert r.churn_drivers[0] == "active users down 50% in 30 days"
    assert [c.text for c in r.customer_comments] == ["Too slow for our stores"]  # the detractor's own words
    assert {a.code for a in r.alerts} >= {"usage_drop", "sponsor_left", "renewal_at_risk"}
    assert (westwind.outlook.category, westwind.outlook.expected_outcome) == ("high_risk", "churn")


def test_stakeholders_show_roles_and_the_executive_sponsor_status(vantage, westwind):
    v = vantage.stakeholders
    assert (v.active_contacts, v.by_role) == (3, {"executive_sponsor": 1, "champion": 1, "admin": 1})
    assert (v.exec_sponsor, v.exec_sponsor_name, v.champion) == ("active", "Ben Ortiz", "Ada Park")
    assert [c.contact_id for c in v.contacts] == ["K-12", "K-11", "K-13", "K-14"]  # active first, Dee Moss left
    w = westwind.stakeholders
    assert (w.exec_sponsor, w.exec_sponsor_name) == ("left", "Eve Hart")
    assert "left on 2026-05-15" in w.exec_sponsor_note


def test_agenda_is_timed_and_fits_the_accounts_situation(vantage, westwind):
    v = [(a.topic, a.start_minute, a.minutes) for a in vantage.agenda]
    assert v == [
        ("Objectives and agenda", 0, 5),
        ("Value delivered", 5, 15),
        ("Wins and success stories", 20, 10),
        ("Support review", 30, 10),
        ("Adoption and roadmap", 40, 10),
        ("Renewal and growth plan", 50, 20),  # renewal in 75 days and expansion to offer: one item
        ("Next steps and owners", 70, 5),
    ]
    assert vantage.meeting_minutes == 75
    assert "active users 32 (2026-01) to 45 (2026-06), +41%" in vantage.agenda[1].points
    w = [a.topic for a in westwind.agenda]
    assert w == ["Objectives and agenda", "Value delivered", "Open issues and the plan to fix them", "Support review",
                 "Adoption and roadmap", "Renewal planning", "Next steps and owners"]
    assert westwind.meeting_minutes == 65
    assert westwind.agenda[2].points == ("fewer active users (-67%): what changed, and an adoption plan; your "
                                         "team's feedback: what we heard and what we are changing")
    # the agenda goes to the customer: no internal scores in it
    for item in westwind.agenda + vantage.agenda:
        text = f"{item.topic} {item.points}".lower()
        assert not any(w in text for w in ("health", "churn", "nps", "risk score", "probability")), item


def test_summary_and_prep_todos_speak_in_the_accounts_numbers(vantage, westwind):
    s = vantage.executive_summary
    assert 3 <= len(s) <= 5
    assert s[1] == "Active users went from 32 in 2026-01 to 45 in 2026-06 (+41%); 3 of 5 features used in the period."
    assert s[2] == "In the last 90 days: 3 tickets opened and 2 resolved (median 27 h); NPS +100 from 2 respondents."
    assert s[3] == "Renewal on 2026-09-13 (75 days): 98% (high confidence), expected expand."
    assert vantage.prep_todos[0] == "Confirm Ben Ortiz (executive sponsor) and Ada Park (champion) will attend."
    w = westwind.prep_todos
    assert w[0].startswith("Find the new executive sponsor: executive sponsor Eve Hart left on 2026-05-15")
    assert "Call the detractor(s) before the meeting: Finn Cole (4)." in w
    assert "Ask the admin why active users fell 67%: team changes, another tool, or friction?" in w
    assert (
        "Draft a dated recovery plan for the top risks to walk through: active users down 50% vs 30 days earlier; "
        "the executive sponsor left in the last 90 days and has no successor." in w
    )
    assert westwind.executive_summary[-1].startswith("Watch: active users down 50% vs 30 days earlier")


def test_named_periods_and_day_counts_change_the_window(ws):
    q2 = account_review(ws, "V-1", period="2026-Q2")
    assert (q2.period.first_day, q2.period.last_day, q2.period.days) == (dt.date(2026, 4, 1), dt.date(2026, 6, 30), 91)
    month = account_review(ws, "V-1", days=30)
    s = month.support
    # 2026-06-01 to 06-30: only T-16 opened, nothing resolved; before it (05-02 to 05-31) T-15
    assert (s.opened, s.resolved, s.median_resolution_hours, s.opened_previous_period) == (1, 0, None, 1)
    assert month.satisfaction.respondents == 0 and month.satisfaction.nps is None


def test_bad_periods_and_accounts_are_errors_that_say_what_to_send(ws):
    with pytest.raises(InvalidArgument, match="only one of them"):
        account_review(ws, "V-1", days=30, period="last-quarter")
    with pytest.raises(InvalidArgument, match="Unknown period 'autumn'"):
        account_review(ws, "V-1", period="autumn")
    with pytest.raises(InvalidArgument, match="churned on 2026-03-01"):
        account_review(ws, "Z-4")
    with pytest.raises(AccountNotFound):
        account_review(ws, "Nobody Inc")


def test_an_at_risk_renewal_holds_the_expansion_back_instead_of_calling_it_proposable(tmp_path):
    # a copy where Westwind (high risk, renews in 20 days) has an open $3,000 cross-sell: renewal-strategy holds
    # it back, so the pack does too
    for f in REVIEW.iterdir():
        shutil.copy(f, tmp_path / f.name)
    opps = tmp_path / "opportunities.csv"
    opps.write_text(opps.read_text() + "O-5,W-2,cross-sell,3000,Proposal,2026-09-01,P3\n")
    with _open(tmp_path) as w:
        pack = account_review(w, "W-2")
    o = pack.outlook
    assert (o.category, o.expansion_arr) == ("high_risk", 0)
    assert o.expansion_held == "the renewal is high risk, so expansion waits until the renewal is safe"
    text = render_review(pack)
    assert ("Expansion held back (the renewal is high risk, so expansion waits until the renewal is safe): open "
            "cross-sell O-5") in text
    assert "proposable" not in text and "Growth" not in text


def test_a_workspace_with_only_accounts_still_gives_a_pack(tmp_path):
    for name in ("accounts.csv", "cs-mcp.yaml"):
        shutil.copy(REVIEW / name, tmp_path / name)
    with _open(tmp_path) as w:
        r = account_review(w, "V-1")
    assert (r.usage, r.adoption, r.support, r.satisfaction, r.stakeholders) == (None, None, None, None, None)
    assert (r.health.score, r.health.band) == (None, "unknown")
    assert len(r.executive_summary) == 3 and 5 <= len(r.agenda) <= 7
    assert [n.split(":")[0] for n in r.not_computed][:3] == ["usage", "feature_usage", "tickets"]
    assert r.tables_used == ["accounts"]


def test_text_is_compact_and_complete(vantage, westwind):
    text = render_review(vantage)
    assert text.startswith("QBR pack: Vantage Labs (V-1), last 90 days (2026-04-02 to 2026-06-30), as of 2026-06-30")
    assert "2026-01 32/512, 2026-02 35/560" in text
    assert "- 50-70 min Renewal and growth plan:" in text
    assert len(text) < 6000 and len(render_review(westwind)) < 6000


# ------------------------------------------------------------------ through MCP


@pytest.fixture(params=["auto", "legacy"])
async def review_client(request, ws):
    async with Client(create_server(ws.settings, ws, warm_up=False), mode=request.param) as c:
        yield c


@pytest.mark.anyio
async def test_account_review_prep_tool_returns_the_pack(review_client):
    tools = {t.name: t for t in (await review_client.list_tools()).tools}
    tool = tools["account-review-prep"]
    assert tool.annotations.read_only_hint is True
    assert {"account", "days", "period", "from_date", "to_date"} <= set(tool.input_schema["properties"])
    result = await review_client.call_tool("account-review-prep", {"account": "vantage", "period": "2026-Q2"})
    assert not result.is_error
    data = result.structured_content
    assert (data["account_id"], data["period"]["first_day"], data["meeting_minutes"]) == ("V-1", "2026-04-01", 75)
    assert len(result.content[0].text) < 6000


@pytest.mark.anyio
async def test_account_review_prep_tool_explains_bad_arguments(review_client):
    both = await review_client.call_tool("account-review-prep", {"account": "V-1", "days": 30, "period": "2026-Q2"})
    assert both.is_error and "only one of them" in both.content[0].text
    short = await review_client.call_tool("account-review-prep", {"account": "V-1", "days": 3})
    assert short.is_error
    future = await review_client.call_tool("account-review-prep", {"account": "V-1", "period": "2027-Q1"})
    assert future.is_error and "after the data's as-of date" in future.content[0].text
    unknown = await review_client.call_tool("account-review-prep", {"account": "Westwind Retail Group"})
    assert unknown.is_error and "'Westwind Retail' (W-2)" in unknown.content[0].text


# ------------------------------------------------------------------ the bundled demo


def test_on_the_demo_packs_are_complete_and_under_6000_characters():
    import numpy as np

    from cs_mcp.domain.renewal import renewal_base

    with _open(None) as demo:
        base = renewal_base(demo)
        order = np.argsort(base.pct, kind="stable")
        picks = [str(base.ids[i]) for i in (order[0], order[len(order) // 2], order[-1])]
        packs = [account_review(demo, a) for a in picks]
    for r in packs:
        assert 3 <= len(r.executive_summary) <= 5 and 5 <= len(r.agenda) <= 7
        assert len(r.usage.months) == 6 and r.stakeholders is not None and r.prep_todos
        assert r.not_computed == []
        assert len(render_review(r)) < 6000
