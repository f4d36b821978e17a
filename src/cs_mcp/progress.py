"""Progress of long work (loading the data, fitting the churn model), relayed to every request in flight.

Work in worker threads reports `(fraction, message)` to the server's `ProgressBoard`. Each request relays
what the board says as `notifications/progress` (when its client asked for progress), so a call that waits
for a load or a fit started by someone else (the background warm-up, another call) still hears how it
goes; a request that runs long without news sends a heartbeat, which keeps clients' timeouts from firing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio

log = logging.getLogger("cs_mcp")

Progress = Callable[[float, str], None]
SendProgress = Callable[[float, float | None, str | None], Awaitable[None]]

HEARTBEAT_SECONDS = 2.0
MIN_INTERVAL_SECONDS = 0.1
"""Reports closer together than this are coalesced: the latest one is sent."""


class LoopBridge:
    """Calls a function on the event loop from any thread without waiting for it.

    A worker thread that reported progress or logged a line must never block on the loop: the loop may be
    waiting (synchronously) for a lock that worker holds.
    """

    def __init__(self, portal: Any):
        self._portal = portal
        self._loop_thread = threading.get_ident()

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        if threading.get_ident() == self._loop_thread:
            fn(*args)
            return
        try:
            self._portal.start_task_soon(fn, *args)
        except RuntimeError:  # the loop has stopped: nobody is listening any more
            pass


@dataclass(frozen=True)
class Report:
    seq: int
    fraction: float
    message: str

    def text(self) -> str:
        return f"{self.message} ({self.fraction:.0%})" if self.fraction < 1 else self.message


class ProgressBoard:
    """The latest report of the server's long work, and the requests waiting to hear of it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest = Report(0, 1.0, "")
        self._listeners: dict[object, Callable[[], None]] = {}
        self.bridge: LoopBridge | None = None

    @property
    def latest(self) -> Report:
        return self._latest

    def reporter(self) -> Progress:
        """A `progress(fraction, message)` callable for code running in any thread."""
        return self.report

    def report(self, fraction: float, message: str) -> None:
        with self._lock:
            self._latest = Report(self._latest.seq + 1, min(max(float(fraction), 0.0), 1.0), message)
            wakers = list(self._listeners.values())
        bridge = self.bridge
        if bridge is not None:
            for wake in wakers:
                bridge.call_soon(wake)

    def listen(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Call `wake` (on the event loop) after every report; returns the way to stop."""
        token = object()
        with self._lock:
            self._listeners[token] = wake

        def stop() -> None:
            with self._lock:
                self._listeners.pop(token, None)

        return stop


class ProgressRelay:
    """Sends one request's progress notifications: the board's news, else a heartbeat while it runs long."""

    def __init__(self, board: ProgressBoard, send: SendProgress, label: str,
                 heartbeat: float = HEARTBEAT_SECONDS):
        self.board = board
        self.send = send
        self.label = label
        self.heartbeat = heartbeat
        self.started = time.monotonic()
        self.seen = board.latest.seq  # news from before the request is not news to it
        self.sent = 0.0
        self._scope = anyio.CancelScope()

    async def run(self) -> None:
        """Relay until `stop()`."""
        news = anyio.Event()

        def wake() -> None:
            news.set()

        stop = self.board.listen(wake)
        try:
            with self._scope:
                while True:
                    with anyio.move_on_after(self.heartbeat):
                        await news.wait()
                    news = anyio.Event()
                    await self.tell()
                    await anyio.sleep(MIN_INTERVAL_SECONDS)
        finally:
            stop()

    def stop(self) -> None:
        self._scope.cancel()

    async def tell(self, final: bool = False) -> None:
        """Send the board's latest report if it is news, else (unless final) a heartbeat."""
        latest = self.board.latest
        if latest.seq > self.seen:
            self.seen = latest.seq
            message = latest.text()
        elif final:
            return
        else:
            waiting = time.monotonic() - self.started
            message = f"{self.label}: working ({waiting:.0f} s)"
            if latest.fraction < 1 and latest.message:
                message += f"; {latest.text()}"
        # Progress must grow with every notification: seconds since the request began do, and say something.
        value = max(round(time.monotonic() - self.started, 2), self.sent + 0.01)
        self.sent = value
        try:
            await self.send(value, None, message)
        except Exception:  # best effort: a client that cannot take progress must not fail the request
            log.debug("progress notification failed", exc_info=True)


def thread_progress(ctx: Any) -> Progress:
    """The progress callable a tool passes to long domain work: it reports to the server's board."""
    return ctx.request_context.lifespan_context.board.reporter()
