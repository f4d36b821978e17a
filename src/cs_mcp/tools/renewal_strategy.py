"""renewal-strategy: one account's renewal plan, from risk and value to a dated timeline and three proposals."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult

from cs_mcp.domain.formatting import day_count, distinct_facts, money, money_change, score_text
from cs_mcp.domain.renewal_strategy import CATEGORY_WORDS, RenewalStrategy, renewal_strategy
from cs_mcp.tools.registry import AccountArg, ToolSpec, app_state, caveat_lines, respond, run_domain, workspace


def render_strategy(s: RenewalStrategy) -> str:
    r = s.risk
    lead = next(p for p in s.proposals if p.lead)
    if r.renewal_date is not None:
        when = (f"renews {r.renewal_date} ({day_count(r.days_to_renewal)}"
                + (f", stage {s.stage}" if s.stage else "") + ")")
    else:
        when = "no renewal date"
    prob = "n/a" if r.probability is None else f"{r.probability:g}% {CATEGORY_WORDS.get(r.category or '', '')}"
    out = [
        f"{s.name} ({s.account_id}), {money(s.arr)} ARR: {when}; renewal probability {prob}"
        + (f", expected {r.expected_outcome}" if r.expected_outcome else "")
        + f". Lead with {lead.title.lower()} ({money(lead.arr)}/yr).",
    ]
    churn = "n/a" if r.churn_probability is None else f"{r.churn_probability:g}% lost by the renewal"
    if r.churn_probability_90d is not None:
        churn += f", {r.churn_probability_90d:g}% within 90 days"
    health = "n/a" if r.health_score is None else f"{score_text(r.health_score)} {r.health_band}"
    trend = f", {r.health_trend.replace('_', ' ')}" if r.health_trend and r.health_trend != "unknown" else ""
    out.append(f"Risk: churn {churn} ({r.churn_method}" + (f", tier {r.churn_tier}" if r.churn_tier else "")
               + f"); health {health}{trend}")
    if r.churn_drivers:
        out.append("Drivers: " + "; ".join(r.churn_drivers))
    if r.customer_comments:
        out.append("In their words: " + " | ".join(
            f'"{c.text}" (NPS {c.score}, {c.responded_at})' for c in r.customer_comments))
    if r.alerts:
        out.append("Alerts: " + "; ".join(f"[{a.severity}] {a.message}" for a in r.alerts[:4]))
    # a signal the drivers or alerts already state (a lost renewal is the first driver) is not repeated
    shown = [*r.churn_drivers, *(a.message for a in r.alerts[:4])]
    signals = distinct_facts(list(r.signals), stated=shown)
    if signals:
        out.append("Signals: " + "; ".join(signals[:4]))
    if s.value.highlights:
        out.append("Value: " + "; ".join(s.value.highlights))
    e = s.expansion
    if e.options:
        offered = any(p.offered for p in s.proposals if p.option == "renewal_expansion")
        mark = "held back" if e.expansion_arr > 0 and not offered else "proposed"
        opts = "; ".join(f"{o.description} {money(o.arr)}" + (" [in CRM]" if o.in_crm else "")
                         + (f" [{mark}]" if o.in_proposal else "") for o in e.options[:6])
        out.append(f"Expansion ({money(e.expansion_arr)} {mark}): {opts}")
    else:
        out.append("Expansion: none (expansion-opportunities finds no candidate for this account)")
    if s.timeline:
        out.append("Timeline:")
        for m in s.timeline:
            tag = {"past": "past", "current": "NOW", "upcoming": "next"}[m.status]
            out.append(f"- [{tag}] {m.milestone} {m.date} {m.name} ({m.owner}): {m.action}")
    out.append("Proposals:")
    for p in s.proposals:
        term = f"{p.term_months // 12} years" if p.term_months > 12 else f"{p.term_months} months"
        extra = f", {p.discount_pct:g}% off, total {money(p.total_contract_value)}" if p.discount_pct else ""
        delta = f" ({money_change(p.change_vs_current)})" if p.change_vs_current else ""
        tag = "LEAD " if p.lead else ("" if p.offered else "NOT OFFERED ")
        out.append(f"- {tag}{p.title}: {money(p.arr)}/yr{delta}, {term}{extra}. {p.rationale}")
    g = s.guide
    out.append(f"Opening: {g.opening}")
    out.append("Ask: " + " | ".join(g.questions))
    out.append("Objections:")
    out += [f"- \"{o.objection}\" ({o.from_signal}) -> {o.response}" for o in g.objections]
    out += caveat_lines(s.not_computed, s.note)
    return "\n".join(out)


async def renewal_strategy_tool(
    ctx: Context,
    account: AccountArg,
) -> Annotated[CallToolResult, RenewalStrategy]:
    """Renewal plan for one account: risk, value delivered, expansion options, dated T-120/90/60/30/0 timeline,
    conversation guide and three proposals (renewal only, renewal + expansion, multi-year)."""
    ws = await workspace(ctx)
    result = await run_domain(renewal_strategy, ws, account)
    return respond(result, render_strategy(result), app_state(ctx).settings.server.max_text_chars)


TOOLS = [
    ToolSpec(
        name="renewal-strategy",
        family="renewal",
        fn=renewal_strategy_tool,
        title="Renewal strategy",
        description=(
            "Renewal plan for one account: renewal probability and category (as renewal-forecast), churn drivers, "
            "health and alerts; value delivered now vs 6 and 12 months ago; expansion options (seat upsell, open "
            "opportunities, whitespace products); a dated T-120/90/60/30/0 timeline with an action per milestone; "
            "a conversation guide with likely objections; three proposals (renewal only, renewal + expansion, "
            "multi-year with discount) and which to lead with."
        ),
    )
]
