"""Builds the MCP server: tools, resources and prompts over one lazily opened workspace."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from cs_mcp import __version__
from cs_mcp.config import Settings
from cs_mcp.progress import thread_progress
from cs_mcp.tool_errors import CSServer

if TYPE_CHECKING:
    from cs_mcp.tools.registry import ToolSpec
    from cs_mcp.workspace.loader import Workspace

log = logging.getLogger("cs_mcp")

INSTRUCTIONS = """\
Customer Success analytics computed from the team's own data (accounts, usage, tickets, NPS, \
touchpoints, invoices, subscriptions). Every figure comes from the server: call a tool rather than \
computing numbers yourself, and quote the figures it returns.
Start with find-accounts to turn a customer name into an account id. One account: health-score, \
engagement-report, renewal-strategy, account-review-prep, onboarding-plan. Portfolio: churn-risk-list \
(who may churn, and why), renewal-forecast, retention-metrics (GRR/NRR), expansion-opportunities, \
customer-segments, nps-analysis, escalation-analysis, csm-performance. List answers are paginated: \
pass next_cursor for more. Methodology is in the resources cs://skills/* and cs://templates/*, the \
settings in force in cs://config/active, the churn model card in cs://models/churn, data problems in \
cs://data/quality; the prompts are ready-made playbooks (weekly-at-risk-review, qbr-preparation, ...)."""

WARMUP_DELAY_SECONDS = 0.5
RECHECK_SECONDS = 2.0
"""How often a request may stat the workspace's files to notice changed data."""


class AppState:
    """What the server holds between requests: settings and the workspace, opened once on demand."""

    def __init__(self, settings: Settings, workspace: Workspace | None = None):
        self.settings = settings
        self._workspace = workspace
        self._lock = threading.Lock()
        self._fingerprint: str | None = None
        self._checked = 0.0

    @property
    def loaded(self) -> Workspace | None:
        return self._workspace

    def open_workspace(self, progress: Any = None) -> Workspace:
        """Open the workspace (blocking) the first time; later calls return it."""
        with self._lock:
            if self._workspace is None:
                from cs_mcp.workspace.loader import open_workspace, workspace_version

                self._fingerprint = workspace_version(self.settings)
                self._workspace = open_workspace(self.settings, progress)
                self._checked = time.monotonic()
                log.info("workspace loaded: version %s", self._workspace.version)
            return self._workspace

    def reload_if_changed(self) -> bool:
        """Reopen the workspace when its files changed since it was loaded (fits and caches start over)."""
        from cs_mcp.workspace.loader import workspace_version

        if self._workspace is None or self._fingerprint is None or self._workspace.path is None:
            return False
        if workspace_version(self.settings) == self._fingerprint:
            return False
        with self._lock:
            # Not closed here: a request may still be reading it; it goes when the last reference does.
            self._workspace = None
        log.info("workspace files changed: reloading")
        self.open_workspace()
        return True

    async def workspace(self, ctx: Context | None = None) -> Workspace:
        if self._workspace is not None:
            if time.monotonic() - self._checked < RECHECK_SECONDS:
                return self._workspace
            self._checked = time.monotonic()
            await anyio.to_thread.run_sync(self.reload_if_changed)
            if self._workspace is not None:
                return self._workspace
        progress = thread_progress(ctx) if ctx is not None else None
        try:
            return await anyio.to_thread.run_sync(self.open_workspace, progress)
        except ValueError as exc:  # WorkspaceError / ConfigError: the user can fix the data
            raise ToolError(str(exc)) from exc

    def close(self) -> None:
        if self._workspace is not None:
            self._workspace.close()


def enabled_tools(settings: Settings) -> list[ToolSpec]:
    from cs_mcp.tools import ALL_TOOLS

    families = set(settings.server.tools) if settings.server.tools else None
    return [
        t for t in ALL_TOOLS
        if (families is None or t.family in families) and not (settings.server.read_only and not t.read_only)
    ]


# Requests answered before the tools, resources and prompts are registered: the handshake only.
HANDSHAKE_METHODS = ("initialize", "server/discover", "ping")


def create_server(settings: Settings | None = None, workspace: Workspace | None = None,
                  warm_up: bool = True) -> MCPServer:
    """An MCPServer over `workspace` (or the one `settings` point to, opened on first use).

    Registering tools (their schemas), resources and prompts costs about as much as the rest of
    start-up, so it happens on the first request after the handshake, not before `initialize`.
    """
    from cs_mcp.resources import register_completion

    settings = settings or Settings()
    state = AppState(settings, workspace)

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[AppState]:
        async with anyio.create_task_group() as tg:
            if warm_up and state.loaded is None:
                tg.start_soon(_warm_up, state)
            try:
                yield state
            finally:
                tg.cancel_scope.cancel()

    server = CSServer(
        "customer-success-mcp",
        title="Customer Success analytics",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
    )
    registered: list[bool] = []

    def register_all() -> None:
        if registered:
            return
        registered.append(True)
        _register(server, state)

    async def register_on_first_use(ctx: Any, call_next: Any) -> Any:
        if not registered and ctx.method not in HANDSHAKE_METHODS and not ctx.method.startswith("notifications/"):
            register_all()
        return await call_next(ctx)

    server.middleware.append(register_on_first_use)
    register_completion(server, state)  # capabilities are fixed before the first request: register now
    server.app_state = state  # type: ignore[attr-defined]  # for tests and the CLI
    server.register_all = register_all  # type: ignore[attr-defined]
    return server


def _register(server: MCPServer, state: AppState) -> None:
    from cs_mcp.prompts import register_prompts
    from cs_mcp.resources import register_resources

    tools = enabled_tools(state.settings)
    for spec in tools:
        server.add_tool(
            spec.fn,
            name=spec.name,
            title=spec.title,
            description=spec.description,
            annotations=ToolAnnotations(
                title=spec.title,
                read_only_hint=spec.read_only,
                destructive_hint=False,
                idempotent_hint=spec.read_only,
                open_world_hint=False,
            ),
        )
    register_resources(server, state)
    if any(t.family == "churn" for t in tools):
        from cs_mcp.resources.models import register_model_resources

        register_model_resources(server, state)
    register_prompts(server, state, {t.name for t in tools})


async def _warm_up(state: AppState) -> None:
    """Load the data in the background once the client has had its first answers."""
    await anyio.sleep(WARMUP_DELAY_SECONDS)
    try:
        ws = await anyio.to_thread.run_sync(state.open_workspace, None, abandon_on_cancel=True)
    except Exception:
        log.warning("background load of the workspace failed; the first tool call will report why",
                    exc_info=True)
        return
    if state.settings.server.tools is None or "churn" in state.settings.server.tools:
        try:  # fit the churn model now, so the first portfolio question is answered warm
            from cs_mcp.domain.churn_model import churn_scores

            await anyio.to_thread.run_sync(churn_scores, ws, abandon_on_cancel=True)
        except Exception:
            log.warning("background churn model fit failed; churn-risk-list will report why", exc_info=True)
