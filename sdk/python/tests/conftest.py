"""Fixtures: real Postgres + NATS (test/support/stack.ts) and Baton server processes.

Async tests run without a plugin: ``pytest_pyfunc_call`` below runs every
``async def`` test in a fresh event loop with ``asyncio.run`` under a time limit.
Fixtures are synchronous (they manage processes), so no async fixture machinery
is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SDK = Path(__file__).resolve().parents[1]
ROOT = SDK.parents[1]
if str(SDK / "src") not in sys.path:
    sys.path.insert(0, str(SDK / "src"))

TSX = ROOT / "node_modules" / ".bin" / "tsx"
#: Most any one async test may take.
TEST_TIMEOUT = float(os.environ.get("BATON_PY_TEST_TIMEOUT", "60"))


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    fn = pyfuncitem.obj
    if not inspect.iscoroutinefunction(fn):
        return None
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}

    async def bounded() -> None:
        async with asyncio.timeout(TEST_TIMEOUT):
            await fn(**kwargs)

    asyncio.run(bounded())
    return True


class Stack:
    """Postgres + nats-server from test/support/stack.ts; stopped when its stdin closes."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [str(TSX), "test/support/stack.ts"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = _readline_within(self.proc.stdout, 90.0)
        if not line:
            self.proc.kill()
            raise RuntimeError("test/support/stack.ts printed nothing (is scripts/install-deps.sh done?)")
        info = json.loads(line)
        self.database_url: str = info["databaseUrl"]
        self.nats_url: str = info["natsUrl"]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _readline_within(stream: Any, timeout: float) -> str:
    out: list[str] = []

    def read() -> None:
        out.append(stream.readline())

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(timeout)
    return out[0] if out else ""


def _terminate_with_parent() -> None:
    """Linux: SIGTERM the server (tsx passes it on to node) if pytest dies without
    cleaning up. Only reliable when started from the main thread."""
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class BatonServer:
    """One `baton serve` process on a fixed port, which can be killed and started again."""

    def __init__(self, stack: Stack, name: str) -> None:
        self.stack = stack
        self.name = name
        self.port = free_port()
        self.address = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[str] | None = None
        self.log: list[str] = []
        self._listening = threading.Event()

    def start(self, timeout: float = 60.0) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.stack.database_url,
            NATS_URL=self.stack.nats_url,
            LOG_LEVEL=os.environ.get("BATON_PY_SERVER_LOG_LEVEL", "info"),
        )
        self._listening.clear()
        # The first start may meet a port another process grabbed meanwhile; later
        # starts must reuse the port (the workers under test reconnect to it).
        self.proc = subprocess.Popen(
            [str(TSX), "server/src/main.ts", "serve", "--port", str(self.port), "--host", "127.0.0.1"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            preexec_fn=_terminate_with_parent,
        )
        threading.Thread(target=self._pump, args=(self.proc,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while not self._listening.wait(0.05):
            if self.proc.poll() is not None:
                raise RuntimeError(f"baton server {self.name} exited early:\n" + "".join(self.log[-30:]))
            if time.monotonic() > deadline:
                raise RuntimeError(f"baton server {self.name} not listening within {timeout}s")

    def _pump(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.log.append(line)
            if '"baton listening"' in line:
                self._listening.set()

    def kill(self, sig: int = signal.SIGKILL, timeout: float = 30.0) -> int:
        """Signals the server and waits for it to exit; returns its exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            # tsx runs the server in a child node process: signal the whole group.
            os.killpg(self.proc.pid, sig)
        rc = self.proc.wait(timeout=timeout)
        if sig == signal.SIGKILL:
            return rc
        # Whatever is left of the group (nothing, after a clean exit) goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        return rc

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            self.kill(signal.SIGTERM, timeout=15)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    s = Stack()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="session")
def server(stack: Stack) -> Iterator[BatonServer]:
    """The shared Baton server; tests isolate themselves by queue name."""
    srv = BatonServer(stack, "shared")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def own_server(stack: Stack) -> Iterator[BatonServer]:
    """A Baton server of the test's own (same database), for kill / restart tests."""
    srv = BatonServer(stack, "own")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def queue(request: pytest.FixtureRequest) -> str:
    """A queue name no other test uses."""
    name = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name.removeprefix("test_"))[:40].strip("-")
    return f"py-{name}-{uuid.uuid4().hex[:8]}"
