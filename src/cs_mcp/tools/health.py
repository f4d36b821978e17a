"""health-score: one account's health, from the data or from metrics the user states."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from cs_mcp.domain.accounts import resolve_account
from cs_mcp.domain.formatting import day_count, score_text
from cs_mcp.domain.health import AdHocMetrics, HealthScore, health_for_account, health_from_metrics
from cs_mcp.domain.periods import require_in_data
from cs_mcp.tools.registry import NAME_CHARS, Day, ToolSpec, app_state, money, respond, run_domain, workspace


def render_health(h: HealthScore) -> str:
    who = f"{h.name} ({h.account_id})" if h.account_id else (h.name or "Ad-hoc account")
    head = [f"{who}: health {score_text(h.score)}/100, {h.band.upper()} (model {h.model}"
            + (f", as of {h.as_of}" if h.as_of else "") + ")"]
    facts = []
    if h.segment:
        facts.append(h.segment)
    if h.arr is not None:
        facts.append(f"ARR {money(h.arr)}")
    if h.renewal_in_days is not None:
        facts.append(f"renewal in {day_count(h.renewal_in_days)}")
    if h.status and h.status != "active":
        facts.append(f"status {h.status}")
    if facts:
        head.append(" | ".join(facts))
    dims = []
    for d in h.dimensions:
        if d.score is None:
            dims.append(f"{d.dimension} n/a (weight {d.weight:g} re-spread)")
        else:
            dims.append(f"{d.dimension} {score_text(d.score)} (w {d.effective_weight:g})")
    head.append("Dimensions: " + ", ".join(dims))
    if h.trend:
        hist = ", ".join(f"{p.days_ago}d ago {score_text(p.score)}" if p.score is not None else f"{p.days_ago}d ago n/a"
                         for p in h.trend.history)
        vel = ", ".join(f"{v:+.2f}/day over {d}d" for d, v in h.trend.velocities.items()) or "n/a"
        head.append(f"Trend: {h.trend.direction.replace('_', ' ')} ({vel}); {hist}")
    if h.alerts:
        head.append("Alerts: " + "; ".join(f"[{a.severity}] {a.message}" for a in h.alerts))
    if h.risk_factors:
        head.append("Risks: " + "; ".join(h.risk_factors[:5]))
    if h.positive_signals:
        head.append("Strengths: " + "; ".join(h.positive_signals[:4]))
    if h.recommended_actions:
        head.append("Actions:\n" + "\n".join(f"- {a}" for a in h.recommended_actions[:5]))
    if h.note:
        head.append("Note: " + h.note)
    return "\n".join(head)


async def health_score(
    ctx: Context,
    account: Annotated[
        str | None,
        Field(
            max_length=NAME_CHARS,
            description="account id or name (a unique name fragment works); omit when sending metrics",
        ),
    ] = None,
    metrics: Annotated[
        AdHocMetrics | None,
        Field(description="metrics of an account that is not in the data, e.g. {active_users: 85, seats: 100, "
                          "logins_per_user_week: 4.2, nps: 30}; any subset"),
    ] = None,
    account_name: Annotated[
        str | None, Field(max_length=NAME_CHARS, description="label for an ad-hoc account")
    ] = None,
    as_of: Annotated[
        Day | None,
        Field(description="score as of this date, YYYY-MM-DD, within the data's dates (default: the data's as-of "
                          "date)"),
    ] = None,
) -> Annotated[CallToolResult, HealthScore]:
    """Health score 0-100 of one account: five weighted dimensions with their inputs, band, trend vs 30/60/90
    days ago, alerts, risk factors, strengths and recommended actions."""
    state = app_state(ctx)
    if account and metrics:
        raise ToolError("Send either account (scored from the data) or metrics (an account not in the data), not both.")
    if metrics is not None:
        if as_of is not None:
            raise ToolError("as_of: only applies to an account in the data; omit it when sending metrics.")
        result = await run_domain(health_from_metrics, state.settings, metrics, account_name)
    elif account:
        ws = await workspace(ctx)
        ref = await run_domain(resolve_account, ws, account)
        if as_of is not None:
            await run_domain(require_in_data, ws, "as_of", as_of)
        result = await run_domain(health_for_account, ws, ref.account_id, as_of)
    else:
        raise ToolError(
            "Send account (an id or name; find-accounts searches) or metrics for an account not in the data."
        )
    return respond(result, render_health(result), state.settings.server.max_text_chars)


TOOLS = [
    ToolSpec(
        name="health-score",
        family="health",
        fn=health_score,
        title="Account health score",
        description=(
            "Health score 0-100 of one account from the data: five weighted dimensions (usage, engagement, "
            "support, satisfaction, financial) with their inputs, band, trend vs 30/60/90 days ago, alerts, risk "
            "factors, strengths and recommended actions. Pass `metrics` instead of `account` to score an account "
            "that is not in the data."
        ),
    )
]
