"""Client against a real Baton server: TaskService calls, typed errors, paging, watching, polling."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import aclosing
from datetime import UTC, datetime, timedelta

import pytest
from _helpers import wait_state
from conftest import BatonServer

from baton import (
    BatonError,
    Client,
    Code,
    TaskEventType,
    TaskState,
    from_struct,
    retry_policy,
    task_timeouts,
)
from baton.v1 import contract_pb2


async def test_create_get_idempotency(server: BatonServer, queue: str) -> None:
    async with Client(server.address) as client:
        key = f"order-{uuid.uuid4()}"
        first = await client.create_task(
            queue,
            "email.send",
            {"to": "ada@example.com", "n": 3, "tags": ["a"]},
            idempotency_key=key,
            labels={"team": "growth"},
            priority=5,
            retry_policy=retry_policy(initial_backoff=2, non_retryable_error_types=["bad_input"]),
            timeouts=task_timeouts(heartbeat=20, start_to_close=600),
        )
        assert first.created
        task = first.task
        assert task.state == TaskState.TASK_STATE_PENDING
        assert task.queue == queue and task.type == "email.send" and task.priority == 5
        assert from_struct(task.payload) == {"to": "ada@example.com", "n": 3, "tags": ["a"]}
        assert task.retry_policy.initial_backoff.seconds == 2
        assert list(task.retry_policy.non_retryable_error_types) == ["bad_input"]
        assert task.timeouts.heartbeat_timeout.seconds == 20

        # I1: the same key and body return the original task.
        again = await client.create_task(
            queue,
            "email.send",
            {"to": "ada@example.com", "n": 3, "tags": ["a"]},
            idempotency_key=key,
            labels={"team": "growth"},
            priority=5,
            retry_policy=retry_policy(initial_backoff=2, non_retryable_error_types=["bad_input"]),
            timeouts=task_timeouts(heartbeat=20, start_to_close=600),
        )
        assert not again.created
        assert again.task.id == task.id

        # ... and the same key with another body is refused.
        with pytest.raises(BatonError) as reused:
            await client.create_task(queue, "email.send", {"to": "bob@example.com"}, idempotency_key=key)
        assert reused.value.code == Code.ALREADY_EXISTS
        assert reused.value.reason_code == contract_pb2.IDEMPOTENCY_KEY_REUSED
        assert reused.value.contract is not None

        got = await client.get_task(task.id)
        assert got.id == task.id and got.labels["team"] == "growth"


async def test_typed_errors(server: BatonServer, queue: str) -> None:
    async with Client(server.address) as client:
        with pytest.raises(BatonError) as invalid:
            await client.create_task("", "bad type!", priority=5000, max_attempts=-1)
        err = invalid.value
        assert err.code == Code.INVALID_ARGUMENT
        assert err.reason_code == contract_pb2.INVALID_FIELD
        fields = {v.field for v in err.field_violations}
        assert {"queue", "type", "priority", "max_attempts"} <= fields, fields
        assert not err.retryable
        assert err.detail is not None and err.detail.reason == contract_pb2.ErrorReason.Name(contract_pb2.INVALID_FIELD)

        with pytest.raises(BatonError) as missing:
            await client.get_task(str(uuid.uuid4()))
        assert missing.value.code == Code.NOT_FOUND
        assert missing.value.reason_code == contract_pb2.TASK_NOT_FOUND

        created = await client.create_task(queue, "t")
        cancelled = await client.cancel_task(created.task.id, "not needed")
        assert cancelled.state == TaskState.TASK_STATE_CANCELLED
        assert cancelled.terminal_reason.endswith("not needed")
        with pytest.raises(BatonError) as wrong_state:
            await client.requeue_task(created.task.id)
        assert wrong_state.value.code == Code.FAILED_PRECONDITION
        assert wrong_state.value.reason_code == contract_pb2.INVALID_STATE
        assert wrong_state.value.contract is not None
        assert wrong_state.value.contract.state == "CANCELLED"


async def test_unreachable_server_is_retryable() -> None:
    from conftest import free_port

    async with Client(f"http://127.0.0.1:{free_port()}", timeout=5) as client:
        with pytest.raises(BatonError) as unreachable:
            await client.get_task(str(uuid.uuid4()))
    assert unreachable.value.code == Code.UNAVAILABLE
    assert unreachable.value.retryable


async def test_list_tasks_pages(server: BatonServer, queue: str) -> None:
    async with Client(server.address, http_version="2") as client:
        reqs = [client.create_task_request(queue, "page", {"i": i}) for i in range(5)]
        made = await client.batch_create_tasks(reqs)
        assert len(made) == 5
        seen = [t.id async for t in client.list_tasks(queue=queue, page_size=2)]
        # Newest first, every task once, across three pages.
        assert seen == [t.id for t in reversed(made)]
        pending = [t async for t in client.list_tasks(queue=queue, states=[TaskState.TASK_STATE_COMPLETED])]
        assert pending == []


async def test_watch_tasks_replays_and_follows(server: BatonServer, queue: str) -> None:
    async with Client(server.address) as client:
        first = await client.create_task(queue, "watched")
        events: list[tuple[int, int, str]] = []
        got_second = asyncio.Event()
        second_id: list[str] = []

        async def follow() -> None:
            async with aclosing(client.watch_tasks(queue=queue, after_cursor=0)) as stream:
                async for ev in stream:
                    events.append((ev.cursor, ev.type, ev.task.id))
                    if second_id and ev.task.id == second_id[0] and ev.type == TaskEventType.TASK_EVENT_TYPE_CANCELLED:
                        got_second.set()
                        return

        watcher = asyncio.create_task(follow())
        second = await client.create_task(queue, "watched")
        second_id.append(second.task.id)
        await client.cancel_task(second.task.id)
        await asyncio.wait_for(got_second.wait(), 10)
        await watcher
        cursors = [c for c, _, _ in events]
        assert cursors == sorted(set(cursors)), "cursor order, no duplicates"
        kinds = [(t, i) for _, t, i in events]
        assert (TaskEventType.TASK_EVENT_TYPE_CREATED, first.task.id) in kinds
        assert (TaskEventType.TASK_EVENT_TYPE_CREATED, second.task.id) in kinds


async def test_polling_worker_calls(server: BatonServer, queue: str) -> None:
    async with Client(server.address) as client:
        created = await client.create_task(queue, "poll", {"x": 1}, max_attempts=2)
        claimed = await client.claim_tasks(queue, "poller-1", types=["poll"], max_tasks=5, wait=5)
        assert [t.id for t in claimed] == [created.task.id]
        task = claimed[0]
        lease = task.lease.lease_id
        assert task.state == TaskState.TASK_STATE_CLAIMED and task.lease.attempt == 1

        hb = await client.heartbeat(task.id, lease)
        assert not hb.cancel_requested
        assert hb.lease_expire_time is not None and hb.lease_expire_time > datetime.now(UTC)

        # A retryable failure goes back to PENDING; the stale lease is refused (L1).
        failed = await client.fail_task(task.id, lease, "http_503", "upstream down", retry_after=0.2)
        assert failed.state == TaskState.TASK_STATE_PENDING
        with pytest.raises(BatonError) as stale:
            await client.heartbeat(task.id, lease)
        assert stale.value.reason_code == contract_pb2.LEASE_STALE
        assert stale.value.code == Code.FAILED_PRECONDITION

        again = await client.claim_tasks(queue, "poller-1", wait=5)
        assert [t.id for t in again] == [task.id]
        lease2 = again[0].lease.lease_id
        done = await client.complete_task(task.id, lease2, {"ok": True})
        assert done.state == TaskState.TASK_STATE_COMPLETED
        assert from_struct(done.result) == {"ok": True}
        # W3: resending the accepted result is safe.
        resent = await client.complete_task(task.id, lease2, {"ok": True})
        assert resent.state == TaskState.TASK_STATE_COMPLETED

        await wait_state(client, task.id, TaskState.TASK_STATE_COMPLETED)
        got = await client.get_task(task.id)
        assert [a.error.type for a in got.attempts] == ["http_503", ""]


async def test_requeue_scheduled(server: BatonServer, queue: str) -> None:
    async with Client(server.address) as client:
        created = await client.create_task(queue, "dead")
        [task] = await client.claim_tasks(queue, "poller", wait=5)
        dead = await client.fail_task(task.id, task.lease.lease_id, "bad_input", "no", non_retryable=True)
        assert dead.state == TaskState.TASK_STATE_DEAD_LETTER
        later = datetime.now(UTC) + timedelta(hours=1)
        requeued = await client.requeue_task(created.task.id, later)
        assert requeued.state == TaskState.TASK_STATE_PENDING
        assert abs(requeued.scheduled_time.ToDatetime(tzinfo=UTC) - later) < timedelta(seconds=1)
        assert await client.claim_tasks(queue, "poller") == []
