import datetime

from baton.v1 import task_pb2 as _task_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FailureAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FAILURE_ACTION_UNSPECIFIED: _ClassVar[FailureAction]
    FAILURE_ACTION_FAIL_RUN: _ClassVar[FailureAction]
    FAILURE_ACTION_CONTINUE: _ClassVar[FailureAction]
    FAILURE_ACTION_FALLBACK: _ClassVar[FailureAction]

class JoinMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOIN_MODE_UNSPECIFIED: _ClassVar[JoinMode]
    JOIN_MODE_WAIT_FOR_ALL: _ClassVar[JoinMode]
    JOIN_MODE_QUORUM: _ClassVar[JoinMode]

class RemainingParents(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REMAINING_PARENTS_UNSPECIFIED: _ClassVar[RemainingParents]
    REMAINING_PARENTS_LET_FINISH: _ClassVar[RemainingParents]
    REMAINING_PARENTS_CANCEL: _ClassVar[RemainingParents]

class ConditionOperator(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONDITION_OPERATOR_UNSPECIFIED: _ClassVar[ConditionOperator]
    CONDITION_OPERATOR_EQUALS: _ClassVar[ConditionOperator]
    CONDITION_OPERATOR_NOT_EQUALS: _ClassVar[ConditionOperator]
    CONDITION_OPERATOR_IN: _ClassVar[ConditionOperator]
    CONDITION_OPERATOR_NOT_IN: _ClassVar[ConditionOperator]
    CONDITION_OPERATOR_EXISTS: _ClassVar[ConditionOperator]
    CONDITION_OPERATOR_NOT_EXISTS: _ClassVar[ConditionOperator]

class RunState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RUN_STATE_UNSPECIFIED: _ClassVar[RunState]
    RUN_STATE_RUNNING: _ClassVar[RunState]
    RUN_STATE_SUCCEEDED: _ClassVar[RunState]
    RUN_STATE_FAILED: _ClassVar[RunState]
    RUN_STATE_CANCELLED: _ClassVar[RunState]
    RUN_STATE_TIMED_OUT: _ClassVar[RunState]

class StepState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STEP_STATE_UNSPECIFIED: _ClassVar[StepState]
    STEP_STATE_WAITING: _ClassVar[StepState]
    STEP_STATE_WAITING_APPROVAL: _ClassVar[StepState]
    STEP_STATE_RUNNING: _ClassVar[StepState]
    STEP_STATE_SUCCEEDED: _ClassVar[StepState]
    STEP_STATE_FAILED: _ClassVar[StepState]
    STEP_STATE_SKIPPED: _ClassVar[StepState]
    STEP_STATE_CANCELLED: _ClassVar[StepState]

class EdgeState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EDGE_STATE_UNSPECIFIED: _ClassVar[EdgeState]
    EDGE_STATE_PENDING: _ClassVar[EdgeState]
    EDGE_STATE_TAKEN: _ClassVar[EdgeState]
    EDGE_STATE_NOT_TAKEN: _ClassVar[EdgeState]
    EDGE_STATE_FAILED: _ClassVar[EdgeState]

class RunEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RUN_EVENT_TYPE_UNSPECIFIED: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_RUN_STARTED: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_STEP_STARTED: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_STEP_WAITING_APPROVAL: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_STEP_APPROVED: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_STEP_REJECTED: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_STEP_SUCCEEDED: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_STEP_FAILED: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_STEP_SKIPPED: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_STEP_CANCELLED: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_RUN_SUCCEEDED: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_RUN_FAILED: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_RUN_CANCELLED: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_RUN_TIMED_OUT: _ClassVar[RunEventType]
FAILURE_ACTION_UNSPECIFIED: FailureAction
FAILURE_ACTION_FAIL_RUN: FailureAction
FAILURE_ACTION_CONTINUE: FailureAction
FAILURE_ACTION_FALLBACK: FailureAction
JOIN_MODE_UNSPECIFIED: JoinMode
JOIN_MODE_WAIT_FOR_ALL: JoinMode
JOIN_MODE_QUORUM: JoinMode
REMAINING_PARENTS_UNSPECIFIED: RemainingParents
REMAINING_PARENTS_LET_FINISH: RemainingParents
REMAINING_PARENTS_CANCEL: RemainingParents
CONDITION_OPERATOR_UNSPECIFIED: ConditionOperator
CONDITION_OPERATOR_EQUALS: ConditionOperator
CONDITION_OPERATOR_NOT_EQUALS: ConditionOperator
CONDITION_OPERATOR_IN: ConditionOperator
CONDITION_OPERATOR_NOT_IN: ConditionOperator
CONDITION_OPERATOR_EXISTS: ConditionOperator
CONDITION_OPERATOR_NOT_EXISTS: ConditionOperator
RUN_STATE_UNSPECIFIED: RunState
RUN_STATE_RUNNING: RunState
RUN_STATE_SUCCEEDED: RunState
RUN_STATE_FAILED: RunState
RUN_STATE_CANCELLED: RunState
RUN_STATE_TIMED_OUT: RunState
STEP_STATE_UNSPECIFIED: StepState
STEP_STATE_WAITING: StepState
STEP_STATE_WAITING_APPROVAL: StepState
STEP_STATE_RUNNING: StepState
STEP_STATE_SUCCEEDED: StepState
STEP_STATE_FAILED: StepState
STEP_STATE_SKIPPED: StepState
STEP_STATE_CANCELLED: StepState
EDGE_STATE_UNSPECIFIED: EdgeState
EDGE_STATE_PENDING: EdgeState
EDGE_STATE_TAKEN: EdgeState
EDGE_STATE_NOT_TAKEN: EdgeState
EDGE_STATE_FAILED: EdgeState
RUN_EVENT_TYPE_UNSPECIFIED: RunEventType
RUN_EVENT_TYPE_RUN_STARTED: RunEventType
RUN_EVENT_TYPE_STEP_STARTED: RunEventType
RUN_EVENT_TYPE_STEP_WAITING_APPROVAL: RunEventType
RUN_EVENT_TYPE_STEP_APPROVED: RunEventType
RUN_EVENT_TYPE_STEP_REJECTED: RunEventType
RUN_EVENT_TYPE_STEP_SUCCEEDED: RunEventType
RUN_EVENT_TYPE_STEP_FAILED: RunEventType
RUN_EVENT_TYPE_STEP_SKIPPED: RunEventType
RUN_EVENT_TYPE_STEP_CANCELLED: RunEventType
RUN_EVENT_TYPE_RUN_SUCCEEDED: RunEventType
RUN_EVENT_TYPE_RUN_FAILED: RunEventType
RUN_EVENT_TYPE_RUN_CANCELLED: RunEventType
RUN_EVENT_TYPE_RUN_TIMED_OUT: RunEventType

class Workflow(_message.Message):
    __slots__ = ("metadata", "spec")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    metadata: ResourceMetadata
    spec: WorkflowSpec
    def __init__(self, metadata: _Optional[_Union[ResourceMetadata, _Mapping]] = ..., spec: _Optional[_Union[WorkflowSpec, _Mapping]] = ...) -> None: ...

class ResourceMetadata(_message.Message):
    __slots__ = ("namespace", "name", "labels", "resource_version", "create_time", "update_time")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    labels: _containers.ScalarMap[str, str]
    resource_version: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., resource_version: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WorkflowSpec(_message.Message):
    __slots__ = ("description", "steps", "edges", "run_timeout")
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    EDGES_FIELD_NUMBER: _ClassVar[int]
    RUN_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    description: str
    steps: _containers.RepeatedCompositeFieldContainer[Step]
    edges: _containers.RepeatedCompositeFieldContainer[Edge]
    run_timeout: _duration_pb2.Duration
    def __init__(self, description: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[Step, _Mapping]]] = ..., edges: _Optional[_Iterable[_Union[Edge, _Mapping]]] = ..., run_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Step(_message.Message):
    __slots__ = ("name", "task_type", "queue", "input", "max_attempts", "retry_policy", "timeouts", "priority", "requires_approval", "on_failure", "join", "labels", "description")
    class InputEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    TIMEOUTS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_APPROVAL_FIELD_NUMBER: _ClassVar[int]
    ON_FAILURE_FIELD_NUMBER: _ClassVar[int]
    JOIN_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    task_type: str
    queue: str
    input: _containers.ScalarMap[str, str]
    max_attempts: int
    retry_policy: _task_pb2.RetryPolicy
    timeouts: _task_pb2.TaskTimeouts
    priority: int
    requires_approval: bool
    on_failure: FailureHandling
    join: Join
    labels: _containers.ScalarMap[str, str]
    description: str
    def __init__(self, name: _Optional[str] = ..., task_type: _Optional[str] = ..., queue: _Optional[str] = ..., input: _Optional[_Mapping[str, str]] = ..., max_attempts: _Optional[int] = ..., retry_policy: _Optional[_Union[_task_pb2.RetryPolicy, _Mapping]] = ..., timeouts: _Optional[_Union[_task_pb2.TaskTimeouts, _Mapping]] = ..., priority: _Optional[int] = ..., requires_approval: _Optional[bool] = ..., on_failure: _Optional[_Union[FailureHandling, _Mapping]] = ..., join: _Optional[_Union[Join, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., description: _Optional[str] = ...) -> None: ...

class FailureHandling(_message.Message):
    __slots__ = ("action", "fallback_step")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_STEP_FIELD_NUMBER: _ClassVar[int]
    action: FailureAction
    fallback_step: str
    def __init__(self, action: _Optional[_Union[FailureAction, str]] = ..., fallback_step: _Optional[str] = ...) -> None: ...

class Join(_message.Message):
    __slots__ = ("mode", "quorum_count", "quorum_percent", "remaining")
    MODE_FIELD_NUMBER: _ClassVar[int]
    QUORUM_COUNT_FIELD_NUMBER: _ClassVar[int]
    QUORUM_PERCENT_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    mode: JoinMode
    quorum_count: int
    quorum_percent: int
    remaining: RemainingParents
    def __init__(self, mode: _Optional[_Union[JoinMode, str]] = ..., quorum_count: _Optional[int] = ..., quorum_percent: _Optional[int] = ..., remaining: _Optional[_Union[RemainingParents, str]] = ...) -> None: ...

class Edge(_message.Message):
    __slots__ = ("from_step", "to_step", "label", "condition")
    FROM_STEP_FIELD_NUMBER: _ClassVar[int]
    TO_STEP_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    from_step: str
    to_step: str
    label: str
    condition: EdgeCondition
    def __init__(self, from_step: _Optional[str] = ..., to_step: _Optional[str] = ..., label: _Optional[str] = ..., condition: _Optional[_Union[EdgeCondition, _Mapping]] = ...) -> None: ...

class EdgeCondition(_message.Message):
    __slots__ = ("path", "operator", "value")
    PATH_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    path: str
    operator: ConditionOperator
    value: _struct_pb2.Value
    def __init__(self, path: _Optional[str] = ..., operator: _Optional[_Union[ConditionOperator, str]] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class Run(_message.Message):
    __slots__ = ("id", "namespace", "workflow", "workflow_version", "state", "input", "output", "steps", "terminal_reason", "idempotency_key", "labels", "trace_id", "create_time", "update_time", "end_time", "deadline", "spec")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_REASON_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    id: str
    namespace: str
    workflow: str
    workflow_version: str
    state: RunState
    input: _struct_pb2.Struct
    output: _struct_pb2.Struct
    steps: _containers.RepeatedCompositeFieldContainer[RunStep]
    terminal_reason: str
    idempotency_key: str
    labels: _containers.ScalarMap[str, str]
    trace_id: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    deadline: _timestamp_pb2.Timestamp
    spec: WorkflowSpec
    def __init__(self, id: _Optional[str] = ..., namespace: _Optional[str] = ..., workflow: _Optional[str] = ..., workflow_version: _Optional[str] = ..., state: _Optional[_Union[RunState, str]] = ..., input: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., output: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., steps: _Optional[_Iterable[_Union[RunStep, _Mapping]]] = ..., terminal_reason: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., trace_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., spec: _Optional[_Union[WorkflowSpec, _Mapping]] = ...) -> None: ...

class RunStep(_message.Message):
    __slots__ = ("name", "state", "task_id", "task_state", "output", "error", "reason", "join", "attempt", "attempts", "fallback_for", "approval", "start_time", "end_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_STATE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    JOIN_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FOR_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: StepState
    task_id: str
    task_state: _task_pb2.TaskState
    output: _struct_pb2.Struct
    error: _task_pb2.TaskError
    reason: str
    join: JoinState
    attempt: int
    attempts: _containers.RepeatedCompositeFieldContainer[_task_pb2.Attempt]
    fallback_for: str
    approval: StepApproval
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., state: _Optional[_Union[StepState, str]] = ..., task_id: _Optional[str] = ..., task_state: _Optional[_Union[_task_pb2.TaskState, str]] = ..., output: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., error: _Optional[_Union[_task_pb2.TaskError, _Mapping]] = ..., reason: _Optional[str] = ..., join: _Optional[_Union[JoinState, _Mapping]] = ..., attempt: _Optional[int] = ..., attempts: _Optional[_Iterable[_Union[_task_pb2.Attempt, _Mapping]]] = ..., fallback_for: _Optional[str] = ..., approval: _Optional[_Union[StepApproval, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class JoinState(_message.Message):
    __slots__ = ("mode", "required", "edges", "satisfied")
    MODE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    EDGES_FIELD_NUMBER: _ClassVar[int]
    SATISFIED_FIELD_NUMBER: _ClassVar[int]
    mode: JoinMode
    required: int
    edges: _containers.RepeatedCompositeFieldContainer[EdgeOutcome]
    satisfied: bool
    def __init__(self, mode: _Optional[_Union[JoinMode, str]] = ..., required: _Optional[int] = ..., edges: _Optional[_Iterable[_Union[EdgeOutcome, _Mapping]]] = ..., satisfied: _Optional[bool] = ...) -> None: ...

class EdgeOutcome(_message.Message):
    __slots__ = ("from_step", "label", "state")
    FROM_STEP_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    from_step: str
    label: str
    state: EdgeState
    def __init__(self, from_step: _Optional[str] = ..., label: _Optional[str] = ..., state: _Optional[_Union[EdgeState, str]] = ...) -> None: ...

class StepApproval(_message.Message):
    __slots__ = ("request_time", "decide_time", "approved", "decided_by", "comment")
    REQUEST_TIME_FIELD_NUMBER: _ClassVar[int]
    DECIDE_TIME_FIELD_NUMBER: _ClassVar[int]
    APPROVED_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    request_time: _timestamp_pb2.Timestamp
    decide_time: _timestamp_pb2.Timestamp
    approved: bool
    decided_by: str
    comment: str
    def __init__(self, request_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., decide_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., approved: _Optional[bool] = ..., decided_by: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class RunEvent(_message.Message):
    __slots__ = ("cursor", "type", "run", "step", "time")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    cursor: int
    type: RunEventType
    run: Run
    step: RunStep
    time: _timestamp_pb2.Timestamp
    def __init__(self, cursor: _Optional[int] = ..., type: _Optional[_Union[RunEventType, str]] = ..., run: _Optional[_Union[Run, _Mapping]] = ..., step: _Optional[_Union[RunStep, _Mapping]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
