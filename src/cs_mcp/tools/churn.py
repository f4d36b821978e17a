"""churn-risk-list: active accounts ranked by churn probability, with drivers and tier totals."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from cs_mcp.domain.churn import ChurnRiskList, Tier, churn_risk_list
from cs_mcp.progress import thread_progress
from cs_mcp.tools.registry import (
    CsmId,
    Cursor,
    Day,
    RenewalQuarter,
    Segment,
    ToolSpec,
    app_state,
    money,
    respond,
    run_domain,
    workspace,
)

MAX_DRIVER_CHARS = 60


def render_churn_list(r: ChurnRiskList) -> str:
    m = r.model
    if r.method == "model":
        how = (
            f"learned model ({m.estimator}, {m.mode}; CV ROC-AUC {m.cv_roc_auc:.2f}"
            + (
                f" vs leading indicators {m.leading_indicator_roc_auc:.2f}"
                if m.leading_indicator_roc_auc
                else ""
            )
            + (f"; P(churn within {m.horizon_days} days)" if m.horizon_days
               else "; P(churn at or before the next renewal)")
            + ")"
        )
    else:
        how = "leading-indicator score (too few churn outcomes to learn from; probability = score/100)"
    shown = f"; {', '.join(f'{k}={v}' for k, v in r.filters.items())}" if r.filters else ""
    lines = [f"Churn risk as of {r.as_of}: {r.total} active accounts{shown}. Ranked by {how}."]
    tiers = ", ".join(
        f"{t.tier} {t.accounts} ({money(t.arr_at_risk)} of {money(t.arr)} at risk)"
        for t in r.totals_by_tier
        if t.accounts
    )
    lines.append(
        f"By tier: {tiers or 'none'}. ARR at risk {money(r.total_arr_at_risk)} of {money(r.total_arr)}."
    )
    for a in r.accounts:
        bits = [
            f"{a.probability * 100:.0f}% {a.tier.upper()}",
            f"ARR {money(a.arr)} (at risk {money(a.arr_at_risk)})",
        ]
        if a.days_to_renewal is not None:
            bits.append(f"renews in {a.days_to_renewal}d")
        if a.days_since_last_touch is not None:
            bits.append(f"touch {a.days_since_last_touch}d ago")
        if a.health_score is not None:
            bits.append(f"health {a.health_score:.0f} {a.health_band}")
        drivers = "; ".join(
            ("" if d.direction == "raises risk" else "(+) ") + d.text[:MAX_DRIVER_CHARS] for d in a.drivers
        )
        lines.append(
            f"{a.rank}. {a.name[:40]}{f' ({a.account_id})' if a.account_id != a.name else ''} "
            + " | ".join(bits)
            + (f" | {drivers}" if drivers else "")
        )
    if r.accounts:
        lines.append(
            "Actions: "
            + " ".join(
                f"{t.upper()}: {next(a.recommended_action for a in r.accounts if a.tier == t)}"
                for t in dict.fromkeys(a.tier for a in r.accounts)
            )
        )
    if r.next_cursor:
        lines.append(f"More: pass cursor={r.next_cursor}")
    if r.note:
        lines.append("Note: " + r.note)
    lines.append("Model card: cs://models/churn")
    return "\n".join(lines)


async def churn_risk_list_tool(
    ctx: Context,
    segment: Segment = None,
    csm_id: CsmId = None,
    min_tier: Annotated[
        Tier | None, Field(description="only this tier and riskier: critical, high, medium or low (= all)")
    ] = None,
    renewal_within_days: Annotated[
        int | None,
        Field(ge=0, le=3650, description="only accounts renewing within this many days from the as-of date"),
    ] = None,
    quarter: RenewalQuarter = None,
    renewal_from: Annotated[Day | None, Field(description="only renewals on or after this date, YYYY-MM-DD")] = None,
    renewal_to: Annotated[Day | None, Field(description="only renewals on or before this date, YYYY-MM-DD")] = None,
    sort: Annotated[
        Literal["probability", "arr_at_risk"],
        Field(description="rank by churn probability, or by ARR at risk (ARR x probability)"),
    ] = "probability",
    limit: Annotated[
        int | None, Field(ge=1, le=50, description="rows per page (default: the server's page size)")
    ] = None,
    cursor: Cursor = None,
) -> Annotated[CallToolResult, ChurnRiskList]:
    """Active accounts ranked by churn risk with probability, tier, ARR at risk, renewal, last touch, health,
    top 3 drivers and a recommended action; totals by tier over the filtered set."""
    state = app_state(ctx)
    ws = await workspace(ctx)

    result = await run_domain(
        churn_risk_list,
        ws,
        segment=segment,
        csm_id=csm_id,
        min_tier=min_tier,
        renewal_within_days=renewal_within_days,
        quarter=quarter,
        renewal_from=renewal_from,
        renewal_to=renewal_to,
        sort=sort,
        limit=limit,
        cursor=cursor,
        progress=thread_progress(ctx),
    )
    return respond(result, render_churn_list(result), state.settings.server.max_text_chars)


TOOLS = [
    ToolSpec(
        name="churn-risk-list",
        family="churn",
        fn=churn_risk_list_tool,
        title="Churn risk list",
        description=(
            "Active accounts ranked by churn risk: calibrated probability from a model learned on this "
            "workspace's churn outcomes (or the leading-indicator score when there are too few; the answer "
            "says which), tier, ARR at risk, days to renewal, days since the last CSM touch, health, top 3 "
            "drivers in words and a recommended action. Filters: segment, CSM, minimum tier, renewal window "
            "(days, quarter or dates; a bare 'Q4' is the current Q4 while in it, else the next one). "
            "Totals by tier cover all filtered accounts; pages with a cursor. The model card is cs://models/churn."
        ),
    )
]
