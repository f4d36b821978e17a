"""The renewal book's CRM evidence and one account's renewal history: renewal dates, opportunities, ARR steps.

Renewal dates come from accounts.renewal_date, else the end of the account's current subscription. The
opportunities counted for a renewal are summed per account in the engine (see cs_mcp.domain.renewal's
docstring for the rules); only one row per account comes back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace
    from cs_mcp.workspace.sql import Columns

LISTABLE_COLUMNS = ("segment", "csm_id")
"""accounts columns a renewal filter may name (their values are listed back when one is unknown)."""


def renewal_evidence_sql(n_late: int) -> str:
    """Per account: renewal date (and whether it was derived from subscriptions) and CRM opportunity counts."""
    late = " OR ".join(f"lower(o.stage) LIKE $late{i}" for i in range(n_late)) or "FALSE"
    return f"""
WITH nxt AS (
  SELECT account_id, MIN(end_date) AS next_end FROM subscriptions
  WHERE start_date <= $as_of AND end_date > $as_of GROUP BY account_id
),
acc AS (
  SELECT a.account_id, COALESCE(a.renewal_date, nxt.next_end) AS renewal_date,
    (a.renewal_date IS NULL AND nxt.next_end IS NOT NULL) AS derived
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
  WHERE acc.renewal_date IS NOT NULL
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
  COALESCE(agg.won_renewals, 0) AS won_renewals, COALESCE(agg.lost_renewals, 0) AS lost_renewals
FROM acc LEFT JOIN agg ON agg.account_id = acc.account_id
"""


def renewal_evidence(
    ws: Workspace, *, won: Sequence[str], lost: Sequence[str], late: Sequence[str], slack_days: int,
    cycle_days: int,
) -> Columns:
    """Every account's renewal date (NaT without one), `derived` (1 when taken from the current subscription's
    end) and the CRM evidence for that renewal: open expansion and contraction amounts, open downgrades,
    open late-stage renewal opportunities, won and lost renewal opportunities of this cycle.

    Stage names are matched lower-cased and trimmed (won, lost) or as lower-cased substrings (late)."""
    params: dict[str, Any] = {
        "as_of": ws.as_of,
        "won": [s.lower() for s in won],
        "lost": [s.lower() for s in lost],
        "slack": int(slack_days),
        "cycle": int(cycle_days),
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


class AccountState(NamedTuple):
    status: str | None
    churned_on: str | None


def account_state(ws: Workspace, account_id: str) -> AccountState | None:
    """The account's status and churn date (ISO text), None when the id is unknown."""
    row = ws.rows("SELECT status, CAST(churned_on AS VARCHAR) AS churned_on FROM accounts WHERE account_id = $a",
                  a=account_id)
    return AccountState(*row[0]) if row else None
