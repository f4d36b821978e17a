"""renewal-forecast on tests/data/retention with injected churn probabilities, figures computed by hand.

As of 2026-06-30, the default 90-day window (to 2026-09-28) holds four active renewals:
  R-1 Flat Co       50,000  renews 2026-07-20 (20 days)  churn 0.55  no usable opportunity (lost upsell)
  R-3 Shrink LLC    24,000  renews 2026-08-15 (46 days)  churn 0.30  open downgrade 4,000
  R-2 Grow Inc      50,000  renews 2026-09-01 (63 days)  churn 0.05  open upsell 12,000, seats 45/50 used
  R-6 Steady Works  10,000  renews 2026-09-20 (82 days)  churn 0.20  renewal opportunity in Negotiation
R-5 New Co (15,000) renews 2026-11-01, outside it; R-4 has churned. Health: R-1 50, R-2 100, R-3 0, R-6 50.
"""

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from mcp import Client

from cs_mcp.config import load_settings
from cs_mcp.domain import renewal
from cs_mcp.domain.errors import InvalidArgument
from cs_mcp.domain.renewal import renewal_forecast, resolve_window, timeline_of
from cs_mcp.server import create_server

RETENTION = Path(__file__).parent / "data" / "retention"
AS_OF = dt.date(2026, 6, 30)
NO_HEALTH = {"renewal": {"probability": {"health_weight": 0}}}


@dataclass
class FixedChurn:
    account_ids: np.ndarray
    probability: np.ndarray
    method: str = "model"
    drivers: tuple = ()


CHURN = FixedChurn(
    np.array(["R-1", "R-2", "R-3", "R-5", "R-6"], dtype=object),
    np.array([0.55, 0.05, 0.30, 0.10, 0.20]),
    drivers=(["usage down 40%"], [], ["ARR down 20%"], [], []),
)


def _open(overrides=None):
    from cs_mcp.workspace.loader import open_workspace

    return open_workspace(load_settings(RETENTION, overrides=overrides))


@pytest.fixture(scope="module")
def ws():
    with _open() as w:
        yield w


@pytest.fixture(scope="module")
def ws_churn_only():
    """The same data with health_weight 0: probability = 1 - churn + opportunity adjustments."""
    with _open(NO_HEALTH) as w:
        yield w


def by_id(forecast):
    return {r.account_id: r for r in forecast.accounts}


def test_probabilities_categories_and_outcomes_from_churn_and_opportunities(ws_churn_only):
    f = renewal_forecast(ws_churn_only, churn=CHURN)
    rows = by_id(f)
    assert set(rows) == {"R-1", "R-2", "R-3", "R-6"}
    # 1 - .55 = 45% -> high risk -> churn
    assert (rows["R-1"].probability, rows["R-1"].category, rows["R-1"].expected_outcome) == (
        45.0,
        "high_risk",
        "churn",
    )
    # 95% -> high confidence; open upsell 12,000 -> expand to 62,000; 45 of 50 seats -> candidate
    r2 = rows["R-2"]
    assert (r2.probability, r2.category, r2.expected_outcome, r2.expected_arr) == (
        95.0,
        "high_confidence",
        "expand",
        62_000,
    )
    assert r2.expansion_candidate and r2.seat_utilization == pytest.approx(0.9)
    # 70% - 10 pts open downgrade = 60% -> at risk; contract to 20,000
    r3 = rows["R-3"]
    assert (r3.probability, r3.category, r3.expected_outcome, r3.expected_arr) == (
        60.0,
        "at_risk",
        "contract",
        20_000,
    )
    # 80% + 5 pts late-stage renewal = 85% -> likely; committed at the same ARR -> renew
    r6 = rows["R-6"]
    assert (r6.probability, r6.category, r6.expected_outcome) == (85.0, "likely", "renew")
    assert r6.expansion_arr == 0  # its upsell closes in 2027, long after this renewal
    assert rows["R-1"].churn_drivers == ["usage down 40%"]


def test_worst_never_exceeds_base_nor_base_best_on_random_books():
    from cs_mcp.domain.renewal import scenario_values

    rng = np.random.default_rng(3)
    for _ in range(500):
        n = int(rng.integers(1, 40))
        arr = rng.uniform(0, 500_000, n) * (rng.random(n) < 0.95)
        p = rng.beta(rng.uniform(0.2, 5), rng.uniform(0.2, 5), n)
        expansion = rng.uniform(0, 100_000, n) * (rng.random(n) < 0.4)
        contraction = arr * rng.uniform(0, 1, n) * (rng.random(n) < 0.3)
        likely = p >= rng.uniform(0.3, 0.9)
        best, base, worst = scenario_values(arr, p, expansion, contraction, likely)
        assert worst <= base + 1e-6 and base <= best + 1e-6, (worst, base, best)


def test_forecast_scenarios_are_ordered_for_every_window_length_on_the_demo():
    from cs_mcp.workspace.loader import open_workspace

    with open_workspace(load_settings(None, overrides={"churn": {"disk_cache": False}})) as demo:
        for days in (30, 90, 180, 365):
            s = renewal_forecast(demo, days=days).scenarios
            assert s.worst <= s.base <= s.best, (days, s)


def test_best_base_worst_and_forecast_retention_match_the_hand_computation(ws_churn_only):
    f = renewal_forecast(ws_churn_only, churn=CHURN)
    assert (f.renewals, f.arr_up_for_renewal) == (4, 134_000)
    s = f.scenarios
    assert s.best == 146_000  # 134,000 + R-2's 12,000 expansion, no contraction
    assert s.base == pytest.approx(101_900)  # .45*50,000 + .95*62,000 + .60*20,000 + .85*10,000
    assert s.worst == 56_000  # R-1 (45%) and R-3 (60%) churn; R-2 (.95 x 50,000) and R-6 (.85 x 10,000) renew
    w = f.waterfall
    assert w.churned_arr == pytest.approx(41_100)  # .55*50,000 + .05*50,000 + .40*24,000 + .15*10,000
    assert w.contraction_arr == pytest.approx(2_400)  # .60 * 4,000
    assert w.expansion_arr == pytest.approx(11_400)  # .95 * 12,000
    assert w.end_arr == pytest.approx(101_900)
    assert w.new_arr is None
    m = f.metrics
    assert m["grr"].value == pytest.approx(90_500 / 134_000, abs=1e-6)
    assert m["nrr"].value == pytest.approx(101_900 / 134_000, abs=1e-6)
    assert m["logo_retention"].value == pytest.approx(2.85 / 4)
    assert (m["grr"].target, m["grr"].met) == (0.90, False)
    cats = {b.name: (b.accounts, b.arr) for b in f.by_category}
    assert cats == {
        "high_confidence": (1, 50_000),
        "likely": (1, 10_000),
        "at_risk": (1, 24_000),
        "high_risk": (1, 50_000),
    }
    outcomes = {b.name: b.accounts for b in f.by_outcome}
    assert outcomes == {"expand": 1, "renew": 1, "flat": 0, "contract": 1, "churn": 1}


def test_a_learned_model_gives_the_probability_alone_health_is_already_in_it(ws):
    f = renewal_forecast(ws, churn=CHURN)  # health_weight 0.3, but the model's P(lost) is the risk
    p = {r.account_id: r.probability for r in f.accounts}
    assert p == {"R-1": 45.0, "R-2": 95.0, "R-3": 60.0, "R-6": 85.0}
    assert {r.account_id: r.churn_probability for r in f.accounts} == {"R-1": 55.0, "R-2": 5.0, "R-3": 40.0,
                                                                         "R-6": 15.0}
    assert "health curve" not in f.probability_rule


def test_without_a_model_health_is_blended_into_the_probability_by_the_configured_weight(ws):
    # p = .7 (1 - indicator score / 100) + .3 curve(health); curve: 0 -> .30, 50 -> .70, 100 -> .98
    indicators = FixedChurn(CHURN.account_ids, CHURN.probability, "leading-indicator", CHURN.drivers)
    f = renewal_forecast(ws, churn=indicators)
    p = {r.account_id: r.probability for r in f.accounts}
    assert p["R-1"] == pytest.approx(52.5)  # .7*.45 + .3*.70
    assert p["R-2"] == pytest.approx(95.9)  # .7*.95 + .3*.98
    assert p["R-3"] == pytest.approx(48.0)  # .7*.70 + .3*.30 - .10
    assert p["R-6"] == pytest.approx(82.0)  # .7*.80 + .3*.70 + .05
    assert by_id(f)["R-3"].expected_outcome == "churn"
    assert "health curve" in f.probability_rule and f.method == "leading-indicator"


def test_won_and_lost_renewals_override_the_blend():
    from cs_mcp.config import Settings

    flags = {
        "downgrades": np.array([0, 0]),
        "late_renewals": np.array([0, 0]),
        "won_renewals": np.array([1, 0]),
        "lost_renewals": np.array([0, 1]),
    }
    p = renewal.blend_probability(
        np.array([0.9, 0.0]), np.array([np.nan, np.nan]), flags, Settings().renewal
    )
    assert p.tolist() == pytest.approx([0.97, 0.03])


def test_each_renewal_sits_on_the_timeline_with_its_next_milestone(ws_churn_only):
    rows = by_id(renewal_forecast(ws_churn_only, churn=CHURN))
    t = {
        a: (r.timeline.stage, r.timeline.next_milestone, r.timeline.next_milestone_date)
        for a, r in rows.items()
    }
    assert t["R-1"] == ("T-30", "T-0", dt.date(2026, 7, 20))  # 20 days left
    assert t["R-3"] == ("T-60", "T-30", dt.date(2026, 7, 16))  # 46 days left
    assert t["R-2"] == ("T-90", "T-60", dt.date(2026, 7, 3))  # 63 days left
    assert t["R-6"] == ("T-90", "T-60", dt.date(2026, 7, 22))  # 82 days left
    assert rows["R-3"].timeline.stage_name == "proposal"


@pytest.mark.parametrize(
    ("days", "stage", "nxt"),
    [
        (200, "before T-120", "T-120"),
        (120, "T-120", "T-90"),
        (90, "T-90", "T-60"),
        (31, "T-60", "T-30"),
        (1, "T-30", "T-0"),
        (0, "T-0", None),
        (-3, "overdue", None),
    ],
)
def test_timeline_stage_boundaries(days, stage, nxt):
    renewal_date = AS_OF + dt.timedelta(days=days)
    t = timeline_of(days, renewal_date, [120, 90, 60, 30, 0])
    assert (t.stage, t.next_milestone) == (stage, nxt)


def test_windows_by_days_quarter_and_dates(ws_churn_only):
    q4 = renewal_forecast(ws_churn_only, quarter="2026-Q4", churn=CHURN)
    assert (q4.window.start, q4.window.end) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert [r.account_id for r in q4.accounts] == ["R-5"]
    assert q4.accounts[0].timeline.stage == "before T-120"
    assert resolve_window(AS_OF, 90, quarter="Q1").start == dt.date(2027, 1, 1)  # this year's Q1 is over
    assert resolve_window(AS_OF, 90, quarter="q2").start == dt.date(2026, 4, 1)  # current quarter
    soon = renewal_forecast(ws_churn_only, days=30, churn=CHURN)
    assert [r.account_id for r in soon.accounts] == ["R-1"]
    dates = renewal_forecast(ws_churn_only, start=dt.date(2026, 8, 1), end=dt.date(2026, 9, 1), churn=CHURN)
    assert [r.account_id for r in dates.accounts] == ["R-3", "R-2"]
    with pytest.raises(InvalidArgument, match="not days and quarter"):
        renewal_forecast(ws_churn_only, days=30, quarter="2026-Q4", churn=CHURN)


def test_a_window_without_renewals_is_a_normal_answer(ws_churn_only):
    f = renewal_forecast(ws_churn_only, quarter="2027-Q2", churn=CHURN)
    assert (f.renewals, f.total, f.accounts, f.scenarios.base) == (0, 0, [], 0)
    assert f.metrics["grr"].value is None
    assert "No renewals fall in 2027-Q2" in f.note


def test_filters_and_an_unknown_segment(ws_churn_only):
    ent = renewal_forecast(ws_churn_only, segment="Enterprise", churn=CHURN)
    assert {r.account_id for r in ent.accounts} == {"R-1", "R-2"}
    assert ent.arr_up_for_renewal == 100_000
    assert [r.account_id for r in renewal_forecast(ws_churn_only, csm_id="C-2", churn=CHURN).accounts] == [
        "R-3"
    ]
    with pytest.raises(InvalidArgument, match="enterprise, mid-market, smb"):
        renewal_forecast(ws_churn_only, segment="galactic", churn=CHURN)


def test_pages_follow_the_sort_and_totals_cover_the_whole_window(ws_churn_only):
    first = renewal_forecast(ws_churn_only, sort="risk", limit=2, churn=CHURN)
    assert [r.account_id for r in first.accounts] == ["R-1", "R-3"]  # 45%, 60%
    assert (first.total, first.returned, first.scenarios.base) == (4, 2, pytest.approx(101_900))
    second = renewal_forecast(ws_churn_only, sort="risk", limit=2, cursor=first.next_cursor, churn=CHURN)
    assert [r.account_id for r in second.accounts] == ["R-6", "R-2"]
    assert second.next_cursor is None
    by_date = renewal_forecast(ws_churn_only, churn=CHURN)
    assert [r.account_id for r in by_date.accounts] == ["R-1", "R-3", "R-2", "R-6"]
    at_risk = renewal_forecast(ws_churn_only, sort="arr_at_risk", churn=CHURN)
    assert [r.account_id for r in at_risk.accounts][:2] == ["R-1", "R-3"]  # 27,500 then 9,600 at risk


# ------------------------------------------------------------------ through MCP


@pytest.fixture(params=["auto", "legacy"])
async def renewal_client(request, monkeypatch):
    monkeypatch.setattr(renewal, "_churn_scores", lambda ws: CHURN)
    with _open(NO_HEALTH) as w:
        async with Client(create_server(w.settings, w, warm_up=False), mode=request.param) as c:
            yield c


@pytest.mark.anyio
async def test_renewal_forecast_tool_gives_totals_rows_and_a_compact_text(renewal_client):
    tools = {t.name: t for t in (await renewal_client.list_tools()).tools}
    tool = tools["renewal-forecast"]
    assert tool.annotations.read_only_hint is True
    assert {"days", "quarter", "segment", "sort", "cursor"} <= set(tool.input_schema["properties"])
    result = await renewal_client.call_tool("renewal-forecast", {"sort": "risk", "limit": 3})
    assert not result.is_error
    data = result.structured_content
    assert (data["total"], data["returned"]) == (4, 3)
    assert data["scenarios"]["worst"] == 56_000
    assert data["accounts"][0]["account_id"] == "R-1"
    text = result.content[0].text
    assert "Forecast ARR: base $102K (probability-weighted), best $146K, worst $56K" in text
    assert "R-1 Flat Co: $50K, 45% high risk, churn; T-30, next T-0 2026-07-20" in text
    assert "More: pass cursor=" in text
    assert len(text) < 4000


@pytest.mark.anyio
async def test_renewal_forecast_tool_explains_bad_arguments(renewal_client):
    segment = await renewal_client.call_tool("renewal-forecast", {"segment": "galactic"})
    assert segment.is_error and "enterprise" in segment.content[0].text
    both = await renewal_client.call_tool("renewal-forecast", {"days": 30, "quarter": "2026-Q4"})
    assert both.is_error and "not days and quarter" in both.content[0].text
    quarter = await renewal_client.call_tool("renewal-forecast", {"quarter": "autumn"})
    assert quarter.is_error and "2026-Q4" in quarter.content[0].text
    sort = await renewal_client.call_tool("renewal-forecast", {"sort": "vibes"})
    assert sort.is_error
    empty = await renewal_client.call_tool("renewal-forecast", {"quarter": "2027-Q2"})
    assert not empty.is_error and "No renewals fall in 2027-Q2" in empty.content[0].text


def test_a_quarter_is_compared_with_targets_compounded_to_the_quarter():
    from cs_mcp.config import Settings
    from cs_mcp.domain.retention import period_targets

    t = Settings().targets  # GRR 0.90, NRR 1.10, logo retention 0.90, expansion rate 0.15 a year
    scaled, basis = period_targets(t, 92)
    f = 92 / 365.25
    assert scaled["grr"] == pytest.approx(0.90**f, abs=1e-6)  # 0.9738
    assert scaled["nrr"] == pytest.approx(1.10**f, abs=1e-6)  # 1.0243
    assert scaled["expansion_rate"] == pytest.approx(1.15**f - 1, abs=1e-6)  # 0.0358, not 0.15
    assert "compounded" in basis and "92-day" in basis
    annual, basis = period_targets(t, 365)
    assert annual == {"grr": 0.90, "nrr": 1.10, "logo_retention": 0.90, "expansion_rate": 0.15}
    assert "compared as they are" in basis


def test_retention_of_a_quarter_says_which_target_basis_it_used():
    from cs_mcp.domain.retention import retention_metrics

    with _open() as w:
        q = retention_metrics(w, period="2026-Q1")
        year = retention_metrics(w, period="last-12-months")
    assert q.metrics["grr"].target == pytest.approx(0.90 ** (90 / 365.25), abs=1e-6)
    assert "90-day period" in q.target_basis
    assert year.metrics["grr"].target == 0.90


def test_a_look_back_counts_only_the_deals_closed_by_its_date():
    # at the data's end (2026-06-30) every deal counts: R-3's open downgrade, R-6's renewal in Negotiation
    with _open(NO_HEALTH) as now:
        assert renewal.closed_by(now) == dt.date.max
        base = renewal.build_base(now, CHURN)
        i3, i6 = base.position["R-3"], base.position["R-6"]
        assert (base.flags["downgrades"][i3], base.flags["late_renewals"][i6]) == (1, 1)
    # scored as of 2026-06-01, inside the data: both close later, so the CRM did not know them then
    with _open({**NO_HEALTH, "data": {"as_of": "2026-06-01"}}) as back:
        assert renewal.closed_by(back) == dt.date(2026, 6, 1)
        base = renewal.build_base(back, CHURN)
        i3, i6 = base.position["R-3"], base.position["R-6"]
        assert (base.flags["downgrades"][i3], base.flags["late_renewals"][i6]) == (0, 0)
        # 1 - 0.30 = 70%, no downgrade deduction
        assert base.pct[i3] == pytest.approx(70.0)


LOOK_BACK_CHURN = FixedChurn(
    np.array(["R-1", "R-2", "R-3", "R-4", "R-6"], dtype=object), np.array([0.55, 0.05, 0.30, 0.40, 0.20]),
    drivers=([],) * 5)


def test_a_look_back_books_the_renewal_that_was_due_then_not_the_one_stored_today():
    # accounts.renewal_date holds the dates as of the data's end (2026-06-29, the last usage row): and
    # R-6 have renewed since 2025-08-01, so they show 2026 dates; the renewals due then were a year earlier
    with _open({**NO_HEALTH, "data": {"as_of": "2025-08-01"}}) as back:
        assert renewal.closed_by(back) == dt.date(2025, 8, 1)
        f = renewal_forecast(back, days=60, churn=LOOK_BACK_CHURN)
        rows = by_id(f)
        assert sorted(rows) == ["R-2", "R-3", "R-6"]
        assert [(r.renewal_date, r.days_to_renewal) for r in (rows["R-3"], rows["R-2"], rows["R-6"])] == [
            (dt.date(2025, 8, 15), 14), (dt.date(2025, 9, 1), 31), (dt.date(2025, 9, 20), 50)]
        # R-1 (2026-07-20) and R-4 (2026-03-01, churned then) were due within the year: their dates stand
        base = renewal.build_base(back, LOOK_BACK_CHURN)
        due = {a: base.renewal[base.position[a]] for a in ("R-1", "R-4")}
        assert {a: str(d) for a, d in due.items()} == {"R-1": "2026-07-20", "R-4": "2026-03-01"}
        # the feature SQL (health alerts, segments, expansion) counts to the same renewal as the book
        from cs_mcp.domain.portfolio import portfolio_snapshot

        snap = portfolio_snapshot(back)
        days = {a: snap.frame["days_to_renewal"][snap.position[a]] for a in ("R-1", "R-2", "R-3", "R-4", "R-6")}
        assert days == {"R-1": 353, "R-2": 31, "R-3": 14, "R-4": 212, "R-6": 50}


def test_scheduled_activity_after_today_does_not_make_the_latest_date_a_look_back(tmp_path):
    import shutil

    from cs_mcp.workspace.queries.coverage import data_end

    data = tmp_path / "retention"
    shutil.copytree(RETENTION, data)
    (data / "cs-mcp.yaml").write_text("data:\n  as_of: latest\n")
    with (data / "usage.csv").open("a") as f:
        f.write("R-2,2099-01-05,45,225\n")  # a future-dated row: not used to choose as_of
    with _open_at(data) as ws:
        assert ws.as_of == dt.date(2026, 6, 29)
        assert data_end(ws) == ws.as_of
        assert renewal.closed_by(ws) == dt.date.max  # every deal counts: R-3's open downgrade is seen
        base = renewal.build_base(ws, CHURN)
        assert base.flags["downgrades"][base.position["R-3"]] == 1


def _open_at(path, overrides=None):
    from cs_mcp.workspace.loader import open_workspace

    return open_workspace(load_settings(path, overrides={**NO_HEALTH, **(overrides or {})}))


def test_crm_evidence_leads_the_drivers_and_a_lost_renewal_drops_what_lowers_the_risk():
    from types import SimpleNamespace

    from cs_mcp.domain.churn import Driver
    from cs_mcp.domain.renewal import book_drivers, driver_words

    up = Driver(feature="seat_utilization", text="20% of seats active", direction="raises risk", impact=5)
    down = Driver(feature="nps", text="NPS +60", direction="lowers risk", impact=-3)
    base = SimpleNamespace(
        ids=np.array(["L", "W", "N", "U"], dtype=object), churn_index=np.array([0, 1, 2, -1]),
        churn_source=SimpleNamespace(drivers=[[down, up], [up, down], [down, up]]),
        flags={"lost_renewals": np.array([1.0, 0, 0, 1]), "won_renewals": np.array([0, 1.0, 0, 0])},
    )
    words = {i: [driver_words(d) for d in ds] for i, ds in book_drivers(base, [0, 1, 2, 3]).items()}
    assert words == {
        0: ["renewal opportunity marked lost in the CRM", "20% of seats active"],
        1: ["(+) renewal opportunity won in the CRM", "20% of seats active", "(+) NPS +60"],
        2: ["20% of seats active", "(+) NPS +60"],
        3: ["renewal opportunity marked lost in the CRM"],  # no churn score: the CRM still says why
    }


def test_the_array_hold_rule_is_the_one_account_rule():
    import numpy as np

    from cs_mcp.domain.renewal import expansion_hold, plan_at_risk

    cats = [None, "high_confidence", "likely", "at_risk", "high_risk"]
    bands = ["green", "yellow", "red", "unknown"]
    pairs = [(c, b) for c in cats for b in bands]
    arrays = plan_at_risk(np.array([c for c, _ in pairs], dtype=object), np.array([b for _, b in pairs]))
    assert arrays.tolist() == [expansion_hold(c, b) is not None for c, b in pairs]
    assert arrays.sum() == 2 * 4 + 2  # at risk or high risk in any band, plus the two safe categories when red
