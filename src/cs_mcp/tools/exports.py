"""The `export` argument of the list tools: the whole list as a CSV or XLSX resource, `cs://exports/<id>`.

A tool computes every row when asked to export (`whole_list`), then `answer` stores the file, lists it as
a resource, links it from the result and shows only the first rows in the text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Literal, TypeVar

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ResourceLink
from pydantic import BaseModel, Field

from cs_mcp.tools.registry import app_state, respond

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context, MCPServer

    from cs_mcp.exports import Export as ExportFile
    from cs_mcp.server import AppState

M = TypeVar("M", bound=BaseModel)

Export = Annotated[
    Literal["csv", "xlsx"] | None,
    Field(description="also return the WHOLE list (every row, not only this page) as a file, 'csv' or 'xlsx': "
          "the answer links a resource cs://exports/<id> the client can read and save, and shows the first rows"),
]


def whole_list(ctx: Context, export: str | None, limit: int | None,
               cursor: str | None) -> tuple[int | None, str | None]:
    """The rows to compute: all of them from the first when exporting (up to exports.max_rows), else the page."""
    if not export:
        return limit, cursor
    return app_state(ctx).settings.exports.max_rows, None


async def answer(ctx: Context, tool: str, result: M, render: Callable[[M], str], export: str | None,
                 limit: int | None = None) -> CallToolResult:
    """The tool's answer; with `export`, the whole list as a linked resource and the first rows as the page."""
    state = app_state(ctx)
    max_chars = state.settings.server.max_text_chars
    if not export:
        return respond(result, render(result), max_chars)
    from cs_mcp.exports import ExportRefused, preview

    try:
        item, dropped, total = await anyio.to_thread.run_sync(_store, state, tool, result, export)
    except ExportRefused as exc:
        raise ToolError(str(exc)) from exc
    _publish(ctx.mcp_server, item, dropped)
    await _announce(ctx)
    shown = preview(tool, result, limit or state.settings.exports.preview_rows)
    out = respond(shown, render(shown) + "\n" + export_line(item, total), max_chars)
    out.content.append(ResourceLink(
        type="resource_link", uri=item.uri, name=item.export_id, mime_type=item.mime_type, size=len(item.content),
        description=f"{item.rows} rows x {item.columns} columns of {tool}",
    ))
    return out


def export_line(item: ExportFile, total: int | None) -> str:
    cut = f" (the first {item.rows:,} of {total:,}: exports.max_rows)" if total and total > item.rows else ""
    saved = f"; also saved as {item.path}" if item.path else ""
    return (f"Export: all {item.rows:,} rows{cut}, {item.columns} columns, as {item.fmt.upper()} "
            f"({_size(len(item.content))}) in the resource {item.uri} (linked below: read or save it){saved}.")


def _store(state: AppState, tool: str, result: BaseModel, fmt: str) -> tuple[ExportFile, list[ExportFile], int | None]:
    from cs_mcp.exports import ExportStore, export_rows, row_model, table

    settings = state.settings.exports
    if state.exports is None:
        state.exports = ExportStore(settings.keep, settings.dir)
    rows = export_rows(tool, result)
    item, dropped = state.exports.add(tool, fmt, table(rows, row_model(tool, result)))  # type: ignore[arg-type]
    return item, dropped, _total(result, tool)


def _total(result: BaseModel, tool: str) -> int | None:
    from cs_mcp.exports import LIST_SHAPES, get_path

    page = get_path(result, LIST_SHAPES[tool].page)
    return getattr(page, "total", None)


def _publish(server: MCPServer, item: ExportFile, dropped: list[ExportFile]) -> None:
    from mcp.server.mcpserver.resources import FunctionResource

    content = item.text if item.fmt == "csv" else (lambda: item.content)
    server.add_resource(FunctionResource(
        uri=item.uri, name=f"exports/{item.export_id}", title=f"{item.tool} export ({item.rows} rows)",
        description=f"{item.rows} rows of {item.tool}, {item.created:%Y-%m-%d %H:%M}", mime_type=item.mime_type,
        fn=content,
    ))
    # mcp 2.3 has no way to remove a resource: drop the ones pushed out of the store from its table
    registered = getattr(getattr(server, "_resource_manager", None), "_resources", {})
    for old in dropped:
        registered.pop(old.uri, None)


async def _announce(ctx: Context) -> None:
    """The resource list changed: 2026-07-28 listen streams and this handshake-era connection hear it."""
    from cs_mcp.notify import is_modern

    await ctx.notify_resources_changed()
    if not is_modern(ctx.request_context):
        await ctx.session.send_resource_list_changed()


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 1_000_000 else f"{n / 1_000:.1f} KB" if n >= 1_000 else f"{n} bytes"
