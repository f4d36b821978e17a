"""The canonical tables of a workspace: their columns, types and which are required.

Every other module speaks these names; a user's own column names are mapped onto them
by `cs-mcp.yaml` (see `cs_mcp.config.TableMapping`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["string", "float", "integer", "date", "timestamp", "boolean"]


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool = False
    description: str = ""
    allowed: tuple[str, ...] = ()
    """Canonical values for a categorical column; others are reported, not rejected."""
    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    """Columns that identify a row; duplicates are rejected (the first occurrence is kept)."""
    account_child: bool = True
    """Rows carry an account_id that must exist in accounts."""
    description: str = ""
    extra_columns_kept: bool = False
    """Columns not in the schema are kept: custom attributes of accounts, cuts of nps answers."""

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name: str, type_: ColumnType, required: bool = False, description: str = "", **kw) -> Column:
    return Column(name, type_, required, description, **kw)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "accounts",
            (
                _c("account_id", "string", True, "unique id of the customer account"),
                _c("name", "string", True, "account name"),
                _c("segment", "string", description="e.g. enterprise, mid-market, smb"),
                _c("industry", "string"),
                _c("region", "string"),
                _c("csm_id", "string", description="owning CSM, a csm_id of the csms table"),
                _c("plan", "string"),
                _c("arr", "float", True, "current annual recurring revenue", min_value=0),
                _c("seats_purchased", "integer", description="licensed seats", min_value=0),
                _c("contract_start", "date"),
                _c("renewal_date", "date"),
                _c("status", "string", description="active or churned", allowed=("active", "churned")),
                _c("churned_on", "date"),
                _c("employees", "integer", min_value=0),
            ),
            key=("account_id",),
            account_child=False,
            extra_columns_kept=True,
            description="one row per customer account (the only required table)",
        ),
        Table(
            "subscriptions",
            (
                _c("subscription_id", "string"),
                _c("account_id", "string", True),
                _c("start_date", "date", True),
                _c("end_date", "date", description="empty while the subscription runs"),
                _c("arr", "float", True, min_value=0),
                _c("plan", "string"),
                _c("product_id", "string"),
                _c("seats", "integer", min_value=0),
            ),
            key=("subscription_id",),
            description="ARR history: GRR, NRR, expansion and contraction are computed from it",
        ),
        Table(
            "usage",
            (
                _c("account_id", "string", True),
                _c("date", "date", True, "start of the period the row covers"),
                _c("active_users", "integer", min_value=0),
                _c("logins", "integer", min_value=0),
            ),
            key=("account_id", "date"),
            description="daily, weekly or monthly usage rows",
        ),
        Table(
            "feature_usage",
            (
                _c("account_id", "string", True),
                _c("date", "date", True),
                _c("feature", "string", True),
                _c("users", "integer", min_value=0),
            ),
            key=("account_id", "date", "feature"),
        ),
        Table(
            "tickets",
            (
                _c("ticket_id", "string", True),
                _c("account_id", "string", True),
                _c("opened_at", "timestamp", True),
                _c("closed_at", "timestamp"),
                _c("priority", "string", allowed=("low", "medium", "high", "critical")),
                _c("category", "string"),
                _c("csat", "integer", description="1-5", min_value=1, max_value=5),
                _c("escalated", "boolean"),
            ),
            key=("ticket_id",),
        ),
        Table(
            "nps",
            (
                _c("response_id", "string"),
                _c("account_id", "string", True),
                _c("responded_at", "date", True),
                _c("score", "integer", True, "0-10", min_value=0, max_value=10),
                _c("csat", "integer", description="1-5 satisfaction answer of the same survey, if asked",
                   min_value=1, max_value=5),
                _c("contact_id", "string"),
                _c("comment", "string"),
            ),
            key=("response_id",),
            extra_columns_kept=True,
            description="NPS answers; extra columns (survey type, channel ...) are kept and can be cuts",
        ),
        Table(
            "touchpoints",
            (
                _c("touchpoint_id", "string"),
                _c("account_id", "string", True),
                _c("date", "date", True),
                _c(
                    "type",
                    "string",
                    True,
                    allowed=("call", "email", "meeting", "qbr", "ebr", "training", "event"),
                ),
                _c("csm_id", "string"),
                _c(
                    "outcome",
                    "string",
                    description="completed, responded, no_response, no_show, ...",
                ),
            ),
            key=("touchpoint_id",),
        ),
        Table(
            "contacts",
            (
                _c("contact_id", "string", True),
                _c("account_id", "string", True),
                _c("name", "string"),
                _c(
                    "role",
                    "string",
                    allowed=("champion", "executive_sponsor", "decision_maker", "admin", "user"),
                ),
                _c("department", "string"),
                _c("active", "boolean"),
                _c("left_on", "date", description="when an inactive contact left"),
            ),
            key=("contact_id",),
        ),
        Table(
            "invoices",
            (
                _c("invoice_id", "string", True),
                _c("account_id", "string", True),
                _c("due_on", "date", True),
                _c("paid_on", "date"),
                _c("amount", "float", min_value=0),
            ),
            key=("invoice_id",),
        ),
        Table(
            "csms",
            (
                _c("csm_id", "string", True),
                _c("name", "string"),
                _c("team", "string"),
                _c("capacity", "integer", description="accounts the CSM can cover", min_value=0),
            ),
            key=("csm_id",),
            account_child=False,
        ),
        Table(
            "opportunities",
            (
                _c("opportunity_id", "string", True),
                _c("account_id", "string", True),
                _c("type", "string", allowed=("renewal", "upsell", "cross-sell", "downgrade")),
                _c("amount", "float"),
                _c("stage", "string", description="open, won, lost, or the CRM's stage names"),
                _c("close_date", "date"),
                _c("product_id", "string"),
            ),
            key=("opportunity_id",),
        ),
        Table(
            "products",
            (
                _c("product_id", "string", True),
                _c("name", "string"),
                _c("category", "string"),
                _c("list_price", "float", min_value=0),
            ),
            key=("product_id",),
            account_child=False,
        ),
        Table(
            "entitlements",
            (
                _c("account_id", "string", True),
                _c("product_id", "string", True),
                _c("start_date", "date"),
                _c("end_date", "date"),
                _c("seats", "integer", min_value=0),
            ),
            key=("account_id", "product_id"),
        ),
    )
}

FILE_SUFFIXES = (".csv", ".parquet", ".csv.gz", ".tsv")


SQL_TYPES: dict[ColumnType, str] = {
    "string": "VARCHAR",
    "float": "DOUBLE",
    "integer": "BIGINT",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
}


def query_schema(custom_types: dict[str, str] | None = None) -> tuple:
    """The canonical tables' column types (accounts with its custom columns), as the query layer types SQL."""
    from cs_mcp.workspace.sql import schema_of

    tables = {t.name: {c.name: SQL_TYPES[c.type] for c in t.columns} for t in TABLES.values()}
    tables["accounts"].update(custom_types or {})
    return schema_of(tables)
