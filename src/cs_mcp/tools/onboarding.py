"""onboarding-plan: create a dated onboarding plan, save it, and track its milestones."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from cs_mcp.config import OnboardingFocus
from cs_mcp.domain.onboarding import (
    OWNER_LABELS,
    Action,
    MilestoneUpdate,
    OnboardingPlan,
    OnboardingPlanResult,
    PlanList,
    PlanProgress,
    Stakeholders,
    onboarding_plan,
)
from cs_mcp.tools.registry import NAME_CHARS, Day, ToolSpec, app_state, respond, run_domain, workspace

STATE_LABELS = {
    "not_started": "NOT STARTED",
    "on_track": "ON TRACK",
    "at_risk": "AT RISK",
    "late": "LATE",
    "complete": "COMPLETE",
}


def _who(owner: str, name: str | None) -> str:
    return OWNER_LABELS[owner] + (f" {name}" if name else "")


def _md(d: dt.date) -> str:
    return d.strftime("%m-%d")


def render_plan(plan: OnboardingPlan, title: bool = True) -> list[str]:
    c = plan.customer
    who = f"{c.name} ({c.account_id})" if c.account_id else f"{c.name} (new customer)"
    users = f"{plan.users:,} users" if plan.users is not None else "users unknown"
    lines = [
        f"Onboarding plan{' ' + plan.plan_id if plan.plan_id else ''}: {who}, {c.segment or 'segment unknown'}, "
        f"{users}, {plan.timeline_days} days {plan.start_date} to {plan.end_date}",
    ] if title else []
    lines += [
        f"Go-live (first value) {plan.targets.go_live}, day {plan.targets.time_to_first_value_days}; focus: "
        f"{', '.join(plan.focus)}" + (f"; goal: {plan.goal}" if plan.goal else ""),
    ]
    if c.stakeholders:
        lines.append("People: " + ", ".join(f"{OWNER_LABELS[r]} {n}" for r, n in c.stakeholders.items()))
    lines.append("Phases: " + " | ".join(f"{p.title} wk {p.weeks} ({_md(p.start)}..{_md(p.end)})"
                                         for p in plan.phases))
    lines.append("Milestones (week, due, id, owner, exit criterion):")
    for m in plan.milestones:
        state = "" if m.status == "open" else f"[{m.status}{' ' + str(m.completed_on) if m.completed_on else ''}] "
        lines.append(f"- wk{m.week} {m.due} {state}{m.id}: {m.title} [{_who(m.owner, m.owner_name)}] - "
                     f"{m.success_criteria}")
    horizon = plan.start_date + dt.timedelta(days=14)
    soon = [a for a in plan.action_items if a.due < horizon]
    lines.append(f"Action items, first 2 weeks ({len(soon)} of {len(plan.action_items)}):")
    lines += [f"- {a.due} {_who(a.owner, a.owner_name)}: {a.task}" for a in soon]
    status = [x for x in plan.communications if x.kind == "status"]
    others = [x for x in plan.communications if x.kind != "status"]
    comms = [f"{_md(x.date)} {x.title}" for x in others]
    if status:
        comms.append(f"{status[0].title}: {len(status)} from {_md(status[0].date)} to {_md(status[-1].date)}")
    lines.append("Communications: " + "; ".join(comms))
    if plan.risks:
        lines.append("Risks:")
        lines += [f"- [{r.severity}] {r.risk} -> {r.mitigation}" for r in plan.risks]
    t = plan.targets
    act = ", ".join(
        f"{a.share:.0%}" + (f" ({a.users:,})" if a.users is not None else "") + f" by {a.date}"
        for a in t.activation
    )
    lines.append(
        f"Targets: users active {act}; health green from {t.health_green_from:g} ({t.health_model} model); "
        f"CSM contact every {t.contact_every_days} days or less; no critical ticket open over "
        f"{t.critical_ticket_hours:g} h; no user group without a login for {t.no_login_days} days after go-live"
    )
    if plan.notes:
        lines.append("Notes: " + " ".join(plan.notes))
    lines.append(f"Tables used: {', '.join(plan.tables_used)}")
    return lines


def render_progress(plan: OnboardingPlan, p: PlanProgress) -> list[str]:
    c = plan.customer
    who = f"{c.name} ({c.account_id})" if c.account_id else c.name
    phase = next((x.title for x in plan.phases if x.name == p.current_phase), "done")
    lines = [
        f"Plan {plan.plan_id}: {who}, {STATE_LABELS[p.status]}, {p.progress_pct:g}% done ({p.done} of {p.total} "
        f"milestones), as of {p.as_of}",
    ]
    go_live = ("done" if p.days_to_go_live is None
               else f"{plan.targets.go_live} ({p.days_to_go_live:+d} days)")
    lines.append(f"Current phase: {phase}; go-live {go_live}; blocked {p.blocked}")
    if p.overdue:
        lines.append(f"Overdue ({len(p.overdue)}):")
        lines += [
            f"- {o.id}: {o.title}, due {o.due} ({o.days_overdue} days)"
            + (" BLOCKED" if o.status == "blocked" else "") + f" [{_who(o.owner, o.owner_name)}]"
            for o in p.overdue
        ]
    if p.next_steps:
        lines.append("Next steps:")
        lines += [f"- {s.due} {s.id}: {s.title} [{_who(s.owner, s.owner_name)}]"
                  + (f" ({s.status}: {s.note})" if s.note else (f" ({s.status})" if s.status != "open" else ""))
                  for s in p.next_steps]
    return lines


def render_list(listed: PlanList) -> list[str]:
    lines = [f"{listed.returned} of {listed.total} saved onboarding plans (late and at risk first):"]
    for r in listed.plans:
        nxt = f"; next {r.next_milestone} {r.next_due}" if r.next_milestone else ""
        lines.append(
            f"- {r.plan_id} {r.name[:40]}: {STATE_LABELS[r.status]}, {r.progress_pct:g}% done, "
            f"{r.overdue} overdue, {r.blocked} blocked; go-live {r.go_live}{nxt}"
        )
    if listed.next_cursor:
        lines.append(f"More: pass cursor={listed.next_cursor}")
    if listed.problems:
        lines.append("Unreadable plan files: " + "; ".join(listed.problems[:5]))
    return lines


def render_result(result: OnboardingPlanResult) -> str:
    lines: list[str] = []
    if result.action in ("get", "update") and result.plan and result.progress:
        lines += render_progress(result.plan, result.progress)
        lines.append(result.message)
        lines += render_plan(result.plan, title=False)
    elif result.plan:
        lines += render_plan(result.plan)
        if result.progress:
            lines.append(f"Progress: {result.progress.progress_pct:g}% ({result.progress.done} of "
                         f"{result.progress.total})")
        lines.append(result.message)
    elif result.plans:
        lines += render_list(result.plans)
        lines.append(f"Plans are kept in {result.store}")
    return "\n".join(lines)


async def onboarding_plan_tool(
    ctx: Context,
    action: Annotated[
        Action,
        Field(description="create (default): a dated plan, saved only with save=true; get: a saved plan with its "
                          "progress; update: change milestones of a saved plan; list: saved plans with progress"),
    ] = "create",
    account: Annotated[
        str | None,
        Field(max_length=NAME_CHARS,
              description="create: the customer, an account id or name in the data or a new customer's name; "
                          "get/update: the account whose latest saved plan to use; list: only this account"),
    ] = None,
    plan_id: Annotated[str | None, Field(max_length=NAME_CHARS, description="get/update: a saved plan's id")] = None,
    start_date: Annotated[
        Day | None, Field(description="kickoff date, YYYY-MM-DD (default: the next working day)")
    ] = None,
    users: Annotated[
        int | None, Field(ge=1, le=1_000_000, description="users to onboard (default: seats purchased)")
    ] = None,
    focus: Annotated[
        list[OnboardingFocus] | None,
        Field(max_length=10, description="what the customer wants first; adds the matching milestones and actions "
                                        "(default: onboarding.default_focus in the config)"),
    ] = None,
    timeline_weeks: Annotated[
        int | None,
        Field(ge=1, le=52, description="length in weeks (default: by segment from the config, e.g. enterprise 90 "
                                       "days)"),
    ] = None,
    timeline_days: Annotated[int | None, Field(ge=7, le=365, description="length in days, instead of weeks")] = None,
    segment: Annotated[
        str | None,
        Field(
            max_length=NAME_CHARS,
            description="segment of a new customer, e.g. enterprise (default: from the data or users)",
        ),
    ] = None,
    goal: Annotated[
        str | None, Field(max_length=300, description="the first success criterion, e.g. 'month-end reporting'")
    ] = None,
    stakeholders: Annotated[
        Stakeholders | None,
        Field(description="named people, e.g. {champion: 'Ann Lee', project_lead: 'Raj'}; fill owners"),
    ] = None,
    save: Annotated[
        bool, Field(description="create: save the plan so milestones can be updated (writes a file)")
    ] = False,
    updates: Annotated[
        list[MilestoneUpdate] | None,
        Field(max_length=50, description="update: milestone changes, e.g. [{milestone: 'environment', status: "
                                         "'done', on: '2027-02-10'}, {milestone: 'go-live', due: '2027-03-20'}]"),
    ] = None,
    limit: Annotated[int | None, Field(ge=1, le=100, description="list: plans per page (default 25)")] = None,
    cursor: Annotated[
        str | None, Field(max_length=NAME_CHARS, description="list: next_cursor of the previous page")
    ] = None,
) -> Annotated[CallToolResult, OnboardingPlanResult]:
    """Create, save, get, update or list onboarding plans with dated milestones, owners and progress."""
    ws = await workspace(ctx)
    result = await run_domain(
        onboarding_plan, ws, action, account, plan_id, start_date, users, focus, timeline_weeks, timeline_days,
        segment, goal, stakeholders, save, updates, limit, cursor,
    )
    return respond(result, render_result(result), app_state(ctx).settings.server.max_text_chars)


TOOLS = [
    ToolSpec(
        name="onboarding-plan",
        family="onboarding",
        fn=onboarding_plan_tool,
        title="Onboarding plan",
        description=(
            "Personalised onboarding plan for a customer in the data or a new one, from start date, users, focus "
            "and timeline: phases, week-by-week milestones with due dates, owners and exit criteria, action items, "
            "communication schedule, risks with mitigations, activation and health targets. action=create drafts "
            "it (save=true writes it to the plan store); get, update (mark milestones done or blocked, move due "
            "dates) and list track progress, overdue milestones and next steps. Writes only when saving or "
            "updating."
        ),
        read_only=False,
    )
]
