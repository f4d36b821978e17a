"""customer-success-mcp: Customer Success analytics as an MCP server."""

__version__ = "0.1.0"
