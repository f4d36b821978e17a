"""Disk cache of fitted models, which cannot be made to run code by anyone but the user who wrote it.

A fitted scikit-learn model is a pickle, and unpickling runs whatever the file says. So every file is
signed: HMAC-SHA256 over its content and name, keyed by a random secret that only this user can read
(`<root>/signing.key`, mode 0600). A file is unpickled only after its signature checks out; anything
else (an old unsigned pickle, a file someone edited, one signed with another key, one copied from another
slot) is ignored and the model refitted. The cache folders are created 0700; a folder that another user
owns or that group or others may write is not used at all (the model is refitted every time instead).

Root: `$CS_MCP_CACHE_DIR`, else `~/.cache/cs-mcp`; models of one kind live in `<root>/<kind>/`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
import tempfile
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger("cs_mcp.model_store")

CACHE_ENV = "CS_MCP_CACHE_DIR"
KEY_FILE = "signing.key"
KEY_BYTES = 32
MAGIC = b"cs-mcp signed model v1\n"
SUFFIX = ".model"
LEGACY_SUFFIX = ".pkl"
"""Unsigned pickles of earlier versions: never read, deleted when the folder is pruned."""
TAG_BYTES = hashlib.sha256().digest_size

T = TypeVar("T")


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "cs-mcp").expanduser()


def cache_file(kind: str, key: str) -> Path:
    """Where the model of `kind` for the cache key `key` (any text naming what it was fitted on) is kept."""
    return cache_root() / kind / (hashlib.sha256(key.encode()).hexdigest()[:24] + SUFFIX)


def load(path: Path | None, expected: type[T]) -> T | None:
    """The model stored at `path` when its signature is ours and it is an `expected`; else None (refit)."""
    if path is None or not path.is_file():
        return None
    key = _signing_key(path.parent.parent, create=False)
    if key is None or not _private_folder(path.parent, create=False):
        return None
    try:
        blob = _read_own_file(path)
    except OSError:
        log.debug("model cache %s cannot be read", path, exc_info=True)
        return None
    payload = _verified_payload(blob, path.name, key)
    if payload is None:
        log.debug("model cache %s is not signed by this user's key: ignored, the model is refitted", path)
        return None
    import pickle

    try:
        model = pickle.loads(payload)
    except Exception:  # signed by us but written by an incompatible version: only costs a refit
        log.debug("model cache %s does not load", path, exc_info=True)
        return None
    return model if isinstance(model, expected) else None


def save(path: Path | None, model: Any, keep: int = 20) -> None:
    """Sign and write `model` to `path` (atomically, 0600), then keep only the `keep` newest files there."""
    if path is None:
        return
    import pickle

    root, folder = path.parent.parent, path.parent
    try:
        if not (_private_folder(root, create=True) and _private_folder(folder, create=True)):
            return
        key = _signing_key(root, create=True)
        if key is None:
            return
        payload = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        _write_atomically(path, MAGIC + _tag(key, path.name, payload) + payload)
        _prune(folder, keep)
    except OSError:
        log.debug("could not write the model cache %s", path, exc_info=True)


def _tag(key: bytes, name: str, payload: bytes) -> bytes:
    # The file name is the cache slot (data version, settings, code): signing it stops a valid file
    # from being served for another slot.
    mac = hmac.new(key, MAGIC + name.encode() + b"\0", hashlib.sha256)
    mac.update(payload)
    return mac.digest()


def _verified_payload(blob: bytes, name: str, key: bytes) -> bytes | None:
    head = len(MAGIC) + TAG_BYTES
    if len(blob) < head or not blob.startswith(MAGIC):
        return None
    tag, payload = blob[len(MAGIC):head], blob[head:]
    return payload if hmac.compare_digest(tag, _tag(key, name, payload)) else None


def _private_folder(folder: Path, create: bool) -> bool:
    """True when `folder` is a directory of ours that nobody else can write (made 0700 when created)."""
    if create:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            log.debug("cannot create the model cache folder %s", folder, exc_info=True)
            return False
    try:
        st = folder.stat()
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode):
        log.debug("model cache %s is not a folder: not used", folder)
        return False
    if st.st_uid != os.geteuid():
        log.debug("model cache folder %s belongs to another user (uid %s): not used", folder, st.st_uid)
        return False
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        log.debug("model cache folder %s can be written by group or others (mode %o): not used",
                  folder, stat.S_IMODE(st.st_mode))
        return False
    if st.st_mode & 0o077:  # ours and only readable by others (an earlier version's 0755): close it
        try:
            folder.chmod(0o700)
        except OSError:
            log.debug("cannot make %s private", folder, exc_info=True)
    return True


def _signing_key(root: Path, create: bool) -> bytes | None:
    """This user's secret key for signing models, created on first use; None when it cannot be trusted."""
    path = root / KEY_FILE
    if not _private_folder(root, create=False):
        return None
    try:
        key = _read_own_file(path, private=True)
    except FileNotFoundError:
        if not create:
            return None
        key = _create_key(path)
    except OSError:
        log.debug("model signing key %s is unusable: models are not cached", path, exc_info=True)
        return None
    if len(key) != KEY_BYTES:
        log.debug("model signing key %s has %d bytes, not %d: models are not cached", path, len(key), KEY_BYTES)
        return None
    return key


def _create_key(path: Path) -> bytes:
    """A new random key at `path`; when another process made one first, theirs is used."""
    fd, tmp = tempfile.mkstemp(prefix=".key.", dir=path.parent)  # mkstemp files are 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(KEY_BYTES))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # never replaces an existing key, and is never seen half written
        except FileExistsError:
            pass
    finally:
        Path(tmp).unlink(missing_ok=True)
    return _read_own_file(path, private=True)


def _read_own_file(path: Path, private: bool = False) -> bytes:
    """Content of a regular file that this user owns and nobody else can write (or, `private`, read)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        denied = 0o077 if private else (stat.S_IWGRP | stat.S_IWOTH)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & denied:
            raise PermissionError(f"{path} is not a private file of this user (mode {stat.S_IMODE(st.st_mode):o})")
        return fh.read()


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _prune(folder: Path, keep: int) -> None:
    for legacy in folder.glob(f"*{LEGACY_SUFFIX}"):
        legacy.unlink(missing_ok=True)
    models = sorted(folder.glob(f"*{SUFFIX}"), key=lambda f: f.stat().st_mtime, reverse=True)
    for old in models[keep:]:
        old.unlink(missing_ok=True)
