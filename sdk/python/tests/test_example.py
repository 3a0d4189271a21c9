"""examples/worker.py as a process: it works, and SIGTERM drains it gracefully."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

from _helpers import wait_state
from conftest import ROOT, SDK, BatonServer

from baton import Client, TaskState, from_struct


async def test_example_worker_drains_on_sigterm(server: BatonServer, queue: str) -> None:
    env = dict(os.environ, BATON_ADDRESS=server.address, BATON_QUEUE=queue, BATON_SLOTS="2")
    env["PYTHONPATH"] = os.pathsep.join([str(SDK / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SDK / "examples" / "worker.py"),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        async with Client(server.address) as client:
            echo = await client.create_task(queue, "example.echo", {"hello": "world"})
            done = await wait_state(client, echo.task.id, TaskState.TASK_STATE_COMPLETED, timeout=20)
            assert from_struct(done.result) == {"echo": {"hello": "world"}}

            slow = await client.create_task(queue, "example.sleep", {"seconds": 1.5})
            await wait_state(client, slow.task.id, TaskState.TASK_STATE_CLAIMED)
            proc.send_signal(signal.SIGTERM)
            # Drained: the running task finishes and is acknowledged, then the process exits 0.
            rc = await asyncio.wait_for(proc.wait(), 20)
            assert proc.stdout is not None
            output = (await proc.stdout.read()).decode()
            assert rc == 0, output
            assert "worker drained; bye" in output
            finished = await client.get_task(slow.task.id)
            assert finished.state == TaskState.TASK_STATE_COMPLETED, output
            assert from_struct(finished.result) == {"slept": 1.5}
            # Nothing is taken after the drain.
            late = await client.create_task(queue, "example.echo")
            assert (await client.get_task(late.task.id)).state == TaskState.TASK_STATE_PENDING
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
