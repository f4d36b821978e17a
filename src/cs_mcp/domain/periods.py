"""One period grammar for every tool: named periods, quarters and the dates the server computes with.

A past period (retention, NPS, escalations, reviews) is read by `past_period`; a window of renewals
ahead (churn-risk-list, renewal-forecast) by `renewal_quarter`. Both read a quarter the same way
('2026-Q4', 'Q4 2026', '2026q4'); a bare 'Q4' is anchored on the as-of date by the direction the tool
looks: back to the latest Q4 that began before the as-of date (the current one, to date, while in it),
or ahead to the current Q4 while in it, else the next one. Years outside MIN_DATE..MAX_DATE are refused
with the range, so no date arithmetic downstream can overflow.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from cs_mcp.domain.errors import InvalidArgument

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace

MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2199, 12, 31)
"""Dates the server computes with; a generous bound on any contract, so offsets of years stay valid."""

MAX_MONTHS_BACK = 1200

Day = Annotated[dt.date, Field(ge=MIN_DATE, le=MAX_DATE)]
"""A date argument, bounded so that date arithmetic on it cannot leave the calendar."""

PERIOD_HELP = (
    "Send period as 'last-12-months' (default), 'last-N-months', 'last-N-weeks', 'last-N-days', "
    "'last-quarter', 'this-quarter' (= 'qtd'), 'last-year', 'ytd', a quarter '2026-Q3' (a bare 'Q3' is "
    "the latest Q3 that began before the as-of date), a year '2025' or a month '2026-05'; or start and "
    "end dates (YYYY-MM-DD)."
)
QUARTER_HELP = (
    "Send quarter as '2026-Q4' (also 'Q4 2026'), a bare 'Q4' (the current Q4 while in it, else the next "
    "one after the as-of date), 'this-quarter' or 'next-quarter'."
)

_QUARTER = re.compile(r"^(?:(\d{4})[-\s/]?q([1-4])|q([1-4])[-\s/]?(\d{4})|q([1-4]))$")


def add_months(d: dt.date, months: int) -> dt.date:
    """The same day `months` later (or earlier), clamped to the month's last day."""
    total = d.year * 12 + d.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def quarter_start(year: int, q: int) -> dt.date:
    return dt.date(year, 3 * (q - 1) + 1, 1)


def quarter_of(d: dt.date) -> int:
    return (d.month - 1) // 3 + 1


def quarter_label(start: dt.date) -> str:
    return f"{start.year}-Q{quarter_of(start)}"


def check_year(year: int, text: str, help_text: str) -> int:
    """`year` if the server can compute with it, else InvalidArgument with the supported range."""
    if not MIN_DATE.year <= year <= MAX_DATE.year:
        raise InvalidArgument(
            f"'{text}' is in the year {year}, outside the dates this server computes with "
            f"({MIN_DATE.year}-{MAX_DATE.year}). {help_text}"
        )
    return year


def parse_quarter(text: str) -> tuple[int | None, int] | None:
    """'2026-Q3', 'Q3 2026', '2026Q3' -> (2026, 3); 'Q3' -> (None, 3); anything else None."""
    m = _QUARTER.match(text.strip().lower())
    if not m:
        return None
    if m.group(1):
        return int(m.group(1)), int(m.group(2))
    if m.group(3):
        return int(m.group(4)), int(m.group(3))
    return None, int(m.group(5))


def _key(text: str) -> str:
    return re.sub(r"[\s_]+", "-", text.strip().lower())


def past_period(text: str, as_of: dt.date) -> tuple[dt.date, dt.date, str]:
    """(start, end, label) of a named past period; `end` is the day after a calendar period's last day.

    'last N months / weeks / days' runs from N before the as-of date to the as-of date itself.
    """
    key = _key(text)
    if key in ("ltm", "ttm", "last-year-rolling", "trailing-12-months"):
        key = "last-12-months"
    if m := re.fullmatch(r"(?:last|trailing|past)-(\d{1,6})-(month|week|day)s?", key):
        n, unit = int(m.group(1)), m.group(2)
        months = n if unit == "month" else n * (7 if unit == "week" else 1) / 30.4
        if n < 1 or months > MAX_MONTHS_BACK:
            raise InvalidArgument(
                f"period '{text}' must cover 1 to {MAX_MONTHS_BACK} months. {PERIOD_HELP}"
            )
        if unit == "month":
            start = add_months(as_of, -n)
        else:
            start = as_of - dt.timedelta(days=n * (7 if unit == "week" else 1))
        return start, as_of, f"last {n} {unit}s" if n != 1 else f"last {unit}"
    q_now = quarter_of(as_of)
    if key in ("last-quarter", "previous-quarter"):
        start = add_months(quarter_start(as_of.year, q_now), -3)
        return start, add_months(start, 3), quarter_label(start)
    if key in ("qtd", "quarter-to-date", "this-quarter", "current-quarter"):
        return quarter_start(as_of.year, q_now), as_of, f"{as_of.year}-Q{q_now} to date"
    if key in ("ytd", "year-to-date", "this-year", "current-year"):
        return dt.date(as_of.year, 1, 1), as_of, f"{as_of.year} to date"
    if key in ("last-year", "previous-year"):
        y = as_of.year - 1
        return dt.date(y, 1, 1), dt.date(y + 1, 1, 1), str(y)
    if q := parse_quarter(key):
        year, quarter = q
        if year is None:
            year = as_of.year if quarter_start(as_of.year, quarter) < as_of else as_of.year - 1
        start = quarter_start(check_year(year, text, PERIOD_HELP), quarter)
        return start, add_months(start, 3), f"{year}-Q{quarter}"
    if re.fullmatch(r"\d{4}", key):
        y = check_year(int(key), text, PERIOD_HELP)
        return dt.date(y, 1, 1), dt.date(y + 1, 1, 1), key
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})", key):
        y, mo = check_year(int(m.group(1)), text, PERIOD_HELP), int(m.group(2))
        if 1 <= mo <= 12:
            start = dt.date(y, mo, 1)
            return start, add_months(start, 1), f"{y}-{mo:02d}"
    raise InvalidArgument(f"Unknown period '{_clip(text)}'. {PERIOD_HELP}")


def renewal_quarter(text: str, as_of: dt.date) -> tuple[dt.date, dt.date, str]:
    """(first day, last day, label) of a quarter of renewals ahead; a bare 'Q4' is the current or next Q4."""
    key = _key(text)
    q_now = quarter_of(as_of)
    if key in ("this-quarter", "current-quarter", "qtd"):
        year, n = as_of.year, q_now
    elif key == "next-quarter":
        nxt = add_months(quarter_start(as_of.year, q_now), 3)
        year, n = nxt.year, quarter_of(nxt)
    elif q := parse_quarter(key):
        year, n = q
        if year is None:
            year = as_of.year if n >= q_now else as_of.year + 1
    else:
        raise InvalidArgument(f"Unknown quarter '{_clip(text)}'. {QUARTER_HELP}")
    start = quarter_start(check_year(year, text, QUARTER_HELP), n)
    return start, add_months(start, 3) - dt.timedelta(days=1), f"{year}-Q{n}"


def _clip(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# ------------------------------------------------------------------------- the data's dates


def data_span(ws: Workspace) -> tuple[dt.date, dt.date] | None:
    """First and last activity date in the data, the last at least the as-of date; None without activity."""
    from cs_mcp.workspace.cache import cached
    from cs_mcp.workspace.queries.coverage import activity_span

    span = cached(ws, ("activity-span",), lambda: activity_span(ws))
    if span is None:
        return None
    first, last = span
    return min(first, ws.as_of), max(last, ws.as_of)


def coverage_text(ws: Workspace) -> str:
    """'the data covers 2025-01-03 to 2026-06-30 (as of 2026-06-30)', for notes on empty periods."""
    span = data_span(ws)
    if span is None:
        return f"the data holds no dated activity (as of {ws.as_of})"
    return f"the data covers {span[0]} to {span[1]} (as of {ws.as_of})"


def require_in_data(ws: Workspace, field: str, day: dt.date) -> dt.date:
    """`day` if it lies within the data's dates, else InvalidArgument naming the range to send."""
    span = data_span(ws)
    if span is None:
        return day
    first, last = span
    if first <= day <= last:
        return day
    where = "after the data's last date" if day > last else "before the data's first date"
    raise InvalidArgument(
        f"{field}: {day} is {where}; the data covers {first} to {last}. Send a date in that range "
        f"(YYYY-MM-DD), or omit {field} for the as-of date {ws.as_of}."
    )


def renewal_coverage(ws: Workspace) -> str:
    """'renewal dates in the data run from ... to ...', for notes on an empty renewal window."""
    from cs_mcp.workspace.cache import cached
    from cs_mcp.workspace.queries.coverage import renewal_span

    span = cached(ws, ("renewal-span",), lambda: renewal_span(ws))
    if span is None:
        return "no account in the data has a renewal date"
    return f"renewal dates in the data run from {span[0]} to {span[1]}"
