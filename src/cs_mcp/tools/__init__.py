"""The MCP tools: thin registrations over the domain functions, one module per tool family."""

from cs_mcp.tools import accounts, health
from cs_mcp.tools.registry import ToolSpec

ALL_TOOLS: list[ToolSpec] = [*accounts.TOOLS, *health.TOOLS]
