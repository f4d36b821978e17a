"""retention-metrics on tests/data/retention, every figure computed by hand.

The fixture, as of 2026-06-30 (ARR from subscriptions, active when start <= d < end):
  R-1 Flat Co      enterprise  50,000 throughout                          -> flat
  R-2 Grow Inc     enterprise  40,000, + a 10,000 add-on from 2026-02-01  -> expansion 10,000
  R-3 Shrink LLC   mid-market  30,000, renewed at 24,000 on 2025-08-15    -> contraction 6,000
  R-4 Gone Ltd     smb         20,000, ended 2026-03-01                   -> churn 20,000
  R-5 New Co       smb         15,000 from 2025-11-01                     -> new logo, not in the rates
  R-6 Steady Works mid-market  10,000, renewed flat on 2025-09-20         -> flat
Last 12 months = 2025-06-30 -> 2026-06-30: start ARR 150,000 over 5 customers.
Health now comes only from the ARR trend (financial) and, for R-2, usage: R-1 50, R-2 100, R-3 0, R-6 50;
R-5 has no year-ago ARR and no usage, so no score; R-4 has churned.
"""

import datetime as dt
import shutil
from pathlib import Path

import pytest
from mcp import Client

from cs_mcp.config import load_settings
from cs_mcp.domain.errors import InvalidArgument
from cs_mcp.domain.retention import rates, resolve_period, retention_metrics
from cs_mcp.server import create_server

RETENTION = Path(__file__).parent / "data" / "retention"
AS_OF = dt.date(2026, 6, 30)


@pytest.fixture(scope="module")
def ws():
    from cs_mcp.workspace.loader import open_workspace

    workspace = open_workspace(load_settings(RETENTION))
    yield workspace
    workspace.close()


def values(report):
    return {k: m.value for k, m in report.metrics.items()}


def test_last_12_months_match_the_hand_computation(ws):
    r = retention_metrics(ws)
    assert (r.period.start, r.period.end) == (dt.date(2025, 6, 30), AS_OF)
    assert r.source == "subscriptions"
    v = values(r)
    assert v["grr"] == pytest.approx(124_000 / 150_000, abs=1e-6)  # (150 - 6 contraction - 20 churn) / 150
    assert v["nrr"] == pytest.approx(134_000 / 150_000, abs=1e-6)  # (150 + 10 - 6 - 20) / 150: churn once
    assert v["logo_retention"] == pytest.approx(0.8)  # 1 - 1 lost / 5 customers at start
    assert v["expansion_rate"] == pytest.approx(10_000 / 150_000, abs=1e-6)
    assert v["contraction_rate"] == pytest.approx(6_000 / 150_000, abs=1e-6)
    assert v["gross_churn_rate"] == pytest.approx(20_000 / 150_000, abs=1e-6)


def test_the_new_account_is_counted_apart_and_the_waterfall_adds_up(ws):
    r = retention_metrics(ws)
    c = r.counts
    assert (c.customers_at_start, c.lost, c.new_logos) == (5, 1, 1)
    assert (c.start_arr, c.new_logo_arr, c.churned_arr, c.end_arr) == (150_000, 15_000, 20_000, 149_000)
    w = r.waterfall
    assert (w.start_arr, w.new_arr, w.expansion_arr, w.contraction_arr, w.churned_arr, w.end_arr) == (
        150_000,
        15_000,
        10_000,
        6_000,
        20_000,
        149_000,
    )
    assert w.start_arr + w.new_arr + w.expansion_arr - w.contraction_arr - w.churned_arr == w.end_arr


def test_each_metric_is_judged_against_its_configured_target(ws):
    m = retention_metrics(ws).metrics
    assert (m["grr"].target, m["grr"].met) == (0.90, False)
    assert m["grr"].gap == pytest.approx(124 / 150 - 0.90, abs=1e-6)
    assert (m["nrr"].target, m["logo_retention"].target, m["expansion_rate"].target) == (1.10, 0.90, 0.15)
    assert m["contraction_rate"].target is None and m["contraction_rate"].met is None


def test_health_shares_and_average_health_come_from_the_scored_active_accounts(ws):
    r = retention_metrics(ws)
    m = r.metrics
    assert r.health_scored_accounts == 4  # R-5 unscored, R-4 churned
    assert m["green_accounts_share"].value == pytest.approx(0.25)  # R-2 only
    assert m["green_arr_share"].value == pytest.approx(50_000 / 134_000, abs=1e-6)
    assert m["average_health"].value == pytest.approx(50.0)  # (50 + 100 + 0 + 50) / 4
    assert (m["average_health"].target, m["average_health"].met) == (75, False)
    assert "1 active accounts without a health score" in m["average_health"].note


def test_grr_is_capped_at_100_percent_when_the_period_only_expands(ws):
    # 2025-12-01 -> 2026-02-15: all six accounts hold ARR (159,000); only R-2's add-on changes anything
    r = retention_metrics(ws, start=dt.date(2025, 12, 1), end=dt.date(2026, 2, 15))
    v = values(r)
    assert v["grr"] == 1.0
    assert v["nrr"] == pytest.approx(169_000 / 159_000, abs=1e-6)
    assert rates(100, 50, 0, 0, 1, 0)["grr"] == 1.0


def test_a_quarter_runs_from_its_first_day_to_the_first_day_of_the_next(ws):
    r = retention_metrics(ws, period="2025-Q3")
    assert (r.period.start, r.period.end, r.period.label) == (
        dt.date(2025, 7, 1),
        dt.date(2025, 10, 1),
        "2025-Q3",
    )
    v = values(r)
    assert v["grr"] == pytest.approx(144_000 / 150_000)  # R-3 renewed 30,000 -> 24,000 on 2025-08-15
    assert v["nrr"] == pytest.approx(0.96)
    assert v["logo_retention"] == 1.0


def test_a_period_without_starting_arr_says_so_instead_of_dividing_by_zero(ws):
    r = retention_metrics(ws, period="2020")
    assert r.counts.start_arr == 0
    assert all(r.metrics[k].value is None for k in ("grr", "nrr", "logo_retention", "expansion_rate"))
    assert "No account had ARR on 2020-01-01" in r.note
    assert "2023-09-20" in r.note  # the first subscription, so the model can pick a usable period
    assert any(n.startswith("grr") for n in r.not_computed)


def test_by_segment_computes_each_segments_rates_and_health(ws):
    r = retention_metrics(ws, by="segment")
    groups = {g.key: g for g in r.groups}
    assert [g.key for g in r.groups] == ["enterprise", "mid-market", "smb"]  # by start ARR
    ent, mid, smb = groups["enterprise"], groups["mid-market"], groups["smb"]
    assert (ent.start_arr, ent.grr, ent.nrr) == (90_000, 1.0, pytest.approx(100 / 90, abs=1e-6))
    assert (mid.grr, mid.nrr, mid.logo_retention) == (pytest.approx(0.85), pytest.approx(0.85), 1.0)
    assert (smb.grr, smb.logo_retention, smb.new_logos) == (0.0, 0.0, 1)
    assert (ent.average_health, ent.green_accounts_share, mid.average_health) == (75.0, 0.5, 25.0)
    assert smb.average_health is None and smb.active_accounts == 1
    assert values(r)["grr"] == pytest.approx(124 / 150, abs=1e-6)  # totals unchanged by the breakdown


def test_groups_page_with_a_cursor_and_unknown_columns_are_refused(ws):
    first = retention_metrics(ws, by="csm", limit=1)
    assert (first.groups_page.by, first.groups_page.total, first.groups_page.returned) == ("csm_id", 2, 1)
    second = retention_metrics(ws, by="csm", limit=1, cursor=first.groups_page.next_cursor)
    assert second.groups_page.next_cursor is None
    assert {first.groups[0].key, second.groups[0].key} == {"C-1", "C-2"}
    with pytest.raises(InvalidArgument, match="segment"):
        retention_metrics(ws, by="galaxy")


@pytest.mark.parametrize(
    ("period", "start", "end", "cut"),
    [
        (None, dt.date(2025, 6, 30), AS_OF, False),
        ("last-6-months", dt.date(2025, 12, 30), AS_OF, False),
        ("last-quarter", dt.date(2026, 1, 1), dt.date(2026, 4, 1), False),
        ("Q1", dt.date(2026, 1, 1), dt.date(2026, 4, 1), False),
        ("ytd", dt.date(2026, 1, 1), AS_OF, False),
        ("2026-Q2", dt.date(2026, 4, 1), AS_OF, True),
        ("2025", dt.date(2025, 1, 1), dt.date(2026, 1, 1), False),
        ("2026-02", dt.date(2026, 2, 1), dt.date(2026, 3, 1), False),
    ],
)
def test_period_shorthands_resolve_to_dates(period, start, end, cut):
    p = resolve_period(AS_OF, period)
    assert (p.start, p.end, p.cut_to_as_of) == (start, end, cut)


def test_unusable_periods_are_refused_with_the_accepted_forms():
    with pytest.raises(InvalidArgument, match="last-12-months"):
        resolve_period(AS_OF, "fortnight")
    with pytest.raises(InvalidArgument, match="renewal-forecast"):
        resolve_period(AS_OF, "2026-Q3")
    with pytest.raises(InvalidArgument, match="not both"):
        resolve_period(AS_OF, "2025", start=dt.date(2025, 1, 1))


def test_without_subscriptions_only_logo_retention_and_churned_arr_are_derived(tmp_path):
    from cs_mcp.workspace.loader import open_workspace

    for name in ("accounts.csv", "cs-mcp.yaml"):
        shutil.copy(RETENTION / name, tmp_path / name)
    with open_workspace(load_settings(tmp_path)) as bare:
        r = retention_metrics(bare)
    assert r.source == "accounts" and r.waterfall is None
    assert values(r)["logo_retention"] == pytest.approx(0.8)  # R-4 churned 2026-03-01 of 5 at start
    assert (r.counts.churned_arr, r.counts.new_logos, r.counts.new_logo_arr) == (20_000, 1, 15_000)
    assert r.metrics["grr"].value is None and r.metrics["nrr"].value is None
    assert any(n.startswith("nrr: needs the subscriptions table") for n in r.not_computed)
    assert "only current ARR is known" in r.note


# ------------------------------------------------------------------ through MCP


@pytest.fixture(params=["auto", "legacy"])
async def retention_client(request, ws):
    async with Client(create_server(ws.settings, ws, warm_up=False), mode=request.param) as c:
        yield c


@pytest.mark.anyio
async def test_retention_metrics_tool_returns_structured_figures_and_a_short_text(retention_client):
    tools = {t.name: t for t in (await retention_client.list_tools()).tools}
    tool = tools["retention-metrics"]
    assert tool.annotations.read_only_hint is True
    assert "metrics" in tool.output_schema["properties"]
    result = await retention_client.call_tool("retention-metrics", {"by": "segment"})
    assert not result.is_error
    data = result.structured_content
    assert data["metrics"]["nrr"]["value"] == pytest.approx(134 / 150, abs=1e-6)
    assert data["groups_page"]["total"] == 3
    text = result.content[0].text
    assert "GRR 82.7% (target 90.0%: below by 7.3 pts)" in text
    assert "NRR 89.3%" in text and "- enterprise:" in text
    assert len(text) < 3000


@pytest.mark.anyio
async def test_retention_metrics_tool_explains_bad_arguments(retention_client):
    bad = await retention_client.call_tool("retention-metrics", {"period": "fortnight"})
    assert bad.is_error and "2026-Q3" in bad.content[0].text
    future = await retention_client.call_tool("retention-metrics", {"period": "2027"})
    assert future.is_error and "renewal-forecast" in future.content[0].text
    by = await retention_client.call_tool("retention-metrics", {"by": "galaxy"})
    assert by.is_error and "segment" in by.content[0].text
