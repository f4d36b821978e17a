"""One definition everywhere: the same account gets the same churn risk, renewal probability, at-risk status,
tier and expansion from every tool, and the at-risk renewals of a window are counted the same by all of them.

Run through a real MCP client on the bundled demo workspace, the way a model would read the answers.
"""

import json

import pytest
from mcp import Client

from cs_mcp.config import load_settings
from cs_mcp.domain.formatting import score_text
from cs_mcp.server import create_server
from cs_mcp.workspace.loader import open_workspace

FIRST_CALL_TIMEOUT = 600  # the first call fits the churn models; generous for a busy machine


@pytest.fixture(scope="module")
def demo():
    ws = open_workspace(load_settings(None, overrides={"churn": {"disk_cache": False}}))
    yield ws
    ws.close()


@pytest.fixture
async def client(demo):
    async with Client(create_server(demo.settings, demo, warm_up=False)) as c:
        yield c


async def _call(client, tool, args):
    result = await client.call_tool(tool, args, read_timeout_seconds=FIRST_CALL_TIMEOUT)
    assert not result.is_error, result.content[0].text
    return result.structured_content


@pytest.mark.anyio
async def test_at_risk_renewals_of_a_window_are_the_same_in_every_tool(client):
    for days in (30, 90):
        churn = await _call(client, "churn-risk-list", {"renewal_within_days": days, "limit": 1})
        forecast = await _call(client, "renewal-forecast", {"days": days, "limit": 1})
        assert churn["at_risk_renewals"] == forecast["at_risk_renewals"], days
        assert churn["at_risk_renewal_arr"] == pytest.approx(forecast["at_risk_arr"]), days
        at_risk = {b["name"]: b["accounts"] for b in forecast["by_category"]}
        assert forecast["at_risk_renewals"] == at_risk["at_risk"] + at_risk["high_risk"]
    csm = await _call(client, "csm-performance", {"limit": 50})
    forecast = await _call(client, "renewal-forecast", {"days": 90, "limit": 1})
    assert csm["team"]["renewals"]["at_risk"] == forecast["at_risk_renewals"]
    assert csm["team"]["renewals"]["due"] == forecast["renewals"]


@pytest.mark.anyio
async def test_the_risk_lists_at_risk_renewals_say_which_renewals_they_count(client):
    """Without a window churn-risk-list counts every account's next renewal (68 on the demo), renewal-forecast
    the next 90 days (18): the text said 'At-risk renewals: 68' beside a forecast of 18."""
    for args, words in (({"limit": 1}, "At-risk renewals (each next renewal, whenever due): "),
                        ({"limit": 1, "renewal_within_days": 90}, "At-risk renewals in the renewal window: ")):
        r = await client.call_tool("churn-risk-list", args, read_timeout_seconds=FIRST_CALL_TIMEOUT)
        data = r.structured_content
        assert f"{words}{data['at_risk_renewals']} (" in r.content[0].text, r.content[0].text
    forecast = await _call(client, "renewal-forecast", {"days": 90, "limit": 1})
    assert forecast["at_risk_renewals"] == data["at_risk_renewals"]


@pytest.mark.anyio
async def test_one_account_gets_the_same_figures_from_every_tool(client):
    top = (await _call(client, "churn-risk-list", {"renewal_within_days": 365, "limit": 3}))["accounts"]
    for row in top:
        aid = row["account_id"]
        days = row["days_to_renewal"]
        forecast = await _call(client, "renewal-forecast", {"days": max(days, 1), "limit": 50, "sort": "risk"})
        fr = next(r for r in forecast["accounts"] if r["account_id"] == aid)
        strategy = (await _call(client, "renewal-strategy", {"account": aid}))["risk"]
        review = await _call(client, "account-review-prep", {"account": aid})
        profile = json.loads((await client.read_resource(f"cs://accounts/{aid}")).contents[0].text)["renewal"]

        risk_pct = round(row["probability"] * 100, 1)
        assert fr["churn_probability"] == pytest.approx(risk_pct, abs=0.1)
        assert strategy["churn_probability"] == pytest.approx(risk_pct, abs=0.1)
        assert review["risks"]["churn_probability"] == pytest.approx(risk_pct, abs=0.1)
        assert profile["churn_probability"] == pytest.approx(row["probability"], abs=1e-3)

        assert fr["probability"] == strategy["probability"] == review["outlook"]["probability"]
        assert row["renewal_probability"] == fr["probability"] == profile["renewal_probability"]
        assert row["tier"] == fr["churn_tier"] == strategy["churn_tier"] == profile["churn_tier"]
        assert row["at_risk_renewal"] == fr["at_risk"] == strategy["at_risk"] == profile["at_risk_renewal"]
        assert fr["renewal_date"] == str(strategy["renewal_date"]) == profile["renewal_date"]


@pytest.mark.anyio
async def test_renewal_plans_propose_only_what_the_expansion_engine_finds(client):
    plans = 0
    candidates: dict[str, set[tuple[str, float]]] = {}
    # include_red lists every candidate the engine finds, those an at-risk renewal holds back marked held: a plan
    # shows its held candidate as the renewal + expansion it does not offer
    for c in (await _all_candidates(client, {"include_red": True}))[0]:
        candidates.setdefault(c["account_id"], set()).add((c["type"], round(c["potential_arr"], 2)))
    book = (await _call(client, "churn-risk-list", {"limit": 50}))["accounts"]
    for row in book[:6] + book[-6:]:
        plan = await _call(client, "renewal-strategy", {"account": row["account_id"]})
        for o in plan["expansion"]["options"]:
            if o["type"] != "open_opportunity":
                assert (o["type"], round(o["arr"], 2)) in candidates.get(row["account_id"], set()), o
        lead = next(p for p in plan["proposals"] if p["lead"])
        if row["tier"] in ("critical", "high"):
            assert lead["option"] not in ("renewal_expansion", "multi_year")
            assert not any(o["type"] != "open_opportunity" for o in plan["expansion"]["options"])
        plans += 1
    assert plans


async def _all_candidates(client, args):
    out, cursor = [], None
    while True:
        page = await _call(client, "expansion-opportunities",
                           {**args, "limit": 50, **({"cursor": cursor} if cursor else {})})
        out += page["candidates"]
        cursor = page["next_cursor"]
        if not cursor:
            return out, page


@pytest.mark.anyio
async def test_no_account_with_an_at_risk_renewal_is_offered_expansion_by_any_tool(client):
    book, _ = await _whole_list(client, {})
    at_risk = {r["account_id"] for r in book if r["at_risk_renewal"]}
    # Bluequay and Rainbloom (at risk, tier low) and Crimsoncast (renewal marked lost, an open cross-sell)
    named = ["A-00400", "A-00848", "A-00445"]
    assert set(named) <= at_risk
    offered, page = await _all_candidates(client, {})
    assert not at_risk & {c["account_id"] for c in offered}
    assert page["held_back"] > 0 and f"{page['held_back']} accounts with an at-risk renewal held back" in page["note"]
    shown, _ = await _all_candidates(client, {"include_red": True})
    held = {c["account_id"] for c in shown if c["held"]}
    assert {c["account_id"] for c in shown if c["account_id"] in at_risk} <= held
    for aid in named + sorted(held - set(named))[:2]:
        plan = await _call(client, "renewal-strategy", {"account": aid})
        offer = next(p for p in plan["proposals"] if p["option"] == "renewal_expansion")
        assert not offer["offered"] and not offer["lead"], aid
        review = await _call(client, "account-review-prep", {"account": aid})
        outlook = review["outlook"]
        assert outlook["expansion_arr"] == 0 and outlook["expansion_held"], aid
        text = (await client.call_tool("account-review-prep", {"account": aid})).content[0].text
        assert "proposable" not in text and "Growth opportunities" not in text, aid


async def _whole_list(client, args):
    rows, cursor = [], None
    while True:
        page = await _call(client, "churn-risk-list", {**args, "limit": 50, **({"cursor": cursor} if cursor else {})})
        rows += page["accounts"]
        cursor = page["next_cursor"]
        if not cursor:
            return rows, page


@pytest.mark.anyio
async def test_on_the_demo_red_accounts_renewing_later_outrank_green_ones_renewing_next_month(client, demo):
    from cs_mcp.domain.portfolio import portfolio_snapshot

    snap = portfolio_snapshot(demo)
    band = dict(zip(snap.frame["account_id"], snap.health.bands(), strict=True))
    rows, page = await _whole_list(client, {"renewal_within_days": 365})
    rank = {r["account_id"]: i for i, r in enumerate(rows)}
    red_later = [r for r in rows if band[r["account_id"]] == "red" and 120 <= r["days_to_renewal"] <= 365]
    green_soon = [r for r in rows if band[r["account_id"]] == "green" and r["days_to_renewal"] <= 30]
    assert red_later and green_soon
    # ranked by P(lost by the next renewal), not by how soon the renewal is
    assert sum(rank[r["account_id"]] for r in red_later) / len(red_later) < min(
        rank[g["account_id"]] for g in green_soon) + len(rows) / 2
    worst_red = min(rank[r["account_id"]] for r in red_later)
    assert all(worst_red < rank[g["account_id"]] for g in green_soon)
    counts = {t["tier"]: t["accounts"] for t in page["totals_by_tier"]}
    assert all(counts[t] > 0 for t in ("critical", "high", "medium", "low")), counts
    timing = ("days to renewal", "renewal in ", "employees", "customer for", "tenure")
    for r in rows[:50]:
        for d in r["drivers"]:
            assert not any(w in d["text"].lower() for w in timing), d
            assert not d["text"].startswith("no health"), d  # a dimension the account has no score on


@pytest.mark.anyio
async def test_on_the_demo_health_predicts_churn_and_about_half_the_book_is_green(client, demo):
    from cs_mcp.domain.portfolio import portfolio_snapshot

    health = json.loads((await client.read_resource("cs://models/health")).contents[0].text)
    assert health["falls_by_band"] is True, health["reading"]
    rates = {b["band"]: b["churn_rate"] for b in health["pooled"]}
    assert rates["red"] > 2 * rates["yellow"] and rates["yellow"] > 1.5 * rates["green"], rates
    snap = portfolio_snapshot(demo)
    bands = snap.health.bands()[snap.frame["is_active"] == 1]
    assert 0.45 <= (bands == "green").mean() <= 0.67


@pytest.mark.anyio
async def test_a_renewal_lost_in_the_crm_is_the_first_driver_in_every_tool(client, demo):
    from cs_mcp.content import catalogue
    from cs_mcp.domain.renewal import renewal_base

    book = renewal_base(demo)
    lost = {str(a) for a, f in zip(book.ids, book.flags["lost_renewals"], strict=True) if f > 0}
    play = catalogue("actions")["plays"]["renewal_lost"]
    rows = (await _call(client, "churn-risk-list", {"limit": 20}))["accounts"]
    checked = 0
    for row in (r for r in rows if r["account_id"] in lost):
        first = row["drivers"][0]
        assert (first["feature"], first["text"]) == ("renewal_lost", "renewal opportunity marked lost in the CRM")
        # the model's reasons for a low risk explain a probability the book no longer shows
        assert all(d["direction"] == "raises risk" for d in row["drivers"]), row["drivers"]
        assert play in row["recommended_action"]
        strategy = (await _call(client, "renewal-strategy", {"account": row["account_id"]}))["risk"]
        review = (await _call(client, "account-review-prep", {"account": row["account_id"]}))["risks"]
        texts = [d["text"] for d in row["drivers"]]
        assert strategy["churn_drivers"] == texts == review["churn_drivers"]
        checked += 1
    assert checked >= 2, "the demo's riskiest accounts include renewals lost in the CRM"
    safe = (await _call(client, "churn-risk-list", {"limit": 1, "sort": "probability",
                                                    "cursor": _offset(len(book.ids) - 1)}))["accounts"][0]
    assert safe["tier"] == "low" and safe["drivers"][0]["direction"] == "lowers risk"
    strategy = (await _call(client, "renewal-strategy", {"account": safe["account_id"]}))["risk"]
    assert strategy["churn_drivers"][0] == "(+) " + safe["drivers"][0]["text"]
    review = (await _call(client, "account-review-prep", {"account": safe["account_id"]}))["risks"]
    assert not any(t.startswith("(+)") for t in review["churn_drivers"])  # risks: only what raises the risk


def _offset(n):
    from cs_mcp.domain.paging import encode_cursor

    return encode_cursor(n)


@pytest.mark.anyio
async def test_a_drivers_figure_is_the_one_health_score_shows_not_the_damped_one_it_scored(client):
    rows = (await _call(client, "churn-risk-list", {"limit": 50, "sort": "arr_at_risk"}))["accounts"]
    compared = damped = 0
    for row in rows:
        signals = [d for d in row["drivers"] if d.get("metric")]
        if not signals:
            continue
        health = await _call(client, "health-score", {"account": row["account_id"]})
        inputs = {m["metric"]: m for dim in health["dimensions"] for m in dim["metrics"]}
        for d in signals:
            m = inputs[d["metric"]]
            assert d["text"].endswith(": " + m["display"]), (d, m)
            compared += 1
            damped += m["scored_value"] is not None
    assert compared >= 10 and damped >= 1, (compared, damped)


@pytest.mark.anyio
async def test_a_health_score_driver_moves_over_the_look_back_health_scores_trend_reads(client):
    """A-00147's health fell from 57 to 48 in 30 days but was 46 ninety days ago: the driver said 'up from 46 over
    90 days' while health-score said 'declining'. The driver now reads the look-back the trend's direction came
    from (the steepest fall of a decline, the steepest rise of an improvement)."""
    rows = (await _call(client, "churn-risk-list", {"limit": 50}))["accounts"]
    compared = set()
    for row in rows:
        d = next((d for d in row["drivers"] if d["feature"] == "health_score" and d["change"]), None)
        if d is None:
            continue
        # the row's health figure and the driver's are one figure (Greenfire read 'health 54' and 'health score 53')
        assert d["text"] == f"health score {score_text(row['health_score'])}", (d, row["health_score"])
        trend = (await _call(client, "health-score", {"account": row["account_id"]}))["trend"]
        velocities = {int(k): v for k, v in trend["velocities"].items()}
        pick = {"fast_decline": min, "declining": min, "improving": max}.get(trend["direction"])
        days = pick(velocities, key=velocities.get) if pick else trend["velocity_window_days"]
        then = next(p["score"] for p in trend["history"] if p["days_ago"] == days)
        word, _, figure, *rest = d["change"].split()
        if trend["direction"] in ("fast_decline", "declining", "improving"):
            assert word == ("up" if trend["direction"] == "improving" else "down"), (d, trend)
        assert rest == ["over", str(days), "days"], (d, trend)
        assert figure == score_text(then), (d, trend)  # the figure health-score shows for that day
        compared.add(days)
    assert len(compared) >= 2, compared  # the demo's top 50 reads more than one look-back


@pytest.mark.anyio
async def test_overdue_for_a_touch_is_one_rule_in_engagement_and_csm_performance(client):
    engagement = await _call(client, "engagement-report", {"limit": 1})
    flags = {f["code"]: f for f in engagement["portfolio"]["red_flags"]}
    team = (await _call(client, "csm-performance", {"limit": 1}))["team"]
    assert flags["no_recent_touch"]["accounts"] == team["coverage"]["overdue_accounts"] > 0
    assert flags["no_recent_touch"]["arr"] == pytest.approx(team["coverage"]["overdue_arr"])


@pytest.mark.anyio
async def test_the_90_day_risk_is_never_below_the_risk_of_losing_a_renewal_inside_those_90_days(client, demo):
    horizon = demo.settings.churn.horizon_days
    rows, _ = await _whole_list(client, {"renewal_within_days": horizon})
    assert len(rows) > 100
    for r in rows:
        assert r["probability_90d"] >= r["probability"], r["account_id"]
    lost = [r for r in rows if r["drivers"] and r["drivers"][0]["feature"] == "renewal_lost"]
    assert lost and all(r["probability_90d"] >= 0.97 for r in lost)
    later = (await _call(client, "churn-risk-list", {"limit": 50, "renewal_from": "2027-06-01"}))["accounts"]
    assert any(r["probability_90d"] < r["probability"] for r in later)  # beyond the horizon: the models' own


@pytest.mark.anyio
async def test_the_risk_list_text_gives_each_driver_whole_and_counts_days_in_words(client):
    result = await client.call_tool("churn-risk-list", {"limit": 20}, read_timeout_seconds=FIRST_CALL_TIMEOUT)
    text, rows = result.content[0].text, result.structured_content["accounts"]
    whole = inside = 0
    for row in rows:
        for d in row["drivers"]:
            head, _, signal = d["text"].partition(": ")
            # a health dimension's change follows its score: 'usage health 36/100 (down from 42 ...): 33% of ...'
            shown = f"{head} ({d['change']}): {signal}" if d["change"] and d["metric"] and signal else d["text"]
            assert shown in text, (shown, d)
            whole += 1
            inside += shown != d["text"]
    assert whole == sum(len(r["drivers"]) for r in rows) and inside  # no demo driver is long enough to shorten
    assert "in 1 days" not in text
    from cs_mcp.domain.formatting import day_count, shorten

    assert (day_count(1), day_count(14), day_count(-1)) == ("1 day", "14 days", "-1 day")
    assert shorten("usage health 52/100: uses 20% of the product's features (2 features)", 50) == (
        "usage health 52/100: uses 20% of the product's…")


@pytest.mark.anyio
async def test_a_qbr_pack_states_each_risk_once(client):
    top = (await _call(client, "churn-risk-list", {"limit": 8}))["accounts"]
    checked = 0
    for row in top:
        result = await client.call_tool("account-review-prep", {"account": row["account_id"]},
                                        read_timeout_seconds=FIRST_CALL_TIMEOUT)
        line = next((x for x in result.content[0].text.splitlines() if x.startswith("Risks (internal)")), None)
        if line is None:
            continue
        items = [i.split("] ", 1)[-1] for i in line.split(": ", 1)[1].split("; ")]
        for i, a in enumerate(items):
            assert not any(a in b or b in a for b in items[i + 1:]), line
        checked += 1
    assert checked >= 3
    from cs_mcp.domain.formatting import distinct_facts

    assert distinct_facts(["[critical] an invoice 169 days overdue",
                           "financial health 8/100: an invoice 169 days overdue", "health score 44",
                           "7% of seats active (6 of 91)", "usage health 22/100: 7% of seats active (6 of 91)"]) == [
        "[critical] an invoice 169 days overdue", "health score 44", "7% of seats active (6 of 91)"]


def test_a_high_risk_plan_that_leads_with_the_right_sized_renewal_does_not_hold_it_back_as_the_fallback():
    from cs_mcp.domain.renewal_strategy import _actions

    right = _actions("high_risk", "usage", "right-sized renewal ($2,089)", "none", "right_size")
    plain = _actions("high_risk", "usage", "renewal only ($23.8K)", "none", "renewal_only")
    assert len(right) == len(plain) == 5
    assert "right-sized (downgrade) offer as the fallback" in plain[3][1]
    assert "if the right-sized offer is refused" in right[3][1] and "fallback" not in right[3][1]
    assert right[2][1].startswith("Propose right-sized renewal ($2,089) with concessions")


def test_in_a_look_back_every_tool_counts_to_the_renewal_that_was_due_then():
    import datetime as dt

    import numpy as np

    from cs_mcp.domain.portfolio import portfolio_snapshot
    from cs_mcp.domain.renewal import _opportunity_columns

    with open_workspace(load_settings(None, overrides={"data": {"as_of": "2026-04-30"},
                                                       "churn": {"disk_cache": False}})) as ws:
        frame = portfolio_snapshot(ws).frame
        active = np.flatnonzero(frame["is_active"] == 1.0)
        ids = frame["account_id"][active]
        book = _opportunity_columns(ws, ids)["renewal_date"]
        book_days = (book - np.datetime64(ws.as_of, "D")).astype("timedelta64[D]").astype(float)
        feature_days = frame["days_to_renewal"][active]
        assert np.array_equal(book_days, feature_days, equal_nan=True)
        # renewals have moved on since: none is more than a year out (the stored dates reach 2027-10)
        assert np.nanmax(feature_days) <= 366 and np.nanmin(feature_days) >= -366
        stored = {a: d for a, d in ws.rows("SELECT account_id, renewal_date FROM accounts")}
        moved = sum(1 for a, d in zip(ids, book, strict=True)
                    if stored[a] is not None and np.datetime64(stored[a], "D") != d)
        assert moved > 0.35 * len(ids)  # six months before the data's end: over a third of the book renewed since
        assert ws.as_of == dt.date(2026, 4, 30)


@pytest.mark.anyio
async def test_a_tier_filter_that_leaves_nobody_says_how_risky_the_riskiest_account_is(client):
    everyone = (await _call(client, "churn-risk-list", {"segment": "enterprise", "limit": 1}))
    top = everyone["accounts"][0]
    assert top["tier"] in ("medium", "low")  # no enterprise account of the demo is at high or above
    result = await client.call_tool("churn-risk-list", {"segment": "enterprise", "min_tier": "high"},
                                    read_timeout_seconds=FIRST_CALL_TIMEOUT)
    text = result.content[0].text
    assert result.structured_content["total"] == 0
    assert text.startswith(f"Churn risk as of {everyone['as_of']}: 0 active accounts match segment=enterprise, "
                           "min_tier=high.")
    assert (f"None of the {everyone['total']:,} accounts in the other filters is at high or above (55%+); the "
            f"riskiest is {top['name']} ({top['account_id']}) at {top['probability'] * 100:.0f}%") in text


@pytest.mark.anyio
async def test_in_a_look_back_every_tool_counts_the_customers_of_that_day():
    """As of 2026-04-30, 51 demo accounts that churned later were still customers. Each tool counted its own
    'active': churn-risk-list 779 (started, not churned by then), while csm-performance, engagement-report and
    customer-segments dropped accounts whose status reads churned today (728), and renewal-strategy refused
    them. One rule now (queries.customers): 779 everywhere, and an account that left in the summer gets a plan."""
    settings = load_settings(None, overrides={"data": {"as_of": "2026-04-30"}, "churn": {"disk_cache": False}})
    with open_workspace(settings) as ws:
        later = ws.rows("SELECT account_id, CAST(churned_on AS VARCHAR) FROM accounts "
                        "WHERE churned_on > DATE '2026-04-30' ORDER BY churned_on, account_id")
        async with Client(create_server(ws.settings, ws, warm_up=False)) as c:
            risk = await _call(c, "churn-risk-list", {"limit": 1})
            team = (await _call(c, "csm-performance", {"limit": 1}))["team"]
            engagement = (await _call(c, "engagement-report", {"limit": 1}))["portfolio"]
            segments = await _call(c, "customer-segments", {})
            retention = await _call(c, "retention-metrics", {})
            plan = await _call(c, "renewal-strategy", {"account": later[0][0]})
    assert len(later) == 51
    assert risk["total"] == team["accounts"] == engagement["scored_accounts"] == segments["active_accounts"] \
        == retention["health_scored_accounts"] == 779
    assert team["arr"] == segments["active_arr"] == risk["total_arr"]
    assert plan["account_id"] == later[0][0]
    async with Client(create_server(load_settings(None), warm_up=False)) as c:  # at the data's end it had left
        refused = await c.call_tool("renewal-strategy", {"account": later[0][0]},
                                    read_timeout_seconds=FIRST_CALL_TIMEOUT)
    assert refused.is_error and f"churned on {later[0][1]}" in refused.content[0].text


@pytest.mark.anyio
async def test_in_a_look_back_find_accounts_gives_the_renewals_and_customers_of_that_day():
    """As of 2026-04-30, find-accounts read today's record: A-00510 'renews 2027-05-01' while health-score said
    'renewal in 1 day'; renewing within 90 days gave 236 accounts (accounts that started later, moved back a
    year, among them) against renewal-forecast's 198; status=active gave 850 against 779 customers."""
    settings = load_settings(None, overrides={"data": {"as_of": "2026-04-30"}, "churn": {"disk_cache": False}})
    async with Client(create_server(settings, warm_up=False)) as c:
        forecast = await _call(c, "renewal-forecast", {"days": 90, "limit": 1})
        due = await _call(c, "find-accounts", {"renewal_within_days": 90, "limit": 1})
        active = await _call(c, "find-accounts", {"status": "active", "limit": 1})
        risk = await _call(c, "churn-risk-list", {"limit": 1})
        one = (await _call(c, "find-accounts", {"query": "A-00510"}))["accounts"][0]
        left_later = (await _call(c, "find-accounts", {"query": "A-00669"}))["accounts"][0]
        profile = json.loads((await c.read_resource("cs://accounts/A-00669")).contents[0].text)
    assert due["total"] == forecast["renewals"] == 198
    assert active["total"] == risk["total"] == 779
    assert one["renewal_date"] == "2026-05-01"
    assert (left_later["status"], left_later["renewal_date"]) == ("active", "2026-05-09")  # churned 2026-05-09
    # the profile's record is the data's end; its standing and renewal are the look back's
    assert (profile["status"], profile["record_as_of"], profile["renewal"]["renewal_date"]) == (
        "churned", "2026-10-31", "2026-05-09")
    assert profile["standing"] == {"customer": True, "text": "a customer as of 2026-04-30; it churned on "
                                   "2026-05-09, after that date (the record shows the data as of 2026-10-31)"}
