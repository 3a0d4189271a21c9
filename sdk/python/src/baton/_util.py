"""Small asyncio helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


def reraise_if_cancelled(err: BaseException) -> None:
    """connectrpc turns a CancelledError inside a call into ConnectError(CANCELED).

    When the current task is being cancelled that would swallow the cancellation,
    so raise it again.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling() > 0:
        raise asyncio.CancelledError() from err


async def wait_for_or(aw: Awaitable[T], timeout: float | None, default: T) -> T:
    """``aw``'s value, or ``default`` when it takes longer than ``timeout`` seconds."""
    try:
        return await asyncio.wait_for(aw, timeout)
    except TimeoutError:
        return default
