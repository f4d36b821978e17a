"""The health arithmetic against hand-computed figures (config defaults, SPEC section 3)."""

import pytest

from cs_mcp.config import load_settings
from cs_mcp.domain.errors import InvalidArgument
from cs_mcp.domain.health import AdHocMetrics, health_from_metrics
from cs_mcp.domain.scoring import curve_value

# One account's inputs and, per metric, the fraction of its points the default curves give:
#   seat_utilization 0.65  -> 0.5 + 0.15/0.3*0.5 = 0.75  -> 12 * 0.75 = 9.0
#   logins 2.0/user/week   -> 0.3 + 0.5*0.4     = 0.50  ->  9 * 0.50 = 4.5
#   feature_adoption 0.5   -> 0.70                      ->  9 * 0.70 = 6.3    usage 19.8 / 30 = 66.0
#   outreach 0.8           -> 1.0                       ->  8                 
#   meetings 0.5           -> 0.5                       ->  4
#   last touch 11 days     -> 0.9 - 3/6*0.2     = 0.80  ->  9 * 0.80 = 7.2    engagement 19.2 / 25 = 76.8
#   tickets 1.5x usual     -> 1 - 0.5*0.7       = 0.65  ->  7 * 0.65 = 4.55
#   1 open critical        -> 0.5                       ->  3
#   support CSAT 0.8       -> 0.5 + 0.5*0.5     = 0.75  ->  7 * 0.75 = 5.25   support 12.8 / 20 = 64.0
#   NPS +20                -> 0.5 + 0.4*0.5     = 0.70  ->  7 * 0.70 = 4.9
#   CSAT 0.9               -> 1.0                       ->  8                 satisfaction 12.9 / 15 = 86.0
#   10 days overdue        -> 0.4                       ->  5 * 0.4 = 2
#   ARR +5%                -> 0.75                      ->  5 * 0.75 = 3.75   financial 5.75 / 10 = 57.5
# Health = 19.8 + 19.2 + 12.8 + 12.9 + 5.75 = 70.45 -> yellow (50-79).
FIXTURE = dict(
    seat_utilization=0.65, logins_per_user_week=2.0, feature_adoption=0.5,
    outreach_response_rate=0.8, meeting_attendance_rate=0.5, days_since_last_touch=11,
    ticket_volume_ratio=1.5, open_critical_tickets=1, support_csat=0.8,
    nps=20, csat=0.9, days_overdue=10, arr_growth_12m=0.05,
)


def dims(result):
    return {d.dimension: d for d in result.dimensions}


def test_default_model_matches_the_hand_computed_score():
    result = health_from_metrics(load_settings(), AdHocMetrics(**FIXTURE))
    assert result.score == pytest.approx(70.45, abs=0.05)
    assert result.band == "yellow"
    d = dims(result)
    assert d["usage"].score == pytest.approx(66.0)
    assert d["engagement"].score == pytest.approx(76.8)
    assert d["support"].score == pytest.approx(64.0)
    assert d["satisfaction"].score == pytest.approx(86.0)
    assert d["financial"].score == pytest.approx(57.5)
    points = {m.metric: m.points for dim in result.dimensions for m in dim.metrics}
    assert points["seat_utilization"] == pytest.approx(9.0)
    assert points["days_since_last_touch"] == pytest.approx(7.2)
    assert points["ticket_volume_ratio"] == pytest.approx(4.55)
    assert sum(x.contribution for x in result.dimensions) == pytest.approx(70.45, abs=0.05)


def test_a_missing_dimension_passes_its_weight_to_the_others():
    partial = {k: v for k, v in FIXTURE.items() if k not in ("nps", "csat")}
    result = health_from_metrics(load_settings(), AdHocMetrics(**partial))
    # (19.8 + 19.2 + 12.8 + 5.75) / 85 * 100
    assert result.score == pytest.approx(67.7, abs=0.05)
    assert result.missing_dimensions == ["satisfaction"]
    assert dims(result)["usage"].effective_weight == pytest.approx(30 / 85 * 100, abs=0.01)
    assert "re-spread" in result.note


def test_a_missing_input_is_re_spread_inside_its_dimension():
    partial = {k: v for k, v in FIXTURE.items() if k != "feature_adoption"}
    result = health_from_metrics(load_settings(), AdHocMetrics(**partial))
    # usage = (9 + 4.5) / 21 * 100
    assert dims(result)["usage"].score == pytest.approx(64.29, abs=0.01)


def test_operations_preset_uses_segment_weights_and_its_own_bands():
    settings = load_settings(overrides={"health": {"model": "operations"}})
    enterprise = health_from_metrics(settings, AdHocMetrics(**FIXTURE, segment="Enterprise"))
    # sentiment = (12.8 + 12.9) / 35 * 100 = 73.43; weights 30/30/25/15
    assert enterprise.score == pytest.approx(69.82, abs=0.05)
    assert enterprise.band == "yellow"
    assert enterprise.bands == {"green": 80, "yellow": 60}
    other = health_from_metrics(settings, AdHocMetrics(**FIXTURE, segment="mid-market"))
    assert other.score == pytest.approx(69.28, abs=0.05)  # default weights 35/25/25/15


def test_points_inside_a_band_are_interpolated_linearly():
    curve = load_settings().health.curves["days_since_last_touch"]
    assert curve_value(curve, 3) == pytest.approx(1.0)
    assert curve_value(curve, 8) == pytest.approx(0.9)
    assert curve_value(curve, 14) == pytest.approx(0.7)
    assert curve_value(curve, 22.5) == pytest.approx(0.45)
    assert curve_value(curve, 90) == pytest.approx(0.0)
    payment = load_settings().health.curves["days_overdue"]
    assert [float(curve_value(payment, d)) * 5 for d in (0, 15, 45)] == pytest.approx([5, 2, 0])


def test_active_users_and_seats_give_utilization():
    result = health_from_metrics(load_settings(), AdHocMetrics(active_users=85, seats=100, logins_per_user_week=4.2))
    usage = dims(result)["usage"]
    util = next(m for m in usage.metrics if m.metric == "seat_utilization")
    assert util.value == pytest.approx(0.85)
    assert util.points == pytest.approx(12.0)
    # logins 4.2 -> 0.7 + 1.2/2*0.3 = 0.88 -> 7.92 ; usage = (12 + 7.92) / 21
    assert usage.score == pytest.approx(94.86, abs=0.05)
    assert result.missing_dimensions == ["engagement", "support", "satisfaction", "financial"]
    assert result.score == pytest.approx(94.86, abs=0.05)


def test_weak_inputs_become_risks_with_actions_and_alerts():
    bad = dict(FIXTURE, seat_utilization=0.25, days_overdue=45, nps=-60)
    result = health_from_metrics(load_settings(), AdHocMetrics(**bad, renewal_in_days=40))
    assert any("25% of seats active" in r for r in result.risk_factors)
    assert any("45 days overdue" in r for r in result.risk_factors)
    codes = {a.code for a in result.alerts}
    assert {"invoice_overdue", "renewal_at_risk"} <= codes
    assert any("finance" in a for a in result.recommended_actions)


def test_metrics_without_any_scoring_input_are_refused():
    with pytest.raises(InvalidArgument, match="at least one of"):
        health_from_metrics(load_settings(), AdHocMetrics(segment="smb"))


def test_fast_decline_is_flagged_from_the_previous_score():
    result = health_from_metrics(load_settings(), AdHocMetrics(**FIXTURE, previous_score=90))
    # (70.45 - 90) / 30 = -0.65 per day
    assert result.trend.velocity_per_day == pytest.approx(-0.652, abs=0.001)
    assert result.trend.direction == "fast_decline"


def test_a_trend_is_worded_with_the_look_back_it_was_read_from():
    """Cloudtree (A-00153) on the demo: 54 now, 47 / 63 / 65 at 30 / 60 / 90 days. The direction is declining
    (60 days: -0.15/day), so the QBR summary said 'declining (+7 points in 30 days)'; it now says -9 in 60 days."""
    import datetime as dt

    from cs_mcp.config import Settings
    from cs_mcp.domain.health import TrendPoint, _trend, deciding_change

    day = dt.date(2026, 10, 31)
    history = [TrendPoint(days_ago=d, as_of=day - dt.timedelta(days=d), score=s, band="yellow")
               for d, s in ((30, 47.3), (60, 62.9), (90, 65.3))]
    trend = _trend(Settings(), 53.8, history)
    assert trend.direction == "declining"
    assert deciding_change(trend) == (60, -9.1)
    rising = _trend(Settings(), 70.0, [TrendPoint(days_ago=30, as_of=day, score=64.0, band="yellow"),
                                       TrendPoint(days_ago=90, as_of=day, score=69.0, band="yellow")])
    assert rising.direction == "improving" and deciding_change(rising) == (30, 6.0)
    assert deciding_change(_trend(Settings(), 70.0, [])) is None


def test_a_score_is_shown_rounded_down_so_it_lies_in_the_band_shown_with_it():
    """Summitleaf on the demo scored 79.9: 'health 80/100, YELLOW' read as a broken band."""
    from cs_mcp.domain.formatting import score_text
    from cs_mcp.domain.metrics import describe, describe_change

    assert [score_text(v) for v in (79.9, 80.0, 49.94, 50, 0.4, 100)] == ["79", "80", "49", "50", "0", "100"]
    assert score_text(53.96) == score_text(round(53.96, 1)) == "54"  # a raw value and its one-decimal field
    assert describe("health_score", 79.9) == "health score 79"
    assert describe("health_usage", 49.6) == "usage health 49/100"
    assert describe_change("health_score", 79.9, 80.2, 30) == "down from 80 over 30 days"
    assert describe_change("health_score", 79.9, 79.1, 30) is None  # both read 79


def test_one_feature_is_one_feature():
    from cs_mcp.domain.metrics import describe

    said = [describe("feature_adoption", v, {"features_used": n}) for v, n in ((0.1, 1.0), (0.2, 2.0))]
    assert said == ["uses 10% of the product's features (1 feature)", "uses 20% of the product's features (2 features)"]
