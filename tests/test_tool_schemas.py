"""A golden snapshot of every tool's schema: an accidental change to the contract fails here.

After a deliberate change, regenerate with: CS_MCP_UPDATE_GOLDEN=1 python -m pytest tests/test_tool_schemas.py
"""

import json
import os
from pathlib import Path

import pytest
from mcp import Client

from cs_mcp.server import create_server

GOLDEN = Path(__file__).parent / "golden" / "tools.json"

pytestmark = pytest.mark.anyio


async def current_tools() -> dict:
    async with Client(create_server(warm_up=False)) as c:
        tools = (await c.list_tools()).tools
    return {
        t.name: {
            "title": t.title,
            "description": t.description,
            "annotations": t.annotations.model_dump(mode="json", exclude_none=True) if t.annotations else None,
            "input_schema": t.input_schema,
            "output_schema": t.output_schema,
        }
        for t in sorted(tools, key=lambda t: t.name)
    }


async def test_tool_schemas_match_the_golden_snapshot():
    tools = await current_tools()
    if os.environ.get("CS_MCP_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(tools, indent=1, sort_keys=True) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert sorted(tools) == sorted(golden), "tools added or removed: regenerate the snapshot if deliberate"
    for name in tools:
        assert tools[name] == golden[name], f"schema of {name} changed: regenerate the snapshot if deliberate"


async def test_every_tool_describes_every_input():
    for name, tool in (await current_tools()).items():
        for prop, schema in tool["input_schema"].get("properties", {}).items():
            assert schema.get("description"), f"{name}.{prop} has no description"
