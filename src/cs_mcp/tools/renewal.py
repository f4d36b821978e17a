"""renewal-forecast: renewals due in a window with probabilities, outcomes, scenarios and timeline stages."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from cs_mcp.domain.formatting import score_text, shorten
from cs_mcp.domain.renewal import RenewalForecast, Sort, renewal_forecast
from cs_mcp.progress import thread_progress
from cs_mcp.tools.exports import Export, answer, whole_list
from cs_mcp.tools.registry import (
    CsmId,
    Cursor,
    Day,
    RenewalQuarter,
    Segment,
    ToolSpec,
    money,
    run_domain,
    workspace,
)
from cs_mcp.tools.retention import metric_line

CATEGORY_LABELS = {
    "high_confidence": "high confidence",
    "likely": "likely",
    "at_risk": "at risk",
    "high_risk": "high risk",
}


def render_forecast(f: RenewalForecast) -> str:
    w = f.window
    scope = f" for {', '.join(f'{k} {v}' for k, v in f.filters.items())}" if f.filters else ""
    head = [
        f"Renewals {w.start} to {w.end} ({w.label}){scope}, as of {f.as_of}: {f.renewals} accounts, "
        f"{money(f.arr_up_for_renewal)} ARR up for renewal (churn term: {f.method})"
    ]
    if not f.renewals:
        head.append(f.note or "No renewals in this window.")
        return "\n".join(head)
    s = f.scenarios
    head.append(
        f"Forecast ARR: base {money(s.base)} (probability-weighted), best {money(s.best)}, "
        f"worst {money(s.worst)}"
    )
    head.append("; ".join(metric_line(k, f.metrics[k]) for k in ("grr", "nrr", "logo_retention")))
    wf = f.waterfall
    head.append(
        f"Waterfall: start {money(wf.start_arr)} - churn {money(wf.churned_arr)} - contraction "
        f"{money(wf.contraction_arr)} + expansion {money(wf.expansion_arr)} = end {money(wf.end_arr)}"
    )
    head.append(
        "Categories: "
        + ", ".join(f"{CATEGORY_LABELS[b.name]} {b.accounts} ({money(b.arr)})" for b in f.by_category)
    )
    head.append(
        "Outcomes: "
        + ", ".join(f"{b.name} {b.accounts} ({money(b.arr)})" for b in f.by_outcome if b.accounts)
    )
    head.append("Timeline: " + ", ".join(f"{b.name} {b.accounts}" for b in f.by_stage))
    head.append(f"{f.returned} of {f.total} by {f.sort.replace('_', ' ')}:")
    for r in f.accounts:
        t = r.timeline
        nxt = f", next {t.next_milestone} {t.next_milestone_date}" if t.next_milestone else ""
        signal = next((x for x in r.signals if not x.startswith("health")), None)
        extra = f"; {shorten(signal, 90)}" if signal else ""
        head.append(
            f"- {r.renewal_date} {r.account_id} {r.name[:40]}: {money(r.arr)}, {r.probability:g}% "
            f"{CATEGORY_LABELS[r.category]}, {r.expected_outcome}"
            + (f" to {money(r.expected_arr)}" if r.expected_outcome in ("expand", "contract") else "")
            + f"; {t.stage}{nxt}; health "
            + ("n/a" if r.health_score is None else score_text(r.health_score))
            + extra
        )
    if f.next_cursor:
        head.append(f"More: pass cursor={f.next_cursor}")
    if f.note:
        head.append("Note: " + f.note)
    return "\n".join(head)


async def renewal_forecast_tool(
    ctx: Context,
    days: Annotated[
        int | None,
        Field(ge=1, le=1095, description="renewals in the next N days (default from config, 90)"),
    ] = None,
    quarter: RenewalQuarter = None,
    from_date: Annotated[Day | None, Field(description="first renewal date of the window, YYYY-MM-DD")] = None,
    to_date: Annotated[Day | None, Field(description="last renewal date of the window, YYYY-MM-DD")] = None,
    segment: Segment = None,
    csm_id: CsmId = None,
    sort: Annotated[
        Sort,
        Field(
            description="date (soonest first), risk (lowest probability first), arr, or arr_at_risk "
            "((1 - probability) x ARR)"
        ),
    ] = "date",
    limit: Annotated[int | None, Field(ge=1, le=50, description="accounts per page (default 25)")] = None,
    cursor: Cursor = None,
    export: Export = None,
) -> Annotated[CallToolResult, RenewalForecast]:
    """Renewals due in a window: per-account renewal probability, forecast category, expected outcome and
    timeline stage; best/base/worst ARR, forecast GRR/NRR/logo retention and an ARR waterfall."""
    from cs_mcp.domain.churn_model import churn_scores

    ws = await workspace(ctx)
    await run_domain(churn_scores, ws, thread_progress(ctx))  # a first fit reports its progress
    rows, start = whole_list(ctx, export, limit, cursor)
    result = await run_domain(
        renewal_forecast, ws, days, quarter, from_date, to_date, segment, csm_id, sort, rows, start
    )
    return await answer(ctx, "renewal-forecast", result, render_forecast, export, limit)


TOOLS = [
    ToolSpec(
        name="renewal-forecast",
        family="renewal",
        fn=renewal_forecast_tool,
        title="Renewal forecast",
        description=(
            "Renewals due in a window (next N days, a quarter, or dates; a bare 'Q4' is the current Q4 while in "
            "it, else the next one): per-account renewal "
            "probability from the churn model, health and open opportunities; forecast category; expected "
            "outcome (renew, expand, flat, contract, churn); probability-weighted ARR; T-120/90/60/30/0 "
            "timeline stage. Totals: best / base / worst case ARR, forecast GRR, NRR and logo retention, "
            "ARR waterfall. Filters: segment, CSM."
        ),
    )
]
