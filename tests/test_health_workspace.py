"""Features computed by the engine and the health score of the tiny workspace, checked by hand.

tests/data/tiny holds three accounts as of 2026-06-30; the figures below follow from its rows
(see the comments) and the default configuration.
"""

import datetime as dt
from pathlib import Path

import pytest

from cs_mcp.domain.health import health_for_account
from cs_mcp.workspace.features import compute_features

TINY_PATH = Path(__file__).parent / "data" / "tiny"


@pytest.fixture(scope="module")
def features(tiny_workspace):
    frame = compute_features(tiny_workspace)
    return {frame["account_id"][i]: frame.row(i) for i in range(len(frame))}


def test_the_workspace_is_analysed_as_of_its_configured_date(tiny_workspace):
    assert tiny_workspace.as_of == dt.date(2026, 6, 30)


def test_usage_figures_come_from_the_last_four_weeks(features):
    a1 = features["A-1"]
    assert a1["active_users"] == pytest.approx(70)  # weeks of 06-08..06-29: 60, 70, 70, 80
    assert a1["seat_utilization"] == pytest.approx(0.70)
    assert a1["logins_per_user_week"] == pytest.approx(1380 / 4 / 70)
    assert a1["active_users_prev"] == pytest.approx(100)
    assert a1["usage_change_pct"] == pytest.approx(-30)
    assert a1["days_since_last_login"] == 1
    assert a1["feature_adoption"] == pytest.approx(0.5)  # f1, f2 of 4 catalogue features (f3 had 0 users)


def test_an_account_that_stopped_using_the_product_scores_zero_usage(features):
    a2 = features["A-2"]
    assert a2["seat_utilization"] == 0
    assert a2["logins_per_user_week"] == 0
    assert a2["days_since_last_login"] == 36
    assert a2["usage_change_pct"] == pytest.approx(-100)
    assert a2["feature_adoption"] == 0
    assert a2["days_since_last_touch"] == 365  # never touched: capped days since contract start


def test_engagement_support_and_sentiment_figures(features):
    a1 = features["A-1"]
    assert a1["outreach_response_rate"] == pytest.approx(0.5)  # call answered, email not
    assert a1["meeting_attendance_rate"] == pytest.approx(0.5)  # meeting held, QBR no-show
    assert a1["days_since_last_touch"] == 11
    assert a1["ticket_volume_ratio"] == pytest.approx(3 / (2 * 30 / 365 + 1))  # (2+1) / (2 baseline * 30/365 + 1)
    assert a1["open_critical_tickets"] == 1
    assert a1["oldest_open_critical_hours"] == pytest.approx(240)
    assert a1["support_csat"] == pytest.approx(1.0)  # one rating in 90 days (T2: 5)
    assert a1["support_csat_n"] == 1
    assert a1["csat"] == pytest.approx(2 / 3)  # survey CSAT, latest per contact: 5, 2, 4 (not the ticket ratings)
    assert a1["csat_n"] == 3
    assert a1["outreach_n"] == 2 and a1["meetings_n"] == 2
    assert a1["nps"] == pytest.approx(100 / 3)  # latest per contact: 9, 6, 10
    assert a1["min_nps_score_90d"] == 6
    assert a1["days_overdue"] == 20
    assert a1["arr_growth_12m"] == pytest.approx(0.2)
    assert a1["exec_sponsor_left_90d"] == 1.0


def test_tables_an_account_has_no_rows_in_give_no_data_not_zero(features):
    a2 = features["A-2"]
    for metric in ("nps", "support_csat", "days_overdue", "arr_growth_12m", "outreach_response_rate"):
        assert a2[metric] != a2[metric], metric  # NaN


def test_health_of_acme_matches_the_hand_computation(tiny_workspace):
    h = health_for_account(tiny_workspace, "A-1")
    # Small samples are damped toward their prior with k = 4 answers (health.small_samples):
    #   support CSAT 1 rating of 100%: (1 x 1.0 + 4 x 0.7) / 5 = 0.76 -> 0.5 + 0.06 / 0.2 x 0.5 = 0.65 of 7 = 4.55
    #   NPS +33.3 from 3 respondents: (3 x 33.3 + 4 x 0) / 7 = 14.29 -> 0.6429 of 7 = 4.50
    #   survey CSAT 2 of 3: (3 x 0.667 + 4 x 0.7) / 7 = 0.6857 -> 0.2857 / 0.3 x 0.5 = 0.4762 of 8 = 3.81
    #   outreach and meetings 1 of 2 each: (2 x 0.5 + 4 x 0.5) / 6 = 0.5, unchanged
    # support = (0.889 volume + 3.0 critical + 4.55 CSAT) / 20 = 42.2; satisfaction = (4.50 + 3.81) / 15 = 55.4
    # usage 84.0 x .30 + engagement 64.0 x .25 + support 42.2 x .20 + satisfaction 55.4 x .15 + financial 70 x .10
    #   = 25.2 + 16.0 + 8.44 + 8.31 + 7.0 = 64.95
    assert h.score == pytest.approx(64.95, abs=0.05)
    assert h.band == "yellow"
    dims = {d.dimension: d.score for d in h.dimensions}
    assert dims == pytest.approx(
        {"usage": 84.0, "engagement": 64.0, "support": 42.2, "satisfaction": 55.4, "financial": 70.0}, abs=0.05
    )
    support = {m.metric: m for d in h.dimensions for m in d.metrics}["support_csat"]
    assert support.sample_size == 1 and support.scored_value == pytest.approx(0.76)
    assert support.display == "support CSAT 100% satisfied (1 rating)"
    assert "support CSAT 100% satisfied (1 rating)" not in h.positive_signals  # one rating is no strength
    codes = {a.code for a in h.alerts}
    assert codes == {"critical_ticket_open", "sponsor_left", "renewal_at_risk"}
    assert h.renewal_in_days == 46
    assert [p.days_ago for p in h.trend.history] == [30, 60, 90]
    assert h.trend.history[0].as_of == dt.date(2026, 5, 31)
    assert "tickets" in h.tables_used and "usage" in h.tables_used


def test_a_tech_touch_account_is_not_scored_on_csm_engagement(tiny_workspace):
    h = health_for_account(tiny_workspace, "A-2")  # smb -> tech_touch (health.coverage)
    engagement = next(d for d in h.dimensions if d.dimension == "engagement")
    assert engagement.score is None and engagement.effective_weight == 0
    assert all(not m.expected for m in engagement.metrics)
    assert "Not expected" in h.note and "No data for satisfaction, financial" in h.note
    # usage 0 (x30) and support (x20) share the weight: support = (1.0 x 7 + 1.0 x 6) / 13 = 100
    assert h.score == pytest.approx(100 * 20 / 50, abs=0.05)


def test_the_trend_direction_reads_every_look_back(tiny_workspace):
    from cs_mcp.domain.health import TrendPoint, _trend

    history = [TrendPoint(days_ago=d, as_of=dt.date(2026, 1, 1), score=s, band="yellow")
               for d, s in ((30, 59), (60, 74), (90, 77))]
    trend = _trend(tiny_workspace.settings, 60, history)  # 77 -> 74 -> 59 -> 60
    assert trend.velocity_per_day == pytest.approx(1 / 30, abs=1e-3)
    assert trend.velocities == {30: pytest.approx(0.033, abs=1e-3), 60: pytest.approx(-0.233, abs=1e-3),
                                90: pytest.approx(-0.189, abs=1e-3)}
    assert trend.direction == "declining"
    assert _trend(tiny_workspace.settings, 40, history).direction == "fast_decline"  # -0.63/day over 60 days


def test_health_trend_uses_scores_as_of_earlier_dates(tiny_workspace):
    now = health_for_account(tiny_workspace, "A-1")
    then = health_for_account(tiny_workspace, "A-1", as_of=dt.date(2026, 5, 31))
    assert now.trend.history[0].score == pytest.approx(then.score, abs=0.05)
    assert now.trend.velocity_per_day == pytest.approx((now.score - then.score) / 30, abs=0.01)


def test_monthly_feature_rows_dated_the_first_count_on_the_last_day_of_the_month(tmp_path):
    import shutil

    from cs_mcp.config import load_settings
    from cs_mcp.workspace.loader import open_workspace

    shutil.copytree(TINY_PATH, tmp_path / "ws")
    (tmp_path / "ws" / "cs-mcp.yaml").write_text("data:\n  as_of: 2026-07-01\n")
    with open(tmp_path / "ws" / "feature_usage.csv", "a") as f:
        f.write("A-1,2026-07-01,f4,2\n")
    ws = open_workspace(load_settings(tmp_path / "ws"))
    frame = compute_features(ws, dt.date(2026, 7, 31), ["A-1"])
    assert frame.row(0)["features_used"] == 1  # the row of 07-01 is in the window ending 07-31
