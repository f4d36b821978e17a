"""Per-account text columns: a million rows hold a handful of distinct segments or CSM ids."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


def lowered(values: Any, missing: Any = None) -> np.ndarray:
    """Each value in lower case (`missing` for None), worked out once per distinct value and shared: one str
    object per value, not one per row (smaller in memory and in the memo pickles)."""
    import numpy as np

    seen: dict[Any, Any] = {}
    out = []
    for v in values.tolist() if hasattr(values, "tolist") else values:
        if v not in seen:
            seen[v] = missing if v is None else str(v).lower()
        out.append(seen[v])
    return np.array(out, dtype=object)


def shared(values: Any) -> np.ndarray:
    """The same values with one object per distinct value (labels such as 'at_risk' or 'expand')."""
    import numpy as np

    seen: dict[Any, Any] = {}
    return np.array([seen.setdefault(v, v) for v in (values.tolist() if hasattr(values, "tolist") else values)],
                    dtype=object)
