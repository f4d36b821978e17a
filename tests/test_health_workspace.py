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
    assert a1["support_csat"] == pytest.approx(1.0)
    assert a1["csat"] == pytest.approx(2 / 3)
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
    # usage 25.2036 + engagement 16.0 + support 10.8894 + satisfaction 9.3889 + financial 7.0
    assert h.score == pytest.approx(68.48, abs=0.05)
    assert h.band == "yellow"
    dims = {d.dimension: d.score for d in h.dimensions}
    assert dims == pytest.approx(
        {"usage": 84.0, "engagement": 64.0, "support": 54.4, "satisfaction": 62.6, "financial": 70.0}, abs=0.05
    )
    codes = {a.code for a in h.alerts}
    assert codes == {"critical_ticket_open", "sponsor_left", "renewal_at_risk"}
    assert h.renewal_in_days == 46
    assert [p.days_ago for p in h.trend.history] == [30, 60, 90]
    assert h.trend.history[0].as_of == dt.date(2026, 5, 31)
    assert "tickets" in h.tables_used and "usage" in h.tables_used


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
