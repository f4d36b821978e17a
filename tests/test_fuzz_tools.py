"""Property test: every tool, called through a real MCP client on the tiny workspace with arguments generated
from its input schema plus hostile values, answers within the size budget or with an error the model can act
on, and the server never crashes or hangs.

The default run makes a few hundred calls (derandomized, so it cannot flake); the nightly run a few thousand:
    .venv/bin/python -m pytest -p no:cacheprovider -m nightly tests/test_fuzz_tools.py
CS_MCP_FUZZ_EXAMPLES=N sets the calls per protocol era of either run (the nightly run also draws new
examples each time).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import anyio
import pytest
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from cs_mcp.domain.paging import encode_cursor
from cs_mcp.domain.periods import MAX_DATE, MIN_DATE
from cs_mcp.server import create_server
from cs_mcp.tool_errors import UNEXPECTED

DEFAULT_EXAMPLES = 150
NIGHTLY_EXAMPLES = 2_500
CALL_TIMEOUT_SECONDS = 120  # a first call loads and fits; generous under load, only a hang trips it
MAX_TEXT = 20_000
MAX_STRUCTURED = 25_000
RAW_PYDANTIC = ("errors.pydantic.dev", "validation error for", "[type=")
NEXT_STEPS = ("send", "use ", "pass ", "omit", "add ", "map ", "widen", "create", "choose", "drop ", "try ",
              "action=", "find-accounts", "only applies")

HOSTILE: list[Any] = [
    None, "", " ", 0, -1, 10**20, -(10**20), 2**63, 1e308, -1e308, 1e-308, 0.5, "NaN", "Infinity", "-inf", True,
    [], {}, [None], {"": None}, "0001-01-01", "9999-12-31", "2026-02-29", "2026-13-01", "1899-12-31",
    "2200-01-01", "01/02/2027", "'; DROP TABLE accounts; --", "1 OR 1=1", "%", "_", "\\", '"', "$r", "?",
    "../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/passwd", "~/.ssh/id_rsa", "\x00", "😀" * 50,
    "İstanbul ß ǅ", "\u202e\u202dRTL", "a" * 10_000, "Q0", "Q5", "0000-Q1", "9999-Q4", "last-0-months",
    "last-99999-months", "last--1-days", "ytd; SELECT 1", {"nested": {"deep": [1, {"x": "y"}]}},
    "b2Z8LTE=", "o:-5", encode_cursor(10**12),
]
"""Values no schema asks for: out of range, wrong type, injection and traversal strings, odd dates."""

REALISTIC: dict[str, list[Any]] = {
    "account": ["A-1", "A-2", "A-3", "acme", "Globex", "Initech", "a", "Acme Corp", "O-1", "New Customer Ltd"],
    "segment": ["enterprise", "smb", "mid-market", "Enterprise", "galactic"],
    "csm_id": ["C-1", "C-2", "unassigned", "C-9"],
    "period": ["last-quarter", "Q4", "q2", "2026-Q2", "2025", "2026-05", "ytd", "qtd", "last-6-months",
               "last-30-days", "this-quarter", "last-year", "ttm", "fortnight"],
    "quarter": ["Q4", "2026-Q3", "q1", "this-quarter", "next-quarter", "2030-Q1", "Q3 2026"],
    "by": ["segment", "plan", "csm", "region", "industry", "tenure", "partner_tier", "nope"],
    "cursor": [encode_cursor(0), encode_cursor(1), encode_cursor(25), "garbage"],
    "plan_id": ["a-1-20270104", "nope-20270101", "../x"],
    "tenure": ["<1y", "1-2y", "2y+"],
    "plan": ["enterprise", "starter", "professional"],
    "status": ["active", "churned"],
    "milestone": ["kickoff", "environment", "go-live", "sso"],
}


def _resolve(root: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _resolve(root, root["$defs"][schema["$ref"].rsplit("/", 1)[-1]])
    return schema


def _dates() -> st.SearchStrategy[str]:
    return st.dates(MIN_DATE, MAX_DATE).map(lambda d: d.isoformat()) | st.sampled_from(
        ["2026-06-30", "2026-03-31", "2025-08-01", "2027-01-04", "2026-12-31", "2024-01-01"]
    )


def value_for(name: str, schema: dict[str, Any], root: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values that fit `schema`, now and then a hostile one."""
    fitting = fitting_value(name, schema, root, depth)
    return st.one_of(fitting, fitting, fitting, st.sampled_from(HOSTILE))


def fitting_value(name: str, schema: dict[str, Any], root: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values the schema accepts, with realistic picks for the names the tiny workspace knows."""
    schema = _resolve(root, schema)
    if "anyOf" in schema:
        return st.one_of([fitting_value(name, s, root, depth) for s in schema["anyOf"]])
    kind = schema.get("type")
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum", -(10**6)), schema.get("maximum", 10**6))
    if kind == "number":
        return st.floats(schema.get("minimum", -1e9), schema.get("maximum", 1e9), allow_nan=False)
    if kind == "string" and schema.get("format") == "date":
        return _dates()
    if kind == "string":
        known = REALISTIC.get(name, [])
        text = st.text(max_size=schema.get("maxLength", 40))
        return st.one_of(st.sampled_from(known), st.sampled_from(known), text) if known else text
    if kind == "array" and depth < 2:
        items = value_for(name, schema.get("items", {}), root, depth + 1)
        return st.lists(items, max_size=min(schema.get("maxItems", 5), 5))
    if (kind == "object" or "properties" in schema) and depth < 2:
        props = schema.get("properties", {})
        required = schema.get("required", [])
        return st.fixed_dictionaries(
            {k: value_for(k, props[k], root, depth + 1) for k in required},
            optional={k: value_for(k, s, root, depth + 1) for k, s in props.items() if k not in required},
        )
    return st.sampled_from(HOSTILE)


def arguments_for(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Mostly arguments the schema accepts, so that calls reach the domain; else a hostile value, or chaos."""
    props = schema.get("properties", {})
    required = [k for k in schema.get("required", []) if k in props]
    optional = sorted(k for k in props if k not in required)

    def dictionary(pick: Any, keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
        return st.fixed_dictionaries({k: pick(k, props[k], schema) for k in [*required, *keys]})

    # the account argument, where optional, is picked often: without it most one-account calls stop early
    picks = st.tuples(st.lists(st.sampled_from(optional), max_size=3, unique=True), st.booleans()).map(
        lambda t: list(dict.fromkeys(t[0] + (["account"] if t[1] and "account" in optional else [])))
    ) if optional else st.just([])
    sparse = picks.flatmap(lambda keys: dictionary(fitting_value, keys))
    full = st.fixed_dictionaries(
        {k: fitting_value(k, props[k], schema) for k in required},
        optional={k: fitting_value(k, props[k], schema) for k in optional},
    )
    one_hostile = st.tuples(sparse, st.sampled_from(sorted(props)), st.sampled_from(HOSTILE)).map(
        lambda t: {**t[0], t[1]: t[2]}
    ) if props else sparse
    chaos = st.fixed_dictionaries({}, optional={k: value_for(k, s, schema) for k, s in props.items()})
    misspelt = sparse.map(lambda d: {**d, "acount": "A-1"})
    return st.one_of(sparse, sparse, sparse, sparse, full, full, one_hostile, one_hostile, one_hostile, chaos,
                     misspelt)


def check_answer(tool: str, fields: list[str], args: dict[str, Any], result: Any) -> None:
    text = result.content[0].text if result.content else ""
    where = f"{tool} {json.dumps(args, default=str)[:400]}"
    if result.is_error:
        assert UNEXPECTED not in text, f"unhandled error: {where}: {text}"
        assert text.strip() != f"Error executing tool {tool}", f"error with nothing to act on: {where}"
        assert not any(raw in text for raw in RAW_PYDANTIC), f"raw pydantic text: {where}: {text}"
        body = text.split(":", 1)[-1]
        assert any(f in body for f in fields) or any(w in body.lower() for w in NEXT_STEPS), (
            f"error names no field and no next step: {where}: {text}"
        )
        assert len(text) <= 4_000, f"error too long ({len(text)}): {where}"
    else:
        assert len(text) <= MAX_TEXT, f"text over budget ({len(text)}): {where}"
        size = len(json.dumps(result.structured_content))
        assert size <= MAX_STRUCTURED, f"structured content over budget ({size}): {where}"


@pytest.fixture(scope="module")
def fuzz_state_dir(tmp_path_factory):
    """onboarding-plan saves plans: keep them in a scratch folder, not in the test workspace."""
    previous = os.environ.get("CS_MCP_STATE_DIR")
    os.environ["CS_MCP_STATE_DIR"] = str(tmp_path_factory.mktemp("fuzz-state"))
    yield
    if previous is None:
        os.environ.pop("CS_MCP_STATE_DIR", None)
    else:
        os.environ["CS_MCP_STATE_DIR"] = previous


@pytest.fixture(scope="module", params=["auto", "legacy"])
def live_client(request, tiny_workspace, fuzz_state_dir):
    """(a blocking portal, an MCP client on the tiny workspace, its tools) kept open for all the examples."""
    server = create_server(tiny_workspace.settings, tiny_workspace, warm_up=False)
    with start_blocking_portal() as portal:
        with portal.wrap_async_context_manager(Client(server, mode=request.param)) as client:
            tools = portal.call(client.list_tools).tools
            yield portal, client, {t.name: t.input_schema for t in tools}


def call(portal: Any, client: Any, tool: str, args: dict[str, Any]) -> Any:
    async def bounded() -> Any:
        with anyio.fail_after(CALL_TIMEOUT_SECONDS):
            return await client.call_tool(tool, args)

    return portal.call(bounded)


def run_property(live_client: Any, examples: int, derandomize: bool) -> None:
    portal, client, schemas = live_client
    strategy = st.sampled_from(sorted(schemas)).flatmap(
        lambda name: st.tuples(st.just(name), arguments_for(schemas[name]))
    )
    calls = {"n": 0, "answered": 0}

    @settings(max_examples=examples, deadline=None, derandomize=derandomize, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(strategy)
    def prop(drawn: tuple[str, dict[str, Any]]) -> None:
        tool, args = drawn
        calls["n"] += 1
        result = call(portal, client, tool, args)
        calls["answered"] += not result.is_error
        check_answer(tool, list(schemas[tool].get("properties", {})), args, result)

    started = time.perf_counter()
    prop()
    elapsed = time.perf_counter() - started
    print(f"\nfuzz: {calls['n']} calls ({calls['answered']} answered, the rest tool errors) in {elapsed:.1f} s")  # noqa: T201
    after = call(portal, client, "find-accounts", {"query": "acme"})
    assert not after.is_error and after.structured_content["total"] == 1, "the server still answers"


def examples(default: int) -> int:
    return int(os.environ.get("CS_MCP_FUZZ_EXAMPLES", default))


def test_every_tool_survives_generated_and_hostile_arguments(live_client):
    run_property(live_client, examples(DEFAULT_EXAMPLES), derandomize=True)


@pytest.mark.nightly
def test_every_tool_survives_thousands_of_generated_calls(live_client):
    run_property(live_client, examples(NIGHTLY_EXAMPLES), derandomize=False)
