"""The query texts of the renewal tools (renewal book, renewal strategy, account review), for test_sql_layer."""

from __future__ import annotations

from cs_mcp.workspace.queries import renewals


def renewal_queries() -> dict[str, str]:
    """A representative call of each query builder of the renewal tools."""
    return {
        "renewal_evidence": renewals.renewal_evidence_sql(2),
        "renewal_evidence_no_late_stages": renewals.renewal_evidence_sql(0),
        "renewal_support_window": renewals.SUPPORT_WINDOW_SQL,
        "renewal_arr_steps": renewals.ARR_STEPS_SQL,
        "renewal_open_deals": renewals.OPEN_DEALS_SQL,
    }
