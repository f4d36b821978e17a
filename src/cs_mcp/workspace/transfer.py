"""`cs-mcp load`: copy a validated file workspace into a warehouse, one table per canonical table."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cs_mcp.workspace.backends import BackendUnavailable, parse_url, redact
from cs_mcp.workspace.engine import ident, literal

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace

PG_TYPES = {"VARCHAR": "TEXT", "DOUBLE": "DOUBLE PRECISION", "BIGINT": "BIGINT", "DATE": "DATE",
            "TIMESTAMP": "TIMESTAMP", "BOOLEAN": "BOOLEAN"}
COPY_BATCH = 50_000


def load_into(ws: Workspace, url: str, schema: str | None = None,
              progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Replace the warehouse's canonical tables with the workspace's valid rows; returns rows per table."""
    say = progress or (lambda _m: None)
    target = parse_url(url)
    tables = [t for t in _canonical_order(ws) if t in ws.tables]
    counts: dict[str, int] = {}
    if target.kind == "postgres":
        _load_postgres(ws, url, tables, schema, counts, say)
    elif target.kind in ("spark", "spark-connect"):
        _load_spark(ws, url, tables, schema, counts, say)
    elif target.kind == "duckdb":
        _load_duckdb(ws, target.path, tables, counts, say)
    else:
        raise BackendUnavailable(f"cs-mcp load needs a warehouse URL, not {redact(url)!r}")
    return counts


def _canonical_order(ws: Workspace) -> list[str]:
    from cs_mcp.workspace.schema import TABLES

    return list(TABLES)


def _columns(ws: Workspace, table: str) -> list[tuple[str, str]]:
    described = ws.cursor().execute(f"DESCRIBE {ident(table)}").fetchall()
    return [(r[0], str(r[1]).upper()) for r in described]


def _load_postgres(ws: Workspace, url: str, tables: list[str], schema: str | None,
                   counts: dict[str, int], say: Callable[[str], None]) -> None:
    from cs_mcp.workspace.backends.postgres import PostgresBackend, qualified

    pg = PostgresBackend(url)
    try:
        raw = pg._raw()
        if schema:
            pg.run(f"CREATE SCHEMA IF NOT EXISTS {qualified([schema])}")
        for table in tables:
            cols = _columns(ws, table)
            name = qualified([schema, table] if schema else [table])
            pg.run(f"DROP TABLE IF EXISTS {name}")
            pg.run(f"CREATE TABLE {name} (" + ", ".join(
                f"{qualified([c])} {PG_TYPES.get(t.split('(')[0], 'TEXT')}" for c, t in cols) + ")")
            col_list = ", ".join(qualified([c]) for c, _ in cols)
            cur = ws.cursor().execute(f"SELECT * FROM {ident(table)}")
            n = 0
            with raw.cursor() as pg_cur, pg_cur.copy(f"COPY {name} ({col_list}) FROM STDIN") as copy:
                while batch := cur.fetchmany(COPY_BATCH):
                    for row in batch:
                        copy.write_row(row)
                    n += len(batch)
            raw.commit() if not raw.autocommit else None
            pg.run(f"ANALYZE {name}")
            counts[table] = n
            say(f"{table}: {n:,} rows -> {name}")
    finally:
        pg.close()


def _load_spark(ws: Workspace, url: str, tables: list[str], schema: str | None,
                counts: dict[str, int], say: Callable[[str], None]) -> None:
    from cs_mcp.workspace.backends.spark import qualified, session

    spark = session(url)
    if schema:
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {qualified([schema])}")
    with tempfile.TemporaryDirectory(prefix="cs-mcp-load-") as tmp:
        for table in tables:
            # DuckDB writes Parquet, Spark reads it: no row passes through Python
            path = Path(tmp) / f"{table}.parquet"
            ws.cursor().execute(f"COPY {ident(table)} TO {literal(str(path))} (FORMAT parquet)")
            df = spark.read.parquet(str(path))
            name = qualified([schema, table] if schema else [table])
            spark.sql(f"DROP TABLE IF EXISTS {name}")
            df.write.mode("overwrite").saveAsTable(name.replace("`", ""))
            counts[table] = int(ws.cursor().execute(f"SELECT count(*) FROM {ident(table)}").fetchone()[0])
            say(f"{table}: {counts[table]:,} rows -> {name}")


def _load_duckdb(ws: Workspace, path: Path | None, tables: list[str], counts: dict[str, int],
                 say: Callable[[str], None]) -> None:
    import duckdb

    if path is None:
        raise BackendUnavailable("cs-mcp load into DuckDB needs duckdb:///path/to.db")
    path.parent.mkdir(parents=True, exist_ok=True)
    target = duckdb.connect(str(path))
    try:
        with tempfile.TemporaryDirectory(prefix="cs-mcp-load-") as tmp:
            for table in tables:
                # through Parquet: the workspace's own database may be open read-only
                part = Path(tmp) / f"{table}.parquet"
                ws.cursor().execute(f"COPY {ident(table)} TO {literal(str(part))} (FORMAT parquet)")
                target.execute(f"CREATE OR REPLACE TABLE {ident(table)} AS SELECT * FROM read_parquet($p)",
                               {"p": str(part)})
                counts[table] = int(target.execute(f"SELECT count(*) FROM {ident(table)}").fetchone()[0])
                say(f"{table}: {counts[table]:,} rows -> {path}")
    finally:
        target.close()
