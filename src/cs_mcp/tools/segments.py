"""customer-segments: the portfolio by value tier, health x value, lifecycle, RFM or clusters."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from cs_mcp.domain.formatting import pct1, score_text
from cs_mcp.domain.segments import CustomerSegments, Scheme, customer_segments
from cs_mcp.tools.exports import Export, answer, whole_list
from cs_mcp.tools.registry import NAME_CHARS, ToolSpec, caveat_lines, money, run_domain, workspace

SCHEME_LABELS = {
    "value_tier": "value tier",
    "health_value": "health x value",
    "lifecycle": "lifecycle stage",
    "rfm": "behaviour (RFM)",
    "clusters": "data-driven clusters",
}


def render_segments(r: CustomerSegments) -> str:
    scope = f" (segment {r.filters['segment']})" if r.filters.get("segment") else ""
    lines = [
        f"Segments by {SCHEME_LABELS[r.scheme]} as of {r.as_of}{scope}: {r.active_accounts} active accounts, "
        f"{money(r.active_arr)} ARR; churn {pct1(r.portfolio_churn_rate)} ({r.portfolio_churned} of "
        f"{r.portfolio_churn_base} since {r.churn_window_start})",
        f"Rule: {r.rule}",
    ]
    for s in r.segments:
        churn = f"churn {pct1(s.churn_rate)} ({s.churned} of {s.churn_base})" if s.churn_base else "churn n/a (no base)"
        health = "n/a" if s.average_health is None else f"{s.average_health:.0f}"
        share = "" if s.arr_share is None else f" ({pct1(s.arr_share)})"
        lines.append(
            f"- {s.name.replace('_', ' ')}: {s.accounts} account{'' if s.accounts == 1 else 's'}, "
            f"{money(s.arr)} ARR{share}, avg "
            f"{money(s.average_arr)}, health {health}, {churn}. {s.description}. Coverage: {s.coverage}"
        )
    if r.cluster_model:
        c = r.cluster_model
        lines.append(
            f"Clusters: k={c.k}, silhouette {c.silhouette:.2f} (tried "
            + ", ".join(f"{k}: {v:.2f}" for k, v in c.silhouettes.items())
            + f"); {c.imputed_share * 100:.0f}% of values imputed"
        )
    if r.detail:
        d = r.detail
        lines.append(f"Accounts in {d.segment} ({d.returned} of {d.total}, largest ARR first):")
        for a in d.accounts:
            health = "" if a.health_score is None else f", health {score_text(a.health_score)} {a.health_band}"
            why = f"; {a.detail}" if a.detail else ""
            lines.append(
                f"  {a.account_id} {a.name[:40]}: {money(a.arr)}{health}, {a.crm_segment or 'no segment'}, "
                f"CSM {a.csm_id or 'none'}{why}"
            )
        if d.next_cursor:
            lines.append(f"More accounts: pass cursor={d.next_cursor}")
    lines.append("Churn rate = " + r.churn_rule)
    lines += caveat_lines(r.not_computed, r.note)
    return "\n".join(lines)


async def customer_segments_tool(
    ctx: Context,
    scheme: Annotated[
        Scheme,
        Field(
            description="value_tier (ARR tiers), health_value (health band x value tier, each cell a play), "
            "lifecycle (onboarding ... renewal due, at risk, churned), rfm (recency, frequency, monetary "
            "groups) or clusters (k-means on usage, engagement, support, ARR and health)"
        ),
    ] = "value_tier",
    segment: Annotated[
        str | None,
        Field(max_length=NAME_CHARS, description="only accounts of this CRM segment (the accounts' segment column)"),
    ] = None,
    segment_detail: Annotated[
        str | None,
        Field(
            max_length=NAME_CHARS,
            description="list the accounts of this segment of the scheme (e.g. strategic, at_risk, champions)",
        ),
    ] = None,
    limit: Annotated[int | None, Field(ge=1, le=50, description="accounts per page of segment_detail")] = None,
    cursor: Annotated[
        str | None, Field(max_length=NAME_CHARS, description="next_cursor of the previous page of segment_detail")
    ] = None,
    export: Export = None,
) -> Annotated[CallToolResult, CustomerSegments]:
    """Segments of the active portfolio by a named scheme, each with size, ARR and share, average health,
    churn rate and a recommended coverage model."""
    ws = await workspace(ctx)
    rows, start = whole_list(ctx, export, limit, cursor)
    result = await run_domain(customer_segments, ws, scheme, segment, segment_detail, rows, start)
    return await answer(ctx, "customer-segments", result, render_segments, export, limit)


TOOLS = [
    ToolSpec(
        name="customer-segments",
        family="segments",
        fn=customer_segments_tool,
        title="Customer segments",
        description=(
            "Segments the active portfolio by a named scheme: value tier (ARR), health x value (each cell named "
            "by its play), lifecycle stage, behaviour (RFM) or data-driven k-means clusters named by their "
            "distinctive features. Each segment: accounts, ARR and share, average ARR and health, 12-month churn "
            "rate (by the segment accounts were in a year ago) and a recommended coverage model. "
            "segment_detail lists one segment's accounts, paged."
        ),
    )
]
