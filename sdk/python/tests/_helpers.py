"""Waiting on conditions without fixed sleeps: task states through WatchTasks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import aclosing

import baton
from baton import Client, Task, TaskState


def state_name(state: int) -> str:
    return TaskState.Name(state)


async def wait_task(
    client: Client, task_id: str, predicate: Callable[[Task], bool], timeout: float = 15.0
) -> Task:
    """The task as of the first event that satisfies ``predicate`` (replaying its
    events from the start, so a change that already happened counts)."""
    last: Task | None = None
    try:
        async with asyncio.timeout(timeout):
            async with aclosing(client.watch_tasks(task_id=task_id, after_cursor=0)) as events:
                async for event in events:
                    last = event.task
                    if predicate(event.task):
                        return event.task
    except TimeoutError:
        pass
    current = await client.get_task(task_id)
    if predicate(current):
        return current
    seen = state_name(last.state) if last is not None else "no event"
    raise AssertionError(
        f"task {task_id} did not reach the condition within {timeout}s; last event: {seen}, now {state_name(current.state)}"
    )


async def wait_state(client: Client, task_id: str, state: int, timeout: float = 15.0) -> Task:
    return await wait_task(client, task_id, lambda t: t.state == state, timeout)


__all__ = ["baton", "state_name", "wait_state", "wait_task"]
