"""The per-workspace memo kept on disk: a restart on unchanged data reads the portfolio, the churn scores and
the renewal book back instead of recomputing them, and what it reads answers exactly as before."""

from __future__ import annotations

import os
import pickle
import shutil
import threading
import time

import pytest

from cs_mcp.config import load_settings
from cs_mcp.workspace import cache
from cs_mcp.workspace.loader import demo_path, open_workspace


def test_a_memo_round_trips_and_an_unpicklable_value_leaves_no_file(tmp_path):
    path = tmp_path / "memo" / "a.pkl"
    cache._write(path, {"x": [1, 2, 3], "lock": threading.Lock()})
    got = cache._read(path)
    assert got["x"] == [1, 2, 3] and hasattr(got["lock"], "acquire")
    cache._write(tmp_path / "memo" / "b.pkl", lambda: 1)
    assert sorted(p.name for p in (tmp_path / "memo").iterdir()) == ["a.pkl"]  # no b.pkl, no temporary file


def test_reading_memos_pauses_the_garbage_collector_and_restores_it(tmp_path):
    import gc

    path = tmp_path / "memo" / "a.pkl"
    cache._write(path, {"x": [1, 2, 3]})
    (tmp_path / "memo" / "bad.pkl").write_bytes(b"not a pickle")
    cache._write(tmp_path / "memo" / "probe.pkl", _Probe())
    assert gc.isenabled()
    with cache._collector_paused():  # another thread's read under way: this one must not switch it back on
        assert cache._read(path) == {"x": [1, 2, 3]} and not gc.isenabled()
    assert gc.isenabled()
    assert cache._read(tmp_path / "memo" / "bad.pkl") is cache._MISSING and gc.isenabled()
    # off while unpickling, on afterwards
    assert cache._read(tmp_path / "memo" / "probe.pkl") is False and gc.isenabled()
    gc.disable()
    try:
        cache._read(path)
        assert not gc.isenabled()  # left as the process had it
    finally:
        gc.enable()


class _Probe:
    """Unpickles to whether the garbage collector was on at that moment."""

    def __reduce__(self):
        import gc

        return (gc.isenabled, ())


def test_memos_are_written_in_the_background_and_a_stale_temporary_file_is_removed(tmp_path):
    folder = tmp_path / "memo"
    folder.mkdir()
    stale, fresh = folder / "old.1.2.tmp", folder / "new.3.4.tmp"
    for f in (stale, fresh):
        f.write_bytes(b"cut short")
    long_ago = time.time() - cache.STALE_TEMPORARY_SECONDS - 60
    os.utime(stale, (long_ago, long_ago))
    cache._write_later(folder / "a.pkl", {"rows": list(range(1000))})
    assert cache.finish_writes(timeout=60)
    assert pickle.loads((folder / "a.pkl").read_bytes()) == {"rows": list(range(1000))}
    assert sorted(p.name for p in folder.iterdir()) == ["a.pkl", "new.3.4.tmp"]  # a recent one may be in use


def test_a_new_data_version_replaces_the_folders_older_memos(tmp_path):
    folder = tmp_path / "memo"
    folder.mkdir()
    keep = [folder / "f0lder0001-v2-aaaa.pkl", folder / "0therf0ld-v1-bbbb.pkl", folder / "legacyhash.pkl"]
    gone = [folder / "f0lder0001-v1-cccc.pkl", folder / "f0lder0001-v0-dddd.pkl"]
    for f in keep + gone:
        f.write_bytes(pickle.dumps(f.name))
    cache._write(folder / "f0lder0001-v2-eeee.pkl", {"x": 1})
    assert sorted(p.name for p in folder.iterdir()) == sorted([f.name for f in keep] + ["f0lder0001-v2-eeee.pkl"])


@pytest.fixture(scope="module")
def demo_copy(tmp_path_factory):
    """The bundled demo in a folder of its own (the memo is keyed by folder)."""
    folder = tmp_path_factory.mktemp("memo-demo") / "workspace"
    shutil.copytree(demo_path(), folder)
    return folder


def test_a_restart_reads_churn_scores_and_renewal_book_from_disk_and_explains_the_same(demo_copy, monkeypatch):
    from cs_mcp.domain import churn_model, renewal
    from cs_mcp.domain.churn import churn_risk_list

    with open_workspace(load_settings(demo_copy)) as first:
        before = churn_risk_list(first, limit=10).model_dump(mode="json")
    assert cache.finish_writes(timeout=60)  # the memo files are written in the background

    def recompute(*_args, **_kwargs):
        raise AssertionError("recomputed on restart: the memo was not read")

    monkeypatch.setattr(churn_model, "_score", recompute)
    monkeypatch.setattr(renewal, "build_base", recompute)
    with open_workspace(load_settings(demo_copy)) as again:
        after = churn_risk_list(again, limit=10).model_dump(mode="json")
        book = renewal.renewal_base(again)
        assert book.churn_source is churn_model.churn_scores(again)  # the scores attached again on read
    assert after == before  # drivers and context included: the explanations rebuilt from the inputs
    assert any(row["drivers"] for row in after["accounts"])
