"""account-review-prep: the QBR pack of one account for a review period."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from cs_mcp.domain.account_review import AccountReview, account_review
from cs_mcp.domain.formatting import day_count, distinct_facts, money, pct, score_text
from cs_mcp.domain.renewal_strategy import CATEGORY_WORDS
from cs_mcp.tools.registry import AccountArg, Day, ToolSpec, app_state, caveat_lines, respond, run_domain, workspace


def render_review(r: AccountReview) -> str:
    p = r.period
    out = [f"QBR pack: {r.name} ({r.account_id}), {p.label} ({p.first_day} to {p.last_day}), as of {r.as_of}"]
    out.append("Summary: " + " ".join(r.executive_summary))
    if r.usage:
        months = ", ".join(
            f"{m.month} {m.active_users:.0f}/{m.logins or 0:,}" + ("*" if m.to_date else "")
            for m in r.usage.months if m.active_users is not None
        )
        out.append(f"Usage (active users/logins per month): {months or 'no rows'}")
    if r.adoption:
        a = r.adoption
        new = f"; new: {', '.join(a.new_features)}" if a.new_features else ""
        out.append(f"Adoption: {len(a.features_used)} of {a.catalogue_size} features ({pct(a.adoption)}){new}"
                   + (f"; unused: {', '.join(a.unused_features)}" if a.unused_features else ""))
    if r.support:
        s = r.support
        med = "n/a" if s.median_resolution_hours is None else f"{s.median_resolution_hours:g} h"
        out.append(f"Support: {s.opened} opened (previous period {s.opened_previous_period}), {s.resolved} resolved, "
                   f"median {med}, {s.open_now} open ({s.open_critical} critical), {s.escalated} escalated; "
                   f"CSAT {pct(s.csat)} of {s.csat_responses}")
    if r.satisfaction and r.satisfaction.respondents:
        n = r.satisfaction
        out.append(f"NPS {n.nps:+.0f} from {n.respondents}: {n.promoters} promoter(s), {n.passives} passive(s), "
                   f"{n.detractors} detractor(s)")
    h = r.health
    dims = ", ".join(f"{k} {'n/a' if v is None else f'{v:.0f}'}" for k, v in h.dimensions.items())
    hist = ", ".join(f"{t.days_ago}d ago {score_text(t.score)}" for t in h.history if t.score is not None)
    score = "n/a" if h.score is None else score_text(h.score)
    out.append(f"Health {score} {h.band}" + (f", {h.trend.replace('_', ' ')}" if h.trend else "")
               + (f" ({hist})" if hist else "") + (f"; {dims}" if dims else ""))
    k = r.risks
    risks = [f"[{a.severity}] {a.message}" for a in k.alerts[:3]] + k.churn_drivers[:3] + k.risk_factors[:2]
    if risks:
        churn = "" if k.churn_probability is None else f" ({k.churn_probability:g}% risk of loss by the renewal)"
        out.append(f"Risks (internal){churn}: " + "; ".join(distinct_facts(risks)))
    if k.customer_comments:
        out.append("In their words: " + " | ".join(
            f'"{c.text}" (NPS {c.score}, {c.responded_at})' for c in k.customer_comments))
    o = r.outlook
    if o.renewal_date:
        prob = "" if o.probability is None else f", {o.probability:g}% {CATEGORY_WORDS.get(o.category or '', '')}"
        out.append(f"Renewal: {o.renewal_date} ({day_count(o.days_to_renewal)}){prob}"
                   + (f", expected {o.expected_outcome}" if o.expected_outcome else ""))
    if o.expansion_held:
        out.append(f"Expansion held back ({o.expansion_held}): " + "; ".join(o.expansion_signals))
    elif o.expansion_signals:
        out.append(f"Expansion ({money(o.expansion_arr)} proposable): " + "; ".join(o.expansion_signals))
    if r.stakeholders:
        st = r.stakeholders
        roles = ", ".join(f"{role} {n}" for role, n in st.by_role.items())
        out.append(f"Stakeholders: {st.active_contacts} active ({roles or 'none'}); {st.exec_sponsor_note}")
    out.append(f"Agenda for the customer ({r.meeting_minutes} min):")
    out += [f"- {a.start_minute}-{a.start_minute + a.minutes} min {a.topic}: {a.points}" for a in r.agenda]
    out.append("Prep:")
    out += [f"- {t}" for t in r.prep_todos]
    out += caveat_lines(r.not_computed, r.note)
    return "\n".join(out)


async def account_review_prep(
    ctx: Context,
    account: AccountArg,
    days: Annotated[
        int | None, Field(ge=7, le=366, description="review the last N days (default from config, 90)")
    ] = None,
    period: Annotated[
        str | None,
        Field(
            max_length=40,
            description="a named period instead: 'last-quarter', '2026-Q2' (a bare 'Q2' is the latest Q2 that "
            "began before the as-of date), 'last-3-months', 'ytd'",
        ),
    ] = None,
    from_date: Annotated[Day | None, Field(description="first day of the review period, YYYY-MM-DD")] = None,
    to_date: Annotated[
        Day | None, Field(description="last day of the review period (inclusive), YYYY-MM-DD")
    ] = None,
) -> Annotated[CallToolResult, AccountReview]:
    """QBR pack for one account: executive summary, value delivered (usage trend, adoption, support, NPS), health,
    risks, renewal and expansion outlook, stakeholders, a timed agenda and prep to-dos."""
    ws = await workspace(ctx)
    result = await run_domain(account_review, ws, account, days, period, from_date, to_date)
    return respond(result, render_review(result), app_state(ctx).settings.server.max_text_chars)


TOOLS = [
    ToolSpec(
        name="account-review-prep",
        family="review",
        fn=account_review_prep,
        title="Account review (QBR) prep",
        description=(
            "QBR pack for one account and a review period (default the last 90 days): executive summary, value "
            "delivered (monthly active users and logins, feature adoption, tickets and resolution time, NPS and "
            "CSAT), health with dimensions and trend, risks and churn drivers, renewal and expansion outlook, "
            "stakeholders and executive sponsor status, a timed 5-7 item agenda and prep to-dos for the CSM."
        ),
    )
]
