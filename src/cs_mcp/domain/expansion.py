"""Expansion opportunities: seat upsell, cross-sell and tier-upgrade candidates with propensity and value.

Propensity (0-100, config `expansion`) = sum(weight x component) / sum(weights of components with data):
  health      the health score
  adoption    seat utilization, feature adoption
  growth      ARR growth over 12 months, active-user growth over `user_growth_days`
  engagement  share of CSM outreach answered, share of meetings held, days since the last touch
  budget      payment status (days the oldest invoice is overdue), headroom (seats purchased / employees),
              won upsell / cross-sell opportunities in the last `prior_expansion_days`
Each non-health component = 100 x the points-weighted mean of curve(metric) over its metrics with data.
Candidates among active accounts (red health left out by default, `exclude_red_health`):
  seat_upsell   utilization > `seat_upsell_utilization`; potential = seats needed to bring utilization to
                `seat_target_utilization` x ARR per seat (ARR / seats purchased)
  cross_sell    the whitespace product (catalogue minus active entitlements) owned by the largest share of
                the account's segment, at least `cross_sell_min_peer_share`; potential = list price x seats
                purchased, or `cross_sell_default_share` x ARR without a price or a seat count
  tier_upgrade  plan below the top of `plan_order` and feature adoption >= `tier_upgrade_min_adoption`;
                potential = `tier_upgrade_uplift` x ARR
An account can hold several candidates (one per type); `best_per_account` counts only its best (highest expected
value), and each candidate names the rank of its account's best (`best_rank`).
Held back: accounts whose renewal plan holds expansion (cs_mcp.domain.renewal.expansion_hold, renewal-strategy's
rule: an at-risk renewal, or red health with a renewal) are counted in `held_back` and left out unless
include_held (by default: include_red); when listed, `held` gives the reason.
Expected value = propensity / 100 x potential. An open upsell opportunity in the CRM covers the account's seat
upsell and tier upgrade, an open cross-sell covers its cross-sell (the same product, or any when the
opportunity names none): such candidates are flagged and kept out of the `expected_arr_not_in_crm` totals.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from cs_mcp.domain.errors import InvalidArgument
from cs_mcp.domain.formatting import money, pct
from cs_mcp.domain.paging import Page, decode_cursor, encode_cursor
from cs_mcp.workspace.queries import expansion as expansion_queries

if TYPE_CHECKING:
    import numpy as np

    from cs_mcp.config import ExpansionSettings
    from cs_mcp.workspace.loader import Workspace

OpportunityType = Literal["seat_upsell", "cross_sell", "tier_upgrade"]
TYPES: tuple[str, ...] = ("seat_upsell", "cross_sell", "tier_upgrade")
COMPONENT_LABELS = {
    "seat_utilization": "seat utilization",
    "feature_adoption": "feature adoption",
    "arr_growth_12m": "ARR growth 12m",
    "active_user_growth": "active-user growth",
    "outreach_response_rate": "outreach answered",
    "meeting_attendance_rate": "meetings held",
    "days_since_last_touch": "days since last touch",
    "days_overdue": "payment status",
    "seat_penetration": "seats / employees headroom",
    "prior_expansions": "won expansions",
}
METRIC_TABLES = {
    "seat_utilization": "usage",
    "active_user_growth": "usage",
    "feature_adoption": "feature_usage",
    "arr_growth_12m": "subscriptions",
    "outreach_response_rate": "touchpoints",
    "meeting_attendance_rate": "touchpoints",
    "days_since_last_touch": "touchpoints",
    "days_overdue": "invoices",
    "prior_expansions": "opportunities",
}


# ------------------------------------------------------------------------- models


class Candidate(BaseModel):
    rank: int
    account_id: str
    name: str
    segment: str | None
    csm_id: str | None
    plan: str | None
    type: OpportunityType
    product_id: str | None = Field(None, description="cross-sell: the whitespace product")
    product_name: str | None = None
    target_plan: str | None = Field(None, description="tier upgrade: the next plan")
    extra_seats: int | None = Field(None, description="seat upsell: seats to add")
    propensity: float = Field(description="0-100")
    components: dict[str, float | None] = Field(description="health, adoption, growth, engagement, budget (0-100)")
    potential_arr: float
    expected_value: float = Field(description="propensity / 100 x potential ARR")
    evidence: list[str]
    arr: float
    health_score: float | None
    health_band: str
    days_to_renewal: int | None
    in_crm: bool = Field(description="an open CRM opportunity already covers it (not in the new totals)")
    crm_opportunities: list[str] = Field(description="the open opportunities that cover it")
    best_rank: int = Field(
        description="rank of the account's best candidate (this one's rank when it is the best): best_per_account "
        "counts only that one"
    )
    held: str | None = Field(
        None, description="why the renewal plan holds this expansion back (renewal-strategy's rule); listed only "
        "with include_red"
    )


class TypeTotal(BaseModel):
    type: OpportunityType
    candidates: int
    potential_arr: float
    expected_arr: float
    in_crm: int = Field(description="candidates already covered by an open CRM opportunity")
    expected_arr_not_in_crm: float


class BestPerAccount(BaseModel):
    accounts: int
    potential_arr: float
    expected_arr: float = Field(description="one motion per account (its highest expected value): no double count")


class ExpansionOpportunities(Page):
    as_of: dt.date
    filters: dict[str, str | float]
    propensity_rule: str
    candidates: list[Candidate] = Field(description="highest expected value first")
    totals_by_type: list[TypeTotal]
    best_per_account: BestPerAccount
    accounts_considered: int = Field(
        description="active accounts after filters, the red-health and churn-tier exclusions and the holds"
    )
    excluded_red: int = Field(description="accounts left out for red health")
    held_back: int = Field(
        0, description="accounts left out because their renewal plan holds expansion (an at-risk renewal: "
        "renewal-strategy's rule); include_red lists them marked held"
    )
    tables_used: list[str]
    not_computed: list[str]
    note: str | None = None


# ------------------------------------------------------------------------ inputs


def _extras(ws: Workspace, ids: np.ndarray) -> dict[str, np.ndarray]:
    """Per-account inputs the feature frame lacks: active-user growth, seat penetration, won expansions."""
    import numpy as np

    cfg = ws.settings.expansion
    raw = expansion_queries.account_extras(
        ws, ws.as_of, ws.settings.health.windows.usage_days, cfg.user_growth_days, cfg.prior_expansion_days,
        ws.settings.renewal.probability.won_stages,
    )
    pos = {a: i for i, a in enumerate(raw["account_id"])}
    take = np.array([pos[a] for a in ids], dtype=np.int64)
    out = {name: raw[name][take] for name in ("active_user_growth", "seat_penetration", "prior_expansions")}
    if "opportunities" not in ws.tables:
        out["prior_expansions"] = np.full(len(ids), np.nan)
    if "usage" not in ws.tables:
        out["active_user_growth"] = np.full(len(ids), np.nan)
    return out


def _component(cfg: ExpansionSettings, metrics: dict[str, float], values: dict[str, np.ndarray]) -> np.ndarray:
    import numpy as np

    from cs_mcp.domain.scoring import curve_value

    n = len(next(iter(values.values())))
    earned, possible = np.zeros(n), np.zeros(n)
    for metric, points in metrics.items():
        f = curve_value(cfg.curves[metric], values.get(metric, np.full(n, np.nan)))
        has = ~np.isnan(f)
        earned += np.where(has, f * points, 0.0)
        possible += np.where(has, points, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(possible > 0, 100.0 * earned / possible, np.nan)


def propensity_rule(cfg: ExpansionSettings) -> str:
    parts = " + ".join(f"{w:g} {c}" for c, w in cfg.weights.items())
    comps = "; ".join(f"{c} = " + ", ".join(COMPONENT_LABELS.get(m, m) for m in ms) for c, ms in cfg.components.items())
    return (
        f"propensity = ({parts}) / sum of the weights of components with data; health = health score; {comps} "
        "(each 0-100 from config expansion.curves)"
    )


@dataclass
class _Base:
    rows: np.ndarray  # rows of the portfolio frame: active accounts
    ids: np.ndarray
    propensity: np.ndarray  # 0-100, rounded to 0.1; NaN without any component
    components: dict[str, np.ndarray]
    health: np.ndarray
    bands: np.ndarray
    extras: dict[str, np.ndarray]


def _base(ws: Workspace) -> _Base:
    import numpy as np

    from cs_mcp.domain.portfolio import portfolio_snapshot

    cfg = ws.settings.expansion
    snap = portfolio_snapshot(ws)
    frame = snap.frame
    active = frame["is_active"] == 1.0  # customers as of the date (queries.customers)
    rows = np.flatnonzero(active)
    ids = frame["account_id"][rows]
    extras = _extras(ws, ids)
    values = {m: frame[m][rows] for m in frame.columns if m not in ("account_id", "as_of")}
    values.update(extras)
    health = snap.health.score[rows]
    components: dict[str, np.ndarray] = {"health": health}
    for comp, metrics in cfg.components.items():
        components[comp] = _component(cfg, metrics, values)
    total, weight = np.zeros(len(rows)), np.zeros(len(rows))
    for comp, w in cfg.weights.items():
        score = components.get(comp)
        if score is None:
            continue
        has = ~np.isnan(score)
        total += np.where(has, w * score, 0.0)
        weight += np.where(has, w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        propensity = np.round(np.where(weight > 0, total / weight, np.nan), 1)
    return _Base(rows, ids, propensity, components, health, snap.health.bands()[rows], extras)


def expansion_base(ws: Workspace) -> _Base:
    """Propensity of every active account, cached per workspace and settings."""
    from cs_mcp.domain.portfolio import cached

    key = ("expansion-base", ws.settings.expansion.model_dump_json(), ws.settings.health.model_dump_json())
    return cached(ws, key, lambda: _base(ws))


# -------------------------------------------------------------------- candidates


@dataclass
class _Found:
    """Candidates as parallel arrays (index into _Base rows, type, potential and what explains it)."""

    pos: np.ndarray
    type: np.ndarray
    potential: np.ndarray
    info: list[dict[str, Any]]
    expected: np.ndarray | None = None  # propensity / 100 x potential
    covered: list[list[str]] | None = None  # open CRM opportunities covering each candidate, in words
    in_crm: np.ndarray | None = None
    type_rank: np.ndarray | None = None
    order: np.ndarray | None = None  # every candidate, highest expected value first


def _cross_sell(ws: Workspace, ids: np.ndarray, peers: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per account of `ids`, the whitespace product most owned among its segment's `peers`, then by potential."""
    cfg = ws.settings.expansion
    rows = expansion_queries.whitespace_picks(
        ws, [str(a) for a in ids], [str(a) for a in peers], ws.as_of, cfg.cross_sell_default_share,
        cfg.cross_sell_min_peer_share,
    )
    keys = ("segment", "product_id", "product_name", "list_price", "seats", "peer_share", "potential", "whitespace")
    return {r[0]: dict(zip(keys, r[1:], strict=True)) for r in rows}


def _find(ws: Workspace, base: _Base, pos: np.ndarray, not_computed: list[str], notes: list[str]) -> _Found:
    """Every candidate among the base rows `pos`."""
    import numpy as np

    from cs_mcp.domain.portfolio import portfolio_snapshot

    cfg = ws.settings.expansion
    frame = portfolio_snapshot(ws).frame
    rows = base.rows[pos]
    arr = np.nan_to_num(frame["arr"][rows], nan=0.0)
    seats = frame["seats_purchased"][rows]
    users = frame["active_users"][rows]
    util = frame["seat_utilization"][rows]
    out_pos: list[np.ndarray] = []
    out_type: list[str] = []
    potential: list[np.ndarray] = []
    info: list[dict[str, Any]] = []

    # seat upsell
    if "usage" not in ws.tables or np.isnan(seats).all():
        not_computed.append("seat_upsell: needs the usage table (active users) and accounts.seats_purchased")
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            hit = (util > cfg.seat_upsell_utilization) & (seats > 0)
            needed = np.ceil(np.nan_to_num(users) / cfg.seat_target_utilization - 1e-9)
            extra = np.maximum(needed - np.nan_to_num(seats), 0)
            per_seat = np.where(seats > 0, arr / seats, 0.0)
        hit &= extra > 0
        for j in np.flatnonzero(hit):
            out_pos.append(pos[j])
            out_type.append("seat_upsell")
            potential.append(extra[j] * per_seat[j])
            info.append({"extra": int(extra[j]), "per_seat": float(per_seat[j])})

    # tier upgrade
    plans = [p.lower() for p in cfg.plan_order]
    if "feature_usage" not in ws.tables:
        not_computed.append("tier_upgrade: needs the feature_usage table (feature adoption)")
    elif len(plans) < 2:
        not_computed.append("tier_upgrade: expansion.plan_order names fewer than two plans")
    else:
        plan = frame["plan"][rows]
        level = np.array(
            [plans.index(str(p).lower()) if p is not None and str(p).lower() in plans else -1 for p in plan]
        )
        unknown = sorted({str(p) for p, lv in zip(plan, level, strict=True) if lv < 0 and p is not None})
        if unknown:
            notes.append(
                f"Plans not in expansion.plan_order ({', '.join(unknown[:8])}) are not considered for tier upgrades."
            )
        adoption = frame["feature_adoption"][rows]
        with np.errstate(invalid="ignore"):
            hit = (level >= 0) & (level < len(plans) - 1) & (adoption >= cfg.tier_upgrade_min_adoption)
        for j in np.flatnonzero(hit):
            out_pos.append(pos[j])
            out_type.append("tier_upgrade")
            potential.append(cfg.tier_upgrade_uplift * arr[j])
            info.append({"target": cfg.plan_order[level[j] + 1]})

    # cross-sell
    if not {"products", "entitlements"} <= ws.tables:
        not_computed.append("cross_sell: needs the products and entitlements tables (whitespace)")
    else:
        best = _cross_sell(ws, base.ids[pos], base.ids)
        for j, aid in enumerate(base.ids[pos]):
            found = best.get(aid)
            if found:
                out_pos.append(pos[j])
                out_type.append("cross_sell")
                potential.append(float(found["potential"]))
                info.append(found)
    return _Found(
        np.array(out_pos, dtype=np.int64),
        np.array(out_type, dtype=object),
        np.round(np.array(potential, dtype=float), 2),
        info,
    )


def _open_opportunities(ws: Workspace) -> dict[str, list[tuple]]:
    if "opportunities" not in ws.tables:
        return {}
    p = ws.settings.renewal.probability
    rows = expansion_queries.open_expansion_opportunities(ws, p.won_stages, p.lost_stages)
    out: dict[str, list[tuple]] = {}
    for r in rows:
        out.setdefault(r[0], []).append(r[1:])
    return out


def _all_candidates(ws: Workspace, base: _Base) -> tuple[_Found, list[str], list[str]]:
    """Every candidate of every active account with its CRM coverage (filters are masks on it), cached."""
    import numpy as np

    from cs_mcp.domain.portfolio import cached

    def compute() -> tuple[_Found, list[str], list[str]]:
        not_computed: list[str] = []
        notes: list[str] = []
        found = _find(ws, base, np.arange(len(base.rows)), not_computed, notes)
        opps = _open_opportunities(ws)
        found.covered = [
            _covering(found.type[k], found.info[k].get("product_id"), opps.get(str(base.ids[found.pos[k]]), []))
            for k in range(len(found.pos))
        ]
        found.in_crm = np.array([bool(c) for c in found.covered], dtype=bool)
        found.expected = np.round(np.nan_to_num(base.propensity[found.pos]) / 100.0 * found.potential, 2)
        found.type_rank = np.array([TYPES.index(x) for x in found.type], dtype=np.int64)
        # ties: larger potential, then account id (base rows are in id order), then type
        found.order = np.lexsort((found.type_rank, found.pos, -found.potential, -found.expected))
        return found, not_computed, notes

    key = ("expansion-candidates", ws.settings.expansion.model_dump_json(), ws.settings.health.model_dump_json())
    return cached(ws, key, compute)


def _covering(kind: str, product: str | None, opps: list[tuple]) -> list[str]:
    """The open opportunities that already cover a candidate, in words."""
    out = []
    for opp_id, typ, amount, stage, close, opp_product in opps:
        if kind == "cross_sell":
            if typ != "cross-sell" or (opp_product and product and opp_product != product):
                continue
        elif typ != "upsell":
            continue
        bits = [f"{opp_id} {typ}"]
        if amount is not None:
            bits.append(money(float(amount)))
        if stage:
            bits.append(str(stage))
        if close:
            bits.append(f"closes {close}")
        out.append(" ".join(bits))
    return out


def _evidence(
    ws: Workspace, kind: str, row: dict[str, Any], info: dict[str, Any], growth: float, catalogue: int
) -> list[str]:
    cfg = ws.settings.expansion
    out = []
    if kind == "seat_upsell":
        out.append(
            f"{pct(row['seat_utilization'])} of {row['seats_purchased']:,.0f} seats active "
            f"({row['active_users']:,.0f} users)"
        )
        out.append(
            f"+{info['extra']:,} seats to get to {pct(cfg.seat_target_utilization)} use at "
            f"{money(info['per_seat'])}/seat"
        )
        if growth == growth:
            out.append(f"active users {growth * 100:+.0f}% in {cfg.user_growth_days} days")
    elif kind == "tier_upgrade":
        used = row["features_used"]
        used_text = f"uses {used:.0f} of {catalogue} features" if used == used and catalogue else "uses"
        out.append(f"{used_text} ({pct(row['feature_adoption'])}) on the {row['plan']} plan")
        out.append(f"next plan {info['target']}: +{pct(cfg.tier_upgrade_uplift)} of ARR")
    else:
        out.append(f"no entitlement to {info['product_name']}")
        out.append(f"owned by {pct(info['peer_share'])} of {info['segment']} peers")
        if info["list_price"] and info["seats"]:
            out.append(f"list price {money(float(info['list_price']))} x {info['seats']:,} seats")
        else:
            out.append(f"no list price or seat count: {pct(cfg.cross_sell_default_share)} of ARR")
        others = info["whitespace"] - 1
        if others:
            out.append(f"{others} other product{'s' if others > 1 else ''} in whitespace")
    return out


# ------------------------------------------------------------------------ answer


def _match(values: np.ndarray, wanted: str, ws: Workspace, column: str) -> np.ndarray:
    import numpy as np

    from cs_mcp.domain.accounts import require_known_value

    require_known_value(ws, column, wanted)
    key = wanted.strip().lower()
    return np.array([v is not None and str(v).lower() == key for v in values], dtype=bool)


def _book_index(base: _Base, book: Any) -> np.ndarray:
    """Position in the renewal book of each base row (-1 when it has none), matched by portfolio frame row."""
    import numpy as np

    where = np.full(int(max(base.rows.max(initial=-1), book.rows.max(initial=-1))) + 1, -1, dtype=np.int64)
    where[book.rows] = np.arange(len(book.rows))
    return where[base.rows]


def _in_churn_tiers(ws: Workspace, base: _Base, tiers: list[str]) -> np.ndarray:
    """Base rows whose churn tier (the renewal book's) is one of `tiers`."""
    import numpy as np

    from cs_mcp.domain.churn import TIERS
    from cs_mcp.domain.renewal import renewal_base

    if not tiers:
        return np.zeros(len(base.ids), dtype=bool)
    book = renewal_base(ws)
    at = _book_index(base, book)
    codes = np.asarray(book.tier_code)[np.maximum(at, 0)]
    return (at >= 0) & np.isin(codes, [TIERS.index(t) for t in tiers])


def _held(ws: Workspace, base: _Base, mask: np.ndarray) -> tuple[np.ndarray, Callable[[int], str | None]]:
    """Base rows of `mask` whose renewal plan holds expansion back (renewal.plan_at_risk, expansion_hold's rule), as
    a mask, and why for one base row."""
    import numpy as np

    from cs_mcp.domain.renewal import expansion_hold, plan_at_risk, renewal_base

    book = renewal_base(ws)
    at = _book_index(base, book)
    i = np.maximum(at, 0)
    held = mask & (at >= 0) & plan_at_risk(book.category[i], book.bands[i])

    def why(p: int) -> str | None:
        return expansion_hold(book.category[at[p]], str(book.bands[at[p]])) if held[p] else None

    return held, why


def _held_note(accounts: int, candidates: int, expected: float) -> str:
    return (
        f"{accounts} account{'s' if accounts != 1 else ''} with an at-risk renewal held back ({candidates} "
        f"candidate{'s' if candidates != 1 else ''}, expected {money(expected)}): renewal-strategy holds "
        "expansion until the renewal is safe (renewal probability under the 'likely' tier, or red health); "
        "include_red=true lists them marked held."
    )


def expansion_opportunities(
    ws: Workspace,
    segment: str | None = None,
    csm_id: str | None = None,
    type: OpportunityType | None = None,  # noqa: A002 - the tool's argument name
    min_propensity: float | None = None,
    account: str | None = None,
    include_red: bool | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    include_held: bool | None = None,
) -> ExpansionOpportunities:
    """Upsell, cross-sell and tier-upgrade candidates ranked by expected value, with totals by type."""
    import numpy as np

    from cs_mcp.domain.portfolio import portfolio_snapshot

    cfg = ws.settings.expansion
    if type is not None and type not in TYPES:
        raise InvalidArgument(f"Unknown type '{type}'. Send one of: {', '.join(TYPES)}.")
    limit = limit or ws.settings.server.page_size
    offset = decode_cursor(cursor)
    exclude_red = cfg.exclude_red_health if include_red is None else not include_red
    base = expansion_base(ws)
    frame = portfolio_snapshot(ws).frame
    rows = base.rows
    mask = np.ones(len(rows), dtype=bool)
    filters: dict[str, str | float] = {}
    notes: list[str] = []
    not_computed: list[str] = []
    if account:
        from cs_mcp.domain.accounts import resolve_account

        ref = resolve_account(ws, account)
        mask &= base.ids == ref.account_id
        filters["account"] = ref.account_id
        if not mask.any():
            notes.append(f"{ref.name} ({ref.account_id}) is not an active account: no expansion candidates.")
    if segment:
        mask &= _match(frame["segment"][rows], segment, ws, "segment")
        filters["segment"] = segment
    if csm_id:
        mask &= _match(frame["csm_id"][rows], csm_id, ws, "csm_id")
        filters["csm_id"] = csm_id
    red = mask & (base.bands == "red")
    excluded_red = int(red.sum()) if exclude_red else 0
    if exclude_red:
        mask &= ~red
        if excluded_red:
            notes.append(
                f"{excluded_red} accounts with red health are left out (expansion.exclude_red_health: fix health "
                "before selling); send include_red=true to see them."
            )
    risky = mask & _in_churn_tiers(ws, base, cfg.exclude_churn_tiers if exclude_red else [])
    if risky.any():
        mask &= ~risky
        notes.append(
            f"{int(risky.sum())} accounts in the {' or '.join(cfg.exclude_churn_tiers)} churn tier are left out "
            "(expansion.exclude_churn_tiers): save the renewal before selling more; include_red=true shows them."
        )
    held, held_why = _held(ws, base, mask)
    show_held = not exclude_red if include_held is None else include_held
    if not show_held:
        mask &= ~held
    pos = np.flatnonzero(mask)
    found, computed_not, found_notes = _all_candidates(ws, base)
    not_computed += computed_not
    notes += found_notes
    keep = np.ones(len(found.pos), dtype=bool)
    if type:
        keep &= found.type == type
        filters["type"] = type
    prop = base.propensity[found.pos]
    if min_propensity is not None:
        with np.errstate(invalid="ignore"):
            keep &= prop >= min_propensity
        filters["min_propensity"] = min_propensity
    ev, in_crm = found.expected, found.in_crm
    if not show_held and held.any():
        h = np.flatnonzero(keep & held[found.pos])
        notes.append(_held_note(int(held.sum()), len(h), float(ev[h].sum())))
    # highest expected value first (found.order: the ranking of every candidate, computed once)
    order = found.order[(keep & mask[found.pos])[found.order]]
    totals = []
    for t in TYPES:
        s = order[found.type_rank[order] == TYPES.index(t)]
        m = s
        totals.append(
            TypeTotal(
                type=t,
                candidates=len(m),
                potential_arr=round(float(found.potential[s].sum()), 2),
                expected_arr=round(float(ev[s].sum()), 2),
                in_crm=int(in_crm[s].sum()),
                expected_arr_not_in_crm=round(float(ev[s][~in_crm[s]].sum()), 2),
            )
        )
    # each account's best: its first candidate in `order` (the smallest index per account, without a sort)
    first = np.full(len(rows), len(order), dtype=np.int64)
    np.minimum.at(first, found.pos[order], np.arange(len(order)))
    best_rank = np.where(first < len(order), first + 1, 0)
    best_rows = order[first[first < len(order)]]

    catalogue = 0
    if "feature_usage" in ws.tables:
        from cs_mcp.workspace.features import feature_catalogue_size

        catalogue = feature_catalogue_size(ws)
    page = []
    for rank, k in enumerate(order[offset : offset + limit].tolist(), start=offset + 1):
        p = int(found.pos[k])
        i = int(base.rows[p])
        row = frame.row(i)
        kind = str(found.type[k])
        info = found.info[k]
        h = base.health[p]
        dtr = row["days_to_renewal"]
        page.append(
            Candidate(
                rank=rank,
                account_id=str(row["account_id"]),
                name=str(row["name"]),
                segment=row["segment"],
                csm_id=row["csm_id"],
                plan=row["plan"],
                type=kind,
                product_id=info.get("product_id") if kind == "cross_sell" else None,
                product_name=info.get("product_name") if kind == "cross_sell" else None,
                target_plan=info.get("target") if kind == "tier_upgrade" else None,
                extra_seats=info.get("extra") if kind == "seat_upsell" else None,
                propensity=float(np.nan_to_num(base.propensity[p])),
                components={c: None if v[p] != v[p] else round(float(v[p]), 1) for c, v in base.components.items()},
                potential_arr=float(found.potential[k]),
                expected_value=float(ev[k]),
                evidence=_evidence(ws, kind, row, info, float(base.extras["active_user_growth"][p]), catalogue),
                arr=round(float(row["arr"] or 0.0), 2),
                health_score=None if h != h else round(float(h), 1),
                health_band=str(base.bands[p]),
                days_to_renewal=None if dtr is None or math.isnan(dtr) else int(dtr),
                in_crm=bool(in_crm[k]),
                crm_opportunities=found.covered[k],
                best_rank=int(best_rank[p]),
                held=held_why(p),
            )
        )
    for comp in cfg.weights:
        score = base.components.get(comp)
        if score is not None and len(pos) and np.isnan(score[pos]).all():
            needs = sorted({METRIC_TABLES.get(m, "accounts") for m in cfg.components.get(comp, {})}) or ["health"]
            not_computed.append(f"{comp} component: no data ({', '.join(needs)}); its weight is re-spread")
    if "opportunities" not in ws.tables:
        notes.append("No opportunities table: candidates already in the CRM cannot be flagged.")
    tables = ["accounts"] + sorted(
        t
        for t in (
            "usage",
            "feature_usage",
            "subscriptions",
            "touchpoints",
            "invoices",
            "opportunities",
            "products",
            "entitlements",
            "tickets",
            "nps",
        )
        if t in ws.tables
    )
    nxt = offset + len(page)
    return ExpansionOpportunities(
        as_of=ws.as_of,
        filters=filters,
        propensity_rule=propensity_rule(cfg),
        candidates=page,
        totals_by_type=totals,
        best_per_account=BestPerAccount(
            accounts=len(best_rows),
            potential_arr=round(float(found.potential[best_rows].sum()), 2),
            expected_arr=round(float(ev[best_rows].sum()), 2),
        ),
        accounts_considered=len(pos),
        excluded_red=excluded_red,
        held_back=0 if show_held else int(held.sum()),
        tables_used=tables,
        not_computed=not_computed,
        note=" ".join(notes) or None,
        total=len(order),
        returned=len(page),
        next_cursor=encode_cursor(nxt) if nxt < len(order) else None,
    )
