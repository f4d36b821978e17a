"""Account look-ups: the closest names to a reference that matches no account."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cs_mcp.workspace.sql import EngineLacksFunction, jaro_winkler

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace

_CLOSEST_SQL = """
SELECT account_id, name FROM accounts
ORDER BY GREATEST(jaro_winkler_similarity(lower(name), lower($r)),
                  jaro_winkler_similarity(lower(account_id), lower($r))) DESC, account_id
LIMIT $n
"""


def closest_accounts(ws: Workspace, reference: str, limit: int = 25) -> list[tuple[str, str]]:
    """(account_id, name) of the accounts whose name or id is most like `reference` (Jaro-Winkler)."""
    try:
        return [(a, n) for a, n in ws.rows(_CLOSEST_SQL, r=reference, n=limit)]
    except EngineLacksFunction:
        # only DuckDB has jaro_winkler_similarity: fetch (id, name) once per account and rank here
        ref = reference.lower()
        rows = ws.rows("SELECT account_id, name FROM accounts")
        scored = sorted(
            rows,
            key=lambda r: (-max(jaro_winkler(str(r[1] or "").lower(), ref), jaro_winkler(str(r[0]).lower(), ref)),
                           r[0]),
        )
        return [(a, n) for a, n in scored[:limit]]
