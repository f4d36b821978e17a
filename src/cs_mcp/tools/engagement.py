"""engagement-report: engagement score, cadence, stakeholder breadth and red flags for an account or the portfolio."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from cs_mcp.domain.engagement import (
    FLAG_LABELS,
    AccountEngagement,
    EngagementReport,
    PortfolioEngagement,
    Sort,
    engagement_report,
)
from cs_mcp.domain.formatting import score_text
from cs_mcp.tools.exports import Export, answer, whole_list
from cs_mcp.tools.registry import (
    NAME_CHARS,
    Cursor,
    ToolSpec,
    caveat_lines,
    money,
    run_domain,
    workspace,
)

BAND_LABELS = {"high": "high", "medium": "medium", "low": "low", "at_risk": "at risk", "unknown": "unknown"}
SHORT = {"frequency": "F", "quality": "Q", "breadth": "B", "product": "P"}


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.0f}"


def render_account(a: AccountEngagement) -> str:
    who = ", ".join(x for x in (a.segment, f"CSM {a.csm_id}" if a.csm_id else None, f"ARR {money(a.arr)}") if x)
    bands = ", ".join(f"{k} {v:g}" for k, v in a.bands.items())
    lines = [
        f"{a.name} ({a.account_id}), {who}: engagement {a.score:.1f}/100, {BAND_LABELS[a.band].upper()} "
        f"(bands: {bands}; below low: at risk), as of {a.as_of}"
    ]
    lines.append("Components: " + ", ".join(
        f"{c.component} {_num(c.score)} (weight {c.weight:g}"
        + (f", effective {c.effective_weight:g}" if c.score is not None and c.effective_weight != c.weight else "")
        + ")"
        for c in a.components
    ))
    for c in a.components:
        if c.score is not None:
            lines.append(f"- {c.component}: " + "; ".join(
                f"{m.metric.replace('_', ' ')}: no data" if m.points is None
                else f"{m.display} ({m.points:g}/{m.max_points:g})"
                for m in c.metrics
            ))
    if a.cadence:
        cd = a.cadence
        last = (
            "never touched" if cd.last_touch is None
            else f"last touch {cd.last_touch} ({cd.days_since_last_touch}d ago)"
        )
        gap = "n/a" if cd.median_gap_days is None else f"{cd.median_gap_days:g} days"
        lines.append(
            f"Cadence: {cd.touches_in_window} touches in {cd.window_days} days vs {cd.expected_in_window:g} expected; "
            f"per 30-day month, oldest first: {', '.join(str(m.touches) for m in cd.months)} "
            f"(avg {cd.average_per_month:g}); median gap {gap}; {last}"
        )
    if a.stakeholders:
        st = a.stakeholders
        roles = ", ".join(f"{r} {n}" for r, n in st.by_role.items()) or "none"
        lines.append(
            f"Stakeholders: {st.active_contacts} active contacts ({roles}); departments: "
            f"{', '.join(st.departments) or 'none'}; champion {'yes' if st.champion else 'no'}; executive sponsor "
            f"{'yes' if st.executive_sponsor else 'no'}" + ("; SINGLE-THREADED" if st.single_threaded else "")
        )
    if a.red_flags:
        lines.append("Red flags:")
        lines += [f"- {f.message}: {f.action}" for f in a.red_flags]
    else:
        lines.append("Red flags: none")
    lines += caveat_lines(a.not_computed, a.note)
    return "\n".join(lines)


def render_portfolio(p: PortfolioEngagement) -> str:
    shown = f" ({', '.join(f'{k}={v}' for k, v in p.filters.items())})" if p.filters else ""
    avg = "n/a" if p.average_score is None else f"{p.average_score:.1f}"
    lines = [f"Engagement as of {p.as_of}{shown}: {p.scored_accounts} active accounts scored, average {avg}"]
    lines.append("Bands: " + ", ".join(f"{BAND_LABELS[b.band]} {b.accounts} ({money(b.arr)})" for b in p.bands))
    flags = [f"{f.label} {f.accounts} ({money(f.arr)})" for f in p.red_flags if f.accounts]
    lines.append("Red flags: " + (", ".join(flags) if flags else "none"))
    lines.append("Weights: " + ", ".join(f"{k} {v:g}" for k, v in p.weights.items()))
    order = {"lowest": "lowest score first", "highest": "highest score first", "arr": "largest ARR first"}[p.sort]
    lines.append(f"{p.returned} of {p.total}, {order} (F/Q/B/P = frequency/quality/breadth/product):")
    for r in p.accounts:
        comps = " ".join(f"{SHORT.get(k, k)} {_num(v)}" for k, v in r.components.items())
        bits = [f"{score_text(r.score)} {BAND_LABELS[r.band].upper()}", f"ARR {money(r.arr)}", comps]
        if r.touches_in_window is not None:
            last = "never touched" if r.days_since_last_touch is None else f"last touch {r.days_since_last_touch}d"
            bits.append(f"{r.touches_in_window} touches, {last}")
        if r.active_contacts is not None:
            bits.append(f"{r.active_contacts} contact{'s' if r.active_contacts != 1 else ''}")
        if r.red_flags:
            bits.append("flags: " + ", ".join(FLAG_LABELS.get(f, f) for f in r.red_flags))
        lines.append(f"{r.rank}. {r.name[:40]} ({r.account_id}) " + " | ".join(bits))
    if p.next_cursor:
        lines.append(f"More: pass cursor={p.next_cursor}")
    lines += caveat_lines(p.not_computed, p.note)
    return "\n".join(lines)


def render_engagement(r: EngagementReport) -> str:
    return render_account(r.account) if r.account else render_portfolio(r.portfolio)


async def engagement_report_tool(
    ctx: Context,
    account: Annotated[
        str | None,
        Field(max_length=NAME_CHARS, description="one account's id or name; omit for the portfolio ranking"),
    ] = None,
    segment: Annotated[
        str | None, Field(max_length=NAME_CHARS, description="portfolio: only this segment, e.g. enterprise")
    ] = None,
    csm_id: Annotated[
        str | None,
        Field(max_length=NAME_CHARS, description="portfolio: only this CSM's accounts ('unassigned' for none)"),
    ] = None,
    band: Annotated[
        Literal["high", "medium", "low", "at_risk"] | None,
        Field(description="portfolio: list only this band (the band counts still cover the filtered set)"),
    ] = None,
    sort: Annotated[
        Sort, Field(description="portfolio order: lowest score first, highest first, or largest ARR first")
    ] = "lowest",
    limit: Annotated[
        int | None, Field(ge=1, le=50, description="portfolio rows per page (default: the server's page size)")
    ] = None,
    cursor: Cursor = None,
    export: Export = None,
) -> Annotated[CallToolResult, EngagementReport]:
    """Engagement score 0-100 (frequency, quality, breadth, product) for one account with cadence, stakeholders
    and red flags, or the portfolio ranked with band and red-flag counts."""
    ws = await workspace(ctx)
    rows, start = whole_list(ctx, export, limit, cursor)
    result = await run_domain(
        engagement_report, ws, account=account, segment=segment, csm_id=csm_id, band=band, sort=sort,
        limit=rows, cursor=start,
    )
    return await answer(ctx, "engagement-report", result, render_engagement, export, limit)


TOOLS = [
    ToolSpec(
        name="engagement-report",
        family="engagement",
        fn=engagement_report_tool,
        title="Engagement report",
        description=(
            "Engagement score 0-100 from frequency (touches vs the segment's cadence, recency), quality "
            "(outreach answered, meetings held, QBR/EBR, outcomes), breadth (contacts, departments, champion, "
            "executive sponsor) and product (logins, feature adoption). For one account: components with inputs, "
            "touch cadence, stakeholder map and red flags with actions. Without an account: active accounts "
            "ranked, with band and red-flag counts; filters segment, CSM, band."
        ),
    )
]
