"""`cs-mcp report NAME`: the portfolio view as one standalone HTML page, from the live data."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cs_mcp.config import Settings

REPORTS: dict[str, tuple[str, list[tuple[str, dict[str, Any]]]]] = {
    # the tool calls of the weekly-at-risk-review playbook, with longer pages than a chat answer
    "weekly-at-risk": ("Weekly at-risk review", [
        ("churn-risk-list", {"limit": 25}),
        ("renewal-forecast", {"sort": "risk", "limit": 25}),
        ("retention-metrics", {}),
    ]),
}


async def build_report(settings: Settings, name: str) -> tuple[str, list[str]]:
    """The page, and one line per tool saying what it holds."""
    from cs_mcp.apps import standalone_html
    from cs_mcp.local_client import call, with_local_client

    title, calls = REPORTS[name]

    async def work(client: Any) -> list[Any]:
        return [await call(client, tool, arguments) for tool, arguments in calls]

    answers = await with_local_client(settings, work)
    results, lines, as_of = [], [], None
    for (tool, arguments), answer in zip(calls, answers, strict=True):
        content = answer.structured_content or {}
        as_of = as_of or content.get("as_of")
        results.append({"tool": tool, "arguments": arguments, "structuredContent": content,
                        "text": "\n".join(c.text for c in answer.content if getattr(c, "text", None))})
        shown = f"{content['returned']} of {content['total']} rows" if "total" in content else "totals"
        lines.append(f"{tool}: {shown}")
    where = settings.data.path or "the bundled demo workspace"
    subtitle = f"{where} · data as of {as_of} · written {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}"
    return standalone_html(results, title, subtitle), lines
