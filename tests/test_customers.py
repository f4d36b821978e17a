"""Who is a customer on a day: one rule (queries.customers) for the feature frame, the one-account check of
renewal-strategy and account-review-prep, and the churn model's cut-offs (churn_training.active_at).

As of 2026-06-30, by hand:
  C-1 active, contract 2024-01-01                              customer
  C-2 status churned, churned_on 2026-08-01 (left later)       customer: the churn is still ahead
  C-3 status churned, churned_on 2026-05-01                    not: churned before the day
  C-4 status churned, no churned_on                            not: without a date, the status says gone
  C-5 contract 2026-09-01 (signed, not started)                not: starts after the day
  C-6 contract 2026-09-01, first subscription 2026-03-01       customer: the first subscription started it
  C-7 no contract_start, no subscription                       customer: no start known counts as started
"""

import datetime as dt

import numpy as np
import pytest

from cs_mcp.config import load_settings
from cs_mcp.domain.churn_training import active_at, epoch_days, facts_now
from cs_mcp.domain.errors import InvalidArgument
from cs_mcp.domain.renewal_strategy import active_account
from cs_mcp.workspace.features import compute_features
from cs_mcp.workspace.loader import open_workspace
from cs_mcp.workspace.queries.customers import standing

ACCOUNTS = """account_id,name,segment,arr,contract_start,renewal_date,status,churned_on
C-1,One,smb,1000,2024-01-01,2027-01-01,active,
C-2,Two,smb,1000,2024-01-01,2026-08-01,churned,2026-08-01
C-3,Three,smb,1000,2024-01-01,2026-05-01,churned,2026-05-01
C-4,Four,smb,1000,2024-01-01,,churned,
C-5,Five,smb,1000,2026-09-01,2027-09-01,active,
C-6,Six,smb,1000,2026-09-01,2027-09-01,active,
C-7,Seven,smb,1000,,,active,
"""
SUBSCRIPTIONS = """subscription_id,account_id,start_date,end_date,arr,plan,seats
S-1,C-1,2024-01-01,,1000,basic,5
S-6,C-6,2026-03-01,,1000,basic,5
"""
CUSTOMERS = ["C-1", "C-2", "C-6", "C-7"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    folder = tmp_path_factory.mktemp("customers")
    (folder / "accounts.csv").write_text(ACCOUNTS)
    (folder / "subscriptions.csv").write_text(SUBSCRIPTIONS)
    (folder / "cs-mcp.yaml").write_text("data:\n  as_of: 2026-06-30\nchurn:\n  disk_cache: false\n")
    with open_workspace(load_settings(folder)) as w:
        yield w


def test_the_feature_frame_the_one_account_check_and_the_cutoffs_agree(ws):
    frame = compute_features(ws)
    by_frame = sorted(str(a) for a, v in zip(frame["account_id"], frame["is_active"], strict=True) if v == 1.0)
    by_standing = sorted(a for a in (f"C-{i}" for i in range(1, 8)) if standing(ws, a, ws.as_of).customer)
    facts = facts_now(ws)
    by_cutoff = sorted(str(a) for a in facts["account_id"][active_at(facts, float(epoch_days(ws.as_of)))])
    assert by_frame == by_standing == by_cutoff == CUSTOMERS


def test_a_later_day_sees_the_churn_and_the_start(ws):
    frame = compute_features(ws, dt.date(2026, 9, 15))
    assert sorted(np.asarray(frame["account_id"])[frame["is_active"] == 1.0]) == ["C-1", "C-5", "C-6", "C-7"]


def test_renewal_plans_are_refused_for_the_accounts_that_were_not_customers_and_say_why(ws):
    assert active_account(ws, "C-2", "renewal-strategy") == ("C-2", "Two")
    with pytest.raises(InvalidArgument, match=r"Three \(C-3\) churned on 2026-05-01: renewal-strategy needs"):
        active_account(ws, "C-3", "renewal-strategy")
    with pytest.raises(InvalidArgument, match=r"Four \(C-4\) churned: "):
        active_account(ws, "C-4", "renewal-strategy")
    with pytest.raises(InvalidArgument, match=r"Five \(C-5\) became a customer on 2026-09-01, after the as-of date "
                                              r"2026-06-30"):
        active_account(ws, "C-5", "renewal-strategy")


def test_retention_without_arr_history_counts_the_same_customers(ws):
    """From 2026-06-30 to 2026-09-15: customers at the start C-1 C-2 C-6 C-7 (4; C-6 by its subscription, not
    its later contract_start), lost C-2 (churned 2026-08-01), new logo C-5 (started 2026-09-01). Counting by
    contract_start alone gave 3 customers and 2 new logos (C-6 twice wrong)."""
    from cs_mcp.workspace.queries.retention import accounts_sql

    (row,) = ws.records(accounts_sql(None), d0=dt.date(2026, 6, 30), d1=dt.date(2026, 9, 15))
    assert (row["customers"], row["lost"], row["new_logos"], row["undated_churn"]) == (4, 1, 1, 1)
    assert (row["start_arr"], row["churn"], row["new_arr"]) == (4000, 1000, 1000)


def test_notice_given_at_the_data_end_is_a_lost_renewal_in_every_tool(ws):
    """C-2 is marked churned with churned_on 2026-08-01, a month after the as-of date: the customer has given
    notice. The book caps its renewal at 3% (renewal.probability.lost_renewal_ceiling) and expects the churn;
    churn-risk-list ranks it first, critical, with the notice (32 days ahead) as its driver and play."""
    from cs_mcp.domain.churn import churn_risk_list
    from cs_mcp.domain.renewal import renewal_forecast

    rows = {r.account_id: r for r in renewal_forecast(ws, days=365).accounts}
    row = rows["C-2"]
    assert (row.probability, row.category, row.expected_outcome) == (3.0, "high_risk", "churn")
    assert row.churn_drivers == ["notice given: marked churned, leaving in 32 days"]
    assert row.signals[0] == "notice given: marked churned, leaving in 32 days"
    assert (row.notice_on, rows["C-1"].notice_on) == (dt.date(2026, 8, 1), None)
    first = churn_risk_list(ws).accounts[0]
    assert (first.account_id, first.probability, first.tier) == ("C-2", 0.97, "critical")
    assert first.recommended_action.startswith("This week: the customer has given notice: with the account "
                                               "executive, hear the reason")


def test_the_review_of_an_account_that_gave_notice_plans_for_the_leaving_date(ws):
    """account-review-prep of C-2 (notice given, leaving on 2026-08-01): the customer agenda talks about the
    decision to leave instead of wins and renewal planning, and the prep starts with hearing the reason. Its
    renewal is at high risk (3%), so the agenda opens the issues even with no health score; renewal-strategy
    carries the same date."""
    from cs_mcp.domain.account_review import account_review
    from cs_mcp.domain.accounts import find_accounts
    from cs_mcp.domain.renewal_strategy import renewal_risk

    review = account_review(ws, "C-2")
    assert review.outlook.notice_on == dt.date(2026, 8, 1)
    topics = [a.topic for a in review.agenda]
    assert "Wins and success stories" not in topics and "Renewal planning" not in topics
    assert "Open issues and the plan to fix them" in topics
    (leave,) = [a for a in review.agenda if a.topic == "Your decision to leave"]
    assert leave.points.startswith("your notice to leave on 2026-08-01: what led to the decision")
    assert review.agenda[0].points == "Confirm what the customer needs from us until 2026-08-01 and what would " \
                                      "make them stay."
    assert review.prep_todos[0].startswith("The customer has given notice (leaving on 2026-08-01): with the "
                                           "account executive, hear the reason")
    assert renewal_risk(ws, "C-2", None).notice_on == dt.date(2026, 8, 1)
    found = {a.account_id: a.notice_on for a in find_accounts(ws, status="churned").accounts}
    assert found == {"C-2": "2026-08-01", "C-3": None, "C-4": None}
    from cs_mcp.domain.profile import account_profile

    profile = account_profile(ws, "C-2")
    assert profile["standing"] == {"customer": True, "text": "a customer as of 2026-06-30; notice given: leaving "
                                   "on 2026-08-01"}
    assert profile["renewal"]["notice_on"] == "2026-08-01"
    calm = account_review(ws, "C-1")
    assert calm.outlook.notice_on is None
    assert "Your decision to leave" not in [a.topic for a in calm.agenda]
    assert calm.agenda[0].points.startswith("Confirm the customer's goals for the next quarter")


def test_in_a_look_back_a_later_churn_is_not_notice(tmp_path):
    """The same accounts with a usage row on 2026-10-01: 2026-06-30 is now a look back, and the churn of
    2026-08-01 is what happened next, not what was known then. C-2 is a customer without the notice cap."""
    from cs_mcp.domain.accounts import find_accounts
    from cs_mcp.domain.renewal import renewal_forecast

    (tmp_path / "accounts.csv").write_text(ACCOUNTS)
    (tmp_path / "subscriptions.csv").write_text(SUBSCRIPTIONS)
    (tmp_path / "usage.csv").write_text("account_id,date,active_users,logins\nC-1,2026-10-01,3,9\n")
    (tmp_path / "cs-mcp.yaml").write_text("data:\n  as_of: 2026-06-30\nchurn:\n  disk_cache: false\n")
    with open_workspace(load_settings(tmp_path)) as w:
        (row,) = [r for r in renewal_forecast(w, days=90).accounts if r.account_id == "C-2"]
        assert row.probability > 3.0 and row.notice_on is None
        assert not any(d.startswith("notice given") for d in row.churn_drivers)
        assert standing(w, "C-2", w.as_of).customer
        (found,) = find_accounts(w, query="C-2").accounts
        assert (found.status, found.notice_on) == ("active", None)
