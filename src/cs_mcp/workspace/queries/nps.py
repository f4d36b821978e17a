"""NPS and CSAT queries: answers per period and cut, comments, ticket ratings, detractors due for follow-up.

Every answer is joined to its account; a cut filters accounts (segment, plan) and answers (tenure band at the
answer date) and may group by an accounts column, an nps column or the tenure band. Each respondent (a contact
within its account; an answer without contact_id is its own respondent) counts once per bucket: its latest answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from cs_mcp.workspace.engine import ident, literal
from cs_mcp.workspace.queries.customers import FIRST_START_SQL, customer_on_sql
from cs_mcp.workspace.schema import TABLES

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace

UNKNOWN_TENURE = "(unknown)"
NO_VALUE = "(none)"
CutSource = Literal["tenure", "accounts", "nps"]
LATEST_ANSWER_FIRST = "n.responded_at DESC, n.response_id DESC NULLS LAST, n.score"
"""The order that finds a respondent's latest answer (rn = 1): the newest date, then the highest response_id, then
the lower score. A contact who answers twice on one day then counts the same answer on every run and engine."""
RESPONDENT = "COALESCE(n.contact_id, n.response_id, CAST(n.responded_at AS VARCHAR))"
"""Who answered, for counting each respondent once: the contact, else the answer itself."""


@dataclass(frozen=True)
class NpsCut:
    """Validated filters and grouping (values are bound as parameters, column names come from the schema)."""

    bands: tuple[tuple[str, int], ...]
    segment: str | None = None
    plan: str | None = None
    tenure: str | None = None
    by_source: CutSource | None = None
    by_column: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("segment", "plan", "tenure"):
            if getattr(self, name):
                self.params[name] = getattr(self, name)

    @property
    def account_where(self) -> str:
        return "".join(f" AND lower(a.{c}) = lower(${c})" for c in ("segment", "plan") if getattr(self, c))

    def band(self, date_expr: str) -> str:
        """The tenure band label of account `a` at `date_expr`."""
        ordered = sorted(self.bands, key=lambda b: -b[1])
        whens = [f"WHEN a.contract_start IS NULL THEN {literal(UNKNOWN_TENURE)}"]
        for label, months in ordered[:-1]:
            whens.append(
                f"WHEN {date_expr} >= a.contract_start + INTERVAL '{int(months)} months' THEN {literal(label)}"
            )
        return f"(CASE {' '.join(whens)} ELSE {literal(ordered[-1][0])} END)"

    def group(self, date_expr: str, answers: str | None = "n") -> str | None:
        """SQL of the group key; None when the group is an nps column and there are no answers to read it from."""
        if self.by_source == "tenure":
            return self.band(date_expr)
        if self.by_source == "accounts":
            return f"COALESCE(CAST(a.{ident(self.by_column)} AS VARCHAR), {literal(NO_VALUE)})"
        if self.by_source == "nps":
            if answers is None:
                return None
            return f"COALESCE(CAST({answers}.{ident(self.by_column)} AS VARCHAR), {literal(NO_VALUE)})"
        return "'all'"

    def tenure_where(self, date_expr: str) -> str:
        return f" AND {self.band(date_expr)} = $tenure" if self.tenure else ""


def nps_cut_columns(ws: Workspace) -> list[str]:
    """Extra columns of the nps table (survey type, channel, touchpoint ...): each can be a cut."""
    if "nps" not in ws.tables:
        return []
    known = set(TABLES["nps"].column_names)
    return [name for name in ws.columns("SELECT * FROM nps LIMIT 0") if name not in known]


def _fetch(ws: Workspace, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return ws.records(sql, **params)


def buckets_sql(count: int) -> str:
    """The named day ranges as rows (bucket, lo, hi): one VALUES row of bound parameters per bucket."""
    rows = ", ".join(f"($b{i}, CAST($b{i}_lo AS DATE), CAST($b{i}_hi AS DATE))" for i in range(count))
    return f"SELECT * FROM (VALUES {rows}) AS p(bucket, lo, hi)"


def bucket_params(buckets: list[tuple[str, dt.date, dt.date]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, (label, lo, hi) in enumerate(buckets):
        out |= {f"b{i}": label, f"b{i}_lo": lo.isoformat(), f"b{i}_hi": hi.isoformat()}
    return out


_COUNTS = """
  COUNT(*) FILTER (WHERE contact_id IS NULL OR rn = 1) AS respondents,
  COUNT(*) FILTER (WHERE (contact_id IS NULL OR rn = 1) AND score >= $pmin) AS promoters,
  COUNT(*) FILTER (WHERE (contact_id IS NULL OR rn = 1) AND score <= $dmax) AS detractors,
  COUNT(DISTINCT account_id) AS accounts,
  COUNT(*) AS answers"""


class Answers:
    """NPS answers in named buckets of days ('period' and the trend's months or quarters) within a cut."""

    def __init__(
        self,
        ws: Workspace,
        cut: NpsCut,
        buckets: list[tuple[str, dt.date, dt.date]],
        promoter_min: int,
        detractor_max: int,
    ) -> None:
        self.ws, self.cut = ws, cut
        self.params = dict(
            cut.params,
            pmin=promoter_min,
            dmax=detractor_max,
            **bucket_params(buckets),
        )
        self.cte = self._cte(len(buckets))

    def _cte(self, count: int) -> str:
        """Answers per bucket within the cut (tenure at the answer date), rn = 1 on each respondent's latest."""
        cut = self.cut
        return f"""
WITH periods AS ({buckets_sql(count)}),
ans AS (
  SELECT p.bucket, n.response_id, n.account_id, n.contact_id, n.responded_at, n.score, n.comment,
    {cut.group('n.responded_at')} AS grp,
    {cut.band('n.responded_at')} AS tenure_band,
    ROW_NUMBER() OVER (PARTITION BY p.bucket, n.account_id, n.contact_id
      ORDER BY {LATEST_ANSWER_FIRST}) AS rn
  FROM nps n
  JOIN periods p ON n.responded_at >= p.lo AND n.responded_at < p.hi
  JOIN accounts a ON a.account_id = n.account_id
  WHERE n.score IS NOT NULL{cut.account_where}
),
cut AS (SELECT * FROM ans WHERE TRUE{" AND tenure_band = $tenure" if cut.tenure else ""}),
resp AS (
  SELECT *, CASE WHEN score >= $pmin THEN 'promoter' WHEN score <= $dmax THEN 'detractor' ELSE 'passive' END
    AS class,
    (comment IS NOT NULL AND trim(comment) <> '') AS has_comment
  FROM cut WHERE contact_id IS NULL OR rn = 1
)"""

    def bucket_counts(self) -> dict[str, dict[str, Any]]:
        """Respondents, promoters, detractors, accounts and answers per bucket."""
        rows = _fetch(self.ws, f"{self.cte} SELECT bucket, {_COUNTS} FROM cut GROUP BY bucket", self.params)
        return {r["bucket"]: r for r in rows}

    def group_counts(self, bucket: str = "period") -> dict[str, dict[str, Any]]:
        sql = f"{self.cte} SELECT grp, {_COUNTS} FROM cut WHERE bucket = $bucket GROUP BY grp"
        return {r["grp"]: r for r in _fetch(self.ws, sql, dict(self.params, bucket=bucket))}

    def distribution(self, bucket: str = "period") -> dict[int, int]:
        """Respondents per score."""
        sql = f"{self.cte} SELECT score, COUNT(*) AS n FROM resp WHERE bucket = $bucket GROUP BY 1"
        return {int(r["score"]): int(r["n"]) for r in _fetch(self.ws, sql, dict(self.params, bucket=bucket))}

    def comment_counts(self, bucket: str = "period") -> dict[str, int]:
        """Respondents whose latest answer has a comment, per class (promoter, passive, detractor)."""
        sql = (f"{self.cte} SELECT class, COUNT(*) AS n FROM resp WHERE bucket = $bucket AND has_comment "
               "GROUP BY 1")
        return {r["class"]: int(r["n"]) for r in _fetch(self.ws, sql, dict(self.params, bucket=bucket))}

    def comments(self, bucket: str = "period") -> list[dict[str, Any]]:
        """Each respondent's latest comment: class, account_id, score, responded_at, comment; in a fixed order."""
        sql = f"""{self.cte}
SELECT class, account_id, score, responded_at, comment FROM resp WHERE bucket = $bucket AND has_comment
ORDER BY responded_at, account_id, contact_id NULLS FIRST, response_id NULLS FIRST, comment"""
        return _fetch(self.ws, sql, dict(self.params, bucket=bucket))


def csat_sql(cut: NpsCut) -> str:
    day = "CAST(COALESCE(k.closed_at, k.opened_at) AS DATE)"
    grp = cut.group(day, answers=None) or "'all'"
    return f"""
SELECT {grp} AS grp, COUNT(*) AS ratings, COUNT(*) FILTER (WHERE k.csat >= $cmin) AS satisfied
FROM tickets k JOIN accounts a ON a.account_id = k.account_id
WHERE k.csat IS NOT NULL AND {day} >= $lo AND {day} < $hi{cut.account_where}{cut.tenure_where(day)}
GROUP BY 1"""


def csat_by_group(
    ws: Workspace, cut: NpsCut, satisfied_min: int, lo: dt.date, hi: dt.date
) -> list[dict[str, Any]]:
    """Ticket ratings and satisfied ratings per group (grp 'all' when the cut's group is not on tickets)."""
    return _fetch(ws, csat_sql(cut), dict(cut.params, cmin=satisfied_min, lo=lo, hi=hi))


def _followup_cte(cut: NpsCut) -> str:
    return f"""
WITH recent AS (
  SELECT n.account_id, n.contact_id, n.responded_at, n.score, n.comment,
    ROW_NUMBER() OVER (PARTITION BY n.account_id, n.contact_id
      ORDER BY {LATEST_ANSWER_FIRST}) AS rn
  FROM nps n WHERE n.responded_at >= $since AND n.responded_at <= $as_of
),
touch AS (SELECT account_id, MAX(date) AS last_touch FROM touchpoints WHERE date <= $as_of GROUP BY account_id),
due AS (
  SELECT r.account_id, a.name, a.segment, a.csm_id, r.contact_id, r.score, r.responded_at, r.comment,
    CAST(a.arr AS DOUBLE) AS arr, t.last_touch
  FROM recent r
  JOIN accounts a ON a.account_id = r.account_id
  LEFT JOIN touch t ON t.account_id = r.account_id
  LEFT JOIN ({FIRST_START_SQL}) fs ON fs.account_id = r.account_id
  WHERE (r.contact_id IS NULL OR r.rn = 1) AND r.score <= $dmax
    AND (t.last_touch IS NULL OR t.last_touch < r.responded_at)
    AND {customer_on_sql("a", "fs.first_start", "$as_of")}
    {cut.account_where}{cut.tenure_where('r.responded_at')}
)"""


def followup_totals_sql(cut: NpsCut) -> str:
    return _followup_cte(cut) + """
SELECT COUNT(*) AS due, COUNT(DISTINCT account_id) AS accounts,
  (SELECT COALESCE(SUM(arr), 0) FROM (SELECT DISTINCT account_id, arr FROM due) d) AS arr
FROM due"""


def followup_rows_sql(cut: NpsCut) -> str:
    return _followup_cte(cut) + (
        "\nSELECT * FROM due ORDER BY arr DESC NULLS LAST, score, responded_at, account_id, contact_id "
        "LIMIT $lim OFFSET $off")


def followup_totals(ws: Workspace, cut: NpsCut, since: dt.date, as_of: dt.date, detractor_max: int) -> tuple:
    """(detractors due, accounts, their ARR): latest detractor answers since `since` with no touch after."""
    params = dict(cut.params, since=since, as_of=as_of, dmax=detractor_max)
    return ws.rows(followup_totals_sql(cut), **params)[0]


def followup_rows(
    ws: Workspace, cut: NpsCut, since: dt.date, as_of: dt.date, detractor_max: int, limit: int, offset: int
) -> list[dict[str, Any]]:
    """One page of the detractors due, largest ARR first, then lowest score."""
    params = dict(cut.params, since=since, as_of=as_of, dmax=detractor_max, lim=int(limit), off=int(offset))
    return _fetch(ws, followup_rows_sql(cut), params)


def answer_date_range(ws: Workspace) -> tuple[dt.date | None, dt.date | None]:
    return ws.rows("SELECT MIN(responded_at) AS lo, MAX(responded_at) AS hi FROM nps")[0]


def has_contact_ids(ws: Workspace) -> bool:
    return bool(ws.scalar("SELECT COUNT(contact_id) AS n FROM nps"))


def has_contract_starts(ws: Workspace) -> bool:
    return bool(ws.scalar("SELECT COUNT(contract_start) AS n FROM accounts"))
