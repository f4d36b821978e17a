"""Churn: leading-indicator points, tiers, no leakage at cut-offs, the learned model on a generated workspace
and on a flat churn export, and churn-risk-list through the MCP client."""

import csv
import datetime as dt
import logging
import math
import time
from pathlib import Path

import numpy as np
import pytest
from mcp import Client

from cs_mcp.config import Settings, load_settings
from cs_mcp.domain import churn_model
from cs_mcp.domain.churn import (
    churn_risk_list,
    leading_indicator_score,
    tier_codes,
    tier_of,
)
from cs_mcp.domain.churn_model import churn_model_card, churn_scores, examples_as_of
from cs_mcp.resources.models import register_model_resources
from cs_mcp.server import create_server
from cs_mcp.workspace.loader import open_workspace

log = logging.getLogger(__name__)
NO_DISK = {"churn": {"disk_cache": False}}
DEMO_ACCOUNTS = 1500


def _open(path: Path, **overrides):
    return open_workspace(load_settings(path, overrides={**NO_DISK, **overrides}))


def _server(ws):
    server = create_server(ws.settings, ws, warm_up=False)
    if "cs://models/churn" not in {str(r.uri) for r in server._resource_manager.list_resources()}:
        register_model_resources(server, server.app_state)
    return server


# ------------------------------------------------------------------------------- leading indicators


def test_leading_indicator_points_add_up_by_tier_and_cap_at_100():
    nan = math.nan
    cols = {  # row 0: two tier-1, one tier-2, one tier-3; row 1: six tier-1; row 2: no data; row 3: edges
        "usage_change_pct": np.array([-60, -70, nan, -50]),
        "days_since_last_login": np.array([20, 30, nan, 13]),
        "exec_sponsor_left_90d": np.array([0, 1, nan, 0]),
        "days_overdue": np.array([0, 45, nan, 29]),
        "oldest_open_critical_hours": np.array([nan, 72, nan, 48]),
        "min_nps_score_90d": np.array([5, 2, nan, 7]),
        "ticket_volume_ratio": np.array([2.5, 1, nan, 1.99]),
        "days_since_last_touch": np.array([10, 40, nan, 30]),
    }
    score, hits = leading_indicator_score(cols, Settings().churn)
    # row 0: 30 (usage -60%) + 30 (20 days no login) + 15 (NPS 5) + 5 (tickets 2.5x) = 80
    # row 1: 5 tier-1 (150) + NPS and no touch (30) -> capped at 100
    # row 3: usage -50% is tier 1 (<= -50); 30 days without a touch is tier 2 (>= 30); the rest just misses
    assert score.tolist() == [80, 100, 0, 45]
    assert hits.sum(axis=1).tolist() == [4, 7, 0, 2]


def test_tiers_follow_the_configured_thresholds():
    tiers = Settings().churn.tiers
    cases = [
        (0.75, "critical"),
        (0.7499, "high"),
        (0.55, "high"),
        (0.5499, "medium"),
        (0.35, "medium"),
        (0.3499, "low"),
        (0.0, "low"),
        (1.0, "critical"),
    ]
    assert [tier_of(p, tiers) for p, _ in cases] == [t for _, t in cases]
    assert tier_codes(np.array([p for p, _ in cases]), tiers).tolist() == [0, 1, 1, 2, 2, 3, 3, 0]


def test_without_enough_outcomes_the_leading_indicator_score_ranks_and_says_so(tiny_workspace):
    result = churn_risk_list(tiny_workspace)
    assert result.method == "leading-indicator" and result.model.mode == "none"
    assert {a.account_id for a in result.accounts} == {"A-1", "A-2"}  # A-3 churned
    scores = churn_scores(tiny_workspace)
    for a in result.accounts:
        i = scores.position[a.account_id]
        assert a.probability == pytest.approx(scores.indicator_score[i] / 100)
        assert all(d.direction == "raises risk" for d in a.drivers)
    assert "leading-indicator" in result.note
    assert churn_model_card(tiny_workspace).indicators


# ------------------------------------------------------------------------------------- no leakage


def _write_csv(path: Path, header: str, rows: list[str]) -> None:
    path.write_text("\n".join([header, *rows]) + "\n")


@pytest.fixture
def leak_case(tmp_path):
    """Two accounts; everything dated after the 2026-03-01 cut-off must be invisible as of it."""
    _write_csv(
        tmp_path / "accounts.csv",
        "account_id,name,segment,plan,arr,seats_purchased,contract_start,renewal_date,status,churned_on",
        [
            "A-1,Alpha,smb,professional,200,20,2025-01-01,2027-01-01,active,",
            "A-2,Beta,smb,starter,0,0,2024-06-01,2026-06-01,churned,2026-05-20",
        ],
    )
    _write_csv(
        tmp_path / "subscriptions.csv",
        "subscription_id,account_id,start_date,end_date,arr,plan,seats",
        [
            "S1,A-1,2025-01-01,2026-01-01,100,starter,10",
            "S2,A-1,2026-01-01,2026-04-01,100,starter,10",
            "S3,A-1,2026-04-01,,200,professional,20",
            "S4,A-2,2024-06-01,2026-05-20,50,starter,5",
        ],
    )
    _write_csv(
        tmp_path / "usage.csv",
        "account_id,date,active_users,logins",
        ["A-1,2026-02-15,8,40", "A-1,2026-03-10,20,200", "A-2,2026-02-10,3,9"],
    )
    _write_csv(
        tmp_path / "tickets.csv",
        "ticket_id,account_id,opened_at,closed_at,priority,csat",
        [
            "T1,A-1,2026-02-01 09:00:00,2026-02-10 09:00:00,low,5",
            "T2,A-1,2026-02-20 09:00:00,2026-03-05 09:00:00,high,1",
        ],
    )
    _write_csv(
        tmp_path / "contacts.csv",
        "contact_id,account_id,role,active,left_on",
        ["C1,A-1,executive_sponsor,false,2026-04-15"],
    )
    _write_csv(
        tmp_path / "nps.csv",
        "response_id,account_id,responded_at,score,contact_id",
        ["N1,A-1,2026-02-01,9,C1", "N2,A-1,2026-03-20,2,C1"],
    )
    _write_csv(
        tmp_path / "invoices.csv",
        "invoice_id,account_id,due_on,paid_on,amount",
        ["I1,A-1,2026-02-01,2026-03-15,100"],
    )
    ws = _open(tmp_path)
    yield ws
    ws.close()


def test_features_at_a_cutoff_ignore_everything_recorded_after_it(leak_case):
    cutoff = dt.date(2026, 3, 1)
    ex = examples_as_of(leak_case, [cutoff])
    row = {aid: i for i, aid in enumerate(ex.facts["account_id"])}
    assert set(row) == {"A-1", "A-2"}  # A-2 churned on 2026-05-20: still a customer at the cut-off
    a1, a2 = row["A-1"], row["A-2"]
    num, cat = ex.numeric, ex.categorical
    assert num["active_users"][a1] == 8  # not the 20 of 2026-03-10
    assert num["support_csat"][a1] == 1.0  # T2's CSAT of 1 arrived on 2026-03-05
    assert num["has_exec_sponsor"][a1] == 1.0  # the sponsor left on 2026-04-15 (now active=false)
    assert num["nps"][a1] == 100  # the 2026-03-20 answer of 2 is later
    assert num["days_overdue"][a1] == 28  # due 2026-02-01, paid after the cut-off
    # account-level values as of the cut-off, not the accounts table's current ones
    assert (num["arr"][a1], num["seats"][a1], cat["plan"][a1]) == (100, 10, "starter")
    assert (num["arr"][a2], num["seats"][a2]) == (50, 5)  # the accounts table says 0 after the churn
    assert num["days_to_renewal"][a1] == pytest.approx(
        306, abs=1
    )  # 2027-01-01 rolled back to 2026-01-01's cycle
    assert num["days_to_renewal"][a2] == 92
    assert num["tenure_days"][a1] == (cutoff - dt.date(2025, 1, 1)).days


@pytest.fixture(scope="module")
def small_generated(tmp_path_factory):
    from cs_mcp.demo.generator import generate_workspace

    path = tmp_path_factory.mktemp("small-demo")
    generate_workspace(path, accounts=300, seed=5, fmt="parquet")
    return path


def _truncate(src: Path, dst: Path, cut: dt.date) -> None:
    """Copy a workspace as it would have been exported on `cut`."""
    import duckdb

    c = f"DATE '{cut}'"
    queries = {
        "accounts": f"SELECT * REPLACE (CASE WHEN churned_on > {c} THEN NULL ELSE churned_on END "
        "AS churned_on, "
        f"CASE WHEN churned_on > {c} THEN 'active' ELSE status END AS status) FROM t "
        f"WHERE contract_start <= {c}",
        "subscriptions": f"SELECT * REPLACE (CASE WHEN end_date > {c} THEN NULL ELSE end_date END "
        "AS end_date) "
        f"FROM t WHERE start_date <= {c}",
        "usage": f"SELECT * FROM t WHERE date <= {c}",
        "feature_usage": f"SELECT * FROM t WHERE date <= {c}",
        "tickets": f"SELECT * REPLACE (CASE WHEN CAST(closed_at AS DATE) > {c} THEN NULL ELSE closed_at END "
        "AS closed_at,"
        f" CASE WHEN CAST(closed_at AS DATE) > {c} THEN NULL ELSE csat END AS csat) FROM t "
        f"WHERE CAST(opened_at AS DATE) <= {c}",
        "nps": f"SELECT * FROM t WHERE responded_at <= {c}",
        "touchpoints": f"SELECT * FROM t WHERE date <= {c}",
        "contacts": f"SELECT * REPLACE (CASE WHEN left_on > {c} THEN NULL ELSE left_on END AS left_on, "
        f"CASE WHEN left_on > {c} THEN TRUE ELSE active END AS active) FROM t",
        "invoices": f"SELECT * REPLACE (CASE WHEN paid_on > {c} THEN NULL ELSE paid_on END AS paid_on) "
        "FROM t "
        f"WHERE due_on <= {c}",
        "csms": "SELECT * FROM t",
    }
    dst.mkdir()
    con = duckdb.connect()
    for table, sql in queries.items():
        con.execute(f"CREATE OR REPLACE VIEW t AS SELECT * FROM read_parquet('{src / (table + '.parquet')}')")
        con.execute(f"COPY ({sql}) TO '{dst / (table + '.parquet')}' (FORMAT parquet)")
    con.close()


def test_training_examples_are_the_same_as_from_data_exported_on_the_cutoff_day(small_generated, tmp_path):
    full = _open(small_generated)
    cut = full.as_of - dt.timedelta(days=200)
    _truncate(small_generated, tmp_path / "then", cut)
    then = _open(tmp_path / "then", data={"as_of": cut.isoformat()})
    a, b = examples_as_of(full, [cut]), examples_as_of(then, [cut])
    assert list(a.facts["account_id"]) == list(b.facts["account_id"])
    assert len(a.facts["account_id"]) > 150
    for name, values in a.numeric.items():
        np.testing.assert_allclose(values, b.numeric[name], equal_nan=True, err_msg=name)
    assert list(a.categorical["plan"]) == list(b.categorical["plan"])
    full.close()
    then.close()


# ------------------------------------------------------------------------------- learned model


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory):
    from cs_mcp.demo.generator import generate_workspace

    path = tmp_path_factory.mktemp("churn-demo")
    generate_workspace(path, accounts=DEMO_ACCOUNTS, seed=11, fmt="parquet")
    ws = _open(path)
    yield ws
    ws.close()


def test_learned_model_ranks_clearly_better_than_the_leading_indicator_score(demo_ws):
    card = churn_model_card(demo_ws)
    assert card.method == "model" and card.mode == "history"
    m = card.metrics
    figures = (
        f"churn model on {DEMO_ACCOUNTS} generated accounts: {card.estimator} CV ROC-AUC {m.roc_auc:.3f}, "
        f"leading-indicator ROC-AUC {m.leading_indicator_roc_auc:.3f}, PR-AUC {m.pr_auc:.3f}, "
        f"base rate {m.base_rate:.3f}"
    )
    log.info(figures)  # shown with -o log_cli=true
    assert m.roc_auc > 0.7, figures
    assert m.roc_auc > m.leading_indicator_roc_auc + 0.08, figures
    assert {c.estimator for c in card.candidates} == {"logistic", "gradient_boosting"}
    assert card.estimator == max(card.candidates, key=lambda c: c.roc_auc).estimator
    assert sum(b.count for b in card.calibration) == card.training.examples
    # calibrated: the riskiest decile's predicted mean is close to what happened
    top = card.calibration[-1]
    assert abs(top.predicted_mean - top.observed_rate) < 0.1
    assert len(card.training.cutoffs) == demo_ws.settings.churn.cutoffs
    assert "health_score" in card.features and "segment" in card.features
    assert card.workspace_version == demo_ws.version


def test_top_accounts_have_drivers_in_words(demo_ws):
    scores = churn_scores(demo_ws)
    top = [scores.account_ids[i] for i in scores.order_by_probability[:10]]
    drivers = scores.drivers(top)
    for aid in top:
        assert 1 <= len(drivers[aid]) <= 3
        for d in drivers[aid]:
            assert d.direction == "raises risk" and d.impact >= 0
            assert (
                "_" not in d.text
                and any(ch.isdigit() or ch == ":" for ch in d.text)
                or d.text.startswith("no ")
            )
    texts = " | ".join(d.text for aid in top for d in drivers[aid])
    assert any(w in texts for w in ("seats active", "renewal in", "logins", "CSM touch", "NPS", "invoice"))


def test_warm_calls_reuse_the_fitted_model(demo_ws, monkeypatch):
    first = churn_scores(demo_ws)
    monkeypatch.setattr(churn_model, "_fit_model", lambda *a: pytest.fail("refitted"))
    t = time.perf_counter()
    result = churn_risk_list(demo_ws, limit=25)
    assert time.perf_counter() - t < 0.5
    assert churn_scores(demo_ws) is first
    assert result.method == "model"


# ---------------------------------------------------------------------------------- flat export


def write_flat_export(root: Path, n: int = 500, seed: int = 3) -> None:
    """A telco-style export: one row per customer, a Churn column, no dates; churn depends on the contract,
    tenure, charges and internet service."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.25, 0.2])
    internet = rng.choice(["DSL", "Fiber optic", "No"], n, p=[0.35, 0.45, 0.2])
    tenure = rng.integers(1, 72, n)
    monthly = np.round(rng.uniform(20, 110, n), 2)
    logit = (
        -1.2
        + 1.6 * (contract == "Month-to-month")
        - 0.8 * (contract == "Two year")
        - 0.035 * tenure
        + 0.015 * (monthly - 65)
        + 0.6 * (internet == "Fiber optic")
    )
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    with (root / "telco_churn.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "customerID",
                "gender",
                "SeniorCitizen",
                "tenure",
                "Contract",
                "InternetService",
                "PaymentMethod",
                "MonthlyCharges",
                "Churn",
            ]
        )
        for i in range(n):
            w.writerow(
                [
                    f"{1000 + i}-CUST",
                    rng.choice(["Male", "Female"]),
                    int(rng.random() < 0.16),
                    tenure[i],
                    contract[i],
                    internet[i],
                    rng.choice(["Electronic check", "Mailed check", "Credit card"]),
                    monthly[i],
                    "Yes" if churn[i] else "No",
                ]
            )
    (root / "cs-mcp.yaml").write_text(  # the mapping the README documents
        "tables:\n"
        "  accounts:\n"
        "    sql: |\n"
        "      SELECT customerID AS account_id, customerID AS name, MonthlyCharges * 12 AS arr,\n"
        "             Churn AS status, * EXCLUDE (customerID, Churn)\n"
        "      FROM read_csv('telco_churn.csv')\n"
        "    values:\n"
        '      status: {churned: ["Yes"], active: ["No"]}\n'
    )


@pytest.fixture(scope="module")
def flat_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("flat-export")
    write_flat_export(path)
    return path


def test_flat_churn_export_is_ranked_by_a_model_learned_from_the_snapshot(flat_path):
    ws = _open(flat_path)
    result = churn_risk_list(ws, limit=20)
    card = churn_model_card(ws)
    figures = f"flat export: {card.estimator}, CV ROC-AUC {card.metrics.roc_auc:.3f}"
    log.info(figures)
    assert result.method == "model" and result.model.mode == "snapshot"
    assert card.metrics.roc_auc > 0.65, figures
    assert "snapshot" in card.caveat and card.training.horizon_days is None
    assert {"contract", "tenure", "monthly_charges"} <= set(card.features)
    assert result.total == int(
        ws.cursor().execute("SELECT count(*) FROM accounts WHERE status = 'active'").fetchone()[0]
    )
    contracts = dict(ws.cursor().execute("SELECT account_id, contract FROM accounts").fetchall())
    top = [contracts[a.account_id] for a in result.accounts]
    assert top.count("Month-to-month") >= 15
    assert any("contract: Month-to-month" == d.text for a in result.accounts for d in a.drivers)
    ws.close()


def test_a_restart_loads_the_fitted_model_from_the_disk_cache(flat_path, tmp_path, monkeypatch):
    monkeypatch.setenv("CS_MCP_CACHE_DIR", str(tmp_path))
    ws = open_workspace(load_settings(flat_path))
    fitted = churn_model_card(ws).fitted_at
    assert list(tmp_path.glob("churn/*.pkl"))
    ws.close()
    monkeypatch.setattr(churn_model, "_fit_model", lambda *a: pytest.fail("refitted after a restart"))
    again = open_workspace(load_settings(flat_path))
    assert churn_model_card(again).fitted_at == fitted
    again.close()


# ------------------------------------------------------------------------------------ MCP client


@pytest.fixture(params=["auto", "legacy"])
async def churn_client(request, demo_ws):
    async with Client(_server(demo_ws), mode=request.param) as c:
        yield c


@pytest.mark.anyio
async def test_tool_is_listed_read_only_with_an_output_schema(churn_client):
    tools = {t.name: t for t in (await churn_client.list_tools()).tools}
    tool = tools["churn-risk-list"]
    assert tool.annotations.read_only_hint is True
    assert "totals_by_tier" in tool.output_schema["properties"]
    assert tool.input_schema["properties"]["quarter"]["description"]


@pytest.mark.anyio
async def test_tool_filters_and_totals_cover_the_filtered_set(churn_client):
    r = await churn_client.call_tool("churn-risk-list", {"segment": "SMB", "min_tier": "medium", "limit": 50})
    assert not r.is_error, r.content[0].text
    data = r.structured_content
    assert data["method"] == "model" and data["model"]["cv_roc_auc"] > 0.7
    assert data["filters"] == {"segment": "smb", "min_tier": "medium"}
    assert all(
        a["segment"] == "smb" and a["tier"] in ("critical", "high", "medium") for a in data["accounts"]
    )
    assert sum(t["accounts"] for t in data["totals_by_tier"]) == data["total"]
    assert data["totals_by_tier"][3]["accounts"] == 0  # no low tier under min_tier=medium
    probs = [a["probability"] for a in data["accounts"]]
    assert probs == sorted(probs, reverse=True)
    text = r.content[0].text
    assert "CV ROC-AUC" in text and "learned model" in text


@pytest.mark.anyio
async def test_tool_filters_renewals_by_quarter_and_window(churn_client, demo_ws):
    r = await churn_client.call_tool(
        "churn-risk-list", {"quarter": "2026-Q4", "segment": "enterprise", "limit": 50}
    )
    data = r.structured_content
    assert data["total"] > 0
    for a in data["accounts"]:
        assert a["segment"] == "enterprise"
        assert "2026-10-01" <= a["renewal_date"] <= "2026-12-31" and a["renewal_date"] >= str(demo_ws.as_of)
    r = await churn_client.call_tool("churn-risk-list", {"renewal_within_days": 30, "sort": "arr_at_risk"})
    accounts = r.structured_content["accounts"]
    assert all(0 <= a["days_to_renewal"] <= 30 for a in accounts)
    at_risk = [a["arr_at_risk"] for a in accounts]
    assert at_risk == sorted(at_risk, reverse=True)


@pytest.mark.anyio
async def test_tool_pages_with_a_cursor(churn_client):
    first = (await churn_client.call_tool("churn-risk-list", {"limit": 5})).structured_content
    assert first["returned"] == 5 and first["next_cursor"]
    second = (
        await churn_client.call_tool("churn-risk-list", {"limit": 5, "cursor": first["next_cursor"]})
    ).structured_content
    assert [a["rank"] for a in second["accounts"]] == [6, 7, 8, 9, 10]
    assert not {a["account_id"] for a in first["accounts"]} & {a["account_id"] for a in second["accounts"]}
    assert second["total"] == first["total"]


@pytest.mark.anyio
async def test_unknown_segment_or_csm_is_an_error_naming_valid_values(churn_client):
    r = await churn_client.call_tool("churn-risk-list", {"segment": "galactic"})
    assert (
        r.is_error and "Unknown segment 'galactic'" in r.content[0].text and "enterprise" in r.content[0].text
    )
    r = await churn_client.call_tool("churn-risk-list", {"csm_id": "CSM-999"})
    assert r.is_error and "CSM-001" in r.content[0].text
    r = await churn_client.call_tool("churn-risk-list", {"quarter": "fourth"})
    assert r.is_error


@pytest.mark.anyio
async def test_response_text_stays_small_at_the_largest_page(churn_client):
    r = await churn_client.call_tool("churn-risk-list", {"limit": 50})
    text = r.content[0].text
    assert len(text) < 20_000
    assert text.count("\n") >= 50
    assert r.structured_content["returned"] == 50


@pytest.mark.anyio
async def test_model_card_resource_describes_the_model(churn_client):
    import json

    result = await churn_client.read_resource("cs://models/churn")
    card = json.loads(result.contents[0].text)
    assert card["method"] == "model"
    assert card["metrics"]["roc_auc"] > 0.7 and card["metrics"]["leading_indicator_roc_auc"]
    assert card["training"]["positives"] > 0 and card["calibration"] and card["fitted_at"]


# ------------------------------------------------------------------------------- churn.label


@pytest.fixture
def label_case(tmp_path):
    """Three accounts seen at the 2026-01-01 cut-off, data as of 2026-09-01:
    A-1 churns at its renewal on 2026-06-01 (151 days later: not within 90 days, but at its next renewal);
    A-2 renews on 2026-12-01, after the as-of date (under next_renewal its outcome is not observed yet);
    A-3 has no renewal date nor contract start and churns on 2026-02-15 (horizon rule under both labels)."""
    _write_csv(
        tmp_path / "accounts.csv",
        "account_id,name,segment,plan,arr,seats_purchased,contract_start,renewal_date,status,churned_on",
        [
            "A-1,Alpha,smb,starter,0,0,2025-06-01,2026-06-01,churned,2026-06-01",
            "A-2,Beta,smb,starter,100,10,2024-12-01,2026-12-01,active,",
            "A-3,Gamma,smb,starter,0,0,,,churned,2026-02-15",
        ],
    )
    return tmp_path


def test_next_renewal_label_differs_from_the_horizon_label_for_a_known_account(label_case):
    cutoff = dt.date(2026, 1, 1)
    labels = {}
    for label in ("horizon", "next_renewal"):
        ws = _open(label_case, data={"as_of": "2026-09-01"}, churn={"label": label, "disk_cache": False})
        ex = examples_as_of(ws, [cutoff])
        got = churn_model.example_labels(ws, ex.facts)
        labels[label] = {
            aid: (int(y), bool(o), bool(u))
            for aid, y, o, u in zip(ex.facts["account_id"], got.y, got.observed, got.renewal_unknown, strict=True)
        }
        ws.close()
    # (label, outcome observed by as_of, renewal unknown -> horizon rule)
    assert labels["horizon"] == {
        "A-1": (0, True, False),  # churned 151 days after the cut-off: outside 90 days
        "A-2": (0, True, False),
        "A-3": (1, True, False),  # 45 days after the cut-off
    }
    assert labels["next_renewal"] == {
        "A-1": (1, True, False),  # churned on its next renewal (2026-06-01) after the cut-off
        "A-2": (0, False, False),  # next renewal 2026-12-01 is after as_of: dropped from training
        "A-3": (1, True, True),  # no renewal date: falls back to 90 days
    }


def test_model_card_and_churn_risk_list_state_the_label_in_force(demo_ws):
    from cs_mcp.tools.churn import render_churn_list

    default_text = render_churn_list(churn_risk_list(demo_ws, limit=5))
    assert "P(churn within 90 days)" in default_text
    assert churn_model_card(demo_ws).training.label == "horizon"

    ws = _open(demo_ws.path, churn={"label": "next_renewal", "disk_cache": False})
    try:
        card = churn_model_card(ws)
        assert card.method == "model" and card.mode == "history"
        t = card.training
        assert t.label == "next_renewal" and t.dropped_unobserved > 0 and t.renewal_unknown_accounts == 0
        assert "at or before the account's next renewal" in card.caveat
        assert "within 90 days, learned" not in card.caveat
        result = churn_risk_list(ws, limit=5)
        assert result.model.horizon_days is None
        text = render_churn_list(result)
        assert "within 90 days)" not in text.splitlines()[0]
        assert "P(churn at or before the account's next renewal)" in text
        assert "churn.label = next_renewal" in text
    finally:
        ws.close()
