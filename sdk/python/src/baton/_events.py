"""What a Worker reports about itself: typed events and a tiny emitter."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ._errors import BatonError
from ._json import JsonObject
from .v1 import contract_pb2, task_pb2, worker_pb2

__all__ = [
    "GoAwayReceived",
    "ResultRejected",
    "TaskAssigned",
    "TaskCancelled",
    "TaskCompleted",
    "TaskFailed",
    "WorkerConnected",
    "WorkerDisconnected",
    "WorkerEvent",
]


class WorkerEvent:
    """Base class of every worker event."""


@dataclass(frozen=True)
class WorkerConnected(WorkerEvent):
    """A session was welcomed."""

    session_id: str
    replica_id: str
    server_version: str
    #: Leases of Hello.resume_leases the session kept (N2).
    resumed: list[worker_pb2.LeaseRef]
    #: Leases that were gone; their handlers were stopped (N2).
    lost: list[worker_pb2.LeaseRef]


@dataclass(frozen=True)
class WorkerDisconnected(WorkerEvent):
    """A session ended."""

    #: Why the stream broke; None when it ended cleanly.
    error: BatonError | None
    go_away: worker_pb2.GoAway | None
    #: Seconds until the next connection attempt; None when the worker stops.
    reconnect_in: float | None


@dataclass(frozen=True)
class TaskAssigned(WorkerEvent):
    task: task_pb2.Task


@dataclass(frozen=True)
class TaskCompleted(WorkerEvent):
    """The server accepted the task's result."""

    task: task_pb2.Task
    result: JsonObject
    task_state: task_pb2.TaskState


@dataclass(frozen=True)
class TaskFailed(WorkerEvent):
    """The server accepted a failure of the attempt; ``task_state`` says whether it will be retried."""

    task: task_pb2.Task
    error: task_pb2.TaskError
    task_state: task_pb2.TaskState


@dataclass(frozen=True)
class ResultRejected(WorkerEvent):
    """The server refused a result (R4); it is not sent again."""

    task: task_pb2.Task
    error: contract_pb2.ErrorDetail | None


@dataclass(frozen=True)
class TaskCancelled(WorkerEvent):
    """A handler was told to stop: cancelled by a caller, or its lease is gone."""

    task: task_pb2.Task
    reason: str
    lease_lost: bool


@dataclass(frozen=True)
class GoAwayReceived(WorkerEvent):
    """The server is ending the session (G1)."""

    reason: str
    reconnect_after: float


E = TypeVar("E", bound=WorkerEvent)


class Emitter:
    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._listeners: dict[type[WorkerEvent], list[Callable[[Any], None]]] = {}

    def on(self, event_type: type[E], listener: Callable[[E], None]) -> Callable[[], None]:
        listeners = self._listeners.setdefault(event_type, [])
        listeners.append(listener)

        def off() -> None:
            if listener in listeners:
                listeners.remove(listener)

        return off

    def once(
        self, event_type: type[E], predicate: Callable[[E], bool] | None = None, timeout: float | None = None
    ) -> asyncio.Future[E]:
        """A future of the next matching event, subscribed now (so nothing emitted
        after this call is missed); it fails with TimeoutError after ``timeout``."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[E] = loop.create_future()
        handle: asyncio.TimerHandle | None = None

        def listener(event: E) -> None:
            if fut.done() or (predicate is not None and not predicate(event)):
                return
            fut.set_result(event)

        off = self.on(event_type, listener)

        def expire() -> None:
            if not fut.done():
                fut.set_exception(TimeoutError(f"no {event_type.__name__} within {timeout}s"))

        if timeout is not None:
            handle = loop.call_later(timeout, expire)

        def cleanup(_: asyncio.Future[E]) -> None:
            off()
            if handle is not None:
                handle.cancel()

        fut.add_done_callback(cleanup)
        return fut

    def emit(self, event: WorkerEvent) -> None:
        for listener in list(self._listeners.get(type(event), [])):
            try:
                listener(event)
            except Exception:
                self._log.exception("a %s listener failed", type(event).__name__)
