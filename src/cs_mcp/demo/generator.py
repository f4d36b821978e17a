"""Write a seeded synthetic Customer Success workspace whose churn outcomes carry (noisy) signal.

`cs_mcp.demo.world` draws the hidden per-account state, `cs_mcp.demo.tables` derives the
observable tables from it, and DuckDB formats and writes each one from numpy arrays.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal


def generate_workspace(
    out_dir: Path,
    accounts: int = 1000,
    seed: int = 42,
    fmt: Literal["csv", "parquet"] = "csv",
    as_of: dt.date = dt.date(2026, 10, 31),
    months: int = 36,
) -> dict[str, int]:
    """Write every table of the workspace into out_dir (created if needed); return rows written per table."""
    import duckdb

    from cs_mcp.demo.tables import BUILDERS
    from cs_mcp.demo.world import build_world

    if accounts < 1:
        raise ValueError("accounts must be at least 1")
    if not 6 <= months <= 72:
        raise ValueError("months must be between 6 and 72")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    w = build_world(accounts, seed, as_of, months)
    counts: dict[str, int] = {}
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    try:
        for name, build in BUILDERS.items():
            counts[name] = _write(con, name, *build(w), out / f"{name}.{fmt}", fmt)
    finally:
        con.close()
    return counts


def _write(
    con: Any, name: str, data: dict[str, Any], exprs: list[tuple[str, str]], path: Path, fmt: str
) -> int:
    """COPY one table from registered numpy arrays to a CSV or Parquet file; return its row count."""
    from cs_mcp.workspace.schema import TABLES

    expected = TABLES[name].column_names
    if [c for c, _ in exprs] != expected:
        raise AssertionError(f"{name}: columns {[c for c, _ in exprs]} differ from the schema {expected}")
    con.register("src", data)
    select = ", ".join(f'{e} AS "{c}"' for c, e in exprs)
    target = str(path).replace("'", "''")
    if fmt == "csv":
        options = "FORMAT csv, HEADER true, DATEFORMAT '%Y-%m-%d', TIMESTAMPFORMAT '%Y-%m-%d %H:%M:%S'"
    else:
        options = "FORMAT parquet, COMPRESSION zstd"
    con.execute(f"COPY (SELECT {select} FROM src) TO '{target}' ({options})")
    con.unregister("src")
    return len(next(iter(data.values())))


