"""Command line: `cs-mcp [serve]`, `cs-mcp demo`, `cs-mcp check`, `cs-mcp load`."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from pathlib import Path
from typing import Any

FAMILIES_HELP = "comma-separated tool families to enable (accounts,health,churn,renewal,retention,...)"


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, help="workspace folder (default: the bundled demo workspace)")
    p.add_argument("--config", type=Path, help="YAML settings file (default: <data>/cs-mcp.yaml)")
    p.add_argument("--as-of", type=dt.date.fromisoformat, help="analyse as of this date (YYYY-MM-DD)")
    p.add_argument("--url", help="read the tables from an engine: duckdb:///path.db, postgresql://..., spark://local")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cs-mcp", description="Customer Success analytics MCP server")
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="run the MCP server (the default command)")
    _add_data_args(serve)
    serve.add_argument("--transport", choices=["stdio", "http"], help="stdio (default) or streamable HTTP")
    serve.add_argument("--host", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="HTTP port (default 8000)")
    serve.add_argument("--token", help="bearer token for HTTP (or env CS_MCP_TOKEN); required off loopback")
    serve.add_argument("--allowed-host", action="append", default=[], help="extra Host header to accept (HTTP)")
    serve.add_argument("--allowed-origin", action="append", default=[], help="extra Origin to accept (HTTP)")
    serve.add_argument("--tools", help=FAMILIES_HELP)
    serve.add_argument("--read-only", action="store_true", help="leave out every tool that writes")
    serve.add_argument("--log-level", default="WARNING", help="stderr log level (default WARNING)")

    demo = sub.add_parser("demo", help="write a synthetic demo workspace")
    demo.add_argument("--accounts", type=int, default=1000, help="number of accounts (default 1000)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (same seed, same data)")
    demo.add_argument("--out", type=Path, required=True, help="folder to write")
    demo.add_argument("--format", choices=["csv", "parquet"], default="csv")
    demo.add_argument("--as-of", type=dt.date.fromisoformat, help="last day of the data (default 2026-10-31)")

    check = sub.add_parser("check", help="validate a workspace and print what the load found")
    _add_data_args(check)
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_load_parser(sub)
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
    from cs_mcp.workspace.backends import redact

    where = f"{redact(args.url)}" + (f" (schema {args.schema})" if args.schema else "")
    sys.stdout.write(f"Loaded {sum(counts.values()):,} rows in {len(counts)} tables into {where}\n"
                     f"Serve it with: cs-mcp serve --url '{redact(args.url)}'"
                     + (f" (data.database_schema: {args.schema})" if args.schema else "") + "\n")
    return 0


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


def _serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=getattr(logging, str(args.log_level).upper(), logging.WARNING), stream=sys.stderr)
    server_overrides: dict[str, Any] = {}
    for key in ("transport", "host", "port", "token"):
        if getattr(args, key, None) is not None:
            server_overrides[key] = getattr(args, key)
    if args.tools:
        server_overrides["tools"] = [t.strip() for t in args.tools.split(",") if t.strip()]
    if args.read_only:
        server_overrides["read_only"] = True
    if args.allowed_host:
        server_overrides["allowed_hosts"] = args.allowed_host
    if args.allowed_origin:
        server_overrides["allowed_origins"] = args.allowed_origin
    settings = _settings(args, server_overrides)

    from cs_mcp.server import create_server

    server = create_server(settings)
    if settings.server.transport == "http":
        from cs_mcp.http import serve_http

        serve_http(server, settings.server)
    else:
        server.run()
    return 0


def _demo(args: argparse.Namespace) -> int:
    from cs_mcp.demo.generator import generate_workspace

    kwargs: dict[str, Any] = {"accounts": args.accounts, "seed": args.seed, "fmt": args.format}
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

    settings = _settings(args)
    ws = open_workspace(settings)
    report = ws.quality
    sys.stdout.write((report.model_dump_json(indent=2) if args.json else report.render_text()) + "\n")
    ws.close()
    problems = _content_problems(settings)
    for problem in problems:
        sys.stderr.write(f"cs-mcp: configuration breaks a document: {problem}\n")
    return 1 if report.has_errors or problems else 0


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["serve", *argv]
    args = _parser().parse_args(argv)
    from cs_mcp.config import ConfigError

    try:
        code = {"serve": _serve, "demo": _demo, "check": _check, "load": _load}[args.command or "serve"](args)
    except ConfigError as exc:
        sys.stderr.write(f"cs-mcp: {exc}\n")
        code = 2
    except ValueError as exc:  # WorkspaceError and the HTTP bind refusal carry the fix in their message
        sys.stderr.write(f"cs-mcp: {exc}\n")
        code = 2
    sys.exit(code)
