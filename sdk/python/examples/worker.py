"""A runnable Baton worker.

    # a server:  node_modules/.bin/tsx server/src/main.ts serve --port 7233
    PYTHONPATH=sdk/python/src .venv/bin/python sdk/python/examples/worker.py

    # give it work (any Connect client; here curl with JSON):
    curl -s localhost:7233/baton.v1.TaskService/CreateTask -H 'content-type: application/json' \
      -d '{"queue":"example","type":"example.echo","payload":{"hello":"world"}}'

Environment: BATON_ADDRESS (default http://127.0.0.1:7233), BATON_QUEUE (default
example), BATON_SLOTS (default 4). SIGTERM or Ctrl-C drains: no new work is taken,
running tasks finish (up to 30s), their results are acknowledged, then it exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from baton import NonRetryableError, RetryableError, Task, TaskContext, Worker


def build_worker() -> Worker:
    worker = Worker(
        os.environ.get("BATON_ADDRESS", "http://127.0.0.1:7233"),
        queues=[os.environ.get("BATON_QUEUE", "example")],
        worker_id="python-example",
        slots=int(os.environ.get("BATON_SLOTS", "4")),
        labels={"example": "true"},
    )

    @worker.handler("example.echo")
    async def echo(task: Task, ctx: TaskContext) -> dict[str, Any]:
        """Returns its payload."""
        ctx.log.info("echo attempt %d", ctx.attempt)
        return {"echo": ctx.payload}

    @worker.handler("example.sleep")
    async def sleep(task: Task, ctx: TaskContext) -> dict[str, Any]:
        """Sleeps `seconds` (a long job): extends its lease first, and stops early
        when cancelled (the asyncio task is cancelled; ctx.cancelled is set too)."""
        seconds = float(ctx.payload.get("seconds", 1))
        if seconds < 0:
            raise NonRetryableError("seconds must not be negative", type="bad_input")
        if seconds > 20:
            await ctx.extend_lease(seconds + 10)
        await asyncio.sleep(seconds)
        return {"slept": seconds}

    @worker.handler("example.flaky")
    async def flaky(task: Task, ctx: TaskContext) -> dict[str, Any]:
        """Fails its first attempt, retryably, asking for a 2s pause."""
        if ctx.attempt == 1:
            raise RetryableError("the first attempt always fails", type="flaky", retry_after=2)
        return {"attempt": ctx.attempt}

    return worker


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    worker = build_worker()
    # Runs until SIGTERM / SIGINT (handled by the worker: drain, then return).
    await worker.run()
    logging.getLogger("example").info("worker drained; bye")


if __name__ == "__main__":
    asyncio.run(main())
