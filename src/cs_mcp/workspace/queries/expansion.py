"""Expansion inputs: per-account growth and headroom, whitespace products, open upsell and cross-sell opportunities.

Stage names (won, lost) are bound as lists; the opportunity types that count as expansion are fixed code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace
    from cs_mcp.workspace.sql import Columns

_STAGE = "lower(trim(COALESCE(o.stage, '')))"

EXTRAS_SQL = f"""
WITH u AS (
  SELECT account_id,
    AVG(active_users) FILTER (WHERE date > $now_lo) AS users_now,
    AVG(active_users) FILTER (WHERE date > $then_lo AND date <= $then_hi) AS users_then
  FROM usage WHERE date > $then_lo AND date <= $as_of GROUP BY account_id
),
won AS (
  SELECT o.account_id, COUNT(*) AS n FROM opportunities o
  WHERE lower(o.type) IN ('upsell', 'cross-sell') AND {_STAGE} IN (SELECT unnest(CAST($won AS VARCHAR[])))
    AND o.close_date > $won_lo AND o.close_date <= $as_of
  GROUP BY o.account_id
)
SELECT a.account_id,
  CAST(CASE WHEN u.users_then > 0 THEN COALESCE(u.users_now, 0) / u.users_then - 1 END AS DOUBLE)
    AS active_user_growth,
  CAST(CASE WHEN a.employees > 0 AND a.seats_purchased > 0 THEN CAST(a.seats_purchased AS DOUBLE) / a.employees END
    AS DOUBLE) AS seat_penetration,
  CAST(COALESCE(won.n, 0) AS DOUBLE) AS prior_expansions
FROM accounts a
LEFT JOIN u ON u.account_id = a.account_id
LEFT JOIN won ON won.account_id = a.account_id
"""


def account_extras(
    ws: Workspace, as_of: dt.date, usage_days: int, growth_days: int, won_days: int, won_stages: Sequence[str]
) -> Columns:
    """Per account: active-user growth over `growth_days` (means of `usage_days` windows), seats / employees,
    and upsell / cross-sell opportunities won in the last `won_days`."""
    return ws.columns(
        EXTRAS_SQL,
        as_of=as_of,
        now_lo=as_of - dt.timedelta(days=usage_days),
        then_hi=as_of - dt.timedelta(days=growth_days),
        then_lo=as_of - dt.timedelta(days=growth_days + usage_days),
        won_lo=as_of - dt.timedelta(days=won_days),
        won=[s.lower() for s in won_stages],
    )


CROSS_SELL_SQL = """
WITH peers AS (
  SELECT account_id, COALESCE(segment, '(none)') AS seg FROM accounts
  WHERE account_id IN (SELECT unnest(CAST($peers AS VARCHAR[])))
),
act AS (
  SELECT account_id, COALESCE(segment, '(none)') AS seg, seats_purchased, arr FROM accounts
  WHERE account_id IN (SELECT unnest(CAST($ids AS VARCHAR[])))
),
ent AS (
  SELECT DISTINCT account_id, product_id FROM entitlements
  WHERE (start_date IS NULL OR start_date <= $as_of) AND (end_date IS NULL OR end_date > $as_of)
),
seg_n AS (SELECT seg, COUNT(*) AS n FROM peers GROUP BY seg),
owned AS (
  SELECT peers.seg, ent.product_id, COUNT(*) AS k FROM peers JOIN ent ON ent.account_id = peers.account_id
  GROUP BY peers.seg, ent.product_id
),
space AS (
  SELECT act.account_id, act.seg, p.product_id, COALESCE(p.name, p.product_id) AS product_name, p.list_price,
    act.seats_purchased AS seats,
    CAST(COALESCE(owned.k, 0) AS DOUBLE) / seg_n.n AS peer_share,
    CAST(CASE WHEN p.list_price > 0 AND act.seats_purchased > 0 THEN p.list_price * act.seats_purchased
         ELSE $share * COALESCE(act.arr, 0) END AS DOUBLE) AS potential,
    COUNT(*) OVER (PARTITION BY act.account_id) AS whitespace
  FROM act CROSS JOIN products p
  JOIN seg_n ON seg_n.seg = act.seg
  LEFT JOIN owned ON owned.seg = act.seg AND owned.product_id = p.product_id
  WHERE NOT EXISTS (SELECT 1 FROM ent WHERE ent.account_id = act.account_id AND ent.product_id = p.product_id)
),
ranked AS (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY peer_share DESC, potential DESC, product_id)
    AS rn
  FROM space WHERE peer_share >= $min_share AND potential > 0
)
SELECT account_id, seg, product_id, product_name, list_price, seats, peer_share, potential, whitespace
FROM ranked WHERE rn = 1
"""


def whitespace_picks(
    ws: Workspace, ids: Sequence[str], peers: Sequence[str], as_of: dt.date, default_share: float, min_share: float
) -> list[tuple]:
    """Per account of `ids`: (account_id, segment, product_id, product_name, list_price, seats, peer_share,
    potential, whitespace) of the unowned product most owned among its segment's `peers`, then by potential."""
    return ws.rows(CROSS_SELL_SQL, ids=list(ids), peers=list(peers), as_of=as_of, share=default_share,
                   min_share=min_share)


OPEN_OPPORTUNITIES_SQL = f"""
SELECT o.account_id, o.opportunity_id, lower(o.type) AS type, o.amount, o.stage, o.close_date, o.product_id
FROM opportunities o
WHERE lower(o.type) IN ('upsell', 'cross-sell')
  AND {_STAGE} NOT IN (SELECT unnest(CAST($won AS VARCHAR[])))
  AND {_STAGE} NOT IN (SELECT unnest(CAST($lost AS VARCHAR[])))
ORDER BY o.account_id, o.opportunity_id
"""


def open_expansion_opportunities(
    ws: Workspace, won_stages: Sequence[str], lost_stages: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Upsell and cross-sell opportunities neither won nor lost: (account_id, opportunity_id, type, amount,
    stage, close_date, product_id), by account and id."""
    return ws.rows(OPEN_OPPORTUNITIES_SQL, won=[s.lower() for s in won_stages], lost=[s.lower() for s in lost_stages])

