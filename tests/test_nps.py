"""nps-analysis on tests/data/feedback, every figure computed by hand.

As of 2026-06-30; last 12 months = 2025-07-01 to 2026-06-30. Each respondent's latest answer in the period:
  F-1 enterprise, contract 2023-01-01 (2y+)   K1 9 (2026-02-10; its 3 of 2025-08-15 is superseded, its 2 of
                                               2025-05-10 lies before the period), K2 10, K3 4 (2026-06-20)
  F-2 enterprise, contract 2025-03-01          K4 6 (2025-10-05, <1y), K5 8 (2026-06-10, 1-2y, no comment)
  F-3 smb, contract 2024-09-01 (1-2y)          two answers without contact_id, 2 and 5 (2026-06-15): two respondents
  F-4 smb, contract 2025-01-01 (1-2y)          K7 0 (2026-01-20); churned 2026-03-15
  F-5 mid-market, no contract_start            K8 9 (2026-06-25), K9 1 (2026-06-28)
10 respondents from 5 accounts (11 answers): promoters K1 K2 K8 = 3, passive K5 = 1, detractors 6.
NPS = (3 - 6) / 10 = -30.
Ticket CSAT by close date in the period: T01 2, T02 4, T03 5, T05 3, T06 5, T07 4, T08 1 -> 4 of 7 satisfied.
Touchpoints: F-1 on 2026-05-01 and 2026-06-20, F-3 on 2026-06-01, F-2 on 2026-06-12; F-5 none.
"""

import datetime as dt
import shutil
from pathlib import Path

import pytest
from mcp import Client

from cs_mcp.config import load_settings
from cs_mcp.domain.errors import InvalidArgument, NoData
from cs_mcp.domain.nps import nps_analysis, resolve_event_period, trend_buckets
from cs_mcp.domain.nps_text import keyword_pattern
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


def counts(f):
    return (f.respondents, f.promoters, f.passives, f.detractors, f.nps)


def copy_without(tmp_path, *missing):
    for f in FEEDBACK.iterdir():
        if f.stem not in missing:
            shutil.copy(f, tmp_path / f.name)
    return tmp_path


def test_last_12_months_nps_counts_each_respondents_latest_answer(ws):
    r = nps_analysis(ws)
    assert (r.period.first_day, r.period.last_day) == (dt.date(2025, 7, 1), AS_OF)
    s = r.summary
    assert counts(s) == (10, 3, 1, 6, -30.0)
    assert (s.answers, s.responding_accounts) == (11, 5)  # K1's superseded 3 is an answer, not a respondent
    assert (s.promoter_share, s.passive_share, s.detractor_share) == (0.3, 0.1, 0.6)
    #                       0  1  2  3  4  5  6  7  8  9  10
    assert s.distribution == [1, 1, 1, 0, 1, 1, 1, 0, 1, 2, 1]


def test_csat_is_the_share_of_4_and_5_ratings_dated_by_ticket_close(ws):
    c = nps_analysis(ws).csat
    assert (c.ratings, c.satisfied, c.csat) == (7, 4, pytest.approx(4 / 7, abs=1e-6))
    # 2026-Q1 by close date: T08 1 (01-07), T05 3 (02-14), T03 5 (03-01)
    q1 = nps_analysis(ws, period="2026-Q1").csat
    assert (q1.ratings, q1.satisfied) == (3, 1)


def test_by_segment_gives_nps_and_csat_per_group(ws):
    groups = {g.key: g for g in nps_analysis(ws, by="segment").groups}
    assert counts(groups["enterprise"]) == (5, 2, 1, 2, 0.0)  # K1 9, K2 10, K3 4, K4 6, K5 8
    assert counts(groups["smb"]) == (3, 0, 0, 3, -100.0)  # F-3's 2 and 5, F-4's 0
    assert counts(groups["mid-market"]) == (2, 1, 0, 1, 0.0)
    assert (groups["enterprise"].csat, groups["enterprise"].csat_ratings) == (0.6, 5)  # T01-T06: 4, 5, 5 of 5
    assert (groups["smb"].csat, groups["mid-market"].csat) == (0.5, None)
    assert [g.key for g in nps_analysis(ws, by="segment").groups] == ["enterprise", "smb", "mid-market"]


def test_by_tenure_bands_respondents_at_their_answer_date_in_band_order(ws):
    r = nps_analysis(ws, by="tenure")
    assert r.by == "tenure"
    assert [g.key for g in r.groups] == ["<1y", "1-2y", "2y+", "(unknown)"]
    g = {x.key: x for x in r.groups}
    assert counts(g["<1y"]) == (1, 0, 0, 1, -100.0)  # K4, 7 months into F-2's contract
    assert counts(g["1-2y"]) == (4, 0, 1, 3, -75.0)  # K5 (15 months), F-3's two, K7 (12.6 months)
    assert counts(g["2y+"]) == (3, 2, 0, 1, 33.3)  # F-1
    assert counts(g["(unknown)"]) == (2, 1, 0, 1, 0.0)  # F-5 has no contract_start
    # ratings banded at their close date: T05 (11 months) and T07 are <1y; T06 and T08 1-2y
    assert (g["<1y"].csat_ratings, g["<1y"].csat, g["2y+"].csat) == (2, 0.5, pytest.approx(2 / 3, abs=1e-6))


def test_segment_plan_and_tenure_filters_cut_the_respondents(ws):
    ent = nps_analysis(ws, segment="Enterprise")
    assert counts(ent.summary) == (5, 2, 1, 2, 0.0) and ent.filters == {"segment": "Enterprise"}
    assert ent.csat.ratings == 5
    assert counts(nps_analysis(ws, plan="starter").summary) == (3, 0, 0, 3, -100.0)
    young = nps_analysis(ws, tenure="<1Y")
    assert counts(young.summary) == (1, 0, 0, 1, -100.0) and young.filters == {"tenure": "<1y"}
    assert counts(nps_analysis(ws, segment="enterprise", tenure="1-2y").summary) == (1, 0, 1, 0, 0.0)  # K5


def test_quarterly_and_monthly_trends_end_with_the_periods_last_day(ws):
    q = nps_analysis(ws).trend
    assert [t.label for t in q] == ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]
    assert [(t.respondents, t.nps) for t in q] == [(1, -100.0), (1, -100.0), (2, 0.0), (7, -28.6)]
    # 2026-Q2: K2 10 and K8 9 promote; K3 4, F-3's 2 and 5, K9 1 detract: (2 - 4) / 7
    assert (q[-1].first_day, q[-1].last_day, q[-1].to_date) == (dt.date(2026, 4, 1), AS_OF, False)
    m = nps_analysis(ws, trend="month", trend_periods=3).trend
    assert [(t.label, t.respondents, t.nps) for t in m] == [
        ("2026-04", 0, None),
        ("2026-05", 1, 100.0),
        ("2026-06", 6, -50.0),  # K8 9; K3 4, 2, 5, K9 1; K5 8 passive
    ]


def test_a_quarter_or_inclusive_dates_select_their_days(ws):
    q1 = nps_analysis(ws, period="2026-Q1")
    assert (q1.period.first_day, q1.period.last_day) == (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert counts(q1.summary) == (2, 1, 0, 1, 0.0)  # K1 9, K7 0
    june = nps_analysis(ws, start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 30))
    assert counts(june.summary) == (6, 1, 1, 4, -50.0)


@pytest.mark.parametrize(
    ("period", "first", "last", "cut"),
    [
        (None, dt.date(2025, 7, 1), AS_OF, False),
        ("last-3-months", dt.date(2026, 3, 31), AS_OF, False),  # after 2026-03-30, 3 months before the 30th
        ("2026-Q2", dt.date(2026, 4, 1), AS_OF, False),
        ("2026-Q3", dt.date(2026, 7, 1), AS_OF, None),
        ("last-quarter", dt.date(2026, 1, 1), dt.date(2026, 3, 31), False),
        ("2025", dt.date(2025, 1, 1), dt.date(2025, 12, 31), False),
        ("2026-02", dt.date(2026, 2, 1), dt.date(2026, 2, 28), False),
        ("ytd", dt.date(2026, 1, 1), AS_OF, False),
    ],
)
def test_period_shorthands_cover_whole_days(period, first, last, cut):
    if cut is None:
        with pytest.raises(InvalidArgument, match="after the data's as-of date"):
            resolve_event_period(AS_OF, period)
        return
    p = resolve_event_period(AS_OF, period)
    assert (p.first_day, p.last_day, p.cut_to_as_of) == (first, last, cut)


def test_a_period_reaching_past_the_as_of_date_is_cut_and_labelled():
    p = resolve_event_period(dt.date(2026, 5, 15), "2026-Q2")
    assert (p.first_day, p.last_day, p.cut_to_as_of, p.label) == (
        dt.date(2026, 4, 1), dt.date(2026, 5, 15), True, "2026-Q2 (to date)"
    )
    months = trend_buckets(p, "month", 2)
    assert [(b[0], b[2], b[3]) for b in months] == [("2026-04", dt.date(2026, 5, 1), False),
                                                    ("2026-05", dt.date(2026, 5, 16), True)]


def test_with_few_comments_the_seed_keywords_make_the_themes_and_the_answer_says_so(ws):
    r = nps_analysis(ws)
    c = r.comments
    assert (c.comments, c.promoter_comments, c.passive_comments, c.detractor_comments) == (8, 3, 0, 5)
    cov = r.theme_coverage
    assert cov.method == "keywords" and "8 comments, fewer than feedback.theme_min_comments (40)" in cov.reason
    # every comment here names a seed theme except none: 'Outage after outage' is reliability
    assert (cov.covered, cov.other, cov.coverage) == (8, 0, 1.0)
    themes = {t.theme: t for t in r.themes}
    assert [t.theme for t in r.themes] == ["support", "performance", "pricing", "reporting", "reliability",
                                           "usability"]  # most mentioned first
    perf = themes["performance"]  # 'slow' (K3, K9) and 'Slowness' (F-3's 2)
    assert (perf.mentions, perf.promoter_mentions, perf.detractor_mentions) == (3, 0, 3)
    assert (perf.share_of_detractor_comments, perf.share_of_promoter_comments) == (0.6, 0.0)
    # 3 of 5 detractors vs 0 of 3 promoters: z = 0.6 / sqrt(3/8 * 5/8 * (1/5 + 1/3)) = 1.697
    assert perf.z == pytest.approx(1.697, abs=1e-3) and perf.difference == 0.6
    # eight comments cannot make any difference significant once six themes are tested: no driver at all
    assert perf.p_value > 0.05 and r.detractor_drivers == [] and r.promoter_drivers == []


def test_a_looser_significance_level_lets_the_contrast_name_drivers():
    with _open(overrides={"feedback": {"theme_significance": 1.0}}) as w:
        r = nps_analysis(w)
    themes = {t.theme: t for t in r.themes}
    assert themes["performance"].driver_of == "detractors"
    assert themes["reliability"].driver_of is None  # one mention is below theme_min_mentions
    sup = themes["support"]  # K1 and K8 (promoters), K4 and K9 (detractors): 2/3 >= 1.5 x 2/5
    assert (sup.promoter_mentions, sup.detractor_mentions, sup.driver_of) == (2, 2, "promoters")
    assert r.detractor_drivers == ["performance", "pricing"]
    assert r.promoter_drivers == ["reporting", "support"]


def test_keyword_theme_quotes_are_the_densest_matches_cut_to_length(ws):
    themes = {t.theme: t for t in nps_analysis(ws).themes}
    # quotes come from the comments whose nearest theme it is, densest first: 1 keyword in 4 words, then 1 in 7;
    # K3's 'Pricing is too expensive and the app is slow' says more about pricing (2 keywords) and is quoted there
    assert [e.text for e in themes["performance"].examples] == [
        "Slowness everywhere, pricing is high", "Support never answers and it is slow",
    ]
    assert themes["pricing"].examples[0].text == "Pricing is too expensive and the app is slow"
    with _open(overrides={"feedback": {"theme_examples": 1, "example_chars": 20}}) as short:
        ex = {t.theme: t for t in nps_analysis(short).themes}["performance"].examples
    assert [e.text for e in ex] == ["Slowness everywhere…"]


def test_theme_keywords_match_whole_words_phrases_and_prefixes():
    import re

    slow = re.compile(keyword_pattern(["slow*", "time out"]).replace("(?i)", ""), re.I)
    assert slow.search("Slowness everywhere") and slow.search("pages TIME  OUT daily")
    assert not slow.search("a snowslow") and not slow.search("timeout")
    seat = re.compile(keyword_pattern(["per-seat", "ui"]).replace("(?i)", ""), re.I)
    assert seat.search("per-seat pricing") and seat.search("the UI.") and not seat.search("quite")
    assert keyword_pattern(["", " * "]) is None


def test_detractors_due_for_follow_up_had_no_touch_since_their_answer(ws):
    f = nps_analysis(ws).followup
    # K3 (F-1, 4 on 06-20) was called the same day; F-3's 2 and 5 (06-15) only had an email on 06-01; F-5 none
    assert (f.total, f.accounts, f.arr, f.window_days, f.since) == (3, 2, 40_000, 30, dt.date(2026, 6, 1))
    assert [(d.account_id, d.score, d.days_since_answer) for d in f.items] == [
        ("F-5", 1, 2), ("F-3", 2, 15), ("F-3", 5, 15)
    ]
    assert f.items[0].comment == "Support never answers and it is slow" and f.items[1].last_touch == dt.date(2026, 6, 1)
    first = nps_analysis(ws, limit=2).followup
    assert (first.returned, first.total) == (2, 3) and first.next_cursor
    rest = nps_analysis(ws, limit=2, cursor=first.next_cursor).followup
    assert [d.score for d in rest.items] == [5] and rest.next_cursor is None
    # a longer window reaches K4's 6 of 2025-10-05; F-2's meeting of 2026-06-12 came after it
    assert nps_analysis(ws, followup_days=300).followup.total == 3
    assert nps_analysis(ws, segment="smb").followup.total == 2


def test_unknown_cuts_are_refused_with_the_valid_values(ws):
    with pytest.raises(InvalidArgument, match="enterprise, mid-market, smb"):
        nps_analysis(ws, segment="galactic")
    with pytest.raises(InvalidArgument, match="<1y, 1-2y, 2y\\+"):
        nps_analysis(ws, tenure="5y")
    with pytest.raises(InvalidArgument, match="tenure"):
        nps_analysis(ws, by="galaxy")
    with pytest.raises(InvalidArgument, match="not both"):
        nps_analysis(ws, period="2025", start=dt.date(2025, 1, 1))


def test_tenure_bands_and_nps_thresholds_come_from_config():
    bands = {"feedback": {"tenure_bands": [["new", 0], ["settled", 18]], "promoter_min": 8}}
    with _open(overrides=bands) as w:
        r = nps_analysis(w, by="tenure")
    g = {x.key: x for x in r.groups}
    assert (g["new"].respondents, g["settled"].respondents) == (3, 5)  # K5 (15 months) and K7 now 'new'
    assert counts(r.summary) == (10, 4, 0, 6, -20.0)  # K5's 8 now promotes


def test_without_touchpoints_every_recent_detractor_is_listed(tmp_path):
    with _open(copy_without(tmp_path, "touchpoints")) as w:
        r = nps_analysis(w)
    f = r.followup
    assert (f.total, f.accounts, f.arr, f.touchpoints_checked) == (4, 3, 140_000, False)  # K3 of F-1 too
    assert any(n.startswith("follow-up check: no touchpoints table") for n in r.not_computed)
    assert "touchpoints" not in r.tables_used


def test_without_tickets_nps_is_whole_and_csat_is_said_to_be_missing(tmp_path):
    with _open(copy_without(tmp_path, "tickets")) as w:
        r = nps_analysis(w, by="segment")
    assert r.csat is None and r.summary.nps == -30.0
    assert {g.key: g.csat_ratings for g in r.groups} == {"enterprise": 0, "smb": 0, "mid-market": 0}
    assert "csat: needs the tickets table with csat ratings (1-5)" in r.not_computed


def test_without_an_nps_table_only_csat_is_given_and_without_tickets_either_it_is_no_data(tmp_path):
    with _open(copy_without(tmp_path, "nps")) as w:
        r = nps_analysis(w)
        assert r.summary.nps is None and r.csat.satisfied == 4 and r.themes == []
        assert any("needs the nps table" in n for n in r.not_computed)
    (tmp_path / "tickets.csv").unlink()
    with _open(tmp_path) as bare, pytest.raises(NoData, match="nps table"):
        nps_analysis(bare)


def test_a_period_without_answers_says_where_the_answers_are(ws):
    r = nps_analysis(ws, period="2024")
    assert r.summary.respondents == 0 and r.summary.nps is None
    assert "answers in the data run from 2025-05-10 to 2026-06-28" in r.note


# ------------------------------------------------------------------ through MCP


@pytest.fixture(params=["auto", "legacy"])
async def nps_client(request, ws):
    async with Client(create_server(ws.settings, ws, warm_up=False), mode=request.param) as c:
        yield c


@pytest.mark.anyio
async def test_nps_analysis_tool_returns_figures_and_a_text_that_leads_with_the_score(nps_client):
    tool = {t.name: t for t in (await nps_client.list_tools()).tools}["nps-analysis"]
    assert tool.annotations.read_only_hint is True
    assert {"period", "segment", "tenure", "by", "trend", "cursor"} <= set(tool.input_schema["properties"])
    result = await nps_client.call_tool("nps-analysis", {"by": "tenure", "limit": 2})
    assert not result.is_error
    data = result.structured_content
    assert data["summary"]["nps"] == -30.0 and data["followup"]["total"] == 3
    text = result.content[0].text
    assert text.startswith("NPS -30 for last 12 months (2025-07-01 to 2026-06-30)")
    assert "CSAT 57% satisfied (4 of 7 ticket ratings)" in text
    assert "Comment themes: 8 comments (3P/0N/5D); 6 keyword themes (feedback.themes; 8 comments" in text
    assert "- performance: 3 comments; 60% of detractor vs 0% of promoter comments, p=0.72: " in text
    assert "- F-5 Epsilon Works ($30K): scored 1 on 2026-06-28 (2d ago)" in text
    assert "More: pass cursor=" in text and len(text) < 4000


@pytest.mark.anyio
async def test_nps_analysis_tool_explains_bad_arguments(nps_client):
    bad = await nps_client.call_tool("nps-analysis", {"period": "fortnight"})
    assert bad.is_error and "2026-Q3" in bad.content[0].text
    seg = await nps_client.call_tool("nps-analysis", {"segment": "galactic"})
    assert seg.is_error and "enterprise" in seg.content[0].text
    trend = await nps_client.call_tool("nps-analysis", {"trend": "week"})
    assert trend.is_error
    cur = await nps_client.call_tool("nps-analysis", {"cursor": "nonsense"})
    assert cur.is_error and "next_cursor" in cur.content[0].text


# ------------------------------------------------------------------ on the demo


def test_on_the_demo_portfolio_the_answer_is_sane_and_compact():
    from cs_mcp.tools.nps import render_nps
    from cs_mcp.workspace.loader import open_workspace

    with open_workspace(load_settings()) as demo:
        r = nps_analysis(demo, by="segment", limit=50)
    s = r.summary
    assert -100 <= s.nps <= 100 and s.respondents <= s.answers and sum(s.distribution) == s.respondents
    assert sum(g.respondents for g in r.groups) == s.respondents
    assert r.themes and r.detractor_drivers and r.promoter_drivers
    assert not set(r.detractor_drivers) & set(r.promoter_drivers)
    assert all(d.score <= 6 and d.days_since_answer < 30 for d in r.followup.items)
    assert 0 < r.csat.csat < 1
    text = render_nps(r)
    assert len(text) < 20_000


@pytest.mark.parametrize("reverse", [False, True], ids=["file-order", "reversed"])
def test_two_answers_on_one_day_count_the_later_id_in_every_tool(tmp_path, reverse):
    """K8 answers 9 (N11) and 3 (N13) on 2026-06-25: N13, the higher id, is K8's latest answer whatever the row
    order. nps-analysis: promoters K1 K2, detractors 6 + K8 -> (2 - 7) / 10 = -50. F-5's feature row and QBR
    pack: K8 3 and K9 1, two detractors -> -100 (the old feature and QBR queries took whichever row came first:
    NPS 0 in file order, so the tools disagreed about F-5)."""
    from cs_mcp.domain.account_review import account_review
    from cs_mcp.workspace.features import compute_features

    ws_dir = copy_without(tmp_path)
    header, *rows = (ws_dir / "nps.csv").read_text().splitlines()
    rows.append("N13,F-5,2026-06-25,3,K8,Too many clicks")
    (ws_dir / "nps.csv").write_text("\n".join([header, *(rows[::-1] if reverse else rows)]) + "\n")
    with _open(ws_dir) as w:
        assert counts(nps_analysis(w).summary) == (10, 2, 1, 7, -50.0)
        row = compute_features(w, None, ["F-5"]).row(0)
        assert (row["nps"], row["nps_responses"], row["min_nps_score_90d"]) == (-100.0, 2.0, 1.0)
        sat = account_review(w, "F-5").satisfaction
        assert (sat.nps, sat.respondents, sat.detractors) == (-100.0, 2, 2)
