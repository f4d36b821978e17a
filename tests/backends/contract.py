"""The tool contract across engines: one tool call, the same structured answer on every backend.

A case is a tool name and its arguments. It runs through a real MCP client on the reference workspace (the
file folder as the embedded loader reads it) and on the same data copied into an engine (`cs-mcp load`'s code)
and reopened there by URL. The answers must agree: ids, counts and text exactly, money to the cent and scores,
rates and probabilities to 0.01.

Use from a test module::

    from contract import ACCOUNT, answer, assert_same_answer

    pytestmark = pytest.mark.anyio

    @pytest.mark.parametrize(("tool", "args"), [("health-score", {"account": ACCOUNT})])
    async def test_x(tool, args, contract_pair):
        ref, ws = contract_pair  # fixture in conftest: parametrized over engines and workspaces
        assert_same_answer(await answer(ref, tool, args), await answer(ws, tool, args))
"""

from __future__ import annotations

import math
from typing import Any

from mcp import Client

from cs_mcp.config import load_settings
from cs_mcp.server import create_server
from cs_mcp.workspace.loader import Workspace, open_workspace
from cs_mcp.workspace.transfer import load_into

TOLERANCE = 0.01
"""Largest difference allowed between two numbers of the same answer (a cent, a point of a score, 1%)."""
RELATIVE = 1e-3
"""... or this share of the number, where looser: a model fitted on another engine's floats (sums added in
another order) moves a probability in the fourth or fifth decimal, and ARR x probability by more than a cent."""

IGNORED_KEYS = frozenset({"workspace", "data_version", "version", "elapsed_ms", "generated_at", "engine"})
"""Keys that name where or when an answer was computed, not what it says."""

_opened: dict[tuple[str, str], Workspace] = {}


def in_engine(engine: str, name: str, reference: dict[str, Workspace], engine_url) -> Workspace:
    """The reference workspace copied into `engine` (schema = workspace name) and reopened there."""
    if engine == "spark":  # temporary views are per session: one Spark workspace at a time
        for key in [k for k in _opened if k[0] == "spark" and k[1] != name]:
            _opened.pop(key).close()
    if (engine, name) not in _opened:
        ref = reference[name]
        url = engine_url(engine, name)
        schema = None if engine == "duckdb" else f"cs_{name}"
        load_into(ref, url, schema=schema)
        data = {"url": url, "database_schema": schema, "as_of": ref.as_of.isoformat()}
        # the same methodology (weights, bands, tiers ...); only where the data lives changes
        overrides = {k: v for k, v in ref.settings.model_dump(mode="json").items() if k != "data"} | {"data": data}
        _opened[(engine, name)] = open_workspace(load_settings(overrides=overrides))
    return _opened[(engine, name)]


def close_engines() -> None:
    for ws in _opened.values():
        ws.close()
    _opened.clear()


ACCOUNT = "$account"
"""An argument value replaced by the workspace's largest active account (ids differ between workspaces)."""


def _bind_account(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    if ACCOUNT not in args.values():
        return args
    top = ws.scalar("SELECT account_id FROM accounts WHERE coalesce(lower(status), 'active') <> 'churned' "
                    "ORDER BY arr DESC, account_id LIMIT 1")
    return {k: (top if v == ACCOUNT else v) for k, v in args.items()}


async def answer(ws: Workspace, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """The tool's structured answer on `ws`, through an in-memory MCP client; a tool error fails the test.

    An argument given as `ACCOUNT` names the workspace's largest active account."""
    args = _bind_account(ws, args)
    server = create_server(ws.settings, ws, warm_up=False)
    async with Client(server) as client:
        result = await client.call_tool(tool, args, read_timeout_seconds=600)
    text = " ".join(getattr(c, "text", "") for c in result.content)
    assert not result.is_error, f"{tool} {args} failed on {ws.backend.dialect}: {text}"
    assert result.structured_content is not None, f"{tool} gave no structured answer"
    return result.structured_content


def differences(want: Any, got: Any, path: str = "$", relative: float = RELATIVE) -> list[str]:
    """Where two answers differ beyond the tolerance, as 'path: want != got' lines."""
    if isinstance(want, dict) and isinstance(got, dict):
        keys = (set(want) | set(got)) - IGNORED_KEYS
        out: list[str] = []
        for key in sorted(keys, key=str):
            if key not in want or key not in got:
                out.append(f"{path}.{key}: only in {'reference' if key in want else 'engine'}")
            else:
                out += differences(want[key], got[key], f"{path}.{key}", relative)
        return out
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return [f"{path}: {len(want)} items != {len(got)} items"]
        pairs = enumerate(zip(want, got, strict=True))
        return [line for i, (w, g) in pairs for line in differences(w, g, f"{path}[{i}]", relative)]
    if _number(want) and _number(got):
        if math.isnan(want) and math.isnan(got):
            return []
        bound = max(TOLERANCE, relative * abs(want), _display_step(want), _display_step(got)) + 1e-9
        return [] if abs(want - got) <= bound else [f"{path}: {want!r} != {got!r}"]
    return [] if want == got else [f"{path}: {want!r} != {got!r}"]


def _display_step(value: Any) -> float:
    """One step of the last decimal of a float shown to one decimal (92.6): noise below the tolerance can
    carry the unrounded value across a rounding boundary, so 92.6 and 92.7 may both be right. 0 otherwise."""
    if not isinstance(value, float) or "e" in repr(value):
        return 0.0
    decimals = len(repr(value).partition(".")[2])
    return 0.1 if decimals == 1 else 0.0


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def assert_same_answer(want: dict[str, Any], got: dict[str, Any], relative: float = RELATIVE) -> None:
    lines = differences(want, got, relative=relative)
    assert not lines, f"{len(lines)} differences:\n" + "\n".join(lines[:40])
