"""nps-analysis: NPS for a period and cut, distribution, trend, comment themes, detractors due for follow-up."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from cs_mcp.domain.formatting import pct
from cs_mcp.domain.nps import Granularity, NpsFigures, NpsReport, nps_analysis
from cs_mcp.tools.registry import (
    NAME_CHARS,
    Period,
    PeriodEnd,
    PeriodStart,
    Segment,
    ToolSpec,
    app_state,
    caveat_lines,
    money,
    respond,
    run_domain,
    workspace,
)

MAX_GROUPS_SHOWN = 15
MAX_THEMES_SHOWN = 9
QUOTE_CHARS = 100


def clip(text: str) -> str:
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "…"


def signed(v: float | None) -> str:
    return "n/a" if v is None else f"{v:+.0f}"


def mix(f: NpsFigures) -> str:
    return (
        f"{pct(f.promoter_share)} promoters, {pct(f.passive_share)} passives, {pct(f.detractor_share)} detractors"
    )


def render_nps(r: NpsReport) -> str:
    p, s = r.period, r.summary
    scope = f" for {', '.join(f'{k} {v}' for k, v in r.filters.items())}" if r.filters else ""
    lines = [
        f"NPS {signed(s.nps)} for {p.label} ({p.first_day} to {p.last_day}){scope}, as of {r.as_of}: "
        f"{s.respondents} respondents from {s.responding_accounts} accounts ({s.answers} answers)"
        + (f"; {mix(s)}" if s.respondents else "")
    ]
    if r.csat:
        lines.append(f"CSAT {pct(r.csat.csat)} satisfied ({r.csat.satisfied} of {r.csat.ratings} ticket ratings)")
    if s.respondents:
        lines.append("Scores 0-10: " + " ".join(f"{i}:{n}" for i, n in enumerate(s.distribution)))
    if any(t.respondents for t in r.trend):
        lines.append(
            f"Trend by {r.trend_granularity}: "
            + ", ".join(
                f"{t.label}{' (to date)' if t.to_date else ''} {signed(t.nps)} (n={t.respondents})" for t in r.trend
            )
        )
    if r.groups:
        lines.append(f"By {r.by}:")
        for g in r.groups[:MAX_GROUPS_SHOWN]:
            csat = f", CSAT {pct(g.csat)} ({g.csat_ratings})" if g.csat_ratings else ""
            lines.append(
                f"- {g.key}: NPS {signed(g.nps)} (n={g.respondents}, {g.responding_accounts} accounts; "
                f"{g.promoters}P/{g.passives}N/{g.detractors}D){csat}"
            )
        if len(r.groups) > MAX_GROUPS_SHOWN:
            lines.append(f"... {len(r.groups) - MAX_GROUPS_SHOWN} more groups in the structured content")
    c = r.comments
    if r.themes:
        def drivers(names: list[str], side: str) -> str:
            by = {t.theme: t for t in r.themes}
            key = "share_of_detractor_comments" if side == "detractors" else "share_of_promoter_comments"
            other = "share_of_promoter_comments" if side == "detractors" else "share_of_detractor_comments"
            return ", ".join(
                f"{n} ({pct(getattr(by[n], key))} vs {pct(getattr(by[n], other))})" for n in names
            ) or "none stands out"

        lines.append(
            f"Comment themes ({c.comments} comments: {c.promoter_comments} promoters, {c.passive_comments} "
            f"passives, {c.detractor_comments} detractors)"
        )
        lines.append("Detractor drivers (share of detractor vs promoter comments): "
                     + drivers(r.detractor_drivers, "detractors"))
        lines.append("Promoter drivers (share of promoter vs detractor comments): "
                     + drivers(r.promoter_drivers, "promoters"))
        for t in r.themes[:MAX_THEMES_SHOWN]:
            ex = " | ".join(f'"{clip(e.text)}" ({e.score})' for e in t.examples)
            lines.append(
                f"- {t.theme}: {t.mentions} mentions ({t.promoter_mentions}P/{t.passive_mentions}N/"
                f"{t.detractor_mentions}D)" + (f": {ex}" if ex else "")
            )
    f = r.followup
    check = "no touchpoint since" if f.touchpoints_checked else "touchpoints not checked"
    if f.total:
        lines.append(
            f"Detractors due for follow-up (last {f.window_days} days, {check}): {f.total} from {f.accounts} "
            f"accounts, {money(f.arr)} ARR; {f.returned} largest ARR first:"
        )
        for d in f.items:
            quote = f': "{clip(d.comment)}"' if d.comment else ""
            lines.append(
                f"- {d.account_id} {d.name[:40]} ({money(d.arr)}): scored {d.score} on {d.responded_at} "
                f"({d.days_since_answer}d ago){quote}"
            )
        if f.next_cursor:
            lines.append(f"More: pass cursor={f.next_cursor}")
    elif "nps" in r.tables_used:
        lines.append(f"No detractor due for follow-up (last {f.window_days} days, {check}).")
    lines += caveat_lines(r.not_computed, r.note)
    lines.append("Tables: " + ", ".join(r.tables_used))
    return "\n".join(lines)


async def nps_analysis_tool(
    ctx: Context,
    period: Period = None,
    start_date: PeriodStart = None,
    end_date: PeriodEnd = None,
    segment: Segment = None,
    plan: Annotated[str | None, Field(max_length=NAME_CHARS, description="only accounts on this plan")] = None,
    tenure: Annotated[
        str | None,
        Field(
            max_length=NAME_CHARS,
            description="only answers given in this tenure band (config feedback.tenure_bands, e.g. '<1y')",
        ),
    ] = None,
    by: Annotated[
        str | None,
        Field(
            max_length=NAME_CHARS,
            description="NPS and CSAT per group: segment, plan, tenure, or another accounts column (csm, region)",
        ),
    ] = None,
    trend: Annotated[Granularity, Field(description="trend by month or quarter")] = "quarter",
    trend_periods: Annotated[
        int | None,
        Field(ge=1, le=36, description="months/quarters in the trend (default from config: 6 months, 4 quarters)"),
    ] = None,
    followup_days: Annotated[
        int | None,
        Field(ge=1, le=365, description="detractor answers of the last N days are checked for follow-up "
              "(default from config, 30)"),
    ] = None,
    limit: Annotated[
        int | None, Field(ge=1, le=50, description="detractors due for follow-up per page (default 25)")
    ] = None,
    cursor: Annotated[
        str | None, Field(max_length=NAME_CHARS, description="next_cursor of the previous page of follow-ups")
    ] = None,
) -> Annotated[CallToolResult, NpsReport]:
    """NPS for a period and cut with its distribution, trend, comment themes (promoter vs detractor drivers) and
    the detractors due for follow-up; CSAT beside it."""
    ws = await workspace(ctx)
    result = await run_domain(
        nps_analysis, ws, period, start_date, end_date, segment, plan, tenure, by, trend, trend_periods,
        followup_days, limit, cursor,
    )
    return respond(result, render_nps(result), app_state(ctx).settings.server.max_text_chars)


TOOLS = [
    ToolSpec(
        name="nps-analysis",
        family="nps",
        fn=nps_analysis_tool,
        title="NPS analysis",
        description=(
            "NPS for a period (last 12 months by default, a quarter or dates) and a cut (segment, plan, tenure "
            "band), optionally per group: promoters/passives/detractors, 0-10 distribution, trend by month or "
            "quarter, and CSAT from tickets. Comment themes show what drives promoters vs detractors, with "
            "examples; detractors with no CSM touch since their answer are listed for follow-up, largest ARR first."
        ),
    )
]
