"""An account profile: the account's record, custom attributes and what the data holds about it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cs_mcp.workspace.schema import TABLES

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace


def _jsonable(v: Any) -> Any:
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, float) and v != v:
        return None
    return v


def account_profile(ws: Workspace, account_id: str) -> dict[str, Any]:
    """The accounts row (standard and custom columns, as of the data's end: `record_as_of`), its CSM, row counts
    per table, its standing on the as-of date and the renewal book's figures (which are as of that date)."""
    from cs_mcp.workspace.queries.accounts import account_record, account_row_counts, csm_record
    from cs_mcp.workspace.queries.coverage import data_end

    found = account_record(ws, account_id)
    if found is None:
        raise KeyError(account_id)
    record = {k: _jsonable(v) for k, v in found.items()}
    standard = set(TABLES["accounts"].column_names)
    profile: dict[str, Any] = {k: v for k, v in record.items() if k in standard}
    profile["custom_attributes"] = {k: v for k, v in record.items() if k not in standard}
    if record.get("csm_id") and "csms" in ws.tables:
        csm = csm_record(ws, record["csm_id"])
        if csm:
            profile["csm"] = {"csm_id": record["csm_id"], "name": csm["name"], "team": csm["team"]}
    children = [t for t in sorted(ws.tables)
                if t not in ("accounts", "csms", "products") and TABLES[t].account_child]
    profile["rows_per_table"] = account_row_counts(ws, account_id, children)
    profile["record_as_of"] = data_end(ws).isoformat()
    profile["standing"] = _standing(ws, account_id)
    profile["renewal"] = renewal_outlook(ws, account_id)
    profile["as_of"] = ws.as_of.isoformat()
    profile["see_also"] = [
        f"health-score with account={account_id}",
        f"renewal-strategy with account={account_id}",
        "find-accounts to search other accounts",
    ]
    return profile


def _standing(ws: Workspace, account_id: str) -> dict[str, Any]:
    """Whether the account is a customer on the as-of date, by the one rule every tool counts with; in a look
    back the record above still shows the data's end (its status, churned_on and renewal_date)."""
    from cs_mcp.domain.accounts import standing_words
    from cs_mcp.workspace.queries.coverage import data_end
    from cs_mcp.workspace.queries.customers import standing

    st = standing(ws, account_id, ws.as_of)
    if st is None:
        raise KeyError(account_id)
    return {"customer": st.customer, "text": standing_words(st, ws.as_of, data_end(ws))}


def renewal_outlook(ws: Workspace, account_id: str) -> dict[str, Any] | None:
    """The renewal book's figures for the account (the ones every tool quotes), or None when it is not active."""
    from cs_mcp.domain.churn import TIERS
    from cs_mcp.domain.renewal import notice_on, renewal_base

    book = renewal_base(ws)
    i = book.position.get(account_id)
    if i is None:
        return None
    p90 = book.churn_90d[i]
    renewal = book.renewal[i]
    return {
        "renewal_date": None if book.renewal[i] != book.renewal[i] else str(renewal.astype("datetime64[D]")),
        "renewal_probability": float(book.pct[i]) if book.has_renewal[i] else None,
        "category": book.category[i],
        "at_risk_renewal": bool(book.at_risk[i]),
        "churn_probability": round(float(book.lost[i]), 3),
        "churn_probability_90d": None if p90 != p90 else round(float(p90), 3),
        "churn_tier": TIERS[int(book.tier_code[i])],
        "notice_on": _jsonable(notice_on(book, i, ws.as_of)),
    }
