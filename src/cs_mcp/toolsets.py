"""Which tools a server offers: toolsets (families), single tools, exclusions and read-only.

A cheap index of the registry (`cs_mcp.tools.ALL_TOOLS`, which costs a third of a second to import),
so that flags are checked at start-up; a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Iterable

TOOLSETS: dict[str, tuple[str, ...]] = {
    "accounts": ("find-accounts",),
    "health": ("health-score",),
    "churn": ("churn-risk-list",),
    "renewal": ("renewal-forecast", "renewal-strategy"),
    "retention": ("retention-metrics",),
    "expansion": ("expansion-opportunities",),
    "nps": ("nps-analysis",),
    "segments": ("customer-segments",),
    "engagement": ("engagement-report",),
    "csm": ("csm-performance",),
    "review": ("account-review-prep",),
    "escalation": ("escalation-analysis",),
    "onboarding": ("onboarding-plan",),
}
WRITING_TOOLS = frozenset({"onboarding-plan"})
CHURN_MODEL_TOOLS = frozenset(
    {"churn-risk-list", "renewal-forecast", "renewal-strategy", "csm-performance", "account-review-prep"}
)
"""Tools whose answers use the churn model: with any of them on, the server fits it after start-up."""
DEFAULT_TOOLSETS = tuple(TOOLSETS)
"""Every toolset is on by default; `default` names this set, `all` every toolset (the same today)."""
KEYWORDS = ("all", "default")
TOOL_NAMES = tuple(name for names in TOOLSETS.values() for name in names)
FAMILY_OF = {name: family for family, names in TOOLSETS.items() for name in names}


class ToolSelectionError(ValueError):
    """A toolset or tool name that does not exist; the message lists the valid ones."""


def expand_toolsets(names: Iterable[str]) -> set[str]:
    """Toolset names (with the keywords) as the set of toolsets they mean."""
    chosen: set[str] = set()
    for name in names:
        if name == "all":
            chosen.update(TOOLSETS)
        elif name == "default":
            chosen.update(DEFAULT_TOOLSETS)
        elif name in TOOLSETS:
            chosen.add(name)
        else:
            raise ToolSelectionError(
                f"unknown toolset {name!r}; toolsets: {', '.join(TOOLSETS)} (or all, default)"
            )
    return chosen


def check_tool_names(names: Iterable[str], what: str = "tool") -> None:
    unknown = [n for n in names if n not in FAMILY_OF and n not in KEYWORDS]
    if unknown:
        raise ToolSelectionError(
            f"unknown {what} {', '.join(repr(n) for n in unknown)}; tools: {', '.join(TOOL_NAMES)}"
        )


def select_tools(
    toolsets: Iterable[str] | None = None,
    tools: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    read_only: bool = False,
) -> list[str]:
    """Tool names to offer, in registry order.

    No toolsets and no tools means the default toolsets; toolsets and tools add up (tools of the toolsets
    plus the single tools named); exclusions and read-only then take tools away.
    """
    toolsets, tools, exclude = list(toolsets or []), list(tools or []), list(exclude)
    check_tool_names(tools)
    check_tool_names(exclude, "tool to exclude")
    families = expand_toolsets(toolsets or ([] if tools else ["default"]))
    if "all" in tools or "default" in tools:
        families |= expand_toolsets(t for t in tools if t in KEYWORDS)
    wanted = {n for f in families for n in TOOLSETS[f]} | {t for t in tools if t in FAMILY_OF}
    wanted -= set(exclude)
    if read_only:
        wanted -= WRITING_TOOLS
    return [n for n in TOOL_NAMES if n in wanted]
