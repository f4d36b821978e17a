"""escalation-analysis: escalation rate, repeat escalators, root causes, time to resolve, churn impact."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from cs_mcp.domain.escalation import ChurnComparison, EscalationReport, ResolutionTimes, escalation_analysis
from cs_mcp.domain.formatting import pct1, score_text
from cs_mcp.tools.exports import Export, answer, whole_list
from cs_mcp.tools.registry import (
    NAME_CHARS,
    Period,
    PeriodEnd,
    PeriodStart,
    Segment,
    ToolSpec,
    caveat_lines,
    money,
    run_domain,
    workspace,
)

MAX_CAUSES_SHOWN = 8
MAX_GROUPS_SHOWN = 15


def hours(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.0f}h"


def times(t: ResolutionTimes) -> str:
    return f"median {hours(t.median_hours)}, p90 {hours(t.p90_hours)} ({t.resolved} resolved, {t.open} open)"


def churn_line(c: ChurnComparison) -> str:
    risk = "" if c.relative_risk is None else f" ({c.relative_risk:.2f}x)"
    return (
        f"churn {pct1(c.escalated_churn_rate)} of {c.escalated_accounts} escalated accounts (after their first "
        f"escalation) vs {pct1(c.other_churn_rate)} of {c.other_accounts} others{risk}"
    )


def render_escalations(r: EscalationReport) -> str:
    p = r.period
    scope = f" for {', '.join(f'{k} {v}' for k, v in r.filters.items())}" if r.filters else ""
    per100 = "n/a" if r.per_100_customers is None else f"{r.per_100_customers:.1f}"
    lines = [
        f"Escalations {p.label} ({p.first_day} to {p.last_day}){scope}, as of {r.as_of}: {r.escalations} "
        f"escalations = {per100} per 100 customers ({r.active_customers} were customers during the period); "
        f"{pct1(r.escalation_rate)} of {r.tickets} tickets; {r.escalated_accounts} accounts escalated",
        f"Repeat escalators (>= {r.repeat_threshold}): {r.repeat_escalators} accounts, "
        f"{money(r.repeat_escalator_arr)} ARR, {pct1(r.repeat_escalations_share)} of escalations",
        f"Time to resolve: escalated {times(r.resolution['escalated'])}; all tickets {times(r.resolution['all'])}",
    ]
    o = r.open_now
    if o.count:
        lines.append(
            f"Open escalations now: {o.count} at {o.accounts} accounts, median age {o.median_age_days:.0f} days, "
            f"oldest {o.oldest_age_days} days ({o.oldest_ticket_id})"
        )
    else:
        lines.append("Open escalations now: none")
    if r.churn:
        lines.append("Churn among customers at the period start: " + churn_line(r.churn))
    if r.root_causes:
        lines.append("Root causes (category: escalations, share, rate of its tickets, median time to resolve):")
        for c in r.root_causes[:MAX_CAUSES_SHOWN]:
            lines.append(
                f"- {c.category}: {c.escalations} ({pct1(c.share)}), {pct1(c.escalation_rate)} of {c.tickets} "
                f"tickets, {hours(c.median_hours_to_resolve)}" + (f", {c.open} open" if c.open else "")
            )
        if len(r.root_causes) > MAX_CAUSES_SHOWN:
            lines.append(f"... {len(r.root_causes) - MAX_CAUSES_SHOWN} more categories in the structured content")
    if r.groups:
        lines.append(f"By {r.by}:")
        for g in r.groups[:MAX_GROUPS_SHOWN]:
            per = "n/a" if g.per_100_customers is None else f"{g.per_100_customers:.1f}"
            lines.append(
                f"- {g.key}: {g.escalations} escalations, {per} per 100 of {g.active_customers}; "
                f"{g.repeat_escalators} repeat" + (f"; {churn_line(g.churn)}" if g.churn else "")
            )
        if len(r.groups) > MAX_GROUPS_SHOWN:
            lines.append(f"... {len(r.groups) - MAX_GROUPS_SHOWN} more groups in the structured content")
    if r.accounts:
        lines.append(f"Most escalations ({r.returned} of {r.total} accounts):")
        for a in r.accounts:
            health = "n/a" if a.health_score is None else f"{score_text(a.health_score)} {a.health_band}"
            if a.churned_on:
                renewal = f"churned {a.churned_on}"
            elif a.renewal_date:
                renewal = f"renews {a.renewal_date} ({a.days_to_renewal}d)"
            else:
                renewal = "no renewal date"
            lines.append(
                f"- {a.account_id} {a.name[:40]}: {a.escalations} escalations"
                + (f" ({a.open_escalations} open)" if a.open_escalations else "")
                + f", mostly {a.top_category}; {money(a.arr)} ARR, health {health}, {renewal}"
            )
        if r.next_cursor:
            lines.append(f"More: pass cursor={r.next_cursor}")
    lines += caveat_lines(r.not_computed, r.note)
    lines.append("Tables: " + ", ".join(r.tables_used))
    return "\n".join(lines)


async def escalation_analysis_tool(
    ctx: Context,
    period: Period = None,
    start_date: PeriodStart = None,
    end_date: PeriodEnd = None,
    segment: Segment = None,
    by: Annotated[
        str | None,
        Field(
            max_length=NAME_CHARS,
            description="also break down by an accounts column: segment, plan, csm, region or industry",
        ),
    ] = None,
    limit: Annotated[
        int | None, Field(ge=1, le=50, description="accounts with the most escalations per page (default 25)")
    ] = None,
    cursor: Annotated[
        str | None, Field(max_length=NAME_CHARS, description="next_cursor of the previous page of accounts")
    ] = None,
    export: Export = None,
) -> Annotated[CallToolResult, EscalationReport]:
    """Escalations per 100 customers, repeat escalators, root-cause categories, time to resolve, churn of
    escalated vs other accounts, and the accounts with the most escalations."""
    ws = await workspace(ctx)
    rows, start = whole_list(ctx, export, limit, cursor)
    result = await run_domain(escalation_analysis, ws, period, start_date, end_date, segment, by, rows, start)
    return await answer(ctx, "escalation-analysis", result, render_escalations, export, limit)


TOOLS = [
    ToolSpec(
        name="escalation-analysis",
        family="escalation",
        fn=escalation_analysis_tool,
        title="Escalation analysis",
        description=(
            "Escalations over a period (last 12 months by default): escalations per 100 customers, repeat "
            "escalators, root-cause categories, median and p90 time to resolve vs all tickets, open escalations "
            "and their age, and churn of escalated vs non-escalated accounts, optionally by segment. Lists the "
            "accounts with the most escalations with ARR, health band and renewal date."
        ),
    )
]
