"""Numbers in words for the text answers: money and shares, formatted the same way everywhere."""

from __future__ import annotations

import math
from collections.abc import Sequence


def money(v: float | None) -> str:
    """$1.23M, $245K, $74.5K, $9,870; n/a when unknown. The one money format of every text answer."""
    if v is None or v != v:
        return "n/a"
    if abs(v) >= 1_000_000:
        return f"${v / 1_000_000:.2f}M"
    if abs(v) >= 100_000:
        return f"${v / 1_000:.0f}K"
    if abs(v) >= 10_000:
        return f"${v / 1_000:.1f}K".replace(".0K", "K")
    return f"${v:,.0f}"


def money_change(v: float) -> str:
    """A signed change in money in the one money format: +$14.5K, -$171K."""
    return ("-" if v < 0 else "+") + money(abs(v))


def score_text(v: float) -> str:
    """A 0-100 score as a whole number, rounded down, so that the number shown lies in the band shown with it:
    79.9 reads 79 (yellow under a green edge of 80), never 80. Rounded down from one decimal, the precision the
    answers keep, so a raw 53.96 and its field's 54.0 read the same."""
    return str(math.floor(round(v, 1) + 1e-9))


_SMALL = ("zero", "a", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")


def ago(days: int, suffix: bool = True) -> str:
    """A look-back in the months a customer counts: 180 -> 'six months ago', 365 -> 'a year ago' (suffix=False:
    'six months', 'year'). A 28-day average as of 180 days back is not 'in May': it covers the weeks before."""
    years, rest = divmod(days, 365)
    if rest == 0 and years:
        words = "year" if years == 1 and not suffix else "a year" if years == 1 else f"{years} years"
    else:
        months = max(1, round(days / 30.44))
        count = _SMALL[months] if months < len(_SMALL) else str(months)  # 'vs 30 six months ago', not '30 6 months'
        words = "month" if months == 1 and not suffix else f"{count} month{'s' if months != 1 else ''}"
    return f"{words} ago" if suffix else words


def pct(v: float | None) -> str:
    """A share as a whole percentage: 0.456 -> 46%."""
    return "n/a" if v is None else f"{v * 100:.0f}%"


def pct1(v: float | None) -> str:
    """A share with one decimal: 0.456 -> 45.6%."""
    return "n/a" if v is None else f"{v * 100:.1f}%"


def day_count(n: float) -> str:
    """A whole number of days in words: 1 day, 14 days."""
    k = round(n)
    return f"{k} day" if abs(k) == 1 else f"{k} days"


def shorten(text: str, limit: int) -> str:
    """The text cut at a word boundary to at most `limit` characters, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    head = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return head.rstrip(" ,;:(") + "…"


def distinct_facts(items: list[str], stated: Sequence[str] = ()) -> list[str]:
    """The items in order without repeating a fact: one whose words an earlier item (or one of `stated`, facts
    the answer already gives elsewhere) holds, or which holds an earlier item's words ("[critical] an invoice
    169 days overdue" covers "financial health 8/100: an invoice 169 days overdue"), is left out. A
    "[severity] " tag is not part of the fact."""
    cores = [_core(x) for x in distinct_facts(list(stated))] if stated else []
    kept: list[str] = []
    for item in items:
        core = _core(item)
        if any(core in c or c in core for c in cores):
            continue
        kept.append(item)
        cores.append(core)
    return kept


def _core(item: str) -> str:
    return item.split("] ", 1)[1] if item.startswith("[") and "] " in item else item
