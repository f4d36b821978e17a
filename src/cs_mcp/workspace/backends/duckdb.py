"""Embedded DuckDB: the workspace folder's own database, or an existing database file attached read-only."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cs_mcp.workspace.sql import Columns, normalize_numpy

if TYPE_CHECKING:
    import duckdb

SOURCE_CATALOG = "src"
"""Name under which a `duckdb:///` database is attached; the validated views live in the in-memory catalog."""


class DuckDBBackend:
    dialect = "duckdb"
    checks_unique_keys = False

    def __init__(self, con: duckdb.DuckDBPyConnection, label: str = "duckdb", attached: bool = False) -> None:
        self.con = con
        self.label = label
        self.attached = attached

    @classmethod
    def attach(cls, path: Path | None, memory_limit: str | None = None, **_: Any) -> DuckDBBackend:
        import duckdb

        from cs_mcp.workspace.backends import BackendUnavailable
        from cs_mcp.workspace.engine import literal

        if path is None or not path.is_file():
            raise BackendUnavailable(f"DuckDB database {path} does not exist: pass duckdb:///absolute/path.db")
        con = duckdb.connect(":memory:")
        con.execute("SET enable_progress_bar = false")
        if memory_limit:
            con.execute("SET memory_limit = $m", {"m": memory_limit})
        # ATTACH takes no parameters; the path is quoted as a string literal, never run as SQL
        con.execute(f"ATTACH {literal(str(path))} AS {SOURCE_CATALOG} (READ_ONLY)")
        return cls(con, f"duckdb:///{path}", attached=True)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self.con.cursor()

    def columns(self, sql: str, params: dict[str, Any]) -> Columns:
        # a relation's fetchnumpy, not execute()'s: for the million-row feature query it is 12 s against 20 s
        result = self.con.cursor().sql(sql, params=params or None)
        types = {name: str(t) for name, t in zip(result.columns, result.types, strict=True)}
        return normalize_numpy(result.fetchnumpy(), types)

    def rows(self, sql: str, params: dict[str, Any]) -> tuple[list[str], list[tuple]]:
        cur = self.con.cursor().execute(sql, params or None)
        return [d[0] for d in cur.description], cur.fetchall()

    def run(self, sql: str) -> None:
        self.con.cursor().execute(sql)

    def relation(self, table: str, schema: str | None = None) -> str | None:
        if not self.attached:
            return None
        found = self.con.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_catalog = $c "
            "AND table_name = $t AND table_schema = COALESCE($s, 'main')",
            {"c": SOURCE_CATALOG, "t": table, "s": schema},
        ).fetchone()
        return qualified([SOURCE_CATALOG, found[0], table]) if found else None

    def qualify(self, name: str) -> str:
        """A user's `schema.table` or `table` inside the attached database."""
        parts = name.split(".")
        if len(parts) == 1:
            parts = [SOURCE_CATALOG, "main", *parts]
        elif len(parts) == 2:
            parts = [SOURCE_CATALOG, *parts]
        return qualified(parts)

    def describe(self, relation: str) -> list[tuple[str, str]]:
        cur = self.con.cursor().execute(f"SELECT * FROM {relation} LIMIT 0")
        return [(d[0], str(d[1])) for d in cur.description]

    def create_view(self, name: str, sql: str, materialize: bool = False, index: str | None = None,
                    unique: Sequence[str] = ()) -> None:
        # a view in the in-memory catalog, so every cursor of the connection sees it
        self.con.execute(f"CREATE OR REPLACE VIEW memory.main.{qualified([name])} AS {sql}")

    def create_table(self, name: str, columns: list[tuple[str, str]], rows: list[tuple]) -> None:
        cols = ", ".join(f"{qualified([c])} {t}" for c, t in columns)
        self.con.execute(f"CREATE OR REPLACE TABLE memory.main.{qualified([name])} ({cols})")
        if rows:
            marks = ", ".join("?" for _ in columns)
            self.con.executemany(f"INSERT INTO memory.main.{qualified([name])} VALUES ({marks})", rows)

    def close(self) -> None:
        self.con.close()


def qualified(parts: list[str]) -> str:
    return ".".join('"' + p.replace('"', '""') + '"' for p in parts)
