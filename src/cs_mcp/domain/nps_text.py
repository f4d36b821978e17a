"""Comment text for themes: normalisation, the words and word pairs a comment is made of, readable names.

Normalisation is light on purpose: lower case, accents and curly quotes folded, "n't" read as "not", digits and
punctuation dropped, English stop words (nps_stop_words.txt, plus feedback.theme_stop_words) left out, and a
plural folded onto its singular ("outages" -> "outage"). Features are the remaining words and the pairs of
consecutive remaining words; negations (not, no, never ...) only live in pairs, so "not reliable" is a feature
but "not" alone never names a theme.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from importlib import resources

PAIR_LOOKAHEAD = 8
NEGATIONS = frozenset({"not", "no", "never", "nothing", "nobody", "none", "nor", "cannot", "without"})
_WORD = re.compile(r"[a-z]+")
_CONTRACTIONS = ((re.compile(r"\bwon't\b"), "will not"), (re.compile(r"\bcan't\b"), "can not"),
                 (re.compile(r"n't\b"), " not"))


@functools.cache
def english_stop_words() -> frozenset[str]:
    """The bundled stop-word list (one word a line, '#' comments)."""
    text = resources.files("cs_mcp.domain").joinpath("nps_stop_words.txt").read_text(encoding="utf-8")
    return frozenset(w.strip().lower() for w in text.splitlines() if w.strip() and not w.startswith("#"))


@functools.lru_cache(maxsize=1)
def name_skip_words() -> frozenset[str]:
    """Words no theme is named by (nps_name_skip_words.txt): feelings and filler, not topics."""
    text = resources.files("cs_mcp.domain").joinpath("nps_name_skip_words.txt").read_text(encoding="utf-8")
    return frozenset(w.strip().lower() for w in text.splitlines() if w.strip() and not w.startswith("#"))


def naming_terms(ranked_terms: list[str]) -> list[str]:
    """The terms a theme may be named by: those not made only of name_skip_words (all of them when none is)."""
    skip = name_skip_words()
    kept = [t for t in ranked_terms if not set(t.lower().split()) <= skip]
    return kept or ranked_terms


def fold_plural(word: str) -> str:
    """'outages' -> 'outage', 'companies' -> 'company'; 'address', 'status', 'analysis' stay."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("sses"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def plain(text: str) -> str:
    """Lower case ASCII with contractions spelled out."""
    t = text.lower()
    if not t.isascii():
        t = unicodedata.normalize("NFKD", t.replace("\u2019", "'")).encode("ascii", "ignore").decode()
    if "'" in t:
        for pattern, spelled in _CONTRACTIONS:
            t = pattern.sub(spelled, t)
    return t


class Analyzer:
    """Text -> features (words and consecutive word pairs), remembering a readable spelling of each word."""

    def __init__(self, extra_stop_words: Iterable[str] = ()) -> None:
        self.stop = english_stop_words() | {w.strip().lower() for w in extra_stop_words if w.strip()}
        self.spelling: dict[str, str] = {}  # folded word -> a spelling seen in the comments
        self._folded: dict[str, str | None] = {}

    def words(self, text: str) -> list[str]:
        out = []
        for w in _WORD.findall(plain(text)):
            f = self._folded.get(w, "")
            if f == "":
                f = None if len(w) < 2 or w in self.stop else fold_plural(w)
                self._folded[w] = f
                if f is not None and (f not in self.spelling or w == f):
                    self.spelling[f] = w
            if f is not None:
                out.append(f)
        return out

    def __call__(self, text: str) -> list[str]:
        words = self.words(text)
        features = [w for w in words if w not in NEGATIONS]
        features += [f"{a} {b}" for a, b in zip(words, words[1:], strict=False) if b not in NEGATIONS]
        return features

    def readable(self, term: str) -> str:
        return " ".join(self.spelling.get(w, w) for w in term.split())


def theme_name(ranked_terms: list[str], taken: set[str], max_terms: int = 2) -> tuple[str, list[str]]:
    """A short name from a theme's top terms, and the terms used: a word pair replaces the words it contains.

    A name already in `taken` gets one more term until it is unique (a number when the terms run out).
    """
    chosen: list[str] = []
    limit = max_terms
    for term in ranked_terms:
        words = set(term.split())
        if any(words <= set(c.split()) for c in chosen):
            continue
        inside = [i for i, c in enumerate(chosen) if set(c.split()) <= words]
        if inside:
            chosen[inside[0]] = term
            chosen = [c for i, c in enumerate(chosen) if i not in inside[1:]]
        else:
            chosen.append(term)
        if len(chosen) >= limit:
            if ", ".join(chosen) not in taken:
                break
            limit += 1
    # a pair a little further down that says two chosen words in one ("slow" + "speed" -> "slow speed")
    for pair in (t for t in ranked_terms[:PAIR_LOOKAHEAD] if " " in t and t not in chosen):
        both = [c for c in chosen if " " not in c and c in pair.split()]
        if len(both) != 2:
            continue
        merged = [pair if c == both[0] else c for c in chosen if c != both[1]]
        if ", ".join(merged) not in taken:
            chosen = merged
    base = name = ", ".join(chosen) or "(no terms)"
    copy = 2
    while name in taken:
        name, copy = f"{base} ({copy})", copy + 1
    return name, chosen


def keyword_pattern(keywords: list[str]) -> str | None:
    """A case-insensitive regex matching any keyword as whole words ('slow*' also matches 'slowness')."""
    parts = []
    for word in keywords:
        w = word.strip().lower()
        prefix = w.endswith("*")
        core = w.rstrip("*").strip()
        if not core:
            continue
        escaped = r"\s+".join(re.escape(t) for t in core.split())
        parts.append(escaped + (r"\w*" if prefix else ""))
    if not parts:
        return None
    # (^|\W) ... (\W|$) rather than \b, so keywords that start or end with punctuation still match
    return r"(?i)(?:^|\W)(?:" + "|".join(parts) + r")(?:\W|$)"


def snippet(text: str | None, n: int) -> str | None:
    """The text on one line, cut to n characters with an ellipsis."""
    if text is None:
        return None
    t = " ".join(text.split())
    return t if len(t) <= n else t[: n - 1].rstrip() + "…"
