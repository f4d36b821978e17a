"""Touchpoints and contacts per account as of a date: the engagement score's inputs, one account's monthly
touches and its active contacts (engagement-report)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from cs_mcp.workspace.engine import literal_list
from cs_mcp.workspace.features import MEETING_TYPES, NO_ANSWER_OUTCOMES, OUTREACH_TYPES

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace
    from cs_mcp.workspace.sql import Columns

_OUTREACH, _MEETINGS, _NO_ANSWER = (literal_list([v.lower() for v in kinds])
                                    for kinds in (OUTREACH_TYPES, MEETING_TYPES, NO_ANSWER_OUTCOMES))
"""The product's own touch kinds (code, not configuration): written into the text."""

_ACTIVE_CONTACT = "(left_on > CAST($as_of AS DATE) OR (left_on IS NULL AND COALESCE(active, TRUE)))"

FACTS_SQL = f"""
WITH t AS (
  SELECT account_id, date, lower(type) AS type, lower(outcome) AS outcome
  FROM touchpoints WHERE date <= CAST($as_of AS DATE)
),
agg AS (
  SELECT account_id,
    MAX(date) AS last_touch,
    COUNT(*) FILTER (WHERE date > CAST($window_from AS DATE)) AS touches,
    COUNT(*) FILTER (WHERE date > CAST($cadence_from AS DATE)) AS touches_cadence,
    COUNT(*) FILTER (WHERE date > CAST($window_from AS DATE) AND type IN {_OUTREACH}
                       AND outcome IS NOT NULL) AS outreach_n,
    COUNT(*) FILTER (WHERE date > CAST($window_from AS DATE) AND type IN {_OUTREACH}
                       AND outcome IS NOT NULL AND outcome NOT IN {_NO_ANSWER}) AS outreach_answered,
    COUNT(*) FILTER (WHERE date > CAST($window_from AS DATE) AND type IN {_MEETINGS}
                       AND outcome IS NOT NULL) AS meetings_n,
    COUNT(*) FILTER (WHERE date > CAST($window_from AS DATE) AND type IN {_MEETINGS}
                       AND outcome IS NOT NULL AND outcome NOT IN {_NO_ANSWER}) AS meetings_held,
    COUNT(*) FILTER (WHERE date > CAST($strategic_from AS DATE)
                       AND list_contains(CAST($strategic AS VARCHAR[]), type)
                       AND (outcome IS NULL OR outcome NOT IN {_NO_ANSWER})) AS strategic,
    COUNT(*) FILTER (WHERE date > CAST($window_from AS DATE) AND outcome IS NOT NULL) AS outcomes_n,
    COUNT(*) FILTER (WHERE date > CAST($window_from AS DATE)
                       AND list_contains(CAST($positive AS VARCHAR[]), outcome)) AS positive_n
  FROM t GROUP BY account_id
),
days AS (
  SELECT DISTINCT account_id, date FROM t WHERE date > CAST($cadence_from AS DATE)
),
gaps AS (
  SELECT account_id, date - LAG(date) OVER (PARTITION BY account_id ORDER BY date) AS gap FROM days
),
g AS (
  SELECT account_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS median_gap
  FROM gaps WHERE gap IS NOT NULL GROUP BY account_id
),
c AS (
  SELECT account_id,
    COUNT(*) AS contacts,
    COUNT(DISTINCT lower(trim(department))) AS departments,
    COUNT(*) FILTER (WHERE role = 'champion') AS champions,
    COUNT(*) FILTER (WHERE role = 'executive_sponsor') AS sponsors
  FROM contacts
  WHERE {_ACTIVE_CONTACT}
  GROUP BY account_id
)
SELECT a.account_id,
  CAST(CAST($as_of AS DATE) - agg.last_touch AS DOUBLE) AS days_since_last_touch,
  CAST(COALESCE(agg.touches, 0) AS DOUBLE) AS touches,
  CAST(COALESCE(agg.touches_cadence, 0) AS DOUBLE) AS touches_cadence,
  CAST(COALESCE(agg.outreach_n, 0) AS DOUBLE) AS outreach_n,
  CAST(COALESCE(agg.outreach_answered, 0) AS DOUBLE) AS outreach_answered,
  CAST(COALESCE(agg.meetings_n, 0) AS DOUBLE) AS meetings_n,
  CAST(COALESCE(agg.meetings_held, 0) AS DOUBLE) AS meetings_held,
  CAST(COALESCE(agg.strategic, 0) AS DOUBLE) AS strategic,
  CAST(COALESCE(agg.outcomes_n, 0) AS DOUBLE) AS outcomes_n,
  CAST(COALESCE(agg.positive_n, 0) AS DOUBLE) AS positive_n,
  CAST(g.median_gap AS DOUBLE) AS median_gap,
  CAST(COALESCE(c.contacts, 0) AS DOUBLE) AS contacts,
  CAST(COALESCE(c.departments, 0) AS DOUBLE) AS departments,
  CAST(COALESCE(c.champions, 0) AS DOUBLE) AS champions,
  CAST(COALESCE(c.sponsors, 0) AS DOUBLE) AS sponsors
FROM accounts a
LEFT JOIN agg ON agg.account_id = a.account_id
LEFT JOIN g ON g.account_id = a.account_id
LEFT JOIN c ON c.account_id = a.account_id
"""


def engagement_inputs(
    ws: Workspace, as_of: dt.date, *, window_days: int, strategic_days: int, cadence_days: int,
    strategic_types: list[str], positive_outcomes: list[str],
) -> Columns:
    """Per account: days since the last touch, touch counts in the window (by kind and outcome), the median
    gap between touch days over the cadence span, and its active contacts, departments, champions, sponsors."""
    def since(days: int) -> dt.date:
        return as_of - dt.timedelta(days=days)

    return ws.columns(
        FACTS_SQL, as_of=as_of, window_from=since(window_days), strategic_from=since(strategic_days),
        cadence_from=since(cadence_days), strategic=[v.lower() for v in strategic_types],
        positive=[v.lower() for v in positive_outcomes],
    )


MONTHLY_TOUCHES_SQL = """
SELECT CAST(FLOOR((CAST($as_of AS DATE) - date) / 30.0) AS INTEGER) AS k, COUNT(*) AS n
FROM touchpoints WHERE account_id = $id AND date <= CAST($as_of AS DATE) AND date > CAST($since AS DATE)
GROUP BY 1
"""


def touches_by_30_days(ws: Workspace, account_id: str, as_of: dt.date, days: int) -> dict[int, int]:
    """The account's touches per 30-day block back from `as_of` (0 = the latest), over `days` days."""
    rows = ws.rows(MONTHLY_TOUCHES_SQL, as_of=as_of, id=account_id, since=as_of - dt.timedelta(days=days))
    return {int(k): int(n) for k, n in rows}


ACTIVE_CONTACTS_SQL = f"""
SELECT COALESCE(role, 'unknown') AS role, lower(trim(department)) AS dept, department
FROM contacts WHERE account_id = $id AND {_ACTIVE_CONTACT}
"""


def active_contacts(ws: Workspace, account_id: str, as_of: dt.date) -> list[tuple[Any, ...]]:
    """(role, lower-case department, department) of the account's contacts active at `as_of`."""
    return ws.rows(ACTIVE_CONTACTS_SQL, id=account_id, as_of=as_of)
