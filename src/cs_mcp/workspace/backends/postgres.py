"""PostgreSQL through SQLAlchemy 2 and psycopg 3: one session per workspace, so its temporary views persist."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from cs_mcp.workspace.sql import Columns, columns_from_rows


class PostgresBackend:
    dialect = "postgres"
    checks_unique_keys = True  # a unique index proves a key unique while it indexes the table

    def __init__(self, url: str) -> None:
        from cs_mcp.workspace.backends import BackendUnavailable, redact

        try:
            from sqlalchemy import create_engine
            from sqlalchemy.pool import NullPool
        except ImportError as exc:
            raise BackendUnavailable(
                "PostgreSQL needs the postgres extra: pip install 'customer-success-mcp[postgres]'"
            ) from exc
        self.label = redact(url)
        try:
            self.engine = create_engine(driver_url(url), poolclass=NullPool)
            # autocommit: reads only, and a failed query must not poison the session's temporary views
            self.conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except ImportError as exc:
            raise BackendUnavailable(
                "PostgreSQL needs psycopg 3: pip install 'customer-success-mcp[postgres]'"
            ) from exc
        except Exception as exc:  # SQLAlchemy wraps every connection failure in its own error types
            raise BackendUnavailable(f"cannot connect to {self.label}: {_first_line(exc)}") from exc
        self._lock = threading.Lock()
        # session settings only: sorts for duplicate keys in memory, temporary tables in session buffers
        # (temp_buffers must be set before the session's first temporary table)
        self.run("SET work_mem = '64MB'")
        self.run("SET temp_buffers = '256MB'")

    def _raw(self) -> Any:
        return self.conn.connection.driver_connection

    def rows(self, sql: str, params: dict[str, Any]) -> tuple[list[str], list[tuple]]:
        with self._lock:
            # always a dict: psycopg then reads %% in the text as a literal percent sign
            result = self.conn.exec_driver_sql(sql, params or {})
            return list(result.keys()), [tuple(r) for r in result.fetchall()]

    def columns(self, sql: str, params: dict[str, Any]) -> Columns:
        names, rows = self.rows(sql, params)
        return columns_from_rows(names, rows)

    def run(self, sql: str) -> None:
        with self._lock:
            cur = self._raw().cursor()
            cur.execute(sql)  # no parameters: psycopg leaves the text as written
            cur.close()

    def relation(self, table: str, schema: str | None = None) -> str | None:
        found = self.rows(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = %(t)s "
            "AND table_schema = COALESCE(%(s)s, current_schema())",
            {"t": table, "s": schema},
        )[1]
        return qualified([found[0][0], table]) if found else None

    def qualify(self, name: str) -> str:
        return qualified(name.split("."))

    def describe(self, relation: str) -> list[tuple[str, str]]:
        with self._lock:
            cur = self._raw().cursor()
            cur.execute(f"SELECT * FROM {relation} LIMIT 0")
            types = self._raw().adapters.types
            out = []
            for col in cur.description:
                info = types.get(col.type_code)
                out.append((col.name, info.name if info is not None else "unknown"))
            cur.close()
            return out

    def create_view(self, name: str, sql: str, materialize: bool = False, index: str | None = None,
                    unique: Sequence[str] = ()) -> None:
        if not materialize:
            self.run(f"CREATE OR REPLACE TEMPORARY VIEW {qualified([name])} AS {sql}")
            return
        # a temporary table, not a view: PostgreSQL would re-run the validation (window functions, anti
        # joins) inside every query, and cannot push an account filter through ROW_NUMBER
        table = qualified([name])
        self.run(f"DROP TABLE IF EXISTS pg_temp.{table}")
        self.run(f"CREATE TEMPORARY TABLE {table} AS {sql}")
        if unique:
            self._unique_index(table, unique)
        if index is not None and (not unique or unique[0] != index):
            # one account's questions (health-score, a review, a plan) read a few rows, not the whole table
            self.run(f"CREATE INDEX ON {table} ({qualified([index])})")
        self.run(f"ANALYZE {table}")

    def _unique_index(self, table: str, key: Sequence[str]) -> None:
        """A unique index on the key (NULLs distinct: a row without a key repeats nothing); DuplicateKeys, with
        the table dropped, when two rows share it. It also serves lookups by the key's first column."""
        from psycopg import errors

        from cs_mcp.workspace.backends import DuplicateKeys

        try:
            self.run(f"CREATE UNIQUE INDEX ON {table} ({', '.join(qualified([k]) for k in key)})")
        except errors.UniqueViolation as exc:
            self.run(f"DROP TABLE IF EXISTS pg_temp.{table}")
            raise DuplicateKeys(table) from exc

    def create_table(self, name: str, columns: list[tuple[str, str]], rows: list[tuple]) -> None:
        pg_types = {"VARCHAR": "TEXT", "DOUBLE": "DOUBLE PRECISION"}
        cols = ", ".join(f"{qualified([c])} {pg_types.get(t, t)}" for c, t in columns)
        self.run(f"DROP TABLE IF EXISTS pg_temp.{qualified([name])}")
        self.run(f"CREATE TEMPORARY TABLE {qualified([name])} ({cols})")
        if rows:
            marks = ", ".join("%s" for _ in columns)
            with self._lock:
                cur = self._raw().cursor()
                cur.executemany(f"INSERT INTO {qualified([name])} VALUES ({marks})", rows)
                cur.close()

    def close(self) -> None:
        try:
            self.conn.close()
        finally:
            self.engine.dispose()


def driver_url(url: str) -> str:
    """postgresql://... or postgres://... as the SQLAlchemy URL of the psycopg 3 driver."""
    scheme, rest = url.split("://", 1)
    if "+" in scheme:
        return url
    return "postgresql+psycopg://" + rest


def qualified(parts: list[str]) -> str:
    return ".".join('"' + p.replace('"', '""') + '"' for p in parts)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
