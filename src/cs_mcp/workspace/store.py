"""On-disk DuckDB databases, one per workspace version, so big workspaces stay out of process memory.

A workspace folder is loaded once into `<cache>/duckdb/<root>-<version>.duckdb` (the cache folder is
`$CS_MCP_CACHE_DIR`, default `~/.cache/cs-mcp`); a restart on unchanged files reopens that file read-only
instead of loading again, and DuckDB pages the tables in as queries need them (`data.duckdb_memory_limit`
caps its memory; larger work spills to the cache folder). A new version replaces the older files of the
same folder. The data-quality report is kept inside the database, beside the tables it describes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from cs_mcp.workspace.quality import DataQualityReport

if TYPE_CHECKING:
    import duckdb

    from cs_mcp.config import Settings

log = logging.getLogger("cs_mcp")

FORMAT = "2"
"""Bumped when the layout of the stored database changes."""
META_TABLE = "_cs_meta"


def cache_root() -> Path:
    return Path(os.environ.get("CS_MCP_CACHE_DIR") or Path.home() / ".cache" / "cs-mcp")


def database_file(settings: Settings, root: Path, version: str) -> Path:
    """Where the database of this folder, version and loading code lives."""
    import duckdb

    from cs_mcp.workspace import engine, loader, schema

    h = hashlib.sha256()
    for part in (FORMAT, duckdb.__version__, version,
                 settings.data.model_dump_json(include={"tables", "max_reported_problems", "parquet_in_place"})):
        h.update(part.encode() + b"\0")
    for module in (loader, engine, schema):
        h.update(Path(module.__file__).read_bytes())
    return cache_root() / "duckdb" / f"{folder_key(root)}-{h.hexdigest()[:16]}.duckdb"


def folder_key(root: Path) -> str:
    """A short name of a workspace folder, the prefix of its database and memo files."""
    return hashlib.sha256(str(root).encode()).hexdigest()[:10]


def building_file(final: Path) -> Path:
    return final.with_name(f"{final.stem}.{os.getpid()}.building")


def configure(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Session settings of every workspace connection: the memory cap and where to spill."""
    con.execute("SET enable_progress_bar = false")
    # tables read in place are views over Parquet: keep each file's footer instead of reading it per query
    con.execute("SET parquet_metadata_cache = true")
    if settings.data.duckdb_memory_limit:
        con.execute("SET memory_limit = $m", {"m": settings.data.duckdb_memory_limit})
    spill = cache_root() / "duckdb" / "spill"
    spill.mkdir(parents=True, exist_ok=True)
    con.execute("SET temp_directory = $d", {"d": str(spill)})


def save_report(con: duckdb.DuckDBPyConnection, report: DataQualityReport,
                newest: dict[str, dt.date | None]) -> None:
    """Keep the quality report and the newest date of each activity column (as_of is chosen again at each
    start, since data.as_of: latest never picks a date after today; those dates spare the scan)."""
    con.execute(f"CREATE OR REPLACE TABLE {META_TABLE} (report VARCHAR, newest VARCHAR)")
    dates = {k: None if d is None else d.isoformat() for k, d in newest.items()}
    con.execute(f"INSERT INTO {META_TABLE} VALUES ($r, $n)", {"r": report.model_dump_json(), "n": json.dumps(dates)})


def publish(con: duckdb.DuckDBPyConnection, building: Path, final: Path, settings: Settings
            ) -> duckdb.DuckDBPyConnection:
    """Close the freshly built database, move it into place, drop older versions, reopen it read-only."""
    con.execute("CHECKPOINT")
    con.close()
    os.replace(building, final)
    for old in final.parent.glob(f"{final.name.split('-')[0]}-*.duckdb"):
        if old != final:
            try:
                old.unlink()
            except OSError:  # another process may still hold it open; the next start retries
                log.debug("could not remove an older workspace database %s", old, exc_info=True)
    return reopen(final, settings)


def reopen(path: Path, settings: Settings) -> duckdb.DuckDBPyConnection:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    configure(con, settings)
    return con


def stored_report(con: duckdb.DuckDBPyConnection) -> tuple[DataQualityReport, dict[str, dt.date | None]] | None:
    """The stored quality report and newest activity dates (None: an older or half-written file)."""
    try:
        row = con.execute(f"SELECT report, newest FROM {META_TABLE}").fetchone()
    except Exception:  # an older or half-written file: rebuild it
        return None
    if not row:
        return None
    newest = {k: None if d is None else dt.date.fromisoformat(d) for k, d in json.loads(row[1]).items()}
    return DataQualityReport.model_validate_json(row[0]), newest
