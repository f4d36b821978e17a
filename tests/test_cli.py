"""The command line: check, demo, and the errors a user sees instead of a traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

from cs_mcp.cli import main

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
