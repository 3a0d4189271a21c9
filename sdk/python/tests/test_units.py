"""Pieces without a server: backoff, JSON conversion, outcomes, error decoding, outbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from connectrpc.errors import ConnectError, ErrorDetail
from google.protobuf import duration_pb2
from protobuf.wkt import Any

from baton import (
    Backoff,
    BackoffOptions,
    BatonError,
    Client,
    Code,
    NonRetryableError,
    RetryableError,
    from_struct,
    to_struct,
    Worker,
    WorkerDisconnected,
)
from baton._json import duration_seconds, to_duration, to_json_object
from baton._outbox import Outbox
from baton._outcome import completed_result, failed_result
from baton.v1 import contract_pb2, task_pb2, worker_pb2


def test_backoff_is_capped_exponential_with_full_jitter() -> None:
    hi = Backoff(rand=lambda: 1.0)
    assert [round(hi.next_delay(), 3) for _ in range(12)] == [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30, 30, 30, 30]
    lo = Backoff(rand=lambda: 0.0)
    assert {lo.next_delay() for _ in range(5)} == {0.1}
    hi.reset()
    assert hi.next_delay() == pytest.approx(0.2)
    # N1's bounds hold whatever the options say.
    clamped = Backoff(BackoffOptions(floor=0.001, cap=100), rand=lambda: 1.0)
    assert clamped.floor == 0.1 and clamped.cap == 30.0
    for _ in range(2000):
        assert 0.1 <= clamped.next_delay() <= 30.0


def test_json_round_trip() -> None:
    value = {"s": "x", "i": 3, "f": 1.5, "b": True, "n": None, "l": [1, {"k": [2.5]}], "t": (1, 2)}
    struct = to_struct(value)
    assert from_struct(struct) == {"s": "x", "i": 3, "f": 1.5, "b": True, "n": None, "l": [1, {"k": [2.5]}], "t": [1, 2]}
    assert isinstance(from_struct(struct)["i"], int)
    assert to_json_object(None) == {}
    assert to_json_object([1, 2]) == {"value": [1, 2]}
    assert to_json_object({"at": datetime(2024, 1, 1, tzinfo=UTC)}) == {"at": "2024-01-01T00:00:00+00:00"}
    with pytest.raises(TypeError):
        to_json_object({"x": object()})
    with pytest.raises(ValueError):
        to_json_object({"x": float("nan")})


def test_durations() -> None:
    assert to_duration(1.5) == duration_pb2.Duration(seconds=1, nanos=500_000_000)
    assert to_duration(timedelta(milliseconds=250)) == duration_pb2.Duration(nanos=250_000_000)
    assert duration_seconds(to_duration(0.3)) == pytest.approx(0.3)


def test_outcomes() -> None:
    ok = completed_result("t", "l", {"a": 1})
    assert ok.WhichOneof("outcome") == "completed" and from_struct(ok.completed) == {"a": 1}
    bad = completed_result("t", "l", {"a": object()})
    assert bad.failed.error.type == "invalid_result" and bad.failed.error.non_retryable

    nr = failed_result("t", "l", NonRetryableError("no", type="bad_input", details={"f": "x"}))
    assert nr.failed.error.non_retryable and nr.failed.error.type == "bad_input"
    assert from_struct(nr.failed.error.details) == {"f": "x"}

    r = failed_result("t", "l", RetryableError("later", retry_after=2.5))
    assert r.failed.error.type == "RetryableError" and not r.failed.error.non_retryable
    assert duration_seconds(r.failed.retry_after) == 2.5

    try:
        raise ValueError("boom")
    except ValueError as e:
        generic = failed_result("t", "l", e)
    assert generic.failed.error.type == "ValueError" and generic.failed.error.message == "boom"
    assert "ValueError: boom" in from_struct(generic.failed.error.details)["traceback"]
    long = failed_result("t", "l", RetryableError("m" * 100_000, type="x" * 1000))
    assert len(long.failed.error.type) == 256 and len(long.failed.error.message) == 16 * 1024


def test_baton_error_decodes_error_detail() -> None:
    detail = contract_pb2.ErrorDetail(
        reason="INVALID_FIELD",
        message="invalid request",
        field_violations=[contract_pb2.FieldViolation(field="queue", description="is required")],
        contract=contract_pb2.AgentContract(
            state="PENDING",
            recovery=contract_pb2.Recovery(retryable=True, retry_after=duration_pb2.Duration(seconds=2)),
        ),
    )
    packed = ErrorDetail(Any(type_url="type.googleapis.com/baton.v1.ErrorDetail", value=detail.SerializeToString()))
    err = BatonError.from_connect_error(ConnectError(Code.INVALID_ARGUMENT, "invalid request", [packed]))
    assert err.code == Code.INVALID_ARGUMENT
    assert err.reason == "INVALID_FIELD"  # the wire string
    assert err.reason_code == contract_pb2.INVALID_FIELD
    assert err.field_violations[0].field == "queue"
    assert err.retryable and err.retry_after == 2.0
    assert err.contract is not None and err.contract.state == "PENDING"
    assert "invalid request" in str(err)

    # Without a detail (a proxy answered): the reason comes from the code; transient codes retry.
    bare = BatonError.from_exception(ConnectError(Code.UNAVAILABLE, "no route"))
    assert bare.reason_code == contract_pb2.UNAVAILABLE and bare.retryable and bare.contract is None
    assert bare.reason == contract_pb2.ErrorReason.Name(contract_pb2.UNAVAILABLE)
    not_found = BatonError.from_exception(ConnectError(Code.NOT_FOUND, "x"))
    assert not not_found.retryable
    # Codes the vocabulary has no client-side reason for are UNKNOWN: act on the code.
    assert not_found.reason_code == contract_pb2.UNKNOWN
    assert BatonError.from_exception(ConnectError(Code.DEADLINE_EXCEEDED, "x")).reason_code == contract_pb2.DEADLINE_EXCEEDED
    # A reason newer than this SDK's vocabulary keeps its wire string.
    newer = BatonError(Code.ABORTED, "x", reason="SOMETHING_NEWER")
    assert newer.reason == "SOMETHING_NEWER" and newer.reason_code == contract_pb2.ERROR_REASON_UNSPECIFIED
    own = BatonError.of(Code.FAILED_PRECONDITION, contract_pb2.LEASE_STALE, "lost")
    assert own.reason == "LEASE_STALE" and own.detail is not None and own.detail.reason == "LEASE_STALE"
    assert BatonError.from_exception(bare) is bare


def test_outbox_keeps_results_until_acked() -> None:
    box = Outbox()
    task = task_pb2.Task(id="t1")
    first = completed_result("t1", "l1", {"a": 1})
    assert box.put(first, task)
    assert not box.put(completed_result("t1", "l1", {"a": 2}), task), "one outcome per lease"
    sent: list[str] = []

    def send(result: worker_pb2.Result) -> bool:
        sent.append(result.task_id)
        return True

    assert box.flush(send) == 1
    assert box.flush(send) == 0, "never twice on one connection"
    box.connection_lost()
    assert box.flush(send) == 1, "resent after reconnecting (R3)"
    entry = box.take("t1", "l1")
    assert entry is not None and entry.result == first
    assert len(box) == 0 and sent == ["t1", "t1"]


class _SilentServer:
    """Accepts TCP connections and never answers: a hung server."""

    def __init__(self) -> None:
        self.connections = 0
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> str:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            self._writers.append(writer)

        self._server = await asyncio.start_server(accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        for w in self._writers:
            w.close()
        self._server.close()
        await self._server.wait_closed()


async def test_cancelling_a_call_raises_cancellation_not_connect_error() -> None:
    """connectrpc turns cancellation into ConnectError(CANCELED); the SDK must not let
    that break asyncio.timeout."""
    async with _SilentServer() as address, Client(address) as client:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await client.get_task("00000000-0000-0000-0000-000000000000")
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                async for _ in client.watch_tasks(queue="q"):
                    pass


async def test_worker_without_welcome_backs_off_and_retries() -> None:
    async with _SilentServer() as address:
        worker = Worker(
            address,
            queues=["q"],
            worker_id="w",
            handle_signals=False,
            welcome_timeout=0.2,
            reconnect=BackoffOptions(floor=0.1, cap=0.3),
        )
        worker.handle("t", lambda task, ctx: asyncio.sleep(0))
        ends: list[WorkerDisconnected] = []
        three = asyncio.Event()

        def on_end(e: WorkerDisconnected) -> None:
            ends.append(e)
            if len(ends) == 3:
                three.set()

        worker.on(WorkerDisconnected, on_end)
        async with worker:
            await asyncio.wait_for(three.wait(), 10)
        for e in ends[:3]:
            assert e.error is not None and e.error.reason_code == contract_pb2.PROTOCOL_VIOLATION, e.error
            assert e.reconnect_in is not None and 0.1 <= e.reconnect_in <= 0.3
        assert not worker.connected


async def test_refused_session_ends_promptly_under_async_with() -> None:
    """A server that refuses the stream (here: nothing listens) is retried; a worker
    whose run() ended for good does not make stop() wait for a flush."""
    from conftest import free_port

    worker = Worker(f"http://127.0.0.1:{free_port()}", queues=["q"], worker_id="w", handle_signals=False)
    worker.handle("t", lambda task, ctx: asyncio.sleep(0))
    lost = worker.once(WorkerDisconnected, timeout=10)
    async with asyncio.timeout(5):
        async with worker:
            ended = await lost
    assert ended.error is not None and ended.error.code == Code.UNAVAILABLE
