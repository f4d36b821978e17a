"""The query texts of the renewal tools (renewal book, renewal strategy, account review), for test_sql_layer."""

from __future__ import annotations

from cs_mcp.workspace.queries import feedback, renewals, reviews


def renewal_queries() -> dict[str, str]:
    """A representative call of each query builder of the renewal tools."""
    return {
        "renewal_evidence": renewals.renewal_evidence_sql(2),
        "renewal_evidence_no_late_stages": renewals.renewal_evidence_sql(0),
        "renewal_support_window": renewals.SUPPORT_WINDOW_SQL,
        "renewal_arr_steps": renewals.ARR_STEPS_SQL,
        "renewal_open_deals": renewals.OPEN_DEALS_SQL,
        "review_usage_by_period": reviews.usage_by_period_sql(3),
        "review_feature_use": reviews.FEATURE_USE_SQL,
        "review_nps_counts": reviews.NPS_COUNTS_SQL,
        "review_nps_detractors": reviews.NPS_DETRACTORS_SQL,
        "review_contacts": reviews.CONTACTS_SQL,
        "feedback_detractor_comments": feedback.DETRACTOR_COMMENTS_SQL,
    }
