"""WorkflowClient: WorkflowService for definitions, runs, approvals and run events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar

import pyqwest
from connectrpc.errors import ConnectError

from ._backoff import Backoff, BackoffOptions
from ._errors import BatonError
from ._json import to_struct
from ._transport import HttpVersion, OwnedHttp, Protocol, protocol_type
from ._util import reraise_if_cancelled
from ._watch import RESUMABLE_CODES
from .v1 import workflow_pb2, workflow_service_pb2
from .v1.workflow_service_connect import WorkflowServiceClient

T = TypeVar("T")

log = logging.getLogger("baton.workflow")

__all__ = ["PutWorkflowResult", "StartedRun", "WorkflowClient"]

#: The events after which a run changes no more; watch_run ends after one.
_TERMINAL = frozenset(
    {
        workflow_pb2.RUN_EVENT_TYPE_RUN_SUCCEEDED,
        workflow_pb2.RUN_EVENT_TYPE_RUN_FAILED,
        workflow_pb2.RUN_EVENT_TYPE_RUN_CANCELLED,
        workflow_pb2.RUN_EVENT_TYPE_RUN_TIMED_OUT,
    }
)


@dataclass(frozen=True)
class PutWorkflowResult:
    """PutWorkflow's answer."""

    #: The workflow as stored (or as it would be, with ``validate_only``).
    workflow: workflow_pb2.Workflow
    #: The workflow did not exist before.
    created: bool
    #: False when the stored definition was already the same.
    changed: bool


@dataclass(frozen=True)
class StartedRun:
    """StartRun's answer."""

    run: workflow_pb2.Run
    #: False when the idempotency key returned an existing run.
    created: bool


class WorkflowClient:
    """WorkflowService: store definitions (as messages or YAML), start and steer
    runs, follow them.

    Every method raises :class:`BatonError`; a refused definition lists every
    problem in ``field_violations`` (with YAML line numbers). Nothing is retried
    behind the caller's back except :meth:`watch_run`, which resumes a broken
    stream after the last cursor it delivered. Use as
    ``async with WorkflowClient(...) as wf:`` or call :meth:`aclose`.
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
            timeout: Default per-call timeout in seconds (not applied to watch_run).
            headers: Sent with every call (e.g. an authorization header).
        """
        self._http = OwnedHttp(address, http_version=http_version, protocol=protocol, http_client=http_client)
        self.namespace = namespace
        self._timeout = timeout
        self._headers = dict(headers or {})
        #: The generated Connect client, for calls this class does not wrap.
        self.rpc = WorkflowServiceClient(
            self._http.address, protocol=protocol_type(protocol), http_client=self._http.client
        )

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

    # --- definitions ---------------------------------------------------------------------

    async def put_workflow_yaml(
        self, yaml: str, *, validate_only: bool = False, timeout: float | None = None
    ) -> PutWorkflowResult:
        """Stores a workflow given as YAML (docs/WORKFLOWS.md); the server analyses it
        first and refuses it with INVALID_FIELD listing every problem."""
        req = workflow_service_pb2.PutWorkflowRequest(yaml=yaml, validate_only=validate_only)
        return await self._put(req, timeout)

    async def put_workflow(
        self, workflow: workflow_pb2.Workflow, *, validate_only: bool = False, timeout: float | None = None
    ) -> PutWorkflowResult:
        """Stores a workflow given as a message; the server analyses it first."""
        req = workflow_service_pb2.PutWorkflowRequest(workflow=workflow, validate_only=validate_only)
        return await self._put(req, timeout)

    async def _put(self, req: workflow_service_pb2.PutWorkflowRequest, timeout: float | None) -> PutWorkflowResult:
        res = await self._call(self.rpc.put_workflow(req, headers=self._headers, timeout_ms=self._timeout_ms(timeout)))
        return PutWorkflowResult(workflow=res.workflow, created=res.created, changed=res.changed)

    async def get_workflow(
        self, name: str, *, namespace: str | None = None, timeout: float | None = None
    ) -> workflow_pb2.Workflow:
        """The stored definition; WORKFLOW_NOT_FOUND when there is none."""
        res = await self._call(
            self.rpc.get_workflow(
                workflow_service_pb2.GetWorkflowRequest(namespace=self._ns(namespace), name=name),
                headers=self._headers,
                timeout_ms=self._timeout_ms(timeout),
            )
        )
        return res.workflow

    async def list_workflows(
        self, *, namespace: str | None = None, page_size: int = 0, timeout: float | None = None
    ) -> AsyncGenerator[workflow_pb2.Workflow, None]:
        """Every workflow of the namespace, fetched page by page as the loop advances."""
        req = workflow_service_pb2.ListWorkflowsRequest(namespace=self._ns(namespace), page_size=page_size)
        while True:
            page = await self._call(
                self.rpc.list_workflows(req, headers=self._headers, timeout_ms=self._timeout_ms(timeout))
            )
            for workflow in page.workflows:
                yield workflow
            if not page.next_page_token:
                return
            req.page_token = page.next_page_token

    async def delete_workflow(
        self,
        name: str,
        *,
        namespace: str | None = None,
        resource_version: str = "",
        timeout: float | None = None,
    ) -> None:
        """Deletes a definition (runs already started keep their copy of it). With
        ``resource_version``, only if it is still that version (RESOURCE_VERSION_STALE otherwise)."""
        await self._call(
            self.rpc.delete_workflow(
                workflow_service_pb2.DeleteWorkflowRequest(
                    namespace=self._ns(namespace), name=name, resource_version=resource_version
                ),
                headers=self._headers,
                timeout_ms=self._timeout_ms(timeout),
            )
        )

    # --- runs ----------------------------------------------------------------------------

    async def start_run(
        self,
        workflow: str,
        input: Mapping[str, Any] | None = None,  # noqa: A002 - the protocol's name for it
        *,
        namespace: str | None = None,
        idempotency_key: str = "",
        labels: Mapping[str, str] | None = None,
        workflow_version: str = "",
        trace_id: str = "",
        timeout: float | None = None,
    ) -> StartedRun:
        """Starts a run of the workflow's current version (or ``workflow_version``).
        With ``idempotency_key`` a repeat returns the original run with ``created`` false."""
        req = workflow_service_pb2.StartRunRequest(
            namespace=self._ns(namespace),
            workflow=workflow,
            input=to_struct(input),
            idempotency_key=idempotency_key,
            labels=dict(labels or {}),
            workflow_version=workflow_version,
            trace_id=trace_id,
        )
        res = await self._call(self.rpc.start_run(req, headers=self._headers, timeout_ms=self._timeout_ms(timeout)))
        return StartedRun(run=res.run, created=res.created)

    async def get_run(self, id: str, *, timeout: float | None = None) -> workflow_pb2.Run:  # noqa: A002
        """The run with every step's state, join, attempts and errors; RUN_NOT_FOUND when there is none."""
        res = await self._call(
            self.rpc.get_run(
                workflow_service_pb2.GetRunRequest(id=id), headers=self._headers, timeout_ms=self._timeout_ms(timeout)
            )
        )
        return res.run

    async def list_runs(
        self,
        *,
        namespace: str | None = None,
        workflow: str = "",
        states: Iterable[workflow_pb2.RunState] = (),
        page_size: int = 0,
        timeout: float | None = None,
    ) -> AsyncGenerator[workflow_pb2.Run, None]:
        """Every matching run, fetched page by page as the loop advances."""
        req = workflow_service_pb2.ListRunsRequest(
            namespace=self._ns(namespace), workflow=workflow, states=list(states), page_size=page_size
        )
        while True:
            page = await self._call(self.rpc.list_runs(req, headers=self._headers, timeout_ms=self._timeout_ms(timeout)))
            for run in page.runs:
                yield run
            if not page.next_page_token:
                return
            req.page_token = page.next_page_token

    async def cancel_run(self, id: str, reason: str = "", *, timeout: float | None = None) -> workflow_pb2.Run:  # noqa: A002
        """Cancels a run: its running steps' tasks are cancelled and the run ends CANCELLED."""
        res = await self._call(
            self.rpc.cancel_run(
                workflow_service_pb2.CancelRunRequest(id=id, reason=reason),
                headers=self._headers,
                timeout_ms=self._timeout_ms(timeout),
            )
        )
        return res.run

    async def approve_step(
        self, run_id: str, step: str, *, approver: str = "", comment: str = "", timeout: float | None = None
    ) -> workflow_pb2.Run:
        """Approves a step waiting for approval, which then starts."""
        res = await self._call(
            self.rpc.approve_step(
                workflow_service_pb2.ApproveStepRequest(run_id=run_id, step=step, approver=approver, comment=comment),
                headers=self._headers,
                timeout_ms=self._timeout_ms(timeout),
            )
        )
        return res.run

    async def reject_step(
        self, run_id: str, step: str, *, approver: str = "", reason: str = "", timeout: float | None = None
    ) -> workflow_pb2.Run:
        """Rejects a step waiting for approval; it fails as the step's ``on_failure`` says."""
        res = await self._call(
            self.rpc.reject_step(
                workflow_service_pb2.RejectStepRequest(run_id=run_id, step=step, approver=approver, reason=reason),
                headers=self._headers,
                timeout_ms=self._timeout_ms(timeout),
            )
        )
        return res.run

    async def watch_run(
        self, run_id: str, *, backoff: BackoffOptions | None = None
    ) -> AsyncGenerator[workflow_pb2.RunEvent, None]:
        """A run's events from its first one until it ends (the generator returns
        after RUN_SUCCEEDED, RUN_FAILED, RUN_CANCELLED or RUN_TIMED_OUT).

        A broken stream (a restart, a lost connection) is resumed after the last
        cursor delivered, so the loop sees no gap and no duplicate; BatonError is
        raised only for errors a reconnect cannot fix (e.g. RUN_NOT_FOUND). Close
        it with ``contextlib.aclosing`` to end the stream early.
        """
        retry = Backoff(backoff)
        after: int | None = None
        while True:
            req = workflow_service_pb2.WatchRunRequest(run_id=run_id)
            if after is not None:
                req.after_cursor = after
            stream = self.rpc.watch_run(req, headers=self._headers)
            try:
                async for res in stream:
                    if not res.HasField("event"):
                        continue
                    event = res.event
                    if after is not None and event.cursor <= after:
                        continue
                    after = event.cursor
                    retry.reset()
                    yield event
                    if event.type in _TERMINAL:
                        return
                delay = retry.next_delay()
                log.debug("run watch ended; resuming after cursor %s in %.2fs", after, delay)
            except Exception as err:  # noqa: BLE001 - classified below
                reraise_if_cancelled(err)
                e = BatonError.from_exception(err)
                if not e.retryable and e.code not in RESUMABLE_CODES:
                    raise e from err
                delay = max(retry.next_delay(), e.retry_after or 0.0)
                log.warning("run watch failed (%s); resuming after cursor %s in %.2fs", e, after, delay)
            finally:
                aclose = getattr(stream, "aclose", None)
                if aclose is not None:
                    try:
                        await aclose()
                    except Exception:  # noqa: BLE001 - it is being thrown away
                        pass
            await asyncio.sleep(delay)
