"""NPS for a period and cut: distribution, trend, comment themes, detractors due for follow-up; CSAT beside it.

Definitions (every number from config `feedback`):
  respondent   = a contact_id within its account; an answer without contact_id is its own respondent
  NPS          = 100 x (promoters - detractors) / respondents, over each respondent's latest answer in the
                 period: promoters score >= promoter_min (9), detractors <= detractor_max (6), the rest passives
  CSAT         = share of ticket ratings (1-5) >= csat_satisfied_min (4); a rating is dated by its ticket's
                 close (else open) date
  tenure band  = months from the account's contract_start to the answer (rating) date, cut at tenure_bands;
                 '(unknown)' without a contract_start
  themes       = learned from the comments of each respondent's latest answer in the period and cut (see
                 nps_themes: TF-IDF, latent semantic space, spherical k-means, coverage, seed names, a
                 two-proportion test of detractor vs promoter shares); the seed keywords with too few comments
  follow-up    = a respondent's latest answer of the last followup_days days (to the as-of date) is a detractor
                 score, the account is active, and it has had no touchpoint on or after the answer date
  trend        = the same NPS per calendar month or quarter, the one holding the period's last day and those before
Periods: a named quarter, month or year covers its days; 'last N months' is the N months ending on the as-of
date; start/end dates are inclusive; a period reaching past the as-of date is cut to it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from cs_mcp.domain.accounts import require_known_value
from cs_mcp.domain.errors import InvalidArgument, NoData
from cs_mcp.domain.nps_text import snippet
from cs_mcp.domain.nps_themes import Comment, ThemeCoverage, ThemeResult, ThemeStat, comment_themes
from cs_mcp.domain.paging import Page, decode_cursor, encode_cursor
from cs_mcp.domain.periods import PERIOD_HELP, add_months, past_period, quarter_start
from cs_mcp.domain.retention import group_column
from cs_mcp.workspace.cache import cached
from cs_mcp.workspace.queries import nps as nps_queries
from cs_mcp.workspace.queries.nps import UNKNOWN_TENURE, Answers, NpsCut

if TYPE_CHECKING:
    from cs_mcp.config import FeedbackSettings
    from cs_mcp.workspace.loader import Workspace

Granularity = Literal["month", "quarter"]
TENURE_ALIASES = ("tenure", "tenure_band", "tenure-band", "tenure band")
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
    by: str | None = Field(description="what groups are cut by: tenure, an accounts column (segment, plan, csm_id "
                           "...) or an nps column (nps.<column>)")
    by_source: Literal["tenure", "accounts", "nps"] | None = Field(description="where the `by` column lives")
    groups: list[NpsGroup] = Field(description="per group when `by` is given: tenure bands in order, else most "
                                   "respondents first")
    trend_granularity: Granularity
    trend: list[TrendPoint] = Field(description="oldest first; the last holds the period's last day")
    comments: CommentCounts
    theme_coverage: ThemeCoverage = Field(description="how the themes were made and what share of comments "
                                          "they cover; the rest is 'other'")
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


def _figures_of(row: dict[str, Any]) -> dict[str, Any]:
    return figures(int(row["respondents"]), int(row["promoters"]), int(row["detractors"]), int(row["accounts"]))


def band_labels(fb: FeedbackSettings) -> list[str]:
    return [label for label, _ in sorted(fb.tenure_bands, key=lambda b: b[1])]


def resolve_cut(
    ws: Workspace, segment: str | None, plan: str | None, tenure: str | None, by: str | None
) -> tuple[NpsCut, dict[str, str]]:
    """The validated cut and the filters it applies, as shown in the answer."""
    fb = ws.settings.feedback
    filters: dict[str, str] = {}
    values: dict[str, str | None] = {"segment": None, "plan": None, "tenure": None}
    for column, value in (("segment", segment), ("plan", plan)):
        if value:
            require_known_value(ws, column, value)
            values[column] = filters[column] = value.strip()
    if tenure:
        labels = band_labels(fb) + [UNKNOWN_TENURE]
        match = next((b for b in labels if b.lower() == tenure.strip().lower()), None)
        if match is None:
            raise InvalidArgument(
                f"Unknown tenure band '{tenure}'. Bands (config feedback.tenure_bands): {', '.join(labels)}."
            )
        values["tenure"] = filters["tenure"] = match
    source, column = _resolve_by(ws, by)
    return NpsCut(bands=tuple(fb.tenure_bands), by_source=source, by_column=column, **values), filters


def _resolve_by(ws: Workspace, by: str | None) -> tuple[str | None, str | None]:
    """('tenure' | 'accounts' | 'nps', column) for `by`: tenure, an accounts column, or an nps column."""
    if not by:
        return None, None
    wanted = by.strip()
    if wanted.lower() in TENURE_ALIASES:
        return "tenure", None
    nps_columns = nps_queries.nps_cut_columns(ws)
    by_lower = {c.lower(): c for c in nps_columns}
    if wanted.lower().startswith("nps."):
        column = by_lower.get(wanted[4:].strip().lower())
        if column:
            return "nps", column
    else:
        try:
            return "accounts", group_column(ws, wanted.removeprefix("accounts."))
        except InvalidArgument as exc:
            if wanted.lower() in by_lower:
                return "nps", by_lower[wanted.lower()]
            account_help = str(exc)
    if wanted.lower().startswith("nps."):
        account_help = f"The nps table has no column '{wanted[4:].strip()}'."
    extra = (
        f" Columns of the nps table work too: {', '.join(nps_columns)} (write nps.<column> when an accounts column "
        "has the same name)."
        if nps_columns
        else " Extra columns of the nps table (survey type, channel ...) work too; this nps table has none."
    )
    raise InvalidArgument(f"{account_help} tenure (band at the answer date) works too.{extra}")


def _cut_key(cut: NpsCut) -> tuple[Any, ...]:
    return (cut.segment and cut.segment.lower(), cut.plan and cut.plan.lower(), cut.tenure)


# ----------------------------------------------------------------------- pieces


def _themes(ws: Workspace, answers: Answers, cut: NpsCut, p: EventPeriod) -> ThemeResult:
    """Comment themes of the period and cut, computed once per workspace version."""

    def compute() -> ThemeResult:
        rows = answers.comments()
        comments = [
            Comment(
                text=r["comment"], side=r["class"], account_id=r["account_id"], score=int(r["score"]),
                responded_at=r["responded_at"],
            )
            for r in rows
        ]
        return comment_themes(comments, ws.settings.feedback)

    return cached(ws, ("nps-themes", p.first_day, p.last_day, _cut_key(cut)), compute)


def _drivers(themes: list[ThemeStat], side: Literal["promoters", "detractors"]) -> list[str]:
    chosen = [t for t in themes if t.driver_of == side]
    chosen.sort(key=lambda t: (-abs(t.z or 0), t.theme))
    return [t.theme for t in chosen]


def _followup(
    ws: Workspace, cut: NpsCut, fb: FeedbackSettings, days: int, limit: int, cursor: str | None
) -> FollowUpPage:
    offset = decode_cursor(cursor)
    since = ws.as_of - dt.timedelta(days=days - 1)
    total, accounts, arr = nps_queries.followup_totals(ws, cut, since, ws.as_of, fb.detractor_max)
    rows = nps_queries.followup_rows(ws, cut, since, ws.as_of, fb.detractor_max, limit, offset)
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
            comment=snippet(r["comment"], fb.example_chars),
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


def _groups(answers: Answers, cut: NpsCut, csat_rows: list[dict[str, Any]], fb: FeedbackSettings) -> list[NpsGroup]:
    empty = {"respondents": 0, "promoters": 0, "detractors": 0, "accounts": 0}
    by_grp = answers.group_counts()
    csat_by = {r["grp"]: r for r in csat_rows} if cut.by_source != "nps" else {}
    groups = []
    for key in set(by_grp) | set(csat_by):
        g, c = by_grp.get(key, empty), csat_by.get(key, {"ratings": 0, "satisfied": 0})
        groups.append(
            NpsGroup(
                key=str(key),
                **_figures_of(g),
                csat=_share(int(c["satisfied"]), int(c["ratings"])),
                csat_ratings=int(c["ratings"]),
            )
        )
    if cut.by_source == "tenure":
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
    cut, filters = resolve_cut(ws, segment, plan, tenure, by)
    limit = limit or ws.settings.server.page_size
    n_trend = trend_periods or (fb.trend_months if trend == "month" else fb.trend_quarters)
    buckets = trend_buckets(p, trend, n_trend)
    answers = Answers(
        ws, cut, [("period", p.first_day, p.end_exclusive)] + [(b[0], b[1], b[2]) for b in buckets],
        fb.promoter_min, fb.detractor_max,
    )
    not_computed: list[str] = []
    notes: list[str] = []

    totals = answers.bucket_counts()
    empty = {"respondents": 0, "promoters": 0, "detractors": 0, "accounts": 0, "answers": 0}
    t = totals.get("period", empty)
    dist = [0] * 11
    for score, n in answers.distribution().items():
        if 0 <= score <= 10:
            dist[score] = n
    summary = NpsSummary(**_figures_of(t), answers=int(t["answers"]), distribution=dist)
    trend_points = [
        TrendPoint(**_figures_of(totals.get(label, empty)), label=label, first_day=s, last_day=e - ONE_DAY,
                   to_date=to_date)
        for label, s, e, to_date in buckets
    ]

    csat_rows = nps_queries.csat_by_group(ws, cut, fb.csat_satisfied_min, p.first_day, p.end_exclusive) \
        if has_tickets else []
    ratings = sum(int(r["ratings"]) for r in csat_rows)
    satisfied = sum(int(r["satisfied"]) for r in csat_rows)
    csat = Csat(csat=_share(satisfied, ratings), ratings=ratings, satisfied=satisfied) if ratings else None
    if not has_tickets:
        not_computed.append("csat: needs the tickets table with csat ratings (1-5)")
    elif not ratings:
        not_computed.append("csat: no ticket has a csat rating in the period and cut")
    elif cut.by_source == "nps":
        not_computed.append(f"csat per group: tickets have no {cut.by_column} (it is a column of the nps table)")

    groups = _groups(answers, cut, csat_rows, fb) if cut.by_source else []
    counts = answers.comment_counts()
    comments = CommentCounts(
        comments=sum(counts.values()),
        promoter_comments=counts.get("promoter", 0),
        passive_comments=counts.get("passive", 0),
        detractor_comments=counts.get("detractor", 0),
    )
    found = _themes(ws, answers, cut, p)
    followup = _followup(ws, cut, fb, followup_days or fb.followup_days, limit, cursor)

    if not has_nps:
        not_computed += [
            "nps, distribution, trend, themes and follow-up: needs the nps table "
            "(account_id, responded_at, score 0-10, contact_id, comment)"
        ]
    else:
        if not summary.respondents:
            lo, hi = nps_queries.answer_date_range(ws)
            scope = f" for {', '.join(f'{k} {v}' for k, v in filters.items())}" if filters else ""
            notes.append(
                f"No NPS answers in {p.first_day} to {p.last_day}{scope}; answers in the data run from {lo} to {hi}."
            )
        if summary.respondents and not comments.comments:
            not_computed.append("themes: no respondent left a comment in the period")
        elif comments.comments and not found.themes and found.coverage.method == "keywords":
            not_computed.append(f"themes: {found.coverage.reason}, and no seed keyword (feedback.themes) matches")
        if not nps_queries.has_contact_ids(ws):
            notes.append("The nps table has no contact_id: every answer counts as its own respondent.")
        if "touchpoints" not in ws.tables:
            not_computed.append(
                "follow-up check: no touchpoints table, so every recent detractor is listed as due"
            )
    if (cut.tenure or cut.by_source == "tenure") and not nps_queries.has_contract_starts(ws):
        notes.append("No account has a contract_start: every tenure band is '(unknown)'.")
    if p.cut_to_as_of:
        notes.append(f"The period was cut at the data's as-of date {ws.as_of}.")

    definition = (
        f"NPS = % promoters ({fb.promoter_min}-10) - % detractors (0-{fb.detractor_max}) over each respondent's "
        f"latest answer in the period (respondent = contact, else the answer); CSAT = share of ticket ratings "
        f">= {fb.csat_satisfied_min} of 5; themes = learned from the comments (TF-IDF, latent semantic space, "
        f"spherical k-means; a comment is in a theme at cosine >= {fb.theme_min_similarity}, else 'other'), drivers "
        f"= detractor vs promoter share, two-proportion z-test, Holm-adjusted p <= {fb.theme_significance}; "
        f"follow-up = a detractor's latest answer in the last {followup.window_days} days with no touchpoint on "
        f"the account since"
    )
    tables = ["accounts"] + [x for x in ("nps", "tickets", "touchpoints") if x in ws.tables]
    return NpsReport(
        period=p,
        as_of=ws.as_of,
        filters=filters,
        definition=definition,
        summary=summary,
        csat=csat,
        by=(cut.by_column if cut.by_source != "tenure" else "tenure") if cut.by_source else None,
        by_source=cut.by_source,
        groups=groups,
        trend_granularity=trend,
        trend=trend_points,
        comments=comments,
        theme_coverage=found.coverage,
        themes=found.themes,
        promoter_drivers=_drivers(found.themes, "promoters"),
        detractor_drivers=_drivers(found.themes, "detractors"),
        followup=followup,
        tables_used=tables,
        not_computed=not_computed,
        note=" ".join(notes) or None,
    )
