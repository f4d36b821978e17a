"""What every tool shares: its declaration, the call into the domain, and the response shape."""

from __future__ import annotations

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
from cs_mcp.domain.periods import Day

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context

    from cs_mcp.server import AppState
    from cs_mcp.workspace.loader import Workspace

T = TypeVar("T")

# Parameters several tools share, described once. Every string has a length bound, every number a
# range and every date the range the server computes with, so no argument can push the computation
# outside what it handles.
NAME_CHARS = 200
"""Longest account reference, CSM id or label an argument takes."""

AccountArg = Annotated[
    str, Field(min_length=1, max_length=NAME_CHARS, description="account id or name (a unique name fragment works)")
]
Cursor = Annotated[str | None, Field(max_length=NAME_CHARS, description="next_cursor of the previous page")]
Period = Annotated[
    str | None,
    Field(
        max_length=40,
        description="'last-12-months' (default), 'last-N-months', 'last-N-days', 'last-quarter', 'this-quarter', "
        "'last-year', 'ytd', a quarter '2026-Q3' (a bare 'Q3' is the latest Q3 that began before the as-of "
        "date), a year '2025' or a month '2026-05'",
    ),
]
RenewalQuarter = Annotated[
    str | None,
    Field(
        max_length=40,
        description="renewals in a calendar quarter: '2026-Q4', or a bare 'Q4' (the current Q4 while in it, else "
        "the next one), 'this-quarter', 'next-quarter'",
    ),
]
PeriodStart = Annotated[Day | None, Field(description="first day of the period, YYYY-MM-DD (instead of period)")]
PeriodEnd = Annotated[
    Day | None, Field(description="last day of the period, YYYY-MM-DD (default: the data's as-of date)")
]
Segment = Annotated[
    str | None, Field(max_length=NAME_CHARS, description="only accounts of this segment, e.g. enterprise")
]
CsmId = Annotated[str | None, Field(max_length=NAME_CHARS, description="only accounts of this CSM")]
GroupBy = Annotated[
    str | None,
    Field(
        max_length=NAME_CHARS,
        description="also break down by an accounts column: segment, plan, csm, region, industry or a custom "
        "attribute",
    ),
]


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
