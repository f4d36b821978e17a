"""The renewal tools give the same answer on every engine: the renewal book (churn-risk-list,
renewal-forecast), one account's renewal strategy and its review pack."""

from __future__ import annotations

import pytest
from contract import ACCOUNT, answer, assert_same_answer

pytestmark = pytest.mark.anyio

CASES = [
    ("churn-risk-list", {}),
    ("churn-risk-list", {"sort": "arr_at_risk"}),
    ("renewal-forecast", {}),
    ("renewal-forecast", {"days": 365}),
    ("renewal-strategy", {"account": ACCOUNT}),
    ("account-review-prep", {"account": ACCOUNT}),
]


@pytest.mark.parametrize(("tool", "args"), CASES, ids=[f"{t}-{'-'.join(map(str, a)) or 'default'}"
                                                      for t, a in CASES])
async def test_renewal_tools_answer_the_same_on_every_engine(tool, args, contract_pair):
    ref, ws = contract_pair
    assert_same_answer(await answer(ref, tool, args), await answer(ws, tool, args))


@pytest.fixture(scope="module")
def model_reference(demo_dir):
    """The demo with churn.min_outcomes lowered so the churn model is fitted (the default falls back to the
    leading-indicator score on 60 accounts): the model's fit reads its training data through the layer too."""
    from cs_mcp.config import load_settings
    from cs_mcp.workspace.loader import open_workspace

    ws = open_workspace(load_settings(demo_dir, overrides={"churn": {"min_outcomes": 5}}))
    yield {"demomodel": ws}
    ws.close()


@pytest.mark.parametrize(("tool", "args"), [("churn-risk-list", {}), ("renewal-forecast", {"days": 365})])
async def test_the_fitted_churn_model_gives_the_same_book_on_every_engine(tool, args, engine, model_reference,
                                                                          engine_url):
    from contract import in_engine

    if engine == "spark":
        pytest.skip("fitting the churn model on Spark takes minutes on two cores: the tiny workspace covers Spark")
    ref = model_reference["demomodel"]
    ws = in_engine(engine, "demomodel", model_reference, engine_url)
    want = await answer(ref, tool, args)
    assert want["method"] == "model"
    assert_same_answer(want, await answer(ws, tool, args))
