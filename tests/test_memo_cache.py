"""The per-workspace memo kept on disk: a restart on unchanged data reads the portfolio, the churn scores and
the renewal book back instead of recomputing them, and what it reads answers exactly as before."""

from __future__ import annotations

import shutil
import threading

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
