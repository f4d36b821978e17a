"""Engines chosen by URL: a workspace folder or a DuckDB database (embedded), PostgreSQL, Spark.

| `data.url`                          | engine                                                        |
|-------------------------------------|---------------------------------------------------------------|
| empty, a folder, `file:///folder`   | the workspace folder's files, loaded into embedded DuckDB      |
| `duckdb:///path/to.db`              | an existing DuckDB database, attached read-only                |
| `postgresql://user:pw@host/db`      | PostgreSQL through SQLAlchemy 2 and psycopg 3 (extra `postgres`) |
| `spark://local`, `spark://local[4]` | Spark in local mode (extra `spark`); `?warehouse=DIR` sets the warehouse dir |
| `sc://host:15002`                   | a Spark Connect server (extra `spark`)                         |

Every backend answers the same small contract: `dialect`, `columns(sql, params)`, `rows(sql, params)`,
`run(sql)` (statements without parameters), `relation(table)`, `describe(relation)`,
`create_view(name, sql, materialize, index)` (a session-temporary view, or table where the
engine would otherwise recompute it per query; `index` names a column one-account queries filter on, which
an engine with indexes indexes), `create_table(name, columns, rows)` (temporary, for
small lookup tables), `close()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from cs_mcp.workspace.sql import Columns

Kind = Literal["folder", "duckdb", "postgres", "spark", "spark-connect"]


class Backend(Protocol):
    dialect: str
    label: str
    checks_unique_keys: bool
    """create_view(..., unique=key) builds a unique index and raises DuplicateKeys when two rows share the key
    (PostgreSQL); elsewhere the caller checks for duplicates itself and never passes `unique`."""

    def columns(self, sql: str, params: dict[str, Any]) -> Columns: ...

    def rows(self, sql: str, params: dict[str, Any]) -> tuple[list[str], list[tuple]]: ...

    def run(self, sql: str) -> None: ...

    def relation(self, table: str, schema: str | None = None) -> str | None: ...

    def describe(self, relation: str) -> list[tuple[str, str]]: ...

    def create_view(self, name: str, sql: str, materialize: bool = False, index: str | None = None,
                    unique: Sequence[str] = ()) -> None: ...

    def create_table(self, name: str, columns: list[tuple[str, str]], rows: list[tuple]) -> None: ...

    def close(self) -> None: ...


class DuplicateKeys(Exception):
    """Two rows of a materialized table share the key its unique index was asked for; the table was dropped."""


class BackendUnavailable(ValueError):
    """The URL names an engine whose driver is not installed, or which cannot be reached."""


@dataclass(frozen=True)
class Target:
    kind: Kind
    url: str
    path: Path | None = None


def parse_url(url: str | None) -> Target:
    """Which engine a `data.url` names (a bare path is a workspace folder)."""
    if not url:
        return Target("folder", "")
    # urlsplit is not used here: it refuses spark://local[4] (brackets read as an IPv6 address)
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower() if sep else ""
    if scheme in ("", "file"):
        return Target("folder", url, Path(rest if scheme else url).expanduser())
    if scheme == "duckdb":
        # duckdb:///abs/path.db is absolute, duckdb://rel.db relative to the working directory
        return Target("duckdb", url, Path(url.split("://", 1)[1]).expanduser())
    if scheme.startswith("postgres"):
        return Target("postgres", url)
    if scheme == "spark":
        return Target("spark", url)
    if scheme == "sc":
        return Target("spark-connect", url)
    raise BackendUnavailable(
        f"data.url {redact(url)!r}: unknown engine {scheme!r}; use a folder, duckdb:///path/to.db, "
        "postgresql://user@host/db, spark://local or sc://host:port"
    )


def redact(url: str) -> str:
    """The URL without its password, for reports and logs."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # spark://local[4]: no credentials to hide
        return url
    if password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


def connect(url: str, **options: Any) -> Backend:
    """A backend for a warehouse URL (not a folder: folders are loaded by the workspace loader)."""
    target = parse_url(url)
    if target.kind == "duckdb":
        from cs_mcp.workspace.backends.duckdb import DuckDBBackend

        return DuckDBBackend.attach(target.path, **options)
    if target.kind == "postgres":
        from cs_mcp.workspace.backends.postgres import PostgresBackend

        return PostgresBackend(url)
    if target.kind in ("spark", "spark-connect"):
        from cs_mcp.workspace.backends.spark import SparkBackend

        return SparkBackend(url)
    raise BackendUnavailable(f"{redact(url)} is a workspace folder, not an engine URL")
