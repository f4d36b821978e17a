"""NPS for a period and cut: distribution, trend, comment themes, detractors due for follow-up; CSAT beside it.

Definitions (every number from config `feedback`):
  respondent   = a contact_id within its account; an answer without contact_id is its own respondent
  NPS          = 100 x (promoters - detractors) / respondents, over each respondent's latest answer in the
                 period: promoters score >= promoter_min (9), detractors <= detractor_max (6), the rest passives
  CSAT         = share of ticket ratings (1-5) >= csat_satisfied_min (4); a rating is dated by its ticket's
                 close (else open) date
  tenure band  = months from the account's contract_start to the answer (rating) date, cut at tenure_bands;
                 '(unknown)' without a contract_start
  themes       = the keyword lexicon `themes` matched case-insensitively on word boundaries in the comment of
                 each respondent's latest answer; a theme drives detractors when its share of detractor comments
                 is above its share of promoter comments and it has theme_min_mentions detractor mentions
                 (promoter drivers the other way round)
  follow-up    = a respondent's latest answer of the last followup_days days (to the as-of date) is a detractor
                 score, the account is active, and it has had no touchpoint on or after the answer date
  trend        = the same NPS per calendar month or quarter, the one holding the period's last day and those before
Periods: a named quarter, month or year covers its days; 'last N months' is the N months ending on the as-of
date; start/end dates are inclusive; a period reaching past the as-of date is cut to it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from cs_mcp.domain.accounts import require_known_value
from cs_mcp.domain.errors import InvalidArgument, NoData
from cs_mcp.domain.paging import Page, decode_cursor, encode_cursor
from cs_mcp.domain.periods import PERIOD_HELP, add_months, past_period, quarter_start
from cs_mcp.domain.retention import group_column
from cs_mcp.workspace.engine import ident, literal

if TYPE_CHECKING:
    from cs_mcp.config import FeedbackSettings
    from cs_mcp.workspace.loader import Workspace

Granularity = Literal["month", "quarter"]
TENURE_ALIASES = ("tenure", "tenure_band", "tenure-band", "tenure band")
UNKNOWN_TENURE = "(unknown)"
ONE_DAY = dt.timedelta(days=1)


# ------------------------------------------------------------------------ periods


class EventPeriod(BaseModel):
    first_day: dt.date = Field(description="first day whose events count")
    last_day: dt.date = Field(description="last day whose events count (inclusive)")
    label: str
    cut_to_as_of: bool = Field(False, description="the requested period reached past the data's as-of date")

    @property
    def end_exclusive(self) -> dt.date:
        return self.last_day + ONE_DAY


def resolve_event_period(
    as_of: dt.date, period: str | None = None, start: dt.date | None = None, end: dt.date | None = None
) -> EventPeriod:
    """The days whose events (answers, tickets) count: a shorthand or inclusive dates, default last 12 months."""
    if period and (start or end):
        raise InvalidArgument("Send either period or start/end dates, not both. " + PERIOD_HELP)
    if start or end:
        last = end or as_of
        first = start or add_months(last, -12) + ONE_DAY
        label = f"{first.isoformat()} to {last.isoformat()}"
    else:
        s, e, label = past_period(period or "last-12-months", as_of)
        # 'last N months' is (s, as_of]; 'ytd' / 'qtd' run to the as-of date; a calendar period ends the day before e
        first = s + ONE_DAY if label.startswith("last ") else s
        last = e if label.startswith("last ") or label.endswith(" to date") else e - ONE_DAY
    if first > as_of:
        raise InvalidArgument(
            f"The period {label} starts on {first.isoformat()}, after the data's as-of date {as_of.isoformat()}: "
            f"there is nothing to analyse yet. {PERIOD_HELP}"
        )
    if last < first:
        raise InvalidArgument(f"The period ends ({last.isoformat()}) before it starts ({first.isoformat()}).")
    cut = last > as_of
    return EventPeriod(
        first_day=first, last_day=min(last, as_of), label=label + (" (to date)" if cut else ""), cut_to_as_of=cut
    )


def trend_buckets(p: EventPeriod, granularity: Granularity, n: int) -> list[tuple[str, dt.date, dt.date, bool]]:
    """(label, first day, exclusive end, to_date) of the n calendar months/quarters ending with the period's last."""
    last = p.last_day
    if granularity == "month":
        anchor, step = dt.date(last.year, last.month, 1), 1
    else:
        anchor, step = quarter_start(last.year, (last.month - 1) // 3 + 1), 3
    out = []
    for i in range(n - 1, -1, -1):
        s = add_months(anchor, -step * i)
        natural_end = add_months(s, step)
        e = min(natural_end, p.end_exclusive)
        label = f"{s.year}-{s.month:02d}" if granularity == "month" else f"{s.year}-Q{(s.month - 1) // 3 + 1}"
        out.append((label, s, e, e < natural_end))
    return out


# ------------------------------------------------------------------------- models


class NpsFigures(BaseModel):
    nps: float | None = Field(description="-100..100, one decimal; null without respondents")
    respondents: int = Field(description="respondents counted (latest answer of each)")
    promoters: int
    passives: int
    detractors: int
    promoter_share: float | None = Field(description="promoters / respondents")
    passive_share: float | None
    detractor_share: float | None
    responding_accounts: int = Field(description="accounts with at least one respondent")


class NpsSummary(NpsFigures):
    answers: int = Field(description="answers in the period and cut, before keeping each respondent's latest")
    distribution: list[int] = Field(description="respondents per score, index 0..10 = score")


class Csat(BaseModel):
    csat: float | None = Field(description="share of ratings that are satisfied (4-5 of 1-5); null without ratings")
    ratings: int
    satisfied: int


class NpsGroup(NpsFigures):
    key: str
    csat: float | None = Field(description="CSAT of the group in the period")
    csat_ratings: int


class TrendPoint(NpsFigures):
    label: str = Field(description="'2026-05' or '2026-Q2'")
    first_day: dt.date
    last_day: dt.date
    to_date: bool = Field(description="the month/quarter is cut at the period's last day")


class ThemeExample(BaseModel):
    account_id: str
    score: int
    responded_at: dt.date
    text: str = Field(description="the comment, cut to feedback.example_chars")


class ThemeStat(BaseModel):
    theme: str
    mentions: int = Field(description="respondents whose latest comment mentions the theme")
    promoter_mentions: int
    passive_mentions: int
    detractor_mentions: int
    share_of_comments: float | None = Field(description="mentions / respondents with a comment")
    share_of_promoter_comments: float | None
    share_of_detractor_comments: float | None
    driver_of: Literal["promoters", "detractors"] | None = Field(
        description="whose driver the theme is (see the definition); null when neither"
    )
    examples: list[ThemeExample]


class CommentCounts(BaseModel):
    comments: int = Field(description="respondents whose latest answer has a comment")
    promoter_comments: int
    passive_comments: int
    detractor_comments: int


class FollowUp(BaseModel):
    account_id: str
    name: str
    segment: str | None
    csm_id: str | None
    contact_id: str | None
    score: int
    responded_at: dt.date
    days_since_answer: int
    comment: str | None = Field(description="snippet, cut to feedback.example_chars")
    arr: float | None
    last_touch: dt.date | None = Field(description="latest touchpoint of the account (before the answer)")


class FollowUpPage(Page):
    window_days: int = Field(description="detractor answers of this many days up to the as-of date")
    since: dt.date = Field(description="first answer date in the window")
    accounts: int = Field(description="distinct accounts with a detractor due")
    arr: float = Field(description="ARR of those accounts")
    touchpoints_checked: bool = Field(description="false without a touchpoints table: every detractor is listed")
    items: list[FollowUp] = Field(description="largest ARR first, then lowest score")


class NpsReport(BaseModel):
    period: EventPeriod
    as_of: dt.date
    filters: dict[str, str] = Field(description="segment / plan / tenure cut applied")
    definition: str
    summary: NpsSummary
    csat: Csat | None = Field(description="null without ticket ratings")
    by: str | None = Field(description="what groups are cut by: segment, plan, tenure or another accounts column")
    groups: list[NpsGroup] = Field(description="per group when `by` is given: tenure bands in order, else most "
                                   "respondents first")
    trend_granularity: Granularity
    trend: list[TrendPoint] = Field(description="oldest first; the last holds the period's last day")
    comments: CommentCounts
    themes: list[ThemeStat] = Field(description="most mentioned first; themes without mentions left out")
    promoter_drivers: list[str] = Field(description="themes driving promoters, strongest first")
    detractor_drivers: list[str] = Field(description="themes driving detractors, strongest first")
    followup: FollowUpPage
    tables_used: list[str]
    not_computed: list[str] = Field(description="what the data could not support, with the reason")
    note: str | None = None


# ----------------------------------------------------------------------- helpers


def _share(n: int, d: int) -> float | None:
    return None if d <= 0 else round(n / d, 6)


def figures(respondents: int, promoters: int, detractors: int, accounts: int) -> dict[str, Any]:
    """NPS and shares from counts."""
    passives = respondents - promoters - detractors
    return {
        "nps": None if respondents <= 0 else round(100.0 * (promoters - detractors) / respondents, 1),
        "respondents": respondents,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "promoter_share": _share(promoters, respondents),
        "passive_share": _share(passives, respondents),
        "detractor_share": _share(detractors, respondents),
        "responding_accounts": accounts,
    }


def theme_pattern(keywords: list[str]) -> str | None:
    """A case-insensitive RE2 pattern matching any keyword as whole words ('slow*' also matches 'slowness')."""
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


def tenure_sql(bands: list[tuple[str, int]], date_expr: str) -> str:
    """SQL giving the tenure band label of accounts `a` at `date_expr`."""
    ordered = sorted(bands, key=lambda b: -b[1])
    whens = [f"WHEN a.contract_start IS NULL THEN {literal(UNKNOWN_TENURE)}"]
    for label, months in ordered[:-1]:
        whens.append(f"WHEN {date_expr} >= a.contract_start + INTERVAL '{int(months)} months' THEN {literal(label)}")
    return f"(CASE {' '.join(whens)} ELSE {literal(ordered[-1][0])} END)"


def band_labels(fb: FeedbackSettings) -> list[str]:
    return [label for label, _ in sorted(fb.tenure_bands, key=lambda b: b[1])]


class Cut:
    """Validated segment / plan / tenure filters and the `by` grouping, as SQL over accounts `a`."""

    def __init__(
        self,
        ws: Workspace,
        segment: str | None,
        plan: str | None,
        tenure: str | None,
        by: str | None,
    ) -> None:
        fb = ws.settings.feedback
        self.bands = fb.tenure_bands
        self.filters: dict[str, str] = {}
        self.params: dict[str, Any] = {}
        where = []
        for column, value in (("segment", segment), ("plan", plan)):
            if value:
                require_known_value(ws, column, value)
                where.append(f"lower(a.{column}) = lower(${column})")
                self.params[column] = value.strip()
                self.filters[column] = value.strip()
        self.account_where = "".join(f" AND {w}" for w in where)
        self.tenure: str | None = None
        if tenure:
            labels = band_labels(fb) + [UNKNOWN_TENURE]
            match = next((b for b in labels if b.lower() == tenure.strip().lower()), None)
            if match is None:
                raise InvalidArgument(
                    f"Unknown tenure band '{tenure}'. Bands (config feedback.tenure_bands): {', '.join(labels)}."
                )
            self.tenure = match
            self.params["tenure"] = match
            self.filters["tenure"] = match
        self.by: str | None = None
        self.by_column: str | None = None
        if by:
            if by.strip().lower() in TENURE_ALIASES:
                self.by = "tenure"
            else:
                try:
                    self.by_column = group_column(ws, by)
                except InvalidArgument as exc:
                    raise InvalidArgument(f"{exc} tenure (band at the answer date) works too.") from exc
                self.by = self.by_column

    def band(self, date_expr: str) -> str:
        return tenure_sql(self.bands, date_expr)

    def group(self, date_expr: str) -> str:
        if self.by == "tenure":
            return self.band(date_expr)
        if self.by_column:
            return f"COALESCE(CAST(a.{ident(self.by_column)} AS VARCHAR), '(none)')"
        return "'all'"

    def tenure_where(self, date_expr: str) -> str:
        return f" AND {self.band(date_expr)} = $tenure" if self.tenure else ""


# --------------------------------------------------------------------------- SQL


def _answers_cte(cut: Cut) -> str:
    """Answers per bucket within the cut (tenure at the answer date), rn = 1 on each respondent's latest."""
    return f"""
WITH periods AS (
  SELECT unnest($bucket_labels) AS bucket, CAST(unnest($bucket_los) AS DATE) AS lo,
    CAST(unnest($bucket_his) AS DATE) AS hi
),
ans AS (
  SELECT p.bucket, n.account_id, n.contact_id, n.responded_at, n.score, n.comment,
    {cut.group('n.responded_at')} AS grp,
    {cut.band('n.responded_at')} AS tenure_band,
    ROW_NUMBER() OVER (PARTITION BY p.bucket, n.account_id, n.contact_id
      ORDER BY n.responded_at DESC, n.response_id DESC NULLS LAST, n.score) AS rn
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


_COUNTS = """
  COUNT(*) FILTER (WHERE contact_id IS NULL OR rn = 1) AS respondents,
  COUNT(*) FILTER (WHERE (contact_id IS NULL OR rn = 1) AND score >= $pmin) AS promoters,
  COUNT(*) FILTER (WHERE (contact_id IS NULL OR rn = 1) AND score <= $dmax) AS detractors,
  COUNT(DISTINCT account_id) AS accounts,
  COUNT(*) AS answers"""


def _csat_sql(cut: Cut) -> str:
    day = "CAST(COALESCE(k.closed_at, k.opened_at) AS DATE)"
    return f"""
SELECT {cut.group(day)} AS grp, COUNT(*) AS ratings, COUNT(*) FILTER (WHERE k.csat >= $cmin) AS satisfied
FROM tickets k JOIN accounts a ON a.account_id = k.account_id
WHERE k.csat IS NOT NULL AND {day} >= $lo AND {day} < $hi{cut.account_where}{cut.tenure_where(day)}
GROUP BY 1
"""


def _followup_cte(cut: Cut) -> str:
    return f"""
WITH recent AS (
  SELECT n.account_id, n.contact_id, n.responded_at, n.score, n.comment,
    ROW_NUMBER() OVER (PARTITION BY n.account_id, n.contact_id
      ORDER BY n.responded_at DESC, n.response_id DESC NULLS LAST, n.score) AS rn
  FROM nps n WHERE n.responded_at >= $since AND n.responded_at <= $as_of
),
touch AS (SELECT account_id, MAX(date) AS last_touch FROM touchpoints WHERE date <= $as_of GROUP BY account_id),
due AS (
  SELECT r.account_id, a.name, a.segment, a.csm_id, r.contact_id, r.score, r.responded_at, r.comment,
    CAST(a.arr AS DOUBLE) AS arr, t.last_touch
  FROM recent r
  JOIN accounts a ON a.account_id = r.account_id
  LEFT JOIN touch t ON t.account_id = r.account_id
  WHERE (r.contact_id IS NULL OR r.rn = 1) AND r.score <= $dmax
    AND (t.last_touch IS NULL OR t.last_touch < r.responded_at)
    AND (a.churned_on IS NULL OR a.churned_on > $as_of) AND COALESCE(a.status, 'active') <> 'churned'
    {cut.account_where}{cut.tenure_where('r.responded_at')}
)"""


def _fetch(ws: Workspace, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cur = ws.cursor().execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _snippet(text: str | None, n: int) -> str | None:
    if text is None:
        return None
    t = " ".join(text.split())
    return t if len(t) <= n else t[: n - 1].rstrip() + "…"


# ----------------------------------------------------------------------- pieces


def _themes(
    ws: Workspace, cte: str, params: dict[str, Any], comments: CommentCounts, fb: FeedbackSettings
) -> list[ThemeStat]:
    patterns = {t: p for t, words in fb.themes.items() if (p := theme_pattern(words))}
    if not patterns or comments.comments == 0:
        return []
    # constant patterns, one column each: DuckDB compiles a constant regex once, a column-valued one per row
    names = list(patterns)
    flags = ", ".join(f"regexp_matches(r.comment, {literal(patterns[t])}) AS t{i}" for i, t in enumerate(names))
    hits = " UNION ALL ".join(
        f"SELECT {literal(t)} AS theme, class, account_id, score, responded_at, comment FROM flags WHERE t{i}"
        for i, t in enumerate(names)
    )
    matched = f"""{cte},
flags AS (
  SELECT r.class, r.account_id, r.score, r.responded_at, r.comment, {flags}
  FROM resp r WHERE r.bucket = 'period' AND r.has_comment
),
hit AS ({hits})"""
    counts = _fetch(ws, matched + " SELECT theme, class, COUNT(*) AS n FROM hit GROUP BY 1, 2", params)
    examples = _fetch(
        ws,
        matched
        + """
SELECT * FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY theme, class
    ORDER BY responded_at DESC, length(comment), account_id) AS ex
  FROM hit
) WHERE ex <= $k""",
        dict(params, k=fb.theme_examples),
    )
    by_theme: dict[str, dict[str, int]] = {}
    for r in counts:
        by_theme.setdefault(r["theme"], {})[r["class"]] = int(r["n"])
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in sorted(examples, key=lambda r: r["ex"]):
        found.setdefault((r["theme"], r["class"]), []).append(r)

    out = []
    for theme, c in by_theme.items():
        pro, pas, det = c.get("promoter", 0), c.get("passive", 0), c.get("detractor", 0)
        sp, sd = _share(pro, comments.promoter_comments), _share(det, comments.detractor_comments)
        driver = None
        lift = fb.theme_driver_lift
        if det >= fb.theme_min_mentions and (sd or 0) > 0 and (sd or 0) >= lift * (sp or 0):
            driver = "detractors"
        elif pro >= fb.theme_min_mentions and (sp or 0) > 0 and (sp or 0) >= lift * (sd or 0):
            driver = "promoters"
        order = ("detractor", "promoter", "passive") if driver != "promoters" else ("promoter", "detractor", "passive")
        # alternate between classes, the driving class first, so both sides are heard
        queues = [list(found.get((theme, cls), [])) for cls in order]
        picked: list[dict[str, Any]] = []
        while len(picked) < fb.theme_examples and any(queues):
            for queue in queues:
                if queue and len(picked) < fb.theme_examples:
                    picked.append(queue.pop(0))
        out.append(
            ThemeStat(
                theme=theme,
                mentions=pro + pas + det,
                promoter_mentions=pro,
                passive_mentions=pas,
                detractor_mentions=det,
                share_of_comments=_share(pro + pas + det, comments.comments),
                share_of_promoter_comments=sp,
                share_of_detractor_comments=sd,
                driver_of=driver,
                examples=[
                    ThemeExample(
                        account_id=e["account_id"],
                        score=int(e["score"]),
                        responded_at=e["responded_at"],
                        text=_snippet(e["comment"], fb.example_chars) or "",
                    )
                    for e in picked
                ],
            )
        )
    out.sort(key=lambda t: (-t.mentions, t.theme))
    return out


def _drivers(themes: list[ThemeStat], side: Literal["promoters", "detractors"]) -> list[str]:
    key = "share_of_promoter_comments" if side == "promoters" else "share_of_detractor_comments"
    chosen = [t for t in themes if t.driver_of == side]
    chosen.sort(key=lambda t: (-(getattr(t, key) or 0), t.theme))
    return [t.theme for t in chosen]


def _followup(
    ws: Workspace, cut: Cut, fb: FeedbackSettings, days: int, limit: int, cursor: str | None
) -> FollowUpPage:
    offset = decode_cursor(cursor)
    since = ws.as_of - dt.timedelta(days=days - 1)
    params = dict(cut.params, since=since, as_of=ws.as_of, dmax=fb.detractor_max)
    cte = _followup_cte(cut)
    total, accounts, arr = ws.cursor().execute(
        cte + """
SELECT COUNT(*), COUNT(DISTINCT account_id),
  (SELECT COALESCE(SUM(arr), 0) FROM (SELECT DISTINCT account_id, arr FROM due) d)
FROM due""",
        params,
    ).fetchone()
    rows = _fetch(
        ws,
        cte
        + f"""
SELECT * FROM due ORDER BY arr DESC NULLS LAST, score, responded_at, account_id, contact_id
LIMIT {int(limit)} OFFSET {int(offset)}""",
        params,
    )
    items = [
        FollowUp(
            account_id=r["account_id"],
            name=r["name"],
            segment=r["segment"],
            csm_id=r["csm_id"],
            contact_id=r["contact_id"],
            score=int(r["score"]),
            responded_at=r["responded_at"],
            days_since_answer=(ws.as_of - r["responded_at"]).days,
            comment=_snippet(r["comment"], fb.example_chars),
            arr=r["arr"],
            last_touch=r["last_touch"],
        )
        for r in rows
    ]
    nxt = offset + len(items)
    return FollowUpPage(
        window_days=days,
        since=since,
        accounts=int(accounts),
        arr=round(float(arr), 2),
        touchpoints_checked="touchpoints" in ws.tables,
        items=items,
        total=int(total),
        returned=len(items),
        next_cursor=encode_cursor(nxt) if nxt < total else None,
    )


def _order_groups(groups: list[NpsGroup], cut: Cut, fb: FeedbackSettings) -> list[NpsGroup]:
    if cut.by == "tenure":
        rank = {b: i for i, b in enumerate(band_labels(fb) + [UNKNOWN_TENURE])}
        return sorted(groups, key=lambda g: rank.get(g.key, len(rank)))
    return sorted(groups, key=lambda g: (-g.respondents, -g.csat_ratings, g.key))


# ------------------------------------------------------------------------ answer


def nps_analysis(
    ws: Workspace,
    period: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    segment: str | None = None,
    plan: str | None = None,
    tenure: str | None = None,
    by: str | None = None,
    trend: Granularity = "quarter",
    trend_periods: int | None = None,
    followup_days: int | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> NpsReport:
    """NPS, distribution, CSAT, trend, comment themes and detractors due for follow-up, for a period and cut."""
    fb = ws.settings.feedback
    has_nps, has_tickets = "nps" in ws.tables, "tickets" in ws.tables
    if not has_nps and not has_tickets:
        raise NoData(
            "nps-analysis needs an nps table (account_id, responded_at, score 0-10, optional contact_id and "
            "comment), or at least a tickets table with csat ratings: add one to the workspace."
        )
    p = resolve_event_period(ws.as_of, period, start, end)
    cut = Cut(ws, segment, plan, tenure, by)
    limit = limit or ws.settings.server.page_size
    n_trend = trend_periods or (fb.trend_months if trend == "month" else fb.trend_quarters)
    buckets = trend_buckets(p, trend, n_trend)
    params = dict(
        cut.params,
        pmin=fb.promoter_min,
        dmax=fb.detractor_max,
        bucket_labels=["period"] + [b[0] for b in buckets],
        bucket_los=[p.first_day.isoformat()] + [b[1].isoformat() for b in buckets],
        bucket_his=[p.end_exclusive.isoformat()] + [b[2].isoformat() for b in buckets],
    )
    cte = _answers_cte(cut)
    not_computed: list[str] = []
    notes: list[str] = []

    totals = {r["bucket"]: r for r in _fetch(ws, f"{cte} SELECT bucket, {_COUNTS} FROM cut GROUP BY bucket", params)}
    empty = {"respondents": 0, "promoters": 0, "detractors": 0, "accounts": 0, "answers": 0}
    t = totals.get("period", empty)
    dist = [0] * 11
    for score, n in ws.cursor().execute(
        f"{cte} SELECT score, COUNT(*) FROM resp WHERE bucket = 'period' GROUP BY 1", params
    ).fetchall():
        if 0 <= score <= 10:
            dist[int(score)] = int(n)
    summary = NpsSummary(
        **figures(int(t["respondents"]), int(t["promoters"]), int(t["detractors"]), int(t["accounts"])),
        answers=int(t["answers"]),
        distribution=dist,
    )
    trend_points = []
    for label, s, e, to_date in buckets:
        b = totals.get(label, empty)
        trend_points.append(
            TrendPoint(
                **figures(int(b["respondents"]), int(b["promoters"]), int(b["detractors"]), int(b["accounts"])),
                label=label,
                first_day=s,
                last_day=e - ONE_DAY,
                to_date=to_date,
            )
        )

    csat_rows: list[dict[str, Any]] = []
    if has_tickets:
        csat_rows = _fetch(
            ws,
            _csat_sql(cut),
            dict(cut.params, cmin=fb.csat_satisfied_min, lo=p.first_day, hi=p.end_exclusive),
        )
    ratings = sum(int(r["ratings"]) for r in csat_rows)
    satisfied = sum(int(r["satisfied"]) for r in csat_rows)
    csat = Csat(csat=_share(satisfied, ratings), ratings=ratings, satisfied=satisfied) if ratings else None
    if not has_tickets:
        not_computed.append("csat: needs the tickets table with csat ratings (1-5)")
    elif not ratings:
        not_computed.append("csat: no ticket has a csat rating in the period and cut")

    groups: list[NpsGroup] = []
    if cut.by:
        by_grp = {
            r["grp"]: r
            for r in _fetch(ws, f"{cte} SELECT grp, {_COUNTS} FROM cut WHERE bucket = 'period' GROUP BY grp", params)
        }
        csat_by = {r["grp"]: r for r in csat_rows}
        for key in set(by_grp) | set(csat_by):
            g, c = by_grp.get(key, empty), csat_by.get(key, {"ratings": 0, "satisfied": 0})
            groups.append(
                NpsGroup(
                    key=str(key),
                    **figures(int(g["respondents"]), int(g["promoters"]), int(g["detractors"]), int(g["accounts"])),
                    csat=_share(int(c["satisfied"]), int(c["ratings"])),
                    csat_ratings=int(c["ratings"]),
                )
            )
        groups = _order_groups(groups, cut, fb)

    comment_counts = {
        r[0]: int(r[1])
        for r in ws.cursor().execute(
            f"{cte} SELECT class, COUNT(*) FROM resp WHERE bucket = 'period' AND has_comment GROUP BY 1", params
        ).fetchall()
    }
    comments = CommentCounts(
        comments=sum(comment_counts.values()),
        promoter_comments=comment_counts.get("promoter", 0),
        passive_comments=comment_counts.get("passive", 0),
        detractor_comments=comment_counts.get("detractor", 0),
    )
    themes = _themes(ws, cte, params, comments, fb)
    followup = _followup(ws, cut, fb, followup_days or fb.followup_days, limit, cursor)

    if not has_nps:
        not_computed += [
            "nps, distribution, trend, themes and follow-up: needs the nps table "
            "(account_id, responded_at, score 0-10, contact_id, comment)"
        ]
    else:
        if not summary.respondents:
            lo, hi = ws.cursor().execute("SELECT MIN(responded_at), MAX(responded_at) FROM nps").fetchone()
            scope = f" for {', '.join(f'{k} {v}' for k, v in cut.filters.items())}" if cut.filters else ""
            notes.append(
                f"No NPS answers in {p.first_day} to {p.last_day}{scope}; answers in the data run from {lo} to {hi}."
            )
        if summary.respondents and not comments.comments:
            not_computed.append("themes: no respondent left a comment in the period")
        elif comments.comments and not any(theme_pattern(w) for w in fb.themes.values()):
            not_computed.append("themes: config feedback.themes has no keywords")
        if not ws.cursor().execute("SELECT COUNT(contact_id) FROM nps").fetchone()[0]:
            notes.append("The nps table has no contact_id: every answer counts as its own respondent.")
        if "touchpoints" not in ws.tables:
            not_computed.append(
                "follow-up check: no touchpoints table, so every recent detractor is listed as due"
            )
    if (cut.tenure or cut.by == "tenure") and not ws.cursor().execute(
        "SELECT COUNT(contract_start) FROM accounts"
    ).fetchone()[0]:
        notes.append("No account has a contract_start: every tenure band is '(unknown)'.")
    if p.cut_to_as_of:
        notes.append(f"The period was cut at the data's as-of date {ws.as_of}.")

    definition = (
        f"NPS = % promoters ({fb.promoter_min}-10) - % detractors (0-{fb.detractor_max}) over each respondent's "
        f"latest answer in the period (respondent = contact, else the answer); CSAT = share of ticket ratings "
        f">= {fb.csat_satisfied_min} of 5; follow-up = a detractor's latest answer in the last "
        f"{followup.window_days} days with no touchpoint on the account since"
    )
    tables = ["accounts"] + [x for x in ("nps", "tickets", "touchpoints") if x in ws.tables]
    return NpsReport(
        period=p,
        as_of=ws.as_of,
        filters=cut.filters,
        definition=definition,
        summary=summary,
        csat=csat,
        by=cut.by,
        groups=groups,
        trend_granularity=trend,
        trend=trend_points,
        comments=comments,
        themes=themes,
        promoter_drivers=_drivers(themes, "promoters"),
        detractor_drivers=_drivers(themes, "detractors"),
        followup=followup,
        tables_used=tables,
        not_computed=not_computed,
        note=" ".join(notes) or None,
    )
