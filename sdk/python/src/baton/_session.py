"""One worker session on one WorkerService.Connect stream, from Hello to the stream's end."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from connectrpc.code import Code

from ._errors import BatonError
from ._json import duration_seconds, from_timestamp, to_duration
from ._outbox import Outbox, OutboxEntry
from .v1 import contract_pb2, task_pb2, worker_pb2, worker_service_pb2
from .v1.worker_service_connect import WorkerServiceClient

#: How long to wait for Welcome after Hello before trying again.
DEFAULT_WELCOME_TIMEOUT = 15.0
#: How long an ExtendLease may wait for its Ack.
EXTEND_TIMEOUT = 30.0
#: Timers fire late, never early, and a message still has to cross the network,
#: so heartbeats go out at this fraction of Welcome.heartbeat_interval (B1).
HEARTBEAT_FRACTION = 0.8
#: Used when a Welcome carries no interval.
DEFAULT_HEARTBEAT_INTERVAL = 10.0


class SessionHost(Protocol):
    """What a session needs from the worker it serves."""

    def running_leases(self) -> list[worker_pb2.LeaseRef]:
        """The leases the worker still runs (B1)."""
        ...

    def on_welcome(self, welcome: worker_pb2.Welcome) -> None: ...

    def on_assign(self, task: task_pb2.Task) -> None: ...

    def on_cancel(self, cancel: worker_pb2.Cancel) -> None: ...

    def on_result_ack(self, entry: OutboxEntry, ack: worker_pb2.Ack) -> None: ...

    def on_go_away(self, go_away: worker_pb2.GoAway) -> None: ...

    def idle(self) -> bool:
        """True when nothing this worker holds needs the stream any more."""
        ...


@dataclass(frozen=True)
class SessionEnd:
    welcomed: bool
    go_away: worker_pb2.GoAway | None
    #: Why the stream broke; None when it ended cleanly.
    error: BatonError | None


def _protocol_error(message: str) -> BatonError:
    return BatonError.of(Code.INTERNAL, contract_pb2.PROTOCOL_VIOLATION, f"protocol error: {message}")


def _not_connected(message: str = "not connected to Baton; try again") -> BatonError:
    return BatonError.of(Code.UNAVAILABLE, contract_pb2.UNAVAILABLE, message)


def _refusal(ack: worker_pb2.Ack, fallback: str) -> BatonError:
    """An Ack{accepted: false} as the BatonError a unary call would have raised."""
    detail = ack.error if ack.HasField("error") else None
    reason = (detail.reason if detail else "") or contract_pb2.ErrorReason.Name(contract_pb2.RESULT_REFUSED)
    invalid = reason == contract_pb2.ErrorReason.Name(contract_pb2.INVALID_FIELD)
    code = Code.INVALID_ARGUMENT if invalid else Code.FAILED_PRECONDITION
    return BatonError(code, (detail.message if detail else "") or fallback, detail=detail, reason=reason)


class Session:
    """Waits for Welcome before sending anything else (H1, H3), heartbeats on the
    Welcome's interval (B1), resends unacknowledged results once Welcome arrives
    (R3), routes Acks to results or lease extensions, and passes Assign, Cancel
    and GoAway up to the worker. Reconnecting is the worker's job: a session is
    used once.
    """

    def __init__(
        self,
        rpc: WorkerServiceClient,
        outbox: Outbox,
        host: SessionHost,
        *,
        headers: Mapping[str, str],
        log: logging.Logger,
    ) -> None:
        self._rpc = rpc
        self._outbox = outbox
        self._host = host
        self._headers = dict(headers)
        self._log = log
        self._requests: asyncio.Queue[worker_service_pb2.ConnectRequest | None] = asyncio.Queue()
        self._send_closed = False
        self._welcome: worker_pb2.Welcome | None = None
        self._go_away: worker_pb2.GoAway | None = None
        self._ended = False
        self._draining = False
        self._reader: asyncio.Task[None] | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._extensions: dict[tuple[str, str], list[asyncio.Future[datetime]]] = {}
        self._aborted = False
        self._welcome_timed_out = False

    @property
    def welcome(self) -> worker_pb2.Welcome | None:
        return self._welcome

    @property
    def ready(self) -> bool:
        """Welcomed and not yet ended: messages other than Hello may be sent (H3)."""
        return self._welcome is not None and not self._ended

    @property
    def going_away(self) -> bool:
        return self._go_away is not None

    async def run(self, hello: worker_pb2.Hello, welcome_timeout: float = DEFAULT_WELCOME_TIMEOUT) -> SessionEnd:
        """Opens the stream with Hello and serves it until it ends; never raises
        for stream errors (they are in SessionEnd.error)."""
        loop = asyncio.get_running_loop()
        self._send(worker_service_pb2.ConnectRequest(hello=hello))
        self._reader = asyncio.create_task(self._read(), name="baton-session-reader")
        timer = loop.call_later(welcome_timeout, self._on_welcome_timeout)
        error: BatonError | None = None
        try:
            try:
                # wait() never raises the reader's outcome; only run()'s own cancellation.
                await asyncio.wait({self._reader})
            except asyncio.CancelledError:
                # run() itself was cancelled: take the stream down with it.
                self._reader.cancel()
                with contextlib.suppress(BaseException):
                    await self._reader
                raise
            failure = None if self._reader.cancelled() else self._reader.exception()
            if self._welcome_timed_out:
                error = _protocol_error(f"no Welcome within {welcome_timeout}s")
            elif self._aborted:
                error = _not_connected("the session was aborted")
            elif self._reader.cancelled():
                error = _not_connected("the session's reader was cancelled")
            elif failure is not None:
                error = BatonError.from_exception(failure)
        finally:
            timer.cancel()
            self._end()
        return SessionEnd(welcomed=self._welcome is not None, go_away=self._go_away, error=error)

    async def _read(self) -> None:
        stream = self._rpc.connect(self._request_stream(), headers=self._headers)
        async for res in stream:
            kind = res.WhichOneof("message")
            if kind is None:
                continue
            if self._welcome is None:
                if kind != "welcome":
                    raise _protocol_error(f"got {kind} before Welcome (H1)")
                self._on_welcome(res.welcome)
                continue
            self._dispatch(res)

    async def _request_stream(self) -> AsyncIterator[worker_service_pb2.ConnectRequest]:
        while True:
            msg = await self._requests.get()
            if msg is None:
                return
            yield msg

    def _send(self, msg: worker_service_pb2.ConnectRequest) -> bool:
        if self._send_closed:
            return False
        self._requests.put_nowait(msg)
        return True

    def _on_welcome_timeout(self) -> None:
        if self._welcome is None and self._reader is not None and not self._reader.done():
            self._welcome_timed_out = True
            self._reader.cancel()

    # --- what the worker calls ------------------------------------------------------------

    def flush(self) -> None:
        """Sends results not yet sent on this session (new ones, or all after Welcome: R3)."""
        if not self.ready:
            return
        self._outbox.flush(lambda r: self._send(worker_service_pb2.ConnectRequest(result=r)))

    def heartbeat_now(self) -> None:
        """An extra heartbeat now; a no-op while not connected (the next session resumes the leases)."""
        if self.ready:
            self._beat()

    async def extend_lease(self, task_id: str, lease_id: str, seconds: float) -> datetime:
        """E1: resolves with the new deadline; raises BatonError when the lease is
        lost, the extension refused, or the session ends first."""
        if not self.ready:
            raise _not_connected()
        assert self._welcome is not None
        if "extend_lease" not in self._welcome.features:
            raise BatonError.of(Code.UNIMPLEMENTED, contract_pb2.UNIMPLEMENTED, "this server does not support ExtendLease")
        key = (task_id, lease_id)
        fut: asyncio.Future[datetime] = asyncio.get_running_loop().create_future()
        self._extensions.setdefault(key, []).append(fut)
        msg = worker_service_pb2.ConnectRequest(
            extend_lease=worker_pb2.ExtendLease(task_id=task_id, lease_id=lease_id, extend_by=to_duration(seconds))
        )
        if not self._send(msg):
            self._settle_extension(key, fut, _not_connected())
        try:
            return await asyncio.wait_for(asyncio.shield(fut), EXTEND_TIMEOUT)
        except TimeoutError:
            self._settle_extension(
                key, fut, BatonError.of(Code.DEADLINE_EXCEEDED, contract_pb2.DEADLINE_EXCEEDED, "no answer to ExtendLease")
            )
            return await fut
        finally:
            if not fut.done():  # the caller gave up (cancelled): forget the extension
                self._discard_extension(key, fut)
                fut.cancel()

    def drain(self) -> None:
        """G2: no more Assigns on this session; also sent right after a later Welcome."""
        self._draining = True
        if self.ready:
            self._send(worker_service_pb2.ConnectRequest(drain=worker_pb2.Drain()))

    def close(self) -> None:
        """Ends the stream politely from this side: the server sees the request stream end."""
        if not self._send_closed:
            self._requests.put_nowait(None)
            self._send_closed = True

    def abort(self) -> None:
        """Ends the stream at once, dropping whatever is in flight."""
        self.close()
        if self._reader is not None and not self._reader.done():
            self._aborted = True
            self._reader.cancel()

    def close_if_idle_after_go_away(self) -> None:
        """After GoAway, a worker with nothing left running ends the stream itself (G1)."""
        if self._go_away is not None and self._host.idle():
            self.close()

    # --- what the server sends ---------------------------------------------------------

    def _on_welcome(self, welcome: worker_pb2.Welcome) -> None:
        self._welcome = welcome
        interval = (
            duration_seconds(welcome.heartbeat_interval) if welcome.HasField("heartbeat_interval") else 0.0
        ) or DEFAULT_HEARTBEAT_INTERVAL
        self._heartbeat_task = asyncio.create_task(
            self._heartbeat_loop(max(0.01, interval * HEARTBEAT_FRACTION)), name="baton-heartbeat"
        )
        self._host.on_welcome(welcome)
        if self._draining:
            self._send(worker_service_pb2.ConnectRequest(drain=worker_pb2.Drain()))
        self.flush()
        # Resumed leases went unrenewed while disconnected: renew them now.
        if self._host.running_leases():
            self._beat()

    def _dispatch(self, res: worker_service_pb2.ConnectResponse) -> None:
        kind = res.WhichOneof("message")
        if kind == "assign":
            if res.assign.HasField("task"):
                self._host.on_assign(res.assign.task)
            else:
                self._log.warning("Assign without a task; ignored")
        elif kind == "cancel":
            c = res.cancel
            if c.lease_lost:
                self._reject_extensions(c.task_id, c.lease_id, c.reason)
            self._host.on_cancel(c)
        elif kind == "ack":
            self._on_ack(res.ack)
            self.close_if_idle_after_go_away()
        elif kind == "go_away":
            self._go_away = res.go_away
            self._host.on_go_away(res.go_away)
            self.close_if_idle_after_go_away()
        elif kind == "welcome":
            self._log.warning("a second Welcome on one session; ignored")

    def _on_ack(self, ack: worker_pb2.Ack) -> None:
        """An Ack answers a Result or an ExtendLease of the same lease. Only an
        extension's Ack carries a deadline, and an extension of a lease whose
        result is already out can only be refused, so: a deadline, or no result
        waiting, means extension."""
        key = (ack.task_id, ack.lease_id)
        pending = self._extensions.get(key)
        if pending and (ack.HasField("lease_expire_time") or not self._outbox.has(*key)):
            fut = pending[0]
            if ack.accepted and ack.HasField("lease_expire_time"):
                self._settle_extension(key, fut, from_timestamp(ack.lease_expire_time))
            else:
                self._settle_extension(key, fut, _refusal(ack, "ExtendLease was refused"))
            return
        entry = self._outbox.take(*key)
        if entry is not None:
            self._host.on_result_ack(entry, ack)
        else:
            self._log.debug("Ack for a result not waiting here; ignored (task %s)", ack.task_id)

    def _discard_extension(self, key: tuple[str, str], fut: asyncio.Future[datetime]) -> bool:
        futures = self._extensions.get(key)
        if futures is None or fut not in futures:
            return False
        futures.remove(fut)
        if not futures:
            del self._extensions[key]
        return True

    def _settle_extension(
        self, key: tuple[str, str], fut: asyncio.Future[datetime], outcome: datetime | BaseException
    ) -> None:
        if not self._discard_extension(key, fut) or fut.done():
            return
        if isinstance(outcome, BaseException):
            fut.set_exception(outcome)
        else:
            fut.set_result(outcome)

    def _reject_extensions(self, task_id: str, lease_id: str, reason: str) -> None:
        key = (task_id, lease_id)
        for fut in list(self._extensions.get(key, [])):
            self._settle_extension(
                key, fut, BatonError.of(Code.FAILED_PRECONDITION, contract_pb2.LEASE_STALE, f"lease lost: {reason}")
            )

    def _beat(self) -> None:
        self._send(
            worker_service_pb2.ConnectRequest(heartbeat=worker_pb2.WorkerHeartbeat(leases=self._host.running_leases()))
        )

    async def _heartbeat_loop(self, period: float) -> None:
        while True:
            await asyncio.sleep(period)
            if not self.ready:
                return
            self._beat()

    def _end(self) -> None:
        self._ended = True
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
        self._outbox.connection_lost()
        for key, futures in list(self._extensions.items()):
            for fut in list(futures):
                self._settle_extension(key, fut, _not_connected("the session ended before ExtendLease was answered"))
        # Ends the request stream, in case the HTTP client still reads it.
        self.close()
