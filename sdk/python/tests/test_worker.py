"""Worker end to end against a real Baton server (Postgres + NATS)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from _helpers import wait_state, wait_task
from conftest import BatonServer

from baton import (
    BackoffOptions,
    BatonError,
    Client,
    Code,
    NonRetryableError,
    RetryableError,
    Task,
    TaskCancelled,
    TaskCompleted,
    TaskContext,
    TaskFailed,
    TaskState,
    Worker,
    WorkerConnected,
    from_struct,
    retry_policy,
)
from baton.v1 import contract_pb2, task_pb2

FAST_RECONNECT = BackoffOptions(floor=0.1, cap=0.5)


def make_worker(address: str, queue: str, **kw: Any) -> Worker:
    kw.setdefault("worker_id", "py-test")
    kw.setdefault("handle_signals", False)
    kw.setdefault("reconnect", FAST_RECONNECT)
    return Worker(address, queues=[queue], **kw)


async def test_create_complete_result_visible(server: BatonServer, queue: str) -> None:
    worker = make_worker(server.address, queue, slots=2)
    seen: list[tuple[str, int, dict[str, Any]]] = []

    @worker.handler("echo")
    async def echo(task: Task, ctx: TaskContext) -> dict[str, Any]:
        seen.append((ctx.task_id, ctx.attempt, ctx.payload))
        return {"echo": ctx.payload, "at": datetime(2024, 1, 2, tzinfo=UTC)}

    async with Client(server.address) as client, worker:
        connected = await worker.once(WorkerConnected, timeout=10)
        assert connected.session_id and connected.server_version
        completed = worker.once(TaskCompleted, timeout=10)
        created = await client.create_task(queue, "echo", {"to": "ada", "n": 1})
        event = await completed
        assert event.task.id == created.task.id
        assert event.task_state == TaskState.TASK_STATE_COMPLETED
        task = await client.get_task(created.task.id)
        assert task.state == TaskState.TASK_STATE_COMPLETED
        assert from_struct(task.result) == {"echo": {"to": "ada", "n": 1}, "at": "2024-01-02T00:00:00+00:00"}
        assert seen == [(created.task.id, 1, {"to": "ada", "n": 1})]
        assert task.attempts[0].worker_id == "py-test"
    assert not worker.connected


async def test_retryable_error_retried_with_backoff(server: BatonServer, queue: str) -> None:
    worker = make_worker(server.address, queue)
    attempts: list[int] = []

    @worker.handler("flaky")
    async def flaky(task: Task, ctx: TaskContext) -> dict[str, int]:
        attempts.append(ctx.attempt)
        if ctx.attempt == 1:
            raise RetryableError("upstream 503", type="http_503")
        if ctx.attempt == 2:
            # Later than the 0.6s backoff of the second retry: retry_after wins (T5).
            raise RetryableError("rate limited", type="http_429", retry_after=1.2, details={"limit": 10})
        return {"attempt": ctx.attempt}

    async with Client(server.address) as client, worker:
        failures: list[TaskFailed] = []
        worker.on(TaskFailed, failures.append)
        created = await client.create_task(
            queue, "flaky", max_attempts=5, retry_policy=retry_policy(initial_backoff=0.3, multiplier=2, jitter=0)
        )
        task = await wait_state(client, created.task.id, TaskState.TASK_STATE_COMPLETED, timeout=20)
    assert attempts == [1, 2, 3]
    assert from_struct(task.result) == {"attempt": 3}
    async with Client(server.address) as client:
        full = await client.get_task(created.task.id)
    outcomes = [(a.outcome, a.error.type) for a in full.attempts]
    assert outcomes == [
        (task_pb2.ATTEMPT_OUTCOME_FAILED, "http_503"),
        (task_pb2.ATTEMPT_OUTCOME_FAILED, "http_429"),
        (task_pb2.ATTEMPT_OUTCOME_COMPLETED, ""),
    ]
    assert from_struct(full.attempts[1].error.details) == {"limit": 10}
    gap1 = full.attempts[1].start_time.ToDatetime() - full.attempts[0].end_time.ToDatetime()
    gap2 = full.attempts[2].start_time.ToDatetime() - full.attempts[1].end_time.ToDatetime()
    assert gap1 >= timedelta(seconds=0.29), gap1  # initial_backoff
    assert gap2 >= timedelta(seconds=1.19), gap2  # retry_after beat the 0.6s backoff
    assert [f.task_state for f in failures] == [TaskState.TASK_STATE_PENDING] * 2


async def test_non_retryable_dead_letter_then_requeue(server: BatonServer, queue: str) -> None:
    worker = make_worker(server.address, queue)
    calls = 0

    @worker.handler("strict")
    async def strict(task: Task, ctx: TaskContext) -> dict[str, str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise NonRetryableError("the address is malformed", type="bad_input", details={"field": "to"})
        return {"status": "sent"}

    async with Client(server.address) as client, worker:
        failed = worker.once(TaskFailed, timeout=10)
        created = await client.create_task(queue, "strict", max_attempts=5)
        event = await failed
        assert event.task_state == TaskState.TASK_STATE_DEAD_LETTER
        assert event.error.non_retryable and event.error.type == "bad_input"
        dead = await wait_state(client, created.task.id, TaskState.TASK_STATE_DEAD_LETTER)
        assert dead.last_error.type == "bad_input"
        assert dead.last_error.message == "the address is malformed"

        completed = worker.once(TaskCompleted, lambda e: e.task.id == created.task.id, timeout=10)
        await client.requeue_task(created.task.id)
        await completed
        done = await wait_state(client, created.task.id, TaskState.TASK_STATE_COMPLETED)
        assert from_struct(done.result) == {"status": "sent"}
        assert calls == 2


async def test_unexpected_exception_is_retryable_with_traceback(server: BatonServer, queue: str) -> None:
    worker = make_worker(server.address, queue)

    @worker.handler("buggy")
    async def buggy(task: Task, ctx: TaskContext) -> None:
        if ctx.attempt == 1:
            raise KeyError("missing")

    async with Client(server.address) as client, worker:
        created = await client.create_task(
            queue, "buggy", retry_policy=retry_policy(initial_backoff=0.1, jitter=0)
        )
        done = await wait_state(client, created.task.id, TaskState.TASK_STATE_COMPLETED, timeout=20)
        full = await client.get_task(done.id)
    first = full.attempts[0].error
    assert first.type == "KeyError" and not first.non_retryable
    assert "Traceback" in from_struct(first.details)["traceback"]
    assert from_struct(full.result) == {}


async def test_cancel_while_running(server: BatonServer, queue: str) -> None:
    worker = make_worker(server.address, queue)
    started = asyncio.Event()
    stopped = asyncio.Event()
    observed: dict[str, Any] = {}

    @worker.handler("long")
    async def long(task: Task, ctx: TaskContext) -> None:
        started.set()
        try:
            await asyncio.Event().wait()  # forever, until cancelled
        except asyncio.CancelledError:
            observed["at"] = time.monotonic()
            observed["event_set"] = ctx.cancelled.is_set()
            observed["cause"] = ctx.abort_cause
            observed["reason"] = ctx.cancel_reason
            stopped.set()
            raise

    async with Client(server.address) as client, worker:
        cancelled_event = worker.once(TaskCancelled, timeout=10)
        created = await client.create_task(queue, "long")
        await asyncio.wait_for(started.wait(), 10)
        t0 = time.monotonic()
        await client.cancel_task(created.task.id, "duplicate order")
        await asyncio.wait_for(stopped.wait(), 5)
        latency = observed["at"] - t0
        assert latency < 1.0, f"handler saw the cancellation after {latency:.3f}s"
        assert observed["event_set"] and observed["cause"] == "cancelled"
        assert "duplicate order" in observed["reason"]
        ev = await cancelled_event
        assert not ev.lease_lost
        await wait_state(client, created.task.id, TaskState.TASK_STATE_CANCELLED)
        task = await client.get_task(created.task.id)
        assert task.attempts[0].outcome == task_pb2.ATTEMPT_OUTCOME_CANCELLED
        assert task.attempts[0].error.type == "cancelled"


async def test_cancel_reaches_a_handler_that_only_watches_the_event(server: BatonServer, queue: str) -> None:
    """A handler that shields its work still learns of the cancel through ctx.cancelled."""
    worker = make_worker(server.address, queue)
    started = asyncio.Event()
    saw: list[float] = []

    @worker.handler("shielded")
    async def shielded(task: Task, ctx: TaskContext) -> dict[str, bool]:
        started.set()

        async def work() -> dict[str, bool]:
            await ctx.cancelled.wait()
            saw.append(time.monotonic())
            return {"finished": True}

        return await asyncio.shield(work())

    async with Client(server.address) as client, worker:
        created = await client.create_task(queue, "shielded")
        await asyncio.wait_for(started.wait(), 10)
        t0 = time.monotonic()
        await client.cancel_task(created.task.id)
        task = await wait_state(client, created.task.id, TaskState.TASK_STATE_CANCELLED)
        assert saw and saw[0] - t0 < 1.0
        assert task.state == TaskState.TASK_STATE_CANCELLED


async def test_slot_limit_respected(server: BatonServer, queue: str) -> None:
    slots = 2
    worker = make_worker(server.address, queue, slots=slots)
    running = 0
    peak = 0
    changed = asyncio.Condition()
    gate = asyncio.Event()

    @worker.handler("slot")
    async def slot(task: Task, ctx: TaskContext) -> None:
        nonlocal running, peak
        async with changed:
            running += 1
            peak = max(peak, running)
            changed.notify_all()
        try:
            await gate.wait()
        finally:
            async with changed:
                running -= 1
                changed.notify_all()

    async with Client(server.address) as client, worker:
        ids = [t.id for t in await client.batch_create_tasks([client.create_task_request(queue, "slot") for _ in range(6)])]
        async with changed:
            await asyncio.wait_for(changed.wait_for(lambda: running == slots), 10)
        # K1 on the server: only `slots` tasks are held; the rest wait in PENDING.
        states = [t.state async for t in client.list_tasks(queue=queue)]
        assert states.count(TaskState.TASK_STATE_CLAIMED) == slots
        assert states.count(TaskState.TASK_STATE_PENDING) == 6 - slots
        assert worker.running_count == slots
        gate.set()
        for task_id in ids:
            await wait_state(client, task_id, TaskState.TASK_STATE_COMPLETED)
    assert peak == slots


async def test_extend_lease_and_heartbeat(server: BatonServer, queue: str) -> None:
    worker = make_worker(server.address, queue)
    out: dict[str, Any] = {}

    @worker.handler("extend")
    async def extend(task: Task, ctx: TaskContext) -> dict[str, str]:
        await ctx.heartbeat()
        deadline = await ctx.extend_lease(120)
        out["deadline"] = deadline
        out["lease"] = ctx.lease_id
        return {"deadline": deadline.isoformat()}

    async with Client(server.address) as client, worker:
        before = datetime.now(UTC)
        created = await client.create_task(
            queue, "extend", timeouts=task_pb2.TaskTimeouts(heartbeat_timeout={"seconds": 5})
        )
        await wait_state(client, created.task.id, TaskState.TASK_STATE_COMPLETED)
    deadline = out["deadline"]
    assert before + timedelta(seconds=110) < deadline < before + timedelta(seconds=130)


async def test_extend_lease_of_a_lost_lease_fails(server: BatonServer, queue: str) -> None:
    """A handler whose lease went to a poller is stopped; extending it raises LEASE_STALE."""
    worker = make_worker(server.address, queue)
    result: dict[str, Any] = {}
    started = asyncio.Event()
    resume = asyncio.Event()

    @worker.handler("steal")
    async def steal(task: Task, ctx: TaskContext) -> None:
        # Only the holder learns the lease id (L5); the "operator" below borrows it.
        result["lease_id"] = ctx.lease_id
        started.set()
        await resume.wait()
        try:
            await ctx.extend_lease(30)
        except BatonError as err:
            result["err"] = err
            raise

    async with Client(server.address) as client, worker:
        created = await client.create_task(queue, "steal")
        await asyncio.wait_for(started.wait(), 10)
        # Fail the attempt behind the worker's back (as an operator might with the lease id).
        await client.fail_task(created.task.id, result["lease_id"], "operator", "moved elsewhere", non_retryable=True)
        resume.set()
        lost = worker.once(TaskCancelled, lambda e: e.lease_lost, timeout=10)
        await lost
    err = result["err"]
    assert isinstance(err, BatonError)
    assert err.code == Code.FAILED_PRECONDITION and err.reason_code == contract_pb2.LEASE_STALE


async def test_unknown_task_type_handler_dead_letters(server: BatonServer, queue: str) -> None:
    worker = make_worker(server.address, queue)

    @worker.handler("known")
    async def known(task: Task, ctx: TaskContext) -> None:
        return None

    async with Client(server.address) as client, worker:
        # Hello lists only "known", so the server never assigns "other" to this worker.
        other = await client.create_task(queue, "other")
        done = await client.create_task(queue, "known")
        await wait_state(client, done.task.id, TaskState.TASK_STATE_COMPLETED)
        assert (await client.get_task(other.task.id)).state == TaskState.TASK_STATE_PENDING


async def test_stop_grace_reports_worker_shutdown(server: BatonServer, queue: str) -> None:
    worker = make_worker(server.address, queue)
    started = asyncio.Event()
    cause: list[str | None] = []

    @worker.handler("stuck")
    async def stuck(task: Task, ctx: TaskContext) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            cause.append(ctx.abort_cause)

    async with Client(server.address) as client:
        runner = asyncio.create_task(worker.run())
        created = await client.create_task(queue, "stuck", retry_policy=retry_policy(initial_backoff=60))
        await asyncio.wait_for(started.wait(), 10)
        t0 = time.monotonic()
        await worker.stop(grace=0.2)
        await runner
        assert time.monotonic() - t0 < 5
        assert cause == ["shutdown"]
        task = await wait_task(client, created.task.id, lambda t: t.last_error.type != "")
        assert task.state == TaskState.TASK_STATE_PENDING
        assert task.last_error.type == "worker_shutdown" and not task.last_error.non_retryable


async def test_refused_hello_raises(server: BatonServer) -> None:
    worker = Worker(server.address, queues=["bad queue name!"], worker_id="w", handle_signals=False)
    worker.handle("x", lambda task, ctx: asyncio.sleep(0))
    with pytest.raises(BatonError) as refused:
        await worker.run()
    assert refused.value.code == Code.INVALID_ARGUMENT
    assert any(v.field.startswith("hello.queues") for v in refused.value.field_violations)


@pytest.mark.parametrize("protocol", ["grpc"])
async def test_grpc_protocol_session(server: BatonServer, queue: str, protocol: str) -> None:
    worker = make_worker(server.address, queue, protocol=protocol)
    worker.handle("g", lambda task, ctx: asyncio.sleep(0, {"via": "grpc"}))
    async with Client(server.address, protocol="grpc") as client, worker:
        created = await client.create_task(queue, "g")
        task = await wait_state(client, created.task.id, TaskState.TASK_STATE_COMPLETED)
        assert from_struct(task.result) == {"via": "grpc"}


async def test_heartbeats_keep_every_lease_alive(server: BatonServer, queue: str) -> None:
    """Leases of 2s outlive several lease lengths: each WorkerHeartbeat renews all of them (B1)."""
    worker = make_worker(server.address, queue, slots=2)
    renewed: dict[str, int] = {}

    @worker.handler("hb")
    async def hb(task: Task, ctx: TaskContext) -> dict[str, int]:
        first = task.lease.expire_time.ToDatetime(tzinfo=UTC)
        async with Client(server.address) as client:
            # Done once the deadline moved 3s past the first one: the attempt outlived
            # its 2s lease only because the lease was renewed.
            async with asyncio.timeout(15):
                while True:
                    current = await client.get_task(task.id)
                    # GetTask shows the lease without its id (L5): same attempt and worker means the same lease.
                    assert current.state == TaskState.TASK_STATE_CLAIMED and current.lease.attempt == ctx.attempt, "the lease was lost"
                    if current.lease.expire_time.ToDatetime(tzinfo=UTC) - first >= timedelta(seconds=3):
                        break
                    await asyncio.sleep(0.1)
        renewed[task.id] = ctx.attempt
        return {"attempt": ctx.attempt}

    async with Client(server.address) as client, worker:
        two = [
            client.create_task_request(queue, "hb", timeouts=task_pb2.TaskTimeouts(heartbeat_timeout={"seconds": 2}))
            for _ in range(2)
        ]
        ids = [t.id for t in await client.batch_create_tasks(two)]
        for task_id in ids:
            task = await wait_state(client, task_id, TaskState.TASK_STATE_COMPLETED, timeout=20)
            assert task.attempt == 1
    assert renewed == {ids[0]: 1, ids[1]: 1}
