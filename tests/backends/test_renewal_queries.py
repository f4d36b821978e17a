"""The one-account queries of renewal-strategy and account-review-prep give the same records on every engine.

The tools themselves also need the expansion engine's queries (helper revenue's seam); these tests hold the
renewal helper's own queries to the same figures meanwhile, for several accounts of each workspace."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from contract import in_engine

from cs_mcp.workspace.queries import customers, feedback, renewals, reviews


def _accounts(ws) -> list[str]:
    """Up to six accounts spread over the id range (every 7th id)."""
    ids = sorted(r[0] for r in ws.rows("SELECT account_id FROM accounts"))
    return ids[::7][:6]


def _same(want, got, label: str) -> None:
    if isinstance(want, float) or isinstance(got, float):
        assert (want is None and got is None) or math.isclose(float(want), float(got), abs_tol=1e-9), label
    elif isinstance(want, (list, tuple)) and not isinstance(want, str):
        assert len(want) == len(got), label
        for i, (w, g) in enumerate(zip(want, got, strict=True)):
            _same(w, g, f"{label}[{i}]")
    elif isinstance(want, dict):
        assert sorted(want) == sorted(got), label
        for k in want:
            _same(want[k], got[k], f"{label}.{k}")
    else:
        assert want == got, f"{label}: {want!r} != {got!r}"


def _answers(ws, account_id: str) -> dict:
    as_of = ws.as_of
    year_ago, quarter_ago = as_of - dt.timedelta(days=364), as_of - dt.timedelta(days=89)
    months = [(dt.date(as_of.year, m, 1), dt.date(as_of.year, m + 1, 1)) for m in range(1, as_of.month)]
    support = renewals.support_window(ws, account_id, year_ago, as_of, 4)
    return {
        "standing": tuple(customers.standing(ws, account_id, as_of) or ()),
        "support": {k: (None if v is None else float(v)) for k, v in support.items()},
        "arr_steps": renewals.arr_steps(ws, account_id, as_of),
        "deals": [tuple(d) for d in renewals.open_expansion_deals(ws, account_id, ["closed won", "closed lost"])],
        "usage": [tuple(u) for u in reviews.usage_by_period(ws, account_id, months)],
        "features": reviews.feature_use(ws, account_id, (quarter_ago, as_of),
                                        (quarter_ago - dt.timedelta(days=90), quarter_ago - dt.timedelta(days=1))),
        "nps": tuple(reviews.nps_respondents(ws, account_id, year_ago, as_of, 9, 6)),
        "contacts": [tuple(c) for c in reviews.account_contacts(ws, account_id, as_of)],
        "comments": feedback.detractor_comments(ws, account_id, year_ago, 6, 3),
    }


def test_one_account_queries_agree_on_every_engine(engine, name, reference, engine_url):
    if engine == "spark" and name != "tiny":
        pytest.skip("Spark runs the tiny workspace")
    ref = reference[name]
    ws = in_engine(engine, name, reference, engine_url)
    for account_id in _accounts(ref):
        _same(_answers(ref, account_id), _answers(ws, account_id), f"{name}:{account_id}")


def test_the_book_queries_agree_on_every_engine(engine, name, reference, engine_url):
    if engine == "spark" and name != "tiny":
        pytest.skip("Spark runs the tiny workspace")
    ref = reference[name]
    ws = in_engine(engine, name, reference, engine_url)
    args = {"won": ["closed won"], "lost": ["closed lost"], "late": ["negotiat", "contract"], "slack_days": 30,
            "cycle_days": 180}
    want, got = renewals.renewal_evidence(ref, **args), renewals.renewal_evidence(ws, **args)
    order_w = sorted(range(len(want["account_id"])), key=lambda i: want["account_id"][i])
    order_g = sorted(range(len(got["account_id"])), key=lambda i: got["account_id"][i])
    assert sorted(want) == sorted(got)
    for col in want:
        w = [want[col][i] for i in order_w]
        g = [got[col][i] for i in order_g]
        if want[col].dtype.kind == "M":
            w, g = [str(v.astype("datetime64[D]")) for v in w], [str(v.astype("datetime64[D]")) for v in g]
        _same([float(v) if isinstance(v, float) else v for v in w],
              [float(v) if isinstance(v, float) else v for v in g], f"{name}.{col}")
    assert renewals.renewal_dates_known(ref) == renewals.renewal_dates_known(ws)
    assert renewals.account_values(ref, "segment") == renewals.account_values(ws, "segment")
    assert renewals.subscriptions_name_products(ref) == renewals.subscriptions_name_products(ws)


RENEWALS_STORED = ("2027-01-15", "2026-08-15", "2028-02-29", "2025-03-01", "2027-06-30", None)


def _renewals_due(ws, day: dt.date, data_end: dt.date) -> list[str | None]:
    rows = ", ".join(f"({i}, CAST({'NULL' if d is None else repr(d)} AS DATE))" for i, d in enumerate(RENEWALS_STORED))
    text = (f"SELECT i, CAST({renewals.renewal_due_sql('t.d', '$day')} AS VARCHAR) AS due "
            f"FROM (VALUES {rows}) AS t(i, d) ORDER BY i")
    return [due for _, due in ws.rows(text, day=day, data_end=data_end)]


def test_the_renewal_due_at_a_past_date_moves_back_whole_years_on_every_engine(engine, reference, engine_url):
    ws = in_engine(engine, "tiny", reference, engine_url)  # the rule reads no table: one workspace will do
    day = dt.date(2025, 6, 30)
    # before the data's end: 2027-01-15 renewed twice since, so 2026-01-15 was due; 2026-08-15 is within a year;
    # 29 February falls on the 28th; a date already past stays; an anniversary on the day is a year out
    assert _renewals_due(ws, day, dt.date(2026, 10, 31)) == [
        "2026-01-15", "2025-08-15", "2026-02-28", "2025-03-01", "2026-06-30", None]
    # on the data's end (no look back) the stored dates stand: a multi-year term is known only then
    assert _renewals_due(ws, day, day) == [d for d in RENEWALS_STORED]


NOTICE_ROWS = (("churned", "2026-08-01"), ("Churned", "2026-07-01"), ("churned", "2026-06-30"),
               ("churned", None), ("active", "2026-08-01"))


def _notice_days(ws, day: dt.date, data_end: dt.date) -> list[int | None]:
    rows = ", ".join(f"({i}, '{s}', CAST({'NULL' if d is None else repr(d)} AS DATE))"
                     for i, (s, d) in enumerate(NOTICE_ROWS))
    text = (f"SELECT i, CAST({renewals.notice_days_sql('t.s', 't.d', '$day')} AS INTEGER) AS days "
            f"FROM (VALUES {rows}) AS t(i, s, d) ORDER BY i")
    return [days for _, days in ws.rows(text, day=day, data_end=data_end)]


def test_notice_given_counts_the_days_to_the_churn_date_on_every_engine(engine, reference, engine_url):
    ws = in_engine(engine, "tiny", reference, engine_url)
    day = dt.date(2026, 6, 30)
    # at the data's end: churned with the date ahead (any case) is notice; on the day, without a date, or an
    # active status is not
    assert _notice_days(ws, day, day) == [32, 1, None, None, None]
    # in a look back, the later churn is the future, not a notice
    assert _notice_days(ws, day, dt.date(2026, 10, 31)) == [None] * 5
