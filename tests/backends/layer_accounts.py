"""The query texts of the account tools (resolution, profile, completion, escalation, engagement, onboarding,
csm performance), for test_sql_layer."""

from __future__ import annotations

from cs_mcp.workspace.queries import accounts, csm, engagement, escalations, onboarding


def account_queries() -> dict[str, str]:
    """A representative call of each query builder of the account tools."""
    count_sql, page_sql = accounts.search_sql(query=True, filters=("segment", "status"), min_arr=True, renewal=True)
    return {
        "account_by_id": accounts._BY_ID_SQL,
        "accounts_named": accounts._NAMED_SQL,
        "accounts_containing": accounts._CONTAINING_SQL,
        "accounts_search_count": count_sql,
        "accounts_search_page": page_sql,
        "accounts_search_plain": accounts.search_sql(query=False, filters=(), min_arr=False, renewal=False)[1],
        "accounts_search_look_back": accounts.search_sql(query=True, filters=("status",), min_arr=False, renewal=True,
                                                         look_back=True)[1],
        "account_row_counts": accounts.row_counts_sql(["tickets", "usage", "nps"]),
        **{f"completion_{kind}": text for kind, text in accounts._COMPLETION_SQL.items()},
        **escalation_queries(),
        "engagement_inputs": engagement.FACTS_SQL,
        "engagement_monthly_touches": engagement.MONTHLY_TOUCHES_SQL,
        "engagement_active_contacts": engagement.ACTIVE_CONTACTS_SQL,
        "onboarding_account": onboarding.PLAN_ACCOUNT_SQL,
        "onboarding_owner_contacts": onboarding.PLAN_OWNERS_SQL,
        "csm_roster": csm.ROSTER_SQL,
        "csm_assigned_ids": csm.ASSIGNED_CSMS_SQL,
        "csm_account_touches": csm.TOUCHES_SQL,
    }


def escalation_queries() -> dict[str, str]:
    grouped = escalations.Scope(by_segment=True, group_column="segment")
    plain = escalations.Scope()
    return {
        "escalation_groups": escalations.tickets_cte(grouped) + escalations.GROUP_SQL,
        "escalation_resolution": escalations.tickets_cte(plain) + escalations.RESOLUTION_SQL,
        "escalation_root_causes": escalations.tickets_cte(plain) + escalations.ROOT_CAUSE_SQL,
        "escalation_open": escalations.open_sql(grouped),
        "escalation_top_accounts": escalations.top_escalators_sql(grouped),
    }
