"""WatchTasks that survives stream errors by resuming from the last cursor."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable

from connectrpc.code import Code

from ._backoff import Backoff, BackoffOptions
from ._errors import BatonError
from ._util import reraise_if_cancelled
from .v1 import task_pb2, task_service_pb2

log = logging.getLogger("baton.watch")

#: A long watch outlives connections, replicas and deploys; these codes are what a
#: broken path looks like, so they resume instead of ending the watch.
RESUMABLE_CODES = frozenset(
    {
        Code.UNAVAILABLE,
        Code.UNKNOWN,
        Code.INTERNAL,
        Code.ABORTED,
        Code.DEADLINE_EXCEEDED,
        Code.RESOURCE_EXHAUSTED,
        Code.CANCELED,
    }
)

OpenWatch = Callable[[task_service_pb2.WatchTasksRequest], AsyncIterator[task_service_pb2.WatchTasksResponse]]


async def resumable_watch(
    open_stream: OpenWatch,
    request: task_service_pb2.WatchTasksRequest,
    backoff_options: BackoffOptions | None = None,
) -> AsyncGenerator[task_pb2.TaskEvent, None]:
    """Each reconnect asks for the events after the last cursor delivered, and the
    server replays them in cursor order, so the caller sees no gap and no
    duplicate (events at or below the last cursor are skipped in case a server
    replays one).

    One gap cannot be closed here: with ``after_cursor`` unset and the stream lost
    before its first event there is no cursor to resume from, so the reconnect
    again means "from now". Pass ``after_cursor`` to be gapless from the start.
    """
    backoff = Backoff(backoff_options)
    after: int | None = request.after_cursor if request.HasField("after_cursor") else None
    while True:
        req = task_service_pb2.WatchTasksRequest()
        req.CopyFrom(request)
        if after is not None:
            req.after_cursor = after
        stream = open_stream(req)
        try:
            async for res in stream:
                if not res.HasField("event"):
                    continue
                event = res.event
                if after is not None and event.cursor <= after:
                    continue
                after = event.cursor
                backoff.reset()
                yield event
            # A clean end means the server went away on purpose (shutdown, deploy).
            delay = backoff.next_delay()
            log.debug("watch stream ended; resuming after cursor %s in %.2fs", after, delay)
        except Exception as err:  # noqa: BLE001 - classified below
            reraise_if_cancelled(err)
            e = BatonError.from_exception(err)
            if not e.retryable and e.code not in RESUMABLE_CODES:
                raise e from err
            delay = max(backoff.next_delay(), e.retry_after or 0.0)
            log.warning("watch stream failed (%s); resuming after cursor %s in %.2fs", e, after, delay)
        finally:
            # Ends the HTTP stream when the caller stops iterating (the inner
            # generator is suspended at its yield, so it can be closed).
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                try:
                    await aclose()
                except Exception:  # noqa: BLE001 - it is being thrown away
                    pass
        await asyncio.sleep(delay)
