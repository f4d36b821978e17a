"""Resolving and searching accounts: 'Acme' to an account id, with close matches on a miss."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from cs_mcp.domain.errors import AccountNotFound, AmbiguousAccount, InvalidArgument
from cs_mcp.domain.paging import Page, decode_cursor, encode_cursor

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace
    from cs_mcp.workspace.queries.customers import Standing


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
    notice_on: str | None = Field(
        None, description="notice given: ISO churn date of an account marked churned with that date still ahead "
        "(a customer until then, counted as active by every portfolio tool)"
    )


class AccountSearch(Page):
    query: str | None
    accounts: list[AccountSummary]


MAX_MATCHES_SHOWN = 10


def standing_words(st: Standing, as_of: dt.date, data_end: dt.date | None = None) -> str:
    """An account's standing on the as-of date in words, as the one-account tools' refusals and the account
    profile say it; `data_end` (coverage.data_end) tells notice given from a churn after a look back's date."""
    day = as_of.isoformat()
    if not st.customer:
        if st.started_on and st.started_on > day:
            return f"became a customer on {st.started_on}, after the as-of date {day}"
        return "churned" + (f" on {st.churned_on}" if st.churned_on else "")
    if st.churned_on and st.churned_on > day:
        if data_end is None or as_of >= data_end:
            return f"a customer as of {day}; notice given: leaving on {st.churned_on}"
        return (f"a customer as of {day}; it churned on {st.churned_on}, after that date (the record shows the "
                f"data as of {data_end})")
    return f"a customer as of {day}"


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def resolve_account(ws: Workspace, reference: str) -> AccountRef:
    """An account by id, exact name, or a name fragment only one account has.

    Several accounts with that name or fragment: AmbiguousAccount listing them; none: AccountNotFound
    with the closest names.
    """
    from cs_mcp.workspace.queries.accounts import account_by_id, accounts_containing, accounts_named

    ref = reference.strip()
    if not ref:
        raise InvalidArgument("account: empty; send an account_id or a name (find-accounts searches by fragment).")
    exact = account_by_id(ws, ref)
    if exact is not None:
        return AccountRef(account_id=exact.account_id, name=exact.name)
    named = accounts_named(ws, ref)
    if len(named) > 1:
        raise AmbiguousAccount(ref, named[:MAX_MATCHES_SHOWN], len(named))
    if not named:
        total, named = accounts_containing(ws, ref, MAX_MATCHES_SHOWN)
        if total > 1:
            raise AmbiguousAccount(ref, named, total)
    if not named:
        raise AccountNotFound(ref, closest_accounts(ws, ref))
    return AccountRef(account_id=named[0].account_id, name=named[0].name)


def require_known_value(ws: Workspace, column: str, value: str) -> None:
    """InvalidArgument naming the values present when `value` is not one of accounts.<column>."""
    from cs_mcp.workspace.queries.accounts import distinct_values

    known = distinct_values(ws, column)
    if value.strip().lower() not in {k.lower() for k in known}:
        if len(known) > 30:
            close = difflib.get_close_matches(value, known, n=10, cutoff=0.0)
            shown = f"the closest of the {len(known):,} in the data: {', '.join(close)}"
        else:
            shown = "one of the values in the data: " + (", ".join(known) or "(none: the column is empty)")
        raise InvalidArgument(f"Unknown {column} '{_clip(value)}': send {shown}.")


def _clip(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def closest_accounts(ws: Workspace, reference: str, limit: int = 5) -> list[tuple[str, str]]:
    """(account_id, name) of the accounts whose name or id reads most like `reference`."""
    from cs_mcp.workspace.queries.accounts import accounts_like

    key = _norm(reference)
    scored = sorted(
        accounts_like(ws, reference, 25),
        key=lambda r: -max(
            difflib.SequenceMatcher(None, key, _norm(r.name)).ratio(),
            difflib.SequenceMatcher(None, key, _norm(r.account_id)).ratio(),
        ),
    )
    return [(r.account_id, r.name) for r in scored[:limit]]


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
    from cs_mcp.workspace.queries.accounts import search_accounts

    offset = decode_cursor(cursor)
    total, rows = search_accounts(
        ws,
        query=query.strip() if query else None,
        segment=segment,
        csm_id=csm_id,
        status=status,
        min_arr=min_arr,
        renewal_within=None if renewal_within_days is None else (ws.as_of, renewal_within_days),
        limit=limit,
        offset=offset,
    )
    if total == 0:
        for column, value in (("segment", segment), ("csm_id", csm_id), ("status", status)):
            if value:
                require_known_value(ws, column, value)
    accounts = [AccountSummary(**r._asdict()) for r in rows]
    nxt = offset + len(accounts)
    return AccountSearch(
        query=query,
        accounts=accounts,
        total=total,
        returned=len(accounts),
        next_cursor=encode_cursor(nxt) if nxt < total else None,
    )
