"""What every tool shares: its declaration, the call into the domain, and the response shape."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from cs_mcp.config import ToolFamily
from cs_mcp.domain.errors import CSError

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context

    from cs_mcp.server import AppState
    from cs_mcp.workspace.loader import Workspace

T = TypeVar("T")


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


def money(v: float | None) -> str:
    if v is None:
        return "n/a"
    if abs(v) >= 1_000_000:
        return f"${v / 1_000_000:.2f}M"
    if abs(v) >= 10_000:
        return f"${v / 1_000:.0f}K"
    return f"${v:,.0f}"
