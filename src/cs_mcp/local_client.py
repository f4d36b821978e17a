"""Tool calls from the command line: the real server, in memory, through a real MCP client.

`cs-mcp export` and `cs-mcp report` answer exactly what a chat client would get (same validation, same
errors), because they ask the same server the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from mcp import Client
    from mcp.types import CallToolResult

    from cs_mcp.config import Settings

T = TypeVar("T")


class ToolCallFailed(ValueError):
    """A tool answered with an error; the message is the tool's own (it says what to send instead)."""


async def with_local_client(settings: Settings, work: Callable[[Client], Awaitable[T]]) -> T:
    """`work(client)` against an in-memory server; a tool error comes out as itself, not in a task group."""
    from mcp import Client

    from cs_mcp.server import create_server

    failure: ToolCallFailed | None = None
    async with Client(create_server(settings, warm_up=False)) as client:
        try:
            value = await work(client)
        except ToolCallFailed as exc:
            failure = exc
    if failure is not None:
        raise failure
    return value


async def call(client: Client, name: str, arguments: dict[str, Any]) -> CallToolResult:
    """The tool's result; a tool error raises ToolCallFailed with the tool's message."""
    result = await client.call_tool(name, arguments)
    if result.is_error:
        text = " ".join(c.text for c in result.content if getattr(c, "text", None))
        raise ToolCallFailed(text.removeprefix(f"Error executing tool {name}: ") or f"{name} failed")
    return result


async def export_file(settings: Settings, tool: str, arguments: dict[str, Any], fmt: str) -> tuple[bytes, str]:
    """The whole list of a tool's answer as file bytes (what its `export` resource holds), and its summary."""
    import base64

    async def work(client: Client) -> tuple[Any, str]:
        result = await call(client, tool, {**arguments, "export": fmt})
        link = next(c for c in result.content if c.type == "resource_link")
        return (await client.read_resource(link.uri)).contents[0], link.description or ""

    content, summary = await with_local_client(settings, work)
    data = content.text.encode("utf-8") if hasattr(content, "text") else base64.b64decode(content.blob)
    return data, summary
