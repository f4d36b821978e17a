"""nps-analysis on the realistic comment set of tests/data/feedback_large (see its generate.py).

4,000 answers of a business broadband provider's customers: paraphrases, mixed topics, typos, one-word and long
comments, chatter. truth/topics.csv holds the topics each comment was built from; a theme may join a complaint
with its praise (installation delays with quick setups, outages with a reliable line, price rises with value).
"""

import csv
import re
from collections import Counter
from pathlib import Path

import pytest
from mcp import Client

from cs_mcp.config import load_settings
from cs_mcp.domain.errors import InvalidArgument
from cs_mcp.domain.nps import nps_analysis
from cs_mcp.server import create_server

LARGE = Path(__file__).parent / "data" / "feedback_large"
SAME_SUBJECT = {"reliable": "outage", "quick_setup": "installation", "value": "price"}
COMPLAINTS = {"speed", "outage", "support_wait", "billing", "installation", "price", "router"}


def _key(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _rows() -> list[dict]:
    with (LARGE / "nps.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _topics_by_text() -> dict[str, set[str]]:
    with (LARGE / "truth" / "topics.csv").open(encoding="utf-8") as f:
        truth = {r["response_id"]: r["topics"].split() for r in csv.DictReader(f)}
    out: dict[str, set[str]] = {}
    for r in _rows():
        out.setdefault(_key(r["comment"]), set()).update(SAME_SUBJECT.get(t, t) for t in truth[r["response_id"]])
    return out


@pytest.fixture(scope="module")
def ws():
    from cs_mcp.workspace.loader import open_workspace

    with open_workspace(load_settings(LARGE)) as w:
        yield w


@pytest.fixture(scope="module")
def report(ws):
    return nps_analysis(ws)


def test_themes_learned_from_the_comments_cover_at_least_70_percent(report):
    cov = report.theme_coverage
    assert cov.method == "discovered" and cov.comments == report.comments.comments > 2000
    assert cov.coverage >= 0.70
    assert cov.other == cov.comments - cov.covered and cov.other_promoters + cov.other_passives + \
        cov.other_detractors == cov.other
    assert 6 <= len(report.themes) <= cov.k <= 15 and [c.k for c in cov.candidates] == list(range(2, 16))


def test_each_themes_quotes_are_about_that_theme(report):
    topics = _topics_by_text()
    for t in report.themes:
        said = Counter(topic for q in t.examples for topic in topics.get(_key(q.text), ()))
        assert len(t.examples) == 3
        _, n = said.most_common(1)[0]
        # the quotes agree on what the theme is about: one subject in at least two of the three
        assert n >= 2, (t.theme, [q.text for q in t.examples])


def test_the_top_detractor_drivers_are_what_detractors_complain_about(report):
    topics = _topics_by_text()
    complaints = Counter(
        topic for r in _rows() if int(r["score"]) <= 6 for topic in topics.get(_key(r["comment"]), ())
        if topic in COMPLAINTS
    )
    by = {t.theme: t for t in report.themes}
    assert len(report.detractor_drivers) >= 3
    subjects = set()
    for name in report.detractor_drivers:
        t = by[name]
        assert t.z > 0 and t.p_value <= 0.05 and t.share_of_detractor_comments > 1.5 * t.share_of_promoter_comments
        said = Counter(topic for q in t.examples for topic in topics.get(_key(q.text), ()))
        subjects.add(said.most_common(1)[0][0])
        if name in report.detractor_drivers[:3]:
            assert said.most_common(1)[0][0] in COMPLAINTS, (name, said)  # a complaint, not praise
    # the two things detractors complain about most (slow speed and outages) are both named as drivers
    assert {t for t, _ in complaints.most_common(2)} <= subjects, (complaints.most_common(4), subjects)
    for name in report.promoter_drivers:
        assert by[name].z < 0


def test_a_column_of_the_nps_table_is_a_cut(ws, report):
    by_survey = nps_analysis(ws, by="survey")
    assert by_survey.by == "survey" and by_survey.by_source == "nps"
    # each respondent's latest answer, counted by hand from the CSV
    latest: dict[tuple[str, str], dict] = {}
    for r in _rows():
        key = (r["account_id"], r["contact_id"])
        if key not in latest or (r["responded_at"], r["response_id"]) > (latest[key]["responded_at"],
                                                                          latest[key]["response_id"]):
            latest[key] = r
    expected = Counter((r["survey"], int(r["score"]) >= 9, int(r["score"]) <= 6) for r in latest.values())
    groups = {g.key: g for g in by_survey.groups}
    assert set(groups) == {"relationship", "transactional"}
    for survey, g in groups.items():
        assert g.respondents == sum(n for (s, _, _), n in expected.items() if s == survey)
        assert g.promoters == sum(n for (s, p, _), n in expected.items() if s == survey and p)
        assert g.detractors == sum(n for (s, _, d), n in expected.items() if s == survey and d)
    assert groups["transactional"].nps < groups["relationship"].nps  # after a support case customers score lower
    assert "csat per group" not in " ".join(by_survey.not_computed)  # no tickets table: csat is missing anyway
    assert nps_analysis(ws, by="nps.channel").by == "channel"
    assert by_survey.themes == report.themes  # the cut groups the scores; the themes are the period's, cached


def test_an_unknown_cut_lists_the_accounts_and_nps_columns(ws):
    with pytest.raises(InvalidArgument) as err:
        nps_analysis(ws, by="touchpoint")
    message = str(err.value)
    assert "segment" in message and "tenure" in message and "survey, channel" in message
    with pytest.raises(InvalidArgument, match="no column 'wibble'"):
        nps_analysis(ws, by="nps.wibble")


def test_the_same_data_gives_the_same_themes(report):
    from cs_mcp.workspace.loader import open_workspace

    with open_workspace(load_settings(LARGE)) as fresh:
        again = nps_analysis(fresh)
    assert [t.model_dump() for t in again.themes] == [t.model_dump() for t in report.themes]
    assert again.theme_coverage == report.theme_coverage


@pytest.fixture(params=["auto", "legacy"])
async def large_client(request, ws):
    async with Client(create_server(ws.settings, ws, warm_up=False), mode=request.param) as c:
        yield c


@pytest.mark.anyio
async def test_the_tool_answers_with_themes_coverage_and_a_custom_cut(large_client):
    result = await large_client.call_tool("nps-analysis", {"by": "survey"})
    assert not result.is_error, result.content
    data = result.structured_content
    assert data["by_source"] == "nps" and {g["key"] for g in data["groups"]} == {"relationship", "transactional"}
    assert data["theme_coverage"]["coverage"] >= 0.7 and data["detractor_drivers"]
    text = result.content[0].text
    assert "By survey:" in text and "themes learned from the comments cover" in text
    assert f"Detractor drivers: {data['detractor_drivers'][0]} (" in text
    assert len(text) < 8000
    bad = await large_client.call_tool("nps-analysis", {"by": "galaxy"})
    assert bad.is_error and "survey, channel" in bad.content[0].text
