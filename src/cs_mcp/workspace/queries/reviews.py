"""One account's review pack figures: usage per period, feature adoption, NPS respondents and stakeholders.

Text is ordered here in Python (code-point order, as DuckDB compares text), not by the engine: PostgreSQL's
collation may order names and ids otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from cs_mcp.workspace.queries.nps import LATEST_ANSWER_FIRST, RESPONDENT

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace


def usage_by_period_sql(n_periods: int) -> str:
    """Usage of one account per period: each date falls in the first period [$s<i>, $e<i>) holding it."""
    cases = " ".join(f"WHEN date >= $s{i} AND date < $e{i} THEN {i}" for i in range(n_periods))
    return f"""
WITH u AS (
  SELECT CASE {cases} END AS bucket, active_users, logins, date FROM usage WHERE account_id = $a
)
SELECT bucket, AVG(active_users) AS active_users, SUM(logins) AS logins, COUNT(date) AS n
FROM u WHERE bucket IS NOT NULL GROUP BY bucket
"""


class PeriodUsage(NamedTuple):
    active_users: float | None
    logins: float | None
    rows: int


def usage_by_period(ws: Workspace, account_id: str,
                    periods: Sequence[tuple[dt.date, dt.date]]) -> list[PeriodUsage]:
    """Per (first day, exclusive end) period, in the order given (periods must not overlap): average active
    users and summed logins of the account's usage rows in it (None without rows), and how many rows."""
    if not periods:
        return []
    params: dict[str, Any] = {"a": account_id}
    for i, (start, end) in enumerate(periods):
        params[f"s{i}"], params[f"e{i}"] = start, end
    found = {int(r[0]): r for r in ws.rows(usage_by_period_sql(len(periods)), **params)}
    out = []
    for i in range(len(periods)):
        r = found.get(i)
        out.append(PeriodUsage(None, None, 0) if r is None else PeriodUsage(
            None if r[1] is None else float(r[1]), None if r[2] is None else float(r[2]), int(r[3])))
    return out


FEATURE_USE_SQL = """
SELECT feature,
  COUNT(CASE WHEN account_id = $a AND users > 0 AND date BETWEEN $lo AND $hi THEN 1 END) > 0 AS used,
  COUNT(CASE WHEN account_id = $a AND users > 0 AND date BETWEEN $plo AND $phi THEN 1 END) > 0 AS used_before
FROM feature_usage GROUP BY feature
"""


def feature_use(ws: Workspace, account_id: str, period: tuple[dt.date, dt.date],
                previous: tuple[dt.date, dt.date]) -> list[tuple[str, bool, bool]]:
    """(feature, used in the period, used in the previous one) for every feature of the workspace's catalogue
    (features anyone used), by feature name; periods are inclusive."""
    rows = ws.rows(FEATURE_USE_SQL, a=account_id, lo=period[0], hi=period[1], plo=previous[0], phi=previous[1])
    return sorted((str(f), bool(u), bool(b)) for f, u, b in rows)


LATEST_ANSWERS_CTE = f"""
WITH latest AS (
  SELECT n.score, n.contact_id, ROW_NUMBER() OVER (PARTITION BY {RESPONDENT} ORDER BY {LATEST_ANSWER_FIRST}) AS rn
  FROM nps n WHERE n.account_id = $a AND n.responded_at BETWEEN $lo AND $hi
)
"""

NPS_COUNTS_SQL = LATEST_ANSWERS_CTE + """
SELECT COUNT(*) AS n, COUNT(CASE WHEN score >= $pmin THEN 1 END) AS promoters,
  COUNT(CASE WHEN score <= $dmax THEN 1 END) AS detractors
FROM latest WHERE rn = 1
"""

NPS_DETRACTORS_SQL = LATEST_ANSWERS_CTE + """
SELECT COALESCE(c.name, l.contact_id) AS who, l.score
FROM latest l LEFT JOIN contacts c ON c.contact_id = l.contact_id WHERE l.rn = 1 AND l.score <= $dmax
"""


class NpsRespondents(NamedTuple):
    respondents: int
    promoters: int
    detractors: int
    detractor_contacts: list[str]  # 'name (score)', lowest score first


def nps_respondents(ws: Workspace, account_id: str, first_day: dt.date, last_day: dt.date, promoter_min: int,
                    detractor_max: int) -> NpsRespondents:
    """Each respondent's latest NPS answer between two days (inclusive): respondents, promoters, detractors,
    and who the detractors are (contact name, else id, else 'anonymous', with the score)."""
    params = {"a": account_id, "lo": first_day, "hi": last_day}
    counts = ws.records(NPS_COUNTS_SQL, pmin=promoter_min, dmax=detractor_max, **params)[0]
    detractors = sorted((int(score), "anonymous" if who is None else str(who))
                        for who, score in ws.rows(NPS_DETRACTORS_SQL, dmax=detractor_max, **params))
    return NpsRespondents(int(counts["n"]), int(counts["promoters"]), int(counts["detractors"]),
                          [f"{who} ({score})" for score, who in detractors])


CONTACTS_SQL = """
SELECT contact_id, name, role, department,
  (left_on IS NULL OR left_on > $d) AND COALESCE(active, TRUE) AS is_active, left_on
FROM contacts WHERE account_id = $a
"""

ROLE_ORDER = {"executive_sponsor": 0, "decision_maker": 1, "champion": 2, "admin": 3}


class Contact(NamedTuple):
    contact_id: str
    name: str | None
    role: str | None
    department: str | None
    active: bool
    left_on: dt.date | None


def account_contacts(ws: Workspace, account_id: str, as_of: dt.date) -> list[Contact]:
    """The account's contacts, active ones first (not left by as_of and not marked inactive), then by role
    (executive sponsor, decision maker, champion, admin, others) and id."""
    people = [
        Contact(str(r[0]), r[1], r[2], r[3], bool(r[4]), r[5].date() if isinstance(r[5], dt.datetime) else r[5])
        for r in ws.rows(CONTACTS_SQL, a=account_id, d=as_of)
    ]
    return sorted(people, key=lambda c: (not c.active, ROLE_ORDER.get(c.role or "", 4), c.contact_id))
