"""A per-workspace memo: results computed once per loaded version of the data, some kept on disk too.

The results a warm restart needs (the portfolio feature snapshot, the churn scores, the churn model's
account facts, the renewal book) are also pickled to `<cache>/memo/`, keyed by the workspace folder, its
data version, its as-of date, the memo key (which holds the settings it depends on) and a hash of the code
that computes them, so a restart on unchanged files answers the first portfolio question without recomputing
them; a new data version's memos replace the folder's older ones. Those files are written by a background
thread while the work goes on (at a million accounts they are about 1 GB, 10 s or more on a slow disk);
`finish_writes` waits for them.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import gc
import hashlib
import logging
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Workspace

T = TypeVar("T")
_locks_guard = threading.Lock()
log = logging.getLogger("cs_mcp")

PERSISTED = frozenset({"portfolio", "churn-scores", "churn-facts", "renewal-base", "churn-order", "feature_catalogue"})
"""Memo keys (their first element) kept on disk across restarts."""
KEEP_FILES = 64
STALE_TEMPORARY_SECONDS = 3600
"""A temporary memo file older than this was left by a process that ended while writing it."""
_writer: concurrent.futures.ThreadPoolExecutor | None = None
_pending: set[concurrent.futures.Future[None]] = set()


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
            path = _disk_path(ws, key)
            value = _read(path) if path is not None else _MISSING
            if value is _MISSING:
                value = compute()
                if path is not None:
                    _write_later(path, value)
            store[key] = value
        return store[key]


_MISSING = object()


def in_memory(ws: Workspace, key: tuple[Any, ...]) -> bool:
    """Whether `cached(ws, key, ...)` would answer without computing or reading a file."""
    return key in ws.__dict__.get("_cache", {})


def _disk_path(ws: Workspace, key: tuple[Any, ...]) -> Path | None:
    if not key or key[0] not in PERSISTED or getattr(ws, "path", None) is None:
        return None
    if not getattr(ws.settings.data, "duckdb_on_disk", True):
        return None
    from cs_mcp.workspace.store import cache_root, folder_key

    h = hashlib.sha256("\0".join([str(ws.path), ws.version, str(ws.as_of), repr(key), _code_hash()]).encode())
    return cache_root() / "memo" / f"{folder_key(ws.path)}-{ws.version}-{h.hexdigest()[:24]}.pkl"


@functools.lru_cache(maxsize=1)
def _code_hash() -> str:
    """Hash of the domain and workspace code: an upgrade never reads a memo computed by other code."""
    import numpy

    import cs_mcp.domain
    import cs_mcp.workspace

    h = hashlib.sha256(numpy.__version__.encode())
    for package in (cs_mcp.domain, cs_mcp.workspace):
        for f in sorted(Path(package.__file__).parent.rglob("*.py")):
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


class _Pickler(pickle.Pickler):
    """Pickles locks as new locks (memo values may hold one to guard lazily filled fields)."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, type(threading.Lock())):
            return threading.Lock, ()
        if isinstance(obj, type(threading.RLock())):
            return threading.RLock, ()
        return NotImplemented


def _write_later(path: Path, value: Any) -> None:
    """Pickle `value` to `path` in the background writer thread (one at a time, in the order asked)."""
    global _writer
    with _locks_guard:
        if _writer is None:
            _writer = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="cs-mcp-memo")
        try:
            future = _writer.submit(_write, path, value)
        except RuntimeError:  # the interpreter is shutting down: the value stays in memory only
            log.debug("memo %s not kept on disk: shutting down", path)
            return
        _pending.add(future)
    future.add_done_callback(_forget)


def _forget(future: concurrent.futures.Future[None]) -> None:
    with _locks_guard:
        _pending.discard(future)


def finish_writes(timeout: float | None = None) -> bool:
    """Wait up to `timeout` seconds (None: as long as it takes) for memo files still being written; whether
    all of them landed. A process that ends normally waits for them anyway; one that ends with os._exit
    (the stdio server) calls this first."""
    with _locks_guard:
        pending = list(_pending)
    return not concurrent.futures.wait(pending, timeout).not_done


def _read(path: Path) -> Any:
    if not path.is_file():
        return _MISSING
    try:
        with path.open("rb") as fh, _collector_paused():
            return pickle.load(fh)
    except Exception:  # a stale or damaged file only costs recomputing
        log.debug("ignoring unreadable memo %s", path, exc_info=True)
        return _MISSING


_paused = 0
"""Memo reads under way with the collector paused (a read restores it only when it is the last)."""
_was_enabled = True
_paused_guard = threading.Lock()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while memos are unpickled (also by several threads at once): the
    millions of objects a portfolio memo creates would set off collections over the whole growing heap,
    about a second of a restart at a million accounts."""
    global _paused, _was_enabled
    with _paused_guard:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _paused_guard:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()


def _write(path: Path, value: Any) -> None:
    """Pickle `value` straight into a temporary file beside `path`, then move it into place (never a copy of
    the whole pickle in memory: the portfolio of a million accounts pickles to 700 MB)."""
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as fh:
            _Pickler(fh, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
        os.replace(tmp, path)
    except OSError:
        log.debug("could not write the memo %s", path, exc_info=True)
        tmp.unlink(missing_ok=True)
        return
    except Exception:  # a value that cannot be pickled stays in memory only
        log.debug("memo %s not kept on disk", path, exc_info=True)
        tmp.unlink(missing_ok=True)
        return
    try:
        _drop_other_versions(path)
        for old in sorted(path.parent.glob("*.pkl"), key=lambda f: f.stat().st_mtime, reverse=True)[KEEP_FILES:]:
            old.unlink(missing_ok=True)
        for left in path.parent.glob("*.tmp"):
            if time.time() - left.stat().st_mtime > STALE_TEMPORARY_SECONDS:
                left.unlink(missing_ok=True)
    except OSError:
        log.debug("could not prune the memo folder %s", path.parent, exc_info=True)


def _drop_other_versions(path: Path) -> None:
    """Remove the memos of the same folder's other data versions (`<folder>-<version>-<key>.pkl`): a new version
    replaces them, as it replaces the folder's database, instead of leaving a gigabyte per data refresh at a
    million accounts."""
    parts = path.name.split("-")
    if len(parts) != 3:
        return
    folder, version = parts[0], parts[1]
    for other in path.parent.glob(f"{folder}-*-*.pkl"):
        if other.name.split("-")[1] != version:
            other.unlink(missing_ok=True)
