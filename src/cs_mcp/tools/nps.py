"""nps-analysis: NPS for a period and cut, distribution, trend, comment themes, detractors due for follow-up."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from cs_mcp.domain.formatting import pct
from cs_mcp.domain.nps import Granularity, NpsFigures, NpsReport, nps_analysis
from cs_mcp.domain.nps_themes import ThemeStat
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


def p_text(p: float | None) -> str:
    if p is None:
        return "p n/a"
    return "p<0.001" if p < 0.001 else f"p={p:.2g}"


def contrast(t: ThemeStat) -> str:
    return (f"{pct(t.share_of_detractor_comments)} of detractor vs {pct(t.share_of_promoter_comments)} of "
            f"promoter comments, {p_text(t.p_value)}")


def theme_lines(r: NpsReport) -> list[str]:
    """Coverage, drivers, then one line per theme with its contrast and closest quote."""
    c, cov = r.comments, r.theme_coverage
    if not c.comments:
        return []
    if cov.method == "discovered":
        how = f"{len(r.themes)} themes learned from the comments"
    else:
        how = f"{len(r.themes)} keyword themes (feedback.themes; {cov.reason})"
    lines = [
        f"Comment themes: {c.comments} comments ({c.promoter_comments}P/{c.passive_comments}N/"
        f"{c.detractor_comments}D); {how} cover {pct(cov.coverage)}; other {cov.other} "
        f"({cov.other_promoters}P/{cov.other_passives}N/{cov.other_detractors}D)"
    ]
    by = {t.theme: t for t in r.themes}
    for side, names in (("Detractor", r.detractor_drivers), ("Promoter", r.promoter_drivers)):
        lines.append(f"{side} drivers: " + (", ".join(
            f"{n} ({pct(by[n].share_of_detractor_comments)} vs {pct(by[n].share_of_promoter_comments)})"
            for n in names
        ) or "none significant"))
    for t in r.themes[:MAX_THEMES_SHOWN]:
        terms = f" [{', '.join(t.top_terms[:3])}]" if t.seed and cov.method == "discovered" else ""
        quote = f': "{clip(t.examples[0].text)}" ({t.examples[0].score})' if t.examples else ""
        n = f"{t.mentions} comment" + ("s" if t.mentions != 1 else "")
        lines.append(f"- {t.theme}{terms}: {n}; {contrast(t)}{quote}")
    if len(r.themes) > MAX_THEMES_SHOWN:
        lines.append(f"... {len(r.themes) - MAX_THEMES_SHOWN} more themes in the structured content")
    return lines


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
    lines += theme_lines(r)
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
            description="NPS per group: segment, plan, tenure, another accounts column (csm, region), or a column "
            "of the nps table (survey, channel; write nps.<column> when accounts has one of the same name)",
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
    export: Export = None,
) -> Annotated[CallToolResult, NpsReport]:
    """NPS for a period and cut with its distribution, trend, comment themes (promoter vs detractor drivers) and
    the detractors due for follow-up; CSAT beside it."""
    ws = await workspace(ctx)
    rows, start = whole_list(ctx, export, limit, cursor)
    result = await run_domain(
        nps_analysis, ws, period, start_date, end_date, segment, plan, tenure, by, trend, trend_periods,
        followup_days, rows, start,
    )
    return await answer(ctx, "nps-analysis", result, render_nps, export, limit)


TOOLS = [
    ToolSpec(
        name="nps-analysis",
        family="nps",
        fn=nps_analysis_tool,
        title="NPS analysis",
        description=(
            "NPS for a period (last 12 months by default, a quarter or dates) and a cut (segment, plan, tenure "
            "band), optionally per group (also any column of the nps table, e.g. survey or channel): "
            "promoters/passives/detractors, 0-10 distribution, trend by month or quarter, and CSAT from tickets. "
            "Themes learned from the comments, with their coverage, show what drives detractors vs promoters "
            "(significance-tested) with the closest quotes; detractors with no CSM touch since their answer are "
            "listed for follow-up, largest ARR first."
        ),
    )
]
