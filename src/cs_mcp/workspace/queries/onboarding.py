"""What an onboarding plan reads about a customer already in the data: its account fields and the contacts who
own parts of the plan (champion, executive sponsor, admin)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace

PLAN_ACCOUNT_SQL = """
SELECT segment, plan, CAST(arr AS DOUBLE) AS arr, seats_purchased, status, renewal_date, csm_id
FROM accounts WHERE account_id = $a
"""

PLAN_OWNERS_SQL = """
SELECT role, COALESCE(name, contact_id) AS person, COALESCE(active, left_on IS NULL) AS active, left_on
FROM contacts
WHERE account_id = $a AND role IN ('champion', 'executive_sponsor', 'admin')
ORDER BY contact_id
"""


def plan_account(ws: Workspace, account_id: str) -> dict[str, Any]:
    """segment, plan, arr, seats_purchased, status, renewal_date and csm_id of the account."""
    row = ws.records(PLAN_ACCOUNT_SQL, a=account_id)[0]
    seats = row["seats_purchased"]
    return row | {"seats_purchased": None if seats is None else int(seats), "renewal_date": _date(row["renewal_date"])}


def plan_owner_contacts(ws: Workspace, account_id: str) -> list[tuple[str, str, bool, dt.date | None]]:
    """(role, name or contact id, active, left_on) of the account's champions, sponsors and admins, by contact id."""
    return [(role, person, bool(active), _date(left_on))
            for role, person, active, left_on in ws.rows(PLAN_OWNERS_SQL, a=account_id)]


def _date(value: Any) -> Any:
    return value.date() if isinstance(value, dt.datetime) else value
