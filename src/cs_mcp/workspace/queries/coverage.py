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
    row = ws.cursor().execute(f"SELECT min(lo), max(hi) FROM ({' UNION ALL '.join(parts)}) AS spans").fetchone()
    if row is None or row[0] is None:
        return None
    return row[0], row[1]


def renewal_span(ws: Workspace) -> tuple[dt.date, dt.date] | None:
    """(first, last) renewal date of the accounts not churned; None when no account has one."""
    row = ws.cursor().execute(
        "SELECT min(renewal_date), max(renewal_date) FROM accounts "
        "WHERE coalesce(lower(status), 'active') <> 'churned'"
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return row[0], row[1]
