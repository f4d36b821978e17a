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
