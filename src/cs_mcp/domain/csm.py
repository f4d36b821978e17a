"""CSM performance: each CSM's book (active accounts they own) with capacity, health mix, retention, activity,
coverage gaps, renewals at risk and rule-based coaching notes; team totals.

Rules (config `csm`):
  roster        the csms table, plus any csm_id found on accounts; 'unassigned' holds active accounts without one
  utilization   active accounts / csms.capacity: 'over' above over_capacity_utilization, 'near' at or above
                near_capacity_utilization
  health mix    health bands of the book from the portfolio snapshot (cs_mcp.domain.portfolio)
  retention     GRR / NRR / logo retention of the book over csm.retention_period from
                cs_mcp.domain.retention grouped by csm_id (accounts grouped by their current CSM, churned included)
  activity      touchpoints on the book's accounts in the two activity_days look-backs, and per account
  overdue       the last touch is older than touch_overdue_days for the account's segment, or it never had one
  renewals      renewals (the renewal book, cs_mcp.domain.renewal) within renewal_window_days; at risk by the
                book's one rule: renewal probability under the 'likely' tier; save plans in order of
                save_plan_order: expected loss = ARR x the book's risk of losing the account by the renewal,
                largest first (ties: ARR), or the risk (whole percent) first, then ARR
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from cs_mcp.domain.engagement import overdue_for_touch, touch_limits
from cs_mcp.domain.errors import InvalidArgument
from cs_mcp.domain.formatting import day_count, money
from cs_mcp.domain.paging import Page, decode_cursor, encode_cursor
from cs_mcp.workspace.cache import cached
from cs_mcp.workspace.queries.csm import account_touches, assigned_csm_ids, csm_roster

if TYPE_CHECKING:
    import numpy as np

    from cs_mcp.config import Settings
    from cs_mcp.domain.renewal import ChurnInput
    from cs_mcp.workspace.loader import Workspace

UNASSIGNED = "unassigned"
SAVE_PLAN_ORDER_WORDS = {
    "expected_loss": "largest expected loss (ARR x risk of loss)",
    "risk": "likeliest to be lost (then largest ARR)",
}
CapacityFlag = Literal["over", "near", "ok", "unknown"]
SortKey = Literal[
    "arr", "accounts", "utilization", "average_health", "grr", "nrr", "overdue_accounts", "overdue_arr",
    "at_risk_renewals", "touches_per_account", "red_accounts",
]


# ------------------------------------------------------------------------ models


class HealthMix(BaseModel):
    green: int
    yellow: int
    red: int
    unknown: int = Field(description="accounts without a health score")
    green_arr: float
    yellow_arr: float
    red_arr: float
    unknown_arr: float


class BookRetention(BaseModel):
    period: str
    customers_at_start: int
    start_arr: float
    churned_arr: float
    grr: float | None = Field(description="ratio, capped at 1; null without ARR history or starting ARR")
    nrr: float | None
    logo_retention: float | None


class Activity(BaseModel):
    recent_days: int
    window_days: int
    touches_recent: int = Field(description="touchpoints on the book's accounts in the last recent_days")
    touches_window: int = Field(description="touchpoints on the book's accounts in the last window_days")
    per_account_recent: float | None
    per_account_window: float | None


class OverdueAccount(BaseModel):
    account_id: str
    name: str
    segment: str | None
    arr: float | None
    days_since_last_touch: int | None = Field(description="null when never touched")
    overdue_after_days: int = Field(description="the segment's cadence limit")


class Coverage(BaseModel):
    overdue_accounts: int = Field(description="accounts overdue for a touch")
    overdue_arr: float
    top: list[OverdueAccount] = Field(description="overdue accounts, largest ARR first")


class RenewalAtRisk(BaseModel):
    account_id: str
    name: str
    arr: float | None
    renewal_date: dt.date | None
    renewal_probability: float | None = Field(None, description="renewal-forecast's probability, %")
    health_band: str
    churn_tier: str | None
    renewal_category: str | None = Field(
        None, description="the renewal book's category (at_risk, high_risk): under the 'likely' tier, whatever the "
        "churn tier"
    )
    churn_probability: float | None = Field(None, description="risk of losing the account by the renewal, %")
    expected_loss: float | None = Field(None, description="ARR x churn_probability / 100: what orders save plans")


class Renewals(BaseModel):
    window_days: int
    due: int
    due_arr: float
    at_risk: int
    at_risk_arr: float
    at_risk_accounts: list[RenewalAtRisk] = Field(
        description="at-risk renewals in csm.save_plan_order: by default largest expected loss (ARR x risk of "
        "loss) first (up to 3)"
    )


class CsmBook(BaseModel):
    csm_id: str = Field(description="'unassigned' for the active accounts without a CSM")
    name: str | None
    team: str | None
    accounts: int = Field(description="active accounts owned")
    arr: float
    capacity: int | None = Field(description="accounts the CSM can cover (csms.capacity)")
    utilization: float | None = Field(description="accounts / capacity")
    capacity_flag: CapacityFlag
    health: HealthMix
    average_health: float | None
    retention: BookRetention | None
    activity: Activity | None = Field(description="null without a touchpoints table")
    coverage: Coverage | None = Field(description="null without a touchpoints table")
    renewals: Renewals | None = Field(description="null when no account has a renewal_date")
    coaching_notes: list[str] = Field(description="rule-based notes from the figures, most pressing first")


class TeamTotals(BaseModel):
    csms: int = Field(description="CSMs on the roster (unassigned not counted)")
    accounts: int
    arr: float
    capacity: int | None = Field(description="sum of the known capacities")
    utilization: float | None = Field(description="accounts of CSMs with a capacity / their total capacity")
    over_capacity: int = Field(description="CSMs over capacity")
    near_capacity: int = Field(description="CSMs near capacity")
    unassigned_accounts: int
    unassigned_arr: float
    health: HealthMix
    average_health: float | None
    retention: BookRetention | None
    activity: Activity | None
    coverage: Coverage | None
    renewals: Renewals | None


class CsmPerformance(Page):
    as_of: dt.date
    sort: SortKey
    order: Literal["desc", "asc"]
    filters: dict[str, str]
    thresholds: dict[str, Any] = Field(description="the settings the flags and notes used (config `csm`)")
    team: TeamTotals = Field(description="the whole team, whatever the filter")
    csms: list[CsmBook]
    not_computed: list[str]
    tables_used: list[str]
    note: str | None = None


# ------------------------------------------------------------------------ data


def _roster(ws: Workspace) -> dict[str, dict[str, Any]]:
    """csm_id -> name, team, capacity: the csms table, then csm_ids found only on accounts."""
    roster: dict[str, dict[str, Any]] = {}
    for cid, name, team, capacity in csm_roster(ws):
        roster[str(cid)] = {"name": name, "team": team, "capacity": None if capacity is None else int(capacity),
                            "listed": True}
    for cid in assigned_csm_ids(ws):
        roster.setdefault(cid, {"name": None, "team": None, "capacity": None, "listed": False})
    return roster


def _touch_counts(ws: Workspace, recent: int, window: int) -> dict[str, np.ndarray]:
    """Per account (snapshot order): days since the last touch (NaN: never), touches in the two look-backs."""
    import numpy as np

    from cs_mcp.domain.portfolio import portfolio_snapshot

    snap = portfolio_snapshot(ws)

    def compute() -> dict[str, np.ndarray]:
        n = len(snap.frame)
        out = {"days": np.full(n, np.nan), "recent": np.zeros(n), "window": np.zeros(n)}
        raw = account_touches(ws, snap.as_of, recent, window)
        keep = [i for i, a in enumerate(raw["account_id"]) if a in snap.position]
        rows = np.array([snap.position[raw["account_id"][i]] for i in keep], dtype=int)
        for k, col in (("days", "days"), ("recent", "recent"), ("window", "in_window")):
            if len(rows):
                out[k][rows] = np.asarray(raw[col], dtype=float)[keep]
        return out

    return cached(ws, ("csm-touches", snap.as_of, recent, window), compute)


def _book_retention(ws: Workspace) -> tuple[dict[str, BookRetention], BookRetention | None, str | None]:
    """Retention per csm_id ('unassigned' for none), the team's, and why it could not be computed."""
    from cs_mcp.domain.retention import retention_metrics

    try:
        report = retention_metrics(ws, period=ws.settings.csm.retention_period, by="csm_id", limit=1_000_000)
    except InvalidArgument as exc:
        return {}, None, f"book retention: {exc}"
    label = report.period.label
    books = {
        (UNASSIGNED if g.key == "(none)" else g.key): BookRetention(
            period=label, customers_at_start=g.customers_at_start, start_arr=g.start_arr,
            churned_arr=g.churned_arr, grr=g.grr, nrr=g.nrr, logo_retention=g.logo_retention,
        )
        for g in report.groups
    }
    m = report.metrics
    team = BookRetention(
        period=label, customers_at_start=report.counts.customers_at_start, start_arr=report.counts.start_arr,
        churned_arr=report.counts.churned_arr, grr=m["grr"].value, nrr=m["nrr"].value,
        logo_retention=m["logo_retention"].value,
    )
    why = None if report.source == "subscriptions" else "GRR / NRR per book: no subscriptions table (ARR history)"
    return books, team, why


# ------------------------------------------------------------------------ per book


def _health_mix(idx: np.ndarray, bands: np.ndarray, arr: np.ndarray) -> HealthMix:
    sub, money_of = bands[idx], arr[idx]
    counts = {b: int((sub == b).sum()) for b in ("green", "yellow", "red", "unknown")}
    amounts = {b: round(float(money_of[sub == b].sum()), 2) for b in counts}
    return HealthMix(**counts, **{f"{b}_arr": v for b, v in amounts.items()})


def _mean(values: np.ndarray) -> float | None:
    import numpy as np

    v = values[~np.isnan(values)]
    return None if v.size == 0 else round(float(v.mean()), 2)


class _Book:
    """The portfolio's arrays a book needs, computed once; a book is an array of snapshot rows."""

    def __init__(self, ws: Workspace, churn: ChurnInput | None) -> None:
        import numpy as np

        from cs_mcp.domain.portfolio import portfolio_snapshot

        s = ws.settings.csm
        snap = portfolio_snapshot(ws)
        f = snap.frame
        self.ws, self.s, self.f = ws, s, f
        n = len(f)
        self.active = np.asarray(f["is_active"]) == 1.0  # customers as of the date (queries.customers)
        self.owner = np.array(
            [UNASSIGNED if c is None or str(c).strip() == "" else str(c) for c in f["csm_id"]], dtype=object
        )
        self.arr = np.nan_to_num(np.asarray(f["arr"], dtype=float))
        self.health = np.asarray(snap.health.score, dtype=float)
        self.bands = snap.health.bands()
        self.has_touch = "touchpoints" in ws.tables
        recent, window = s.activity_days
        t = _touch_counts(ws, recent, window) if self.has_touch else None
        self.touch = t
        self.limit = touch_limits(s, f["segment"])
        if t is not None:
            self.overdue = self.active & overdue_for_touch(t["days"], self.limit)
        else:
            self.overdue = np.zeros(n, dtype=bool)
        self._renewal_book(ws, churn, snap.position, n)

    def _renewal_book(self, ws: Workspace, churn: ChurnInput | None, position: dict[str, int], n: int) -> None:
        """Renewal dates, tiers and the at-risk flag from the renewal book: the one rule every tool uses."""
        import numpy as np

        from cs_mcp.domain.churn import TIERS
        from cs_mcp.domain.renewal import build_base, renewal_base

        book = build_base(ws, churn) if churn is not None else renewal_base(ws)
        rows = np.array([position[a] for a in book.ids], dtype=np.int64)
        self.dtr = np.full(n, np.nan)
        self.tier = np.full(n, None, dtype=object)
        self.renewal_pct = np.full(n, np.nan)
        self.lost = np.full(n, np.nan)
        self.category = np.full(n, None, dtype=object)
        self.at_risk = np.zeros(n, dtype=bool)
        if len(rows):
            self.dtr[rows] = book.days_to_renewal(ws.as_of)
            self.tier[rows] = np.array(TIERS, dtype=object)[book.tier_code]
            self.renewal_pct[rows] = book.pct
            self.lost[rows] = book.lost
            self.category[rows] = book.category
            self.at_risk[rows] = book.at_risk
        with np.errstate(invalid="ignore"):
            self.due = self.active & (self.dtr >= 0) & (self.dtr <= self.s.renewal_window_days)
        self.at_risk &= self.due
        self.has_renewals = bool((~np.isnan(self.dtr)).any())

    def groups(self) -> dict[str, np.ndarray]:
        """Owner -> rows of their active accounts."""
        import numpy as np

        rows = np.flatnonzero(self.active)
        if not len(rows):
            return {}
        keys, inverse = np.unique(self.owner[rows].astype(str), return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.cumsum(np.bincount(inverse, minlength=len(keys)))[:-1]
        return dict(zip(keys.tolist(), np.split(rows[order], bounds), strict=True))

    def activity(self, idx: np.ndarray) -> Activity | None:
        if self.touch is None:
            return None
        k = len(idx)
        recent = int(self.touch["recent"][idx].sum())
        window = int(self.touch["window"][idx].sum())
        return Activity(
            recent_days=self.s.activity_days[0], window_days=self.s.activity_days[1],
            touches_recent=recent, touches_window=window,
            per_account_recent=None if k == 0 else round(recent / k, 2),
            per_account_window=None if k == 0 else round(window / k, 2),
        )

    def coverage(self, rows: np.ndarray) -> Coverage | None:
        import numpy as np

        if self.touch is None:
            return None
        idx = rows[self.overdue[rows]]
        idx = idx[np.lexsort((np.nan_to_num(-self.touch["days"][idx], nan=-1e9), -self.arr[idx]))]
        f = self.f
        top = [
            OverdueAccount(
                account_id=str(f["account_id"][i]), name=str(f["name"][i]), segment=f["segment"][i],
                arr=float(f["arr"][i]) if f["arr"][i] == f["arr"][i] else None,
                days_since_last_touch=None if np.isnan(self.touch["days"][i]) else int(self.touch["days"][i]),
                overdue_after_days=int(self.limit[i]),
            )
            for i in idx[: self.s.top_overdue]
        ]
        return Coverage(overdue_accounts=len(idx), overdue_arr=round(float(self.arr[idx].sum()), 2), top=top)

    def renewals(self, rows: np.ndarray) -> Renewals | None:
        import numpy as np

        if not self.has_renewals:
            return None
        due = rows[self.due[rows]]
        risk = rows[self.at_risk[rows]]
        lost = np.nan_to_num(self.lost[risk])
        first = self.arr[risk] * lost if self.s.save_plan_order == "expected_loss" else np.round(lost * 100)
        risk = risk[np.lexsort((-self.arr[risk], -first))]
        f = self.f
        listed = []
        for i in risk[:3]:
            lost = None if np.isnan(self.lost[i]) else round(float(self.lost[i]) * 100, 1)
            listed.append(RenewalAtRisk(
                account_id=str(f["account_id"][i]), name=str(f["name"][i]),
                arr=float(f["arr"][i]) if f["arr"][i] == f["arr"][i] else None,
                renewal_date=self.ws.as_of + dt.timedelta(days=int(self.dtr[i])),
                renewal_probability=float(self.renewal_pct[i]),
                health_band=str(self.bands[i]), churn_tier=self.tier[i], renewal_category=self.category[i],
                churn_probability=lost,
                expected_loss=None if lost is None else round(float(self.arr[i]) * float(self.lost[i]), 2),
            ))
        return Renewals(
            window_days=self.s.renewal_window_days, due=len(due),
            due_arr=round(float(self.arr[due].sum()), 2), at_risk=len(risk),
            at_risk_arr=round(float(self.arr[risk].sum()), 2), at_risk_accounts=listed,
        )


def _capacity_flag(utilization: float | None, s: Any) -> CapacityFlag:
    if utilization is None:
        return "unknown"
    if utilization > s.over_capacity_utilization:
        return "over"
    if utilization >= s.near_capacity_utilization:
        return "near"
    return "ok"


def _save_plan_words(a: RenewalAtRisk) -> str:
    """'Name ($ARR ARR, 97% risk of loss: renewal high risk, churn tier critical)'."""
    risk = "" if a.churn_probability is None else f", {a.churn_probability:g}% risk of loss"
    category = (a.renewal_category or "n/a").replace("_", " ")
    return f"{a.name} ({money(a.arr)} ARR{risk}: renewal {category}, churn tier {a.churn_tier or 'n/a'})"


def _coaching(b: CsmBook, team_per_account: float | None, settings: Settings) -> list[str]:
    """Rule-based notes from the book's figures, most pressing first."""
    s, targets = settings.csm, settings.targets
    notes: list[str] = []
    n = b.accounts
    if b.csm_id == UNASSIGNED:
        if n:
            notes.append(f"{n} active account{'s have' if n != 1 else ' has'} no CSM ({money(b.arr)} ARR): "
                         "assign owners, largest ARR first.")
    elif n == 0:
        cap = f" (capacity {b.capacity})" if b.capacity else ""
        notes.append(f"No active accounts assigned{cap}: room for new assignments.")
        return notes
    if b.capacity_flag == "over":
        excess = n - (b.capacity or 0)
        notes.append(f"Book of {n} accounts is {b.utilization * 100:.0f}% of capacity {b.capacity}: move "
                     f"{excess} account{'s' if excess != 1 else ''} to a CSM with room or to a pooled model.")
    elif b.capacity_flag == "near":
        notes.append(f"At {b.utilization * 100:.0f}% of capacity ({n} of {b.capacity}): hold new assignments.")
    r = b.renewals
    if r and r.at_risk:
        named = ", then ".join(_save_plan_words(a) for a in r.at_risk_accounts[:2])
        order = SAVE_PLAN_ORDER_WORDS[s.save_plan_order]
        notes.append(f"{r.at_risk} of {r.due} renewals in the next {r.window_days} days at risk "
                     f"({money(r.at_risk_arr)}): start save plans with renewal-strategy, {order} first: {named}.")
    c = b.coverage
    if c and c.overdue_accounts and n and c.overdue_accounts / n >= s.coach_overdue_share:
        top = c.top[0] if c.top else None
        largest = ""
        if top:
            since = "never touched" if top.days_since_last_touch is None else day_count(top.days_since_last_touch)
            largest = f"; largest {top.name} {money(top.arr)}, {since}"
        notes.append(f"{c.overdue_accounts} of {n} accounts overdue for a touch ({money(c.overdue_arr)} "
                     f"ARR{largest}): book a check-in sprint this week.")
    h = b.health
    if n and h.red and h.red / n >= s.coach_red_share:
        notes.append(f"{h.red} of {n} accounts red ({money(h.red_arr)} ARR): review each with health-score "
                     "and agree recovery plans.")
    ret = b.retention if b.csm_id != UNASSIGNED else None
    if ret and ret.grr is not None and ret.grr < targets.grr:
        notes.append(f"GRR {ret.grr * 100:.1f}% over the {ret.period} vs target {targets.grr * 100:.0f}% "
                     f"({money(ret.churned_arr)} churned): run a loss review of churned and contracted accounts.")
    elif ret and ret.nrr is not None and ret.nrr < targets.nrr:
        notes.append(f"NRR {ret.nrr * 100:.1f}% over the {ret.period} vs target {targets.nrr * 100:.0f}%: "
                     "look for expansion in the healthy accounts (expansion-opportunities).")
    a = b.activity if b.csm_id != UNASSIGNED else None
    if (a and a.per_account_window is not None and team_per_account
            and a.per_account_window < s.coach_low_activity_ratio * team_per_account):
        notes.append(f"{a.per_account_window:.1f} touches per account in {a.window_days} days vs "
                     f"{team_per_account:.1f} for the team: block time for proactive outreach.")
    if not notes:
        notes.append("No coaching flags from the figures available.")
    return notes


# ------------------------------------------------------------------------ the tool


SORT_FIELDS: dict[str, Any] = {
    "arr": lambda b: b.arr,
    "accounts": lambda b: b.accounts,
    "utilization": lambda b: b.utilization,
    "average_health": lambda b: b.average_health,
    "grr": lambda b: b.retention.grr if b.retention else None,
    "nrr": lambda b: b.retention.nrr if b.retention else None,
    "overdue_accounts": lambda b: b.coverage.overdue_accounts if b.coverage else None,
    "overdue_arr": lambda b: b.coverage.overdue_arr if b.coverage else None,
    "at_risk_renewals": lambda b: b.renewals.at_risk if b.renewals else None,
    "touches_per_account": lambda b: b.activity.per_account_window if b.activity else None,
    "red_accounts": lambda b: b.health.red,
}


def csm_performance(
    ws: Workspace,
    csm_id: str | None = None,
    sort: SortKey = "arr",
    order: Literal["desc", "asc"] = "desc",
    limit: int | None = None,
    cursor: str | None = None,
    churn: ChurnInput | None = None,
) -> CsmPerformance:
    """Every CSM's book (or one CSM's), sorted by a metric, with team totals."""
    import numpy as np

    from cs_mcp.domain.health import METRIC_SOURCES

    settings = ws.settings
    s = settings.csm
    limit = limit or min(settings.server.page_size, settings.csm.page_size)
    offset = decode_cursor(cursor)
    if sort not in SORT_FIELDS:
        raise InvalidArgument(f"Unknown sort '{sort}'. Sort by one of: {', '.join(SORT_FIELDS)}.")
    roster = _roster(ws)
    wanted = None
    if csm_id:
        known = {k.lower(): k for k in [*roster, UNASSIGNED]}
        wanted = known.get(csm_id.strip().lower())
        if wanted is None:
            listed = ", ".join(list(roster)[:40]) + (", ..." if len(roster) > 40 else "")
            raise InvalidArgument(
                f"Unknown csm_id '{csm_id}'. Valid: {listed or 'none in the data'}, or {UNASSIGNED} for accounts "
                "without a CSM."
            )
    book = _Book(ws, churn)
    retention, team_retention, retention_gap = _book_retention(ws)
    groups = book.groups()
    owners = list(roster) + ([UNASSIGNED] if UNASSIGNED in groups else [])
    none = np.zeros(0, dtype=int)
    team_rows = np.flatnonzero(book.active)
    team_activity = book.activity(team_rows)
    team_per_account = team_activity.per_account_window if team_activity else None
    books: list[CsmBook] = []
    for cid in owners:
        sel = groups.get(cid, none)
        info = roster.get(cid, {"name": None, "team": None, "capacity": None})
        k = len(sel)
        capacity = info["capacity"]
        utilization = None if not capacity else round(k / capacity, 4)
        b = CsmBook(
            csm_id=cid, name=info["name"], team=info["team"], accounts=k,
            arr=round(float(book.arr[sel].sum()), 2), capacity=capacity, utilization=utilization,
            capacity_flag=_capacity_flag(utilization, s) if cid != UNASSIGNED else "unknown",
            health=_health_mix(sel, book.bands, book.arr), average_health=_mean(book.health[sel]),
            retention=retention.get(cid), activity=book.activity(sel), coverage=book.coverage(sel),
            renewals=book.renewals(sel), coaching_notes=[],
        )
        b.coaching_notes = _coaching(b, team_per_account, settings)
        books.append(b)
    assigned = [b for b in books if b.csm_id != UNASSIGNED]
    with_capacity = [b for b in assigned if b.capacity]
    capacity = sum(b.capacity for b in with_capacity) if with_capacity else None
    unassigned = next((b for b in books if b.csm_id == UNASSIGNED), None)
    team = TeamTotals(
        csms=len(assigned),
        accounts=len(team_rows),
        arr=round(float(book.arr[team_rows].sum()), 2),
        capacity=capacity,
        utilization=None if not capacity else round(sum(b.accounts for b in with_capacity) / capacity, 4),
        over_capacity=sum(b.capacity_flag == "over" for b in assigned),
        near_capacity=sum(b.capacity_flag == "near" for b in assigned),
        unassigned_accounts=unassigned.accounts if unassigned else 0,
        unassigned_arr=unassigned.arr if unassigned else 0.0,
        health=_health_mix(team_rows, book.bands, book.arr),
        average_health=_mean(book.health[team_rows]),
        retention=team_retention,
        activity=team_activity,
        coverage=book.coverage(team_rows),
        renewals=book.renewals(team_rows),
    )
    selected = [b for b in books if wanted is None or b.csm_id == wanted]
    key = SORT_FIELDS[sort]
    present = [b for b in selected if key(b) is not None]
    absent = [b for b in selected if key(b) is None]
    present.sort(key=lambda b: (key(b), -b.arr) if order == "asc" else (-key(b), -b.arr))
    ranked = present + absent
    page = ranked[offset: offset + limit]
    not_computed = []
    if "csms" not in ws.tables:
        not_computed.append("capacity and utilization: no csms table")
    elif all(info["capacity"] is None for info in roster.values()):
        not_computed.append("capacity and utilization: csms.capacity is empty")
    if not book.has_touch:
        not_computed.append("activity and overdue touches: no touchpoints table")
    if not book.has_renewals:
        not_computed.append("renewals: no account has a renewal_date")
    if retention_gap:
        not_computed.append(retention_gap)
    notes = []
    unlisted = [cid for cid, info in roster.items() if not info.get("listed")]
    if unlisted and "csms" in ws.tables:
        notes.append(
            f"csm_ids on accounts but not in the csms table (no name or capacity): {', '.join(unlisted[:10])}."
        )
    if unassigned and unassigned.accounts:
        k = unassigned.accounts
        notes.append(f"{k} active account{'s have' if k != 1 else ' has'} no CSM ({money(unassigned.arr)} ARR).")
    health_tables = {METRIC_SOURCES.get(m, "accounts") for d in settings.health.active.dimensions.values()
                     for m in d.metrics}
    tables = [t for t in ("accounts", "csms", "touchpoints", "subscriptions", *sorted(health_tables - {"accounts"}))
              if t == "accounts" or t in ws.tables]
    nxt = offset + len(page)
    return CsmPerformance(
        as_of=ws.as_of,
        sort=sort,
        order=order,
        filters={"csm_id": wanted} if wanted else {},
        thresholds={
            "near_capacity_utilization": s.near_capacity_utilization,
            "over_capacity_utilization": s.over_capacity_utilization,
            "touch_overdue_days": dict(s.touch_overdue_days),
            "default_touch_overdue_days": s.default_touch_overdue_days,
            "renewal_window_days": s.renewal_window_days,
            "at_risk_rule": "renewal probability under renewal.probability_tiers.likely "
            f"({settings.renewal.probability_tiers['likely']:g}%), as renewal-forecast and churn-risk-list",
        },
        team=team,
        csms=page,
        total=len(ranked),
        returned=len(page),
        next_cursor=encode_cursor(nxt) if nxt < len(ranked) else None,
        not_computed=not_computed,
        tables_used=list(dict.fromkeys(tables)),
        note=" ".join(notes) or None,
    )
