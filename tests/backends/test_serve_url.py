"""End to end on PostgreSQL, as a user does it: `cs-mcp load` copies a workspace folder into a fresh schema,
then `cs-mcp serve` with `data.url` answers every tool over stdio, with the same figures as the folder."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml
from contract import ACCOUNT, _bind_account, answer, assert_same_answer
from mcp import Client, StdioServerParameters

pytestmark = pytest.mark.anyio

EVERY_TOOL = [
    ("find-accounts", {"query": "a"}),
    ("health-score", {"account": ACCOUNT}),
    ("churn-risk-list", {}),
    ("renewal-forecast", {"days": 365}),
    ("renewal-strategy", {"account": ACCOUNT}),
    ("account-review-prep", {"account": ACCOUNT}),
    ("retention-metrics", {}),
    ("expansion-opportunities", {}),
    ("customer-segments", {}),
    ("nps-analysis", {}),
    ("escalation-analysis", {}),
    ("engagement-report", {}),
    ("csm-performance", {}),
    ("onboarding-plan", {"action": "create", "account": ACCOUNT}),
]


@pytest.fixture(scope="module")
def served_from_postgres(postgres_url, demo_dir, reference, tmp_path_factory):
    """A config file pointing `cs-mcp serve` at the demo copied into PostgreSQL by the `cs-mcp load` command."""
    schema = "cs_e2e_serve"
    loaded = subprocess.run(
        [sys.executable, "-m", "cs_mcp", "load", "--from", str(demo_dir), "--url", postgres_url, "--schema", schema],
        capture_output=True, text=True, timeout=600,
    )
    assert loaded.returncode == 0, loaded.stderr
    ref = reference["demo"]
    settings = {k: v for k, v in ref.settings.model_dump(mode="json").items() if k != "data"}
    settings["data"] = {"url": postgres_url, "database_schema": schema, "as_of": ref.as_of.isoformat()}
    config = tmp_path_factory.mktemp("serve-url") / "cs-mcp.yaml"
    config.write_text(yaml.safe_dump(settings))
    return config, loaded.stdout


def test_load_says_how_many_rows_it_copied_and_how_to_serve_them(served_from_postgres, reference):
    _, said = served_from_postgres
    ref = reference["demo"]
    rows = sum(ref.scalar(f"SELECT count(*) FROM {table}") for table in sorted(ref.tables))
    assert f"Loaded {rows:,} rows in {len(ref.tables)} tables" in said, said
    assert "cs-mcp serve --url" in said and "data.database_schema: cs_e2e_serve" in said


async def test_serve_url_answers_every_tool_like_the_folder(served_from_postgres, reference, tmp_path):
    config, _ = served_from_postgres
    ref = reference["demo"]
    env = dict(os.environ, CS_MCP_STATE_DIR=str(tmp_path / "state"))  # onboarding plans of a warehouse
    params = StdioServerParameters(command=sys.executable, args=["-m", "cs_mcp", "serve", "--config", str(config)],
                                   env=env)
    async with Client(params) as client:
        listed = {t.name for t in (await client.list_tools()).tools}
        assert {tool for tool, _ in EVERY_TOOL} <= listed
        for tool, args in EVERY_TOOL:
            bound = _bind_account(ref, args)
            got = await client.call_tool(tool, bound, read_timeout_seconds=600)
            text = " ".join(getattr(c, "text", "") for c in got.content)
            assert not got.is_error, f"{tool} on PostgreSQL: {text}"
            want, got = await answer(ref, tool, bound), got.structured_content
            if tool == "onboarding-plan":  # where plans are kept: beside the folder, or in the state folder
                assert got.pop("store") == str(tmp_path / "state" / "plans")
                want.pop("store")
            assert_same_answer(want, got)
