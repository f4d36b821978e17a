"""Account dates the segment schemes need beside the feature frame: churn and renewal dates, undated churn."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace
    from cs_mcp.workspace.sql import Columns

ACCOUNT_DATES_SQL = """
SELECT account_id, churned_on, renewal_date,
  CASE WHEN COALESCE(status, '') = 'churned' AND churned_on IS NULL THEN 1 ELSE 0 END AS undated
FROM accounts
"""


def account_dates(ws: Workspace) -> Columns:
    """Per account: churned_on and renewal_date (dates, NaT when empty) and undated (1: status churned without
    a churned_on date)."""
    return ws.columns(ACCOUNT_DATES_SQL)
