"""Command line: `cs-mcp [serve]`, `demo`, `check`, `load`, `export`, `report` (also installed as
`customer-success-mcp`)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cs_mcp import __version__

LOG_LEVELS = ("debug", "info", "warning", "error")
TRANSPORTS = ("stdio", "http")
TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")
ACCOUNT_FILE_SUFFIXES = (".csv", ".parquet", ".csv.gz", ".tsv", ".tsv.gz")
"""What the loader reads as the accounts table (workspace.schema.FILE_SUFFIXES; not imported: start-up)."""
PROGRAM_NAMES = ("cs-mcp", "customer-success-mcp")
MEMO_WRITE_GRACE_SECONDS = 1.5
"""How long a server that is done serving waits for memo files still being written before it ends."""


class UsageError(ValueError):
    """A flag or environment variable with a value that cannot work; the message names it."""


@dataclass(frozen=True)
class Option:
    """A serve/check option: its flag, environment variable and kind of value."""

    dest: str
    flag: str
    env: str
    kind: str  # path | date | list | bool | int | choice | text
    help: str
    choices: tuple[str, ...] = ()


DATA_OPTIONS = (
    Option("data", "--data", "CS_MCP_DATA", "path", "workspace folder (default: the bundled demo workspace)"),
    Option("config", "--config", "CS_MCP_CONFIG", "path", "YAML settings file (default: <data>/cs-mcp.yaml)"),
    Option("as_of", "--as-of", "CS_MCP_AS_OF", "date", "analyse as of this date (YYYY-MM-DD)"),
    Option("url", "--url", "CS_MCP_URL", "text",
           "read the tables from an engine: duckdb:///path.db, postgresql://user@host/db, spark://local"),
)
SERVE_OPTIONS = (
    Option("toolsets", "--toolsets", "CS_MCP_TOOLSETS", "list",
           "toolsets (tool families) to enable: accounts,health,churn,renewal,... or all, default"),
    Option("tools", "--tools", "CS_MCP_TOOLS", "list",
           "single tools to enable, e.g. health-score,churn-risk-list (added to --toolsets)"),
    Option("exclude_tools", "--exclude-tools", "CS_MCP_EXCLUDE_TOOLS", "list", "tools to leave out"),
    Option("read_only", "--read-only", "CS_MCP_READ_ONLY", "bool", "leave out every tool that writes"),
    Option("transport", "--transport", "CS_MCP_TRANSPORT", "choice", "stdio (default) or http", TRANSPORTS),
    Option("host", "--host", "CS_MCP_HOST", "text", "HTTP bind address (default 127.0.0.1)"),
    Option("port", "--port", "CS_MCP_PORT", "int", "HTTP port (default 8000)"),
    Option("token", "--token", "CS_MCP_TOKEN", "text", "bearer token for HTTP; required off loopback"),
    Option("allowed_host", "--allowed-host", "CS_MCP_ALLOWED_HOSTS", "list",
           "extra Host header to accept (HTTP; repeat the flag, or commas)"),
    Option("allowed_origin", "--allowed-origin", "CS_MCP_ALLOWED_ORIGINS", "list",
           "extra Origin to accept (HTTP; repeat the flag, or commas)"),
    Option("log_level", "--log-level", "CS_MCP_LOG_LEVEL", "choice",
           "stderr log level, and what clients get until they set one (default warning)", LOG_LEVELS),
)


def _add(p: argparse.ArgumentParser, opt: Option) -> None:
    help_text = f"{opt.help} [env {opt.env}]"
    if opt.kind == "bool":
        p.add_argument(opt.flag, dest=opt.dest, action="store_true", default=None, help=help_text)
    elif opt.dest in ("allowed_host", "allowed_origin"):
        p.add_argument(opt.flag, dest=opt.dest, action="append", default=None, help=help_text)
    else:
        p.add_argument(opt.flag, dest=opt.dest, default=None, help=help_text, metavar=opt.dest.upper())


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Customer Success analytics MCP server. Without a command: serve over stdio.",
        epilog="Flags win over environment variables; both win over cs-mcp.yaml.",
    )
    parser.add_argument("-V", "--version", action="version", version=f"{prog} {__version__}")
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="run the MCP server (the default command)")
    for opt in (*DATA_OPTIONS, *SERVE_OPTIONS):
        _add(serve, opt)

    demo = sub.add_parser("demo", help="write a synthetic demo workspace")
    demo.add_argument("--accounts", type=int, default=1000, help="number of accounts (default 1000)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (same seed, same data)")
    demo.add_argument("--out", type=Path, required=True, help="folder to write")
    demo.add_argument("--format", choices=["csv", "parquet"], default="csv")
    demo.add_argument("--as-of", type=dt.date.fromisoformat, help="last day of the data (default 2026-10-31)")
    demo.add_argument("--months", type=int, default=36,
                      help="months of history before the as-of date (default 36; 6 to 72)")

    check = sub.add_parser("check", help="validate a workspace and print what the load found")
    for opt in DATA_OPTIONS:
        _add(check, opt)
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_load_parser(sub)
    _add_export_parser(sub)
    _add_report_parser(sub)
    return parser


def _add_load_parser(sub: Any) -> None:
    load = sub.add_parser("load", help="copy a workspace folder (its valid rows) into a warehouse")
    load.add_argument("--from", dest="source", type=Path, required=True, help="workspace folder to copy")
    load.add_argument("--url", required=True, help="postgresql://..., spark://local?warehouse=DIR or duckdb:///x.db")
    load.add_argument("--schema", help="schema (PostgreSQL) or database (Spark) to write the tables into")
    load.add_argument("--config", type=Path, help="YAML settings file (default: <from>/cs-mcp.yaml)")


def _load(args: argparse.Namespace) -> int:
    """Validate the folder, then replace the warehouse's canonical tables with its valid rows."""
    from cs_mcp.config import load_settings
    from cs_mcp.workspace.backends import redact
    from cs_mcp.workspace.loader import open_workspace
    from cs_mcp.workspace.transfer import load_into

    settings = load_settings(args.source, args.config, {"data": {"url": None}})
    ws = open_workspace(settings)
    try:
        if ws.quality.has_errors:
            sys.stderr.write(f"cs-mcp: {ws.quality.rows_rejected:,} rows rejected (see cs-mcp check); "
                             "copying the valid rows\n")
        counts = load_into(ws, args.url, args.schema, lambda m: sys.stderr.write(m + "\n"))
    finally:
        ws.close()
    where = f"{redact(args.url)}" + (f" (schema {args.schema})" if args.schema else "")
    sys.stdout.write(f"Loaded {sum(counts.values()):,} rows in {len(counts)} tables into {where}\n"
                     f"Serve it with: cs-mcp serve --url '{redact(args.url)}'"
                     + (f" (data.database_schema: {args.schema})" if args.schema else "") + "\n")
    return 0


def _add_export_parser(sub: Any) -> None:
    from cs_mcp.exports import LIST_SHAPES

    export = sub.add_parser("export", help="write a list tool's whole answer to a CSV or XLSX file (for cron)")
    export.add_argument("tool", choices=sorted(LIST_SHAPES), help="the list tool")
    export.add_argument("--args", default="{}", metavar="JSON",
                        help="the tool's arguments as a JSON object, e.g. '{\"segment\": \"enterprise\"}'")
    for opt in DATA_OPTIONS:
        _add(export, opt)
    export.add_argument("--out", type=Path, required=True, help="file to write (.xlsx: XLSX, else CSV)")
    export.add_argument("--format", choices=["csv", "xlsx"], help="default: from the --out suffix")


def _add_report_parser(sub: Any) -> None:
    from cs_mcp.apps.report import REPORTS

    report = sub.add_parser("report", help="write a dashboard as one standalone HTML page, from the live data")
    report.add_argument("name", choices=sorted(REPORTS), help="which report")
    for opt in DATA_OPTIONS:
        _add(report, opt)
    report.add_argument("--out", type=Path, required=True, help="HTML file to write")


def _convert(opt: Option, raw: Any, source: str) -> Any:
    """A flag's or variable's text as the value it means; `source` names it in the error."""
    if opt.kind == "bool":
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
        raise UsageError(f"{source}={raw!r}: send 1 or 0 (true/false, yes/no)")
    if opt.kind == "list":
        items = raw if isinstance(raw, list) else [raw]
        return [part.strip() for item in items for part in str(item).split(",") if part.strip()]
    if opt.kind == "path":
        return Path(raw).expanduser()
    if opt.kind == "date":
        try:
            return dt.date.fromisoformat(str(raw).strip())
        except ValueError:
            raise UsageError(f"{source} {raw!r} is not a date: send YYYY-MM-DD, e.g. 2026-09-30") from None
    if opt.kind == "int":
        try:
            return int(str(raw).strip())
        except ValueError:
            raise UsageError(f"{source} {raw!r} is not a whole number") from None
    if opt.kind == "choice":
        word = str(raw).strip().lower()
        if word not in opt.choices:
            raise UsageError(f"{source} {raw!r}: send one of {', '.join(opt.choices)}")
        return word
    return str(raw)


def resolve_options(args: argparse.Namespace, options: tuple[Option, ...],
                    environ: dict[str, str] | None = None) -> None:
    """Each option from its flag, else its environment variable (flags win), converted in place."""
    environ = dict(os.environ if environ is None else environ)
    for opt in options:
        given = getattr(args, opt.dest, None)
        if given is not None:
            value = _convert(opt, given, opt.flag)
        elif environ.get(opt.env, "").strip():
            value = _convert(opt, environ[opt.env], opt.env)
        else:
            value = None
        setattr(args, opt.dest, value)


def _settings(args: argparse.Namespace, server_overrides: dict[str, Any] | None = None):
    from cs_mcp.config import load_settings

    overrides: dict[str, Any] = {}
    if getattr(args, "as_of", None):
        overrides["data"] = {"as_of": args.as_of.isoformat()}
    if getattr(args, "url", None):
        overrides.setdefault("data", {})["url"] = args.url
    if server_overrides:
        overrides["server"] = server_overrides
    return load_settings(args.data, args.config, overrides)


def _tool_selection(args: argparse.Namespace) -> dict[str, Any]:
    """`--toolsets`, `--tools`, `--exclude-tools` as settings, checked now (a typo must not start a server)."""
    from cs_mcp.toolsets import TOOLSETS, check_tool_names, expand_toolsets

    toolsets, tools = list(args.toolsets or []), list(args.tools or [])
    families = [t for t in tools if t in TOOLSETS]
    if families:  # `--tools` used to take families: still honoured (until 0.3), as toolsets
        sys.stderr.write(
            f"cs-mcp: --tools {','.join(families)}: toolset names belong in --toolsets (--toolsets "
            f"{','.join(families)}); --tools now takes single tools such as health-score. Toolset names in "
            "--tools stop working in 0.3.\n"
        )
        toolsets += families
        tools = [t for t in tools if t not in TOOLSETS]
    try:
        expand_toolsets(toolsets)
        check_tool_names(tools)
        check_tool_names(args.exclude_tools or [], "tool to exclude")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    selection: dict[str, Any] = {}
    if toolsets:
        selection["toolsets"] = toolsets
    if tools:
        selection["tools"] = tools
    if args.exclude_tools:
        selection["exclude_tools"] = args.exclude_tools
    return selection


def _server_overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = _tool_selection(args)
    for key in ("transport", "host", "port", "token", "log_level"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    if args.read_only is not None:
        overrides["read_only"] = args.read_only
    if args.allowed_host:
        overrides["allowed_hosts"] = args.allowed_host
    if args.allowed_origin:
        overrides["allowed_origins"] = args.allowed_origin
    return overrides


def _configure_logging(level_name: str) -> None:
    level = getattr(logging, level_name.upper())
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level)  # the logger may go lower for a client that asks (notifications/message)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("cs_mcp").setLevel(level)


def check_workspace_folder(settings: Any) -> None:
    """Refuse a `--data` folder that cannot work before any client connects (cheap when it can)."""
    import glob

    path = settings.data.path
    if path is None:
        return  # the bundled demo
    root = Path(path).expanduser().resolve()
    mapping = settings.data.tables.get("accounts")
    if root.is_dir():
        if mapping is not None and mapping.sql:
            return
        if mapping is not None and mapping.file:
            if glob.glob(os.path.join(root, mapping.file), recursive=True):
                return
        elif any(p.name.lower() in {"accounts" + s for s in ACCOUNT_FILE_SUFFIXES} for p in root.iterdir()):
            return
    from cs_mcp.workspace.loader import open_workspace

    open_workspace(settings).close()  # raises the WorkspaceError that says what to fix


def connect_hint(args: argparse.Namespace) -> str:
    """The line a person who started the server on a terminal reads: what it waits for, how to connect."""
    exe = sys.argv[0]
    if Path(exe).name in PROGRAM_NAMES:
        command = [str(Path(exe).absolute())]
    else:
        command = [sys.executable, "-m", "cs_mcp"]
    if args.data is not None:
        command += ["--data", str(Path(args.data).expanduser().absolute())]
    cmd = shlex.join(command)
    return (
        f"cs-mcp {__version__} is an MCP server: it is waiting for an MCP client on stdin/stdout, not for "
        f"typing. Connect one with `claude mcp add customer-success -- {cmd}` or try it in the Inspector: "
        f"`npx @modelcontextprotocol/inspector {cmd}`. Ctrl-C stops it.\n"
    )


def _serve(args: argparse.Namespace) -> int:
    resolve_options(args, DATA_OPTIONS + SERVE_OPTIONS)
    overrides = _server_overrides(args)
    if args.log_level is None:
        args.log_level = "warning"
    _configure_logging(args.log_level)
    settings = _settings(args, overrides)
    check_workspace_folder(settings)

    from cs_mcp.server import create_server
    from cs_mcp.stdio import exit_now, run_stdio
    from cs_mcp.workspace.cache import finish_writes

    server = create_server(settings)
    if settings.server.transport == "http":
        from cs_mcp.http import serve_http

        serve_http(server, settings.server)
        finish_writes(timeout=MEMO_WRITE_GRACE_SECONDS)
        exit_now(0)

    def tell_the_person_at_the_terminal() -> None:
        sys.stderr.write(connect_hint(args))
        sys.stderr.flush()

    run_stdio(server, on_ready=tell_the_person_at_the_terminal if sys.stdin.isatty() else lambda: None)
    finish_writes(timeout=MEMO_WRITE_GRACE_SECONDS)  # the client kills a server still running 2 s after it left
    exit_now(0)  # serving has ended: the process ends with it
    return 0


def _demo(args: argparse.Namespace) -> int:
    from cs_mcp.demo.generator import generate_workspace

    kwargs: dict[str, Any] = {"accounts": args.accounts, "seed": args.seed, "fmt": args.format,
                              "months": args.months}
    if args.as_of:
        kwargs["as_of"] = args.as_of
    counts = generate_workspace(args.out, **kwargs)
    rows = ", ".join(f"{t} {n:,}" for t, n in counts.items())
    sys.stdout.write(f"Wrote {args.out}: {rows}\nServe it with: cs-mcp serve --data {args.out}\n")
    return 0


def _content_problems(settings: Any) -> list[str]:
    """Skills, templates and prompts that cannot be rendered with these settings."""
    from cs_mcp import content

    problems = []
    for kind in ("skill", "template", "prompt"):
        for doc in content.load_documents(kind):
            try:
                content.render(doc, settings)
            except content.ContentError as exc:
                problems.append(str(exc))
    return problems


def _check(args: argparse.Namespace) -> int:
    from cs_mcp.workspace.loader import open_workspace

    resolve_options(args, DATA_OPTIONS)
    settings = _settings(args)
    ws = open_workspace(settings)
    report = ws.quality
    sys.stdout.write((report.model_dump_json(indent=2) if args.json else report.render_text()) + "\n")
    ws.close()
    problems = _content_problems(settings)
    for problem in problems:
        sys.stderr.write(f"cs-mcp: configuration breaks a document: {problem}\n")
    return 1 if report.has_errors or problems else 0


def _export(args: argparse.Namespace) -> int:
    import json

    import anyio

    from cs_mcp.local_client import export_file

    resolve_options(args, DATA_OPTIONS)
    _configure_logging("warning")
    try:
        arguments = json.loads(args.args)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--args is not JSON ({exc.msg}): send an object, e.g. '{{\"segment\": \"smb\"}}'") from None
    if not isinstance(arguments, dict):
        raise UsageError("--args must be a JSON object of the tool's arguments, e.g. '{\"limit\": 10}'")
    fmt = args.format or ("xlsx" if args.out.suffix.lower() == ".xlsx" else "csv")
    settings = _settings(args)
    check_workspace_folder(settings)
    data, summary = anyio.run(export_file, settings, args.tool, arguments, fmt)
    partial = args.out.with_name(args.out.name + ".partial")
    partial.write_bytes(data)
    partial.replace(args.out)  # a cron reader never sees half a file
    sys.stdout.write(f"Wrote {args.out}: {summary}, {fmt.upper()}\n")
    return 0


def _report(args: argparse.Namespace) -> int:
    import anyio

    from cs_mcp.apps.report import build_report

    resolve_options(args, DATA_OPTIONS)
    _configure_logging("warning")
    settings = _settings(args)
    check_workspace_folder(settings)
    page, lines = anyio.run(build_report, settings, args.name)
    args.out.write_text(page, encoding="utf-8")
    sys.stdout.write(f"Wrote {args.out} ({args.name}): " + "; ".join(lines) + "\n")
    return 0


def _program_name() -> str:
    name = Path(sys.argv[0]).name
    return name if name in PROGRAM_NAMES else "cs-mcp"


def run(argv: list[str] | None = None) -> int:
    """The exit code of one command line (0 fine, 1 rows rejected by check, 2 a usage or data error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    top_level = ("-h", "--help", "-V", "--version")
    if not argv or argv[0].startswith("-") and argv[0] not in top_level:
        argv = ["serve", *argv]
    args = _parser(_program_name()).parse_args(argv)
    from cs_mcp.config import ConfigError

    try:
        commands = {"serve": _serve, "demo": _demo, "check": _check, "load": _load, "export": _export,
                    "report": _report}
        return commands[args.command or "serve"](args)
    except (ConfigError, UsageError) as exc:
        sys.stderr.write(f"cs-mcp: {exc}\n")
        return 2
    except ValueError as exc:  # WorkspaceError and the HTTP bind refusal carry the fix in their message
        sys.stderr.write(f"cs-mcp: {exc}\n")
        return 2
    except KeyboardInterrupt:  # Ctrl-C before serving began (once serving, it stops the server cleanly)
        return 130


def main(argv: list[str] | None = None) -> None:
    sys.exit(run(argv))
