"""The conformance adapter of the Python SDK (docs/CONFORMANCE.md).

Reads AdapterRequests (size-delimited protobuf) from stdin, runs a real
``baton.Worker`` for each against the reference server, reports what its
handlers do as AdapterEvents on stdout, and stops the workers gracefully when
stdin closes::

    PYTHONPATH=sdk/python/src npx baton-conformance \
        --worker ".venv/bin/python sdk/python/conformance/adapter.py"
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

# The generated messages of baton.conformance.v1 import only well-known types, so
# their directory can go on sys.path as is (the `baton` package is the SDK).
_ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(_ROOT / "gen" / "python" / "baton" / "conformance" / "v1"))

import conformance_pb2 as cpb  # noqa: E402
from google.protobuf import json_format  # noqa: E402

import baton  # noqa: E402

log = logging.getLogger("baton.conformance")


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def emit(case_name: str, **event: Any) -> None:
    """Writes one AdapterEvent, size-delimited, to stdout."""
    data = cpb.AdapterEvent(case_name=case_name, **event).SerializeToString()
    sys.stdout.buffer.write(_varint(len(data)) + data)
    sys.stdout.buffer.flush()


async def read_requests(reader: asyncio.StreamReader) -> AsyncIterator[cpb.AdapterRequest]:
    """AdapterRequests until stdin ends."""
    while True:
        size = shift = 0
        while True:
            byte = await reader.read(1)
            if not byte:
                if shift:
                    raise EOFError("stdin ended inside a length prefix")
                return
            size |= (byte[0] & 0x7F) << shift
            shift += 7
            if not byte[0] & 0x80:
                break
        yield cpb.AdapterRequest.FromString(await reader.readexactly(size))


async def _sleep_ignoring_cancel(seconds: float) -> None:
    """Sleeps the full time, as a handler that never looks at its cancellation would."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while (left := end - loop.time()) > 0:
        try:
            await asyncio.sleep(left)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()


def make_handler(case_name: str, b: cpb.HandlerBehavior) -> baton.Handler:
    async def handle(task: baton.Task, ctx: baton.TaskContext) -> dict[str, Any]:
        ids = {"task_id": task.id, "lease_id": ctx.lease_id}
        emit(case_name, handler_started=cpb.HandlerStarted(**ids, attempt=ctx.attempt))

        async def watch_cancel() -> None:
            await ctx.cancelled.wait()
            emit(case_name, handler_cancelled=cpb.HandlerCancelled(**ids, cause=ctx.abort_cause or ""))

        async def beat() -> None:
            while True:
                await asyncio.sleep(b.heartbeat_every_ms / 1000)
                await ctx.heartbeat()

        helpers = [asyncio.create_task(watch_cancel())]
        if b.heartbeat_every_ms > 0:
            helpers.append(asyncio.create_task(beat()))
        outcome = "completed"
        try:
            if b.extend_lease_ms > 0:
                try:
                    await ctx.extend_lease(b.extend_lease_ms / 1000)
                except baton.BatonError as err:
                    log.warning("extend_lease failed: %s", err)
            try:
                if b.ignore_cancel:
                    await _sleep_ignoring_cancel(b.sleep_ms / 1000)
                else:
                    await asyncio.sleep(b.sleep_ms / 1000)
            except asyncio.CancelledError:
                outcome = "cancelled"
                raise
            if b.HasField("fail"):
                outcome = "failed"
                f = b.fail
                if f.non_retryable:
                    raise baton.NonRetryableError(f.message or f.type, type=f.type)
                raise baton.RetryableError(
                    f.message or f.type, type=f.type, retry_after=f.retry_after_ms / 1000 if f.retry_after_ms else None
                )
            if b.HasField("succeed"):
                result: dict[str, Any] = json_format.MessageToDict(b.succeed)
                return result
            return {}
        finally:
            # Let a cancellation that just happened be reported before the finish.
            await asyncio.sleep(0)
            for h in helpers:
                h.cancel()
            emit(case_name, handler_finished=cpb.HandlerFinished(**ids, outcome=outcome))

    return handle


def start(req: cpb.AdapterRequest) -> tuple[baton.Worker, asyncio.Task[None]]:
    w = req.worker
    worker = baton.Worker(
        req.server_url,
        queues=list(w.queues),
        worker_id=w.worker_id,
        slots=w.slots,
        namespace=w.namespace,
        instance_id=w.instance_id or None,
        handle_signals=False,
        logger=logging.getLogger("baton.worker"),
    )
    for b in req.handlers:
        worker.handle(b.task_type, make_handler(req.case_name, b))
    run = asyncio.create_task(worker.run(), name=f"worker {req.case_name}")
    emit(req.case_name, ready=cpb.Ready(sdk=baton.SDK_NAME))
    return worker, run


async def main() -> int:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    running: list[tuple[baton.Worker, asyncio.Task[None], float]] = []
    async for req in read_requests(reader):
        worker, run = start(req)
        running.append((worker, run, (req.worker.stop_grace_ms or 2000) / 1000))
    # stdin closed: stop every worker gracefully (Drain, finish, last Acks), then exit.
    await asyncio.gather(*(w.stop(grace, flush_timeout=1.0) for w, _, grace in running))
    code = 0
    for _, run, _ in running:
        try:
            await run
        except Exception as err:  # noqa: BLE001 - report and exit non-zero
            log.error("worker.run failed: %s", err)
            code = 1
    return code


if __name__ == "__main__":
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="[baton] %(levelname)s %(message)s")
    sys.exit(asyncio.run(main()))
