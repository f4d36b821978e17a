"""Retention over a past period: GRR, NRR, logo retention, expansion, against the configured targets.

ARR of an account on a date d = sum of its subscription rows active on d
(start_date <= d and (end_date is null or end_date > d)), computed by SQL in the engine.
Over the accounts with ARR > 0 on the period's start date, comparing ARR on the end date:
  churn       = start ARR            where end ARR is 0
  contraction = start ARR - end ARR  where 0 < end < start
  expansion   = end ARR - start ARR  where end > start
  GRR = (start - contraction - churn) / start, capped at 100%
  NRR = (start + expansion - contraction - churn) / start       (churn subtracted once)
  logo retention = 1 - lost / customers at start;  expansion rate = expansion / start
Accounts with no ARR at the start but ARR at the end are new logos: shown in the waterfall, never
in the rates. A named period (quarter, year, month) runs from its first day to the first day of the
next, so consecutive periods chain without a gap; an end after the data's as-of date is cut to it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from cs_mcp.domain.errors import InvalidArgument
from cs_mcp.domain.paging import Page, decode_cursor, encode_cursor
from cs_mcp.domain.periods import PERIOD_HELP, add_months, past_period
from cs_mcp.workspace.queries import retention as retention_queries

if TYPE_CHECKING:
    from cs_mcp.config import Targets
    from cs_mcp.workspace.loader import Workspace

GROUP_ALIASES = {"csm": "csm_id", "owner": "csm_id", "tier": "plan"}
HEALTH_METRICS = ("green_accounts_share", "green_arr_share", "average_health")


# ------------------------------------------------------------------------ periods


class Period(BaseModel):
    start: dt.date = Field(description="ARR is measured on this date ...")
    end: dt.date = Field(description="... and on this one")
    label: str
    cut_to_as_of: bool = Field(False, description="the requested end lay after the data's as-of date")


def resolve_period(
    as_of: dt.date, period: str | None = None, start: dt.date | None = None, end: dt.date | None = None
) -> Period:
    """The period's two measurement dates from a shorthand or explicit dates (default: last 12 months)."""
    if period and (start or end):
        raise InvalidArgument("Send either period or start/end dates, not both. " + PERIOD_HELP)
    if start or end:
        e = end or as_of
        s = start or add_months(e, -12)
        label = f"{s.isoformat()} to {e.isoformat()}"
    else:
        s, e, label = past_period(period or "last-12-months", as_of)
    if s >= as_of:
        raise InvalidArgument(
            f"The period {label} starts on {s.isoformat()}, not before the data's as-of date "
            f"{as_of.isoformat()}: retention looks back over a past period. {PERIOD_HELP} "
            "For renewals ahead, use renewal-forecast."
        )
    if e <= s:
        raise InvalidArgument(f"The period ends ({e.isoformat()}) before it starts ({s.isoformat()}).")
    cut = e > as_of
    return Period(start=s, end=min(e, as_of), label=label + (" (to date)" if cut else ""), cut_to_as_of=cut)


# ------------------------------------------------------------------------ results


class MetricVsTarget(BaseModel):
    value: float | None = Field(
        description="ratio (0.95 = 95%), or points for average_health; null if not computable"
    )
    target: float | None = Field(description="target from config `targets`; null when none is set")
    met: bool | None = Field(description="value >= target")
    gap: float | None = Field(description="value - target")
    note: str | None = None


class Waterfall(BaseModel):
    start_arr: float
    new_arr: float | None = Field(None, description="ARR of new logos (not in the rates)")
    expansion_arr: float
    contraction_arr: float
    churned_arr: float
    end_arr: float = Field(description="start + new + expansion - contraction - churn")


class RetentionCounts(BaseModel):
    customers_at_start: int = Field(description="accounts with ARR on the start date")
    lost: int = Field(description="of those, accounts with no ARR on the end date")
    new_logos: int = Field(
        description="accounts with ARR at the end but none at the start (excluded from rates)"
    )
    start_arr: float
    end_arr: float = Field(description="ARR on the end date, new logos included")
    new_logo_arr: float
    churned_arr: float


class RetentionGroup(BaseModel):
    key: str
    customers_at_start: int
    lost: int
    new_logos: int
    start_arr: float
    end_arr: float
    churned_arr: float
    grr: float | None
    nrr: float | None
    logo_retention: float | None
    expansion_rate: float | None
    active_accounts: int = Field(description="active accounts now")
    green_accounts_share: float | None
    green_arr_share: float | None
    average_health: float | None


class GroupPage(Page):
    by: str = Field(description="accounts column the groups are cut by")


class RetentionReport(BaseModel):
    period: Period
    as_of: dt.date
    source: Literal["subscriptions", "accounts"] = Field(
        description="subscriptions: ARR history; accounts: only current ARR and churn dates (fallback)"
    )
    metrics: dict[str, MetricVsTarget] = Field(
        description="grr, nrr, logo_retention, expansion_rate, contraction_rate, gross_churn_rate, "
        "green_accounts_share, green_arr_share, average_health"
    )
    counts: RetentionCounts
    target_basis: str = Field(
        "", description="how the annual targets were matched to the period (compounded for sub-annual periods)"
    )
    waterfall: Waterfall | None = Field(description="null when the ARR history is missing")
    groups: list[RetentionGroup] = Field(
        description="per group when `by` is given, largest start ARR first"
    )
    groups_page: GroupPage | None = None
    not_computed: list[str] = Field(description="metrics the data could not support, with the reason")
    health_scored_accounts: int = Field(
        description="active accounts with a health score (the health metrics' base)"
    )
    tables_used: list[str]
    note: str | None = None


def _ratio(num: float, den: float) -> float | None:
    return None if den <= 0 else round(num / den, 6)


YEAR_DAYS = 365.25
ANNUAL_TOLERANCE_DAYS = 31
"""Periods within this many days of a year are compared with the annual targets as they are."""


def period_targets(targets: Any, days: int) -> tuple[dict[str, float], str]:
    """The annual retention targets matched to a period of `days` days by compounding, and the basis in words.

    A retention ratio compounds: GRR, NRR and logo retention targets become target^(days / 365.25); the
    expansion-rate target becomes (1 + target)^(days / 365.25) - 1.
    """
    annual = {k: getattr(targets, k) for k in ("grr", "nrr", "logo_retention", "expansion_rate")}
    if abs(days - YEAR_DAYS) <= ANNUAL_TOLERANCE_DAYS:
        return annual, "targets are annual (config targets) and the period is a year: compared as they are"
    f = days / YEAR_DAYS
    scaled = {k: round(v**f, 6) for k, v in annual.items() if k != "expansion_rate"}
    scaled["expansion_rate"] = round((1 + annual["expansion_rate"]) ** f - 1, 6)
    return scaled, (
        f"targets are annual (config targets); for this {days}-day period they are compounded to it: "
        f"GRR {annual['grr']:.0%} -> {scaled['grr']:.1%}, NRR {annual['nrr']:.0%} -> {scaled['nrr']:.1%}, "
        f"logo retention {annual['logo_retention']:.0%} -> {scaled['logo_retention']:.1%}, expansion rate "
        f"{annual['expansion_rate']:.0%} -> {scaled['expansion_rate']:.1%}"
    )


def vs_target(value: float | None, target: float | None, note: str | None = None) -> MetricVsTarget:
    if value is None or target is None:
        return MetricVsTarget(value=value, target=target, met=None, gap=None, note=note)
    return MetricVsTarget(
        value=value, target=target, met=value >= target - 1e-9, gap=round(value - target, 6), note=note
    )


def rates(
    start: float, expansion: float, contraction: float, churn: float, customers: int, lost: int
) -> dict[str, float | None]:
    """The SPEC formulas over one set of starting accounts."""
    grr = _ratio(start - contraction - churn, start)
    return {
        "grr": None if grr is None else min(grr, 1.0),
        "nrr": _ratio(start + expansion - contraction - churn, start),
        "logo_retention": None if customers <= 0 else round(1 - lost / customers, 6),
        "expansion_rate": _ratio(expansion, start),
        "contraction_rate": _ratio(contraction, start),
        "gross_churn_rate": _ratio(churn, start),
    }


# ---------------------------------------------------------------------- grouping


def group_column(ws: Workspace, by: str | None) -> str | None:
    """The accounts column to group by, validated (aliases: csm -> csm_id)."""
    if not by:
        return None
    col = GROUP_ALIASES.get(by.strip().lower(), by.strip().lower())
    available = retention_queries.table_columns(ws, "accounts")
    usable = [
        c
        for c in available
        if c
        not in (
            "account_id",
            "name",
            "arr",
            "contract_start",
            "renewal_date",
            "churned_on",
            "seats_purchased",
            "employees",
        )
    ]
    if col not in usable:
        raise InvalidArgument(
            f"Cannot group by '{by}'. Group by one of: {', '.join(sorted(usable))} (csm works for csm_id)."
        )
    return col


def _health_by_group(ws: Workspace, col: str | None) -> dict[str, dict[str, Any]]:
    """Active accounts now, green shares and average health, per group value (key 'all' without a column)."""
    import numpy as np

    from cs_mcp.domain.portfolio import cached, portfolio_snapshot

    snap = portfolio_snapshot(ws)

    def compute() -> dict[str, dict[str, Any]]:
        frame = snap.frame
        n = len(frame)
        if col is None:
            labels = np.full(n, "all", dtype=object)
        elif col in frame.columns:
            labels = np.array(["(none)" if v is None else str(v) for v in frame[col]], dtype=object)
        else:
            rows = retention_queries.account_groups(ws, col)
            labels = np.array([rows.get(a, "(none)") for a in frame["account_id"]], dtype=object)
        active = frame["is_active"] == 1.0  # customers as of the date (queries.customers)
        score = snap.health.score
        scored = active & ~np.isnan(score)
        green = scored & (score >= snap.health.model.bands.green)
        arr = np.nan_to_num(frame["arr"], nan=0.0)
        out: dict[str, dict[str, Any]] = {}
        if n == 0:
            return out
        keys, inverse = np.unique(labels.astype(str), return_inverse=True)
        counts = {
            name: np.bincount(inverse, weights=w, minlength=len(keys))
            for name, w in (
                ("active", active.astype(float)),
                ("scored", scored.astype(float)),
                ("green", green.astype(float)),
                ("scored_arr", np.where(scored, arr, 0.0)),
                ("green_arr", np.where(green, arr, 0.0)),
                ("score_sum", np.where(scored, score, 0.0)),
            )
        }
        for i, key in enumerate(keys):
            s = counts["scored"][i]
            out[str(key)] = {
                "active": int(counts["active"][i]),
                "scored": int(s),
                "green_accounts_share": None if s == 0 else round(counts["green"][i] / s, 6),
                "green_arr_share": _ratio(counts["green_arr"][i], counts["scored_arr"][i]),
                "average_health": None if s == 0 else round(counts["score_sum"][i] / s, 2),
            }
        return out

    return cached(ws, ("retention-health", col, snap.as_of, ws.settings.health.model_dump_json()), compute)


# ----------------------------------------------------------------------- the tool


INT_COLUMNS = ("customers", "lost", "new_logos", "undated_churn")
SUM_COLUMNS = (
    "customers",
    "lost",
    "new_logos",
    "start_arr",
    "contraction",
    "churn",
    "expansion",
    "new_arr",
    "end_arr",
    "undated_churn",
)


def _period_rows(ws: Workspace, col: str | None, p: Period) -> list[dict[str, Any]]:
    """Per-group sums of the period by SQL in the engine, cached per workspace (one version of the data)."""
    from cs_mcp.domain.portfolio import cached

    has_history = "subscriptions" in ws.tables

    def compute() -> list[dict[str, Any]]:
        rows = []
        for found in retention_queries.period_sums(ws, col, p.start, p.end, has_history):
            row: dict[str, Any] = {}
            for k, v in found.items():
                row[k] = v if k == "grp" else (int(v or 0) if k in INT_COLUMNS else float(v or 0))
            row.setdefault("end_arr", row["start_arr"] - row["churn"] + row["new_arr"])
            rows.append(row)
        return rows

    return cached(ws, ("retention-rows", has_history, col, p.start, p.end), compute)


def _rates_of(row: dict[str, Any], has_history: bool) -> dict[str, float | None]:
    if has_history:
        return rates(
            row["start_arr"],
            row["expansion"],
            row["contraction"],
            row["churn"],
            row["customers"],
            row["lost"],
        )
    logos = None if row["customers"] <= 0 else round(1 - row["lost"] / row["customers"], 6)
    return {
        "grr": None,
        "nrr": None,
        "logo_retention": logos,
        "expansion_rate": None,
        "contraction_rate": None,
        "gross_churn_rate": None,
    }


def _group_page(
    rows: list[dict[str, Any]],
    health: dict[str, dict[str, Any]],
    has_history: bool,
    col: str,
    limit: int,
    cursor: str | None,
) -> tuple[list[RetentionGroup], GroupPage]:
    """One page of groups, largest start ARR first; groups with active accounts but no ARR come last."""
    empty = {
        "customers": 0,
        "lost": 0,
        "new_logos": 0,
        "start_arr": 0.0,
        "end_arr": 0.0,
        "churn": 0.0,
        "expansion": 0.0,
        "contraction": 0.0,
        "new_arr": 0.0,
    }
    seen = {r["grp"] for r in rows}
    merged = rows + [{**empty, "grp": k} for k in health if k not in seen]
    merged.sort(key=lambda r: (-r["start_arr"], -health.get(r["grp"], {}).get("active", 0), r["grp"]))
    offset = decode_cursor(cursor)
    groups = []
    for row in merged[offset : offset + limit]:
        h = health.get(row["grp"], {})
        gr = _rates_of(row, has_history)
        groups.append(
            RetentionGroup(
                key=row["grp"],
                customers_at_start=row["customers"],
                lost=row["lost"],
                new_logos=row["new_logos"],
                start_arr=round(row["start_arr"], 2),
                end_arr=round(row["end_arr"], 2),
                churned_arr=round(row["churn"], 2),
                grr=gr["grr"],
                nrr=gr["nrr"],
                logo_retention=gr["logo_retention"],
                expansion_rate=gr["expansion_rate"],
                active_accounts=h.get("active", 0),
                green_accounts_share=h.get("green_accounts_share"),
                green_arr_share=h.get("green_arr_share"),
                average_health=h.get("average_health"),
            )
        )
    nxt = offset + len(groups)
    page = GroupPage(
        by=col,
        total=len(merged),
        returned=len(groups),
        next_cursor=encode_cursor(nxt) if nxt < len(merged) else None,
    )
    return groups, page


def retention_metrics(
    ws: Workspace,
    period: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    by: str | None = None,
    limit: int = 25,
    cursor: str | None = None,
) -> RetentionReport:
    """GRR, NRR, logo retention, expansion and health shares over a past period, against the targets."""
    from cs_mcp.domain.health import METRIC_SOURCES

    p = resolve_period(ws.as_of, period, start, end)
    col = group_column(ws, by)
    if cursor and not col:
        raise InvalidArgument(
            "cursor pages the groups of `by`; send by (e.g. segment) with it, or omit cursor."
        )
    has_history = "subscriptions" in ws.tables
    rows = _period_rows(ws, col, p)
    total = {k: sum(r.get(k, 0) for r in rows) for k in SUM_COLUMNS}
    health_all = _health_by_group(ws, None).get("all", {"active": 0, "scored": 0})
    targets = ws.settings.targets
    r = _rates_of(total, has_history)
    not_computed: list[str] = []
    notes: list[str] = []
    waterfall = None
    if has_history:
        waterfall = Waterfall(
            start_arr=round(total["start_arr"], 2),
            new_arr=round(total["new_arr"], 2),
            expansion_arr=round(total["expansion"], 2),
            contraction_arr=round(total["contraction"], 2),
            churned_arr=round(total["churn"], 2),
            end_arr=round(total["end_arr"], 2),
        )
        if total["start_arr"] <= 0:
            first, last = retention_queries.subscription_span(ws)
            span = (
                f"subscriptions start between {first} and {last}"
                if first
                else "the subscriptions table is empty"
            )
            notes.append(
                f"No account had ARR on {p.start} ({span}), so no retention rate can be computed for "
                "this period: choose a period starting after the first subscription."
            )
            not_computed += [
                f"{m}: no ARR at the period start"
                for m in ("grr", "nrr", "logo_retention", "expansion_rate")
            ]
    else:
        reason = "needs the subscriptions table (ARR history); only current ARR is known"
        not_computed += [
            f"{m}: {reason}"
            for m in ("grr", "nrr", "expansion_rate", "contraction_rate", "gross_churn_rate")
        ]
        notes.append(
            "No subscriptions table: only current ARR is known. Logo retention comes from accounts' "
            "contract_start and churned_on; churned ARR and start ARR are the accounts' current (last "
            "recorded) ARR. Add a subscriptions table (account_id, start_date, end_date, arr) for GRR, NRR "
            "and expansion."
        )
        if total["undated_churn"]:
            notes.append(
                f"{total['undated_churn']} churned accounts have no churned_on date and were left out."
            )
        if total["customers"] <= 0:
            not_computed.append("logo_retention: no customers at the period start")
    if p.cut_to_as_of:
        notes.append(f"The period was cut at the data's as-of date {ws.as_of}.")
    if not health_all.get("scored"):
        not_computed.append("health shares: no active account has a health score")

    days = (p.end - p.start).days
    scaled, basis = period_targets(targets, days)
    metrics = {
        "grr": vs_target(r["grr"], scaled["grr"]),
        "nrr": vs_target(r["nrr"], scaled["nrr"]),
        "logo_retention": vs_target(r["logo_retention"], scaled["logo_retention"]),
        "expansion_rate": vs_target(r["expansion_rate"], scaled["expansion_rate"]),
        "contraction_rate": vs_target(r["contraction_rate"], None),
        "gross_churn_rate": vs_target(r["gross_churn_rate"], None),
        **_health_metrics(health_all, targets),
    }
    groups, page = (
        _group_page(rows, _health_by_group(ws, col), has_history, col, limit, cursor) if col else ([], None)
    )
    health_tables = sorted({t for t in METRIC_SOURCES.values() if t in ws.tables} - {"subscriptions"})
    return RetentionReport(
        period=p,
        as_of=ws.as_of,
        source="subscriptions" if has_history else "accounts",
        metrics=metrics,
        target_basis=basis,
        counts=RetentionCounts(
            customers_at_start=total["customers"],
            lost=total["lost"],
            new_logos=total["new_logos"],
            start_arr=round(total["start_arr"], 2),
            end_arr=round(total["end_arr"], 2),
            new_logo_arr=round(total["new_arr"], 2),
            churned_arr=round(total["churn"], 2),
        ),
        waterfall=waterfall,
        groups=groups,
        groups_page=page,
        not_computed=not_computed,
        health_scored_accounts=int(health_all.get("scored", 0)),
        tables_used=["accounts", *(["subscriptions"] if has_history else []), *health_tables],
        note=" ".join(notes) or None,
    )


def _health_metrics(h: dict[str, Any], targets: Targets) -> dict[str, MetricVsTarget]:
    unscored = h.get("active", 0) - h.get("scored", 0)
    note = f"{unscored} active accounts without a health score are left out" if unscored else None
    return {
        "green_accounts_share": vs_target(
            h.get("green_accounts_share"), targets.green_accounts_share, note
        ),
        "green_arr_share": vs_target(h.get("green_arr_share"), targets.green_arr_share, note),
        "average_health": vs_target(h.get("average_health"), targets.average_health, note),
    }
