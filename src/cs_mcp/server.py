"""Builds the MCP server: tools, resources and prompts over one lazily opened workspace."""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources as package_files
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.mcpserver import Context, Icon, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from cs_mcp import __version__
from cs_mcp.config import Settings
from cs_mcp.notify import ClientLogHandler, Peers
from cs_mcp.progress import ProgressBoard
from cs_mcp.tool_errors import CSServer

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext

    from cs_mcp.progress import LoopBridge
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
WARMUP_WAITS_FOR_LISTS_SECONDS = 10.0
"""The warm-up lets the first listing (which registers the tools) go first, so as not to slow it down."""
RECHECK_SECONDS = 2.0
"""How often a request may stat the workspace's files to notice changed data."""
SETTLE_SECONDS = 1.0
"""A data file modified less than this long ago may still be being written: its reload waits until it is not."""


class AppState:
    """What the server holds between requests: settings and the workspace, opened once on demand."""

    def __init__(self, settings: Settings, workspace: Workspace | None = None):
        self.settings = settings
        self._workspace = workspace
        self._lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self._fingerprint: str | None = None
        self._refused: str | None = None
        """Fingerprint of files whose load failed: not tried again until they change again."""
        self._checked = 0.0
        self.board = ProgressBoard()
        self.exports: Any = None  # cs_mcp.exports.ExportStore, made by the first export
        self.on_reload: Callable[[], Awaitable[None]] | None = None
        self.listed: anyio.Event | None = None

    @property
    def loaded(self) -> Workspace | None:
        return self._workspace

    def open_workspace(self, progress: Any = None) -> Workspace:
        """Open the workspace (blocking) the first time; later calls return it."""
        with self._lock:
            if self._workspace is None:
                from cs_mcp.workspace.loader import open_workspace, workspace_version

                if _uses_churn_model(self.settings):
                    from cs_mcp.domain.churn_model import import_in_background

                    import_in_background()
                self._fingerprint = workspace_version(self.settings)
                self._workspace = open_workspace(self.settings, progress)
                self._checked = time.monotonic()
                log.info("workspace loaded: version %s", self._workspace.version)
            return self._workspace

    def reload_if_changed(self) -> bool:
        """Load changed files into a new workspace, and serve it only once it has loaded well.

        Until then, and when the new files do not load (a file truncated, emptied or half written), requests
        keep the last good workspace, whose `cs://data/quality` report then says what is wrong. A file still
        being written (modified in the last SETTLE_SECONDS) is waited for. Requests are never held for
        another request's reload: they answer from the current version meanwhile.
        """
        from cs_mcp.workspace.loader import open_workspace, workspace_version

        current = self._workspace
        if current is None or self._fingerprint is None or current.path is None:
            return False
        if not self._reload_lock.acquire(blocking=False):
            return False
        try:
            try:
                fingerprint = workspace_version(self.settings)
            except OSError:  # a file vanished between listing and stat: it is being replaced
                return False
            if fingerprint == self._fingerprint and current.quality.reload_problem:
                # the files are back to the version being served
                current.quality = current.quality.model_copy(update={"reload_problem": None})
            if fingerprint in (self._fingerprint, self._refused) or self._being_written():
                return False
            log.info("workspace files changed: loading the new version")
            try:
                fresh = open_workspace(self.settings)
            except Exception as exc:  # any failure keeps the last good version
                self._keep_serving(current, fingerprint, (str(exc).strip() or type(exc).__name__).splitlines()[0])
                return False
            problem = fresh.quality.lost_tables(current.quality)
            if problem:
                fresh.close()
                self._keep_serving(current, fingerprint, problem)
                return False
            with self._lock:
                # The old workspace is not closed: a request may still be reading it; it goes with its last reference.
                self._workspace, self._fingerprint, self._refused = fresh, fingerprint, None
            log.info("workspace reloaded: version %s", fresh.version)
            return True
        finally:
            self._reload_lock.release()

    def _being_written(self) -> bool:
        from cs_mcp.workspace.loader import data_files

        try:
            newest = max((p.stat().st_mtime for p in data_files(self.settings)), default=0.0)
        except OSError:
            return True
        return time.time() - newest < SETTLE_SECONDS

    def _keep_serving(self, current: Workspace, fingerprint: str, problem: str) -> None:
        self._refused = fingerprint
        message = (
            f"The workspace files changed but the new version was not loaded: {problem}. Answers still come "
            f"from the last good version ({current.version}); fix the files and the next request loads them."
        )
        in_place = [t.table for t in current.quality.tables if t.read_in_place]
        if in_place:
            message += (
                f" Except {', '.join(in_place)}: read in place from Parquet, they already show the changed "
                "files, so put the last good files back or fix them."
            )
        current.quality = current.quality.model_copy(update={"reload_problem": message})
        log.warning("%s", message)

    async def workspace(self, ctx: Context | None = None) -> Workspace:
        if self._workspace is not None:
            if time.monotonic() - self._checked < RECHECK_SECONDS:
                return self._workspace
            self._checked = time.monotonic()
            reloaded = await anyio.to_thread.run_sync(self.reload_if_changed)
            if reloaded and self.on_reload is not None:
                await self.on_reload()
            if self._workspace is not None:
                return self._workspace
        try:
            return await anyio.to_thread.run_sync(self.open_workspace, self.board.reporter())
        except ValueError as exc:  # WorkspaceError / ConfigError: the user can fix the data
            raise ToolError(str(exc)) from exc

    def close(self) -> None:
        if self._workspace is not None:
            self._workspace.close()


def enabled_tool_names(settings: Settings) -> list[str]:
    from cs_mcp.toolsets import select_tools

    cfg = settings.server
    return select_tools(cfg.toolsets, cfg.tools, cfg.exclude_tools, cfg.read_only)


def enabled_tools(settings: Settings) -> list[ToolSpec]:
    from cs_mcp.tools import ALL_TOOLS

    names = set(enabled_tool_names(settings))
    return [t for t in ALL_TOOLS if t.name in names]


# Requests answered before the tools, resources and prompts are registered: the handshake only.
HANDSHAKE_METHODS = ("initialize", "server/discover", "ping")
PROGRESS_METHODS = ("tools/call", "resources/read", "prompts/get", "completion/complete")
"""Requests that may wait for the data to load or the churn model to fit."""


def server_icons() -> list[Icon]:
    """The icon shipped in the package, inline (clients need no network to show it)."""
    assets = package_files.files("cs_mcp") / "assets"
    icons = []
    for name, mime, sizes in (("icon.svg", "image/svg+xml", ["any"]), ("icon-64.png", "image/png", ["64x64"])):
        data = base64.b64encode((assets / name).read_bytes()).decode()
        icons.append(Icon(src=f"data:{mime};base64,{data}", mime_type=mime, sizes=sizes))
    return icons


def create_server(settings: Settings | None = None, workspace: Workspace | None = None,
                  warm_up: bool = True) -> MCPServer:
    """An MCPServer over `workspace` (or the one `settings` point to, opened on first use).

    Registering tools (their schemas), resources and prompts costs about as much as the rest of
    start-up, so it happens on the first request after the handshake, not before `initialize`.
    """
    from mcp.server.subscriptions import InMemorySubscriptionBus

    from cs_mcp.apps import apps_extension
    from cs_mcp.resources import register_completion

    settings = settings or Settings()
    state = AppState(settings, workspace)
    peers = Peers(settings.server.log_level)
    client_log = ClientLogHandler(peers)
    bus = InMemorySubscriptionBus()

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[AppState]:
        from anyio.from_thread import BlockingPortal

        from cs_mcp.notify import Outbox, send_background_log
        from cs_mcp.progress import LoopBridge

        async with BlockingPortal() as portal, anyio.create_task_group() as tg:
            bridge = LoopBridge(portal)
            state.board.bridge = bridge
            client_log.background = Outbox(bridge, send_background_log)
            tg.start_soon(client_log.background.run)
            log.addHandler(client_log)

            async def reloaded() -> None:
                from cs_mcp.notify import announce_reload

                await announce_reload(peers, bus)
                if warm_up:
                    tg.start_soon(_fit_churn_model, state)

            state.on_reload = reloaded
            state.listed = anyio.Event()
            if registered:
                state.listed.set()
            if warm_up and state.loaded is None:
                tg.start_soon(_warm_up, state)
            try:
                yield state
            finally:
                log.removeHandler(client_log)
                state.board.bridge = None
                tg.cancel_scope.cancel()

    server = CSServer(
        "customer-success-mcp",
        title="Customer Success analytics",
        description="Health, churn risk, renewals, retention, NPS and more, computed from your own data",
        version=__version__,
        instructions=INSTRUCTIONS,
        website_url=settings.server.website_url,
        icons=server_icons(),
        lifespan=lifespan,
        subscriptions=bus,
        extensions=apps_extension(enabled_tool_names(settings)),
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
            try:
                return await call_next(ctx)
            finally:
                if state.listed is not None:
                    state.listed.set()
        return await call_next(ctx)

    async def progress_and_logs(ctx: ServerRequestContext[Any, Any], call_next: Any) -> Any:
        if ctx.request_id is None or ctx.method in HANDSHAKE_METHODS:
            return await call_next(ctx)
        return await _serve_with_companions(ctx, call_next, state, peers, client_log)

    server.middleware.append(register_on_first_use)
    server.middleware.append(progress_and_logs)
    _serve_logging_and_subscriptions(server, peers)
    register_completion(server, state)  # capabilities are fixed before the first request: register now
    server.app_state = state  # type: ignore[attr-defined]  # for tests and the CLI
    server.register_all = register_all  # type: ignore[attr-defined]
    return server


async def _serve_with_companions(ctx: ServerRequestContext[Any, Any], call_next: Any, state: AppState,
                                 peers: Peers, client_log: ClientLogHandler) -> Any:
    """Run a request with its progress relay and its log lines going to its own stream."""
    from cs_mcp.notify import RequestLog, current_request_log, request_levels
    from cs_mcp.progress import ProgressRelay

    bridge: LoopBridge | None = state.board.bridge
    levels = request_levels(ctx, peers)
    request_log = RequestLog(ctx, levels, bridge, client_log) if levels and bridge is not None else None
    relay = None
    if ctx.method in PROGRESS_METHODS:
        label = str((ctx.params or {}).get("name") or (ctx.params or {}).get("uri") or ctx.method)
        relay = ProgressRelay(state.board, ctx.session.report_progress, label)
    reset = current_request_log.set(request_log)
    result = error = None
    try:
        async with anyio.create_task_group() as tg:
            if request_log is not None:
                tg.start_soon(request_log.outbox.run)
            if relay is not None:
                tg.start_soon(relay.run)
            try:
                result = await call_next(ctx)
            except Exception as exc:  # re-raised below, outside the task group (which would wrap it)
                error = exc
            if relay is not None:
                relay.stop()
                await relay.tell(final=True)
            if request_log is not None:
                await request_log.outbox.close()
    finally:
        current_request_log.reset(reset)
    if error is not None:
        raise error
    return result


def _serve_logging_and_subscriptions(server: MCPServer, peers: Peers) -> None:
    """`logging/setLevel`, `resources/(un)subscribe` and `listChanged` for handshake-era clients.

    MCPServer (mcp 2.3) offers none of them; the SDK's advice for `logging/setLevel` is the low-level
    server's request handlers. At 2026-07-28 the SDK derives `listChanged` from `subscriptions/listen`.
    """
    from mcp.server.lowlevel import NotificationOptions
    from mcp.types import EmptyResult, SetLevelRequestParams, SubscribeRequestParams, UnsubscribeRequestParams

    from cs_mcp.notify import levels_from, open_logger_to

    async def set_level(ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams) -> EmptyResult:
        peer = peers.of(ctx)
        if peer is not None:
            peer.levels = levels_from(params.level)
            open_logger_to(peer.levels)
        return EmptyResult()

    async def subscribe(ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams) -> EmptyResult:
        peer = peers.of(ctx)
        if peer is not None:
            peer.subscriptions.add(str(params.uri))
        return EmptyResult()

    async def unsubscribe(ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams) -> EmptyResult:
        peer = peers.of(ctx)
        if peer is not None:
            peer.subscriptions.discard(str(params.uri))
        return EmptyResult()

    lowlevel = server._lowlevel_server  # no public way to add request handlers (mcp 2.3)
    lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)
    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)
    plain = lowlevel.create_initialization_options

    def with_resource_changes(notification_options: Any = None, *args: Any, **kwargs: Any) -> Any:
        return plain(notification_options or NotificationOptions(resources_changed=True), *args, **kwargs)

    lowlevel.create_initialization_options = with_resource_changes  # type: ignore[method-assign]


def _register(server: MCPServer, state: AppState) -> None:
    from cs_mcp.apps import tool_meta
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
            meta=tool_meta(spec.name),
        )
    register_resources(server, state)
    if any(t.family == "churn" for t in tools):
        from cs_mcp.resources.models import register_model_resources

        register_model_resources(server, state)
    register_prompts(server, state, {t.name for t in tools})


def _uses_churn_model(settings: Settings) -> bool:
    from cs_mcp.toolsets import CHURN_MODEL_TOOLS

    return bool(CHURN_MODEL_TOOLS & set(enabled_tool_names(settings)))


async def _warm_up(state: AppState) -> None:
    """Load the data in the background once the client has had its first answers."""
    await anyio.sleep(WARMUP_DELAY_SECONDS)
    if state.listed is not None:
        with anyio.move_on_after(WARMUP_WAITS_FOR_LISTS_SECONDS):
            await state.listed.wait()
    try:
        await anyio.to_thread.run_sync(state.open_workspace, state.board.reporter(), abandon_on_cancel=True)
    except Exception:
        log.warning("background load of the workspace failed; the first tool call will report why",
                    exc_info=True)
        return
    await _fit_churn_model(state)


async def _fit_churn_model(state: AppState) -> None:
    """Fit the churn model now, so the first portfolio question is answered warm."""
    from cs_mcp.notify import current_request_log

    current_request_log.set(None)  # started from a request (after a reload), it is nobody's request now
    ws = state.loaded
    if ws is None or not _uses_churn_model(state.settings):
        return
    try:
        from cs_mcp.domain.churn_model import churn_scores

        await anyio.to_thread.run_sync(churn_scores, ws, state.board.reporter(), abandon_on_cancel=True)
    except Exception:
        log.warning("background churn model fit failed; churn-risk-list will report why", exc_info=True)
