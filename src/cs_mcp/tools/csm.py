"""csm-performance: each CSM's book with capacity, health mix, retention, activity, coverage gaps and coaching."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from cs_mcp.domain.csm import CsmBook, CsmPerformance, SortKey, csm_performance
from cs_mcp.domain.formatting import pct1
from cs_mcp.progress import thread_progress
from cs_mcp.tools.exports import Export, answer, whole_list
from cs_mcp.tools.registry import (
    NAME_CHARS,
    Cursor,
    ToolSpec,
    caveat_lines,
    money,
    run_domain,
    workspace,
)


def _book_line(b: CsmBook) -> str:
    who = b.csm_id if b.csm_id == "unassigned" else f"{b.csm_id} {b.name or ''}".strip()
    if b.team:
        who += f" ({b.team})"
    bits = [f"{b.accounts} accts {money(b.arr)}"]
    if b.utilization is not None:
        flag = {"over": " OVER", "near": " NEAR"}.get(b.capacity_flag, "")
        bits.append(f"{b.utilization * 100:.0f}% of capacity {b.capacity}{flag}")
    h = b.health
    avg = "n/a" if b.average_health is None else f"{b.average_health:.0f}"
    bits.append(f"health G{h.green}/Y{h.yellow}/R{h.red}" + (f"/?{h.unknown}" if h.unknown else "") + f" avg {avg}")
    if b.retention:
        bits.append(f"GRR {pct1(b.retention.grr)} NRR {pct1(b.retention.nrr)}")
    if b.activity and b.activity.per_account_window is not None:
        bits.append(f"{b.activity.per_account_window:g} touches/acct {b.activity.window_days}d")
    if b.coverage and b.coverage.overdue_accounts:
        bits.append(f"overdue {b.coverage.overdue_accounts} ({money(b.coverage.overdue_arr)})")
    if b.renewals and b.renewals.due:
        bits.append(f"renewals {b.renewals.due}, {b.renewals.at_risk} at risk ({money(b.renewals.at_risk_arr)})")
    return f"- {who}: " + " | ".join(bits)


def render_csm(r: CsmPerformance) -> str:
    t = r.team
    cap = ""
    if t.capacity:
        cap = f"; capacity {t.capacity} ({pct1(t.utilization)} used), {t.over_capacity} over, {t.near_capacity} near"
    lines = [
        f"CSM performance as of {r.as_of}: {t.csms} CSMs, {t.accounts} active accounts, {money(t.arr)} ARR{cap}"
        + (f"; {t.unassigned_accounts} unassigned ({money(t.unassigned_arr)})" if t.unassigned_accounts else "")
    ]
    h = t.health
    team = [f"health G{h.green}/Y{h.yellow}/R{h.red}/?{h.unknown}, avg "
            + ("n/a" if t.average_health is None else f"{t.average_health:.1f}")]
    if t.retention:
        team.append(f"GRR {pct1(t.retention.grr)}, NRR {pct1(t.retention.nrr)} ({t.retention.period})")
    if t.activity:
        a = t.activity
        team.append(f"{a.touches_window} touches in {a.window_days}d ({a.per_account_window or 0:g} per account), "
                    f"{a.touches_recent} in {a.recent_days}d")
    if t.coverage:
        team.append(f"{t.coverage.overdue_accounts} overdue for a touch ({money(t.coverage.overdue_arr)})")
    if t.renewals:
        rn = t.renewals
        team.append(f"renewals next {rn.window_days}d: {rn.due} ({money(rn.due_arr)}), {rn.at_risk} at risk "
                    f"({money(rn.at_risk_arr)})")
    lines.append("Team: " + "; ".join(team))
    books = "books" + (" (unassigned accounts as one)" if t.unassigned_accounts else "")
    lines.append(f"{r.returned} of {r.total} {books} by {r.sort.replace('_', ' ')} ({r.order}):")
    notes_each = 10 if r.filters else 2
    for b in r.csms:
        lines.append(_book_line(b))
        lines += [f"  * {n}" for n in b.coaching_notes[:notes_each]]
        if r.filters and b.coverage and b.coverage.top:
            lines.append("  Overdue: " + "; ".join(
                f"{o.name} {money(o.arr)} "
                + ("never touched" if o.days_since_last_touch is None else f"{o.days_since_last_touch}d")
                for o in b.coverage.top
            ))
    if r.next_cursor:
        lines.append(f"More: pass cursor={r.next_cursor}")
    lines += caveat_lines(r.not_computed, r.note)
    return "\n".join(lines)


async def csm_performance_tool(
    ctx: Context,
    csm_id: Annotated[
        str | None,
        Field(
            max_length=NAME_CHARS, description="one CSM's id ('unassigned' for accounts without a CSM); omit for all"
        ),
    ] = None,
    sort: Annotated[
        SortKey,
        Field(
            description="metric to sort CSMs by: arr, accounts, utilization, average_health, grr, nrr, "
            "overdue_accounts, overdue_arr, at_risk_renewals, touches_per_account, red_accounts"
        ),
    ] = "arr",
    order: Annotated[Literal["desc", "asc"], Field(description="desc (largest first) or asc")] = "desc",
    limit: Annotated[
        int | None, Field(ge=1, le=50, description="CSMs per page (default: csm.page_size, 10)")
    ] = None,
    cursor: Cursor = None,
    export: Export = None,
) -> Annotated[CallToolResult, CsmPerformance]:
    """Per-CSM book: accounts, ARR, capacity use, health mix, GRR/NRR, activity, overdue touches, renewals at
    risk and coaching notes, with team totals."""
    from cs_mcp.domain.churn_model import churn_scores

    ws = await workspace(ctx)
    await run_domain(churn_scores, ws, thread_progress(ctx))  # a first fit reports its progress
    rows, start = whole_list(ctx, export, limit, cursor)
    result = await run_domain(csm_performance, ws, csm_id=csm_id, sort=sort, order=order, limit=rows, cursor=start)
    return await answer(ctx, "csm-performance", result, render_csm, export, limit)


TOOLS = [
    ToolSpec(
        name="csm-performance",
        family="csm",
        fn=csm_performance_tool,
        title="CSM performance",
        description=(
            "Per-CSM book of active accounts: ARR, capacity use (over / near capacity), health mix, GRR and NRR "
            "of the book over 12 months, touch activity, accounts overdue for a touch by segment cadence, "
            "renewals in the next 90 days at risk, and rule-based coaching notes; team totals and an "
            "'unassigned' row. Sort by any metric; one CSM with csm_id."
        ),
    )
]
