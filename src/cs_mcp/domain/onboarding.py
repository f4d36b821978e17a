"""Onboarding plans: dated milestones with owners, action items, communications, risks and targets;
saved plans track milestone progress.

Dates, for a timeline of T days from the kickoff date S (settings `onboarding`):
- phase p ends on day round(T x phase_ends[p]) (halves round up) and starts where the previous one ended;
- an item at position a (0..1) of its phase is due on day start + round(a x (end - start)) of the phase;
  activation targets (timeline share t, user share u) are milestones due on day round(t x T);
- a due date on a weekend moves to the Friday before, never before kickoff (`weekend_to_friday`);
  a kickoff on a weekend moves to the Monday after;
- week n holds days 7(n-1) .. 7n-1 after kickoff.
Progress = done milestones / all milestones. A milestone not done whose due date is before today is
overdue; the plan is late when one is overdue by more than `late_after_days` or go-live is overdue,
at risk when any is overdue or blocked, complete when all are done.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from cs_mcp.config import ONBOARDING_PHASES, OnboardingFocus, parse_holiday_period
from cs_mcp.domain.accounts import resolve_account
from cs_mcp.domain.errors import AccountNotFound, InvalidArgument, NoData
from cs_mcp.domain.paging import Page, decode_cursor, encode_cursor
from cs_mcp.domain.periods import Day
from cs_mcp.domain.plan_store import PlanStore, check_plan_id, plans_dir
from cs_mcp.workspace.queries.accounts import csm_record, distinct_values
from cs_mcp.workspace.queries.onboarding import plan_account, plan_owner_contacts

if TYPE_CHECKING:
    from cs_mcp.config import OnboardingSettings, Settings
    from cs_mcp.workspace.loader import Workspace

Action = Literal["create", "get", "update", "list"]
Phase = Literal["kickoff", "setup", "go_live", "adoption", "review"]
Owner = Literal[
    "csm", "onboarding_specialist", "account_executive", "solutions_engineer",
    "customer_project_lead", "customer_admin", "champion", "executive_sponsor",
]
MilestoneStatus = Literal["open", "done", "blocked"]
PlanState = Literal["not_started", "on_track", "at_risk", "late", "complete"]

OWNER_LABELS: dict[str, str] = {
    "csm": "CSM",
    "onboarding_specialist": "onboarding specialist",
    "account_executive": "AE",
    "solutions_engineer": "solutions engineer",
    "customer_project_lead": "customer project lead",
    "customer_admin": "customer admin",
    "champion": "champion",
    "executive_sponsor": "executive sponsor",
}

PHASES: dict[str, tuple[str, str]] = {
    "kickoff": ("Kickoff", "signed-off plan; named owners on both sides"),
    "setup": ("Technical setup", "the system is usable with real data by the first user group"),
    "go_live": ("Training and go-live", "go-live; first meaningful outcome recorded (time to first value)"),
    "adoption": ("Adoption", "activation and health targets met, or a dated plan to meet them"),
    "review": ("Onboarding review and handoff", "the account runs on its segment's cadence; plan closed"),
}

# id, phase, position in the phase, owner, title, success criterion, focus area it serves (None: always)
MILESTONES: tuple[tuple[str, str, float, str, str, str, str | None], ...] = (
    ("kickoff", "kickoff", 0.0, "csm", "Kickoff meeting with the executive sponsor",
     "sponsor attended; goals, scope, roles and cadence agreed", None),
    ("success-criteria", "kickoff", 1.0, "csm", "Success criteria and project plan signed off",
     "each success criterion has a metric and a date; a customer-side owner per workstream", None),
    ("environment", "setup", 0.5, "onboarding_specialist", "Environment provisioned, SSO and user provisioning set",
     "admins sign in with SSO; users are provisioned without manual steps", None),
    ("admin-training", "setup", 0.75, "onboarding_specialist", "Admins trained on configuration and users",
     "customer admins change settings and add users without help", "admin-setup"),
    ("integrations", "setup", 1.0, "solutions_engineer", "Integrations connected and verified",
     "a sample syncs end to end; sync errors are monitored", "integrations"),
    ("data-migration", "setup", 1.0, "onboarding_specialist", "Historical data migrated and reconciled",
     "record counts and totals match the source system", "data-migration"),
    ("setup-complete", "setup", 1.0, "onboarding_specialist", "Technical setup complete",
     "the first user group works with real data; security and compliance questions closed", None),
    ("first-training", "go_live", 0.4, "onboarding_specialist", "Role-based training for the first user group",
     "every first-wave user trained, live or recorded", None),
    ("champions-trained", "go_live", 0.6, "champion", "Champions trained to train their teams",
     "each team in scope has a trained champion and the training material", "training"),
    ("reports-live", "go_live", 0.8, "customer_admin", "Core reports and dashboards live",
     "the sponsor's first report comes from the product, not a spreadsheet", "reporting"),
    ("go-live", "go_live", 1.0, "customer_project_lead", "Go-live: first workflow in production",
     "first meaningful outcome recorded (time to first value)", None),
    ("second-wave-training", "adoption", 0.4, "onboarding_specialist", "Second-wave training",
     "users of every team in scope trained on the features behind the success criteria", "training"),
    ("inactive-users", "adoption", 0.5, "champion", "Inactive users invited and trained team by team",
     "no team in scope without a login for {no_login_days} days", "adoption"),
    ("health-green", "adoption", 1.0, "csm", "Health score green",
     "health-score {green} or above (yellow from {yellow} with a rising trend is acceptable)", None),
    ("onboarding-review", "review", 1.0, "csm", "Onboarding review with the executive sponsor",
     "success criteria status agreed, next goals set; champion, sponsor and admin named", None),
    ("steady-state", "review", 1.0, "csm", "Handoff to the steady-state cadence",
     "segment cadence running and first QBR scheduled", None),
)

# phase, position, owner, task, focus area (None: always), milestone it serves
ACTIONS: tuple[tuple[str, float, str, str, str | None, str], ...] = (
    ("kickoff", 0.0, "account_executive",
     "Hand off to CS: goals, success criteria, stakeholders, promises made, deadlines", None, "kickoff"),
    ("kickoff", 0.0, "csm", "Record contract facts (ARR, seats, products, dates); start the stakeholder map",
     None, "kickoff"),
    ("kickoff", 0.0, "csm", "Brief the onboarding specialist and support on scope and risks", None, "kickoff"),
    ("kickoff", 0.0, "executive_sponsor", "Attend the kickoff and state the business goals", None, "kickoff"),
    ("kickoff", 1.0, "customer_project_lead", "Name a customer-side owner for each workstream", None,
     "success-criteria"),
    ("kickoff", 1.0, "csm", "Agree the communication schedule and escalation path", None, "success-criteria"),
    ("setup", 0.2, "customer_admin", "Send the SSO / identity-provider details and the first user list", None,
     "environment"),
    ("setup", 0.3, "solutions_engineer", "Map integration endpoints and credentials with the technical owner",
     "integrations", "integrations"),
    ("setup", 0.3, "customer_admin", "Export the historical data and agree the field mapping", "data-migration",
     "data-migration"),
    ("setup", 0.5, "onboarding_specialist", "Provision the environment; configure SSO and user provisioning",
     None, "environment"),
    ("setup", 0.75, "onboarding_specialist", "Train admins on configuration and user management", "admin-setup",
     "admin-training"),
    ("setup", 0.9, "solutions_engineer", "Run a sample sync and verify it with the customer", "integrations",
     "integrations"),
    ("setup", 0.9, "onboarding_specialist", "Migrate and reconcile a sample, then the full load",
     "data-migration", "data-migration"),
    ("setup", 1.0, "onboarding_specialist", "Close the security and compliance questions", None,
     "setup-complete"),
    ("go_live", 0.2, "champion", "Confirm the first user group and its use case (the top success criterion)",
     None, "first-training"),
    ("go_live", 0.4, "onboarding_specialist", "Run role-based training for the first user group", None,
     "first-training"),
    ("go_live", 0.6, "onboarding_specialist", "Run train-the-trainer sessions for champions", "training",
     "champions-trained"),
    ("go_live", 0.7, "customer_admin", "Build the core reports and dashboards with the specialist", "reporting",
     "reports-live"),
    ("go_live", 0.9, "executive_sponsor", "Announce go-live to users", None, "go-live"),
    ("go_live", 0.9, "csm", "Explain the support process: tickets, priorities, self-service", None, "go-live"),
    ("go_live", 1.0, "customer_project_lead", "Record the first meaningful outcome", None, "go-live"),
    ("adoption", 0.1, "csm", "Track seat activation weekly; invite users who have not logged in", None,
     "health-green"),
    ("adoption", 0.3, "csm", "Run an NPS / CSAT pulse after go-live", None, "health-green"),
    ("adoption", 0.4, "onboarding_specialist", "Deliver second-wave training on the success-criteria features",
     "training", "second-wave-training"),
    ("adoption", 0.5, "champion", "Run team-by-team sessions for users without a login", "adoption",
     "inactive-users"),
    ("adoption", 0.8, "csm", "Check health with health-score and act on the weakest dimension", None,
     "health-green"),
    ("review", 0.5, "csm", "Complete the stakeholder map (champion, sponsor, admin, several teams)", None,
     "onboarding-review"),
    ("review", 1.0, "csm", "Hold the onboarding review with the sponsor; schedule the first QBR", None,
     "steady-state"),
)

COMMUNICATION_PRIORITY = ("review", "go_live", "kickoff", "steering", "checkpoint", "status")


# --------------------------------------------------------------------------------------- models


class Stakeholders(BaseModel):
    """Named people on both sides; they fill owners and settle the stakeholder risks."""

    model_config = ConfigDict(extra="forbid")

    csm: str | None = Field(None, max_length=200, description="the CSM (default: the account's CSM in the data)")
    onboarding_specialist: str | None = Field(
        None, max_length=200, description="onboarding / implementation specialist"
    )
    project_lead: str | None = Field(None, max_length=200, description="the customer's project lead")
    champion: str | None = Field(
        None, max_length=200, description="the customer's champion (default: from contacts)"
    )
    executive_sponsor: str | None = Field(
        None, max_length=200, description="executive sponsor (default: from contacts)"
    )
    admin: str | None = Field(
        None, max_length=200, description="customer admin / technical owner (default: from contacts)"
    )


class MilestoneUpdate(BaseModel):
    """A change to one milestone of a saved plan."""

    model_config = ConfigDict(extra="forbid")

    milestone: str = Field(max_length=200, description="milestone id, e.g. 'environment' (the plan lists them)")
    status: MilestoneStatus | None = Field(None, description="done, blocked, or open (reopen)")
    on: Day | None = Field(None, description="date it was done or blocked, YYYY-MM-DD (default: today)")
    due: Day | None = Field(None, description="new due date, YYYY-MM-DD")
    note: str | None = Field(None, max_length=500, description="what happened, e.g. the blocker")


class Customer(BaseModel):
    account_id: str | None = Field(description="account id in the data; null for a customer not in it yet")
    name: str
    in_data: bool
    segment: str | None = None
    segment_source: Literal["data", "argument", "users", "default"] = Field(
        description="where the segment came from: the data, the segment argument, the users count, or none"
    )
    plan: str | None = None
    arr: float | None = None
    seats_purchased: int | None = None
    status: str | None = None
    renewal_date: dt.date | None = None
    csm_id: str | None = None
    stakeholders: dict[str, str] = Field(
        default_factory=dict, description="owner role -> person's name, from the data and the arguments"
    )


class PlanPhase(BaseModel):
    name: Phase
    title: str
    start: dt.date
    end: dt.date
    weeks: str = Field(description="weeks of the plan the phase spans, e.g. '1-3'")
    exit_criterion: str


class Milestone(BaseModel):
    id: str = Field(description="stable id, used to update the milestone")
    phase: Phase
    title: str
    owner: Owner
    owner_name: str | None = None
    due: dt.date
    week: int = Field(description="week of the plan (week 1 starts at kickoff)")
    success_criteria: str
    focus: OnboardingFocus | None = Field(None, description="the focus area this milestone serves, if one")
    status: MilestoneStatus = "open"
    completed_on: dt.date | None = None
    original_due: dt.date | None = Field(None, description="the first due date, when it was moved")
    notes: list[str] = Field(default_factory=list, description="dated notes, newest last")


class ActionItem(BaseModel):
    id: str
    task: str
    owner: Owner
    owner_name: str | None = None
    due: dt.date
    week: int
    milestone: str = Field(description="the milestone this action serves")


class Communication(BaseModel):
    date: dt.date
    week: int
    kind: Literal["kickoff", "status", "steering", "checkpoint", "go_live", "review"]
    title: str
    owner: Owner
    audience: str


class Risk(BaseModel):
    kind: str = Field(description="pace, compressed_timeline, no_champion, no_sponsor, no_technical_owner, "
                                  "holiday, scope, seats, no_csm, account_status")
    severity: Literal["high", "medium", "low"]
    risk: str
    mitigation: str


class ActivationTarget(BaseModel):
    date: dt.date
    week: int
    share: float = Field(description="share of the users onboarded that are active by the date")
    users: int | None = Field(None, description="that share of the users, rounded up; null when users unknown")


class Targets(BaseModel):
    go_live: dt.date = Field(description="planned go-live: first value")
    time_to_first_value_days: int = Field(description="days from kickoff to go-live")
    activation: list[ActivationTarget]
    health_model: str
    health_green_from: float = Field(description="health score of the green band (the end-of-onboarding target)")
    contact_every_days: int = Field(description="longest gap between CSM contacts that keeps full points")
    critical_ticket_hours: float = Field(description="no critical ticket open longer than this")
    no_login_days: int = Field(description="no user group without a login this long after go-live")


class PlanEvent(BaseModel):
    on: dt.date
    milestone: str
    change: str


class OnboardingPlan(BaseModel):
    plan_id: str | None = Field(None, description="set once saved; use it to get and update the plan")
    customer: Customer
    start_date: dt.date = Field(description="kickoff")
    end_date: dt.date = Field(description="planned end of onboarding")
    timeline_days: int
    timeline_source: Literal["argument", "segment default", "default"]
    users: int | None = Field(description="users to onboard; null when neither given nor in the data")
    users_source: Literal["argument", "seats purchased", "unknown"]
    focus: list[OnboardingFocus]
    goal: str | None = Field(None, description="the customer's first success criterion, in words")
    phases: list[PlanPhase]
    milestones: list[Milestone]
    action_items: list[ActionItem]
    communications: list[Communication]
    risks: list[Risk]
    targets: Targets
    history: list[PlanEvent] = Field(default_factory=list, description="changes since the plan was saved")
    created_on: dt.date | None = None
    updated_on: dt.date | None = None
    tables_used: list[str]
    notes: list[str] = Field(default_factory=list, description="what was assumed or could not be checked")


class MilestoneRef(BaseModel):
    """A milestone in a progress report: overdue, or a next step."""

    id: str
    title: str
    owner: Owner
    owner_name: str | None
    due: dt.date
    status: MilestoneStatus
    days_overdue: int = Field(0, description="days past the due date (0 when not overdue)")
    note: str | None = Field(None, description="the latest note, e.g. a blocker")


class PlanProgress(BaseModel):
    as_of: dt.date = Field(description="today's date: progress is tracked in real time, not as of the data")
    status: PlanState
    progress_pct: float = Field(description="done milestones / all milestones x 100")
    done: int
    total: int
    blocked: int
    overdue: list[MilestoneRef] = Field(description="not done and due before today, most overdue first")
    current_phase: Phase | None = Field(description="phase of the earliest open milestone; null when complete")
    days_to_go_live: int | None = Field(description="days until the go-live milestone; null once done")
    next_steps: list[MilestoneRef] = Field(description="blocked milestones first, then open ones by due date")


class PlanSummary(BaseModel):
    plan_id: str
    account_id: str | None
    name: str
    start_date: dt.date
    go_live: dt.date
    end_date: dt.date
    status: PlanState
    progress_pct: float
    overdue: int
    blocked: int
    next_milestone: str | None
    next_due: dt.date | None
    updated_on: dt.date | None


class PlanList(Page):
    plans: list[PlanSummary]
    problems: list[str] = Field(default_factory=list, description="stored plan files that could not be read")


class OnboardingPlanResult(BaseModel):
    action: Action
    message: str = Field(description="what was done, and what to do next")
    plan: OnboardingPlan | None = None
    progress: PlanProgress | None = Field(None, description="for a saved plan: progress as of today")
    plans: PlanList | None = Field(None, description="action=list: saved plans with their progress")
    store: str = Field(description="the folder where plans are saved")


# ------------------------------------------------------------------------------------- dates


def current_date() -> dt.date:
    return dt.date.today()


def _round(x: float) -> int:
    return math.floor(x + 0.5)


def _next_working_day(d: dt.date) -> dt.date:
    d += dt.timedelta(days=1)
    while d.weekday() >= 5:
        d += dt.timedelta(days=1)
    return d


class _Calendar:
    """Day offsets to dates for one plan."""

    def __init__(self, start: dt.date, timeline_days: int, cfg: OnboardingSettings):
        self.start = start
        self.days = timeline_days
        self.to_friday = cfg.weekend_to_friday
        self.ends = {p: _round(share * timeline_days) for p, share in cfg.phase_ends.items()}
        self.begins = {}
        previous = 0
        for p in ONBOARDING_PHASES:
            self.begins[p] = previous
            previous = self.ends[p]

    def phase_day(self, phase: str, position: float) -> int:
        begin, end = self.begins[phase], self.ends[phase]
        return begin + _round(position * (end - begin))

    def date(self, day: int) -> dt.date:
        d = self.start + dt.timedelta(days=day)
        if self.to_friday and d.weekday() >= 5:
            d = max(d - dt.timedelta(days=d.weekday() - 4), self.start)
        return d

    def week(self, d: dt.date) -> int:
        return (d - self.start).days // 7 + 1

    def phase_of(self, day: int) -> str:
        return next((p for p in ONBOARDING_PHASES if day <= self.ends[p]), ONBOARDING_PHASES[-1])


def _holidays(d: dt.date, periods: list[str]) -> bool:
    key = (d.month, d.day)
    for text in periods:
        (y1, m1, d1), (y2, m2, d2) = parse_holiday_period(text)
        if y1 is not None:
            if dt.date(y1, m1, d1) <= d <= dt.date(y2, m2, d2):  # type: ignore[arg-type]
                return True
        elif (m1, d1) <= (m2, d2):
            if (m1, d1) <= key <= (m2, d2):
                return True
        elif key >= (m1, d1) or key <= (m2, d2):  # wraps over the new year
            return True
    return False


# ----------------------------------------------------------------------------------- customer


def _customer(
    ws: Workspace, reference: str, segment: str | None, users: int | None, stakeholders: Stakeholders | None,
    notes: list[str], tables: list[str],
) -> Customer:
    cfg = ws.settings.onboarding
    try:
        ref = resolve_account(ws, reference)
    except AccountNotFound as exc:
        ref = None
        name = reference.strip()
        close = ", ".join(f"'{n}' ({a})" for a, n in exc.closest[:3])
        notes.append(
            f"'{name}' is not in the data: planned as a new customer"
            + (f" (closest in the data: {close}; pass the id if it is one of them)" if close else "")
            + "."
        )
    known_segments = {k.lower(): k for k in cfg.timeline_days}
    if segment:
        data_segments = distinct_values(ws, "segment")
        valid = {s.lower(): s for s in [*cfg.timeline_days, *data_segments]}
        if segment.lower() not in valid:
            raise InvalidArgument(f"Unknown segment '{segment}'. Known segments: {', '.join(sorted(valid.values()))}.")
        segment = valid[segment.lower()]
    people: dict[str, str] = {}
    if ref is None:
        if segment:
            seg, source = segment, "argument"
        elif users is not None:
            ranked = sorted(cfg.segment_min_users.items(), key=lambda kv: -kv[1])
            seg = next((s for s, floor in ranked if users >= floor), None)
            source = "users" if seg else "default"
        else:
            seg, source = None, "default"
        customer = Customer(account_id=None, name=reference.strip(), in_data=False, segment=seg,
                            segment_source=source)
    else:
        tables.append("accounts")
        row = plan_account(ws, ref.account_id)
        data_segment = row.pop("segment")
        seg, source = (segment, "argument") if segment else (data_segment, "data" if data_segment else "default")
        seg = known_segments.get(seg.lower(), seg) if seg else None
        customer = Customer(
            account_id=ref.account_id, name=ref.name, in_data=True, segment=seg, segment_source=source, **row
        )
        if row["csm_id"]:
            people["csm"] = row["csm_id"]
            if "csms" in ws.tables:
                tables.append("csms")
                got = csm_record(ws, row["csm_id"])
                if got and got["name"]:
                    people["csm"] = got["name"]
        if "contacts" in ws.tables:
            tables.append("contacts")
            rows = plan_owner_contacts(ws, ref.account_id)
            for role, person, active, _ in rows:
                if active:
                    people.setdefault("customer_admin" if role == "admin" else role, person)
            for role, person, active, left_on in rows:
                if not active and role != "admin" and role not in people:
                    when = f" on {left_on}" if left_on else ""
                    notes.append(f"The {OWNER_LABELS[role]} in the contacts, {person}, left{when}.")
        else:
            notes.append("No contacts table: champion, executive sponsor and admin could not be checked.")
    given = stakeholders.model_dump(exclude_none=True) if stakeholders else {}
    for key, person in given.items():
        role = {"project_lead": "customer_project_lead", "admin": "customer_admin"}.get(key, key)
        people[role] = person
    customer.stakeholders = people
    return customer


# ------------------------------------------------------------------------------------ building


def _risks(
    settings: Settings, customer: Customer, cal: _Calendar, users: int | None, focus: list[str],
    milestones: list[Milestone], timeline_source: str, default_days: int, contacts_known: bool,
) -> list[Risk]:
    cfg = settings.onboarding
    people = customer.stakeholders
    risks: list[Risk] = []
    weeks = cal.days / 7
    if users is not None and users / weeks > cfg.max_users_per_week:
        risks.append(Risk(
            kind="pace", severity="high",
            risk=f"{users:,} users in {weeks:.1f} weeks: {users / weeks:.0f} a week, over the "
                 f"{cfg.max_users_per_week:g} a team can usually onboard",
            mitigation="roll out in waves by team after the first group goes live; train-the-trainer with "
                       "champions; or lengthen the timeline",
        ))
    if timeline_source == "argument" and cal.days < cfg.compressed_timeline_share * default_days:
        risks.append(Risk(
            kind="compressed_timeline", severity="medium",
            risk=f"{cal.days} days is under {cfg.compressed_timeline_share:.0%} of the {default_days}-day "
                 f"default for {customer.segment or 'this customer'}",
            mitigation="cut scope to the top success criterion for go-live; move the rest to a phase-2 list",
        ))
    certain = customer.in_data and contacts_known
    for role, kind, why in (
        ("champion", "no_champion", "nobody drives adoption inside the customer"),
        ("executive_sponsor", "no_sponsor", "goals and priorities lack an owner with authority"),
    ):
        if role not in people:
            where = "no active one in the contacts data" if certain else "none named yet"
            risks.append(Risk(
                kind=kind, severity="high" if certain else "medium",
                risk=f"No {OWNER_LABELS[role]} ({where}): {why}",
                mitigation=f"ask the customer to name the {OWNER_LABELS[role]} before kickoff and record them in "
                           "the contacts (or pass stakeholders)",
            ))
    technical = [f for f in focus if f in ("integrations", "data-migration")]
    if technical and "customer_admin" not in people:
        risks.append(Risk(
            kind="no_technical_owner", severity="high",
            risk=f"{' and '.join(technical)} in scope but no customer admin / technical owner named",
            mitigation="get a named technical owner with system access before setup starts; book the "
                       "solutions engineer",
        ))
    periods = cfg.holiday_periods
    week_days = [cal.start + dt.timedelta(days=i - cal.start.weekday()) for i in range(7)]
    if any(_holidays(d, periods) for d in week_days):
        risks.append(Risk(
            kind="holiday", severity="medium",
            risk=f"Kickoff {cal.start} falls in a holiday week: sponsor and team may be away",
            mitigation="confirm attendance or move the kickoff to the first full working week",
        ))
    in_holiday = [m.id for m in milestones if m.due != cal.start and _holidays(m.due, periods)]
    if in_holiday:
        risks.append(Risk(
            kind="holiday", severity="medium" if len(in_holiday) > 1 else "low",
            risk=f"{len(in_holiday)} milestone(s) due in a holiday period: {', '.join(in_holiday)}",
            mitigation="bring them forward or confirm who covers them",
        ))
    if len(focus) > cfg.max_focus_areas:
        risks.append(Risk(
            kind="scope", severity="medium",
            risk=f"{len(focus)} focus areas for one onboarding (more than {cfg.max_focus_areas}): scope creep",
            mitigation="tie go-live to the top success criterion; park the rest in a phase-2 list",
        ))
    seats = customer.seats_purchased
    if users is not None and seats is not None and users > seats:
        risks.append(Risk(
            kind="seats", severity="low",
            risk=f"{users:,} users to onboard but {seats:,} seats purchased",
            mitigation="agree a true-up or seat expansion with the AE before the second wave",
        ))
    if customer.in_data and "csm" not in people:
        risks.append(Risk(
            kind="no_csm", severity="medium", risk="No CSM assigned to the account in the data",
            mitigation="assign a CSM before kickoff",
        ))
    if customer.status and customer.status != "active":
        risks.append(Risk(
            kind="account_status", severity="high", risk=f"The account's status in the data is {customer.status}",
            mitigation="confirm the contract is live before planning work",
        ))
    order = {"high": 0, "medium": 1, "low": 2}
    return sorted(risks, key=lambda r: order[r.severity])


def _communications(settings: Settings, cal: _Calendar, segment: str | None, go_live: dt.date) -> list[Communication]:
    cfg = settings.onboarding
    cadence = cfg.check_in_days or int(settings.health.curves["days_since_last_touch"][0][0])
    steering = {k.lower(): v for k, v in cfg.steering_days.items()}.get((segment or "").lower())
    sponsor = "executive sponsor, champion, project lead"
    events: list[tuple[int, str, str, str, str]] = [
        (0, "kickoff", "Kickoff meeting", "csm", sponsor + ", onboarding specialist"),
    ]
    events += [
        (day, "status", "Status check-in" + (" (weekly)" if cadence == 7 else f" (every {cadence} days)"), "csm",
         "project lead, champion")
        for day in range(cadence, cal.days, cadence)
    ]
    if steering:
        events += [(day, "steering", "Steering with the executive sponsor", "csm", sponsor)
                   for day in range(steering, cal.days, steering)]
    events += [(day, "checkpoint", f"{day}-day check-in: what works, what blocks, adjust the plan", "csm",
                "project lead, champion") for day in cfg.checkpoint_days if 0 < day < cal.days]
    events.append(((go_live - cal.start).days, "go_live", "Go-live announcement to users", "executive_sponsor",
                   "all users in scope"))
    events.append((cal.days, "review", "Onboarding review", "csm", sponsor))
    by_date: dict[dt.date, list[tuple[int, str, str, str, str]]] = {}
    for event in events:
        by_date.setdefault(cal.date(event[0]), []).append(event)
    out = []
    for d, group in sorted(by_date.items()):
        group.sort(key=lambda e: COMMUNICATION_PRIORITY.index(e[1]))
        _, kind, title, owner, audience = group[0]
        extra = [e[2] for e in group[1:] if e[1] != "status"]  # a meeting that day covers the status call
        if extra:
            title += "; also " + "; ".join(extra)
        out.append(Communication(date=d, week=cal.week(d), kind=kind, title=title, owner=owner, audience=audience))
    return out


def create_plan(
    ws: Workspace,
    account: str,
    start_date: dt.date | None = None,
    users: int | None = None,
    focus: list[OnboardingFocus] | None = None,
    timeline_days: int | None = None,
    timeline_weeks: int | None = None,
    segment: str | None = None,
    goal: str | None = None,
    stakeholders: Stakeholders | None = None,
    today: dt.date | None = None,
) -> OnboardingPlan:
    """A dated onboarding plan for an account in the data or a new customer; nothing is saved."""
    settings = ws.settings
    cfg = settings.onboarding
    if not account or not account.strip():
        raise InvalidArgument("Send account: an account id or name from the data, or a new customer's name.")
    if timeline_days is not None and timeline_weeks is not None:
        raise InvalidArgument("Send timeline_weeks or timeline_days, not both.")
    notes: list[str] = []
    tables: list[str] = []
    customer = _customer(ws, account, segment, users, stakeholders, notes, tables)

    seg_key = (customer.segment or "").lower()
    defaults = {k.lower(): v for k, v in cfg.timeline_days.items()}
    default_days = defaults.get(seg_key, cfg.default_timeline_days)
    if timeline_weeks is not None:
        days, timeline_source = timeline_weeks * 7, "argument"
    elif timeline_days is not None:
        days, timeline_source = timeline_days, "argument"
    else:
        days = default_days
        timeline_source = "segment default" if seg_key in defaults else "default"
        if timeline_source == "default" and customer.segment:
            notes.append(f"No default timeline for segment '{customer.segment}': used {days} days.")
        elif timeline_source == "default":
            notes.append(f"Segment unknown: used {days} days (send segment or users for the segment's default).")

    if users is not None:
        users_source = "argument"
    elif customer.seats_purchased:
        users, users_source = customer.seats_purchased, "seats purchased"
    else:
        users_source = "unknown"
        notes.append("Users unknown (not given, no seats purchased in the data): activation targets are shares.")

    start = start_date or _next_working_day(today or current_date())
    if start.weekday() >= 5:
        moved = start + dt.timedelta(days=7 - start.weekday())
        notes.append(f"Kickoff {start} is on a weekend: moved to Monday {moved}.")
        start = moved
    focus = list(dict.fromkeys(focus)) if focus else list(cfg.default_focus)
    if not start_date:
        notes.append(f"No start date given: kickoff on the next working day, {start}.")

    cal = _Calendar(start, days, cfg)
    people = customer.stakeholders
    health = settings.health.active
    words = {
        "green": f"{health.bands.green:g}",
        "yellow": f"{health.bands.yellow:g}",
        "no_login_days": settings.health.alerts.no_login_days,
    }
    rows: list[tuple[int, int, Milestone]] = []
    for i, (mid, phase, at, owner, title, criterion, need) in enumerate(MILESTONES):
        if need is not None and need not in focus:
            continue
        due = cal.date(cal.phase_day(phase, at))
        rows.append((cal.phase_day(phase, at), i, Milestone(
            id=mid, phase=phase, title=title, owner=owner, owner_name=people.get(owner), due=due,
            week=cal.week(due), success_criteria=criterion.format(**words), focus=need,
        )))
    activation: list[ActivationTarget] = []
    for t_share, u_share in cfg.activation_targets:
        day = _round(t_share * days)
        due = cal.date(day)
        count = math.ceil(u_share * users - 1e-9) if users is not None else None
        activation.append(ActivationTarget(date=due, week=cal.week(due), share=u_share, users=count))
        of = f" ({count:,} of {users:,})" if count is not None else ""
        rows.append((day, len(MILESTONES), Milestone(
            id=f"activation-{_round(u_share * 100)}", phase=cal.phase_of(day),
            title=f"{u_share:.0%} of users active{of}", owner="champion", owner_name=people.get("champion"),
            due=due, week=cal.week(due),
            success_criteria=f"active users / users onboarded at {u_share:.0%} or more (health-score usage)",
        )))
    milestones = [m for _, _, m in sorted(rows, key=lambda r: (r[2].due, r[0], r[1]))]
    go_live = next(m.due for m in milestones if m.id == "go-live")

    actions = []
    for phase, at, owner, task, need, serves in ACTIONS:
        if need is not None and need not in focus:
            continue
        due = cal.date(cal.phase_day(phase, at))
        actions.append((due, ActionItem(id="", task=task, owner=owner, owner_name=people.get(owner), due=due,
                                        week=cal.week(due), milestone=serves)))
    action_items = [a for _, a in sorted(actions, key=lambda x: x[0])]
    for n, item in enumerate(action_items, 1):
        item.id = f"A{n:02d}"

    phases = []
    for p in ONBOARDING_PHASES:
        first, last = cal.date(cal.begins[p]), cal.date(cal.ends[p])
        w1, w2 = cal.week(first), cal.week(last)
        phases.append(PlanPhase(name=p, title=PHASES[p][0], start=first, end=last,
                                weeks=str(w1) if w1 == w2 else f"{w1}-{w2}", exit_criterion=PHASES[p][1]))
    contacts_known = "contacts" in ws.tables
    plan = OnboardingPlan(
        customer=customer,
        start_date=start,
        end_date=cal.date(days),
        timeline_days=days,
        timeline_source=timeline_source,
        users=users,
        users_source=users_source,
        focus=focus,
        goal=goal.strip() if goal and goal.strip() else None,
        phases=phases,
        milestones=milestones,
        action_items=action_items,
        communications=_communications(settings, cal, customer.segment, go_live),
        risks=_risks(settings, customer, cal, users, focus, milestones, timeline_source, default_days,
                     contacts_known),
        targets=Targets(
            go_live=go_live,
            time_to_first_value_days=(go_live - start).days,
            activation=activation,
            health_model=settings.health.model,
            health_green_from=health.bands.green,
            contact_every_days=int(settings.health.curves["days_since_last_touch"][0][0]),
            critical_ticket_hours=settings.health.alerts.critical_ticket_hours,
            no_login_days=settings.health.alerts.no_login_days,
        ),
        tables_used=tables or ["none: a customer not in the data"],
        notes=notes,
    )
    if not plan.goal:
        plan.notes.append("No goal given: agree the first success criterion at kickoff (pass goal to record it).")
    return plan


# ------------------------------------------------------------------------------------ tracking


def _ref(m: Milestone, today: dt.date) -> MilestoneRef:
    return MilestoneRef(
        id=m.id, title=m.title, owner=m.owner, owner_name=m.owner_name, due=m.due, status=m.status,
        days_overdue=max((today - m.due).days, 0) if m.status != "done" else 0,
        note=m.notes[-1] if m.notes else None,
    )


def plan_progress(plan: OnboardingPlan, today: dt.date, cfg: OnboardingSettings) -> PlanProgress:
    """Progress of a plan as of `today`: done share, overdue and blocked milestones, next steps."""
    ms = plan.milestones
    done = sum(m.status == "done" for m in ms)
    blocked = sum(m.status == "blocked" for m in ms)
    overdue = sorted(
        (_ref(m, today) for m in ms if m.status != "done" and m.due < today),
        key=lambda o: (-o.days_overdue, o.id),
    )
    pending = sorted((m for m in ms if m.status != "done"), key=lambda m: m.due)
    go_live = next((m for m in ms if m.id == "go-live"), None)
    if not pending:
        state: PlanState = "complete"
    elif any(o.days_overdue > cfg.late_after_days or o.id == "go-live" for o in overdue):
        state = "late"
    elif overdue or blocked:
        state = "at_risk"
    elif today < plan.start_date and done == 0:
        state = "not_started"
    else:
        state = "on_track"
    blocked_first = sorted(pending, key=lambda m: (m.status != "blocked", m.due))
    steps = [_ref(m, today) for m in blocked_first[: cfg.next_steps]]
    return PlanProgress(
        as_of=today,
        status=state,
        progress_pct=round(100 * done / len(ms), 1) if ms else 0.0,
        done=done,
        total=len(ms),
        blocked=blocked,
        overdue=overdue,
        current_phase=pending[0].phase if pending else None,
        days_to_go_live=(go_live.due - today).days if go_live and go_live.status != "done" else None,
        next_steps=steps,
    )


def apply_updates(plan: OnboardingPlan, updates: list[MilestoneUpdate], today: dt.date) -> list[str]:
    """Apply milestone updates in place (all or nothing); return one line per change."""
    by_id = {m.id: m for m in plan.milestones}
    for u in updates:
        if u.milestone.strip().lower() not in by_id:
            raise InvalidArgument(
                f"Plan {plan.plan_id} has no milestone '{u.milestone}'. Its milestones: {', '.join(by_id)}."
            )
        if u.status is None and u.due is None and not u.note:
            raise InvalidArgument(f"Update of '{u.milestone}' changes nothing: send status, due or note.")
        if u.on and u.on > today:
            raise InvalidArgument(
                f"'{u.milestone}': on={u.on} is in the future (today is {today}); to plan ahead, send due."
            )
        if u.due and u.due < plan.start_date:
            raise InvalidArgument(f"'{u.milestone}': due {u.due} is before the kickoff ({plan.start_date}).")
        if u.on and u.status not in ("done", "blocked"):
            raise InvalidArgument(f"'{u.milestone}': on dates a status change; send status done or blocked.")
    changes: list[str] = []
    for u in updates:
        m = by_id[u.milestone.strip().lower()]
        when = u.on or today
        parts = []
        if u.due is not None and u.due != m.due:
            if m.original_due is None:
                m.original_due = m.due
            parts.append(f"due {m.due} -> {u.due}")
            m.due = u.due
            m.week = (u.due - plan.start_date).days // 7 + 1
        if u.status is not None and u.status != m.status:
            parts.append(f"{m.status} -> {u.status}" + (f" on {when}" if u.status != "open" else ""))
            m.status = u.status
            m.completed_on = when if u.status == "done" else None
        elif u.status == "done" and u.on and u.on != m.completed_on:
            parts.append(f"done on {u.on}")
            m.completed_on = u.on
        if u.note:
            m.notes.append(f"{when}: {u.note.strip()}")
            parts.append(f"note: {u.note.strip()}")
        if parts:
            change = "; ".join(parts)
            plan.history.append(PlanEvent(on=today, milestone=m.id, change=change))
            changes.append(f"{m.id}: {change}")
    plan.updated_on = today
    return changes


# ---------------------------------------------------------------------------------- the store


def plan_store(ws: Workspace) -> PlanStore[OnboardingPlan]:
    return PlanStore(plans_dir(ws.path), OnboardingPlan)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-") or "customer"


def _plan_id(plan: OnboardingPlan) -> str:
    return f"{_slug(plan.customer.account_id or plan.customer.name)}-{plan.start_date:%Y%m%d}"


def save_plan(ws: Workspace, plan: OnboardingPlan, today: dt.date) -> tuple[OnboardingPlan, str]:
    """Save a new plan; re-saving one with no progress yet replaces it."""
    store = plan_store(ws)
    pid = _plan_id(plan)
    with store.lock:
        old = store.load(pid) if store.exists(pid) else None
        if old is not None and (old.history or any(m.status != "open" for m in old.milestones)):
            raise InvalidArgument(
                f"Plan {pid} (same customer and start date) is already saved and has progress: change it with "
                f"action=update, plan_id={pid}, or save a plan with another start_date."
            )
        plan.plan_id = pid
        plan.created_on = old.created_on if old else today
        plan.updated_on = today
        store.save(pid, plan)
    return plan, ("Replaced the saved plan " if old else "Saved as plan ") + pid


def _unknown_plan(store: PlanStore[OnboardingPlan], plan_id: str) -> InvalidArgument:
    plans, _ = store.load_all()
    ids = [p.plan_id for p in sorted(plans, key=lambda p: p.updated_on or dt.date.min, reverse=True)]
    known = f" Saved plans: {', '.join(ids[:10])}" + (" ..." if len(ids) > 10 else "") + "." if ids else (
        " No plan is saved yet."
    )
    return InvalidArgument(
        f"No saved plan '{plan_id}'.{known} action=list shows plans with progress; action=get with account "
        "finds an account's plan; action=create with save=true saves one."
    )


def find_plan(ws: Workspace, plan_id: str | None, account: str | None) -> OnboardingPlan:
    """A saved plan by id, or the latest saved plan of an account (id or name, in the data or not)."""
    store = plan_store(ws)
    if plan_id:
        plan = store.load(check_plan_id(plan_id))
        if plan is None:
            raise _unknown_plan(store, plan_id)
        return plan
    if not account or not account.strip():
        raise InvalidArgument("Send plan_id or account to find a saved plan (action=list shows them).")
    plans, problems = store.load_all()
    ref = account.strip()
    try:
        found = resolve_account(ws, ref)
        mine = [p for p in plans if p.customer.account_id == found.account_id]
        label = f"{found.name} ({found.account_id})"
    except AccountNotFound:
        mine = [p for p in plans if p.customer.name.lower() == ref.lower()
                or (p.customer.account_id or "").lower() == ref.lower()]
        label = f"'{ref}'"
    if not mine:
        unread = f" ({len(problems)} plan file(s) could not be read: action=list names them)" if problems else ""
        raise NoData(
            f"No saved onboarding plan for {label}{unread}. Create one with action=create (save=true to keep "
            "it); action=list shows the saved plans."
        )
    return max(mine, key=lambda p: (p.updated_on or dt.date.min, p.start_date))


def list_plans(
    ws: Workspace, account: str | None, limit: int | None, cursor: str | None, today: dt.date
) -> PlanList:
    """Saved plans with their progress: late and at-risk first, then by go-live date."""
    store = plan_store(ws)
    plans, problems = store.load_all()
    if account and account.strip():
        ref = account.strip().lower()
        try:
            aid = resolve_account(ws, account).account_id
        except AccountNotFound:
            aid = None
        plans = [p for p in plans if (aid and p.customer.account_id == aid) or p.customer.name.lower() == ref]
    rank = {"late": 0, "at_risk": 1, "on_track": 2, "not_started": 3, "complete": 4}
    rows = []
    for p in plans:
        prog = plan_progress(p, today, ws.settings.onboarding)
        nxt = prog.next_steps[0] if prog.next_steps else None
        rows.append(PlanSummary(
            plan_id=p.plan_id or "", account_id=p.customer.account_id, name=p.customer.name,
            start_date=p.start_date, go_live=p.targets.go_live, end_date=p.end_date, status=prog.status,
            progress_pct=prog.progress_pct, overdue=len(prog.overdue), blocked=prog.blocked,
            next_milestone=nxt.id if nxt else None, next_due=nxt.due if nxt else None, updated_on=p.updated_on,
        ))
    rows.sort(key=lambda r: (rank[r.status], r.go_live, r.plan_id))
    offset = decode_cursor(cursor)
    size = limit or ws.settings.server.page_size
    page = rows[offset: offset + size]
    nxt_offset = offset + len(page)
    return PlanList(
        plans=page, total=len(rows), returned=len(page),
        next_cursor=encode_cursor(nxt_offset) if nxt_offset < len(rows) else None, problems=problems,
    )


# ---------------------------------------------------------------------------------- dispatcher


def onboarding_plan(
    ws: Workspace,
    action: Action = "create",
    account: str | None = None,
    plan_id: str | None = None,
    start_date: dt.date | None = None,
    users: int | None = None,
    focus: list[OnboardingFocus] | None = None,
    timeline_weeks: int | None = None,
    timeline_days: int | None = None,
    segment: str | None = None,
    goal: str | None = None,
    stakeholders: Stakeholders | None = None,
    save: bool = False,
    updates: list[MilestoneUpdate] | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    today: dt.date | None = None,
) -> OnboardingPlanResult:
    """One entry point for the tool: create (and save), get, update or list onboarding plans."""
    today = today or current_date()
    cfg = ws.settings.onboarding
    store = str(plans_dir(ws.path))
    plan_args = {"start_date": start_date, "users": users, "focus": focus, "timeline_weeks": timeline_weeks,
                 "timeline_days": timeline_days, "segment": segment, "goal": goal, "stakeholders": stakeholders}
    if action != "create":
        stray = [k for k, v in plan_args.items() if v is not None] + (["save"] if save else [])
        if stray:
            raise InvalidArgument(
                f"{', '.join(stray)} only apply to action=create (a new plan); to move a saved milestone send "
                "updates with action=update."
            )
    if updates and action != "update":
        raise InvalidArgument("updates need action=update (with plan_id or account).")
    if action == "create":
        if plan_id:
            raise InvalidArgument("plan_id is for get and update; to create a plan send account (and save=true).")
        plan = create_plan(ws, account or "", start_date, users, focus, timeline_days, timeline_weeks, segment,
                           goal, stakeholders, today)
        if not save:
            return OnboardingPlanResult(
                action=action, plan=plan, store=store,
                message="Draft, not saved: review it, then call again with the same arguments and save=true to "
                        "save it and track milestones.",
            )
        plan, message = save_plan(ws, plan, today)
        return OnboardingPlanResult(
            action=action, plan=plan, progress=plan_progress(plan, today, cfg), store=store,
            message=f"{message} in {store}. Update milestones with action=update, plan_id={plan.plan_id}.",
        )
    if action == "list":
        listed = list_plans(ws, account, limit, cursor, today)
        return OnboardingPlanResult(
            action=action, plans=listed, store=store,
            message=f"{listed.total} saved plan(s)" + (" matching the account" if account else "") + ".",
        )
    if action == "get":
        plan = find_plan(ws, plan_id, account)
        return OnboardingPlanResult(
            action=action, plan=plan, progress=plan_progress(plan, today, cfg), store=store,
            message=f"Saved plan {plan.plan_id}.",
        )
    if not updates:
        raise InvalidArgument(
            "action=update needs updates, e.g. [{milestone: 'environment', status: 'done', on: '2027-02-10'}] "
            "or [{milestone: 'go-live', due: '2027-03-20', note: 'SSO delayed'}]."
        )
    s = plan_store(ws)
    with s.lock:
        plan = find_plan(ws, plan_id, account)
        changes = apply_updates(plan, updates, today)
        s.save(plan.plan_id or _plan_id(plan), plan)
    return OnboardingPlanResult(
        action=action, plan=plan, progress=plan_progress(plan, today, cfg), store=store,
        message=f"Updated plan {plan.plan_id}: " + ("; ".join(changes) if changes else "no change") + ".",
    )
