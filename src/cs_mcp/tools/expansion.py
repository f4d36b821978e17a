"""expansion-opportunities: seat upsell, cross-sell and tier-upgrade candidates ranked by expected value."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from cs_mcp.domain.expansion import ExpansionOpportunities, OpportunityType, expansion_opportunities
from cs_mcp.domain.formatting import score_text, shorten
from cs_mcp.tools.exports import Export, answer, whole_list
from cs_mcp.tools.registry import (
    NAME_CHARS,
    CsmId,
    Cursor,
    ToolSpec,
    caveat_lines,
    money,
    run_domain,
    workspace,
)

TYPE_LABELS = {"seat_upsell": "seat upsell", "cross_sell": "cross-sell", "tier_upgrade": "tier upgrade"}
MAX_EVIDENCE_CHARS = 80


def render_expansion(r: ExpansionOpportunities) -> str:
    shown = f" ({', '.join(f'{k} {v}' for k, v in r.filters.items())})" if r.filters else ""
    b = r.best_per_account
    lines = [
        f"Expansion candidates as of {r.as_of}{shown}: {r.total} across {b.accounts} of "
        f"{r.accounts_considered} accounts (an account can have several); counting only each account's best: "
        f"potential {money(b.potential_arr)}, expected {money(b.expected_arr)}",
        "By type: "
        + "; ".join(
            f"{TYPE_LABELS[t.type]} {t.candidates} (potential {money(t.potential_arr)}, expected "
            f"{money(t.expected_arr)}, {t.in_crm} already in CRM, new expected {money(t.expected_arr_not_in_crm)})"
            for t in r.totals_by_type
        ),
    ]
    if r.candidates:
        lines.append(f"{r.returned} of {r.total}, highest expected value (propensity x potential) first:")
    for c in r.candidates:
        what = TYPE_LABELS[c.type]
        if c.product_name:
            what += f" {c.product_name}"
        if c.target_plan:
            what += f" to {c.target_plan}"
        health = "" if c.health_score is None else f"; health {score_text(c.health_score)} {c.health_band}"
        renewal = "" if c.days_to_renewal is None else f"; renews in {c.days_to_renewal}d"
        crm = f" [in CRM: {c.crm_opportunities[0]}]" if c.crm_opportunities else ""
        crm += f" [held: {c.held}]" if c.held else ""
        crm += f" [its account's best is #{c.best_rank}]" if c.best_rank != c.rank else ""
        lines.append(
            f"{c.rank}. {c.name[:40]} ({c.account_id}) {what}: EV {money(c.expected_value)} = {c.propensity:.0f}% x "
            f"{money(c.potential_arr)}; "
            + "; ".join(shorten(e, MAX_EVIDENCE_CHARS) for e in c.evidence[:2])
            + health
            + renewal
            + crm
        )
    if r.next_cursor:
        lines.append(f"More: pass cursor={r.next_cursor}")
    lines.append("Propensity: " + r.propensity_rule)
    lines += caveat_lines(r.not_computed, r.note)
    return "\n".join(lines)


async def expansion_opportunities_tool(
    ctx: Context,
    segment: Annotated[
        str | None, Field(max_length=NAME_CHARS, description="only this CRM segment, e.g. enterprise")
    ] = None,
    csm_id: CsmId = None,
    type: Annotated[  # noqa: A002 - the argument users send
        OpportunityType | None,
        Field(description="only seat_upsell, cross_sell or tier_upgrade candidates"),
    ] = None,
    min_propensity: Annotated[
        float | None,
        Field(ge=0, le=100, allow_inf_nan=False, description="only candidates with propensity at least this (0-100)"),
    ] = None,
    account: Annotated[
        str | None,
        Field(
            max_length=NAME_CHARS, description="only this account (id or name), for a one-account expansion review"
        ),
    ] = None,
    include_red: Annotated[
        bool | None,
        Field(description="include accounts with red health, a critical / high churn tier or an at-risk renewal "
              "(left out by default: save the account before selling to it; those listed are marked held)"),
    ] = None,
    limit: Annotated[int | None, Field(ge=1, le=50, description="candidates per page (default 25)")] = None,
    cursor: Cursor = None,
    export: Export = None,
) -> Annotated[CallToolResult, ExpansionOpportunities]:
    """Seat upsell, cross-sell and tier-upgrade candidates with propensity, evidence, potential ARR and expected
    value, ranked by expected value; totals by type; open CRM opportunities flagged."""
    ws = await workspace(ctx)
    rows, start = whole_list(ctx, export, limit, cursor)
    result = await run_domain(
        expansion_opportunities, ws, segment, csm_id, type, min_propensity, account, include_red, rows, start
    )
    return await answer(ctx, "expansion-opportunities", result, render_expansion, export, limit)


TOOLS = [
    ToolSpec(
        name="expansion-opportunities",
        family="expansion",
        fn=expansion_opportunities_tool,
        title="Expansion opportunities",
        description=(
            "Upsell, cross-sell and tier-upgrade candidates among active accounts: propensity 0-100 (health, "
            "adoption, growth, engagement, budget), evidence in words (seats in use, features used, whitespace "
            "products), potential ARR and expected value = propensity x potential, ranked by expected value. "
            "Candidates already covered by an open CRM opportunity are flagged; totals by type. Accounts with "
            "red health, a critical / high churn tier or an at-risk renewal are left out unless include_red. "
            "Filters: segment, CSM, type, minimum propensity, account."
        ),
    )
]
