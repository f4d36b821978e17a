"""escalation-analysis on tests/data/feedback, every figure computed by hand.

As of 2026-06-30; last 12 months = 2025-07-01 to 2026-06-30. Tickets opened in the period (T09 and T11 before it):
  T01 F-1 bug          escalated  12h        T06 F-2 how-to                  24h
  T02 F-1 bug          escalated  48h        T07 F-3 billing                  2h
  T03 F-1 how-to                   6h        T08 F-4 billing      escalated  48h
  T04 F-1 performance  escalated  open       T10 F-6 bug                     10h
  T05 F-2 performance  escalated  96h
9 tickets, 5 escalations (F-1 3, F-2 1, F-4 1). T11 (F-3, escalated 2025-06-15) is still open.
Customers during the period: F-1..F-7 and F-9 = 8 (F-8 churned 2025-03-01). Customers on 2025-07-01: F-1..F-6 and
F-9 = 7 (F-7 started 2026-03-01). F-4 churned 2026-03-15 after its escalation of 2026-01-05; F-6 (never escalated)
churned 2026-05-31.
"""

import datetime as dt
import shutil
from pathlib import Path

import pytest
from mcp import Client

from cs_mcp.config import load_settings
from cs_mcp.domain.errors import InvalidArgument, NoData
from cs_mcp.domain.escalation import escalation_analysis
from cs_mcp.server import create_server

FEEDBACK = Path(__file__).parent / "data" / "feedback"
AS_OF = dt.date(2026, 6, 30)


def _open(path=FEEDBACK, overrides=None):
    from cs_mcp.workspace.loader import open_workspace

    return open_workspace(load_settings(path, overrides=overrides))


@pytest.fixture(scope="module")
def ws():
    with _open() as w:
        yield w


def test_escalations_per_100_customers_over_the_last_12_months(ws):
    r = escalation_analysis(ws)
    assert (r.period.first_day, r.period.last_day) == (dt.date(2025, 7, 1), AS_OF)
    assert (r.tickets, r.escalations, r.active_customers, r.escalated_accounts) == (9, 5, 8, 3)
    assert r.per_100_customers == 62.5  # 5 / 8 x 100
    assert r.escalation_rate == pytest.approx(5 / 9, abs=1e-6)


def test_repeat_escalators_reach_the_configured_threshold(ws):
    r = escalation_analysis(ws)
    assert (r.repeat_threshold, r.repeat_escalators, r.repeat_escalator_arr) == (2, 1, 100_000)  # F-1
    assert r.repeat_escalations_share == 0.6  # 3 of 5
    with _open(overrides={"feedback": {"repeat_escalation_min": 4}}) as strict:
        assert escalation_analysis(strict).repeat_escalators == 0


def test_time_to_resolve_compares_escalated_with_all_tickets(ws):
    res = escalation_analysis(ws).resolution
    esc, every = res["escalated"], res["all"]
    # escalated, resolved: 12, 48, 48, 96 -> median 48; p90 at rank 2.7: 48 + 0.7 x 48
    assert (esc.tickets, esc.resolved, esc.open, esc.median_hours, esc.p90_hours) == (5, 4, 1, 48.0, 81.6)
    # all: 2, 6, 10, 12, 24, 48, 48, 96 -> median (12 + 24) / 2; p90 at rank 6.3: 48 + 0.3 x 48
    assert (every.tickets, every.resolved, every.open, every.median_hours, every.p90_hours) == (9, 8, 1, 18.0, 62.4)


def test_open_escalations_count_whenever_they_were_opened(ws):
    o = escalation_analysis(ws).open_now
    # T04 opened 2026-06-20 (10 days), T11 opened 2025-06-15 (380 days)
    assert (o.count, o.accounts, o.median_age_days, o.oldest_age_days, o.oldest_ticket_id) == (2, 2, 195.0, 380, "T11")


def test_root_causes_are_the_categories_of_escalated_tickets(ws):
    causes = [(c.category, c.escalations, c.share, c.tickets, c.escalation_rate, c.median_hours_to_resolve, c.open)
              for c in escalation_analysis(ws).root_causes]
    assert causes == [
        ("bug", 2, 0.4, 3, pytest.approx(2 / 3, abs=1e-6), 30.0, 0),  # T01 12h, T02 48h; T10 not escalated
        ("performance", 2, 0.4, 2, 1.0, 96.0, 1),  # T05 96h; T04 open
        ("billing", 1, 0.2, 2, 0.5, 48.0, 0),
    ]


def test_churn_of_escalated_accounts_is_compared_with_the_others(ws):
    c = escalation_analysis(ws).churn
    assert (c.cohort_accounts, c.escalated_accounts, c.escalated_churned, c.other_accounts, c.other_churned) == (
        7, 3, 1, 4, 1
    )  # F-4 churned after escalating; F-6 churned without
    assert (c.escalated_churn_rate, c.other_churn_rate) == (pytest.approx(1 / 3, abs=1e-6), 0.25)
    assert c.relative_risk == 1.333


def test_the_accounts_with_most_escalations_carry_arr_health_and_renewal(ws):
    from cs_mcp.domain.portfolio import portfolio_snapshot

    r = escalation_analysis(ws)
    assert (r.total, r.returned, r.next_cursor) == (3, 3, None)
    rows = [(a.account_id, a.escalations, a.open_escalations, a.top_category, a.arr) for a in r.accounts]
    assert rows == [("F-1", 3, 1, "bug", 100_000), ("F-2", 1, 0, "performance", 50_000),
                    ("F-4", 1, 0, "billing", 5_000)]
    f1 = r.accounts[0]
    assert (f1.first_escalation, f1.last_escalation) == (dt.date(2025, 9, 1), dt.date(2026, 6, 20))
    assert (f1.renewal_date, f1.days_to_renewal) == (dt.date(2026, 9, 30), 92)
    snap = portfolio_snapshot(ws)
    assert f1.health_band == snap.health.band(snap.position["F-1"]) != "unknown"
    assert r.accounts[2].churned_on == dt.date(2026, 3, 15)
    first = escalation_analysis(ws, limit=2)
    second = escalation_analysis(ws, limit=2, cursor=first.next_cursor)
    assert [a.account_id for a in second.accounts] == ["F-4"] and second.next_cursor is None


def test_by_segment_breaks_down_rates_and_churn(ws):
    r = escalation_analysis(ws, by="segment")
    g = {x.key: x for x in r.groups}
    assert [x.key for x in r.groups] == ["enterprise", "smb", "mid-market"]  # most escalations first
    ent, smb, mid = g["enterprise"], g["smb"], g["mid-market"]
    assert (ent.active_customers, ent.escalations, ent.per_100_customers, ent.repeat_escalators) == (2, 4, 200.0, 1)
    assert (smb.active_customers, smb.escalations, smb.per_100_customers) == (4, 1, 25.0)  # F-3, F-4, F-7, F-9
    assert (smb.churn.escalated_churn_rate, smb.churn.other_churn_rate, smb.churn.relative_risk) == (1.0, 0.0, None)
    assert (mid.escalations, mid.churn.escalated_churn_rate, mid.churn.other_churn_rate) == (0, None, 0.5)
    assert r.per_100_customers == 62.5  # totals unchanged by the breakdown


def test_a_segment_filter_and_a_quarter_narrow_the_analysis(ws):
    ent = escalation_analysis(ws, segment="enterprise")
    assert (ent.tickets, ent.escalations, ent.active_customers, ent.per_100_customers) == (6, 4, 2, 200.0)
    assert ent.open_now.count == 1  # T11 belongs to smb
    q1 = escalation_analysis(ws, period="2026-Q1")
    # T05 and T08 escalated; T03 not; customers during Q1: F-1..F-7, F-9
    assert (q1.tickets, q1.escalations, q1.active_customers, q1.per_100_customers) == (3, 2, 8, 25.0)


def test_bad_arguments_are_refused_with_what_to_send(ws):
    with pytest.raises(InvalidArgument, match="enterprise, mid-market, smb"):
        escalation_analysis(ws, segment="galactic")
    with pytest.raises(InvalidArgument, match="segment"):
        escalation_analysis(ws, by="galaxy")
    with pytest.raises(InvalidArgument, match="last-12-months"):
        escalation_analysis(ws, period="fortnight")


def test_a_period_without_escalations_says_when_they_happened(ws):
    r = escalation_analysis(ws, period="2024")
    assert (r.escalations, r.per_100_customers, r.accounts) == (0, 0.0, [])
    assert "escalations in the data run from 2025-05-01 to 2026-06-20" in r.note


def test_without_tickets_or_escalation_flags_it_is_no_data(tmp_path):
    for f in FEEDBACK.iterdir():
        if f.stem != "tickets":
            shutil.copy(f, tmp_path / f.name)
    with _open(tmp_path) as bare, pytest.raises(NoData, match="tickets table"):
        escalation_analysis(bare)
    lines = (FEEDBACK / "tickets.csv").read_text().splitlines()
    (tmp_path / "tickets.csv").write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")
    with _open(tmp_path) as unflagged, pytest.raises(NoData, match="no escalated values"):
        escalation_analysis(unflagged)


def test_without_churn_dates_the_churn_comparison_is_not_computed(tmp_path):
    for f in FEEDBACK.iterdir():
        shutil.copy(f, tmp_path / f.name)
    lines = (FEEDBACK / "accounts.csv").read_text().splitlines()
    (tmp_path / "accounts.csv").write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")
    with _open(tmp_path) as w:
        r = escalation_analysis(w)
    assert r.churn is None and any(n.startswith("churn comparison") for n in r.not_computed)


# ------------------------------------------------------------------ through MCP


@pytest.fixture(params=["auto", "legacy"])
async def esc_client(request, ws):
    async with Client(create_server(ws.settings, ws, warm_up=False), mode=request.param) as c:
        yield c


@pytest.mark.anyio
async def test_escalation_analysis_tool_returns_figures_and_a_short_text(esc_client):
    tool = {t.name: t for t in (await esc_client.list_tools()).tools}["escalation-analysis"]
    assert tool.annotations.read_only_hint is True
    assert "per_100_customers" in tool.output_schema["properties"]
    result = await esc_client.call_tool("escalation-analysis", {"by": "segment", "limit": 2})
    assert not result.is_error
    data = result.structured_content
    assert (data["escalations"], data["per_100_customers"], data["total"]) == (5, 62.5, 3)
    text = result.content[0].text
    assert text.startswith("Escalations last 12 months (2025-07-01 to 2026-06-30), as of 2026-06-30: 5 escalations "
                           "= 62.5 per 100 customers (8 were customers during the period)")
    assert "Time to resolve: escalated median 48h, p90 82h" in text
    assert "- F-1 Alpha Co: 3 escalations (1 open), mostly bug; $100K ARR" in text
    assert "More: pass cursor=" in text and len(text) < 4000


@pytest.mark.anyio
async def test_escalation_analysis_tool_explains_bad_arguments(esc_client):
    seg = await esc_client.call_tool("escalation-analysis", {"segment": "galactic"})
    assert seg.is_error and "enterprise" in seg.content[0].text
    future = await esc_client.call_tool("escalation-analysis", {"start_date": "2027-01-01"})
    assert future.is_error and "as-of date" in future.content[0].text
    limit = await esc_client.call_tool("escalation-analysis", {"limit": 0})
    assert limit.is_error


# ------------------------------------------------------------------ on the demo


def test_on_the_demo_portfolio_the_answer_is_sane_and_compact():
    from cs_mcp.tools.escalation import render_escalations
    from cs_mcp.workspace.loader import open_workspace

    with open_workspace(load_settings()) as demo:
        r = escalation_analysis(demo, by="segment", limit=50)
    assert 0 < r.escalations <= r.tickets and r.escalated_accounts <= r.active_customers
    assert sum(g.escalations for g in r.groups) == r.escalations
    assert sum(c.escalations for c in r.root_causes) == r.escalations
    assert abs(sum(c.share for c in r.root_causes) - 1) < 1e-4
    assert r.resolution["escalated"].median_hours <= r.resolution["escalated"].p90_hours
    assert r.accounts == sorted(r.accounts, key=lambda a: -a.escalations)
    assert all(a.health_band in ("green", "yellow", "red", "unknown") for a in r.accounts)
    assert r.churn.cohort_accounts == r.churn.escalated_accounts + r.churn.other_accounts
    assert len(render_escalations(r)) < 20_000
