"""Resolving and searching accounts: 'Acme' to an account id, with close matches on a miss."""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from cs_mcp.domain.errors import AccountNotFound, InvalidArgument
from cs_mcp.domain.paging import Page, decode_cursor, encode_cursor

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace


class AccountRef(BaseModel):
    account_id: str
    name: str


class AccountSummary(BaseModel):
    account_id: str
    name: str
    segment: str | None = None
    csm_id: str | None = None
    plan: str | None = None
    arr: float | None = None
    status: str | None = None
    renewal_date: str | None = Field(None, description="ISO date of the next renewal")


class AccountSearch(Page):
    query: str | None
    accounts: list[AccountSummary]


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def resolve_account(ws: Workspace, reference: str) -> AccountRef:
    """An account by id, exact name, or an unambiguous name fragment; else AccountNotFound."""
    ref = reference.strip()
    if not ref:
        raise InvalidArgument("account is empty: send an account_id or name (find-accounts searches).")
    cur = ws.cursor()
    row = cur.execute("SELECT account_id, name FROM accounts WHERE account_id = $r", {"r": ref}).fetchone()
    if row is None:
        rows = cur.execute(
            "SELECT account_id, name FROM accounts WHERE lower(account_id) = lower($r) OR lower(name) = lower($r)",
            {"r": ref},
        ).fetchall()
        if len(rows) == 1:
            row = rows[0]
        elif not rows:
            rows = cur.execute(
                "SELECT account_id, name FROM accounts WHERE contains(lower(name), lower($r)) LIMIT 6",
                {"r": ref},
            ).fetchall()
            if len(rows) == 1:
                row = rows[0]
        if row is None:
            raise AccountNotFound(ref, closest_accounts(ws, ref) if not rows else [(a, n) for a, n in rows[:5]])
    return AccountRef(account_id=row[0], name=row[1])


def require_known_value(ws: Workspace, column: str, value: str) -> None:
    """InvalidArgument naming the values present when `value` is not one of accounts.<column>."""
    rows = ws.cursor().execute(
        f"SELECT DISTINCT {column} FROM accounts WHERE {column} IS NOT NULL ORDER BY 1"
    ).fetchall()
    known = [str(r[0]) for r in rows]
    if value.lower() not in {k.lower() for k in known}:
        shown = ", ".join(known[:30]) + (f" ... ({len(known)} in all)" if len(known) > 30 else "")
        raise InvalidArgument(f"Unknown {column} '{value}'. Values in the data: {shown}.")


def closest_accounts(ws: Workspace, reference: str, limit: int = 5) -> list[tuple[str, str]]:
    """The accounts whose name or id reads most like `reference`."""
    cur = ws.cursor()
    rows = cur.execute(
        """SELECT account_id, name FROM accounts
           ORDER BY GREATEST(jaro_winkler_similarity(lower(name), lower($r)),
                             jaro_winkler_similarity(lower(account_id), lower($r))) DESC
           LIMIT 25""",
        {"r": reference},
    ).fetchall()
    key = _norm(reference)
    scored = sorted(
        rows,
        key=lambda r: -max(
            difflib.SequenceMatcher(None, key, _norm(r[1])).ratio(),
            difflib.SequenceMatcher(None, key, _norm(r[0])).ratio(),
        ),
    )
    return [(a, n) for a, n in scored[:limit]]


def find_accounts(
    ws: Workspace,
    query: str | None = None,
    segment: str | None = None,
    csm_id: str | None = None,
    status: str | None = None,
    min_arr: float | None = None,
    renewal_within_days: int | None = None,
    limit: int = 25,
    cursor: str | None = None,
) -> AccountSearch:
    """Accounts whose name or id contains `query`, filtered; best matches first, then by ARR."""
    where = ["TRUE"]
    params: dict[str, object] = {}
    if query:
        where.append("(contains(lower(name), lower($q)) OR contains(lower(account_id), lower($q)))")
        params["q"] = query.strip()
    if segment:
        where.append("lower(segment) = lower($segment)")
        params["segment"] = segment
    if csm_id:
        where.append("lower(csm_id) = lower($csm)")
        params["csm"] = csm_id
    if status:
        where.append("lower(status) = lower($status)")
        params["status"] = status
    if min_arr is not None:
        where.append("arr >= $min_arr")
        params["min_arr"] = min_arr
    if renewal_within_days is not None:
        where.append("renewal_date >= $as_of AND renewal_date <= $as_of + $days")
        params["as_of"] = ws.as_of
        params["days"] = renewal_within_days
    offset = decode_cursor(cursor)
    order = "arr DESC NULLS LAST, name"
    if query:
        order = "(lower(name) = lower($q)) DESC, starts_with(lower(name), lower($q)) DESC, " + order
    sql_where = " AND ".join(where)
    cur = ws.cursor()
    total = cur.execute(f"SELECT COUNT(*) FROM accounts WHERE {sql_where}", params).fetchone()[0]
    rows = cur.execute(
        f"""SELECT account_id, name, segment, csm_id, plan, arr, status, CAST(renewal_date AS VARCHAR)
            FROM accounts WHERE {sql_where} ORDER BY {order} LIMIT {int(limit)} OFFSET {int(offset)}""",
        params,
    ).fetchall()
    if total == 0:
        if segment:
            require_known_value(ws, "segment", segment)
        if csm_id:
            require_known_value(ws, "csm_id", csm_id)
    accounts = [
        AccountSummary(
            account_id=r[0], name=r[1], segment=r[2], csm_id=r[3], plan=r[4], arr=r[5], status=r[6],
            renewal_date=r[7],
        )
        for r in rows
    ]
    nxt = offset + len(accounts)
    return AccountSearch(
        query=query,
        accounts=accounts,
        total=total,
        returned=len(accounts),
        next_cursor=encode_cursor(nxt) if nxt < total else None,
    )
