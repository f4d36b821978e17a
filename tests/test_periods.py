"""The one period grammar: named past periods, quarters of renewals ahead, and the years it computes with."""

import datetime as dt

import pytest

from cs_mcp.domain.errors import InvalidArgument
from cs_mcp.domain.periods import past_period, renewal_quarter

AS_OF = dt.date(2026, 6, 30)  # in Q2


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("Q1", dt.date(2026, 1, 1), dt.date(2026, 4, 1), "2026-Q1"),  # completed this year
        ("Q2", dt.date(2026, 4, 1), dt.date(2026, 7, 1), "2026-Q2"),  # current, to date
        ("Q3", dt.date(2025, 7, 1), dt.date(2025, 10, 1), "2025-Q3"),  # not begun this year: last year's
        ("Q4 2024", dt.date(2024, 10, 1), dt.date(2025, 1, 1), "2024-Q4"),
        ("2025q4", dt.date(2025, 10, 1), dt.date(2026, 1, 1), "2025-Q4"),
        ("this-quarter", dt.date(2026, 4, 1), AS_OF, "2026-Q2 to date"),
        ("last quarter", dt.date(2026, 1, 1), dt.date(2026, 4, 1), "2026-Q1"),
        ("last-30-days", dt.date(2026, 5, 31), AS_OF, "last 30 days"),
        ("last-2-weeks", dt.date(2026, 6, 16), AS_OF, "last 2 weeks"),
        ("last-1-month", dt.date(2026, 5, 30), AS_OF, "last month"),
        ("TTM", dt.date(2025, 6, 30), AS_OF, "last 12 months"),
    ],
)
def test_past_periods_look_back_from_the_as_of_date(text, start, end, label):
    assert past_period(text, AS_OF) == (start, end, label)


@pytest.mark.parametrize(
    ("text", "first", "last", "label"),
    [
        ("Q2", dt.date(2026, 4, 1), dt.date(2026, 6, 30), "2026-Q2"),  # current quarter while in it
        ("Q3", dt.date(2026, 7, 1), dt.date(2026, 9, 30), "2026-Q3"),
        ("Q1", dt.date(2027, 1, 1), dt.date(2027, 3, 31), "2027-Q1"),  # this year's is over: the next one
        ("2026-Q4", dt.date(2026, 10, 1), dt.date(2026, 12, 31), "2026-Q4"),
        ("next-quarter", dt.date(2026, 7, 1), dt.date(2026, 9, 30), "2026-Q3"),
        ("this quarter", dt.date(2026, 4, 1), dt.date(2026, 6, 30), "2026-Q2"),
    ],
)
def test_renewal_quarters_look_ahead_from_the_as_of_date(text, first, last, label):
    assert renewal_quarter(text, AS_OF) == (first, last, label)


def test_next_quarter_crosses_the_year():
    assert renewal_quarter("next-quarter", dt.date(2026, 11, 5))[2] == "2027-Q1"


@pytest.mark.parametrize("text", ["0000", "9999", "0000-Q1", "2500-Q3", "last-5000-months"])
def test_periods_outside_the_supported_years_are_refused_with_the_range(text):
    with pytest.raises(InvalidArgument, match="1900-2199|1 to 1200 months"):
        past_period(text, AS_OF)


def test_unknown_forms_are_refused_with_the_accepted_ones():
    with pytest.raises(InvalidArgument, match="Unknown period 'fortnight'.*'last-N-months'"):
        past_period("fortnight", AS_OF)
    with pytest.raises(InvalidArgument, match="Unknown quarter 'autumn'.*'next-quarter'"):
        renewal_quarter("autumn", AS_OF)
    with pytest.raises(InvalidArgument, match="1900-2199"):
        renewal_quarter("1850-Q1", AS_OF)
