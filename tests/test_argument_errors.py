"""Every argument of every tool answers a wrong value with a sentence naming the field, what was sent and what
to send; driven by each tool's input schema from list_tools, so a new argument is covered without a new test."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from mcp import Client

from cs_mcp.domain.periods import renewal_quarter
from cs_mcp.server import create_server
from cs_mcp.tool_errors import UNEXPECTED

pytestmark = pytest.mark.anyio

RAW_PYDANTIC = ("errors.pydantic.dev", "validation error for", "[type=", "Input should be")


def resolve(root: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return resolve(root, root["$defs"][schema["$ref"].rsplit("/", 1)[-1]])
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    return resolve(root, options[0]) if len(options) == 1 else schema


def wrong_values(schema: dict[str, Any], root: dict[str, Any]) -> list[tuple[Any, list[str]]]:
    """(a wrong value, words the error must contain) for one argument's schema."""
    s = resolve(root, schema)
    kind = s.get("type")
    if "enum" in s:
        return [("no-such-choice", ["is not one of", *map(str, s["enum"])])]
    if kind == "string" and s.get("format") == "date":
        return [("2026-13-01", ["is not a date", "YYYY-MM-DD"]), ("0001-01-01", ["is before", "YYYY-MM-DD"]),
                ("9999-12-31", ["is after", "YYYY-MM-DD"])]
    if kind == "string":
        assert "maxLength" in s, "every text argument has a length bound"
        return [({"not": "text"}, ["is not text"]),
                ("x" * (s["maxLength"] + 1), [f"longer than {s['maxLength']} characters"])]
    if kind in ("integer", "number"):
        assert "maximum" in s or "exclusiveMaximum" in s, "every number has an upper bound"
        out: list[tuple[Any, list[str]]] = [(s["maximum"] + 1, ["is above the maximum", "send a"])]
        if "minimum" in s:
            out.append((s["minimum"] - 1, ["is below the minimum", "send a"]))
        out.append(("lots", ["is not a", "send a"]))
        if kind == "number":
            out.append(("Infinity", ["finite number"]))
        return out
    if kind == "boolean":
        return [("maybe", ["is not true or false"])]
    if kind == "array":
        assert "maxItems" in s, "every list argument has a length bound"
        return [(7, ["is not a list"]), ([None] * (s["maxItems"] + 1), [f"more than {s['maxItems']} items"])]
    if kind == "object" or "properties" in s:
        return [({"zz_not_a_key": 1}, ["not a known key", *s["properties"]]), ("[1]", ["is not an object"])]
    raise AssertionError(f"no wrong value for a schema like {s}")


async def test_every_argument_of_every_tool_answers_a_wrong_value_with_what_to_send(client):
    tools = (await client.list_tools()).tools
    checked = 0
    for tool in tools:
        root = tool.input_schema
        for field, schema in root.get("properties", {}).items():
            for value, words in wrong_values(schema, root):
                result = await client.call_tool(tool.name, {field: value})
                text = result.content[0].text
                assert result.is_error, (tool.name, field, value)
                assert f"{field}" in text.split(":", 1)[1], (tool.name, field, text)
                for word in words:
                    assert word in text, (tool.name, field, value, word, text)
                assert not any(raw in text for raw in RAW_PYDANTIC), text
                assert len(text) < 1_500, text
                checked += 1
    assert checked > 150


async def test_nested_fields_are_named_by_their_path(client):
    result = await client.call_tool(
        "onboarding-plan", {"action": "update", "updates": [{"milestone": "kickoff", "on": "2027-02-30"}]}
    )
    assert result.is_error
    assert "updates[0].on: '2027-02-30' is not a date; send YYYY-MM-DD" in result.content[0].text


async def test_the_briefs_examples_read_as_written(client):
    date = await client.call_tool("health-score", {"account": "A-1", "as_of": "2026-13-01"})
    assert "as_of: '2026-13-01' is not a date; send YYYY-MM-DD, e.g. 2026-09-30" in date.content[0].text
    sort = await client.call_tool("renewal-forecast", {"sort": "big"})
    assert "sort: 'big' is not one of date, risk, arr, arr_at_risk." in sort.content[0].text


async def test_an_unknown_argument_is_refused_with_the_closest_name_and_the_list(client):
    result = await client.call_tool("health-score", {"acount": "A-1"})
    assert result.is_error
    text = result.content[0].text
    assert "'acount' is not an argument of health-score (did you mean account?)" in text
    assert "account, metrics, account_name, as_of" in text


async def test_unknown_metrics_keys_are_refused_with_the_known_keys(client):
    result = await client.call_tool("health-score", {"metrics": {"active_users": 85, "seats": 100, "nps_score": 8}})
    assert result.is_error
    text = result.content[0].text
    assert "metrics.nps_score: not a known key (did you mean nps?)" in text
    assert "active_users, seats, seat_utilization, logins_per_user_week" in text
    ok = await client.call_tool("health-score", {"metrics": {"active_users": 85, "seats": 100, "nps": 8}})
    assert not ok.is_error
    dims = {d["dimension"]: d for d in ok.structured_content["dimensions"]}
    assert dims["satisfaction"]["score"] is not None  # nps counted, not dropped


async def test_as_of_outside_the_data_is_refused_with_the_data_range(client):
    # the tiny workspace's activity runs from 2025-08-01 to its as-of date 2026-06-30
    late = await client.call_tool("health-score", {"account": "A-1", "as_of": "2027-01-01"})
    assert late.is_error
    assert ("as_of: 2027-01-01 is after the data's last date; the data covers 2025-08-01 to 2026-06-30"
            in late.content[0].text)
    early = await client.call_tool("health-score", {"account": "A-1", "as_of": "2020-01-01"})
    assert early.is_error and "before the data's first date" in early.content[0].text
    inside = await client.call_tool("health-score", {"account": "A-1", "as_of": "2026-03-31"})
    assert not inside.is_error and inside.structured_content["as_of"] == "2026-03-31"


async def test_a_bare_quarter_means_the_same_window_in_churn_risk_list_and_renewal_forecast(client):
    # as of 2026-06-30 a bare Q3 is the coming 2026-Q3, a bare Q1 next year's
    for bare, label in (("Q3", "2026-Q3"), ("q1", "2027-Q1")):
        churn = await client.call_tool("churn-risk-list", {"quarter": bare})
        renewal = await client.call_tool("renewal-forecast", {"quarter": bare})
        assert not churn.is_error and not renewal.is_error, (churn.content, renewal.content)
        assert churn.structured_content["filters"]["quarter"] == label
        assert renewal.structured_content["window"]["label"] == label
        start, end, _ = renewal_quarter(bare, dt.date(2026, 6, 30))
        assert renewal.structured_content["window"]["start"] == start.isoformat()
        assert renewal.structured_content["window"]["end"] == end.isoformat()
    # Acme Corp renews 2026-08-15: in Q3 for both tools
    q3 = await client.call_tool("churn-risk-list", {"quarter": "Q3"})
    assert [a["account_id"] for a in q3.structured_content["accounts"]] == ["A-1"]


async def test_an_empty_renewal_window_says_which_renewal_dates_the_data_holds(client):
    churn = await client.call_tool("churn-risk-list", {"quarter": "2030-Q1"})
    assert churn.structured_content["total"] == 0
    assert "renewal dates in the data run from 2026-08-15 to 2027-03-01" in churn.structured_content["note"]
    renewal = await client.call_tool("renewal-forecast", {"quarter": "2030-Q1"})
    assert "renewal dates in the data run from 2026-08-15 to 2027-03-01" in renewal.structured_content["note"]


async def test_a_year_the_server_cannot_compute_with_is_refused_with_the_range(client):
    for tool, args in (("retention-metrics", {"period": "9999"}), ("nps-analysis", {"period": "0000-Q1"}),
                       ("renewal-forecast", {"quarter": "10000-Q1"})):
        result = await client.call_tool(tool, args)
        assert result.is_error, (tool, args)
        text = result.content[0].text
        assert UNEXPECTED not in text
        assert "1900-2199" in text or "Unknown quarter" in text, text


async def test_a_crash_inside_a_tool_becomes_an_error_with_a_next_step_and_a_logged_traceback(
    tiny_workspace, monkeypatch, caplog
):
    import cs_mcp.tools.accounts as accounts_tool

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero in the ranking")

    monkeypatch.setattr(accounts_tool, "find_accounts", broken)
    server = create_server(tiny_workspace.settings, tiny_workspace, warm_up=False)
    with caplog.at_level(logging.ERROR, logger="cs_mcp"):
        async with Client(server) as c:
            result = await c.call_tool("find-accounts", {"query": "acme"})
    assert result.is_error
    text = result.content[0].text
    assert text.startswith("Error executing tool find-accounts: " + UNEXPECTED)
    assert "ZeroDivisionError: division by zero in the ranking" in text
    assert "The server log has the details" in text
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is ZeroDivisionError]
    assert logged, "the traceback goes to the server log"


@pytest.mark.parametrize(
    ("tool", "args", "coverage"),
    [
        ("nps-analysis", {"period": "2019"}, "answers in the data run from 2025-08-01 to 2026-06-01"),
        ("escalation-analysis", {"period": "2019"}, "escalations in the data run from 2026-06-20"),
        ("retention-metrics", {"period": "2019"}, "subscriptions start between 2023-05-01 and 2026-01-15"),
        ("account-review-prep", {"account": "A-1", "period": "2019"},
         "the data covers 2025-08-01 to 2026-06-30"),
        ("renewal-forecast", {"quarter": "2019-Q1"}, "renewal dates in the data run from 2026-08-15"),
    ],
)
async def test_an_empty_period_says_which_dates_the_data_covers(client, tool, args, coverage):
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content[0].text
    assert coverage in result.structured_content["note"]
