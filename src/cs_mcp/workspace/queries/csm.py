"""The CSM roster and each account's touches as of a date (csm-performance)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace
    from cs_mcp.workspace.sql import Columns

ROSTER_SQL = "SELECT csm_id, name, team, capacity FROM csms"
ASSIGNED_CSMS_SQL = "SELECT DISTINCT csm_id FROM accounts WHERE csm_id IS NOT NULL AND trim(csm_id) <> ''"

TOUCHES_SQL = """
SELECT account_id,
  CAST(CAST($as_of AS DATE) - MAX(date) AS DOUBLE) AS days,
  CAST(COUNT(*) FILTER (WHERE date > CAST($recent_from AS DATE)) AS DOUBLE) AS recent,
  CAST(COUNT(*) FILTER (WHERE date > CAST($window_from AS DATE)) AS DOUBLE) AS in_window
FROM touchpoints WHERE date <= CAST($as_of AS DATE) GROUP BY account_id
"""


def csm_roster(ws: Workspace) -> list[tuple[Any, ...]]:
    """(csm_id, name, team, capacity) of the csms table, by csm_id (code point order on every engine)."""
    return sorted(ws.rows(ROSTER_SQL), key=lambda r: str(r[0]))


def assigned_csm_ids(ws: Workspace) -> list[str]:
    """The non-blank csm_ids on accounts, sorted."""
    return sorted(str(r[0]) for r in ws.rows(ASSIGNED_CSMS_SQL))


def account_touches(ws: Workspace, as_of: dt.date, recent_days: int, window_days: int) -> Columns:
    """Per touched account: days since its last touch to `as_of`, touches in the last `recent_days` and
    `window_days` days."""
    return ws.columns(TOUCHES_SQL, as_of=as_of, recent_from=as_of - dt.timedelta(days=int(recent_days)),
                      window_from=as_of - dt.timedelta(days=int(window_days)))
