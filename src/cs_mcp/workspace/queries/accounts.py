"""Account look-ups: by id or name, by name fragment, by similarity, and the filtered search."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace

SEARCHABLE_VALUES = ("segment", "csm_id", "status", "plan")
"""accounts columns whose distinct values may be listed back to the caller."""


class AccountMatch(NamedTuple):
    account_id: str
    name: str
    segment: str | None
    arr: float | None


class SearchRow(NamedTuple):
    account_id: str
    name: str
    segment: str | None
    csm_id: str | None
    plan: str | None
    arr: float | None
    status: str | None
    renewal_date: str | None
    notice_on: str | None


_MATCH_COLUMNS = "account_id, name, segment, arr"


_BY_ID_SQL = f"SELECT {_MATCH_COLUMNS} FROM accounts WHERE account_id = $r"
_NAMED_SQL = f"""SELECT {_MATCH_COLUMNS} FROM accounts
WHERE lower(account_id) = lower($r) OR lower(name) = lower($r)
ORDER BY arr DESC NULLS LAST, name, account_id"""
_CONTAINING_WHERE = "contains(lower(name), lower($r))"
_CONTAINING_COUNT_SQL = f"SELECT COUNT(*) FROM accounts WHERE {_CONTAINING_WHERE}"
_CONTAINING_SQL = f"""SELECT {_MATCH_COLUMNS} FROM accounts WHERE {_CONTAINING_WHERE}
ORDER BY arr DESC NULLS LAST, name, account_id LIMIT $n"""


def _match(row: tuple) -> AccountMatch:
    account_id, name, segment, arr = row
    return AccountMatch(account_id, name, segment, None if arr is None else float(arr))


def account_by_id(ws: Workspace, account_id: str) -> AccountMatch | None:
    rows = ws.rows(_BY_ID_SQL, r=account_id)
    return _match(rows[0]) if rows else None


def accounts_named(ws: Workspace, reference: str) -> list[AccountMatch]:
    """Accounts whose id or name equals `reference`, ignoring case; largest ARR first."""
    return [_match(r) for r in ws.rows(_NAMED_SQL, r=reference)]


def accounts_containing(ws: Workspace, fragment: str, limit: int) -> tuple[int, list[AccountMatch]]:
    """(how many names contain `fragment`, the first `limit` of them by ARR), ignoring case."""
    total = ws.scalar(_CONTAINING_COUNT_SQL, r=fragment)
    return int(total), [_match(r) for r in ws.rows(_CONTAINING_SQL, r=fragment, n=limit)]


_CLOSEST_SQL = f"""
SELECT {_MATCH_COLUMNS} FROM accounts
ORDER BY GREATEST(jaro_winkler_similarity(lower(name), lower($r)),
                  jaro_winkler_similarity(lower(account_id), lower($r))) DESC, account_id
LIMIT $n
"""


def accounts_like(ws: Workspace, reference: str, limit: int) -> list[AccountMatch]:
    """The `limit` accounts whose name or id reads most like `reference` (Jaro-Winkler), on any engine."""
    from cs_mcp.workspace.sql import EngineLacksFunction, jaro_winkler

    try:
        rows = ws.rows(_CLOSEST_SQL, r=reference, n=limit)
    except EngineLacksFunction:  # only DuckDB has it: rank here with DuckDB's own formula
        ref = reference.lower()
        every = ws.rows(f"SELECT {_MATCH_COLUMNS} FROM accounts")
        rows = sorted(every, key=lambda r: (
            -max(jaro_winkler(str(r[1] or "").lower(), ref), jaro_winkler(str(r[0]).lower(), ref)), str(r[0])))
        rows = rows[:limit]
    return [_match(r) for r in rows]


def closest_accounts(ws: Workspace, reference: str, limit: int = 25) -> list[tuple[str, str]]:
    """(account_id, name) of the accounts most like `reference`."""
    return [(m.account_id, m.name) for m in accounts_like(ws, reference, limit)]


def distinct_values(ws: Workspace, column: str) -> list[str]:
    """The values of accounts.<column> present in the data, sorted (by code point, as DuckDB sorts)."""
    from cs_mcp.workspace.engine import ident

    if column not in SEARCHABLE_VALUES:
        raise ValueError(f"not a listable accounts column: {column}")
    col = ident(column)
    rows = ws.rows(f"SELECT DISTINCT CAST({col} AS VARCHAR) AS v FROM accounts WHERE {col} IS NOT NULL")
    return sorted(r[0] for r in rows)


_SEARCH_COLUMNS = "account_id, name, segment, csm_id, plan, arr, status, renewal_date"


def _notice_on_sql() -> str:
    """The churn date of an account that has given notice (queries.renewals.notice_days_sql), else NULL."""
    from cs_mcp.workspace.queries.renewals import notice_days_sql

    return f"CASE WHEN {notice_days_sql('status', 'churned_on', '$as_of')} > 0 THEN churned_on END AS notice_on"


def _accounts_then_sql() -> str:
    """The accounts as of $as_of, in a look back (before $data_end): the renewal that was due then
    (`renewal_due_sql`) and, for an account that churned later, status 'active': queries.customers counts it as a
    customer then; accounts that became customers after $as_of are left out, as every other tool leaves them out.
    At the data's end the accounts table itself is read (a churn dated ahead keeps its status)."""
    from cs_mcp.workspace.queries.customers import FIRST_START_SQL
    from cs_mcp.workspace.queries.renewals import renewal_due_sql

    start = "COALESCE(fs.first_start, a.contract_start)"
    return ("(SELECT a.account_id, a.name, a.segment, a.csm_id, a.plan, a.arr, "
            "CASE WHEN lower(a.status) = 'churned' AND a.churned_on > $as_of THEN 'active' "
            "ELSE a.status END AS status, "
            f"{renewal_due_sql('a.renewal_date', '$as_of')} AS renewal_date, a.churned_on "
            f"FROM accounts a LEFT JOIN ({FIRST_START_SQL}) fs ON fs.account_id = a.account_id "
            f"WHERE {start} IS NULL OR {start} <= $as_of) AS accounts")


def search_sql(
    *, query: bool, filters: tuple[str, ...], min_arr: bool, renewal: bool, look_back: bool = False
) -> tuple[str, str]:
    """(count, page) query texts for the filters given: `filters` names the accounts columns matched."""
    source = _accounts_then_sql() if look_back else "accounts"
    where = ["TRUE"]
    if query:
        where.append("(contains(lower(name), lower($q)) OR contains(lower(account_id), lower($q)))")
    where += [f"lower({column}) = lower(${column})" for column in filters]
    if min_arr:
        where.append("arr >= $min_arr")
    if renewal:
        where.append("renewal_date >= $renewal_from AND renewal_date <= $renewal_to")
    order = "arr DESC NULLS LAST, name, account_id"
    if query:
        order = "(lower(name) = lower($q)) DESC, starts_with(lower(name), lower($q)) DESC, " + order
    sql_where = " AND ".join(where)
    return (f"SELECT COUNT(*) FROM {source} WHERE {sql_where}",
            f"SELECT {_SEARCH_COLUMNS}, {_notice_on_sql()} FROM {source} WHERE {sql_where} ORDER BY {order} "
            "LIMIT $limit OFFSET $offset")


def search_accounts(
    ws: Workspace,
    *,
    query: str | None,
    segment: str | None,
    csm_id: str | None,
    status: str | None,
    min_arr: float | None,
    renewal_within: tuple[dt.date, int] | None,
    limit: int,
    offset: int,
) -> tuple[int, list[SearchRow]]:
    """(accounts matching every filter given, one page of them): best name matches first, then by ARR. Status
    and renewal date are as of ws.as_of (`_accounts_then_sql`); notice_on is the churn date of an account that
    has given notice (at the data's end only)."""
    from cs_mcp.workspace.queries.coverage import data_end

    end = data_end(ws)
    look_back = ws.as_of < end
    params: dict[str, object] = {"as_of": ws.as_of, "data_end": end}
    if query:
        params["q"] = query
    filters = tuple(c for c, v in (("segment", segment), ("csm_id", csm_id), ("status", status)) if v)
    params |= {c: v for c, v in (("segment", segment), ("csm_id", csm_id), ("status", status)) if v}
    if min_arr is not None:
        params["min_arr"] = min_arr
    if renewal_within is not None:
        as_of, days = renewal_within
        params["renewal_from"], params["renewal_to"] = as_of, as_of + dt.timedelta(days=days)
    count_sql, page_sql = search_sql(query=bool(query), filters=filters, min_arr=min_arr is not None,
                                     renewal=renewal_within is not None, look_back=look_back)
    counted = params if look_back else {k: v for k, v in params.items() if k not in ("as_of", "data_end")}
    total = ws.scalar(count_sql, **counted)  # at the data's end, the count's text binds neither date
    rows = ws.rows(page_sql, **params, limit=limit, offset=offset)
    return int(total), [_search_row(r) for r in rows]


def _search_row(row: tuple) -> SearchRow:
    *head, arr, status, renewal, notice = row
    return SearchRow(*head, None if arr is None else float(arr), status, _iso_date(renewal), _iso_date(notice))


def _iso_date(value: object) -> str | None:
    """A date column's value as DuckDB writes CAST(date AS VARCHAR): YYYY-MM-DD."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def account_record(ws: Workspace, account_id: str) -> dict[str, object] | None:
    """The account's row, every column (standard and custom) in table order; None when there is none."""
    found = ws.records("SELECT * FROM accounts WHERE account_id = $id", id=account_id)
    return found[0] if found else None


def csm_record(ws: Workspace, csm_id: str) -> dict[str, object] | None:
    """The CSM's name and team; None when csms holds no such id."""
    found = ws.records("SELECT name, team FROM csms WHERE csm_id = $c", c=csm_id)
    return found[0] if found else None


def row_counts_sql(tables: list[str]) -> str:
    from cs_mcp.workspace.engine import ident, literal

    return " UNION ALL ".join(
        f"SELECT {literal(t)} AS table_name, COUNT(*) AS n FROM {ident(t)} WHERE account_id = $id" for t in tables)


def account_row_counts(ws: Workspace, account_id: str, tables: list[str]) -> dict[str, int]:
    """Rows per table that belong to the account, in the order of `tables`."""
    if not tables:
        return {}
    counts = dict(ws.rows(row_counts_sql(tables), id=account_id))
    return {t: int(counts[t]) for t in tables}


_COMPLETION_SQL = {
    "account": "SELECT account_id FROM accounts WHERE starts_with(lower(account_id), $p) "
               "OR contains(lower(name), $p) "
               "ORDER BY starts_with(lower(name), $p) DESC, arr DESC NULLS LAST, account_id",
    "segment": "SELECT DISTINCT segment FROM accounts WHERE segment IS NOT NULL "
               "AND starts_with(lower(segment), $p) ORDER BY 1",
    "csm": "SELECT DISTINCT csm_id FROM accounts WHERE csm_id IS NOT NULL "
           "AND starts_with(lower(csm_id), $p) ORDER BY 1",
}
"""Argument completion: account ids (name matches first, then by ARR), segments, CSM ids, by lower-case prefix."""


def completions(ws: Workspace, kind: str, prefix: str) -> list[str]:
    """The values of `kind` ('account', 'segment' or 'csm') that complete the lower-case `prefix`."""
    return [r[0] for r in ws.rows(_COMPLETION_SQL[kind], p=prefix)]
