"""Turning a query result into column arrays the domain computes with."""

from __future__ import annotations

from typing import Any


def fetch_columns(cur: Any, sql: str, params: dict[str, Any] | list[Any] | None = None) -> dict[str, Any]:
    """Run `sql` and return its columns: numbers as float arrays (NULL = NaN), everything else as objects."""
    import numpy as np

    raw = cur.execute(sql, params or {}).fetchnumpy()
    out: dict[str, Any] = {}
    for k, col in raw.items():
        if np.ma.isMaskedArray(col):
            if col.dtype.kind in "iufb":
                out[k] = np.ma.filled(col.astype(float), np.nan)
            else:
                text = np.array(np.ma.getdata(col), dtype=object)
                text[np.ma.getmaskarray(col)] = None
                out[k] = text
        elif col.dtype.kind in "iufb":
            out[k] = col.astype(float)
        else:
            out[k] = np.asarray(col, dtype=object)
    return out
