"""Saved onboarding plans: one JSON file per plan, in a folder that can be written, safe against crashes and races.

Every write goes to a temporary file in the same folder, is fsynced, renamed over the plan (os.replace, atomic)
and the folder fsynced: a reader sees the old plan or the new one, never a part, and an acknowledged write
survives a crash. Writers take `PlanStore.lock`, which is held by one thread of one process at a time (a
thread lock, then an exclusive flock on `<folder>/.lock`), so read-modify-write cycles of two processes
(two clients each with its own server) never overwrite each other's update. Readers take no lock.

Where plans live, first match wins:
1. `$CS_MCP_STATE_DIR/plans` when the variable is set;
2. `<workspace>/.cs-mcp/plans` for a workspace folder of the user's that can be written (the loader
   skips dot-folders, so plans never count as data);
3. `$XDG_STATE_HOME/cs-mcp/plans` (default `~/.local/state/cs-mcp/plans`) for the bundled demo, a
   workspace inside site-packages, or a read-only folder;
4. `<temp dir>/cs-mcp-state/plans` when even that cannot be written.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from cs_mcp.domain.errors import InvalidArgument

STATE_ENV = "CS_MCP_STATE_DIR"
FORMAT_VERSION = 1
PLAN_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
LOCK_FILE = ".lock"
LOCK_TIMEOUT_SECONDS = 30.0
"""A writer waits this long for another process's read-modify-write (a few milliseconds each) before giving up."""
TEMP_SUFFIX = ".tmp"

M = TypeVar("M", bound=BaseModel)

_locks: dict[Path, FolderLock] = {}
_locks_guard = threading.Lock()


class CorruptPlan(InvalidArgument):
    """A stored plan file that cannot be read back; the message names the file and how to fix it."""


def _writable(path: Path) -> bool:
    """True when `path` exists writable, or could be created under its nearest existing ancestor."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate.is_dir() and os.access(candidate, os.W_OK | os.X_OK)
    return False


def _packaged(path: Path) -> bool:
    from cs_mcp.workspace.loader import demo_path

    resolved = path.resolve()
    if resolved == demo_path().resolve():
        return True
    return any(part in ("site-packages", "dist-packages") for part in resolved.parts)


def user_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    folder = Path(base).expanduser() / "cs-mcp"
    if _writable(folder):
        return folder
    return Path(tempfile.gettempdir()) / "cs-mcp-state"


def plans_dir(workspace_path: Path | None) -> Path:
    """The folder holding the saved plans of the workspace at `workspace_path` (see the module doc)."""
    env = os.environ.get(STATE_ENV)
    if env:
        return Path(env).expanduser() / "plans"
    if workspace_path is not None and not _packaged(workspace_path):
        folder = workspace_path / ".cs-mcp" / "plans"
        if _writable(folder):
            return folder
    return user_state_dir() / "plans"


def check_plan_id(plan_id: str) -> str:
    """The id normalized to lower case; InvalidArgument for anything that is not a plan id."""
    pid = plan_id.strip().lower()
    if not PLAN_ID.match(pid):
        raise InvalidArgument(
            f"'{plan_id}' is not a plan id (lower-case letters, digits and dashes, e.g. 'a-1-20270201'). "
            "action=list shows the saved plans; action=get with account finds an account's plan."
        )
    return pid


class FolderLock:
    """Exclusive to one thread of one process at a time: a re-entrant thread lock, then flock on `<root>/.lock`.

    The flock goes with the process: one killed while holding it frees it at once.
    """

    def __init__(self, root: Path):
        self.root = root
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def __enter__(self) -> FolderLock:
        if not self._thread_lock.acquire(timeout=LOCK_TIMEOUT_SECONDS):
            raise self._busy()
        try:
            if self._depth == 0:
                self._fd = self._lock_file()
            self._depth += 1
        except BaseException:
            self._thread_lock.release()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None
        self._thread_lock.release()

    def _lock_file(self) -> int:
        import fcntl

        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise _unwritable(self.root, exc) from exc
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise self._busy() from None
                time.sleep(0.005)
            except OSError as exc:
                os.close(fd)
                raise _unwritable(self.root, exc) from exc

    def _busy(self) -> InvalidArgument:
        return InvalidArgument(
            f"Another process has held the lock on the plans in {self.root} for over {LOCK_TIMEOUT_SECONDS:.0f} s; "
            "try again shortly (or find the process holding the file .lock there)."
        )


def _unwritable(root: Path, exc: OSError) -> InvalidArgument:
    return InvalidArgument(
        f"Could not write the plan to {root} ({exc.strerror or exc}). Set {STATE_ENV} to a folder that can be "
        "written."
    )


def folder_lock(root: Path) -> FolderLock:
    """The one lock of the plans folder `root` in this process."""
    with _locks_guard:
        return _locks.setdefault(root.resolve(), FolderLock(root))


class PlanStore(Generic[M]):
    """JSON files `<root>/<plan_id>.json` holding `{"format": 1, "plan": {...}}`."""

    def __init__(self, root: Path, model: type[M]):
        self.root = root
        self.model = model
        self.lock = folder_lock(root)

    def file(self, plan_id: str) -> Path:
        return self.root / f"{check_plan_id(plan_id)}.json"

    def exists(self, plan_id: str) -> bool:
        return self.file(plan_id).is_file()

    def load(self, plan_id: str) -> M | None:
        """The plan, None when no such file; CorruptPlan when the file cannot be read back."""
        path = self.file(plan_id)
        if not path.is_file():
            return None
        plan, problem = self._read(path)
        if plan is None:
            raise CorruptPlan(
                f"The saved plan file {path} cannot be read ({problem}). Fix or delete the file, then save the "
                "plan again with action=create, save=true."
            )
        return plan

    def load_all(self) -> tuple[list[M], list[str]]:
        """Every readable plan, and a line per file that could not be read."""
        if not self.root.is_dir():
            return [], []
        plans: list[M] = []
        problems: list[str] = []
        for path in sorted(self.root.glob("*.json")):
            plan, problem = self._read(path)
            if plan is None:
                problems.append(f"{path.name}: {problem}")
            else:
                plans.append(plan)
        return plans, problems

    def save(self, plan_id: str, plan: M) -> Path:
        """Validate the plan and write it atomically and durably (see the module doc), under the lock."""
        path = self.file(plan_id)
        checked = self.model.model_validate(plan.model_dump())
        text = json.dumps({"format": FORMAT_VERSION, "plan": checked.model_dump(mode="json")}, indent=1)
        with self.lock:
            try:
                self._remove_orphans()
                _write_durably(path, text.encode("utf-8"))
            except OSError as exc:
                raise _unwritable(self.root, exc) from exc
        return path

    def _remove_orphans(self) -> None:
        """Temporary files left by a writer that died mid-write (only writers holding the lock make them)."""
        for orphan in self.root.glob(f".*{TEMP_SUFFIX}"):
            orphan.unlink(missing_ok=True)

    def _read(self, path: Path) -> tuple[M | None, str]:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            return None, f"unreadable: {exc.strerror or exc}"
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return None, f"not valid JSON: {exc}"
        if not isinstance(raw, dict) or "plan" not in raw:
            return None, "not a saved plan (no 'plan' key)"
        if raw.get("format") != FORMAT_VERSION:
            return None, f"format {raw.get('format')!r}, this server reads format {FORMAT_VERSION}"
        try:
            return self.model.model_validate(raw["plan"]), ""
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            return None, f"invalid plan: {where}: {first['msg']} ({exc.error_count()} problem(s))"


def _write_durably(path: Path, data: bytes) -> None:
    """Temporary file in the same folder, fsync, os.replace over `path`, fsync the folder."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable; some platforms cannot open a folder for fsync, and lose only that.
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
