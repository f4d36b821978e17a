"""One account's own words: its detractors' recent NPS comments."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace


DETRACTOR_COMMENTS_SQL = """
SELECT responded_at, score, comment FROM nps
WHERE account_id = $a AND responded_at > $since AND responded_at <= $as_of AND score <= $dmax
  AND comment IS NOT NULL AND trim(comment) <> ''
ORDER BY responded_at DESC, score LIMIT $n
"""


def detractor_comments(ws: Workspace, account_id: str, since: dt.date, detractor_max: int,
                       limit: int) -> list[tuple[dt.date, int, str]]:
    """(responded_at, score, comment) of detractor answers with a comment since a date, newest first."""
    if "nps" not in ws.tables:
        return []
    rows = ws.rows(DETRACTOR_COMMENTS_SQL, a=account_id, since=since, as_of=ws.as_of, dmax=detractor_max, n=limit)
    return [(r[0].date() if isinstance(r[0], dt.datetime) else r[0], int(r[1]), str(r[2])) for r in rows]
