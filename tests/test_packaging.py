"""The Claude Desktop extension bundle: its manifest is valid and runs this package with the user's folder."""

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from cs_mcp.cli import DATA_OPTIONS, SERVE_OPTIONS
from cs_mcp.toolsets import TOOL_NAMES

ROOT = Path(__file__).parent.parent
MANIFEST = json.loads((ROOT / "packaging" / "manifest.json").read_text())
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LOCAL_CLI = ROOT / "packaging" / ".mcpb-cli" / "node_modules" / ".bin" / "mcpb"


def test_the_manifest_names_this_package_at_its_version():
    assert MANIFEST["manifest_version"] == "0.4"  # the first with "server.type": "uv"
    assert MANIFEST["name"] == PROJECT["name"] == "customer-success-mcp"
    assert MANIFEST["version"] == PROJECT["version"]
    assert MANIFEST["compatibility"]["runtimes"]["python"] == PROJECT["requires-python"]


def test_the_bundle_runs_the_console_script_with_uv_in_the_bundle_folder():
    server = MANIFEST["server"]
    assert server["type"] == "uv" and (ROOT / server["entry_point"]).is_file()
    config = server["mcp_config"]
    assert config["command"] == "uv"
    assert config["args"][:3] == ["run", "--directory", "${__dirname}"]
    assert config["args"][-1] in PROJECT["scripts"]


def test_the_install_dialog_asks_for_the_workspace_folder_and_it_reaches_the_server():
    fields = MANIFEST["user_config"]
    assert fields["workspace"]["type"] == "directory"
    env = MANIFEST["server"]["mcp_config"]["env"]
    known = {o.env for o in DATA_OPTIONS + SERVE_OPTIONS}
    assert env["CS_MCP_DATA"] == "${user_config.workspace}"
    for variable, value in env.items():
        assert variable in known
        field = re.fullmatch(r"\$\{user_config\.(\w+)\}", value).group(1)
        assert field in fields and {"type", "title", "description"} <= set(fields[field])


def test_the_listed_tools_are_the_servers_tools():
    assert [t["name"] for t in MANIFEST["tools"]] == list(TOOL_NAMES)


MCPB_PACKAGE = "@anthropic-ai/mcpb@2.1.2"  # the version packaging/build_mcpb.sh uses


@pytest.fixture(scope="session")
def mcpb_cli() -> list[str]:
    """The mcpb CLI: the build script's copy, one on PATH, else installed from npm when node is here."""
    if LOCAL_CLI.exists():
        return [str(LOCAL_CLI)]
    if shutil.which("mcpb"):
        return [shutil.which("mcpb")]
    if not shutil.which("npm"):
        pytest.skip("no node/npm: the mcpb CLI cannot run here")
    LOCAL_CLI.parent.parent.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix",
                           str(LOCAL_CLI.parent.parent.parent), MCPB_PACKAGE], capture_output=True, timeout=600)
    if proc.returncode != 0 or not LOCAL_CLI.exists():
        pytest.skip(f"could not install {MCPB_PACKAGE}: {proc.stderr.decode()[-300:]}")
    return [str(LOCAL_CLI)]


def test_the_build_script_and_the_test_use_one_mcpb_version():
    script = (ROOT / "packaging" / "build_mcpb.sh").read_text()
    assert f'mcpb_version="{MCPB_PACKAGE.rsplit("@", 1)[1]}"' in script


def test_the_mcpb_cli_validates_the_manifest(tmp_path, mcpb_cli):
    shutil.copy(ROOT / "packaging" / "manifest.json", tmp_path / "manifest.json")
    shutil.copy(ROOT / "src" / "cs_mcp" / "assets" / "icon-512.png", tmp_path / "icon.png")
    proc = subprocess.run([*mcpb_cli, "validate", str(tmp_path / "manifest.json")], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Manifest schema validation passes" in proc.stdout
