"""Shared fixtures: the tiny hand-computed workspace, and an MCP client in both protocol eras."""

from pathlib import Path

import pytest
from mcp import Client

from cs_mcp.config import load_settings
from cs_mcp.server import create_server

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny"


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="session", autouse=True)
def isolated_model_cache(tmp_path_factory):
    """Fitted models go to a scratch folder, not the user's ~/.cache (subprocesses inherit it)."""
    import os

    previous = os.environ.get("CS_MCP_CACHE_DIR")
    os.environ["CS_MCP_CACHE_DIR"] = str(tmp_path_factory.mktemp("model-cache"))
    yield
    if previous is None:
        os.environ.pop("CS_MCP_CACHE_DIR", None)
    else:
        os.environ["CS_MCP_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def tiny_workspace():
    from cs_mcp.workspace.loader import open_workspace

    ws = open_workspace(load_settings(TINY))
    yield ws
    ws.close()


@pytest.fixture
def tiny_server(tiny_workspace):
    return create_server(tiny_workspace.settings, tiny_workspace, warm_up=False)


@pytest.fixture(params=["auto", "legacy"])
async def client(request, tiny_server):
    """An in-memory MCP client on the tiny workspace, once per protocol era."""
    async with Client(tiny_server, mode=request.param) as c:
        yield c
