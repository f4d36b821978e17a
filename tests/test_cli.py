"""The command line: check, demo, and the errors a user sees instead of a traceback."""

import argparse
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

import cs_mcp
from cs_mcp.cli import (
    ACCOUNT_FILE_SUFFIXES,
    DATA_OPTIONS,
    SERVE_OPTIONS,
    UsageError,
    _tool_selection,
    main,
    resolve_options,
)

HERE = Path(__file__).parent


def run_cli(*args: str) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    return exit_info.value.code


def test_check_on_a_clean_workspace_prints_the_report_and_exits_zero(capsys):
    assert run_cli("check", "--data", str(HERE / "data" / "tiny")) == 0
    out = capsys.readouterr().out
    assert "accounts" in out and "usage" in out and "as of 2026-06-30" in out


def test_check_lists_each_rejected_row_and_exits_non_zero(capsys):
    assert run_cli("check", "--data", str(HERE / "fixtures" / "bad")) == 1
    out = capsys.readouterr().out
    assert "accounts.csv row 2, arr = '-5': below the minimum 0 (rejected)" in out
    assert "usage.csv row 3, account_id = 'A-9': account_id not in accounts (rejected)" in out


def test_demo_writes_a_workspace_that_checks_clean(tmp_path, capsys):
    out_dir = tmp_path / "demo"
    assert run_cli("demo", "--accounts", "40", "--seed", "3", "--out", str(out_dir)) == 0
    assert (out_dir / "accounts.csv").exists() and (out_dir / "usage.csv").exists()
    assert run_cli("check", "--data", str(out_dir)) == 0


def test_a_missing_workspace_folder_is_a_one_line_error(tmp_path, capsys):
    assert run_cli("check", "--data", str(tmp_path / "nowhere")) == 2
    err = capsys.readouterr().err
    assert err.startswith("cs-mcp: ") and "nowhere" in err


def test_an_invalid_config_file_names_the_setting(tmp_path, capsys):
    (tmp_path / "accounts.csv").write_text("account_id,name,arr\nA-1,Acme,10\n")
    (tmp_path / "cs-mcp.yaml").write_text("health:\n  model: nonexistent\n")
    assert run_cli("check", "--data", str(tmp_path)) == 2
    assert "health.model 'nonexistent'" in capsys.readouterr().err


def test_serving_http_beyond_loopback_without_a_token_is_refused():
    proc = subprocess.run(
        [sys.executable, "-m", "cs_mcp", "serve", "--transport", "http", "--host", "0.0.0.0", "--port", "1"],
        capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2
    assert "bearer token" in proc.stderr


def test_check_reports_a_document_the_settings_cannot_fill(tmp_path, capsys, monkeypatch):
    from cs_mcp import content

    (tmp_path / "accounts.csv").write_text("account_id,name,arr\nA-1,Acme,10\n")
    assert run_cli("check", "--data", str(tmp_path)) == 0  # every shipped document renders
    broken = content.Document(
        name="broken", kind="template", title="Broken", description="", body="Weight {{ health.nope }}",
        arguments=(), tools=(),
    )
    real = content.load_documents
    monkeypatch.setattr(content, "load_documents", lambda kind: [*real(kind), broken] if kind == "template"
                        else real(kind))
    assert run_cli("check", "--data", str(tmp_path)) == 1
    assert "health.nope" in capsys.readouterr().err


def test_version_prints_the_program_and_its_version(capsys):
    assert run_cli("--version") == 0
    assert capsys.readouterr().out.strip() == f"cs-mcp {cs_mcp.__version__}"


def test_serve_refuses_a_missing_data_folder_before_serving(tmp_path, capsys):
    assert run_cli("serve", "--data", str(tmp_path / "nowhere")) == 2
    err = capsys.readouterr().err
    assert err.startswith("cs-mcp: Workspace folder ") and "does not exist" in err


def test_serve_refuses_a_folder_without_an_accounts_table(tmp_path, capsys):
    (tmp_path / "usage.csv").write_text("account_id,date\nA-1,2026-01-01\n")
    assert run_cli("--data", str(tmp_path)) == 2
    err = capsys.readouterr().err
    assert f"No accounts table in {tmp_path}" in err and "found: usage.csv" in err


def test_the_data_folder_comes_from_the_environment_when_no_flag_is_given(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CS_MCP_DATA", str(tmp_path / "from-env"))
    assert run_cli("serve") == 2
    assert "from-env does not exist" in capsys.readouterr().err
    assert run_cli("serve", "--data", str(tmp_path / "from-flag")) == 2  # the flag wins
    assert "from-flag does not exist" in capsys.readouterr().err


def test_environment_values_are_converted_and_a_bad_one_is_named():
    args = argparse.Namespace(**{o.dest: None for o in SERVE_OPTIONS}, data=None, config=None, as_of=None)
    args.port = "9000"
    env = {"CS_MCP_PORT": "1234", "CS_MCP_READ_ONLY": "yes", "CS_MCP_TOOLSETS": "health, churn",
           "CS_MCP_AS_OF": "2026-09-30", "CS_MCP_LOG_LEVEL": "INFO", "CS_MCP_TOOLS": ""}
    resolve_options(args, DATA_OPTIONS + SERVE_OPTIONS, env)
    assert (args.port, args.read_only, args.toolsets) == (9000, True, ["health", "churn"])
    assert (args.as_of, args.log_level, args.tools) == (dt.date(2026, 9, 30), "info", None)
    bad = argparse.Namespace(**{o.dest: None for o in SERVE_OPTIONS})
    with pytest.raises(UsageError, match="CS_MCP_TRANSPORT 'grpc': send one of stdio, http"):
        resolve_options(bad, SERVE_OPTIONS, {"CS_MCP_TRANSPORT": "grpc"})


def test_every_flag_has_an_environment_variable_and_the_readme_lists_them():
    readme = (HERE.parent / "README.md").read_text()
    for opt in DATA_OPTIONS + SERVE_OPTIONS:
        assert opt.env.startswith("CS_MCP_")
        assert f"`{opt.flag}" in readme and f"`{opt.env}`" in readme, opt.flag


def test_an_unknown_toolset_or_tool_stops_the_start_with_the_valid_names(capsys):
    assert run_cli("--toolsets", "helth") == 2
    assert "unknown toolset 'helth'; toolsets: accounts, health, churn" in capsys.readouterr().err
    assert run_cli("--exclude-tools", "health") == 2
    assert "unknown tool to exclude 'health'" in capsys.readouterr().err


def test_family_names_given_to_tools_still_work_with_a_deprecation_line(capsys):
    args = argparse.Namespace(toolsets=None, tools=["health", "churn-risk-list"], exclude_tools=None)
    assert _tool_selection(args) == {"toolsets": ["health"], "tools": ["churn-risk-list"]}
    assert "--tools health: toolset names belong in --toolsets" in capsys.readouterr().err


def test_the_loader_and_the_start_up_check_agree_on_account_file_names():
    from cs_mcp.workspace.schema import FILE_SUFFIXES

    assert set(ACCOUNT_FILE_SUFFIXES) == {*FILE_SUFFIXES, ".tsv.gz"}


def test_both_console_scripts_run_the_same_entry_point():
    from importlib.metadata import entry_points

    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts["customer-success-mcp"] == scripts["cs-mcp"] == "cs_mcp.cli:main"
