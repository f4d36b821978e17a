"""What every tool shares: its declaration, the call into the domain, and the response shape."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from cs_mcp.config import ToolFamily
from cs_mcp.domain.errors import CSError
from cs_mcp.domain.formatting import money  # noqa: F401  (re-exported for the tool modules)

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context

    from cs_mcp.server import AppState
    from cs_mcp.workspace.loader import Workspace

T = TypeVar("T")

# Parameters several tools share, described once.
Cursor = Annotated[str | None, Field(description="next_cursor of the previous page")]
Period = Annotated[
    str | None,
    Field(
        description="'last-12-months' (default), 'last-N-months', 'last-quarter', 'last-year', 'ytd', 'qtd', "
        "a quarter '2026-Q3', a year '2025' or a month '2026-05'"
    ),
]
PeriodStart = Annotated[dt.date | None, Field(description="first day of the period (instead of period)")]
PeriodEnd = Annotated[dt.date | None, Field(description="last day of the period (default: the data's as-of date)")]
Segment = Annotated[str | None, Field(description="only accounts of this segment, e.g. enterprise")]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    family: ToolFamily
    fn: Callable[..., Any]
    title: str
    description: str
    read_only: bool = True


def app_state(ctx: Context) -> AppState:
    return ctx.request_context.lifespan_context


async def workspace(ctx: Context) -> Workspace:
    return await app_state(ctx).workspace(ctx)


async def run_domain(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a (blocking) domain function off the event loop; domain errors become tool errors."""
    try:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
    except CSError as exc:
        raise ToolError(str(exc)) from exc


def respond(model: BaseModel, text: str, max_chars: int = 20_000) -> CallToolResult:
    """Structured content for programs, a compact text for the model."""
    if len(text) > max_chars:
        text = text[: max_chars - 80].rstrip() + "\n... (text cut at the size limit; the structured content is whole)"
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=model.model_dump(mode="json"),
    )


def caveat_lines(not_computed: list[str], note: str | None) -> list[str]:
    """The closing lines of a text answer: what could not be computed, and any note."""
    lines = ["Not computed: " + "; ".join(not_computed)] if not_computed else []
    return lines + (["Note: " + note] if note else [])
