"""A real `cs-mcp` process: what a person at a terminal sees, how Ctrl-C, SIGTERM and a leaving client end it.

Timeouts are generous (the first start of a process on a busy machine can take many seconds); nothing
sleeps to wait: each step waits for the output or the exit it expects.
"""

import json
import os
import pty
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and ptys")]

TINY = Path(__file__).parent / "data" / "tiny"
START_TIMEOUT = 120.0
EXIT_TIMEOUT = 60.0
SERVER = [sys.executable, "-m", "cs_mcp"]
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}}


def read_pty_until(fd: int, needle: bytes, timeout: float) -> bytes:
    out, deadline = b"", time.monotonic() + timeout
    while needle not in out and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                out += os.read(fd, 4096)
            except OSError:
                break
    return out


def wait_for_exit(pid: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        select.select([], [], [], 0.1)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def test_on_a_terminal_one_line_says_how_to_connect_and_one_ctrl_c_ends_it():
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(sys.executable, [*SERVER, "--data", str(TINY)])
    try:
        shown = read_pty_until(fd, b"Ctrl-C stops it.", START_TIMEOUT)
        text = shown.decode()
        assert "waiting for an MCP client on stdin/stdout" in text
        assert f"claude mcp add customer-success -- {sys.executable} -m cs_mcp --data {TINY}" in text
        assert "npx @modelcontextprotocol/inspector" in text
        os.write(fd, b"\x03")  # Ctrl-C, as the terminal delivers it
        code = wait_for_exit(pid, EXIT_TIMEOUT)
        rest = read_pty_until(fd, b"Traceback", 0.5)
    finally:
        os.close(fd)
    assert code == 0
    assert b"Traceback" not in rest and b"KeyboardInterrupt" not in rest


class JsonLines:
    """A server subprocess spoken to in JSON lines; answers are read on a thread so waits have timeouts."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen([*SERVER, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def send(self, message: dict) -> None:
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def answer(self, request_id: int) -> dict:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            message = self.lines.get(timeout=max(deadline - time.monotonic(), 0.1))
            if message.get("id") == request_id:
                return message

    def start(self) -> None:
        self.send(INITIALIZE)
        assert "result" in self.answer(1)
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        self.send({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        assert self.answer(2)["result"]["tools"]

    def finish(self) -> tuple[int, str]:
        code = self.proc.wait(timeout=EXIT_TIMEOUT)
        return code, self.proc.stderr.read().decode()


def test_sigterm_during_a_portfolio_call_ends_the_process_quietly():
    server = JsonLines()  # the bundled demo: the warm-up loads it and fits the churn model
    server.start()
    server.send({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                 "params": {"name": "churn-risk-list", "arguments": {}}})
    server.proc.send_signal(signal.SIGTERM)
    code, stderr = server.finish()
    assert code == 0
    assert "Traceback" not in stderr and "Exception" not in stderr


def test_a_client_that_leaves_mid_load_leaves_no_process_and_no_traceback():
    server = JsonLines()
    server.start()
    server.send({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                 "params": {"name": "churn-risk-list", "arguments": {}}})
    server.proc.stdin.close()  # the client goes away while the data loads and the model fits
    code, stderr = server.finish()
    assert code == 0
    assert "Exception in thread" not in stderr and "Traceback" not in stderr


def test_a_missing_data_folder_is_refused_with_exit_code_2_before_serving(tmp_path):
    proc = subprocess.run([*SERVER, "--data", str(tmp_path / "nowhere")], capture_output=True, text=True,
                          timeout=START_TIMEOUT, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert proc.stderr.startswith("cs-mcp: Workspace folder ") and proc.stdout == ""
