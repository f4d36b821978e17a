"""The renewal book's CRM evidence and one account's renewal history: renewal dates, opportunities, ARR steps.

Renewal dates come from accounts.renewal_date, else the end of the account's current subscription. The
opportunities counted for a renewal are summed per account in the engine (see cs_mcp.domain.renewal's
docstring for the rules); only one row per account comes back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace
    from cs_mcp.workspace.sql import Columns

LISTABLE_COLUMNS = ("segment", "csm_id")
"""accounts columns a renewal filter may name (their values are listed back when one is unknown)."""


def renewal_due_sql(column: str, day: str) -> str:
    """SQL for the renewal that was due as of `day`, from a renewal date stored as of `$data_end`.

    The accounts table holds each renewal date as of the day the data was taken (coverage.data_end): an account
    that renewed since `day` shows the next cycle's date. Before `$data_end`, a stored date later than its
    first anniversary after `day` is moved back to that anniversary (whole years; 29 February falls on the
    28th), as churn training does at its cut-offs; on or after `$data_end`, and for a date already passed, the
    stored date stands (a multi-year term ending later is only known as of the data's end)."""
    def part(fn: str) -> str:
        return f"CAST({fn}({column}) AS INTEGER)"

    m, d = part("month"), f"CASE WHEN {part('month')} = 2 AND {part('day')} = 29 THEN 28 ELSE {part('day')} END"
    later = f"{m} * 100 + {d} > CAST(month({day}) AS INTEGER) * 100 + CAST(day({day}) AS INTEGER)"
    anniversary = f"make_date(CAST(year({day}) AS INTEGER) + CASE WHEN {later} THEN 0 ELSE 1 END, {m}, {d})"
    return (f"CASE WHEN {day} < $data_end AND {column} > {anniversary} THEN {anniversary} "
            f"ELSE {column} END")


def notice_days_sql(status: str, churned_on: str, day: str) -> str:
    """SQL for the days from `day` to the churn date of an account that has given notice: marked churned with
    churned_on still ahead. NULL otherwise, and before `$data_end`: in a look back, a later churn is what
    happened next, not a notice known then."""
    return (f"CASE WHEN {day} >= $data_end AND lower({status}) = 'churned' AND {churned_on} > {day} "
            f"THEN date_diff('day', {day}, {churned_on}) END")


def renewal_evidence_sql(n_late: int) -> str:
    """Per account: renewal date (and whether it was derived from subscriptions) and CRM opportunity counts."""
    late = " OR ".join(f"lower(o.stage) LIKE $late{i}" for i in range(n_late)) or "FALSE"
    return f"""
WITH nxt AS (
  SELECT account_id, MIN(end_date) AS next_end FROM subscriptions
  WHERE start_date <= $as_of AND end_date > $as_of GROUP BY account_id
),
acc AS (
  SELECT a.account_id, COALESCE({renewal_due_sql("a.renewal_date", "$as_of")}, nxt.next_end) AS renewal_date,
    (a.renewal_date IS NULL AND nxt.next_end IS NOT NULL) AS derived,
    {notice_days_sql("a.status", "a.churned_on", "$as_of")} AS notice_days
  FROM accounts a LEFT JOIN nxt ON nxt.account_id = a.account_id
),
opp AS (
  SELECT o.account_id, lower(o.type) AS kind, ABS(COALESCE(o.amount, 0)) AS amount,
    CASE WHEN lower(trim(o.stage)) IN (SELECT unnest(CAST($won AS VARCHAR[]))) THEN 'won'
         WHEN lower(trim(o.stage)) IN (SELECT unnest(CAST($lost AS VARCHAR[]))) THEN 'lost'
         ELSE 'open' END AS state,
    COALESCE({late}, FALSE) AS late,
    (o.close_date IS NULL OR o.close_date <= acc.renewal_date + $slack) AS for_renewal,
    (o.close_date > acc.renewal_date - $cycle AND o.close_date <= acc.renewal_date + $slack) AS this_cycle
  FROM opportunities o JOIN acc ON acc.account_id = o.account_id
  WHERE acc.renewal_date IS NOT NULL AND (o.close_date IS NULL OR o.close_date <= $closed_by)
),
agg AS (
  SELECT account_id,
    SUM(CASE WHEN state = 'open' AND for_renewal AND kind IN ('upsell', 'cross-sell') THEN amount END)
      AS expansion,
    SUM(CASE WHEN state = 'open' AND for_renewal AND kind = 'downgrade' THEN amount END) AS contraction,
    COUNT(CASE WHEN state = 'open' AND for_renewal AND kind = 'downgrade' THEN 1 END) AS downgrades,
    COUNT(CASE WHEN state = 'open' AND for_renewal AND kind = 'renewal' AND late THEN 1 END) AS late_renewals,
    COUNT(CASE WHEN state = 'won' AND this_cycle AND kind = 'renewal' THEN 1 END) AS won_renewals,
    COUNT(CASE WHEN state = 'lost' AND this_cycle AND kind = 'renewal' THEN 1 END) AS lost_renewals
  FROM opp GROUP BY account_id
)
SELECT acc.account_id, acc.renewal_date, CAST(acc.derived AS INTEGER) AS derived,
  CAST(COALESCE(agg.expansion, 0) AS DOUBLE) AS expansion,
  CAST(COALESCE(agg.contraction, 0) AS DOUBLE) AS contraction,
  COALESCE(agg.downgrades, 0) AS downgrades, COALESCE(agg.late_renewals, 0) AS late_renewals,
  COALESCE(agg.won_renewals, 0) AS won_renewals, COALESCE(agg.lost_renewals, 0) AS lost_renewals,
  CAST(COALESCE(acc.notice_days, 0) AS INTEGER) AS churn_notice
FROM acc LEFT JOIN agg ON agg.account_id = acc.account_id
"""


def renewal_evidence(
    ws: Workspace, *, won: Sequence[str], lost: Sequence[str], late: Sequence[str], slack_days: int,
    cycle_days: int, closed_by: dt.date = dt.date.max,
) -> Columns:
    """Every account's renewal date (NaT without one), `derived` (1 when taken from the current subscription's
    end) and the CRM evidence for that renewal: open expansion and contraction amounts, open downgrades,
    open late-stage renewal opportunities, won and lost renewal opportunities of this cycle, and `churn_notice`:
    the days until churned_on of an account marked churned with that date still ahead (notice given; at the
    data's end only), else 0. The renewal date is the one due as of ws.as_of (`renewal_due_sql`, from the dates
    stored as of coverage.data_end).

    Stage names are matched lower-cased and trimmed (won, lost) or as lower-cased substrings (late). Only deals
    closing by `closed_by` (or without a close date) count."""
    from cs_mcp.workspace.queries.coverage import data_end

    params: dict[str, Any] = {
        "as_of": ws.as_of,
        "won": [s.lower() for s in won],
        "lost": [s.lower() for s in lost],
        "slack": int(slack_days),
        "cycle": int(cycle_days),
        "closed_by": closed_by,
        "data_end": data_end(ws),
    }
    for i, stage in enumerate(late):
        params[f"late{i}"] = f"%{stage.lower()}%"
    return ws.columns(renewal_evidence_sql(len(late)), **params)


def renewal_dates_known(ws: Workspace) -> int:
    """How many accounts carry a renewal date of their own."""
    return int(ws.scalar("SELECT COUNT(*) FROM accounts WHERE renewal_date IS NOT NULL") or 0)


def account_values(ws: Workspace, column: str) -> list[str]:
    """The distinct non-empty values of accounts.<column> (segment or csm_id), sorted as text."""
    from cs_mcp.workspace.engine import ident

    if column not in LISTABLE_COLUMNS:
        raise ValueError(f"not a listable accounts column: {column}")
    rows = ws.rows(f"SELECT DISTINCT CAST({ident(column)} AS VARCHAR) AS v FROM accounts "
                   f"WHERE {ident(column)} IS NOT NULL")
    return sorted(str(r[0]) for r in rows)


# ---------------------------------------------------------------------------------- one account


SUPPORT_WINDOW_SQL = """
SELECT
  COUNT(CASE WHEN CAST(opened_at AS DATE) BETWEEN $lo AND $hi THEN 1 END) AS opened,
  COUNT(CASE WHEN CAST(closed_at AS DATE) BETWEEN $lo AND $hi THEN 1 END) AS resolved,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY CASE WHEN CAST(closed_at AS DATE) BETWEEN $lo AND $hi
    THEN CAST(date_diff('minute', date_trunc('minute', opened_at), date_trunc('minute', closed_at)) AS DOUBLE)
      / 60 END) AS median_hours,
  COUNT(CASE WHEN CAST(opened_at AS DATE) <= $hi
    AND (closed_at IS NULL OR CAST(closed_at AS DATE) > $hi) THEN 1 END) AS open_now,
  COUNT(CASE WHEN priority = 'critical' AND CAST(opened_at AS DATE) <= $hi
    AND (closed_at IS NULL OR CAST(closed_at AS DATE) > $hi) THEN 1 END) AS open_critical,
  COUNT(CASE WHEN escalated AND CAST(opened_at AS DATE) BETWEEN $lo AND $hi THEN 1 END) AS escalated,
  COUNT(CASE WHEN CAST(COALESCE(closed_at, opened_at) AS DATE) BETWEEN $lo AND $hi THEN csat END) AS csat_n,
  COUNT(CASE WHEN csat >= $cmin AND CAST(COALESCE(closed_at, opened_at) AS DATE) BETWEEN $lo AND $hi
    THEN csat END) AS csat_good
FROM tickets WHERE account_id = $a
"""


def support_window(ws: Workspace, account_id: str, first_day: dt.date, last_day: dt.date,
                   csat_min: int) -> dict[str, Any]:
    """One account's tickets between two days (inclusive): opened, resolved, median hours to resolve (minute
    boundaries crossed / 60, None without any), open and open critical on the last day, escalated, CSAT
    answers and satisfied answers (csat >= csat_min)."""
    return ws.records(SUPPORT_WINDOW_SQL, a=account_id, lo=first_day, hi=last_day, cmin=csat_min)[0]


ARR_STEPS_SQL = """
WITH s AS (SELECT start_date, end_date, arr FROM subscriptions WHERE account_id = $a AND start_date <= $d),
change_days AS (
  SELECT start_date AS change_day FROM s UNION SELECT end_date FROM s WHERE end_date <= $d
)
SELECT c.change_day, COALESCE(SUM(CASE WHEN s.start_date <= c.change_day
  AND (s.end_date IS NULL OR s.end_date > c.change_day) THEN s.arr END), 0) AS arr
FROM change_days c CROSS JOIN s GROUP BY c.change_day ORDER BY c.change_day
"""


def arr_steps(ws: Workspace, account_id: str, as_of: dt.date) -> list[tuple[dt.date, float]]:
    """(day, ARR running that day) on each day one of the account's subscriptions starts or ends, to as_of."""
    return [(_as_date(day), float(arr)) for day, arr in ws.rows(ARR_STEPS_SQL, a=account_id, d=as_of)]


OPEN_DEALS_SQL = """
SELECT o.opportunity_id, lower(o.type) AS kind, CAST(COALESCE(o.amount, 0) AS DOUBLE) AS amount, o.stage,
  o.close_date, p.name AS product_name
FROM opportunities o LEFT JOIN products p ON p.product_id = o.product_id
WHERE o.account_id = $a AND lower(o.type) IN ('upsell', 'cross-sell')
  AND lower(trim(COALESCE(o.stage, ''))) NOT IN (SELECT unnest(CAST($closed AS VARCHAR[])))
ORDER BY o.close_date NULLS LAST, o.opportunity_id
"""


class OpenDeal(NamedTuple):
    opportunity_id: str
    kind: str
    amount: float
    stage: str | None
    close_date: dt.date | None
    product_name: str | None


def open_expansion_deals(ws: Workspace, account_id: str, closed_stages: Sequence[str]) -> list[OpenDeal]:
    """The account's upsell / cross-sell opportunities not at a closed stage (matched lower-cased, trimmed),
    soonest close first (undated last)."""
    rows = ws.rows(OPEN_DEALS_SQL, a=account_id, closed=[s.lower() for s in closed_stages])
    return [OpenDeal(str(r[0]), str(r[1]), float(r[2]), r[3], None if r[4] is None else _as_date(r[4]), r[5])
            for r in rows]


def subscriptions_name_products(ws: Workspace) -> bool:
    """Whether any subscription row names its product."""
    return bool(ws.scalar("SELECT COUNT(product_id) FROM subscriptions"))


def _as_date(value: Any) -> dt.date:
    """A DATE result as datetime.date, whichever driver returned it."""
    return value.date() if isinstance(value, dt.datetime) else value
