"""Account look-ups: by id or name, by name fragment, by similarity, and the filtered search."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace

SEARCHABLE_VALUES = ("segment", "csm_id", "status", "plan")
"""accounts columns whose distinct values may be listed back to the caller."""


class AccountMatch(NamedTuple):
    account_id: str
    name: str
    segment: str | None
    arr: float | None


class SearchRow(NamedTuple):
    account_id: str
    name: str
    segment: str | None
    csm_id: str | None
    plan: str | None
    arr: float | None
    status: str | None
    renewal_date: str | None


_MATCH_COLUMNS = "account_id, name, segment, arr"


def account_by_id(ws: Workspace, account_id: str) -> AccountMatch | None:
    row = ws.cursor().execute(
        f"SELECT {_MATCH_COLUMNS} FROM accounts WHERE account_id = $r", {"r": account_id}
    ).fetchone()
    return None if row is None else AccountMatch(*row)


def accounts_named(ws: Workspace, reference: str) -> list[AccountMatch]:
    """Accounts whose id or name equals `reference`, ignoring case; largest ARR first."""
    rows = ws.cursor().execute(
        f"""SELECT {_MATCH_COLUMNS} FROM accounts
            WHERE lower(account_id) = lower($r) OR lower(name) = lower($r)
            ORDER BY arr DESC NULLS LAST, name""",
        {"r": reference},
    ).fetchall()
    return [AccountMatch(*r) for r in rows]


def accounts_containing(ws: Workspace, fragment: str, limit: int) -> tuple[int, list[AccountMatch]]:
    """(how many names contain `fragment`, the first `limit` of them by ARR), ignoring case."""
    cur = ws.cursor()
    where = "contains(lower(name), lower($r))"
    total = cur.execute(f"SELECT COUNT(*) FROM accounts WHERE {where}", {"r": fragment}).fetchone()[0]
    rows = cur.execute(
        f"SELECT {_MATCH_COLUMNS} FROM accounts WHERE {where} ORDER BY arr DESC NULLS LAST, name LIMIT $n",
        {"r": fragment, "n": limit},
    ).fetchall()
    return int(total), [AccountMatch(*r) for r in rows]


_CLOSEST_SQL = f"""
SELECT {_MATCH_COLUMNS} FROM accounts
ORDER BY GREATEST(jaro_winkler_similarity(lower(name), lower($r)),
                  jaro_winkler_similarity(lower(account_id), lower($r))) DESC, account_id
LIMIT $n
"""


def accounts_like(ws: Workspace, reference: str, limit: int) -> list[AccountMatch]:
    """The `limit` accounts whose name or id reads most like `reference` (Jaro-Winkler), on any engine."""
    from cs_mcp.workspace.sql import EngineLacksFunction, jaro_winkler

    try:
        rows = ws.rows(_CLOSEST_SQL, r=reference, n=limit)
    except EngineLacksFunction:  # only DuckDB has it: rank here with DuckDB's own formula
        ref = reference.lower()
        every = ws.rows(f"SELECT {_MATCH_COLUMNS} FROM accounts")
        rows = sorted(every, key=lambda r: (
            -max(jaro_winkler(str(r[1] or "").lower(), ref), jaro_winkler(str(r[0]).lower(), ref)), str(r[0])))
        rows = rows[:limit]
    return [AccountMatch(*r) for r in rows]


def closest_accounts(ws: Workspace, reference: str, limit: int = 25) -> list[tuple[str, str]]:
    """(account_id, name) of the accounts most like `reference`."""
    return [(m.account_id, m.name) for m in accounts_like(ws, reference, limit)]


def distinct_values(ws: Workspace, column: str) -> list[str]:
    """The values of accounts.<column> present in the data, sorted."""
    if column not in SEARCHABLE_VALUES:
        raise ValueError(f"not a listable accounts column: {column}")
    rows = ws.cursor().execute(
        f"SELECT DISTINCT CAST({column} AS VARCHAR) FROM accounts WHERE {column} IS NOT NULL ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def search_accounts(
    ws: Workspace,
    *,
    query: str | None,
    segment: str | None,
    csm_id: str | None,
    status: str | None,
    min_arr: float | None,
    renewal_within: tuple[dt.date, int] | None,
    limit: int,
    offset: int,
) -> tuple[int, list[SearchRow]]:
    """(accounts matching every filter given, one page of them): best name matches first, then by ARR."""
    where = ["TRUE"]
    params: dict[str, object] = {}
    if query:
        where.append("(contains(lower(name), lower($q)) OR contains(lower(account_id), lower($q)))")
        params["q"] = query
    for column, value in (("segment", segment), ("csm_id", csm_id), ("status", status)):
        if value:
            where.append(f"lower({column}) = lower(${column})")
            params[column] = value
    if min_arr is not None:
        where.append("arr >= $min_arr")
        params["min_arr"] = min_arr
    if renewal_within is not None:
        where.append("renewal_date >= $as_of AND renewal_date <= $as_of + $days")
        params["as_of"], params["days"] = renewal_within
    order = "arr DESC NULLS LAST, name"
    if query:
        order = "(lower(name) = lower($q)) DESC, starts_with(lower(name), lower($q)) DESC, " + order
    sql_where = " AND ".join(where)
    cur = ws.cursor()
    total = cur.execute(f"SELECT COUNT(*) FROM accounts WHERE {sql_where}", params).fetchone()[0]
    rows = cur.execute(
        f"""SELECT account_id, name, segment, csm_id, plan, arr, status, CAST(renewal_date AS VARCHAR)
            FROM accounts WHERE {sql_where} ORDER BY {order} LIMIT $limit OFFSET $offset""",
        params | {"limit": limit, "offset": offset},
    ).fetchall()
    return int(total), [SearchRow(*r) for r in rows]
