"""A CSM touch is shown only when one is on record. days_since_last_touch, which health scores and the churn model
reads, counts a never-touched account's days as a customer (health's rule: time without contact); what the tools
show is the touch on record. A health trend does not reach back before the account became a customer.

As of 2026-06-30, by hand:
  T-1 contract 2026-06-17 (13 days a customer), no touchpoints  -> never touched; health 30/60/90 days ago n/a
  T-2 contract 2024-01-01, a call on 2026-06-20                  -> last touch 10 days ago
"""

import pytest
from mcp import Client

from cs_mcp.config import load_settings
from cs_mcp.server import create_server
from cs_mcp.workspace.loader import open_workspace

ACCOUNTS = """account_id,name,segment,arr,seats_purchased,contract_start,renewal_date,status
T-1,Newco,enterprise,50000,50,2026-06-17,2027-06-17,active
T-2,Oldco,enterprise,50000,50,2024-01-01,2027-01-01,active
"""
TOUCHPOINTS = """touchpoint_id,account_id,date,type,csm_id,outcome
P-1,T-2,2026-06-20,call,CSM-1,completed
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    folder = tmp_path_factory.mktemp("touches")
    (folder / "accounts.csv").write_text(ACCOUNTS)
    (folder / "touchpoints.csv").write_text(TOUCHPOINTS)
    usage = ["account_id,date,active_users,logins"]
    usage += [f"{a},2026-06-{d:02d},20,60" for a in ("T-1", "T-2") for d in (17, 24)]
    (folder / "usage.csv").write_text("\n".join(usage) + "\n")
    (folder / "cs-mcp.yaml").write_text("data:\n  as_of: 2026-06-30\nchurn:\n  disk_cache: false\n")
    with open_workspace(load_settings(folder)) as w:
        yield w


async def _call(ws, tool, args):
    async with Client(create_server(ws.settings, ws, warm_up=False)) as client:
        r = await client.call_tool(tool, args, read_timeout_seconds=600)
        assert not r.is_error, r.content[0].text
        return r.structured_content, r.content[0].text


@pytest.mark.anyio
async def test_the_risk_list_says_never_touched_and_counts_a_touch_on_record(ws):
    data, text = await _call(ws, "churn-risk-list", {"limit": 10})
    rows = {a["account_id"]: a for a in data["accounts"]}
    assert (rows["T-1"]["days_since_last_touch"], rows["T-1"]["never_touched"]) == (None, True)
    assert (rows["T-2"]["days_since_last_touch"], rows["T-2"]["never_touched"]) == (10, False)
    assert "Newco (T-1)" in text and "never touched" in text.split("Newco (T-1)")[1].split("\n")[0]
    assert "touch 10d ago" in text.split("Oldco (T-2)")[1].split("\n")[0]


@pytest.mark.anyio
async def test_health_scores_a_new_accounts_days_without_a_touch_but_does_not_say_it_was_touched(ws):
    data, _ = await _call(ws, "health-score", {"account": "T-1"})
    (touch,) = [m for d in data["dimensions"] for m in d["metrics"] if m["metric"] == "days_since_last_touch"]
    # 13 days without contact: the 8-14 day breakpoint of the default curve, not "last CSM touch 13 days ago"
    assert touch["value"] == 13 and touch["display"] == "no CSM touch on record in 13 days as a customer"
    assert [(p["days_ago"], p["score"], p["band"]) for p in data["trend"]["history"] if p["days_ago"] >= 30] == [
        (30, None, "unknown"), (60, None, "unknown"), (90, None, "unknown")]
    assert data["trend"]["direction"] == "unknown"
    old, _ = await _call(ws, "health-score", {"account": "T-2"})
    (touch,) = [m for d in old["dimensions"] for m in d["metrics"] if m["metric"] == "days_since_last_touch"]
    assert touch["display"] == "last CSM touch 10 days ago"
