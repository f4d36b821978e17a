"""The portfolio view (MCP Apps): a `ui://` page that draws the churn, renewal and retention results.

The page, its style and its script ship in this package as three files joined into one self-contained
HTML document: hosts render it in a sandboxed iframe with no network, and `cs-mcp report` writes the same
page with the results embedded.
"""

from __future__ import annotations

import functools
import json
from importlib import resources as package_files
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp.server.apps import Apps

VIEW_URI = "ui://customer-success-mcp/portfolio.html"
VIEW_TOOLS = frozenset({"churn-risk-list", "renewal-forecast", "retention-metrics"})
"""Tools whose results the portfolio view draws (their `_meta.ui.resourceUri` points at it)."""
DATA_SLOT = "<!--cs-data-->"


@functools.cache
def portfolio_html() -> str:
    """The view as one HTML document: style and script inlined (no external fetch is allowed or needed)."""
    folder = package_files.files("cs_mcp") / "apps"
    page = (folder / "portfolio.html").read_text(encoding="utf-8")
    page = page.replace("/*cs-style*/", (folder / "portfolio.css").read_text(encoding="utf-8"))
    return page.replace("/*cs-script*/", (folder / "portfolio.js").read_text(encoding="utf-8"))


def embedded_json(value: Any) -> str:
    """JSON safe inside a <script> element: no '<' (so no '</script>' or '<!--') and no '&' left as is."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def standalone_html(results: list[dict[str, Any]], title: str, subtitle: str = "") -> str:
    """The view with results embedded, for a browser with no MCP host (each result: tool, structuredContent)."""
    data = {"title": title, "subtitle": subtitle, "results": results}
    slot = f'<script type="application/json" id="cs-data">{embedded_json(data)}</script>'
    page = portfolio_html().replace("<title>Customer Success portfolio</title>", f"<title>{_escape(title)}</title>")
    return page.replace(DATA_SLOT, slot, 1)


def tool_meta(tool_name: str) -> dict[str, Any] | None:
    """The `_meta` linking a tool to the view; None for tools the view does not draw."""
    return {"ui": {"resourceUri": VIEW_URI}} if tool_name in VIEW_TOOLS else None


def apps_extension(tool_names: list[str]) -> list[Apps]:
    """The MCP Apps extension with the view, when a tool it draws is enabled (else none, and no capability)."""
    if not VIEW_TOOLS & set(tool_names):
        return []
    from mcp.server.apps import APP_MIME_TYPE, Apps
    from mcp.server.mcpserver.resources import FunctionResource

    apps = Apps()
    apps.add_resource(FunctionResource(
        uri=VIEW_URI, name="portfolio-view", title="Portfolio dashboard", mime_type=APP_MIME_TYPE,
        description="Charts of a churn-risk-list, renewal-forecast or retention-metrics result: health bands, "
        "risk tiers and drivers, the renewal waterfall and scenarios, GRR/NRR against targets",
        meta={"ui": {"prefersBorder": True}}, fn=portfolio_html,
    ))
    return [apps]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
