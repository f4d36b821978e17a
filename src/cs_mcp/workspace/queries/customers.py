"""Who was a customer on a given day: the one rule every tool counts its active accounts by.

An account is a customer on a day when it had started by then (its first subscription, else contract_start;
neither known counts as started) and had not churned by then: a churn date after the day is still ahead, so in
a look back an account that left later is counted, and without a churn date, status 'churned' means gone.
`cs_mcp.domain.churn_training.active_at` applies the same rule to the churn model's cut-offs, in numpy.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace

FIRST_START_SQL = "SELECT account_id, MIN(start_date) AS first_start FROM subscriptions GROUP BY account_id"
"""Per account, the start of its first subscription (join it as the `first_start` of `customer_on_sql`)."""


def customer_on_sql(accounts: str, first_start: str, day: str) -> str:
    """SQL true when the account (`accounts` is the accounts table's alias) was a customer on `day`."""
    start = started_sql(accounts, first_start)
    return (f"(({start} IS NULL OR {start} <= {day}) AND CASE WHEN {accounts}.churned_on IS NULL "
            f"THEN COALESCE(lower({accounts}.status), '') <> 'churned' ELSE {accounts}.churned_on > {day} END)")


def customer_during_sql(accounts: str, first_start: str, lo: str, hi: str) -> str:
    """SQL true when the account was a customer on some day of [lo, hi): started before `hi`, not churned by `lo`."""
    start = started_sql(accounts, first_start)
    return (f"(({start} IS NULL OR {start} < {hi}) AND CASE WHEN {accounts}.churned_on IS NULL "
            f"THEN COALESCE(lower({accounts}.status), '') <> 'churned' ELSE {accounts}.churned_on > {lo} END)")


def started_sql(accounts: str, first_start: str) -> str:
    """SQL of the day the account became a customer (NULL when neither date is known)."""
    return f"COALESCE({first_start}, {accounts}.contract_start)"


class Standing(NamedTuple):
    """An account's standing on a day: customer or not, and its churn date and start (ISO text) to say why."""

    customer: bool
    churned_on: str | None
    started_on: str | None


_STANDING_SQL = f"""
SELECT {customer_on_sql("a", "fs.first_start", "$day")} AS customer, CAST(a.churned_on AS VARCHAR) AS churned_on,
  CAST(COALESCE(fs.first_start, a.contract_start) AS VARCHAR) AS started_on
FROM accounts a LEFT JOIN ({FIRST_START_SQL}) fs ON fs.account_id = a.account_id
WHERE a.account_id = $a
"""


def standing(ws: Workspace, account_id: str, day: dt.date) -> Standing | None:
    """Whether the account was a customer on `day` (None when the id is unknown)."""
    rows = ws.rows(_STANDING_SQL, a=account_id, day=day)
    if not rows:
        return None
    customer, churned_on, started_on = rows[0]
    return Standing(bool(customer), churned_on, started_on)
