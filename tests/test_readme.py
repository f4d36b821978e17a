"""The README's tool table and data tables stay in step with the code."""

import re
from pathlib import Path

from cs_mcp.tools import ALL_TOOLS
from cs_mcp.workspace.schema import TABLES

README = (Path(__file__).parent.parent / "README.md").read_text()


def tool_table_names() -> set[str]:
    section = README.split("## Tools", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z-]+)` \|", section, flags=re.M))


def test_readme_lists_exactly_the_registered_tools():
    assert tool_table_names() == {t.name for t in ALL_TOOLS}


def test_readme_gives_an_example_for_every_tool():
    for tool in ALL_TOOLS:
        assert f"- `{tool.name}` `{{" in README, tool.name


def test_readme_documents_every_table():
    section = README.split("## Your data", 1)[1]
    for table in TABLES:
        assert f"| {table} |" in section, table


def test_readme_quick_start_is_what_ci_runs():
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert ".venv/bin/python -m pytest" in README
    assert "python -m pytest" in ci
