"""The Python member of the mixed fleet test: a real SDK worker on one queue.

    fleet_worker.py <address> <queue>

Prints "connected" once welcomed; drains and exits on SIGTERM.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from baton import Task, TaskContext, Worker, WorkerConnected


async def main(address: str, queue: str) -> None:
    worker = Worker(address, queues=[queue], worker_id="fleet-python", slots=8)

    @worker.handler("fleet.work")
    async def work(task: Task, ctx: TaskContext) -> dict[str, Any]:
        await asyncio.sleep(0.002)
        return {"by": "python"}

    worker.on(WorkerConnected, lambda _: print("connected", flush=True))
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
