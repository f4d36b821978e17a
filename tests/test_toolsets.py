"""Choosing the tools a server offers: toolsets, single tools, exclusions, read-only, and the keywords."""

import pytest
from mcp import Client

from cs_mcp.config import ConfigError, load_settings
from cs_mcp.server import create_server
from cs_mcp.toolsets import (
    CHURN_MODEL_TOOLS,
    TOOL_NAMES,
    TOOLSETS,
    WRITING_TOOLS,
    ToolSelectionError,
    select_tools,
)


def test_the_cheap_index_matches_the_registry():
    from cs_mcp.tools import ALL_TOOLS

    assert {t.name: t.family for t in ALL_TOOLS} == {n: f for f, names in TOOLSETS.items() for n in names}
    assert {t.name for t in ALL_TOOLS if not t.read_only} == WRITING_TOOLS
    assert CHURN_MODEL_TOOLS <= set(TOOL_NAMES)


def test_nothing_chosen_means_every_tool_and_default_and_all_say_the_same():
    assert select_tools() == list(TOOL_NAMES)
    assert select_tools(["default"]) == select_tools(["all"]) == list(TOOL_NAMES)


def test_toolsets_and_single_tools_add_up_then_exclusions_and_read_only_take_away():
    assert select_tools(["renewal"]) == ["renewal-forecast", "renewal-strategy"]
    assert select_tools(["renewal"], ["find-accounts"]) == ["find-accounts", "renewal-forecast", "renewal-strategy"]
    assert select_tools(tools=["health-score"]) == ["health-score"]  # single tools alone: only those
    assert select_tools(["renewal"], exclude=["renewal-strategy"]) == ["renewal-forecast"]
    assert "onboarding-plan" not in select_tools(read_only=True)
    assert len(select_tools(["all"], exclude=["onboarding-plan"])) == len(TOOL_NAMES) - 1


def test_an_unknown_name_is_refused_with_the_valid_ones_listed():
    with pytest.raises(ToolSelectionError, match="unknown toolset 'helth'; toolsets: accounts, health"):
        select_tools(["helth"])
    with pytest.raises(ToolSelectionError, match="unknown tool 'health'.*health-score"):
        select_tools(tools=["health"], exclude=["health"])
    with pytest.raises(ConfigError, match="unknown tool to exclude .nope."):
        load_settings(overrides={"server": {"exclude_tools": ["nope"]}})


def test_family_names_in_server_tools_still_work_as_toolsets(caplog):
    settings = load_settings(overrides={"server": {"tools": ["health", "find-accounts"]}})
    assert settings.server.toolsets == ["health"] and settings.server.tools == ["find-accounts"]
    assert "use toolsets" in caplog.text


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_server_lists_exactly_the_chosen_tools(tiny_workspace, mode):
    settings = load_settings(overrides={"server": {
        "toolsets": ["renewal"], "tools": ["health-score"], "exclude_tools": ["renewal-strategy"]}})
    server = create_server(settings, tiny_workspace, warm_up=False)
    async with Client(server, mode=mode) as c:
        names = {t.name for t in (await c.list_tools()).tools}
    assert names == {"health-score", "renewal-forecast"}
