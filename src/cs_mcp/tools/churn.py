"""churn-risk-list: active accounts ranked by churn probability, with drivers and tier totals."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from cs_mcp.domain.churn import ChurnRiskAccount, ChurnRiskList, Driver, Tier, churn_risk_list, lowers_risk_mark
from cs_mcp.domain.formatting import pct, score_text, shorten
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

MAX_DRIVER_CHARS = 80


RANKED_BY = {
    "next_renewal": "P(lost at or before the next renewal)",
    "horizon": "P(churn within {h} days)",
    "snapshot": "resemblance to past churners (snapshot model)",
}


def _how(r: ChurnRiskList) -> str:
    m = r.model
    if r.method != "model":
        return "leading-indicator score (too few churn outcomes to learn from; probability = score/100)"
    what = RANKED_BY.get(m.ranks_by or "", "churn probability").format(h=m.horizon_days)
    bits = [f"{m.estimator}, CV ROC-AUC {m.cv_roc_auc:.2f}"]
    if m.leading_indicator_roc_auc:
        bits.append(f"leading indicators {m.leading_indicator_roc_auc:.2f}")
    side = f"; 90-day probability beside it (CV ROC-AUC {m.short_horizon_cv_roc_auc:.2f})" if (
        m.short_horizon_cv_roc_auc and m.ranks_by == "next_renewal") else ""
    return f"{what}, a learned model ({'; '.join(bits)}){side}"


def _driver_words(d: Driver) -> str:
    """The driver with its change; a health dimension's change follows its score, not the signal after it
    ('usage health 23/100 (up from 0 over 90 days): 9% of seats active')."""
    text = shorten(d.text, MAX_DRIVER_CHARS)
    if not d.change:
        return text
    head, sep, signal = text.partition(": ")
    if d.metric and sep:
        return f"{head} ({d.change}): {signal}"
    return f"{text} ({d.change})"


def _line(a: ChurnRiskAccount) -> str:
    head = f"{pct(a.probability)} {a.tier.upper()}"
    if a.probability_90d is not None:
        head += f" (90d {pct(a.probability_90d)})"
    bits = [head, f"ARR {money(a.arr)} (at risk {money(a.arr_at_risk)})"]
    if a.days_to_renewal is not None:
        bits.append(f"renews in {a.days_to_renewal}d" + (" AT-RISK RENEWAL" if a.at_risk_renewal else ""))
    if a.days_since_last_touch is not None:
        bits.append(f"touch {a.days_since_last_touch}d ago")
    elif a.never_touched:
        bits.append("never touched")
    if a.health_score is not None:
        bits.append(f"health {score_text(a.health_score)} {a.health_band}")
    drivers = "; ".join(lowers_risk_mark(d.direction) + _driver_words(d) for d in a.drivers)
    ident = f" ({a.account_id})" if a.account_id != a.name else ""
    out = f"{a.rank}. {a.name[:40]}{ident} | " + " | ".join(bits) + (f" | why: {drivers}" if drivers else "")
    if a.context:
        out += f" | context: {'; '.join(a.context)}"
    return out + f"\n   -> {a.recommended_action}"


def render_churn_list(r: ChurnRiskList) -> str:
    shown = f" match {', '.join(f'{k}={v}' for k, v in r.filters.items())}" if r.filters else ""
    lines = [f"Churn risk as of {r.as_of}: {r.total:,} active accounts{shown}. Ranked by {_how(r)}."]
    tiers = ", ".join(
        f"{t.tier} {t.accounts} ({money(t.arr_at_risk)} of {money(t.arr)} at risk)"
        for t in r.totals_by_tier
        if t.accounts
    )
    window = any(k in r.filters for k in ("renewal_within_days", "quarter", "renewal_from", "renewal_to"))
    lines.append(
        f"By tier: {tiers or 'none'}. ARR at risk {money(r.total_arr_at_risk)} of {money(r.total_arr)}. "
        f"At-risk renewals{' in the renewal window' if window else ' (each next renewal, whenever due)'}: "
        f"{r.at_risk_renewals} ({money(r.at_risk_renewal_arr)})."
    )
    lines += [_line(a) for a in r.accounts]
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
        Literal["probability", "arr_at_risk", "days_to_renewal"],
        Field(description="rank by churn probability (default), ARR at risk (ARR x probability), or the "
              "soonest renewal first"),
    ] = "probability",
    limit: Annotated[
        int | None, Field(ge=1, le=50, description="rows per page (default 15, churn.page_size)")
    ] = None,
    cursor: Cursor = None,
    export: Export = None,
) -> Annotated[CallToolResult, ChurnRiskList]:
    """Active accounts ranked by the risk of losing them at (or before) their next renewal, with the 90-day
    probability beside it, tier, ARR at risk, renewal, last touch, health, top 3 drivers, context and an action."""
    ws = await workspace(ctx)

    rows, start = whole_list(ctx, export, limit, cursor)
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
        limit=rows,
        cursor=start,
        progress=thread_progress(ctx),
    )
    return await answer(ctx, "churn-risk-list", result, render_churn_list, export, limit)


TOOLS = [
    ToolSpec(
        name="churn-risk-list",
        family="churn",
        fn=churn_risk_list_tool,
        title="Churn risk list",
        description=(
            "Active accounts ranked by the risk of losing them at or before their next renewal: a calibrated "
            "probability from a model learned on this workspace's past renewals (or the leading-indicator "
            "score when there are too few outcomes; the answer says which), with the 90-day churn probability "
            "beside it, tier, ARR at risk, days to renewal and whether it is an at-risk renewal, days since the "
            "last CSM touch, health, top 3 behaviour drivers with their change, context (timing, firmographics) "
            "and a recommended action built from the account's own drivers. Filters: segment, CSM, minimum "
            "tier, renewal window (days, quarter or dates; a bare 'Q4' is the current Q4 while in it, else the "
            "next one); sort by probability, ARR at risk or renewal date. "
            "Totals by tier cover all filtered accounts; pages with a cursor. The model card is cs://models/churn."
        ),
    )
]
