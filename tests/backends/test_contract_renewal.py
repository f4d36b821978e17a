"""The renewal tools give the same answer on every engine: the renewal book (churn-risk-list,
renewal-forecast), one account's renewal strategy and its review pack."""

from __future__ import annotations

import pytest
from contract import answer, assert_same_answer

pytestmark = pytest.mark.anyio

CASES = [
    ("churn-risk-list", {}),
    ("churn-risk-list", {"sort": "arr_at_risk"}),
    ("renewal-forecast", {}),
    ("renewal-forecast", {"days": 365}),
]


@pytest.mark.parametrize(("tool", "args"), CASES, ids=[f"{t}-{'-'.join(map(str, a.values())) or 'default'}"
                                                      for t, a in CASES])
async def test_renewal_tools_answer_the_same_on_every_engine(tool, args, contract_pair):
    ref, ws = contract_pair
    assert_same_answer(await answer(ref, tool, args), await answer(ws, tool, args))
