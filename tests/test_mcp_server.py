"""The server through a real MCP client (in memory, both protocol eras) on the tiny workspace."""

import json
from pathlib import Path

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import ResourceTemplateReference

from cs_mcp.config import load_settings
from cs_mcp.server import create_server

pytestmark = pytest.mark.anyio


async def test_tools_are_listed_with_read_only_hints_and_output_schemas(client):
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert {"health-score", "find-accounts"} <= set(tools)
    hs = tools["health-score"]
    assert hs.annotations.read_only_hint is True
    assert hs.output_schema["properties"]["score"]["type"] == "number"
    assert "account" in hs.input_schema["properties"]
    assert hs.input_schema["properties"]["account"]["description"]


async def test_health_score_by_name_fragment_returns_the_hand_computed_score(client):
    result = await client.call_tool("health-score", {"account": "acme"})
    assert not result.is_error
    data = result.structured_content
    assert data["account_id"] == "A-1"
    assert data["score"] == pytest.approx(65.0, abs=0.05)
    assert data["band"] == "yellow"
    text = result.content[0].text
    assert text.startswith("Acme Corp (A-1): health 65/100, YELLOW")
    assert "renewal in 46 days" in text
    assert len(text) < 4000


async def test_unknown_account_is_an_error_naming_the_closest_matches(client):
    result = await client.call_tool("health-score", {"account": "Acme Corporation Ltd"})
    assert result.is_error
    text = result.content[0].text
    assert "No account matches 'Acme Corporation Ltd'" in text
    assert "'Acme Corp' (A-1)" in text
    assert "find-accounts" in text


async def test_ad_hoc_metrics_score_an_account_that_is_not_in_the_data(client):
    result = await client.call_tool(
        "health-score",
        {"metrics": {"active_users": 85, "seats": 100, "logins_per_user_week": 4.2}, "account_name": "Prospect"},
    )
    assert not result.is_error
    data = result.structured_content
    assert data["source"] == "ad-hoc metrics"
    assert data["score"] == pytest.approx(94.9, abs=0.05)
    assert data["missing_dimensions"] == ["engagement", "support", "satisfaction", "financial"]


async def test_bad_arguments_get_an_error_that_says_what_to_send(client):
    nothing = await client.call_tool("health-score", {})
    assert nothing.is_error and "Send account" in nothing.content[0].text
    bad = await client.call_tool("health-score", {"metrics": {"support_csat": 85}})
    assert bad.is_error and "support_csat" in bad.content[0].text
    both = await client.call_tool("health-score", {"account": "A-1", "metrics": {"nps": 10}})
    assert both.is_error and "not both" in both.content[0].text


async def test_find_accounts_pages_with_a_cursor(client):
    first = await client.call_tool("find-accounts", {"limit": 2})
    data = first.structured_content
    assert (data["total"], data["returned"]) == (3, 2)
    assert [a["account_id"] for a in data["accounts"]] == ["A-1", "A-3"]  # by ARR
    second = await client.call_tool("find-accounts", {"limit": 2, "cursor": data["next_cursor"]})
    assert [a["account_id"] for a in second.structured_content["accounts"]] == ["A-2"]
    assert second.structured_content["next_cursor"] is None
    bad = await client.call_tool("find-accounts", {"cursor": "nonsense"})
    assert bad.is_error and "next_cursor" in bad.content[0].text


async def test_find_accounts_filters_and_explains_an_unknown_segment(client):
    result = await client.call_tool("find-accounts", {"query": "glob"})
    assert [a["name"] for a in result.structured_content["accounts"]] == ["Globex"]
    renewing = await client.call_tool("find-accounts", {"renewal_within_days": 60})
    assert [a["account_id"] for a in renewing.structured_content["accounts"]] == ["A-1"]
    unknown = await client.call_tool("find-accounts", {"segment": "galactic"})
    assert unknown.is_error and "enterprise" in unknown.content[0].text


async def test_active_config_resource_shows_the_weights_in_force(client):
    result = await client.read_resource("cs://config/active")
    config = json.loads(result.contents[0].text)
    assert config["health"]["models"]["default"]["dimensions"]["usage"]["weight"] == 30
    assert config["health"]["model"] == "default"


async def test_data_quality_resource_reports_rows_per_table(client):
    result = await client.read_resource("cs://data/quality")
    report = json.loads(result.contents[0].text)
    assert json.dumps(report).count("accounts") >= 1
    assert "usage" in json.dumps(report)


async def test_account_profile_resource_keeps_custom_attributes(client):
    result = await client.read_resource("cs://accounts/A-1")
    profile = json.loads(result.contents[0].text)
    assert profile["name"] == "Acme Corp"
    assert profile["custom_attributes"]["partner_tier"] == "gold"
    assert profile["rows_per_table"]["usage"] == 8
    assert profile["csm"]["name"] == "Dana"
    with pytest.raises(MCPError):
        await client.read_resource("cs://accounts/NOPE")


async def test_account_ids_complete_from_the_data(client):
    ref = ResourceTemplateReference(type="ref/resource", uri="cs://accounts/{account_id}")
    result = await client.complete(ref, {"name": "account_id", "value": "a-"})
    assert set(result.completion.values) == {"A-1", "A-2", "A-3"}


async def test_skills_and_templates_are_listed_as_resources(client):
    uris = {str(r.uri) for r in (await client.list_resources()).resources}
    assert "cs://skills/customer-health-scoring" in uris
    assert "cs://config/active" in uris


async def test_tool_families_and_read_only_limit_the_tools(tiny_workspace):
    settings = load_settings(overrides={"server": {"tools": ["accounts"]}})
    server = create_server(settings, tiny_workspace, warm_up=False)
    async with Client(server) as c:
        names = {t.name for t in (await c.list_tools()).tools}
    assert names == {"find-accounts"}


async def test_changed_data_files_are_reloaded_on_the_next_call(tmp_path, monkeypatch):
    import shutil

    import cs_mcp.server as server_module
    shutil.copytree(Path(__file__).parent / "data" / "tiny", tmp_path / "ws")
    monkeypatch.setattr(server_module, "RECHECK_SECONDS", 0.0)
    monkeypatch.setattr(server_module, "SETTLE_SECONDS", 0.0)
    server = create_server(load_settings(tmp_path / "ws"), warm_up=False)
    async with Client(server) as c:
        before = await c.call_tool("find-accounts", {})
        assert before.structured_content["total"] == 3
        with open(tmp_path / "ws" / "accounts.csv", "a") as f:
            f.write("A-4,Hooli,smb,C-2,starter,5000,10,2026-01-01,2027-01-01,active,,12,\n")
        after = await c.call_tool("find-accounts", {})
        assert after.structured_content["total"] == 4


async def test_structured_content_validates_against_the_declared_output_schema(client):
    import jsonschema

    tools = {t.name: t for t in (await client.list_tools()).tools}
    calls = [
        ("health-score", {"account": "A-1"}),
        ("health-score", {"metrics": {"nps": 40, "days_overdue": 0}}),
        ("find-accounts", {"query": "a"}),
    ]
    for name, args in calls:
        result = await client.call_tool(name, args)
        assert not result.is_error, result.content
        jsonschema.validate(result.structured_content, tools[name].output_schema)


async def test_prompts_whose_tools_are_enabled_are_offered_and_render(client):
    from mcp.types import PromptReference

    names = {p.name for p in (await client.list_prompts()).prompts}
    assert "customer-health-scorer" in names
    assert {"health-monitor", "churn-predictor", "weekly-at-risk-review"} <= names
    result = await client.get_prompt("customer-health-scorer", {"account": "A-1"})
    text = result.messages[0].content.text
    assert "health-score" in text and "A-1" in text and "{{" not in text
    completion = await client.complete(
        PromptReference(type="ref/prompt", name="customer-health-scorer"), {"name": "account", "value": "a-"}
    )
    assert set(completion.completion.values) == {"A-1", "A-2", "A-3"}


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_first_call_reports_progress_while_the_workspace_loads(mode):
    # a real load, not the database an earlier test stored
    settings = load_settings(Path(__file__).parent / "data" / "tiny", overrides={"data": {"duckdb_on_disk": False}})
    server = create_server(settings, warm_up=False)
    seen = []

    async def on_progress(progress, total, message):
        seen.append((progress, total, message))

    async with Client(server, mode=mode) as c:
        result = await c.call_tool("find-accounts", {"query": "acme"}, progress_callback=on_progress)
    assert not result.is_error
    values = [p for p, _, _ in seen]
    assert len(values) >= 3 and all(b > a for a, b in zip(values, values[1:], strict=False))
    assert all(total is None for _, total, _ in seen)  # several jobs may follow: no overall total is known
    assert any(m.startswith("reading accounts from accounts.csv") for _, _, m in seen)
    assert seen[-1][2] == "workspace ready: 10 tables, 38 rows, 0 rejected"
