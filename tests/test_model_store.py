"""The model disk cache runs no code it did not write: signed files, private folders, refits otherwise."""

import os
import pickle
import stat
from pathlib import Path

import numpy as np
import pytest
from test_churn import write_flat_export

from cs_mcp.config import load_settings
from cs_mcp.domain import churn_model
from cs_mcp.domain.churn_model import FittedModel, churn_scores
from cs_mcp.workspace import model_store
from cs_mcp.workspace.loader import open_workspace


class RunsCode:
    """A pickle that, once loaded, writes a marker file: what an attacker would plant in a cache folder."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "code ran"))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def cache_root(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv(model_store.CACHE_ENV, str(root))
    return root


@pytest.fixture(scope="module")
def flat_export(tmp_path_factory):
    path = tmp_path_factory.mktemp("flat-export-cache")
    write_flat_export(path, n=300, seed=5)
    with (path / "cs-mcp.yaml").open("a") as fh:
        fh.write("churn:\n  candidates: [logistic]\n")  # one candidate: a quicker fit, same cache path
    return path


def fit_counter(monkeypatch) -> list[int]:
    fits: list[int] = []
    real = churn_model.fit_model

    def counting(*args, **kwargs):
        fits.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(churn_model, "fit_model", counting)
    return fits


def scores(path: Path) -> tuple[np.ndarray, Path]:
    ws = open_workspace(load_settings(path))
    try:
        s = churn_scores(ws)
        assert s.method == "model"
        return np.asarray(s.probability).copy(), churn_model._cache_file(ws)
    finally:
        ws.close()


# ------------------------------------------------------------------------------------- the store itself


def test_a_saved_model_loads_back_and_the_folders_and_files_are_private(cache_root):
    path = model_store.cache_file("churn", "slot-1")
    model_store.save(path, {"weights": [1, 2, 3]})
    assert model_store.load(path, dict) == {"weights": [1, 2, 3]}
    assert mode(cache_root) == 0o700 and mode(cache_root / "churn") == 0o700
    assert mode(cache_root / model_store.KEY_FILE) == 0o600
    assert mode(path) == 0o600
    assert path.read_bytes().startswith(model_store.MAGIC)


def test_an_unsigned_pickle_that_would_run_code_is_never_unpickled(cache_root, tmp_path):
    marker = tmp_path / "marker"
    path = model_store.cache_file("churn", "slot-1")
    model_store.save(model_store.cache_file("churn", "other"), {"k": 1})  # key and folders exist
    path.write_bytes(pickle.dumps(RunsCode(marker)))
    assert model_store.load(path, object) is None
    # with our header but a made-up signature
    path.write_bytes(model_store.MAGIC + b"\0" * model_store.TAG_BYTES + pickle.dumps(RunsCode(marker)))
    assert model_store.load(path, object) is None
    assert not marker.exists()
    pickle.loads(pickle.dumps(RunsCode(marker)))  # the payload is live: loading it does run code
    assert marker.exists()


def test_a_file_signed_with_another_key_or_moved_to_another_slot_is_refused(cache_root, tmp_path):
    path = model_store.cache_file("churn", "slot-1")
    model_store.save(path, {"k": 1})
    moved = model_store.cache_file("churn", "slot-2")
    moved.write_bytes(path.read_bytes())
    assert model_store.load(moved, dict) is None
    (cache_root / model_store.KEY_FILE).write_bytes(os.urandom(model_store.KEY_BYTES))
    assert model_store.load(path, dict) is None


def test_a_tampered_payload_is_refused_even_with_the_signature_left_in_place(cache_root):
    path = model_store.cache_file("churn", "slot-1")
    model_store.save(path, {"threshold": 0.5})
    blob = bytearray(path.read_bytes())
    blob[-2] ^= 0x01
    path.write_bytes(bytes(blob))
    assert model_store.load(path, dict) is None


def test_a_cache_folder_others_can_write_is_not_used(cache_root):
    path = model_store.cache_file("churn", "slot-1")
    model_store.save(path, {"k": 1})
    (cache_root / "churn").chmod(0o777)
    assert model_store.load(path, dict) is None
    (cache_root / "churn").chmod(0o700)
    cache_root.chmod(0o775)
    assert model_store.load(path, dict) is None
    model_store.save(model_store.cache_file("churn", "slot-3"), {"k": 3})
    assert not model_store.cache_file("churn", "slot-3").exists()


def test_a_signing_key_others_can_read_is_not_trusted(cache_root):
    path = model_store.cache_file("churn", "slot-1")
    model_store.save(path, {"k": 1})
    (cache_root / model_store.KEY_FILE).chmod(0o644)
    assert model_store.load(path, dict) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_cache_folder_owned_by_another_user_is_not_used(cache_root):
    path = model_store.cache_file("churn", "slot-1")
    model_store.save(path, {"k": 1})
    os.chown(cache_root / "churn", 54321, 54321)
    assert model_store.load(path, dict) is None


def test_a_folder_of_ours_that_others_could_read_is_made_private(cache_root):
    cache_root.mkdir(mode=0o755)
    cache_root.chmod(0o755)
    model_store.save(model_store.cache_file("churn", "slot-1"), {"k": 1})
    assert mode(cache_root) == 0o700


def test_old_unsigned_pickles_are_deleted_and_only_the_newest_models_kept(cache_root):
    folder = cache_root / "churn"
    model_store.save(model_store.cache_file("churn", "first"), 1)
    (folder / "0123456789abcdef01234567.pkl").write_bytes(pickle.dumps({"old": True}))
    for i in range(5):
        model_store.save(model_store.cache_file("churn", f"slot-{i}"), i, keep=3)
    assert not list(folder.glob("*.pkl"))
    assert len(list(folder.glob("*" + model_store.SUFFIX))) == 3


# ------------------------------------------------------------------------------- through the churn model


def test_a_tampered_or_planted_churn_model_file_is_refused_and_refitted_to_the_same_scores(
    flat_export, cache_root, tmp_path, monkeypatch
):
    fits = fit_counter(monkeypatch)
    original, path = scores(flat_export)
    assert len(fits) == 1 and path.is_file()
    again, _ = scores(flat_export)  # a restart: served from the cache
    assert len(fits) == 1
    np.testing.assert_array_equal(again, original)

    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))
    refitted, _ = scores(flat_export)
    assert len(fits) == 2
    np.testing.assert_array_equal(refitted, original)
    assert isinstance(model_store.load(path, FittedModel), FittedModel)  # the refit was signed and saved

    marker = tmp_path / "marker"
    path.write_bytes(pickle.dumps(RunsCode(marker)))
    planted, _ = scores(flat_export)
    assert not marker.exists()
    assert len(fits) == 3
    np.testing.assert_array_equal(planted, original)
