"""retention-metrics: GRR, NRR, logo retention, expansion and health shares over a past period."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from cs_mcp.domain.formatting import pct1
from cs_mcp.domain.retention import MetricVsTarget, RetentionReport, retention_metrics
from cs_mcp.tools.exports import Export, answer, whole_list
from cs_mcp.tools.registry import (
    Cursor,
    GroupBy,
    Period,
    PeriodEnd,
    PeriodStart,
    ToolSpec,
    caveat_lines,
    money,
    run_domain,
    workspace,
)

LABELS = {
    "grr": "GRR",
    "nrr": "NRR",
    "logo_retention": "Logo retention",
    "expansion_rate": "Expansion rate",
    "contraction_rate": "Contraction rate",
    "gross_churn_rate": "Gross ARR churn",
    "green_accounts_share": "Green accounts",
    "green_arr_share": "Green ARR",
    "average_health": "Average health",
}


def metric_line(name: str, m: MetricVsTarget) -> str:
    points = name == "average_health"
    fmt = (lambda v: f"{v:.1f}") if points else pct1
    text = f"{LABELS.get(name, name)} {fmt(m.value)}"
    if m.target is not None and m.value is not None:
        gap = f"{abs(m.gap):.1f}" if points else f"{abs(m.gap) * 100:.1f} pts"
        text += f" (target {fmt(m.target)}: {'met' if m.met else f'below by {gap}'})"
    elif m.target is not None:
        text += f" (target {fmt(m.target)})"
    return text


def render_retention(r: RetentionReport) -> str:
    p = r.period
    lines = [f"Retention {p.start} -> {p.end} ({p.label}), from {r.source}, as of {r.as_of}"]
    m = r.metrics
    lines += [metric_line(k, m[k]) for k in ("grr", "nrr", "logo_retention", "expansion_rate")]
    lines.append(
        f"{metric_line('contraction_rate', m['contraction_rate'])}; "
        f"{metric_line('gross_churn_rate', m['gross_churn_rate'])}"
    )
    lines.append(
        f"Health now ({r.health_scored_accounts} scored active accounts): "
        + "; ".join(
            metric_line(k, m[k]) for k in ("green_accounts_share", "green_arr_share", "average_health")
        )
    )
    c = r.counts
    if r.waterfall:
        w = r.waterfall
        lines.append(
            f"ARR waterfall: start {money(w.start_arr)} + new {money(w.new_arr)} + expansion "
            f"{money(w.expansion_arr)} - contraction {money(w.contraction_arr)} - churn "
            f"{money(w.churned_arr)} = end {money(w.end_arr)}"
        )
    else:
        lines.append(
            f"Churned ARR {money(c.churned_arr)}; new-logo ARR {money(c.new_logo_arr)} (current ARR)"
        )
    lines.append(
        f"Customers at start {c.customers_at_start}: {c.lost} lost, "
        f"{c.customers_at_start - c.lost} retained; new logos {c.new_logos} ({money(c.new_logo_arr)}), "
        "not in the rates"
    )
    if r.groups_page:
        g = r.groups_page
        lines.append(f"By {g.by} ({g.returned} of {g.total}, largest start ARR first):")
        for grp in r.groups:
            lines.append(
                f"- {grp.key}: start {money(grp.start_arr)} ({grp.customers_at_start} customers), "
                f"GRR {pct1(grp.grr)}, NRR {pct1(grp.nrr)}, logos {pct1(grp.logo_retention)}, "
                f"expansion {pct1(grp.expansion_rate)}; health "
                + ("n/a" if grp.average_health is None else f"{grp.average_health:.0f}")
                + f", {pct1(grp.green_accounts_share)} green of {grp.active_accounts} active"
            )
        if g.next_cursor:
            lines.append(f"More groups: pass cursor={g.next_cursor}")
    if r.target_basis:
        lines.append("Targets: " + r.target_basis)
    lines += caveat_lines(r.not_computed, r.note)
    return "\n".join(lines)


async def retention_metrics_tool(
    ctx: Context,
    period: Period = None,
    start_date: PeriodStart = None,
    end_date: PeriodEnd = None,
    by: GroupBy = None,
    limit: Annotated[int, Field(ge=1, le=50, description="groups per page when `by` is given")] = 25,
    cursor: Cursor = None,
    export: Export = None,
) -> Annotated[CallToolResult, RetentionReport]:
    """GRR, NRR, logo retention and expansion rate over a past period from the ARR history, plus the share of
    accounts and ARR in green and average health, each against its target."""
    ws = await workspace(ctx)
    rows, start = whole_list(ctx, export, limit, cursor)
    result = await run_domain(retention_metrics, ws, period, start_date, end_date, by, rows, start)
    return await answer(ctx, "retention-metrics", result, render_retention, export, limit)


TOOLS = [
    ToolSpec(
        name="retention-metrics",
        family="retention",
        fn=retention_metrics_tool,
        title="Retention metrics",
        description=(
            "GRR, NRR, logo retention, expansion, contraction and churn rates for a past period (last 12 "
            "months by default, a quarter, a year or dates) from the subscription ARR history, over accounts "
            "present at the period start; plus the share of accounts and of ARR in green and average health "
            "now. Each against "
            "its configured target, with an ARR waterfall, optionally by segment, plan or CSM."
        ),
    )
]
