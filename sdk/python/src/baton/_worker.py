"""Worker: holds a session with Baton and runs handlers for the tasks it is given."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import signal
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from functools import cached_property
from types import TracebackType
from typing import Any, Self, TypeVar

import pyqwest
from connectrpc.code import Code

from ._backoff import Backoff, BackoffOptions
from ._errors import AbortCause, BatonError, NonRetryableError
from ._events import (
    E,
    Emitter,
    GoAwayReceived,
    ResultRejected,
    TaskAssigned,
    TaskCancelled,
    TaskCompleted,
    TaskFailed,
    WorkerConnected,
    WorkerDisconnected,
)
from ._json import JsonObject, duration_seconds, from_struct
from ._outbox import Outbox, OutboxEntry
from ._outcome import completed_result, failed_result, failure_result
from ._session import DEFAULT_WELCOME_TIMEOUT, Session
from ._transport import OwnedHttp, Protocol, protocol_type
from ._util import wait_for_or
from ._version import SDK_NAME
from .v1 import contract_pb2, task_pb2, worker_pb2
from .v1.worker_service_connect import WorkerServiceClient

__all__ = ["Handler", "TaskContext", "Worker"]

#: A handler: ``async def handle(task, ctx) -> dict | None``. Its return value is
#: the task's JSON result; raising fails the attempt (see RetryableError and
#: NonRetryableError).
Handler = Callable[[task_pb2.Task, "TaskContext"], Awaitable[object]]
H = TypeVar("H", bound=Handler)

#: Codes a reconnect cannot fix: the Hello or the deployment is wrong.
_FATAL_CODES = frozenset({Code.INVALID_ARGUMENT, Code.UNIMPLEMENTED, Code.UNAUTHENTICATED, Code.PERMISSION_DENIED})
#: The reason of an Ack refusing a completion because the task was cancelled (W4).
_CANCEL_REQUESTED = contract_pb2.ErrorReason.Name(contract_pb2.CANCEL_REQUESTED)
#: A Cancel's failure must reach the server within cancel_grace (X2): leave half of it for the trip.
_CANCEL_GRACE_SHARE = 0.5
_DEFAULT_CANCEL_GRACE = 5.0
#: How long a closed session may take to end before it is cut.
_CLOSE_TIMEOUT = 2.0
#: How long stop() waits for aborted handlers to actually return.
_HANDLER_EXIT_TIMEOUT = 2.0


class TaskContext:
    """What a handler gets besides the task."""

    def __init__(self, worker: Worker, run: _Run) -> None:
        self._worker = worker
        self._run = run
        #: The task as assigned, with ``lease`` set.
        self.task: task_pb2.Task = run.task
        #: Set when the handler must stop: the task was cancelled, its lease was lost,
        #: or the worker's stop grace ran out (:attr:`abort_cause` says which). The
        #: handler's asyncio task is cancelled at the same moment; handlers that
        #: shield work from cancellation can watch this event instead.
        self.cancelled: asyncio.Event = asyncio.Event()
        #: Why the handler was stopped, once :attr:`cancelled` is set.
        self.abort_cause: AbortCause | None = None
        #: The reason the server or worker gave, once :attr:`cancelled` is set.
        self.cancel_reason: str | None = None
        #: A logger for this task.
        self.log: logging.LoggerAdapter[logging.Logger] = logging.LoggerAdapter(
            worker.log, {"task_id": run.task.id, "task_type": run.task.type}
        )

    @property
    def task_id(self) -> str:
        return self.task.id

    @property
    def lease_id(self) -> str:
        return self._run.lease_id

    @property
    def attempt(self) -> int:
        """The 1-based attempt number of this run (T3)."""
        return self.task.lease.attempt or self.task.attempt

    @cached_property
    def payload(self) -> JsonObject:
        """The task's payload as a dict."""
        return from_struct(self.task.payload)

    async def heartbeat(self) -> None:
        """Renews every lease of this worker now, on top of the automatic heartbeats."""
        session = self._worker._session
        if session is not None:
            session.heartbeat_now()

    async def extend_lease(self, seconds: float) -> datetime:
        """Moves the lease deadline to now + ``seconds`` (1s..1h, E1) and returns the
        new deadline; raises BatonError when the lease is lost or the worker is not
        connected."""
        session = self._worker._session
        if session is None:
            raise BatonError.of(Code.UNAVAILABLE, contract_pb2.UNAVAILABLE, "not connected to Baton; try again")
        return await session.extend_lease(self.task.id, self._run.lease_id, seconds)


class _Run:
    """One attempt held by this worker, from Assign until its single outcome is
    decided. ``done`` marks that decision (a Result was queued, or none will be
    sent because the lease is gone); ``settled`` marks the handler's end, which
    may come later when a handler ignores cancellation."""

    def __init__(self, task: task_pb2.Task) -> None:
        self.task = task
        self.lease_id = task.lease.lease_id
        self.ctx: TaskContext | None = None
        self.handler_task: asyncio.Task[object] | None = None
        self.started = False
        self.settled = False
        self.done = False
        #: Set by a Cancel: whatever the handler does now, the outcome is a ``cancelled`` failure (X2).
        self.cancel_reason: str | None = None
        #: Set when shutdown cut the handler off: the outcome is a ``worker_shutdown`` failure.
        self.shutdown = False
        self.cancel_timer: asyncio.TimerHandle | None = None

    def abort(self, why: AbortCause, message: str) -> None:
        ctx = self.ctx
        if ctx is not None and not ctx.cancelled.is_set():
            ctx.abort_cause = why
            ctx.cancel_reason = message
            ctx.cancelled.set()
        if self.handler_task is not None and not self.handler_task.done():
            self.handler_task.cancel(f"{why}: {message}")


class Worker:
    """The worker runtime: holds a session with Baton over one bidirectional
    HTTP/2 stream (WorkerService.Connect), runs handlers for assigned tasks within
    its slots, heartbeats their leases, and reports results, across reconnects,
    until :meth:`stop`.

    Example::

        worker = Worker("http://127.0.0.1:7233", queues=["email"], worker_id="mailer", slots=4)

        @worker.handler("email.send")
        async def send(task: Task, ctx: TaskContext) -> dict[str, object]:
            return {"sent_to": ctx.payload["to"]}

        await worker.run()  # until SIGTERM / SIGINT / worker.stop()
    """

    def __init__(
        self,
        address: str,
        *,
        queues: Iterable[str],
        worker_id: str,
        slots: int = 1,
        namespace: str = "",
        instance_id: str | None = None,
        labels: Mapping[str, str] | None = None,
        protocol: Protocol = "connect",
        http_client: pyqwest.Client | None = None,
        headers: Mapping[str, str] | None = None,
        reconnect: BackoffOptions | None = None,
        welcome_timeout: float = DEFAULT_WELCOME_TIMEOUT,
        handle_signals: bool = True,
        shutdown_grace: float = 30.0,
        logger: logging.Logger | None = None,
    ) -> None:
        """
        Args:
            address: ``http://host:port`` (h2c) or ``https://host:port``.
            queues: The queues to take tasks from (1..16).
            worker_id: The worker's name; many instances may share it (H2).
            slots: How many tasks run at once (1..1000).
            namespace: Empty: the server's ``default``.
            instance_id: This process's id, the same across reconnects (H2). Default: a random UUID.
            labels: Shown by ListWorkers.
            protocol: ``connect`` (default) or ``grpc``; both run the session over HTTP/2.
            http_client: A pyqwest client speaking HTTP/2 (for TLS settings, say); the caller closes it.
            headers: Sent with the stream (e.g. an authorization header).
            reconnect: Reconnect delays (N1); the defaults follow the protocol's bounds.
            welcome_timeout: Seconds to wait for Welcome after Hello before trying again.
            handle_signals: While :meth:`run` runs, SIGTERM/SIGINT drain the worker
                (``stop(shutdown_grace)``); a second signal aborts running tasks.
                Only in the main thread of a Unix process.
            shutdown_grace: The grace of a signal-triggered stop, in seconds.
            logger: Default ``logging.getLogger("baton.worker")``.
        """
        self.queues = list(queues)
        if not self.queues:
            raise ValueError("Worker needs at least one queue")
        if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
            raise ValueError("Worker slots must be a positive integer")
        if protocol == "grpc-web":
            raise ValueError("gRPC-Web has no bidirectional streams; use 'connect' or 'grpc'")
        self.worker_id = worker_id
        self.slots = slots
        self.namespace = namespace
        self.instance_id = instance_id or str(uuid.uuid4())
        self.labels = dict(labels or {})
        self.log = logger or logging.getLogger("baton.worker")
        self._http = OwnedHttp(address, http_version="2", protocol=protocol, http_client=http_client)
        self._rpc = WorkerServiceClient(self._http.address, protocol=protocol_type(protocol), http_client=self._http.client)
        self._headers = dict(headers or {})
        self._reconnect = reconnect
        self._welcome_timeout = welcome_timeout
        self._handle_signals = handle_signals
        self._shutdown_grace = shutdown_grace
        self._events = Emitter(self.log)
        self._handlers: dict[str, Handler] = {}
        #: Attempts held whose outcome is not decided yet, by task id.
        self._active: dict[str, _Run] = {}
        #: Assigned beyond the slot count: they wait here so no more than ``slots`` run (K3).
        self._queued: list[_Run] = []
        #: Handlers still executing (their outcome may already be decided).
        self._executing: set[_Run] = set()
        self._outbox = Outbox()
        self._session: Session | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._stop_task: asyncio.Task[None] | None = None
        self._draining = False
        self._aborting = False
        self._finished = False
        self._wake: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._cut_grace: asyncio.Event | None = None
        self._cancel_grace = _DEFAULT_CANCEL_GRACE
        self._bg: asyncio.Task[None] | None = None
        self._signal_tasks: set[asyncio.Future[None]] = set()

    # --- configuration ---------------------------------------------------------------------

    def handle(self, task_type: str, handler: Handler) -> Self:
        """Registers the handler of a task type. Types are announced in Hello, so
        register before :meth:`run`."""
        if self._loop_task is not None:
            raise RuntimeError("register handlers before run(): Hello announces the task types")
        if not callable(handler):
            raise TypeError("handler must be callable")
        self._handlers[task_type] = handler
        return self

    def handler(self, task_type: str) -> Callable[[H], H]:
        """Decorator form of :meth:`handle`: ``@worker.handler("email.send")``."""

        def register(fn: H) -> H:
            self.handle(task_type, fn)
            return fn

        return register

    def on(self, event_type: type[E], listener: Callable[[E], None]) -> Callable[[], None]:
        """Calls ``listener`` with every event of ``event_type`` (e.g. TaskCompleted);
        returns a function that unsubscribes."""
        return self._events.on(event_type, listener)

    def once(
        self, event_type: type[E], predicate: Callable[[E], bool] | None = None, timeout: float | None = None
    ) -> asyncio.Future[E]:
        """A future of the next matching event, subscribed at once; fails with
        TimeoutError after ``timeout`` seconds."""
        return self._events.once(event_type, predicate, timeout)

    # --- state -------------------------------------------------------------------------

    @property
    def running_count(self) -> int:
        """Handlers currently executing."""
        return len(self._executing)

    @property
    def connected(self) -> bool:
        """Connected and welcomed."""
        return self._session is not None and self._session.ready

    # --- running -----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        """Starts :meth:`run` in the background; leaving the block calls :meth:`stop`."""
        self._bg = asyncio.create_task(self.run(), name="baton-worker")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        bg, self._bg = self._bg, None
        await self.stop(grace=0 if exc is not None else self._shutdown_grace)
        if bg is not None:
            try:
                await bg
            except BatonError:
                if exc is None:
                    raise

    async def run(self) -> None:
        """Runs until :meth:`stop` has finished; raises BatonError only for errors a
        reconnect cannot fix (a refused Hello, a server without WorkerService)."""
        if not self._handlers:
            raise RuntimeError("register at least one handler before run()")
        if self._loop_task is not None:
            raise RuntimeError("run() was already called")
        loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._cut_grace = asyncio.Event()
        uninstall = self._install_signal_handlers(loop) if self._handle_signals else None
        self._loop_task = asyncio.create_task(self._loop(), name="baton-worker-loop")
        try:
            await asyncio.shield(self._loop_task)
        except asyncio.CancelledError:
            # The caller gave up on run(): take everything down now.
            self._finished = True
            self._wake.set()
            self._loop_task.cancel()
            if self._session is not None:
                self._session.abort()
            for run in list(self._executing):
                run.abort("shutdown", "the worker was cancelled")
            with contextlib.suppress(BaseException):
                await self._loop_task
            raise
        finally:
            if uninstall is not None:
                uninstall()
            await self._wait_handlers_exit()
            await self._rpc.close()
            await self._http.aclose()

    async def stop(self, grace: float = 30.0, flush_timeout: float = 10.0) -> None:
        """Graceful stop: Drain (no new work, G2), let running tasks finish for up to
        ``grace`` seconds, cancel the rest (reported as retryable ``worker_shutdown``
        failures), wait up to ``flush_timeout`` for the last Acks, close. Safe to
        call more than once; a later call with ``grace=0`` cuts the wait short."""
        if self._stop_task is not None:
            if grace == 0 and self._cut_grace is not None:
                self._cut_grace.set()
            await asyncio.shield(self._stop_task)
            return
        self._stop_task = asyncio.create_task(self._stop(grace, flush_timeout), name="baton-worker-stop")
        await asyncio.shield(self._stop_task)

    async def _stop(self, grace: float, flush_timeout: float) -> None:
        if self._loop_task is None or self._loop_task.done():
            # Not started, or already ended (a refused session): nothing to drain.
            self._finished = True
            return
        assert self._idle is not None and self._cut_grace is not None and self._wake is not None
        self._draining = True
        if self._session is not None:
            self._session.drain()
        for run in list(self._queued):
            self._shutdown_run(run)
        if grace > 0:
            waiters = [asyncio.ensure_future(self._idle.wait()), asyncio.ensure_future(self._cut_grace.wait())]
            try:
                await asyncio.wait(waiters, timeout=grace, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiters:
                    w.cancel()
        self._aborting = True
        for run in list(self._active.values()):
            self._shutdown_run(run)
        await wait_for_or(self._outbox.wait_empty(), flush_timeout, None)
        if self._outbox:
            self.log.warning(
                "stopping with %d results the server has not acknowledged; their leases will expire and the tasks retry",
                len(self._outbox),
            )
        self._finished = True
        self._wake.set()
        session = self._session
        if session is not None:
            session.close()
        done, _ = await asyncio.wait({self._loop_task}, timeout=_CLOSE_TIMEOUT)
        if not done and session is not None:
            session.abort()
        with contextlib.suppress(BaseException):
            await self._loop_task

    async def _wait_handlers_exit(self) -> None:
        tasks = [r.handler_task for r in self._executing if r.handler_task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=_HANDLER_EXIT_TIMEOUT)

    def _install_signal_handlers(self, loop: asyncio.AbstractEventLoop) -> Callable[[], None] | None:
        received = 0
        sigs = (signal.SIGTERM, signal.SIGINT)

        def on_signal(sig: signal.Signals) -> None:
            nonlocal received
            received += 1
            if received == 1:
                self.log.info("%s: draining, finishing running tasks", sig.name)
                grace = self._shutdown_grace
            else:
                self.log.warning("%s again: cancelling running tasks", sig.name)
                grace = 0
            task = asyncio.ensure_future(self.stop(grace))
            self._signal_tasks.add(task)
            task.add_done_callback(self._signal_tasks.discard)

        installed: list[signal.Signals] = []
        for sig in sigs:
            try:
                loop.add_signal_handler(sig, on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                continue
            installed.append(sig)

        def uninstall() -> None:
            for sig in installed:
                loop.remove_signal_handler(sig)

        return uninstall

    async def _loop(self) -> None:
        assert self._wake is not None
        backoff = Backoff(self._reconnect)
        while not self._finished:
            session = Session(self._rpc, self._outbox, self, headers=self._headers, log=self.log)
            self._session = session
            if self._draining:
                session.drain()
            end = await session.run(self._hello(), self._welcome_timeout)
            self._session = None
            if end.welcomed:
                backoff.reset()
            if self._finished:
                self._events.emit(WorkerDisconnected(error=end.error, go_away=end.go_away, reconnect_in=None))
                break
            if end.error is not None and end.error.code in _FATAL_CODES:
                self._events.emit(WorkerDisconnected(error=end.error, go_away=end.go_away, reconnect_in=None))
                self.log.error("Baton refused the worker session; not reconnecting: %s", end.error)
                self._finished = True
                self._aborting = True
                for run in list(self._active.values()):
                    self._drop_run(run, "shutdown", "the worker session was refused")
                raise end.error
            go_away_after = (
                duration_seconds(end.go_away.reconnect_after)
                if end.go_away is not None and end.go_away.HasField("reconnect_after")
                else 0.0
            )
            # G1 says when; without a time, back off like any lost stream so a fleet does not spin.
            delay = go_away_after if go_away_after > 0 else backoff.next_delay()
            self._events.emit(WorkerDisconnected(error=end.error, go_away=end.go_away, reconnect_in=delay))
            if end.error is not None:
                self.log.warning("worker stream lost (%s); reconnecting in %.2fs", end.error, delay)
            else:
                self.log.info("worker stream ended; reconnecting in %.2fs", delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def _hello(self) -> worker_pb2.Hello:
        return worker_pb2.Hello(
            namespace=self.namespace,
            queues=self.queues,
            task_types=list(self._handlers),
            worker_id=self.worker_id,
            instance_id=self.instance_id,
            labels=self.labels,
            slots=self.slots,
            # N2: unacknowledged results too, so their leases stay alive until the resend.
            resume_leases=self._resume_leases(),
            sdk=SDK_NAME,
        )

    def _resume_leases(self) -> list[worker_pb2.LeaseRef]:
        leases = self.running_leases()
        seen = {lease.task_id for lease in leases}
        for entry in self._outbox.entries():
            if entry.result.task_id not in seen:
                leases.append(worker_pb2.LeaseRef(task_id=entry.result.task_id, lease_id=entry.result.lease_id))
        return leases

    # --- SessionHost -------------------------------------------------------------------

    def running_leases(self) -> list[worker_pb2.LeaseRef]:
        return [worker_pb2.LeaseRef(task_id=r.task.id, lease_id=r.lease_id) for r in self._active.values()]

    def idle(self) -> bool:
        return not self._active and not self._outbox

    def on_welcome(self, welcome: worker_pb2.Welcome) -> None:
        if welcome.HasField("cancel_grace"):
            self._cancel_grace = duration_seconds(welcome.cancel_grace) or _DEFAULT_CANCEL_GRACE
        # N2: these handlers work on leases that are gone; their results would be refused.
        for lost in welcome.lost:
            run = self._active.get(lost.task_id)
            if run is not None and run.lease_id == lost.lease_id:
                self._drop_run(run, "lease_lost", "the lease was lost while disconnected")
        self.log.info(
            "connected to Baton: session %s, %d leases resumed, %d lost",
            welcome.session_id,
            len(welcome.resumed),
            len(welcome.lost),
        )
        self._events.emit(
            WorkerConnected(
                session_id=welcome.session_id,
                replica_id=welcome.replica_id,
                server_version=welcome.server_version,
                resumed=list(welcome.resumed),
                lost=list(welcome.lost),
            )
        )

    def on_assign(self, task: task_pb2.Task) -> None:
        if not task.lease.lease_id:
            self.log.warning("Assign without a lease; ignored (task %s)", task.id)
            return
        existing = self._active.get(task.id)
        if existing is not None and existing.lease_id == task.lease.lease_id:
            return
        if existing is not None:
            # A newer lease on the same task means ours is gone.
            self._drop_run(existing, "lease_lost", "the task was assigned again under a new lease")
        run = _Run(task)
        run.ctx = TaskContext(self, run)
        self._active[task.id] = run
        self._set_idle()
        self._events.emit(TaskAssigned(task=task))
        if self._aborting:
            self._shutdown_run(run)
            return
        session = self._session
        if session is not None and session.going_away:
            # G1: no new work after GoAway; give it straight back for another worker.
            self._decide(
                run,
                failure_result(
                    task.id, run.lease_id, type="worker_going_away", message="the worker's session is going away"
                ),
            )
            return
        if len(self._executing) < self.slots:
            self._start(run)
        else:
            self.log.warning("assigned beyond the slot count (K1); queued locally (task %s)", task.id)
            self._queued.append(run)

    def on_cancel(self, cancel: worker_pb2.Cancel) -> None:
        run = self._active.get(cancel.task_id)
        if run is None or run.lease_id != cancel.lease_id:
            # B2 for a result still waiting for its Ack: it must not be sent again.
            if cancel.lease_lost:
                entry = self._outbox.take(cancel.task_id, cancel.lease_id)
                if entry is not None:
                    self._events.emit(TaskCancelled(task=entry.task, reason=cancel.reason, lease_lost=True))
            return
        if cancel.lease_lost:
            self.log.info("lease lost; handler stopped (task %s): %s", cancel.task_id, cancel.reason)
            self._events.emit(TaskCancelled(task=run.task, reason=cancel.reason, lease_lost=True))
            self._drop_run(run, "lease_lost", cancel.reason or "the lease was lost")
            return
        if run.cancel_reason is not None:
            return
        run.cancel_reason = cancel.reason or "cancelled"
        self._events.emit(TaskCancelled(task=run.task, reason=run.cancel_reason, lease_lost=False))
        if not run.started:
            self._decide(run, None)
            return
        run.abort("cancelled", run.cancel_reason)
        # X2: a handler that swallows its cancellation does not hold the failure back past the grace.
        run.cancel_timer = asyncio.get_running_loop().call_later(
            self._cancel_grace * _CANCEL_GRACE_SHARE, self._decide, run, None
        )

    def on_result_ack(self, entry: OutboxEntry, ack: worker_pb2.Ack) -> None:
        result = entry.result
        if not ack.accepted:
            detail = ack.error if ack.HasField("error") else None
            self.log.warning(
                "result refused by the server (task %s): %s %s",
                entry.task.id,
                detail.reason if detail else "",
                detail.message if detail else "",
            )
            self._events.emit(ResultRejected(task=entry.task, error=detail))
            # The handler finished just as the task was cancelled: the server now waits
            # for the cancellation failure (X2) instead, a different Result, so R4 allows it.
            if detail is not None and detail.reason == _CANCEL_REQUESTED and result.WhichOneof("outcome") == "completed":
                self._outbox.put(
                    failure_result(
                        result.task_id, result.lease_id, type="cancelled", message=detail.message or "cancelled"
                    ),
                    entry.task,
                )
                if self._session is not None:
                    self._session.flush()
        elif result.WhichOneof("outcome") == "completed":
            self._events.emit(
                TaskCompleted(task=entry.task, result=from_struct(result.completed), task_state=ack.task_state)
            )
        elif result.WhichOneof("outcome") == "failed":
            self._events.emit(TaskFailed(task=entry.task, error=result.failed.error, task_state=ack.task_state))

    def on_go_away(self, go_away: worker_pb2.GoAway) -> None:
        after = duration_seconds(go_away.reconnect_after) if go_away.HasField("reconnect_after") else 0.0
        self.log.info("server is going away (%s); reconnecting in %.2fs", go_away.reason, after)
        self._events.emit(GoAwayReceived(reason=go_away.reason, reconnect_after=after))

    # --- running one task ----------------------------------------------------------------

    def _start(self, run: _Run) -> None:
        run.started = True
        self._executing.add(run)
        handler = self._handlers.get(run.task.type)
        run.handler_task = asyncio.create_task(self._invoke(handler, run), name=f"baton-task-{run.task.id}")
        run.handler_task.add_done_callback(lambda t: self._on_handler_done(run, t))

    async def _invoke(self, handler: Handler | None, run: _Run) -> object:
        if handler is None:
            raise NonRetryableError(
                f'this worker has no handler for task type "{run.task.type}"', type="unknown_task_type"
            )
        assert run.ctx is not None
        value: Any = handler(run.task, run.ctx)
        if inspect.isawaitable(value):
            value = await value
        return value

    def _on_handler_done(self, run: _Run, t: asyncio.Task[object]) -> None:
        run.settled = True
        self._executing.discard(run)
        if t.cancelled():
            result = failure_result(
                run.task.id, run.lease_id, type="cancelled", message="the handler was cancelled"
            )
        elif (exc := t.exception()) is not None:
            if not isinstance(exc, Exception):
                self.log.warning("handler of task %s raised %r", run.task.id, exc)
            result = failed_result(run.task.id, run.lease_id, exc)
        else:
            result = completed_result(run.task.id, run.lease_id, t.result())
        self._decide(run, result)
        while self._queued and len(self._executing) < self.slots:
            nxt = self._queued.pop(0)
            if not nxt.done:
                self._start(nxt)

    def _decide(self, run: _Run, proposed: worker_pb2.Result | None) -> None:
        """Fixes the attempt's one outcome and queues it for the server. A Cancel or
        a shutdown overrides what the handler produced: after X2 the server takes
        only the ``cancelled`` failure, and after shutdown nobody waits for the rest."""
        if run.done:
            return
        tid, lid = run.task.id, run.lease_id
        if run.cancel_reason is not None:
            result = failure_result(tid, lid, type="cancelled", message=run.cancel_reason or "cancelled")
        elif run.shutdown:
            result = failure_result(
                tid, lid, type="worker_shutdown", message="the worker stopped before the task finished"
            )
        elif proposed is not None:
            result = proposed
        else:
            result = failure_result(tid, lid, type="cancelled", message="cancelled")
        self._mark_done(run)
        self._outbox.put(result, run.task)
        if self._session is not None:
            self._session.flush()

    def _drop_run(self, run: _Run, why: AbortCause, message: str) -> None:
        """The lease is gone (B2, N2) or the worker gives up: stop the handler, send nothing."""
        if run.done:
            return
        self._mark_done(run)
        run.abort(why, message)
        if self._session is not None:
            self._session.close_if_idle_after_go_away()

    def _shutdown_run(self, run: _Run) -> None:
        """Shutdown: cancel the handler and report a retryable failure so another worker
        takes the task soon."""
        if run.done:
            return
        run.shutdown = True
        run.abort("shutdown", "the worker is shutting down")
        self._decide(run, None)

    def _mark_done(self, run: _Run) -> None:
        run.done = True
        if run.cancel_timer is not None:
            run.cancel_timer.cancel()
        if self._active.get(run.task.id) is run:
            del self._active[run.task.id]
        if run in self._queued:
            self._queued.remove(run)
        self._set_idle()

    def _set_idle(self) -> None:
        if self._idle is None:
            return
        if self._active:
            self._idle.clear()
        else:
            self._idle.set()
