"""Progress notifications sent from the worker thread that does a long load or fit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anyio

log = logging.getLogger("cs_mcp")

Progress = Callable[[float, str], None]


def thread_progress(ctx: Any) -> Progress:
    """A `progress(fraction, message)` callable for code running in an anyio worker thread."""

    def progress(fraction: float, message: str) -> None:
        try:
            anyio.from_thread.run(ctx.report_progress, round(fraction * 100, 1), 100.0, message)
        except Exception:  # best effort: a client that cannot take progress must not stop the work
            log.debug("progress notification failed", exc_info=True)

    return progress
