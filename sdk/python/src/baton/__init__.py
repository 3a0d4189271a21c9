"""Baton: the Python SDK of the Baton task orchestration protocol.

``Client`` creates, reads, watches and manages tasks (TaskService); ``Worker``
runs handlers for them over one bidirectional HTTP/2 stream (WorkerService);
``WorkflowClient`` stores workflows and starts, steers and watches their runs
(WorkflowService).
The generated protocol code is ``baton.v1`` (messages in ``baton.v1.task_pb2``
and friends, Connect stubs in ``baton.v1.*_connect``).
"""

from connectrpc.code import Code

from ._backoff import Backoff, BackoffOptions
from ._client import Client, CreatedTask, HeartbeatResult, retry_policy, task_timeouts
from ._errors import AbortCause, BatonError, FieldViolation, NonRetryableError, RetryableError
from ._events import (
    GoAwayReceived,
    ResultRejected,
    TaskAssigned,
    TaskCancelled,
    TaskCompleted,
    TaskFailed,
    WorkerConnected,
    WorkerDisconnected,
    WorkerEvent,
)
from ._json import JsonObject, from_struct, from_timestamp, to_struct, to_timestamp
from ._transport import HttpVersion, Protocol
from ._version import SDK_NAME, SDK_VERSION
from ._worker import Handler, TaskContext, Worker
from ._workflow import PutWorkflowResult, StartedRun, WorkflowClient
from .v1.contract_pb2 import AgentContract, ErrorDetail, ErrorReason
from .v1.task_pb2 import (
    Attempt,
    AttemptOutcome,
    Lease,
    RetryPolicy,
    Task,
    TaskError,
    TaskEvent,
    TaskEventType,
    TaskState,
    TaskTimeouts,
)
from .v1.workflow_pb2 import Run, RunEvent, RunEventType, RunState, RunStep, StepState, Workflow

__version__ = SDK_VERSION

__all__ = [
    "SDK_NAME",
    "SDK_VERSION",
    "AbortCause",
    "AgentContract",
    "Attempt",
    "AttemptOutcome",
    "Backoff",
    "BackoffOptions",
    "BatonError",
    "Client",
    "Code",
    "CreatedTask",
    "ErrorDetail",
    "ErrorReason",
    "FieldViolation",
    "GoAwayReceived",
    "Handler",
    "HeartbeatResult",
    "HttpVersion",
    "JsonObject",
    "Lease",
    "NonRetryableError",
    "Protocol",
    "PutWorkflowResult",
    "ResultRejected",
    "RetryPolicy",
    "RetryableError",
    "Run",
    "RunEvent",
    "RunEventType",
    "RunState",
    "RunStep",
    "StartedRun",
    "StepState",
    "Task",
    "TaskAssigned",
    "TaskCancelled",
    "TaskCompleted",
    "TaskContext",
    "TaskError",
    "TaskEvent",
    "TaskEventType",
    "TaskFailed",
    "TaskState",
    "TaskTimeouts",
    "Worker",
    "WorkerConnected",
    "WorkerDisconnected",
    "WorkerEvent",
    "Workflow",
    "WorkflowClient",
    "from_struct",
    "from_timestamp",
    "retry_policy",
    "task_timeouts",
    "to_struct",
    "to_timestamp",
]
