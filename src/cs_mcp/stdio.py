"""Serving over stdin/stdout until the client leaves or the user stops it (Ctrl-C, SIGTERM).

The SDK reads stdin in a worker thread that no cancellation can interrupt, so one Ctrl-C would wait for
another line of input. Here a daemon thread reads the wire and a signal ends the serving loop at once.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

log = logging.getLogger("cs_mcp")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
STOP_GRACE_SECONDS = 3.0
"""After a stop signal or the end of input, work still running may finish this long before the process ends."""


def exit_now(code: int) -> None:
    """End the process without waiting for worker threads.

    A DuckDB query or a model fit in a worker thread cannot be interrupted, and the client that wanted its
    answer has gone: waiting would leave a process behind, and libraries that import or register at-exit
    hooks while the interpreter shuts down print tracebacks. Everything the server wrote is flushed first.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def exit_after_grace() -> None:
    """Make sure the process ends soon, whatever work is still running."""
    timer = threading.Timer(STOP_GRACE_SECONDS, exit_now, (0,))
    timer.daemon = True
    timer.start()


class WireLines:
    """Lines of the client's stream, read by a daemon thread (so exit never waits for a read)."""

    def __init__(self, fd: int):
        self._file = os.fdopen(fd, "rb", closefd=False)
        self._send, self._receive = anyio.create_memory_object_stream[str](16)

    def start(self) -> None:
        token = anyio.lowlevel.current_token()
        threading.Thread(target=self._read, args=(token,), name="cs-mcp-stdin", daemon=True).start()

    def _read(self, token: Any) -> None:
        try:
            for raw in iter(self._file.readline, b""):
                anyio.from_thread.run(self._send.send, raw.decode("utf-8", errors="replace"), token=token)
        except Exception:  # the loop has ended, or the stream broke: either way, end of input
            pass
        finally:
            exit_after_grace()  # the client has gone: no answer is wanted any more
            try:
                anyio.from_thread.run_sync(self._send.close, token=token)
            except Exception:  # the loop has ended: nobody reads any more
                pass

    def __aiter__(self) -> WireLines:
        return self

    async def __anext__(self) -> str:
        try:
            return await self._receive.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None


def run_stdio(server: MCPServer, on_ready: Callable[[], None] = lambda: None) -> str | None:
    """Serve until the client closes stdin (returns None) or a stop signal arrives (returns its name).

    `on_ready` runs once a stop signal would be handled.
    """
    stopped_by: list[str] = []
    try:
        anyio.run(_serve, server, stopped_by, on_ready)
    except KeyboardInterrupt:  # Windows, where there are no signal receivers: Ctrl-C arrives as this
        exit_now(0)
    return stopped_by[0] if stopped_by else None


async def _serve(server: MCPServer, stopped_by: list[str], on_ready: Callable[[], None]) -> None:
    from mcp.server.stdio import stdio_server

    wire = os.dup(0)
    if sys.platform != "win32":  # on Windows the SDK would also rebind the OS handle: fd 0 stays as it is
        # Like the SDK: while serving, fd 0 reads as empty, so nothing else in the process eats protocol bytes.
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
    lines = WireLines(wire)
    lines.start()
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_stop_on_signal, tg.cancel_scope, stopped_by, on_ready)
            async with stdio_server(stdin=lines) as (read_stream, write_stream):  # type: ignore[arg-type]
                lowlevel = server._lowlevel_server  # MCPServer.run_stdio_async, with our stdin
                await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
            tg.cancel_scope.cancel()
    finally:
        if sys.platform != "win32":
            os.dup2(wire, 0)


async def _stop_on_signal(scope: anyio.CancelScope, stopped_by: list[str], on_ready: Callable[[], None]) -> None:
    if sys.platform == "win32":
        on_ready()
        return
    with anyio.open_signal_receiver(*STOP_SIGNALS) as signals:
        on_ready()
        async for signum in signals:
            stopped_by.append(signal.Signals(signum).name)
            log.info("stopping on %s", stopped_by[-1])
            exit_after_grace()
            scope.cancel()
            return
