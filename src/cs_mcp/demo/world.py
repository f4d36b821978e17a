"""The hidden world behind the demo workspace: accounts, their health trajectories, churn and contracts.

Every account gets a latent health (0-1) per week that drifts (stable, growing, declining,
crashing); everything observable is derived from it with noise in `cs_mcp.demo.tables`.
Arrays are (accounts,) or (accounts, weeks); loops run over weeks or contract slots, never accounts.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from cs_mcp.demo import vocabulary as V

if TYPE_CHECKING:
    import numpy as np

EPOCH = dt.date(1970, 1, 1)
MONTHS = 36
"""History the demo covers by default (months of weekly usage before the as-of date)."""
NEVER = 10**6
"""Day number standing for "no such date" (far after any as_of)."""
ANNIVERSARIES = 8
"""Renewals per account the world draws (tenure before the history plus the history itself)."""
SLOTS = ANNIVERSARIES + 2
"""Contract events per account: the start, the anniversaries, one mid-term expansion."""
MID = SLOTS - 1
ADDONS = len(V.PRODUCTS) - 1

# Contract event kinds.
K_START, K_FLAT, K_UPLIFT, K_EXPAND, K_CONTRACT, K_UPSELL, K_CROSS = range(7)
# Churn causes: none, at a renewal, mid-term because health collapsed, unrelated to health.
C_NONE, C_RENEWAL, C_COLLAPSE, C_RANDOM = range(4)


class World:
    """Shared state of one generation run: the calendar and per-account arrays."""

    def __init__(self, n: int, seed: int, as_of: dt.date, months: int = MONTHS) -> None:
        import numpy as np

        self.n = n
        self.months = months
        self.weeks = round(months * 52 / 12)
        self.seed = seed
        self.A = (as_of - EPOCH).days
        last_monday = self.A - as_of.weekday()
        self.ws = last_monday - 7 * np.arange(self.weeks - 1, -1, -1, dtype=np.int64)
        self.P0 = int(self.ws[0])
        month = np.datetime64(as_of, "M")
        self.ms = (month - np.arange(months - 1, -1, -1)).astype("datetime64[D]").astype(np.int64)
        self.week_month = np.searchsorted(self.ms, self.ws, side="right") - 1
        self.id_width = max(5, len(str(n)))

    def rng(self, stream: int) -> np.random.Generator:
        import numpy as np

        return np.random.default_rng([self.seed, stream])


def build_world(n: int, seed: int, as_of: dt.date, months: int = MONTHS) -> World:
    """Draw every hidden per-account quantity the tables are derived from."""
    w = World(n, seed, as_of, months)
    for step in (_accounts_base, _csms_base, _sponsors, _latent_health, _support_crisis, _churn, _contracts,
                 _usage_matrix, _contacts_base):
        step(w)
    return w


def sigmoid(x: Any) -> Any:
    import numpy as np

    return 1.0 / (1.0 + np.exp(-x))


def add_months(days: Any, months: Any) -> Any:
    """Day numbers moved by whole months (days of month are at most 28, so always valid)."""
    import numpy as np

    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    dom = (d - m.astype("datetime64[D]")).astype(np.int64)
    return ((m + np.asarray(months, dtype=np.int64)).astype("datetime64[D]").astype(np.int64) + dom)


def pick(rng: np.random.Generator, probs: Any) -> Any:
    """One category index per row of a (rows, k) probability matrix."""
    import numpy as np

    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(cum)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), cum.shape[1] - 1).astype(np.int8)


def events(rng: np.random.Generator, rate: Any) -> tuple[Any, Any]:
    """Poisson event counts on an (accounts, weeks) rate matrix, expanded to (account, week) rows."""
    import numpy as np

    counts = rng.poisson(rate)
    flat = np.flatnonzero(counts)
    idx = np.repeat(flat, counts.ravel()[flat])
    weeks = rate.shape[1]
    return (idx // weeks).astype(np.int64), (idx % weeks).astype(np.int64)


def value_at(w: World, query: Any, values: Any) -> Any:
    """Value of a per-contract-event quantity in force at query days ((n,) or (n, k))."""
    import numpy as np

    q = np.asarray(query)
    extra = (slice(None),) + (None,) * (q.ndim - 1)
    out = np.broadcast_to(values[:, 0][extra], q.shape).copy()
    for j in range(1, SLOTS):
        hit = w.ev_valid[:, j][extra] & (w.ev_day[:, j][extra] <= q)
        out = np.where(hit, values[:, j][extra], out)
    return out


def week_of(w: World, days: Any) -> Any:
    import numpy as np

    return np.clip((np.asarray(days) - w.P0) // 7, 0, w.weeks - 1)


def _accounts_base(w: World) -> None:
    import numpy as np

    r, n = w.rng(1), w.n
    w.seg = r.choice(3, n, p=[0.07, 0.25, 0.68]).astype(np.int8)
    period = w.A - w.P0
    new_logo = r.random(n) < min(0.5, 0.10 * w.months / 12)  # about as many new logos a year as churn takes
    days_ago = np.where(new_logo, r.integers(10, period, n), r.integers(period, period + 4 * 365, n))
    start = (w.A - days_ago).astype("datetime64[D]")
    month = start.astype("datetime64[M]").astype("datetime64[D]")
    dom = np.minimum((start - month).astype(np.int64), 27)
    w.start = month.astype(np.int64) + dom

    lo = np.array([55e3, 14e3, 2e3])[w.seg]
    hi = np.array([350e3, 55e3, 14e3])[w.seg]
    w.arr0 = np.round(np.exp(np.log(lo) + np.log(hi / lo) * r.random(n) ** 1.4), -1)
    pps = r.uniform(np.array([180, 200, 250])[w.seg], np.array([230, 300, 400])[w.seg])
    w.seats0 = np.clip(np.round(w.arr0 / pps), np.array([200, 50, 5])[w.seg],
                       np.array([2000, 300, 60])[w.seg]).astype(np.int64)
    plan_p = np.array([[0.0, 0.20, 0.80], [0.10, 0.70, 0.20], [0.75, 0.25, 0.0]])  # plans follow segments
    w.plan0 = pick(r, plan_p[w.seg])
    w.industry = np.where(r.random(n) < 0.04, -1, r.integers(0, len(V.INDUSTRIES), n)).astype(np.int8)
    w.region = pick(r, np.tile([0.45, 0.30, 0.18, 0.07], (n, 1)))
    emp_mu = np.log(np.array([6000, 700, 60]))[w.seg]
    emp_sd = np.array([0.9, 0.6, 0.8])[w.seg]
    emp = np.clip(np.round(np.exp(r.normal(emp_mu, emp_sd))), np.array([1000, 150, 5])[w.seg],
                  np.array([200000, 3000, 400])[w.seg])
    w.employees = np.where(r.random(n) < 0.06, -1, emp).astype(np.int64)
    w.pain = r.integers(0, len(V.PAIN_THEMES), n)
    w.praise = r.integers(0, len(V.PRAISE_THEMES), n)
    w.no_usage = r.random(n) < 0.03
    w.slow_payer = r.random(n) < 0.10
    w.annual = r.random(n) < np.array([0.6, 0.4, 0.3])[w.seg]
    w.names = _account_names(r, n)


def _account_names(r: np.random.Generator, n: int) -> Any:
    import numpy as np

    p, q, s = len(V.NAME_PREFIXES), len(V.NAME_ROOTS), len(V.NAME_SUFFIXES)
    combos = p * q * s
    order = r.permutation(combos)
    idx = np.resize(order, n)
    names = [
        f"{V.NAME_PREFIXES[i // (q * s)]}{V.NAME_ROOTS[(i // s) % q]} {V.NAME_SUFFIXES[i % s]}"
        for i in idx.tolist()
    ]
    for k in range(combos, n):
        names[k] = f"{names[k]} {k // combos + 1}"
    return np.array(names, dtype=object)


def _csms_base(w: World) -> None:
    import numpy as np

    r, n = w.rng(2), w.n
    unassigned = r.random(n) < 0.02
    w.csm = np.full(n, -1, dtype=np.int64)
    cap_mean = (25, 60, 150)
    teams: list[int] = []
    caps: list[int] = []
    for team in range(3):
        members = np.flatnonzero((w.seg == team) & ~unassigned)
        k = max(1, int(round(len(members) / (cap_mean[team] * 0.8))))
        first = len(teams)
        teams += [team] * k
        caps += np.round(cap_mean[team] * r.uniform(0.8, 1.2, k)).astype(int).tolist()
        weights = r.lognormal(0.0, 0.45, k)
        w.csm[members] = first + r.choice(k, len(members), p=weights / weights.sum())
    w.csm_team = np.array(teams, dtype=np.int8)
    w.csm_width = max(3, len(str(len(teams))))
    w.csm_capacity = np.array(caps, dtype=np.int64)
    w.csm_quality = r.normal(0.0, 1.0, len(teams))
    book = np.bincount(w.csm[w.csm >= 0], minlength=len(teams))
    load = book / np.maximum(w.csm_capacity, 1)
    assigned = w.csm >= 0
    w.acc_quality = np.where(assigned, w.csm_quality[np.maximum(w.csm, 0)], -1.0)
    w.acc_load = np.where(assigned, load[np.maximum(w.csm, 0)], 1.0)


def _sponsors(w: World) -> None:
    import numpy as np

    r, n = w.rng(3), w.n
    w.traj = r.choice(4, n, p=[0.50, 0.18, 0.22, 0.10])  # stable, growing, declining, crashing
    w.crash_week = r.integers(4, w.weeks - 2, n)
    w.has_sponsor = r.random(n) < np.array([0.95, 0.85, 0.45])[w.seg]
    crash = w.traj == 3
    left_week = np.full(n, -1)
    by_crash = w.has_sponsor & crash & (r.random(n) < 0.6)
    left_week[by_crash] = w.crash_week[by_crash]
    other = w.has_sponsor & ~by_crash & (r.random(n) < 0.08)
    left_week[other] = r.integers(0, w.weeks, n)[other]
    left_day = np.where(left_week >= 0, w.ws[np.maximum(left_week, 0)] + r.integers(0, 5, n), NEVER)
    left_day = np.where((left_day < w.start + 30) | (left_day == NEVER), NEVER, np.minimum(left_day, w.A))
    replaced = (left_day < NEVER) & (r.random(n) < np.where(by_crash, 0.2, 0.55))
    w.sponsor_left = left_day
    w.sponsor_replaced = np.where(replaced, np.minimum(left_day + r.integers(28, 90, n), NEVER), NEVER)
    w.sponsor_replaced = np.where(w.sponsor_replaced > w.A, NEVER, w.sponsor_replaced)
    w.sponsor_caused_crash = by_crash


def _latent_health(w: World) -> None:
    import numpy as np

    r, n = w.rng(4), w.n
    h0 = np.clip(r.normal(0.70, 0.16, n), 0.10, 0.95)
    slope = np.zeros(n)
    onset = np.zeros(n, dtype=np.int64)
    g, d = w.traj == 1, w.traj == 2
    slope[g] = r.uniform(0.002, 0.006, g.sum())
    onset[g] = r.integers(0, w.weeks // 2, g.sum())
    slope[d] = -r.uniform(0.003, 0.009, d.sum())
    onset[d] = r.integers(0, w.weeks - 12, d.sum())
    # a growth or decline lasts months, not the whole history
    duration = np.where(g, r.integers(20, 80, n), r.integers(12, 52, n))
    slope += np.where(w.csm >= 0, 0.0006 * w.acc_quality, -0.0008)
    drop = np.where(w.traj == 3, r.uniform(0.3, 0.55, n), 0.0)
    left_week = week_of(w, w.sponsor_left)
    minor = np.where((w.sponsor_left < NEVER) & ~w.sponsor_caused_crash, 0.08, 0.0)
    h = np.empty((n, w.weeks), dtype=np.float32)
    e = r.normal(0.0, 0.06, n)
    drift = r.normal(0.0, 0.05, n)
    for k in range(w.weeks):
        e = 0.85 * e + r.normal(0.0, 0.035, n)  # weeks-long noise
        drift = 0.97 * drift + r.normal(0.0, 0.012, n)  # months-long drift nobody observes directly
        trend = (slope * np.clip(k - onset, 0, duration) - drop * (k >= w.crash_week)
                 - minor * (k >= left_week))
        h[:, k] = np.clip(h0 + trend + drift + e, 0.02, 0.98)
    w.h = h


DECISION_WEEKS = 26
"""Weeks of health before a renewal that the customer's decision weighs (linearly, the latest most)."""
CRISIS_WEEKS = 8
"""How long a support crisis lasts: more tickets, most of them escalated."""
CRISIS_MEMORY_WEEKS = 39
"""A crisis this recent weighs on the next renewal decision."""


def _support_crisis(w: World) -> None:
    """Some accounts go through a support crisis (an outage, a broken integration): escalations, then churn."""
    import numpy as np

    r, n = w.rng(9), w.n
    mean_h = w.h.mean(axis=1)
    hit = r.random(n) < 0.10 + 0.35 * (1 - mean_h)
    w.crisis_week = np.where(hit, r.integers(0, max(w.weeks - 4, 1), n), -1)


def in_crisis(w: World) -> Any:
    """(accounts, weeks): True in the weeks of the account's support crisis."""
    import numpy as np

    k = np.arange(w.weeks)[None, :]
    start = w.crisis_week[:, None]
    return (start >= 0) & (k >= start) & (k < start + CRISIS_WEEKS)


def _churn(w: World) -> None:
    import numpy as np

    r, n = w.rng(5), w.n
    rows = np.arange(n)
    w.ann = np.stack([add_months(w.start, 12 * k) for k in range(1, ANNIVERSARIES + 1)], axis=1)
    w.h_at_renewal = np.full((n, ANNIVERSARIES), np.nan)
    churn_day = np.full(n, NEVER, dtype=np.int64)
    cause = np.zeros(n, dtype=np.int8)
    hidden = r.normal(0.0, 0.6, n)
    seg_shift = np.array([-1.0, -0.5, 0.0])[w.seg]
    for k in range(ANNIVERSARIES):
        a = w.ann[:, k]
        wk = week_of(w, a)
        # The decision forms over the half year before the renewal, the latest weeks weighing most.
        h_at = sum((DECISION_WEEKS - o) * w.h[rows, np.maximum(wk - o, 0)].astype(np.float64)
                   for o in range(DECISION_WEEKS)) / (DECISION_WEEKS * (DECISION_WEEKS + 1) / 2)
        w.h_at_renewal[:, k] = h_at
        # renewals up to a year after the as-of date are decided too: those leavers already disengage in
        # the data and some have told us (a lost renewal in the CRM), but they are still customers today
        eligible = (a > w.P0) & (a <= w.A + 366) & (churn_day == NEVER)
        gone = (w.sponsor_left <= a) & (w.sponsor_replaced > a)
        since = wk - w.crisis_week
        crisis = (w.crisis_week >= 0) & (since >= 0) & (since <= CRISIS_MEMORY_WEEKS)
        logit = (-2.8 + seg_shift + 10.0 * (0.55 - h_at) + 0.9 * gone + 1.0 * gone * (h_at < 0.45)
                 + 0.5 * w.slow_payer + 0.4 * (w.csm < 0) + 0.5 * (k == 0) + 1.0 * crisis + hidden)
        by_health = r.random(n) < sigmoid(logit)
        by_chance = r.random(n) < 0.012
        hit = eligible & (by_health | by_chance)
        churn_day[hit] = a[hit]
        cause[hit] = np.where(by_health[hit], C_RENEWAL, C_RANDOM)

    # Mid-term: a small hazard unrelated to health, a larger one once health has collapsed.
    first = np.full(n, -1)
    collapsed = np.zeros(n, dtype=bool)
    for k in range(w.weeks):
        low = w.h[:, k] < 0.18
        hit = (first < 0) & (w.ws[k] > w.start + 60) & (r.random(n) < np.where(low, 0.006, 0.0002))
        first[hit] = k
        collapsed[hit] = low[hit]
    day = np.minimum(w.ws[np.maximum(first, 0)] + r.integers(0, 7, n), w.A)
    mid = (first >= 0) & (day < churn_day)
    churn_day[mid] = day[mid]
    cause[mid] = np.where(collapsed[mid], C_COLLAPSE, C_RANDOM)
    w.churn_day, w.cause = churn_day, cause
    w.churned = churn_day <= w.A
    w.leaving = (churn_day > w.A) & (churn_day < NEVER)

    # Accounts that decided to leave wind down before the date (most do, some leave by surprise).
    winding = ((cause == C_RENEWAL) | (cause == C_COLLAPSE)) & (r.random(n) < 0.8)
    length = r.integers(8, 27, n)  # disengagement shows for two to six months before they go
    churn_week = (churn_day - w.P0) // 7
    w.alive = np.empty((n, w.weeks), dtype=bool)
    for k in range(w.weeks):
        before = churn_week - k
        window = winding & (before >= 0) & (before < length)
        w.h[:, k] *= np.where(window, 0.5 + 0.5 * before / length, 1.0).astype(np.float32)
        w.alive[:, k] = (w.ws[k] >= w.start) & (w.ws[k] < churn_day)


def _contracts(w: World) -> None:
    """ARR, seats and plan as a sequence of dated contract events per account."""
    import numpy as np

    r, n = w.rng(6), w.n
    day = np.full((n, SLOTS), NEVER, dtype=np.int64)
    kind = np.full((n, SLOTS), K_FLAT, dtype=np.int8)
    factor = np.ones((n, SLOTS))
    seat_factor = np.ones((n, SLOTS))
    upgrade = np.zeros((n, SLOTS), dtype=np.int8)
    day[:, 0], kind[:, 0] = w.start, K_START
    for k in range(ANNIVERSARIES):
        a = w.ann[:, k]
        valid = (a <= w.A) & (a < w.churn_day)
        in_period = a > w.P0
        h_at = w.h_at_renewal[:, k]
        p_exp = np.where(in_period, 0.1 + 0.6 * sigmoid(12 * (h_at - 0.66)), 0.2)
        p_con = np.where(in_period, 0.03 + 0.5 * sigmoid(12 * (0.4 - h_at)), 0.08)
        u = r.random(n)
        kk = np.where(u < p_exp, K_EXPAND, np.where(u < p_exp + p_con, K_CONTRACT,
                      np.where(u < p_exp + p_con + 0.25, K_UPLIFT, K_FLAT)))
        f = np.where(kk == K_EXPAND, r.uniform(1.1, 1.4, n),
                     np.where(kk == K_CONTRACT, r.uniform(0.7, 0.9, n),
                              np.where(kk == K_UPLIFT, r.uniform(1.03, 1.07, n), 1.0)))
        j = k + 1
        day[:, j] = np.where(valid, a, NEVER)
        kind[:, j] = kk
        factor[:, j] = f
        seat_factor[:, j] = np.where((kk == K_EXPAND) | (kk == K_CONTRACT), f, 1.0)
        upgrade[:, j] = (kk == K_EXPAND) & (r.random(n) < 0.12)

    pop = np.array([0.35, 0.30, 0.25, 0.15, 0.20])
    plan_mult = np.array([0.3, 0.8, 1.6])[w.plan0]
    w.owned0 = r.random((n, ADDONS)) < np.clip(pop[None, :] * plan_mult[:, None], 0, 0.9)
    priority = np.where(w.owned0, 2.0, r.random((n, ADDONS)))
    addon = priority.argmin(axis=1)
    has_space = priority.min(axis=1) < 2.0

    first_week = np.maximum(week_of(w, w.start + 56), 0)
    last_week = week_of(w, np.minimum(w.A, w.churn_day - 1))
    span = last_week - first_week
    wk = first_week + (r.random(n) * np.maximum(span, 0)).astype(np.int64)
    mid_day = np.minimum(w.ws[wk] + r.integers(0, 5, n), w.A)
    p_mid = 0.4 * sigmoid(10 * (w.h[np.arange(n), wk] - 0.7))
    mid = (span > 0) & (w.start + 56 <= mid_day) & (mid_day < w.churn_day) & (r.random(n) < p_mid)
    cross = mid & has_space & (r.random(n) < 0.45)
    day[:, MID] = np.where(mid, mid_day, NEVER)
    kind[:, MID] = np.where(cross, K_CROSS, K_UPSELL)
    factor[:, MID] = np.where(cross, 1.0, r.uniform(1.1, 1.4, n))
    seat_factor[:, MID] = factor[:, MID]
    w.cross_addon = np.where(cross, addon, -1)
    w.cross_day = np.where(cross, mid_day, NEVER)

    order = np.argsort(day, axis=1, kind="stable")
    day, kind, factor, seat_factor, upgrade = (
        np.take_along_axis(x, order, axis=1) for x in (day, kind, factor, seat_factor, upgrade)
    )
    valid = day < NEVER
    prices = np.array([p[3] for p in V.PRODUCTS[1:]])
    arr = np.zeros((n, SLOTS))
    seats = np.zeros((n, SLOTS), dtype=np.int64)
    plan = np.zeros((n, SLOTS), dtype=np.int8)
    arr[:, 0], seats[:, 0], plan[:, 0] = w.arr0, w.seats0, w.plan0
    discount = r.uniform(0.7, 1.0, n)
    top_plan = np.array([2, 2, 1])[w.seg]  # an smb customer outgrows professional by changing segment
    for j in range(1, SLOTS):
        v = valid[:, j]
        addon_arr = prices[np.maximum(w.cross_addon, 0)] * seats[:, j - 1] * discount
        add = np.where(kind[:, j] == K_CROSS, addon_arr, 0)
        arr[:, j] = np.where(v, np.round(arr[:, j - 1] * factor[:, j] + add, -1), arr[:, j - 1])
        new_seats = np.maximum(1, np.round(seats[:, j - 1] * seat_factor[:, j]))
        seats[:, j] = np.where(v, new_seats, seats[:, j - 1])
        plan[:, j] = np.where(v, np.minimum(top_plan, plan[:, j - 1] + upgrade[:, j]), plan[:, j - 1])
    # Keep current ARR inside the segment's range by rescaling the whole history.
    lo, hi = np.array([60e3, 15e3, 2e3])[w.seg], np.array([400e3, 60e3, 15e3])[w.seg]
    final = arr[:, -1]
    scale = np.clip(final, lo * r.uniform(1.0, 1.15, n), hi * r.uniform(0.85, 1.0, n)) / final
    arr = np.round(arr * scale[:, None], -1)
    seats = np.clip(np.round(seats * scale[:, None]), np.array([200, 50, 5])[w.seg][:, None],
                    np.array([2000, 300, 60])[w.seg][:, None]).astype(np.int64)
    w.ev_day, w.ev_kind, w.ev_valid = day, kind, valid
    w.ev_arr, w.ev_seats, w.ev_plan = arr, seats, plan
    w.arr, w.seats, w.plan = arr[:, -1], seats[:, -1], plan[:, -1]
    upcoming = np.where(w.ann > w.A, w.ann, NEVER).min(axis=1)
    at_churn = np.where(w.ann >= w.churn_day[:, None], w.ann, NEVER).min(axis=1)
    w.renewal = np.where(w.churned, at_churn, upcoming)


def _usage_matrix(w: World) -> None:
    import numpy as np

    r, n = w.rng(7), w.n
    wdate = w.ws.astype("datetime64[D]")
    month = (wdate.astype("datetime64[M]").astype(np.int64) % 12) + 1
    dom = (wdate - wdate.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64)
    season = np.where((month == 12) & (dom >= 20) | (month == 1) & (dom < 3), 0.6,
                      np.where(month == 8, 0.88, 1.0))
    ramp_weeks = 7 * r.uniform(6, 14, n)
    per_user = r.lognormal(0.0, 0.25, n)
    w.active = np.zeros((n, w.weeks), dtype=np.int32)
    w.logins = np.zeros((n, w.weeks), dtype=np.int32)
    for k in range(w.weeks):
        cap = np.minimum(value_at(w, np.full(n, w.ws[k]), w.ev_seats), w.seats)
        ramp = np.clip((w.ws[k] - w.start + 7) / ramp_weeks, 0.15, 1.0)
        h = w.h[:, k].astype(np.float64)
        util = (0.05 + 0.95 * h**1.1) * season[k] * ramp * r.lognormal(0.0, 0.08, n)
        active = np.where(w.alive[:, k], r.binomial(cap, np.clip(util, 0.0, 1.0)), 0)
        w.active[:, k] = active
        w.logins[:, k] = r.poisson(active * (1.2 + 5.0 * h) * per_user)


def _contacts_base(w: World) -> None:
    import numpy as np

    r, n = w.rng(8), w.n
    lo = np.array([8, 4, 2])[w.seg]
    hi = np.array([21, 10, 6])[w.seg]
    base = r.integers(lo, hi)
    extra = (w.sponsor_replaced < NEVER).astype(np.int64)
    total = base + extra
    w.contact_first = np.concatenate([[0], np.cumsum(total)[:-1]])
    w.contact_base, w.contact_total = base, total
    m = int(total.sum())
    acc = np.repeat(np.arange(n), total)
    slot = np.arange(m) - w.contact_first[acc]
    role = np.full(m, 4, dtype=np.int8)
    tail = r.random(m)
    role[slot >= 4] = np.where(tail[slot >= 4] < 0.15, 3, np.where(tail[slot >= 4] < 0.30, 0, 4))
    role[slot == 3] = 3
    role[slot == 2] = 2
    role[slot == 1] = np.where(w.has_sponsor[acc[slot == 1]], 1, 2)
    role[slot == 0] = 0
    replacement = slot == base[acc]
    role[replacement] = 1
    left = np.full(m, NEVER, dtype=np.int64)
    sponsor_slot = (slot == 1) & w.has_sponsor[acc]
    left[sponsor_slot] = w.sponsor_left[acc[sponsor_slot]]
    quits = (slot >= 2) & ~replacement & (r.random(m) < 0.06)
    begin = np.maximum(w.P0, w.start[acc] + 30)
    end = np.minimum(w.A, w.churn_day[acc] - 1)
    quit_day = begin + (r.random(m) * np.maximum(end - begin, 0)).astype(np.int64)
    left[quits] = quit_day[quits]
    left = np.where((left >= w.churn_day[acc]) | (left > w.A), NEVER, left)
    w.c_acc, w.c_role, w.c_left = acc, role, left
