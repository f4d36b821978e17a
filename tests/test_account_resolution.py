"""Resolving an account reference: one match resolves, several are listed back with a question, none gets the
closest names."""

import pytest
from mcp import Client

from cs_mcp.config import load_settings
from cs_mcp.domain.accounts import MAX_MATCHES_SHOWN, resolve_account
from cs_mcp.domain.errors import AccountNotFound, AmbiguousAccount
from cs_mcp.server import create_server

SUMMITS = 12  # more than are listed, so the count and "more" show


@pytest.fixture(scope="module")
def summit_workspace(tmp_path_factory):
    from cs_mcp.workspace.loader import open_workspace

    root = tmp_path_factory.mktemp("summit")
    rows = ["account_id,name,segment,arr"]
    rows += [f"S-{i:02d},Summit {chr(64 + i)} Labs,{'enterprise' if i % 2 else 'smb'},{1000 * i}"
             for i in range(1, SUMMITS + 1)]
    rows += ["P-1,Peak Partners,smb,5000", "T-1,Twin Co,smb,100", "T-2,twin co,enterprise,900"]
    (root / "accounts.csv").write_text("\n".join(rows) + "\n")
    ws = open_workspace(load_settings(root))
    yield ws
    ws.close()


def test_a_fragment_only_one_account_has_resolves_to_it(summit_workspace):
    assert resolve_account(summit_workspace, "peak").account_id == "P-1"
    assert resolve_account(summit_workspace, "s-03").account_id == "S-03"  # an id, whatever its case


def test_a_fragment_several_accounts_share_lists_them_largest_first_and_asks_which(summit_workspace):
    with pytest.raises(AmbiguousAccount) as caught:
        resolve_account(summit_workspace, "Summit")
    exc = caught.value
    assert exc.total == SUMMITS
    largest = [f"S-{i:02d}" for i in range(SUMMITS, SUMMITS - MAX_MATCHES_SHOWN, -1)]
    assert [m.account_id for m in exc.matches] == largest
    text = str(exc)
    assert text.startswith(f"'Summit' matches {SUMMITS} accounts: which one? Summit L Labs (S-12, smb, $12K ARR)")
    assert f"and {SUMMITS - MAX_MATCHES_SHOWN} more" in text
    assert "Send its account_id" in text and "find-accounts" in text


def test_two_accounts_with_the_same_name_are_ambiguous_not_missing(summit_workspace):
    with pytest.raises(AmbiguousAccount, match="'Twin Co' matches 2 accounts") as caught:
        resolve_account(summit_workspace, "Twin Co")
    assert {m.account_id for m in caught.value.matches} == {"T-1", "T-2"}


def test_an_unknown_reference_keeps_the_closest_names(summit_workspace):
    with pytest.raises(AccountNotFound) as caught:
        resolve_account(summit_workspace, "Peak Partnrs")
    assert caught.value.closest[0] == ("P-1", "Peak Partners")


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_tools_answer_an_ambiguous_account_with_the_matches(summit_workspace, mode):
    server = create_server(summit_workspace.settings, summit_workspace, warm_up=False)
    async with Client(server, mode=mode) as c:
        result = await c.call_tool("health-score", {"account": "summit"})
        assert result.is_error
        assert "'summit' matches 12 accounts: which one?" in result.content[0].text
        plan = await c.call_tool("onboarding-plan", {"account": "summit"})
        assert plan.is_error, "an ambiguous customer is asked about, not planned as a new one"
        assert "matches 12 accounts" in plan.content[0].text
