"""Client: TaskService for producers, operators and polling workers."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar

import pyqwest
from connectrpc.code import Code
from connectrpc.errors import ConnectError

from ._backoff import BackoffOptions
from ._errors import BatonError
from ._json import from_timestamp, to_duration, to_struct, to_timestamp
from ._util import reraise_if_cancelled
from ._transport import HttpVersion, OwnedHttp, Protocol, protocol_type
from ._watch import resumable_watch
from .v1 import contract_pb2, task_pb2, task_service_pb2
from .v1.task_service_connect import TaskServiceClient

T = TypeVar("T")

__all__ = ["Client", "CreatedTask", "HeartbeatResult", "retry_policy", "task_timeouts"]


@dataclass(frozen=True)
class CreatedTask:
    """CreateTask's answer."""

    task: task_pb2.Task
    #: False when the idempotency key returned an existing task (I1).
    created: bool


@dataclass(frozen=True)
class HeartbeatResult:
    """Heartbeat's answer."""

    #: The new lease deadline (L2).
    lease_expire_time: datetime | None
    #: Stop the handler and call fail_task (W2).
    cancel_requested: bool


def retry_policy(
    *,
    initial_backoff: float | timedelta | None = None,
    multiplier: float = 0.0,
    max_backoff: float | timedelta | None = None,
    jitter: float = 0.2,
    non_retryable_error_types: Iterable[str] = (),
) -> task_pb2.RetryPolicy:
    """A RetryPolicy (T5, T6) from seconds; unset values take the server's defaults
    (1s initial backoff, multiplier 2, 5m cap, jitter 0.2)."""
    policy = task_pb2.RetryPolicy(
        multiplier=multiplier, jitter=jitter, non_retryable_error_types=list(non_retryable_error_types)
    )
    if initial_backoff is not None:
        policy.initial_backoff.CopyFrom(to_duration(initial_backoff))
    if max_backoff is not None:
        policy.max_backoff.CopyFrom(to_duration(max_backoff))
    return policy


def task_timeouts(
    *,
    schedule_to_start: float | timedelta | None = None,
    start_to_close: float | timedelta | None = None,
    heartbeat: float | timedelta | None = None,
) -> task_pb2.TaskTimeouts:
    """TaskTimeouts from seconds; unset values take the server's defaults
    (no schedule-to-start limit, 1h start-to-close, 30s lease)."""
    timeouts = task_pb2.TaskTimeouts()
    if schedule_to_start is not None:
        timeouts.schedule_to_start_timeout.CopyFrom(to_duration(schedule_to_start))
    if start_to_close is not None:
        timeouts.start_to_close_timeout.CopyFrom(to_duration(start_to_close))
    if heartbeat is not None:
        timeouts.heartbeat_timeout.CopyFrom(to_duration(heartbeat))
    return timeouts


class Client:
    """TaskService for producers, operators and polling workers.

    Every method raises :class:`BatonError`, so callers can branch on ``reason``
    and ``retryable``. Nothing is retried behind the caller's back: whether a
    call is safe to repeat depends on the idempotency key, which only the caller
    knows. Use as ``async with Client(...) as client:`` or call :meth:`aclose`.
    """

    def __init__(
        self,
        address: str,
        *,
        namespace: str = "",
        protocol: Protocol = "connect",
        http_version: HttpVersion | None = None,
        http_client: pyqwest.Client | None = None,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """
        Args:
            address: ``http://host:port`` or ``https://host:port``.
            namespace: The default namespace of every call (empty: the server's ``default``).
            protocol: ``connect`` (default), ``grpc`` or ``grpc-web``.
            http_version: ``"1.1"`` or ``"2"``; unset: HTTP/1.1 for ``http://``
                (HTTP/2 for gRPC), ALPN for ``https://``.
            http_client: A pyqwest client to use (for TLS settings, say); the caller closes it.
            timeout: Default per-call timeout in seconds (not applied to watch_tasks).
            headers: Sent with every call (e.g. an authorization header).
        """
        self._http = OwnedHttp(address, http_version=http_version, protocol=protocol, http_client=http_client)
        self.namespace = namespace
        self._timeout = timeout
        self._headers = dict(headers or {})
        #: The generated Connect client, for calls this class does not wrap.
        self.rpc = TaskServiceClient(self._http.address, protocol=protocol_type(protocol), http_client=self._http.client)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Closes the HTTP connections this client opened."""
        await self.rpc.close()
        await self._http.aclose()

    def _ns(self, namespace: str | None) -> str:
        return self.namespace if namespace is None else namespace

    def _timeout_ms(self, timeout: float | None) -> int | None:
        t = self._timeout if timeout is None else timeout
        return None if t is None else max(1, round(t * 1000))

    async def _call(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except ConnectError as err:
            reraise_if_cancelled(err)
            raise BatonError.from_connect_error(err) from err

    # --- producers ---------------------------------------------------------------------

    async def create_task(
        self,
        queue: str,
        type: str,  # noqa: A002 - the protocol's name for it
        payload: Mapping[str, Any] | None = None,
        *,
        namespace: str | None = None,
        priority: int = 0,
        max_attempts: int = 0,
        retry_policy: task_pb2.RetryPolicy | None = None,
        timeouts: task_pb2.TaskTimeouts | None = None,
        scheduled_time: datetime | None = None,
        idempotency_key: str = "",
        labels: Mapping[str, str] | None = None,
        trace_id: str = "",
        parent_id: str = "",
        timeout: float | None = None,
    ) -> CreatedTask:
        """Creates a task in PENDING. With ``idempotency_key`` a repeat with the same
        body returns the original task with ``created`` false (I1)."""
        req = self.create_task_request(
            queue,
            type,
            payload,
            namespace=namespace,
            priority=priority,
            max_attempts=max_attempts,
            retry_policy=retry_policy,
            timeouts=timeouts,
            scheduled_time=scheduled_time,
            idempotency_key=idempotency_key,
            labels=labels,
            trace_id=trace_id,
            parent_id=parent_id,
        )
        res = await self._call(self.rpc.create_task(req, headers=self._headers, timeout_ms=self._timeout_ms(timeout)))
        return CreatedTask(task=_task(res.task if res.HasField("task") else None), created=res.created)

    def create_task_request(
        self,
        queue: str,
        type: str,  # noqa: A002
        payload: Mapping[str, Any] | None = None,
        *,
        namespace: str | None = None,
        priority: int = 0,
        max_attempts: int = 0,
        retry_policy: task_pb2.RetryPolicy | None = None,
        timeouts: task_pb2.TaskTimeouts | None = None,
        scheduled_time: datetime | None = None,
        idempotency_key: str = "",
        labels: Mapping[str, str] | None = None,
        trace_id: str = "",
        parent_id: str = "",
    ) -> task_service_pb2.CreateTaskRequest:
        """The CreateTaskRequest create_task would send (for batch_create_tasks)."""
        req = task_service_pb2.CreateTaskRequest(
            namespace=self._ns(namespace),
            queue=queue,
            type=type,
            payload=to_struct(payload),
            priority=priority,
            max_attempts=max_attempts,
            idempotency_key=idempotency_key,
            labels=dict(labels or {}),
            trace_id=trace_id,
            parent_id=parent_id,
        )
        if retry_policy is not None:
            req.retry_policy.CopyFrom(retry_policy)
        if timeouts is not None:
            req.timeouts.CopyFrom(timeouts)
        if scheduled_time is not None:
            req.scheduled_time.CopyFrom(to_timestamp(scheduled_time))
        return req

    async def batch_create_tasks(
        self, requests: Sequence[task_service_pb2.CreateTaskRequest], *, timeout: float | None = None
    ) -> list[task_pb2.Task]:
        """All or none: one transaction for up to 500 tasks, returned in request order."""
        res = await self._call(
            self.rpc.batch_create_tasks(
                task_service_pb2.BatchCreateTasksRequest(requests=list(requests)),
                headers=self._headers,
                timeout_ms=self._timeout_ms(timeout),
            )
        )
        return list(res.tasks)

    # --- operators -----------------------------------------------------------------------

    async def get_task(self, id: str, *, timeout: float | None = None) -> task_pb2.Task:  # noqa: A002
        """A task with its attempt history."""
        res = await self._call(
            self.rpc.get_task(
                task_service_pb2.GetTaskRequest(id=id), headers=self._headers, timeout_ms=self._timeout_ms(timeout)
            )
        )
        return _task(res.task if res.HasField("task") else None)

    async def list_tasks(
        self,
        *,
        namespace: str | None = None,
        queue: str = "",
        type: str = "",  # noqa: A002
        states: Iterable[task_pb2.TaskState] = (),
        page_size: int = 0,
        timeout: float | None = None,
    ) -> AsyncGenerator[task_pb2.Task, None]:
        """Every matching task, newest first, fetched page by page as the loop advances
        (without attempt history: get_task has it)."""
        req = task_service_pb2.ListTasksRequest(
            namespace=self._ns(namespace), queue=queue, type=type, states=list(states), page_size=page_size
        )
        while True:
            page = await self.list_tasks_page(req, timeout=timeout)
            for task in page.tasks:
                yield task
            if not page.next_page_token:
                return
            req.page_token = page.next_page_token

    async def list_tasks_page(
        self, request: task_service_pb2.ListTasksRequest, *, timeout: float | None = None
    ) -> task_service_pb2.ListTasksResponse:
        """One page, for callers that keep the page token themselves."""
        return await self._call(
            self.rpc.list_tasks(request, headers=self._headers, timeout_ms=self._timeout_ms(timeout))
        )

    async def cancel_task(self, id: str, reason: str = "", *, timeout: float | None = None) -> task_pb2.Task:  # noqa: A002
        """Cancels a task: PENDING ends at once; a CLAIMED task's worker is told to stop."""
        res = await self._call(
            self.rpc.cancel_task(
                task_service_pb2.CancelTaskRequest(id=id, reason=reason),
                headers=self._headers,
                timeout_ms=self._timeout_ms(timeout),
            )
        )
        return _task(res.task if res.HasField("task") else None)

    async def requeue_task(
        self,
        id: str,  # noqa: A002
        scheduled_time: datetime | None = None,
        *,
        timeout: float | None = None,
    ) -> task_pb2.Task:
        """DEAD_LETTER -> PENDING with a fresh attempt budget; not claimable before
        ``scheduled_time`` when given."""
        req = task_service_pb2.RequeueTaskRequest(id=id)
        if scheduled_time is not None:
            req.scheduled_time.CopyFrom(to_timestamp(scheduled_time))
        res = await self._call(
            self.rpc.requeue_task(req, headers=self._headers, timeout_ms=self._timeout_ms(timeout))
        )
        return _task(res.task if res.HasField("task") else None)

    def watch_tasks(
        self,
        *,
        namespace: str | None = None,
        queue: str = "",
        type: str = "",  # noqa: A002
        task_id: str = "",
        after_cursor: int | None = None,
        backoff: BackoffOptions | None = None,
    ) -> AsyncGenerator[task_pb2.TaskEvent, None]:
        """Task events: those after ``after_cursor`` (when given), then live ones.

        Lost streams are resumed from the last cursor seen, so the loop sees no gap
        and no duplicate; it runs until the caller breaks out (close it with
        ``contextlib.aclosing`` to end the stream at once) and raises BatonError
        only for errors a reconnect cannot fix (e.g. INVALID_ARGUMENT).
        """
        req = task_service_pb2.WatchTasksRequest(
            namespace=self._ns(namespace), queue=queue, type=type, task_id=task_id
        )
        if after_cursor is not None:
            req.after_cursor = after_cursor
        return resumable_watch(lambda r: self.rpc.watch_tasks(r, headers=self._headers), req, backoff)

    # --- polling workers ---------------------------------------------------------------

    async def claim_tasks(
        self,
        queue: str,
        worker_id: str,
        *,
        namespace: str | None = None,
        types: Iterable[str] = (),
        max_tasks: int = 1,
        wait: float | timedelta | None = None,
        timeout: float | None = None,
    ) -> list[task_pb2.Task]:
        """Claims up to ``max_tasks``, each with a fresh lease, waiting up to ``wait``
        seconds (at most 30) for the first."""
        req = task_service_pb2.ClaimTasksRequest(
            namespace=self._ns(namespace), queue=queue, types=list(types), worker_id=worker_id, max_tasks=max_tasks
        )
        if wait is not None:
            req.wait.CopyFrom(to_duration(wait))
        if timeout is None and self._timeout is not None and wait is not None:
            wait_s = wait.total_seconds() if isinstance(wait, timedelta) else wait
            timeout = self._timeout + min(wait_s, 30.0)
        res = await self._call(self.rpc.claim_tasks(req, headers=self._headers, timeout_ms=self._timeout_ms(timeout)))
        return list(res.tasks)

    async def heartbeat(self, task_id: str, lease_id: str, *, timeout: float | None = None) -> HeartbeatResult:
        """Renews a lease (L2); ``cancel_requested`` says to stop and fail the task (W2)."""
        res = await self._call(
            self.rpc.heartbeat(
                task_service_pb2.HeartbeatRequest(task_id=task_id, lease_id=lease_id),
                headers=self._headers,
                timeout_ms=self._timeout_ms(timeout),
            )
        )
        return HeartbeatResult(
            lease_expire_time=from_timestamp(res.lease_expire_time) if res.HasField("lease_expire_time") else None,
            cancel_requested=res.cancel_requested,
        )

    async def complete_task(
        self,
        task_id: str,
        lease_id: str,
        result: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> task_pb2.Task:
        """Completes the attempt; safe to resend with the same lease (W3)."""
        res = await self._call(
            self.rpc.complete_task(
                task_service_pb2.CompleteTaskRequest(task_id=task_id, lease_id=lease_id, result=to_struct(result)),
                headers=self._headers,
                timeout_ms=self._timeout_ms(timeout),
            )
        )
        return _task(res.task if res.HasField("task") else None)

    async def fail_task(
        self,
        task_id: str,
        lease_id: str,
        error_type: str,
        message: str = "",
        *,
        non_retryable: bool = False,
        retry_after: float | timedelta | None = None,
        details: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> task_pb2.Task:
        """Fails the attempt: retried at the backoff (T5), dead-lettered when
        ``non_retryable`` or out of attempts, CANCELLED when cancellation was requested."""
        req = task_service_pb2.FailTaskRequest(
            task_id=task_id,
            lease_id=lease_id,
            error=task_pb2.TaskError(type=error_type, message=message, non_retryable=non_retryable),
        )
        if details:
            req.error.details.CopyFrom(to_struct(details))
        if retry_after is not None:
            req.retry_after.CopyFrom(to_duration(retry_after))
        res = await self._call(self.rpc.fail_task(req, headers=self._headers, timeout_ms=self._timeout_ms(timeout)))
        return _task(res.task if res.HasField("task") else None)


def _task(task: task_pb2.Task | None) -> task_pb2.Task:
    """Baton always sets the task of these responses (C1)."""
    if task is None:
        raise BatonError.of(Code.INTERNAL, contract_pb2.PROTOCOL_VIOLATION, "protocol error: the response carries no task")
    return task
