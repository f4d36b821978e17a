"""A per-workspace memo: results computed once per loaded version of the data."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace

T = TypeVar("T")
_locks_guard = threading.Lock()


def cached(ws: Workspace, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """`compute()` once per workspace object (one version of the data) and key, also across threads."""
    store: dict[Any, Any] = ws.__dict__.setdefault("_cache", {})
    if key in store:
        return store[key]
    with _locks_guard:
        locks: dict[Any, threading.Lock] = ws.__dict__.setdefault("_cache_locks", {})
        lock = locks.setdefault(key, threading.Lock())
    with lock:
        if key not in store:
            store[key] = compute()
        return store[key]
