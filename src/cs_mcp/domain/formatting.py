"""Numbers in words for the text answers: money and shares, formatted the same way everywhere."""

from __future__ import annotations


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
