"""Server restarts and GoAway: the worker reconnects, resumes its leases and resends results."""

from __future__ import annotations

import asyncio
import signal
from contextlib import aclosing
from typing import Any

from _helpers import wait_state
from conftest import BatonServer
from test_worker import make_worker

from baton import (
    Client,
    GoAwayReceived,
    Task,
    TaskCompleted,
    TaskContext,
    TaskEventType,
    TaskState,
    WorkerConnected,
    WorkerDisconnected,
    from_struct,
)


async def test_server_killed_mid_task_completes_exactly_once(own_server: BatonServer, queue: str) -> None:
    worker = make_worker(own_server.address, queue)
    started = asyncio.Event()
    release = asyncio.Event()
    calls = 0
    leases: list[str] = []

    @worker.handler("survive")
    async def survive(task: Task, ctx: TaskContext) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        # The handler holds the lease: GetTask does not show its id to anyone (L5).
        leases.append(ctx.lease_id)
        started.set()
        await release.wait()
        return {"calls": calls}

    async with Client(own_server.address) as client, worker:
        created = await client.create_task(queue, "survive")
        task_id = created.task.id

        # A watch that must come through the restart without gaps or duplicates.
        events: list[tuple[int, int]] = []
        watch_done = asyncio.Event()

        async def watch() -> None:
            async with aclosing(client.watch_tasks(task_id=task_id, after_cursor=0)) as stream:
                async for ev in stream:
                    events.append((ev.cursor, ev.type))
                    if ev.type == TaskEventType.TASK_EVENT_TYPE_COMPLETED:
                        watch_done.set()
                        return

        watcher = asyncio.create_task(watch())
        await asyncio.wait_for(started.wait(), 10)
        lease_id = leases[0]

        disconnected = worker.once(WorkerDisconnected, timeout=10)
        await asyncio.to_thread(own_server.kill, signal.SIGKILL)
        await disconnected
        # The handler finishes while Baton is down: the result waits in the outbox (R3).
        release.set()
        reconnected = worker.once(WorkerConnected, timeout=30)
        completed = worker.once(TaskCompleted, lambda e: e.task.id == task_id, timeout=30)
        own_server.start()  # blocks the loop ~1s; the worker just retries later
        welcome = await reconnected
        # N2: the lease of the unacknowledged result was kept for the resend.
        assert [(r.task_id, r.lease_id) for r in welcome.resumed] == [(task_id, lease_id)]
        assert list(welcome.lost) == []
        await completed

        task = await wait_state(client, task_id, TaskState.TASK_STATE_COMPLETED)
        await asyncio.wait_for(watch_done.wait(), 15)
        await watcher
    assert calls == 1
    assert from_struct(task.result) == {"calls": 1}
    full_attempts = task.attempt
    assert full_attempts == 1
    cursors = [c for c, _ in events]
    assert cursors == sorted(set(cursors)), events
    kinds = [k for _, k in events]
    assert kinds.count(TaskEventType.TASK_EVENT_TYPE_CLAIMED) == 1
    assert kinds.count(TaskEventType.TASK_EVENT_TYPE_COMPLETED) == 1


async def test_server_killed_handler_keeps_running_and_lease_resumes(own_server: BatonServer, queue: str) -> None:
    """A handler still running across the restart keeps its lease (N2) and heartbeats it."""
    worker = make_worker(own_server.address, queue)
    started = asyncio.Event()
    release = asyncio.Event()

    @worker.handler("long")
    async def long(task: Task, ctx: TaskContext) -> dict[str, int]:
        started.set()
        await release.wait()
        return {"attempt": ctx.attempt}

    async with Client(own_server.address) as client, worker:
        created = await client.create_task(queue, "long")
        await asyncio.wait_for(started.wait(), 10)
        disconnected = worker.once(WorkerDisconnected, timeout=10)
        await asyncio.to_thread(own_server.kill, signal.SIGKILL)
        await disconnected
        reconnected = worker.once(WorkerConnected, timeout=30)
        own_server.start()  # blocks the loop ~1s; the worker just retries later
        welcome = await reconnected
        assert [r.task_id for r in welcome.resumed] == [created.task.id]
        release.set()
        task = await wait_state(client, created.task.id, TaskState.TASK_STATE_COMPLETED)
    assert task.attempt == 1
    assert from_struct(task.result) == {"attempt": 1}


async def test_go_away_on_shutdown_then_reconnect(own_server: BatonServer, queue: str) -> None:
    worker = make_worker(own_server.address, queue)
    worker.handle("after", lambda task, ctx: asyncio.sleep(0, {"ok": True}))
    async with Client(own_server.address) as client, worker:
        first = await worker.once(WorkerConnected, timeout=10)
        go_away = worker.once(GoAwayReceived, timeout=10)
        ended = worker.once(WorkerDisconnected, timeout=15)
        # SIGTERM: the server sends GoAway (G1); an idle worker ends the stream itself,
        # so the server's shutdown does not wait for it.
        await asyncio.to_thread(own_server.kill, signal.SIGTERM, timeout=15)
        got = await go_away
        assert got.reason
        disconnected = await ended
        assert disconnected.go_away is not None
        reconnected = worker.once(WorkerConnected, timeout=30)
        own_server.start()  # blocks the loop ~1s; the worker just retries later
        second = await reconnected
        assert second.session_id != first.session_id
        created = await client.create_task(queue, "after")
        await wait_state(client, created.task.id, TaskState.TASK_STATE_COMPLETED)
