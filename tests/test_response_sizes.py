"""Every tool's default answer on the bundled demo stays small enough for a model's context."""

import json

import pytest
from mcp import Client

from cs_mcp.config import load_settings
from cs_mcp.server import create_server

pytestmark = pytest.mark.anyio

MAX_TEXT = 20_000
MAX_STRUCTURED = 25_000  # characters of JSON: about 6K tokens

DEFAULT_CALLS = [
    ("find-accounts", {}),
    ("health-score", {"account": "A-00193"}),
    ("churn-risk-list", {}),
    ("renewal-forecast", {}),
    ("retention-metrics", {"by": "csm_id"}),
    ("expansion-opportunities", {}),
    ("nps-analysis", {"by": "segment"}),
    ("customer-segments", {"scheme": "rfm"}),
    ("engagement-report", {}),
    ("csm-performance", {}),
    ("account-review-prep", {"account": "A-00193"}),
    ("escalation-analysis", {}),
    ("renewal-strategy", {"account": "A-00193"}),
    ("onboarding-plan", {"account": "A-00193", "start_date": "2027-01-04"}),
]


async def test_default_answers_fit_the_context_budget():
    async with Client(create_server(load_settings(), warm_up=False)) as c:
        names = {t.name for t in (await c.list_tools()).tools}
        assert names == {name for name, _ in DEFAULT_CALLS}
        for name, args in DEFAULT_CALLS:
            result = await c.call_tool(name, args)
            assert not result.is_error, (name, result.content)
            assert len(result.content[0].text) <= MAX_TEXT, name
            assert len(json.dumps(result.structured_content)) <= MAX_STRUCTURED, name


async def test_every_tool_answers_nonsense_arguments_with_an_error_naming_the_field():
    async with Client(create_server(load_settings(), warm_up=False)) as c:
        tools = (await c.list_tools()).tools
        for tool in tools:
            props = tool.input_schema.get("properties", {})
            field = next(iter(props))
            result = await c.call_tool(tool.name, {field: {"not": "valid"}})
            assert result.is_error, tool.name
            assert field in result.content[0].text, (tool.name, result.content[0].text)
        after = await c.call_tool("find-accounts", {"query": "summit"})
        assert not after.is_error
