"""Which dates the data covers: the span of its activity dates."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from cs_mcp.workspace import engine as sql

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace


def activity_span(ws: Workspace) -> tuple[dt.date, dt.date] | None:
    """(first, last) activity date over the loaded event tables; None when none holds a date."""
    from cs_mcp.workspace.loader import ACTIVITY_DATES

    parts = [
        f"SELECT min(CAST({sql.ident(col)} AS DATE)) AS lo, max(CAST({sql.ident(col)} AS DATE)) AS hi "
        f"FROM {sql.ident(table)}"
        for table, col in ACTIVITY_DATES
        if table in ws.tables
    ]
    if not parts:
        return None
    rows = ws.rows(f"SELECT min(lo) AS lo, max(hi) AS hi FROM ({' UNION ALL '.join(parts)}) AS spans")
    return _span(rows)


def data_end(ws: Workspace) -> dt.date:
    """The day the data was taken: its newest activity date not after today (what `data.as_of: latest`
    picks), never before the as-of date. The accounts table's renewal dates and the CRM's deal stages are as
    of this day; an as-of date before it is a look back. Computed once per workspace."""
    from cs_mcp.workspace.cache import cached

    if ws.settings.data.as_of == "latest":
        return ws.as_of
    return cached(ws, ("data-end",), lambda: max(_newest_activity(ws, dt.date.today()) or ws.as_of, ws.as_of))


def _newest_activity(ws: Workspace, not_after: dt.date) -> dt.date | None:
    from cs_mcp.workspace.loader import ACTIVITY_DATES

    parts = [
        f"SELECT max(CAST({sql.ident(col)} AS DATE)) AS hi FROM {sql.ident(table)} "
        f"WHERE CAST({sql.ident(col)} AS DATE) <= $not_after"
        for table, col in ACTIVITY_DATES
        if table in ws.tables
    ]
    if not parts:
        return None
    rows = ws.rows(f"SELECT max(hi) AS hi FROM ({' UNION ALL '.join(parts)}) AS ends", not_after=not_after)
    return None if not rows or rows[0][0] is None else as_date(rows[0][0])


def renewal_span(ws: Workspace) -> tuple[dt.date, dt.date] | None:
    """(first, last) renewal date of the accounts not churned; None when no account has one."""
    return _span(ws.rows(
        "SELECT min(renewal_date) AS lo, max(renewal_date) AS hi FROM accounts "
        "WHERE coalesce(lower(status), 'active') <> 'churned'"
    ))


def _span(rows: list[tuple]) -> tuple[dt.date, dt.date] | None:
    if not rows or rows[0][0] is None:
        return None
    return as_date(rows[0][0]), as_date(rows[0][1])


def as_date(value: dt.date) -> dt.date:
    """A DATE value as a date (some drivers hand back a datetime at midnight)."""
    return value.date() if isinstance(value, dt.datetime) else value
