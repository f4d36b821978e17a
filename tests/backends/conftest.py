"""Engines for the backend tests: DuckDB always; PostgreSQL and Spark when they can run here.

PostgreSQL: `CS_MCP_TEST_POSTGRES_URL` names a server to use (its database is written to: give a scratch
one); otherwise, when the PostgreSQL server binaries are installed, `.ci/postgres` starts a throwaway one
for the session. Spark: `CS_MCP_TEST_SPARK_URL` (e.g. sc://host:15002), else local mode when pyspark and
Java are installed. `CS_MCP_TEST_ENGINES=duckdb,postgres` limits the legs that run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from contract import close_engines

from cs_mcp.config import load_settings
from cs_mcp.workspace.loader import open_workspace

REPO = Path(__file__).resolve().parents[2]
PG_SCRIPT = REPO / ".ci" / "postgres"
ENGINES = ("duckdb", "postgres", "spark")
TINY = REPO / "tests" / "data" / "tiny"


def _wanted(engine: str) -> bool:
    chosen = os.environ.get("CS_MCP_TEST_ENGINES")
    return chosen is None or engine in {e.strip() for e in chosen.split(",")}


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory):
    if not _wanted("postgres"):
        pytest.skip("PostgreSQL leg not selected (CS_MCP_TEST_ENGINES)")
    try:
        import psycopg  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError:
        pytest.skip("PostgreSQL leg needs the postgres extra: pip install -e '.[test,postgres]'")
    url = os.environ.get("CS_MCP_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    if not (shutil.which("initdb") or list(Path("/usr/lib/postgresql").glob("*/bin/initdb"))):
        pytest.skip("PostgreSQL leg needs a server: install PostgreSQL (apt-get install postgresql) or set "
                    "CS_MCP_TEST_POSTGRES_URL=postgresql://user@host/scratch_db")
    folder = Path(os.environ.get("CS_MCP_TEST_PG_DIR") or "/tmp") / f"cs-mcp-pg-{os.getpid()}"
    started = subprocess.run([str(PG_SCRIPT), "start", str(folder)], capture_output=True, text=True, timeout=180)
    if started.returncode != 0:
        pytest.skip(f"could not start a throwaway PostgreSQL ({started.stderr.strip()[-300:]}); set "
                    "CS_MCP_TEST_POSTGRES_URL to use a running server")
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(PG_SCRIPT), "stop", str(folder)], capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def spark_url(tmp_path_factory):
    if not _wanted("spark"):
        pytest.skip("Spark leg not selected (CS_MCP_TEST_ENGINES)")
    url = os.environ.get("CS_MCP_TEST_SPARK_URL")
    if url:
        return url
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.skip("Spark leg needs the spark extra: pip install -e '.[test,spark]' (and Java 17+)")
    if not shutil.which("java"):
        pytest.skip("Spark leg needs Java 17+ on PATH")
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    return f"spark://local[2]?warehouse={warehouse}"


@pytest.fixture(scope="session")
def engine_url(request, tmp_path_factory):
    """A function giving the URL of an engine by name (duckdb: a fresh database file per workspace)."""

    def url(engine: str, label: str) -> str:
        if engine == "duckdb":
            return f"duckdb:///{tmp_path_factory.mktemp('duckdb-' + label)}/warehouse.db"
        return request.getfixturevalue(f"{engine}_url")

    return url


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    from cs_mcp.demo.generator import generate_workspace

    out = tmp_path_factory.mktemp("demo-60")
    generate_workspace(out, accounts=60, seed=11, fmt="parquet")
    return out


@pytest.fixture(scope="session")
def reference(demo_dir):
    """The file workspaces as the embedded loader reads them."""
    refs = {"tiny": open_workspace(load_settings(TINY)), "demo": open_workspace(load_settings(demo_dir))}
    yield refs
    for ws in refs.values():
        ws.close()
    close_engines()



@pytest.fixture(params=ENGINES)
def engine(request):
    return request.param


@pytest.fixture(scope="module", params=["tiny", "demo"])
def name(request):
    """Module-scoped, so pytest runs every test of one workspace before the next (Spark serves one at a time)."""
    return request.param


@pytest.fixture
def contract_pair(engine, name, reference, engine_url):
    """(reference workspace, the same data in `engine`) for the tool contract tests.

    Spark runs the tools on the tiny workspace only: each Spark query costs seconds on two cores."""
    from contract import in_engine

    if engine == "spark" and name != "tiny":
        pytest.skip("the Spark leg of the tool contract runs on the tiny workspace")
    return reference[name], in_engine(engine, name, reference, engine_url)
