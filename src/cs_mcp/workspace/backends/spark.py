"""Spark through pyspark: local mode (`spark://local`) or a Spark Connect server (`sc://host:port`).

Queries run with named parameter markers (`spark.sql(text, args=...)`, Spark 3.5+). Temporary views are
per session and the session is per process: one workspace is served at a time (opening another replaces
the views). The session is set to behave like DuckDB where the two differ by default: UTC session time
zone and timestamps without time zone, and ANSI mode off (x / 0 is NULL, as in DuckDB).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cs_mcp.workspace.sql import Columns, columns_from_rows

SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.ansi.enabled": "false",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.sql.adaptive.enabled": "true",
}
_session_lock = threading.Lock()
_serving: dict[int, SparkBackend] = {}
"""The backend whose views a session holds, by session."""


class SparkBackend:
    dialect = "spark"
    checks_unique_keys = False

    def __init__(self, url: str) -> None:
        from cs_mcp.workspace.backends import redact

        self.label = redact(url)
        self.spark = session(url)
        self._views: list[str] = []
        # temporary views are the session's: the workspace served before this one gives its names up
        with _session_lock:
            previous = _serving.get(id(self.spark))
            _serving[id(self.spark)] = self
        if previous is not None:
            previous.close()

    def rows(self, sql: str, params: dict[str, Any]) -> tuple[list[str], list[tuple]]:
        df = self.spark.sql(sql, args=params or None)
        return list(df.columns), [tuple(r) for r in df.collect()]

    def columns(self, sql: str, params: dict[str, Any]) -> Columns:
        names, rows = self.rows(sql, params)
        return columns_from_rows(names, rows)

    def run(self, sql: str) -> None:
        self.spark.sql(sql)

    def relation(self, table: str, schema: str | None = None) -> str | None:
        name = f"{schema}.{table}" if schema else table
        try:
            if self.spark.catalog.tableExists(name):
                return qualified([schema or self.spark.catalog.currentDatabase(), table])
        except Exception:  # an unknown database: look for files below
            pass
        # local mode keeps no catalog between processes: a table saved earlier is a Parquet folder
        folder = self.warehouse_folder(table, schema)
        if folder is not None and folder.is_dir():
            return "parquet." + qualified([str(folder)])
        return None

    def warehouse_folder(self, table: str, schema: str | None = None) -> Path | None:
        from urllib.parse import urlsplit

        root = self.spark.conf.get("spark.sql.warehouse.dir", None)
        if not root:
            return None
        base = Path(urlsplit(root).path if root.startswith("file:") else root)
        return base / f"{schema}.db" / table if schema else base / table

    def qualify(self, name: str) -> str:
        return qualified(name.split("."))

    def describe(self, relation: str) -> list[tuple[str, str]]:
        df = self.spark.sql(f"SELECT * FROM {relation} LIMIT 0")
        return [(f.name, f.dataType.simpleString()) for f in df.schema.fields]

    def create_view(self, name: str, sql: str, materialize: bool = False, index: str | None = None,
                    unique: Sequence[str] = ()) -> None:
        # cached: each view reads the one before (stage -> valid rows -> children), and Spark would
        # otherwise re-plan and re-run the whole chain for every query
        # LAZY: filled by the first query that reads it, not by a job of its own
        self._drop(name)
        self.spark.sql(f"CACHE LAZY TABLE {qualified([name])} AS {sql}")
        self._views.append(name)

    def create_table(self, name: str, columns: list[tuple[str, str]], rows: list[tuple]) -> None:
        spark_types = {"VARCHAR": "STRING", "DOUBLE": "DOUBLE", "BIGINT": "BIGINT", "DATE": "DATE"}
        ddl = ", ".join(f"`{c}` {spark_types.get(t, t)}" for c, t in columns)
        self.spark.createDataFrame(rows, ddl).createOrReplaceTempView(name)
        self._views.append(name)

    def close(self) -> None:
        # the session is shared by the process (one JVM): drop this workspace's views, keep the session
        for name in self._views:
            self._drop(name)
        self._views.clear()

    def _drop(self, name: str) -> None:
        try:
            self.spark.sql(f"UNCACHE TABLE IF EXISTS {qualified([name])}")
        except Exception:  # not cached, or the session is gone
            pass
        try:
            self.spark.catalog.dropTempView(name)
        except Exception:  # already gone with a stopped session
            pass


def session(url: str) -> Any:
    """The process's SparkSession for a spark:// or sc:// URL (created once, then reused)."""
    from cs_mcp.workspace.backends import BackendUnavailable

    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise BackendUnavailable("Spark needs the spark extra: pip install 'customer-success-mcp[spark]'") from exc
    scheme, rest = url.split("://", 1)
    host, _, query = rest.partition("?")
    host = host.strip("/")  # urlsplit refuses local[4]: brackets read as an IPv6 address
    options = {k: v[-1] for k, v in parse_qs(query).items()}
    with _session_lock:
        if scheme == "sc":
            builder = SparkSession.builder.remote(url.split("?", 1)[0])
        else:
            host = host or "local"
            master = host if host.startswith("local") else "local[2]" if host == "local" else f"spark://{host}"
            builder = SparkSession.builder.master(master).appName("cs-mcp")
            if "warehouse" in options:
                builder = builder.config("spark.sql.warehouse.dir", options["warehouse"])
            if "memory" in options:
                builder = builder.config("spark.driver.memory", options["memory"])
        for key, value in SESSION_CONF.items():
            builder = builder.config(key, value)
        try:
            spark = builder.getOrCreate()
        except Exception as exc:  # no Java, or the server cannot be reached
            raise BackendUnavailable(f"cannot start Spark for {url}: {str(exc).strip().splitlines()[0]}") from exc
        for key, value in SESSION_CONF.items():
            if not key.startswith("spark.ui"):
                spark.conf.set(key, value)
        if scheme != "sc":
            spark.sparkContext.setLogLevel("ERROR")
        return spark


def qualified(parts: list[str]) -> str:
    return ".".join("`" + p.replace("`", "``") + "`" for p in parts)
