"""find-accounts: resolve 'Acme' to an account id, and list accounts by filters."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from cs_mcp.domain.accounts import AccountSearch, find_accounts
from cs_mcp.tools.exports import Export, answer, whole_list
from cs_mcp.tools.registry import (
    NAME_CHARS,
    CsmId,
    Cursor,
    Segment,
    ToolSpec,
    money,
    run_domain,
    workspace,
)


def render_search(r: AccountSearch) -> str:
    if not r.accounts:
        return f"No accounts match{f' {r.query!r}' if r.query else ''}."
    lines = [f"{r.returned} of {r.total} accounts" + (f" matching {r.query!r}" if r.query else "")]
    for a in r.accounts:
        bits = [a.segment or "-", money(a.arr)]
        if a.renewal_date:
            bits.append(f"renews {a.renewal_date}")
        if a.notice_on:
            bits.append(f"notice given: leaving on {a.notice_on}")
        elif a.status and a.status != "active":
            bits.append(a.status)
        if a.csm_id:
            bits.append(f"CSM {a.csm_id}")
        lines.append(f"- {a.account_id} {a.name}: " + ", ".join(bits))
    if r.next_cursor:
        lines.append(f"More: pass cursor={r.next_cursor}")
    return "\n".join(lines)


async def find_accounts_tool(
    ctx: Context,
    query: Annotated[
        str | None, Field(max_length=NAME_CHARS, description="fragment of the account name or id, e.g. 'acme'")
    ] = None,
    segment: Segment = None,
    csm_id: CsmId = None,
    status: Annotated[str | None, Field(max_length=NAME_CHARS, description="active or churned")] = None,
    min_arr: Annotated[
        float | None,
        Field(ge=0, le=1e12, allow_inf_nan=False, description="only accounts with at least this ARR"),
    ] = None,
    renewal_within_days: Annotated[
        int | None, Field(ge=0, le=3650, description="only accounts renewing within this many days")
    ] = None,
    limit: Annotated[int, Field(ge=1, le=200, description="rows per page")] = 25,
    cursor: Cursor = None,
    export: Export = None,
) -> Annotated[CallToolResult, AccountSearch]:
    """Search accounts by name fragment and filters; returns ids to pass to the other tools."""
    ws = await workspace(ctx)
    rows, start = whole_list(ctx, export, limit, cursor)
    result = await run_domain(
        find_accounts, ws, query, segment, csm_id, status, min_arr, renewal_within_days, rows, start
    )
    return await answer(ctx, "find-accounts", result, render_search, export, limit)


TOOLS = [
    ToolSpec(
        name="find-accounts",
        family="accounts",
        fn=find_accounts_tool,
        title="Find accounts",
        description=(
            "Search accounts by name or id fragment and filters (segment, CSM, status, ARR, renewal window). "
            "Use it to turn a name like 'Acme' into the account id the other tools take."
        ),
    )
]
