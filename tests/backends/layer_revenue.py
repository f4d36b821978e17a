"""The query texts of the revenue tools (nps, retention, expansion, segments), for test_sql_layer's checks."""

from __future__ import annotations

import datetime as dt

from cs_mcp.workspace.queries import expansion, nps, retention, segments

_DAY = dt.date(2026, 1, 1)


def revenue_queries() -> dict[str, str]:
    """A representative call of each query builder of the revenue tools."""
    tenure = nps.NpsCut(bands=(("<1y", 0), ("1-2y", 12), ("2y+", 24)), segment="smb", tenure="<1y",
                        by_source="tenure")
    by_column = nps.NpsCut(bands=(("<1y", 0),), by_source="accounts", by_column="segment")
    answers = nps.Answers(None, tenure, [("period", _DAY, _DAY), ("2025-Q4", _DAY, _DAY)], 9, 6)  # type: ignore[arg-type]
    return {
        "nps_bucket_counts": answers.cte + " SELECT bucket, COUNT(*) AS n FROM cut GROUP BY bucket",
        "nps_comments": answers.cte + " SELECT class, comment FROM resp WHERE has_comment",
        "nps_csat": nps.csat_sql(by_column),
        "nps_followup": nps.followup_totals_sql(tenure),
        "nps_followup_rows": nps.followup_rows_sql(tenure),
        "nps_columns": "SELECT * FROM nps LIMIT 0",
        "retention_history": retention.history_sql("segment"),
        "retention_history_all": retention.history_sql(None),
        "retention_accounts": retention.accounts_sql("plan"),
        "retention_arr_on": retention.ARR_ON_SQL,
        "segments_account_dates": segments.ACCOUNT_DATES_SQL,
        "expansion_extras": expansion.EXTRAS_SQL,
        "expansion_whitespace": expansion.CROSS_SELL_SQL,
        "expansion_open_opportunities": expansion.OPEN_OPPORTUNITIES_SQL,
    }
