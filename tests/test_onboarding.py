"""onboarding-plan on tests/data/onboarding, dates and progress computed by hand.

O-1 Northwind Traders: enterprise, 600 seats, CSM Dana Wu, champion Ann Lee, sponsor Raj Patel, admin Kim Ito.
Default 90-day plan from Monday 2027-02-01: phases end on days round(90 x .05/.22/.45/.90/1) = 5, 20, 41, 81,
90 (halves up); an item at position a of a phase [b, e] is due on day b + round(a x (e - b)); a weekend date
moves to the Friday before. So: success-criteria day 5 = Sat 02-06 -> Fri 02-05; environment 5 + round(7.5) =
13 = Sun 02-14 -> 02-12; admin-training 5 + round(11.25) = 16 = Wed 02-17; setup-complete day 20 = Sun 02-21
-> 02-19; first-training 20 + round(8.4) = 28 = Mon 03-01; champions-trained 20 + round(12.6) = 33 = Sat 03-06
-> 03-05; go-live day 41 = Sun 03-14 -> 03-12 (39 days); activation-50 at round(.6 x 90) = 54 = Sat 03-27 ->
03-26; second-wave-training 41 + 16 = 57 = Tue 03-30; inactive-users 41 + 20 = 61 = Sat 04-03 -> 04-02;
health-green and activation-80 day 81 = Fri 04-23; review day 90 = Sun 05-02 -> 04-30.
"""

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from mcp import Client

from cs_mcp import content
from cs_mcp.config import ConfigError, load_settings
from cs_mcp.domain import onboarding as ob
from cs_mcp.domain.errors import InvalidArgument, NoData
from cs_mcp.domain.onboarding import MilestoneUpdate, Stakeholders, create_plan, onboarding_plan, plan_progress
from cs_mcp.domain.plan_store import CorruptPlan, plans_dir
from cs_mcp.server import create_server
from cs_mcp.tools.onboarding import render_result
from cs_mcp.workspace.loader import demo_path, open_workspace

DATA = Path(__file__).parent / "data"
ONBOARDING = DATA / "onboarding"
START = dt.date(2027, 2, 1)

EXPECTED = [
    ("kickoff", "2027-02-01", 1, "csm", "Dana Wu"),
    ("success-criteria", "2027-02-05", 1, "csm", "Dana Wu"),
    ("environment", "2027-02-12", 2, "onboarding_specialist", None),
    ("admin-training", "2027-02-17", 3, "onboarding_specialist", None),
    ("setup-complete", "2027-02-19", 3, "onboarding_specialist", None),
    ("first-training", "2027-03-01", 5, "onboarding_specialist", None),
    ("champions-trained", "2027-03-05", 5, "champion", "Ann Lee"),
    ("go-live", "2027-03-12", 6, "customer_project_lead", None),
    ("activation-50", "2027-03-26", 8, "champion", "Ann Lee"),
    ("second-wave-training", "2027-03-30", 9, "onboarding_specialist", None),
    ("inactive-users", "2027-04-02", 9, "champion", "Ann Lee"),
    ("health-green", "2027-04-23", 12, "csm", "Dana Wu"),
    ("activation-80", "2027-04-23", 12, "champion", "Ann Lee"),
    ("onboarding-review", "2027-04-30", 13, "csm", "Dana Wu"),
    ("steady-state", "2027-04-30", 13, "csm", "Dana Wu"),
]


@pytest.fixture(scope="module")
def ws():
    with open_workspace(load_settings(ONBOARDING)) as w:
        yield w


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("CS_MCP_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state" / "plans"


def kinds(plan):
    return {r.kind: r.severity for r in plan.risks}


# ------------------------------------------------------------------------------------ generation


def test_default_enterprise_plan_has_the_hand_computed_dates_weeks_and_owners(ws):
    plan = create_plan(ws, "Northwind", START)
    assert (plan.customer.account_id, plan.customer.segment, plan.timeline_days) == ("O-1", "enterprise", 90)
    assert (plan.timeline_source, plan.users, plan.users_source) == ("segment default", 600, "seats purchased")
    assert plan.focus == ["admin-setup", "training", "adoption"]
    got = [(m.id, m.due.isoformat(), m.week, m.owner, m.owner_name) for m in plan.milestones]
    assert got == EXPECTED
    assert plan.end_date == dt.date(2027, 4, 30)
    assert [(p.name, p.weeks) for p in plan.phases] == [
        ("kickoff", "1"), ("setup", "1-3"), ("go_live", "3-6"), ("adoption", "6-12"), ("review", "12-13"),
    ]
    t = plan.targets
    assert (t.go_live, t.time_to_first_value_days) == (dt.date(2027, 3, 12), 39)
    assert [(a.date, a.week, a.share, a.users) for a in t.activation] == [
        (dt.date(2027, 3, 26), 8, 0.5, 300), (dt.date(2027, 4, 23), 12, 0.8, 480),
    ]
    assert (t.health_green_from, t.contact_every_days, t.critical_ticket_hours, t.no_login_days) == (80, 7, 48, 14)
    assert plan.customer.stakeholders == {
        "csm": "Dana Wu", "champion": "Ann Lee", "executive_sponsor": "Raj Patel", "customer_admin": "Kim Ito",
    }
    assert plan.risks == []  # 600 users / 12.9 weeks = 46.7 a week, under 50; every stakeholder named
    assert plan.tables_used == ["accounts", "csms", "contacts"]


def test_action_items_carry_owners_and_due_dates_from_the_phases(ws):
    plan = create_plan(ws, "O-1", START)
    first = [(a.id, a.due.isoformat(), a.owner, a.owner_name, a.milestone) for a in plan.action_items[:7]]
    assert first == [
        ("A01", "2027-02-01", "account_executive", None, "kickoff"),
        ("A02", "2027-02-01", "csm", "Dana Wu", "kickoff"),
        ("A03", "2027-02-01", "csm", "Dana Wu", "kickoff"),
        ("A04", "2027-02-01", "executive_sponsor", "Raj Patel", "kickoff"),
        ("A05", "2027-02-05", "customer_project_lead", None, "success-criteria"),
        ("A06", "2027-02-05", "csm", "Dana Wu", "success-criteria"),
        ("A07", "2027-02-09", "customer_admin", "Kim Ito", "environment"),  # 5 + round(.2 x 15) = day 8
    ]
    assert len(plan.action_items) == 23  # 28 in the catalogue less 2 integrations, 2 migration, 1 reporting
    assert {a.milestone for a in plan.action_items} <= {m.id for m in plan.milestones}


def test_communications_are_weekly_with_monthly_steering_for_enterprise(ws):
    plan = create_plan(ws, "O-1", START)
    comms = [(c.date.isoformat(), c.kind) for c in plan.communications]
    status = [d for d, k in comms if k == "status"]
    assert status[0] == "2027-02-08" and status[-1] == "2027-04-26" and len(status) == 12  # days 7 .. 84
    assert [(d, k) for d, k in comms if k != "status"] == [
        ("2027-02-01", "kickoff"),
        ("2027-03-03", "steering"),  # day 30: steering and the 30-day check-in on one date
        ("2027-03-12", "go_live"),
        ("2027-04-02", "steering"),  # day 60
        ("2027-04-30", "review"),
    ]
    merged = next(c for c in plan.communications if c.date == dt.date(2027, 3, 3))
    assert "30-day check-in" in merged.title and merged.owner == "csm"


def test_new_customer_gets_a_segment_from_users_and_the_short_timeline(ws):
    plan = create_plan(ws, "Zephyr Labs", dt.date(2027, 3, 1), users=40, focus=["integrations"])
    c = plan.customer
    assert (c.account_id, c.in_data, c.segment, c.segment_source) == (None, False, "smb", "users")
    assert (plan.timeline_days, plan.end_date, plan.targets.go_live) == (30, dt.date(2027, 3, 31),
                                                                           dt.date(2027, 3, 15))
    assert plan.targets.time_to_first_value_days == 14  # phases end on days 2, 7, 14, 27, 30
    ids = [m.id for m in plan.milestones]
    assert "integrations" in ids and "admin-training" not in ids and "second-wave-training" not in ids
    # smb: no steering; the day-14 status call is covered by the go-live announcement; day 30 is the review
    assert [(x.date.isoformat(), x.kind) for x in plan.communications] == [
        ("2027-03-01", "kickoff"), ("2027-03-08", "status"), ("2027-03-15", "go_live"),
        ("2027-03-22", "status"), ("2027-03-29", "status"), ("2027-03-31", "review"),
    ]
    assert kinds(plan) == {"no_technical_owner": "high", "no_champion": "medium", "no_sponsor": "medium"}
    assert plan.tables_used == ["none: a customer not in the data"]
    assert any("not in the data" in n for n in plan.notes)


def test_named_stakeholders_fill_owners_and_settle_the_risks(ws):
    people = Stakeholders(champion="Mo", executive_sponsor="Vi", admin="Al", project_lead="Jo")
    plan = create_plan(ws, "Zephyr Labs", dt.date(2027, 3, 1), users=40, focus=["integrations"],
                       stakeholders=people)
    assert plan.risks == []
    go_live = next(m for m in plan.milestones if m.id == "go-live")
    assert (go_live.owner, go_live.owner_name) == ("customer_project_lead", "Jo")


def test_risks_for_pace_compression_scope_seats_and_missing_people(ws):
    plan = create_plan(ws, "O-1", START, users=700, timeline_weeks=6,
                       focus=["integrations", "data-migration", "reporting", "training"])
    assert kinds(plan) == {"pace": "high", "compressed_timeline": "medium", "scope": "medium", "seats": "low"}
    pace = next(r for r in plan.risks if r.kind == "pace")
    assert "117 a week" in pace.risk  # 700 users / 6 weeks
    cobalt = create_plan(ws, "Cobalt", START)
    assert kinds(cobalt) == {"no_sponsor": "high", "no_csm": "medium"}  # the sponsor left; no csm_id
    assert "The executive sponsor in the contacts, Lou Park, left on 2026-10-01." in cobalt.notes
    dormant = create_plan(ws, "O-4", START)
    assert kinds(dormant)["account_status"] == "high"
    assert kinds(dormant)["no_champion"] == "high"  # no contacts at all for O-4


def test_a_kickoff_in_the_year_end_holidays_is_a_risk(ws):
    plan = create_plan(ws, "O-1", dt.date(2026, 12, 28))
    holiday = [r for r in plan.risks if r.kind == "holiday"]
    assert len(holiday) == 2
    assert "holiday week" in holiday[0].risk
    assert "success-criteria" in holiday[1].risk  # day 5 = Sat 01-02 -> Fri 2027-01-01


def test_weekend_start_moves_to_monday_and_no_start_means_the_next_working_day(ws):
    plan = create_plan(ws, "O-1", dt.date(2027, 1, 30))  # a Saturday
    assert plan.start_date == dt.date(2027, 2, 1)
    assert any("moved to Monday" in n for n in plan.notes)
    friday = create_plan(ws, "O-1", today=dt.date(2027, 1, 29))
    assert friday.start_date == dt.date(2027, 2, 1)


def test_timeline_in_weeks_or_days_and_bad_arguments(ws):
    assert create_plan(ws, "O-2", START, timeline_weeks=6).timeline_days == 42
    assert create_plan(ws, "O-2", START, timeline_days=45).timeline_days == 45
    with pytest.raises(InvalidArgument, match="not both"):
        create_plan(ws, "O-2", START, timeline_days=45, timeline_weeks=6)
    with pytest.raises(InvalidArgument, match="Known segments: .*enterprise"):
        create_plan(ws, "New Co", START, segment="galactic")
    with pytest.raises(InvalidArgument, match="Send account"):
        create_plan(ws, " ", START)


def test_an_unknown_new_customer_gets_the_default_timeline_and_shares_only(ws):
    plan = create_plan(ws, "Quiet Ltd", START)
    assert (plan.customer.segment, plan.timeline_days, plan.timeline_source, plan.users) == (None, 60, "default", None)
    assert [a.users for a in plan.targets.activation] == [None, None]
    assert any("Segment unknown: used 60 days" in n for n in plan.notes)
    text = render_result(onboarding_plan(ws, "create", "Quiet Ltd", start_date=START))
    assert text.startswith("Onboarding plan: Quiet Ltd (new customer), segment unknown, users unknown, 60 days")
    assert "users active 50% by 2027-03-09" in text  # day round(.6 x 60) = 36


def test_onboarding_settings_are_validated():
    with pytest.raises(ConfigError, match="increase from above 0 to exactly 1"):
        load_settings(overrides={"onboarding": {"phase_ends": {"setup": 0.6}}})
    with pytest.raises(ConfigError, match="holiday_periods"):
        load_settings(overrides={"onboarding": {"holiday_periods": ["24/12"]}})
    with pytest.raises(ConfigError, match="one per user share"):
        load_settings(overrides={"onboarding": {"activation_targets": [[0.5, 0.5], [0.9, 0.5]]}})
    custom = load_settings(overrides={"onboarding": {"timeline_days": {"enterprise": 120}, "check_in_days": 14}})
    assert custom.onboarding.timeline_days["enterprise"] == 120


def test_a_workspace_without_contacts_still_plans_and_says_what_it_could_not_check(state):
    with open_workspace(load_settings(DATA / "retention")) as w:
        plan = create_plan(w, "R-1", START)  # no seats in the data
    assert plan.tables_used == ["accounts"]
    assert plan.users is None and plan.targets.activation[0].users is None
    assert any("No contacts table" in n for n in plan.notes)
    assert kinds(plan)["no_champion"] == "medium"


def test_template_and_plan_quote_the_same_settings(ws):
    doc = content.get_document("template", "onboarding-checklist")
    text = content.render(doc, ws.settings)
    t = create_plan(ws, "O-1", START).targets
    assert f"Health score in green: {t.health_green_from:g} or above" in text
    assert f"within {t.contact_every_days} days" in text
    assert f"older than {t.critical_ticket_hours:g} hours" in text
    assert f"login for {t.no_login_days} days" in text
    full_points = ws.settings.health.curves["seat_utilization"][-1][0]
    assert ws.settings.onboarding.activation_targets[-1][1] == full_points


# ------------------------------------------------------------------------------------ persistence


def test_save_get_update_tracks_progress_overdue_and_next_steps(ws, state):
    saved = onboarding_plan(ws, "create", "Northwind", start_date=START, save=True, today=dt.date(2027, 1, 20))
    pid = saved.plan.plan_id
    assert pid == "o-1-20270201"
    assert (state / f"{pid}.json").is_file() and saved.store == str(state)
    assert saved.progress.status == "not_started"

    got = onboarding_plan(ws, "get", account="northwind traders", today=dt.date(2027, 2, 15))
    assert got.plan.plan_id == pid and got.progress.status == "late"
    assert [(o.id, o.days_overdue) for o in got.progress.overdue] == [
        ("kickoff", 14), ("success-criteria", 10), ("environment", 3),
    ]

    updates = [
        MilestoneUpdate(milestone="kickoff", status="done", on=dt.date(2027, 2, 1)),
        MilestoneUpdate(milestone="success-criteria", status="done", on=dt.date(2027, 2, 5)),
        MilestoneUpdate(milestone="environment", status="blocked", on=dt.date(2027, 2, 10),
                        note="SSO metadata missing"),
    ]
    r = onboarding_plan(ws, "update", plan_id=pid, updates=updates, today=dt.date(2027, 2, 15))
    p = r.progress
    assert (p.done, p.total, p.progress_pct, p.blocked) == (2, 15, 13.3, 1)  # 2 / 15
    assert [(o.id, o.days_overdue, o.status) for o in p.overdue] == [("environment", 3, "blocked")]
    assert (p.status, p.current_phase, p.days_to_go_live) == ("at_risk", "setup", 25)
    assert [s.id for s in p.next_steps] == ["environment", "admin-training", "setup-complete"]
    assert p.next_steps[0].note == "2027-02-10: SSO metadata missing"
    assert [e.milestone for e in r.plan.history] == ["kickoff", "success-criteria", "environment"]

    later = onboarding_plan(ws, "get", plan_id=pid, today=dt.date(2027, 2, 22))
    assert later.progress.status == "late"  # environment 10 days overdue, over 7
    moved = onboarding_plan(ws, "update", plan_id=pid, today=dt.date(2027, 2, 22), updates=[
        MilestoneUpdate(milestone="environment", due=dt.date(2027, 2, 24)),
    ])
    env = next(m for m in moved.plan.milestones if m.id == "environment")
    assert (env.due, env.original_due, env.week, env.status) == (dt.date(2027, 2, 24), dt.date(2027, 2, 12), 4,
                                                                   "blocked")
    assert [(o.id, o.days_overdue) for o in moved.progress.overdue] == [("admin-training", 5),
                                                                        ("setup-complete", 3)]
    assert moved.progress.status == "at_risk"

    listed = onboarding_plan(ws, "list", today=dt.date(2027, 2, 22)).plans
    assert (listed.total, listed.plans[0].plan_id, listed.plans[0].overdue) == (1, pid, 2)


def test_progress_is_complete_when_every_milestone_is_done(ws):
    plan = create_plan(ws, "O-2", START)
    for m in plan.milestones:
        m.status = "done"
    p = plan_progress(plan, dt.date(2027, 6, 1), ws.settings.onboarding)
    assert (p.status, p.progress_pct, p.current_phase, p.next_steps) == ("complete", 100.0, None, [])


def test_saving_again_replaces_a_plan_without_progress_but_not_one_with_progress(ws, state):
    onboarding_plan(ws, "create", "O-2", start_date=START, save=True)
    again = onboarding_plan(ws, "create", "O-2", start_date=START, users=10, save=True)
    assert again.message.startswith("Replaced") and again.plan.users == 10
    onboarding_plan(ws, "update", account="O-2", updates=[MilestoneUpdate(milestone="kickoff", status="done")],
                    today=dt.date(2027, 2, 2))
    with pytest.raises(InvalidArgument, match="action=update"):
        onboarding_plan(ws, "create", "O-2", start_date=START, save=True)


def test_bad_updates_change_nothing(ws, state):
    pid = onboarding_plan(ws, "create", "O-1", start_date=START, save=True).plan.plan_id
    with pytest.raises(InvalidArgument, match="no milestone 'sso'.*kickoff, success-criteria"):
        onboarding_plan(ws, "update", plan_id=pid, today=START, updates=[
            MilestoneUpdate(milestone="kickoff", status="done"), MilestoneUpdate(milestone="sso", status="done"),
        ])
    with pytest.raises(InvalidArgument, match="in the future"):
        onboarding_plan(ws, "update", plan_id=pid, today=START,
                        updates=[MilestoneUpdate(milestone="kickoff", status="done", on=dt.date(2027, 3, 1))])
    with pytest.raises(InvalidArgument, match="changes nothing"):
        onboarding_plan(ws, "update", plan_id=pid, today=START, updates=[MilestoneUpdate(milestone="kickoff")])
    with pytest.raises(InvalidArgument, match="needs updates"):
        onboarding_plan(ws, "update", plan_id=pid, today=START)
    assert onboarding_plan(ws, "get", plan_id=pid, today=START).progress.done == 0


def test_unknown_plans_and_accounts_say_how_to_find_one(ws, state):
    with pytest.raises(InvalidArgument, match="No plan is saved yet.*action=list"):
        onboarding_plan(ws, "get", plan_id="o-9-20270201")
    onboarding_plan(ws, "create", "O-1", start_date=START, save=True)
    with pytest.raises(InvalidArgument, match="Saved plans: o-1-20270201"):
        onboarding_plan(ws, "get", plan_id="o-9-20270201")
    with pytest.raises(InvalidArgument, match="not a plan id"):
        onboarding_plan(ws, "get", plan_id="../../etc/passwd")
    with pytest.raises(NoData, match=r"No saved onboarding plan for Bluebird Bakery \(O-2\)"):
        onboarding_plan(ws, "get", account="Bluebird")
    with pytest.raises(InvalidArgument, match="only apply to action=create"):
        onboarding_plan(ws, "get", account="O-1", users=5)


def test_list_pages_with_a_cursor_late_plans_first(ws, state):
    for account in ("O-1", "O-2", "O-3"):
        onboarding_plan(ws, "create", account, start_date=START, save=True)
    onboarding_plan(ws, "update", account="O-3", today=START,
                    updates=[MilestoneUpdate(milestone="kickoff", status="blocked", note="sponsor away")])
    first = onboarding_plan(ws, "list", limit=2, today=START).plans
    assert (first.total, first.returned) == (3, 2)
    assert [p.plan_id for p in first.plans] == ["o-3-20270201", "o-2-20270201"]  # at risk; then by go-live
    second = onboarding_plan(ws, "list", limit=2, cursor=first.next_cursor, today=START).plans
    assert [p.plan_id for p in second.plans] == ["o-1-20270201"] and second.next_cursor is None
    with pytest.raises(InvalidArgument, match="before the kickoff"):
        onboarding_plan(ws, "update", account="O-1", updates=[
            MilestoneUpdate(milestone="go-live", due=dt.date(2027, 1, 1))])


def test_a_new_customers_plan_is_found_by_its_name(ws, state):
    onboarding_plan(ws, "create", "Zephyr Labs", start_date=START, users=40, save=True)
    got = onboarding_plan(ws, "get", account="zephyr labs")
    assert got.plan.plan_id == "zephyr-labs-20270201" and got.plan.customer.account_id is None
    assert onboarding_plan(ws, "list", account="Zephyr Labs").plans.total == 1


def test_a_corrupt_plan_file_is_reported_not_fatal(ws, state):
    onboarding_plan(ws, "create", "O-1", start_date=START, save=True)
    (state / "broken.json").write_text("{not json")
    (state / "stale.json").write_text(json.dumps({"format": 1, "plan": {"plan_id": "stale"}}))
    listed = onboarding_plan(ws, "list").plans
    assert listed.total == 1
    assert [p.split(":")[0] for p in listed.problems] == ["broken.json", "stale.json"]
    with pytest.raises(CorruptPlan, match="broken.json cannot be read"):
        onboarding_plan(ws, "get", plan_id="broken")


def test_writes_are_atomic_and_leave_no_temporary_files(ws, state):
    for n in range(3):
        onboarding_plan(ws, "create", "O-1", start_date=START, users=100 + n, save=True)
    assert sorted(os.listdir(state)) == [".lock", "o-1-20270201.json"]  # the writers' lock file, the plan
    stored = json.loads((state / "o-1-20270201.json").read_text())
    assert stored["format"] == 1 and stored["plan"]["users"] == 102


def test_store_location_env_workspace_and_demo(tmp_path, monkeypatch):
    monkeypatch.setenv("CS_MCP_STATE_DIR", str(tmp_path / "s"))
    assert plans_dir(ONBOARDING) == tmp_path / "s" / "plans"
    monkeypatch.delenv("CS_MCP_STATE_DIR")
    folder = tmp_path / "ws"
    folder.mkdir()
    assert plans_dir(folder) == folder / ".cs-mcp" / "plans"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert plans_dir(demo_path()) == tmp_path / "xdg" / "cs-mcp" / "plans"
    packaged = tmp_path / "lib" / "site-packages" / "data"
    packaged.mkdir(parents=True)
    assert plans_dir(packaged) == tmp_path / "xdg" / "cs-mcp" / "plans"


def test_plans_saved_beside_a_workspace_do_not_count_as_data(tmp_path, monkeypatch):
    monkeypatch.delenv("CS_MCP_STATE_DIR", raising=False)
    folder = tmp_path / "ws"
    folder.mkdir()
    for f in ("accounts.csv", "contacts.csv", "csms.csv", "cs-mcp.yaml"):
        (folder / f).write_bytes((ONBOARDING / f).read_bytes())
    from cs_mcp.workspace.loader import workspace_version

    settings = load_settings(folder)
    before = workspace_version(settings)
    with open_workspace(settings) as w:
        onboarding_plan(w, "create", "O-1", start_date=START, save=True)
    assert (folder / ".cs-mcp" / "plans" / "o-1-20270201.json").is_file()
    assert workspace_version(settings) == before


# ---------------------------------------------------------------------------------------- MCP


@pytest.fixture
def server(ws):
    return create_server(ws.settings, ws, warm_up=False)


@pytest.fixture(params=["auto", "legacy"])
async def client(request, server, state, monkeypatch):
    monkeypatch.setattr(ob, "current_date", lambda: dt.date(2027, 2, 15))
    async with Client(server, mode=request.param) as c:
        yield c


@pytest.mark.anyio
async def test_the_tool_is_marked_as_writing_and_the_prompts_arguments_fit_it(client):
    tool = next(t for t in (await client.list_tools()).tools if t.name == "onboarding-plan")
    assert tool.annotations.read_only_hint is False
    props = tool.input_schema["properties"]
    for name in ("new-customer-onboarding", "onboarding-coordinator"):
        doc = content.get_document("prompt", name)
        assert {a.name for a in doc.arguments} - {"update"} <= set(props), name
    assert props["focus"]["anyOf"][0]["items"]["enum"] == [
        "admin-setup", "integrations", "data-migration", "training", "reporting", "adoption",
    ]


@pytest.mark.anyio
async def test_create_save_update_and_list_through_the_client(client, state):
    draft = await client.call_tool("onboarding-plan", {"account": "Northwind", "start_date": "2027-02-01"})
    assert not draft.is_error
    data = draft.structured_content
    assert data["plan"]["plan_id"] is None and data["plan"]["targets"]["go_live"] == "2027-03-12"
    text = draft.content[0].text
    assert text.startswith("Onboarding plan: Northwind Traders (O-1), enterprise, 600 users, 90 days")
    assert "- wk6 2027-03-12 go-live:" in text and "Draft, not saved" in text
    assert not state.exists()

    saved = await client.call_tool("onboarding-plan", {"account": "O-1", "start_date": "2027-02-01", "save": True})
    assert saved.structured_content["plan"]["plan_id"] == "o-1-20270201"
    upd = await client.call_tool("onboarding-plan", {
        "action": "update", "account": "Northwind",
        "updates": [{"milestone": "kickoff", "status": "done", "on": "2027-02-01"},
                    {"milestone": "environment", "status": "blocked", "note": "SSO metadata missing"}],
    })
    assert not upd.is_error
    prog = upd.structured_content["progress"]
    # 1 of 15 done; success-criteria is 10 days overdue, more than 7: late
    assert (prog["progress_pct"], prog["status"], prog["as_of"]) == (6.7, "late", "2027-02-15")
    text = upd.content[0].text
    assert text.startswith("Plan o-1-20270201: Northwind Traders (O-1), LATE, 6.7% done (1 of 15 milestones)")
    assert "success-criteria: Success criteria and project plan signed off, due 2027-02-05 (10 days)" in text
    listed = await client.call_tool("onboarding-plan", {"action": "list"})
    assert listed.structured_content["plans"]["total"] == 1
    assert "o-1-20270201 Northwind Traders: LATE" in listed.content[0].text


@pytest.mark.anyio
async def test_errors_come_back_as_tool_errors_that_say_what_to_send(client):
    unknown = await client.call_tool("onboarding-plan", {"action": "get", "plan_id": "nope-20270101"})
    assert unknown.is_error and "action=list" in unknown.content[0].text
    await client.call_tool("onboarding-plan", {"account": "O-1", "start_date": "2027-02-01", "save": True})
    bad = await client.call_tool("onboarding-plan", {
        "action": "update", "plan_id": "o-1-20270201", "updates": [{"milestone": "sso", "status": "done"}],
    })
    assert bad.is_error and "Its milestones: kickoff, success-criteria" in bad.content[0].text
    date = await client.call_tool("onboarding-plan", {"account": "O-1", "start_date": "01/02/2027"})
    assert date.is_error and "start_date" in date.content[0].text
    focus = await client.call_tool("onboarding-plan", {"account": "O-1", "focus": ["sso"]})
    assert focus.is_error and "focus[0]: 'sso' is not one of admin-setup, integrations" in focus.content[0].text


@pytest.mark.anyio
async def test_read_only_servers_leave_the_tool_and_its_prompts_out(ws):
    settings = load_settings(ONBOARDING, overrides={"server": {"read_only": True}})
    async with Client(create_server(settings, ws, warm_up=False)) as c:
        tools = {t.name for t in (await c.list_tools()).tools}
        prompts = {p.name for p in (await c.list_prompts()).prompts}
    assert "onboarding-plan" not in tools and "health-score" in tools
    assert not {"onboarding-coordinator", "new-customer-onboarding"} & prompts


def test_on_the_demo_the_plan_is_compact_and_sane(state):
    with open_workspace(load_settings()) as demo:
        row = demo.cursor().execute(
            "SELECT account_id FROM accounts WHERE segment = 'enterprise' AND status = 'active' "
            "ORDER BY seats_purchased DESC LIMIT 1"
        ).fetchone()
        result = onboarding_plan(demo, "create", row[0], start_date=START, save=True,
                                 focus=["integrations", "data-migration", "reporting"])
        listed = onboarding_plan(demo, "list")
    plan = result.plan
    assert plan.customer.segment == "enterprise" and plan.timeline_days == 90
    assert plan.users == plan.customer.seats_purchased and plan.users > 1000
    assert "pace" in kinds(plan)
    assert plan.start_date < plan.targets.go_live < plan.end_date
    assert all(plan.start_date <= m.due <= plan.end_date for m in plan.milestones)
    text = render_result(result)
    assert len(text) < 8000
    assert len(render_result(listed)) < 2000 and listed.plans.total == 1
