"""Table builders: each turns the hidden world into column arrays plus the SQL that formats them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cs_mcp.demo import vocabulary as V
from cs_mcp.demo.world import (
    ADDONS,
    C_COLLAPSE,
    C_RENEWAL,
    K_CONTRACT,
    K_CROSS,
    K_EXPAND,
    K_FLAT,
    K_UPSELL,
    NEVER,
    SLOTS,
    World,
    add_months,
    events,
    in_crisis,
    pick,
    value_at,
    week_of,
)

if TYPE_CHECKING:
    import numpy as np

Built = tuple[dict[str, Any], list[tuple[str, str]]]
"""Column arrays to register in DuckDB, and (canonical column, SQL expression) pairs in schema order."""


def _sql_list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _label(values: tuple[str, ...] | list[str], col: str) -> str:
    return f"{_sql_list(values)}[NULLIF({col}, -1) + 1]"


def _ident(prefix: str, col: str, width: int) -> str:
    return f"printf('{prefix}%0{width}d', NULLIF({col}, -1) + 1)"


def _date(col: str) -> str:
    return f"DATE '1970-01-01' + CAST(NULLIF({col}, -1) AS INTEGER)"


def _timestamp(col: str) -> str:
    return f"make_timestamp(NULLIF({col}, -1) * 1000000)"


def _width(count: int) -> int:
    return max(5, len(str(max(count, 1))))


def _accounts_table(w: World) -> Built:
    import numpy as np

    data = {
        "i": np.arange(w.n, dtype=np.int64), "name": w.names, "seg": w.seg, "industry": w.industry,
        "region": w.region, "csm": w.csm, "plan": w.plan, "arr": w.arr, "seats": w.seats,
        "start": w.start, "renewal": np.where(w.renewal < NEVER, w.renewal, -1),
        "churned": w.churned, "churn_day": np.where(w.churned, w.churn_day, -1), "employees": w.employees,
    }
    exprs = [
        ("account_id", _ident("A-", "i", w.id_width)),
        ("name", "name"),
        ("segment", _label(V.SEGMENTS, "seg")),
        ("industry", _label(V.INDUSTRIES, "industry")),
        ("region", _label(V.REGIONS, "region")),
        ("csm_id", _ident("CSM-", "csm", w.csm_width)),
        ("plan", _label(V.PLANS, "plan")),
        ("arr", "CAST(arr AS DOUBLE)"),
        ("seats_purchased", "CAST(seats AS BIGINT)"),
        ("contract_start", _date("start")),
        ("renewal_date", _date("renewal")),
        ("status", "CASE WHEN churned THEN 'churned' ELSE 'active' END"),
        ("churned_on", _date("churn_day")),
        ("employees", "CAST(NULLIF(employees, -1) AS BIGINT)"),
    ]
    return data, exprs


def _csms_table(w: World) -> Built:
    import numpy as np

    k = len(w.csm_team)
    r = w.rng(20)
    data = {
        "i": np.arange(k, dtype=np.int64), "team": w.csm_team, "capacity": w.csm_capacity,
        "fn": r.integers(0, len(V.FIRST_NAMES), k), "ln": r.integers(0, len(V.LAST_NAMES), k),
    }
    exprs = [
        ("csm_id", _ident("CSM-", "i", w.csm_width)),
        ("name", f"{_label(V.FIRST_NAMES, 'fn')} || ' ' || {_label(V.LAST_NAMES, 'ln')}"),
        ("team", _label(V.CSM_TEAMS, "team")),
        ("capacity", "CAST(capacity AS BIGINT)"),
    ]
    return data, exprs


def _products_table(w: World) -> Built:
    import numpy as np

    data = {
        "id": np.array([p[0] for p in V.PRODUCTS], dtype=object),
        "name": np.array([p[1] for p in V.PRODUCTS], dtype=object),
        "category": np.array([p[2] for p in V.PRODUCTS], dtype=object),
        "price": np.array([p[3] for p in V.PRODUCTS]),
    }
    exprs = [("product_id", "id"), ("name", "name"), ("category", "category"), ("list_price", "price")]
    return data, exprs


def _subscriptions_table(w: World) -> Built:
    import numpy as np

    changed = w.ev_valid & (w.ev_kind != K_FLAT)
    end = np.empty_like(w.ev_day)
    nxt = np.where(w.churned, w.churn_day, -1)
    for j in range(SLOTS - 1, -1, -1):
        end[:, j] = nxt
        nxt = np.where(changed[:, j], w.ev_day[:, j], nxt)
    seq = np.cumsum(changed, axis=1) - 1
    acc, j = np.nonzero(changed)
    data = {
        "acc": acc.astype(np.int64), "seq": seq[acc, j] + 1, "start": w.ev_day[acc, j],
        "end_day": end[acc, j], "arr": w.ev_arr[acc, j], "plan": w.ev_plan[acc, j],
        "seats": w.ev_seats[acc, j],
    }
    exprs = [
        ("subscription_id", f"printf('S-%0{w.id_width}d-%d', acc + 1, seq)"),
        ("account_id", _ident("A-", "acc", w.id_width)),
        ("start_date", _date("start")),
        ("end_date", _date("end_day")),
        ("arr", "CAST(arr AS DOUBLE)"),
        ("plan", _label(V.PLANS, "plan")),
        ("product_id", f"'{V.PRODUCTS[0][0]}'"),
        ("seats", "CAST(seats AS BIGINT)"),
    ]
    return data, exprs


def _entitlements_table(w: World) -> Built:
    import numpy as np

    n = w.n
    r = w.rng(21)
    owned = np.zeros((n, len(V.PRODUCTS)), dtype=bool)
    owned[:, 0] = True
    owned[:, 1:] = w.owned0
    start = np.repeat(w.start[:, None], len(V.PRODUCTS), axis=1)
    crossed = w.cross_addon >= 0
    owned[crossed, w.cross_addon[crossed] + 1] = True
    start[crossed, w.cross_addon[crossed] + 1] = w.cross_day[crossed]
    seat_share = np.ones((n, len(V.PRODUCTS)))
    seat_share[:, 1] = r.uniform(0.2, 0.8, n)
    seat_share[:, 5] = r.uniform(0.2, 0.8, n)
    seats = np.round(w.seats[:, None] * seat_share).astype(np.int64)
    per_seat = np.array([True, True, False, False, True, False])
    seats = np.where(per_seat[None, :], np.maximum(seats, 1), -1)
    acc, p = np.nonzero(owned)
    data = {
        "acc": acc.astype(np.int64), "product": p.astype(np.int8), "start": start[acc, p],
        "end_day": np.where(w.churned, w.churn_day, -1)[acc], "seats": seats[acc, p],
    }
    exprs = [
        ("account_id", _ident("A-", "acc", w.id_width)),
        ("product_id", _label([x[0] for x in V.PRODUCTS], "product")),
        ("start_date", _date("start")),
        ("end_date", _date("end_day")),
        ("seats", "CAST(NULLIF(seats, -1) AS BIGINT)"),
    ]
    return data, exprs


def _usage_table(w: World) -> Built:
    import numpy as np

    mask = w.alive & ~w.no_usage[:, None]
    idx = np.flatnonzero(mask)
    data = {
        "acc": (idx // w.weeks).astype(np.int32), "day": w.ws[idx % w.weeks].astype(np.int32),
        "active": w.active.ravel()[idx], "logins": w.logins.ravel()[idx],
    }
    exprs = [
        ("account_id", _ident("A-", "acc", w.id_width)),
        ("date", _date("day")),
        ("active_users", "CAST(active AS BIGINT)"),
        ("logins", "CAST(logins AS BIGINT)"),
    ]
    return data, exprs


def _feature_usage_table(w: World) -> Built:
    import numpy as np

    r, nf = w.rng(22), len(V.FEATURES)
    adopt_u = r.random((w.n, nf))
    parts = [_feature_usage_chunk(w, r, adopt_u, lo, min(lo + 20_000, w.n)) for lo in range(0, w.n, 20_000)]
    data = {key: np.concatenate([p[key] for p in parts]) for key in ("acc", "day", "feature", "users")}
    exprs = [
        ("account_id", _ident("A-", "acc", w.id_width)),
        ("date", _date("day")),
        ("feature", _label(V.FEATURES, "feature")),
        ("users", "CAST(users AS BIGINT)"),
    ]
    return data, exprs


def _feature_usage_chunk(w: World, r: np.random.Generator, adopt_u: Any, lo: int, hi: int) -> dict[str, Any]:
    """Monthly users per adopted feature for accounts lo..hi-1, in (account, month, feature name) order."""
    import numpy as np

    n, nf = hi - lo, len(V.FEATURES)
    alive = w.alive[lo:hi]
    h_m = np.zeros((n, w.months))
    act_m = np.zeros((n, w.months))
    alive_m = np.zeros((n, w.months), dtype=bool)
    for m in range(w.months):
        cols = np.flatnonzero(w.week_month == m)
        if len(cols) == 0:
            continue
        weeks_alive = alive[:, cols].sum(axis=1)
        alive_m[:, m] = weeks_alive > 0
        denom = np.maximum(weeks_alive, 1)
        h_m[:, m] = (w.h[lo:hi, cols] * alive[:, cols]).sum(axis=1) / denom
        act_m[:, m] = w.active[lo:hi, cols].sum(axis=1) / denom
    alive_m &= ~w.no_usage[lo:hi, None]
    popularity = np.array([0.97, 0.85, 0.70, 0.55, 0.35, 0.50, 0.40, 0.30, 0.25, 0.20])
    share = np.array([0.90, 0.60, 0.45, 0.30, 0.10, 0.35, 0.30, 0.85, 0.20, 0.25])
    plan_gate = np.ones((3, nf))
    plan_gate[0, 7:9] = 0.15  # sso and advanced analytics are mostly professional+ features
    plan_gate[2, 7:9] = 1.8
    tenure_months = np.clip((w.ms[None, :] - w.start[lo:hi, None]) / 30.4 + 1, 0, None)
    ramp = np.clip(tenure_months / 4.0, 0.2, 1.0)
    base_users = np.round(act_m).astype(np.int64)
    users = np.zeros((n, w.months, nf), dtype=np.int16)
    for f in range(nf):
        threshold = popularity[f] * (0.35 + h_m) * plan_gate[w.plan[lo:hi], f][:, None] * ramp
        adopted = (adopt_u[lo:hi, f][:, None] < threshold) & alive_m & (r.random((n, w.months)) > 0.04)
        p = np.clip(share[f] * (0.5 + 0.6 * h_m), 0.0, 1.0)
        users[:, :, f] = np.where(adopted, r.binomial(base_users, p), 0)
    # rows in key order (account, month, feature name), as a warehouse export would list them
    by_name = np.argsort(np.array(V.FEATURES, dtype=object)).astype(np.int8)
    users = users[:, :, by_name]
    idx = np.flatnonzero(users)
    rest = idx % (w.months * nf)
    return {
        "acc": (lo + idx // (w.months * nf)).astype(np.int32), "day": w.ms[rest // nf].astype(np.int32),
        "feature": by_name[rest % nf], "users": users.ravel()[idx],
    }


def _tickets_table(w: World) -> Built:
    import numpy as np

    r = w.rng(23)
    base = np.array([0.45, 0.18, 0.06])[w.seg]
    crisis = in_crisis(w)
    rate = base[:, None] * (0.5 + 2.0 * (1.0 - w.h) ** 2) * (1 + 2.0 * crisis) * w.alive
    acc, t = events(r, rate)
    k = len(acc)
    day = w.ws[t] + r.integers(0, 5, k)
    keep = (day <= w.A) & (day < w.churn_day[acc])
    acc, t, day = acc[keep], t[keep], day[keep]
    k = len(acc)
    hh = w.h[acc, t].astype(np.float64)
    opened = day * 86400 + r.integers(8 * 3600, 18 * 3600, k)
    p_crit = 0.02 + 0.15 * (1 - hh) ** 2.5
    p_high = 0.10 + 0.15 * (1 - hh)
    priority = pick(r, np.stack([1 - p_crit - p_high - 0.45, np.full(k, 0.45), p_high, p_crit], axis=1))

    weights = np.tile(np.array([0.20, 0.30, 0.10, 0.08, 0.12, 0.12, 0.08]), (k, 1))
    theme_boost = {0: (2, 3.0), 1: (3, 2.5), 4: (0, 2.5), 3: (5, 2.5), 5: (1, 2.0)}
    pain = w.pain[acc]
    for theme, (cat, boost) in theme_boost.items():
        weights[pain == theme, cat] *= boost
    weights[:, 0] *= 1 + 1.5 * (1 - hh)
    weights[:, 2] *= 1 + 1.5 * (1 - hh)
    category = pick(r, weights)

    median_h = np.array([72.0, 40.0, 20.0, 6.0])[priority]
    hours = median_h * r.lognormal(0.0, 0.9, k) * (1 + 1.2 * (1 - hh)) * np.where(pain == 2, 1.8, 1.0)
    stuck = (priority == 3) & (r.random(k) < 0.12 + 0.5 * (hh < 0.4))
    hours = np.where(stuck, r.uniform(48, 1000, k), hours)
    # escalated: urgent tickets, more of them where health is low or a fix drags on; escalation means the
    # fix is hard, so an escalated ticket takes longer than its priority alone would
    p_esc = (0.01 + 0.30 * (priority == 3) + 0.07 * (priority == 2) + 0.05 * (1 - hh) ** 2
             + 0.05 * (hours > 240) + 0.40 * crisis[acc, t])
    escalated = r.random(k) < p_esc
    hours = np.where(escalated, hours * r.uniform(1.8, 3.5, k) + 24, hours)
    closed = opened + (hours * 3600).astype(np.int64)
    churn_close = w.churn_day[acc] * 86400 + 17 * 3600
    closed = np.where(closed > churn_close, churn_close, closed)
    closed = np.where(closed > w.A * 86400 + 86399, -1, closed)
    csat_mean = 2.8 + 2.6 * hh - 0.35 * np.log10(np.clip(hours / 24, 0.1, 100)) - 0.4 * escalated
    csat = np.clip(np.round(r.normal(csat_mean, 0.8)), 1, 5).astype(np.int8)
    csat = np.where((closed >= 0) & (r.random(k) < 0.45), csat, -1)
    data = {
        "i": np.arange(k, dtype=np.int64), "acc": acc.astype(np.int32), "opened": opened, "closed": closed,
        "priority": priority, "category": category, "csat": csat, "escalated": escalated,
    }
    exprs = [
        ("ticket_id", _ident("T-", "i", _width(k))),
        ("account_id", _ident("A-", "acc", w.id_width)),
        ("opened_at", _timestamp("opened")),
        ("closed_at", _timestamp("closed")),
        ("priority", _label(V.PRIORITIES, "priority")),
        ("category", _label(V.TICKET_CATEGORIES, "category")),
        ("csat", "CAST(NULLIF(csat, -1) AS BIGINT)"),
        ("escalated", "escalated"),
    ]
    return data, exprs


def _comment_catalogue() -> tuple[list[str], int, int]:
    """All comments in one list: negative by pain theme, then positive, then passive."""
    comments: list[str] = []
    for theme in V.PAIN_THEMES:
        comments += V.NEGATIVE_COMMENTS[theme]
    pos_at = len(comments)
    for theme in V.PRAISE_THEMES:
        comments += V.POSITIVE_COMMENTS[theme]
    passive_at = len(comments)
    for theme in V.PAIN_THEMES:
        comments += V.PASSIVE_COMMENTS[theme]
    return comments, pos_at, passive_at


def _nps_table(w: World) -> Built:
    import numpy as np

    r = w.rng(24)
    rate = (w.contact_base * 0.012)[:, None] * w.alive
    acc, t = events(r, rate)
    k = len(acc)
    day = np.minimum(w.ws[t] + r.integers(0, 7, k), w.A)
    keep = day < w.churn_day[acc]
    acc, t, day = acc[keep], t[keep], day[keep]
    k = len(acc)
    contact = w.contact_first[acc] + (r.random(k) * w.contact_base[acc]).astype(np.int64)
    contact = np.where(w.c_left[contact] <= day, w.contact_first[acc], contact)
    hh = w.h[acc, t].astype(np.float64)
    score = np.clip(np.round(r.normal(3.0 + 9.0 * hh, 1.6)), 0, 10).astype(np.int8)

    comments, pos_at, passive_at = _comment_catalogue()
    detractor, promoter = score <= 6, score >= 9
    n_pain, n_praise = len(V.PAIN_THEMES), len(V.PRAISE_THEMES)
    pain = np.where(r.random(k) < 0.65, w.pain[acc], r.integers(0, n_pain, k))
    praise = np.where(r.random(k) < 0.5, w.praise[acc], r.integers(0, n_praise, k))
    passive_theme = np.where(r.random(k) < 0.5, w.pain[acc], r.integers(0, n_pain, k))
    code = np.where(detractor, pain * 4 + r.integers(0, 4, k),
                    np.where(promoter, pos_at + praise * 4 + r.integers(0, 4, k),
                             passive_at + passive_theme * 2 + r.integers(0, 2, k)))
    p_comment = np.where(detractor, 0.75, np.where(promoter, 0.6, 0.5))
    code = np.where(r.random(k) < p_comment, code, -1)
    # The survey's satisfaction question (1-5), asked on some surveys; a stream of its own keeps the rest stable.
    rc = w.rng(29)
    csat = np.clip(np.round(rc.normal(1.6 + 4.0 * hh, 0.8)), 1, 5).astype(np.int8)
    csat = np.where(rc.random(k) < 0.6, csat, -1).astype(np.int8)
    order = np.lexsort((day, acc))
    data = {
        "i": np.arange(k, dtype=np.int64), "acc": acc[order].astype(np.int32),
        "day": day[order].astype(np.int32), "score": score[order], "contact": contact[order],
        "comment": code[order].astype(np.int16), "csat": csat[order],
    }
    exprs = [
        ("response_id", _ident("R-", "i", _width(k))),
        ("account_id", _ident("A-", "acc", w.id_width)),
        ("responded_at", _date("day")),
        ("score", "CAST(score AS BIGINT)"),
        ("csat", "CAST(NULLIF(csat, -1) AS BIGINT)"),
        ("contact_id", _ident("C-", "contact", _width(len(w.c_acc)))),
        ("comment", _label(comments, "comment")),
    ]
    return data, exprs


def _touchpoints_table(w: World) -> Built:
    import numpy as np

    r, n = w.rng(25), w.n
    assigned = w.csm >= 0
    coverage = np.exp(0.2 * w.acc_quality) * np.minimum(1.0, 1.0 / w.acc_load) ** 0.8
    csm_factor = np.where(assigned, coverage, 0.25)
    rate = (np.array([0.8, 0.45, 0.09])[w.seg] * csm_factor)[:, None] * (1 + 0.4 * (w.h < 0.4)) * w.alive
    acc, t = events(r, rate)
    mix = np.array([[0.28, 0.42, 0.20, 0.06, 0.04], [0.30, 0.45, 0.15, 0.06, 0.04],
                    [0.22, 0.60, 0.08, 0.06, 0.04]])
    kind = pick(r, mix[w.seg[acc]])
    kind = np.where(assigned[acc], kind, 1)

    weeks = np.arange(w.weeks)[None, :]
    phase_q, phase_e = r.integers(0, 13, n), r.integers(0, 26, n)
    held = np.minimum(1.0, 1.0 / w.acc_load) * np.array([0.9, 0.75, 0.0])[w.seg]
    qbr = (assigned & (w.seg < 2))[:, None] & ((weeks - phase_q[:, None]) % 13 == 0) & w.alive
    qbr &= r.random((n, w.weeks)) < held[:, None]
    ebr = (assigned & (w.seg == 0))[:, None] & ((weeks - phase_e[:, None]) % 26 == 0) & w.alive
    qa, qt = np.nonzero(qbr)
    ea, et = np.nonzero(ebr)
    acc = np.concatenate([acc, qa, ea])
    t = np.concatenate([t, qt, et])
    kind = np.concatenate([kind, np.full(len(qa), 5, np.int8), np.full(len(ea), 6, np.int8)])
    k = len(acc)
    day = w.ws[t] + r.integers(0, 5, k)
    keep = (day <= w.A) & (day < w.churn_day[acc])
    acc, t, kind, day = acc[keep], t[keep], kind[keep], day[keep]
    k = len(acc)
    hh = w.h[acc, t].astype(np.float64)
    quality = np.where(assigned[acc], w.acc_quality[acc], 0.0)
    outreach = kind <= 1
    p_ok = np.where(outreach, 0.2 + 0.7 * hh + 0.04 * quality, 0.6 + 0.38 * hh)
    ok = r.random(k) < np.clip(p_ok, 0.03, 0.97)
    outcome = np.where(outreach, np.where(ok, 0, 1), np.where(ok, 2, 3)).astype(np.int8)
    order = np.lexsort((day, acc))
    type_names = V.TOUCH_TYPES
    data = {
        "i": np.arange(k, dtype=np.int64), "acc": acc[order].astype(np.int32),
        "day": day[order].astype(np.int32), "kind": kind[order], "csm": w.csm[acc[order]],
        "outcome": outcome[order],
    }
    exprs = [
        ("touchpoint_id", _ident("TP-", "i", _width(k))),
        ("account_id", _ident("A-", "acc", w.id_width)),
        ("date", _date("day")),
        ("type", _label(type_names, "kind")),
        ("csm_id", _ident("CSM-", "csm", w.csm_width)),
        ("outcome", _label(V.OUTCOMES, "outcome")),
    ]
    return data, exprs


def _contacts_table(w: World) -> Built:
    import numpy as np

    r = w.rng(26)
    m = len(w.c_acc)
    role = w.c_role
    dept_by_role = np.array([
        [0.0, 0.25, 0.2, 0.15, 0.05, 0.1, 0.1, 0.1, 0.03, 0.02],   # champion
        [1.0, 0, 0, 0, 0, 0, 0, 0, 0, 0],                          # executive_sponsor
        [0.3, 0.2, 0.15, 0.05, 0.2, 0.0, 0.0, 0.0, 0.0, 0.1],      # decision_maker
        [0.0, 0.2, 0.6, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],        # admin
        [0.0, 0.2, 0.1, 0.15, 0.1, 0.15, 0.1, 0.15, 0.05, 0.0],    # user
    ])
    data = {
        "i": np.arange(m, dtype=np.int64), "acc": w.c_acc.astype(np.int32),
        "fn": r.integers(0, len(V.FIRST_NAMES), m).astype(np.int16),
        "ln": r.integers(0, len(V.LAST_NAMES), m).astype(np.int16),
        "role": role, "dept": pick(r, dept_by_role[role]), "active": w.c_left == NEVER,
        "left_day": np.where(w.c_left < NEVER, w.c_left, -1),
    }
    exprs = [
        ("contact_id", _ident("C-", "i", _width(m))),
        ("account_id", _ident("A-", "acc", w.id_width)),
        ("name", f"{_label(V.FIRST_NAMES, 'fn')} || ' ' || {_label(V.LAST_NAMES, 'ln')}"),
        ("role", _label(V.CONTACT_ROLES, "role")),
        ("department", _label(V.DEPARTMENTS, "dept")),
        ("active", "active"),
        ("left_on", _date("left_day")),
    ]
    return data, exprs


def _invoices_table(w: World) -> Built:
    import numpy as np

    r, n = w.rng(27), w.n
    back = 8
    step = np.where(w.annual, 12, 3)
    a64 = np.datetime64(w.A, "D")
    s64 = w.start.astype("datetime64[D]")
    a_month = a64.astype("datetime64[M]").astype(np.int64)
    s_month = s64.astype("datetime64[M]").astype(np.int64)
    a_dom = (a64 - a64.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64)
    s_dom = (s64 - s64.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64)
    elapsed = a_month - s_month - (a_dom < s_dom)
    last = elapsed // step
    j = np.arange(back - 1, -1, -1)[None, :]
    kth = last[:, None] - j
    bill = add_months(np.repeat(w.start[:, None], back, axis=1), np.maximum(kth, 0) * step[:, None])
    valid = (kth >= 0) & (bill >= w.P0 - 30) & (bill < w.churn_day[:, None]) & (bill <= w.A)
    due = bill + 30
    amount = np.round(value_at(w, bill, w.ev_arr) / np.where(w.annual, 1, 4)[:, None], 2)
    hh = w.h[np.arange(n)[:, None], week_of(w, np.minimum(due, w.A))].astype(np.float64)
    p_late = 0.05 + 0.45 * (1 - hh) ** 2 + 0.35 * w.slow_payer[:, None]
    late = r.random((n, back)) < p_late
    delay = np.where(late, 1 + r.exponential(8 + 25 * (1 - hh)), -r.integers(0, 12, (n, back)))
    paid = due + np.round(delay).astype(np.int64)
    leaving = (w.cause == C_RENEWAL) | (w.cause == C_COLLAPSE)
    last_bill = valid & ~np.concatenate([valid[:, 1:], np.zeros((n, 1), bool)], axis=1)
    stiffed = last_bill & leaving[:, None] & (r.random((n, back)) < 0.3)
    paid = np.where((paid > w.A) | stiffed, -1, paid)
    acc, col = np.nonzero(valid)
    k = len(acc)
    data = {
        "i": np.arange(k, dtype=np.int64), "acc": acc.astype(np.int32),
        "due": due[acc, col], "paid": paid[acc, col], "amount": amount[acc, col],
    }
    exprs = [
        ("invoice_id", _ident("INV-", "i", _width(k))),
        ("account_id", _ident("A-", "acc", w.id_width)),
        ("due_on", _date("due")),
        ("paid_on", _date("paid")),
        ("amount", "CAST(amount AS DOUBLE)"),
    ]
    return data, exprs


def _opportunities_table(w: World) -> Built:
    import numpy as np

    r, n = w.rng(28), w.n
    parts: list[tuple[Any, ...]] = []  # (acc, type, amount, state 0 open / 1 won / 2 lost, close_day, product)

    def add(mask: Any, type_: int, amount: Any, stage: int, close: Any, product: Any = 0) -> None:
        idx = np.flatnonzero(mask)

        def take(x: Any) -> Any:
            return np.broadcast_to(x, (n,))[idx]

        parts.append((idx, np.full(len(idx), type_), take(amount), np.full(len(idx), stage), take(close),
                      take(np.asarray(product))))

    in_period = w.ev_valid & (w.ev_day > w.P0)
    prev_arr = np.concatenate([w.ev_arr[:, :1], w.ev_arr[:, :-1]], axis=1)
    for j in range(1, SLOTS):
        kind, arr, before, day = w.ev_kind[:, j], w.ev_arr[:, j], prev_arr[:, j], w.ev_day[:, j]
        renewal = in_period[:, j] & (kind <= K_CONTRACT)
        add(renewal, 0, arr, 1, day)
        add(in_period[:, j] & ((kind == K_EXPAND) | (kind == K_UPSELL)), 1, arr - before, 1, day)
        add(in_period[:, j] & (kind == K_CROSS), 2, arr - before, 1, day, np.maximum(w.cross_addon, 0) + 1)
        add(in_period[:, j] & (kind == K_CONTRACT), 3, before - arr, 1, day)
    add(w.churned, 0, w.arr, 2, w.churn_day)

    active = ~w.churned
    h_now = w.h[:, -4:].mean(axis=1)
    recent_active = w.active[:, -4:].mean(axis=1)
    util = recent_active / np.maximum(w.seats, 1)
    soon = active & (w.renewal <= w.A + 120)
    # some customers who will not renew have said so: the renewal is lost in the CRM before its date
    notice_day = w.renewal - r.integers(20, 90, n)
    noticed = soon & w.leaving & (notice_day <= w.A) & (r.random(n) < 0.4)
    add(noticed, 0, w.arr, 2, notice_day)
    add(soon & ~noticed, 0, w.arr, 0, w.renewal)
    add(soon & (h_now < 0.35) & (r.random(n) < 0.3), 3, np.round(w.arr * r.uniform(0.1, 0.3, n), -1), 0,
        w.renewal)
    upsell = active & (util > 0.8) & (h_now > 0.6) & (r.random(n) < 0.5)
    add(upsell, 1, np.round(w.arr * r.uniform(0.1, 0.35, n), -1), 0, w.A + r.integers(20, 150, n))
    owned = w.owned0.copy()
    crossed = w.cross_addon >= 0
    owned[crossed, w.cross_addon[crossed]] = True
    preference = np.where(owned, 2.0, r.random((n, ADDONS)))
    product = preference.argmin(axis=1)
    space = preference.min(axis=1) < 2.0
    prices = np.array([p[3] for p in V.PRODUCTS[1:]])
    cross_amount = np.round(prices[product] * w.seats * r.uniform(0.7, 1.0, n), -1)
    add(active & space & (h_now > 0.65) & (r.random(n) < 0.15), 2, cross_amount, 0,
        w.A + r.integers(20, 150, n), product + 1)
    begin = np.maximum(w.P0, w.start)
    lost_day = begin + (r.random(n) * (np.minimum(w.A, w.churn_day) - begin)).astype(np.int64)
    add((r.random(n) < 0.05) & (lost_day < np.minimum(w.A, w.churn_day)), 1,
        np.round(w.arr * r.uniform(0.1, 0.3, n), -1), 2, lost_day)

    acc, type_, amount, state, close, prod = (np.concatenate(c) for c in zip(*parts, strict=True))
    # open deals move through the stages as the close date nears (a few lag behind); closed ones are won or lost
    days_left = close - w.A - np.where(r.random(len(close)) < 0.2, 45, 0)
    open_stage = np.where(days_left <= 30, 2, np.where(days_left <= 90, 1, 0))
    stage = np.where(state == 1, V.S_WON, np.where(state == 2, V.S_LOST, open_stage))
    order = np.lexsort((type_, close, acc))
    k = len(acc)
    data = {
        "i": np.arange(k, dtype=np.int64), "acc": acc[order].astype(np.int32),
        "otype": type_[order].astype(np.int8), "amount": np.round(amount[order].astype(np.float64), 2),
        "stage": stage[order].astype(np.int8), "close_day": close[order].astype(np.int64),
        "product": prod[order].astype(np.int8),
    }
    exprs = [
        ("opportunity_id", _ident("O-", "i", _width(k))),
        ("account_id", _ident("A-", "acc", w.id_width)),
        ("type", _label(V.OPPORTUNITY_TYPES, "otype")),
        ("amount", "CAST(amount AS DOUBLE)"),
        ("stage", _label(V.STAGES, "stage")),
        ("close_date", _date("close_day")),
        ("product_id", _label([p[0] for p in V.PRODUCTS], "product")),
    ]
    return data, exprs


BUILDERS = {
    "accounts": _accounts_table, "csms": _csms_table, "products": _products_table,
    "subscriptions": _subscriptions_table, "entitlements": _entitlements_table,
    "usage": _usage_table, "feature_usage": _feature_usage_table, "tickets": _tickets_table,
    "nps": _nps_table, "touchpoints": _touchpoints_table, "contacts": _contacts_table,
    "invoices": _invoices_table, "opportunities": _opportunities_table,
}
"""One builder per canonical table, in the order the files are written."""
