"""Tool calls from the command line: the real server, in memory, through a real MCP client.

`cs-mcp export` and `cs-mcp report` answer exactly what a chat client would get (same validation, same
errors), because they ask the same server the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp.types import CallToolResult

    from cs_mcp.config import Settings


class ToolCallFailed(ValueError):
    """A tool answered with an error; the message is the tool's own (it says what to send instead)."""


async def call_tools(settings: Settings, calls: list[tuple[str, dict[str, Any]]],
                     read: list[str] | None = None) -> tuple[list[CallToolResult], dict[str, Any]]:
    """Each (tool, arguments) call's result, in order; then `read(results)` URIs' contents, by URI."""
    from mcp import Client

    from cs_mcp.server import create_server

    server = create_server(settings, warm_up=False)
    results = []
    async with Client(server) as client:
        for name, arguments in calls:
            result = await client.call_tool(name, arguments)
            if result.is_error:
                text = " ".join(c.text for c in result.content if getattr(c, "text", None))
                raise ToolCallFailed(text or f"{name} failed")
            results.append(result)
        contents = {}
        for uri in read or []:
            contents[uri] = (await client.read_resource(uri)).contents[0]
    return results, contents
