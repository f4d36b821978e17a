"""What the server tells its clients unasked: its log lines, and which resources changed after a reload.

Both protocol eras, as far as the SDK (mcp 2.3) allows:
- handshake era (2024-11-05 ... 2025-11-25): `logging/setLevel` sets a connection's level; log lines go
  on the request's stream while a request runs, else on the connection's own channel;
  `resources/subscribe` and `notifications/resources/list_changed` / `updated` reach every connection.
- 2026-07-28: log lines go only to a request that opted in (`_meta` log level) and only on its stream;
  change notifications go to `subscriptions/listen` streams through the server's subscription bus.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import anyio
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

if TYPE_CHECKING:
    from mcp.server.connection import Connection
    from mcp.server.context import ServerRequestContext

    from cs_mcp.progress import LoopBridge

LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
OUTBOX_CAPACITY = 256
"""Log lines waiting to be sent beyond this are dropped (stderr still has them)."""


def mcp_level(levelno: int) -> str:
    if levelno >= logging.CRITICAL:
        return "critical"
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warning"
    return "info" if levelno >= logging.INFO else "debug"


def levels_from(level: str) -> frozenset[str]:
    return frozenset(LEVELS[LEVELS.index(level):]) if level in LEVELS else frozenset()


PYTHON_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "notice": logging.INFO, "warning": logging.WARNING}


def open_logger_to(levels: frozenset[str]) -> None:
    """Let the server's logger make records down to the lowest level a client asked for.

    The stderr handler keeps its own level, so lines a client asked for do not flood stderr.
    """
    wanted = min((PYTHON_LEVELS.get(level, logging.ERROR) for level in levels), default=logging.ERROR)
    logger = logging.getLogger("cs_mcp")
    if logger.getEffectiveLevel() > wanted:
        logger.setLevel(wanted)


def is_modern(ctx: ServerRequestContext[Any, Any]) -> bool:
    return ctx.protocol_version in MODERN_PROTOCOL_VERSIONS


def connection_of(ctx: ServerRequestContext[Any, Any]) -> Connection:
    # mcp 2.3 gives handlers no public handle on their connection (its state and exit stack are public).
    return ctx.session._connection


class Outbox:
    """Messages queued from any thread, sent in order by one task on the event loop."""

    def __init__(self, bridge: LoopBridge, deliver: Callable[[Any], Awaitable[None]]):
        self._bridge = bridge
        self._deliver = deliver
        self._send, self._receive = anyio.create_memory_object_stream[Any](OUTBOX_CAPACITY)

    def put(self, item: Any) -> None:
        self._bridge.call_soon(self._put_now, item)

    def _put_now(self, item: Any) -> None:
        try:
            self._send.send_nowait(item)
        except (anyio.WouldBlock, anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass

    async def run(self) -> None:
        async with self._receive:
            async for item in self._receive:
                try:
                    await self._deliver(item)
                except Exception:  # a peer that went away must not stop the others
                    pass

    async def close(self) -> None:
        """Stop taking messages once those already scheduled from worker threads have landed."""
        for _ in range(3):
            await anyio.lowlevel.checkpoint()
        self._send.close()


class Peer:
    """A handshake-era connection: its log level and the resources it subscribed to."""

    def __init__(self, connection: Connection, level: str):
        self.connection = connection
        self.levels = levels_from(level)
        self.subscriptions: set[str] = set()


class Peers:
    """The handshake-era connections open now; they take notifications outside any request."""

    def __init__(self, default_level: str):
        self.default_level = default_level
        self._peers: dict[int, Peer] = {}

    def __iter__(self):
        return iter(list(self._peers.values()))

    def of(self, ctx: ServerRequestContext[Any, Any]) -> Peer | None:
        """The peer of a request's connection (noted on first sight); None on 2026-07-28."""
        if is_modern(ctx):
            return None
        connection = connection_of(ctx)
        key = id(connection)
        peer = self._peers.get(key)
        if peer is None or peer.connection is not connection:
            peer = self._peers[key] = Peer(connection, self.default_level)
            connection.exit_stack.callback(self._peers.pop, key, None)
        return peer


class RequestLog:
    """Where log lines emitted while one request runs go: that request's stream, at its levels."""

    def __init__(self, ctx: ServerRequestContext[Any, Any], levels: frozenset[str], bridge: LoopBridge,
                 owner: logging.Handler):
        self.levels = levels
        self.owner = owner
        self.outbox = Outbox(bridge, self._send)
        self._ctx = ctx

    async def _send(self, params: dict[str, Any]) -> None:
        from mcp_types import LoggingMessageNotification, LoggingMessageNotificationParams

        await self._ctx.session.send_notification(
            LoggingMessageNotification(params=LoggingMessageNotificationParams(**params)),
            related_request_id=self._ctx.request_id,
        )


current_request_log: contextvars.ContextVar[RequestLog | None] = contextvars.ContextVar(
    "cs_mcp_request_log", default=None
)


def request_levels(ctx: ServerRequestContext[Any, Any], peers: Peers) -> frozenset[str]:
    if is_modern(ctx):
        from mcp.server.connection import allowed_log_levels

        levels = allowed_log_levels(ctx.protocol_version, ctx.meta)
        open_logger_to(levels)
        return levels
    peer = peers.of(ctx)
    return peer.levels if peer is not None else frozenset()


class ClientLogHandler(logging.Handler):
    """Sends the server's log records to clients as `notifications/message`."""

    def __init__(self, peers: Peers):
        super().__init__(logging.DEBUG)
        self.peers = peers
        self.background: Outbox | None = None
        self._busy = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._busy, "on", False):
            return  # a line logged while sending a line
        self._busy.on = True
        try:
            level = mcp_level(record.levelno)
            params = {"level": level, "logger": record.name, "data": self._text(record)}
            request = current_request_log.get()
            if request is not None:
                if request.owner is self and level in request.levels:
                    request.outbox.put(params)
            elif self.background is not None:
                for peer in self.peers:
                    if level in peer.levels:
                        self.background.put((peer.connection, params))
        except Exception:  # logging must never raise into the work
            pass
        finally:
            self._busy.on = False

    @staticmethod
    def _text(record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        return text


async def send_background_log(item: tuple[Connection, dict[str, Any]]) -> None:
    connection, params = item
    await connection.notify("notifications/message", params)


DATA_RESOURCES = ("cs://data/quality", "cs://models/churn")
"""Resources whose content is computed from the data: they change when the workspace reloads."""


def is_data_resource(uri: str) -> bool:
    return uri in DATA_RESOURCES or uri.startswith("cs://accounts/")


async def announce_reload(peers: Iterable[Peer], bus: Any) -> None:
    """Tell every client that the data-derived resources changed (the workspace was reloaded)."""
    from mcp.server.subscriptions import ResourcesListChanged, ResourceUpdated

    for peer in peers:
        await peer.connection.send_resource_list_changed()
        for uri in sorted(u for u in peer.subscriptions if is_data_resource(u)):
            await peer.connection.send_resource_updated(uri)
    await bus.publish(ResourcesListChanged())
    for uri in DATA_RESOURCES:
        await bus.publish(ResourceUpdated(uri=uri))
