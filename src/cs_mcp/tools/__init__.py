"""The MCP tools: thin registrations over the domain functions, one module per tool family.

The server is built from this one explicit list (ALL_TOOLS); `--tools` picks families from it.
"""

from cs_mcp.tools import (
    account_review,
    accounts,
    churn,
    csm,
    engagement,
    escalation,
    expansion,
    health,
    nps,
    onboarding,
    renewal,
    renewal_strategy,
    retention,
    segments,
)
from cs_mcp.tools.registry import ToolSpec

ALL_TOOLS: list[ToolSpec] = [
    *accounts.TOOLS,
    *health.TOOLS,
    *churn.TOOLS,
    *renewal.TOOLS,
    *retention.TOOLS,
    *expansion.TOOLS,
    *nps.TOOLS,
    *segments.TOOLS,
    *engagement.TOOLS,
    *csm.TOOLS,
    *account_review.TOOLS,
    *escalation.TOOLS,
    *renewal_strategy.TOOLS,
    *onboarding.TOOLS,
]
