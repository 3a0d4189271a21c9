"""The Python member of the chaos fleet: a real SDK worker that logs every
handler execution to a file, one JSON line per event (the format of
ts-worker.ts; test/chaos/checker.ts reads it), flushed to the kernel at once so
a kill -9 loses nothing that happened before it.

    chaos_worker.py <url> <queue> <worker_id> <log_path> <slots>

Prints "connected" once welcomed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from baton import (
    BackoffOptions,
    ResultRejected,
    Task,
    TaskCancelled,
    TaskCompleted,
    TaskContext,
    TaskFailed,
    Worker,
    WorkerConnected,
    WorkerDisconnected,
)


def main(url: str, queue: str, worker_id: str, log_path: str, slots: int) -> None:
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def log(entry: dict[str, Any]) -> None:
        entry["t"] = int(time.time() * 1000)
        os.write(fd, (json.dumps(entry) + "\n").encode())

    def ref(task: Task) -> dict[str, Any]:
        return {"task": task.id, "lease": task.lease.lease_id}

    async def run() -> None:
        log({"e": "hello", "lang": "python", "worker": worker_id, "pid": os.getpid()})
        worker = Worker(
            url,
            queues=[queue],
            worker_id=worker_id,
            slots=slots,
            reconnect=BackoffOptions(floor=0.1, cap=1.0),
        )

        @worker.handler("chaos.work")
        async def work(task: Task, ctx: TaskContext) -> dict[str, Any]:
            payload = ctx.payload
            log({"e": "start", **ref(task), "attempt": ctx.attempt})
            try:
                await asyncio.sleep(float(payload.get("ms", 0)) / 1000)
            except asyncio.CancelledError:
                log({"e": "end", **ref(task), "attempt": ctx.attempt, "outcome": "aborted"})
                raise
            if ctx.attempt <= int(payload.get("failAttempts", 0)):
                log({"e": "end", **ref(task), "attempt": ctx.attempt, "outcome": "error"})
                raise RuntimeError(f"planned failure of attempt {ctx.attempt}")
            log({"e": "end", **ref(task), "attempt": ctx.attempt, "outcome": "ok"})
            return {"by": "python", "worker": worker_id, "lease": ctx.lease_id, "attempt": ctx.attempt}

        worker.on(TaskCompleted, lambda e: log({"e": "ack", **ref(e.task), "accepted": True, "kind": "completed"}))
        worker.on(TaskFailed, lambda e: log({"e": "ack", **ref(e.task), "accepted": True, "kind": "failed"}))
        worker.on(
            ResultRejected,
            lambda e: log({"e": "ack", **ref(e.task), "accepted": False, "reason": e.error.reason if e.error else ""}),
        )
        worker.on(TaskCancelled, lambda e: log({"e": "lost", **ref(e.task)}) if e.lease_lost else None)

        def connected(e: WorkerConnected) -> None:
            log({"e": "connected", "session": e.session_id, "replica": e.replica_id, "resumed": len(e.resumed), "lost": len(e.lost)})
            print("connected", flush=True)

        worker.on(WorkerConnected, connected)
        worker.on(
            WorkerDisconnected,
            lambda e: log({"e": "disconnected", "error": str(e.error or ""), "goAway": e.go_away.reason if e.go_away else ""}),
        )
        await worker.run()

    asyncio.run(run())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
