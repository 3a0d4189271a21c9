import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_REASON_UNSPECIFIED: _ClassVar[ErrorReason]
    INVALID_FIELD: _ClassVar[ErrorReason]
    MALFORMED_REQUEST: _ClassVar[ErrorReason]
    MESSAGE_TOO_LARGE: _ClassVar[ErrorReason]
    TASK_NOT_FOUND: _ClassVar[ErrorReason]
    LEASE_STALE: _ClassVar[ErrorReason]
    CANCEL_REQUESTED: _ClassVar[ErrorReason]
    INVALID_STATE: _ClassVar[ErrorReason]
    IDEMPOTENCY_KEY_REUSED: _ClassVar[ErrorReason]
    STORAGE_UNAVAILABLE: _ClassVar[ErrorReason]
    WORKFLOW_NOT_FOUND: _ClassVar[ErrorReason]
    RUN_NOT_FOUND: _ClassVar[ErrorReason]
    STEP_NOT_FOUND: _ClassVar[ErrorReason]
    WORKER_NOT_FOUND: _ClassVar[ErrorReason]
    RESOURCE_VERSION_STALE: _ClassVar[ErrorReason]
    UNKNOWN_TOOL: _ClassVar[ErrorReason]
    INTERNAL: _ClassVar[ErrorReason]
    UNIMPLEMENTED: _ClassVar[ErrorReason]
    CANCELED: _ClassVar[ErrorReason]
    DEADLINE_EXCEEDED: _ClassVar[ErrorReason]
    UNSUPPORTED_MEDIA_TYPE: _ClassVar[ErrorReason]
    PROTOCOL_VIOLATION: _ClassVar[ErrorReason]
    UNAVAILABLE: _ClassVar[ErrorReason]
    UNKNOWN: _ClassVar[ErrorReason]
    RESULT_REFUSED: _ClassVar[ErrorReason]
ERROR_REASON_UNSPECIFIED: ErrorReason
INVALID_FIELD: ErrorReason
MALFORMED_REQUEST: ErrorReason
MESSAGE_TOO_LARGE: ErrorReason
TASK_NOT_FOUND: ErrorReason
LEASE_STALE: ErrorReason
CANCEL_REQUESTED: ErrorReason
INVALID_STATE: ErrorReason
IDEMPOTENCY_KEY_REUSED: ErrorReason
STORAGE_UNAVAILABLE: ErrorReason
WORKFLOW_NOT_FOUND: ErrorReason
RUN_NOT_FOUND: ErrorReason
STEP_NOT_FOUND: ErrorReason
WORKER_NOT_FOUND: ErrorReason
RESOURCE_VERSION_STALE: ErrorReason
UNKNOWN_TOOL: ErrorReason
INTERNAL: ErrorReason
UNIMPLEMENTED: ErrorReason
CANCELED: ErrorReason
DEADLINE_EXCEEDED: ErrorReason
UNSUPPORTED_MEDIA_TYPE: ErrorReason
PROTOCOL_VIOLATION: ErrorReason
UNAVAILABLE: ErrorReason
UNKNOWN: ErrorReason
RESULT_REFUSED: ErrorReason

class AgentContract(_message.Message):
    __slots__ = ("resource", "state", "next_actions", "recovery")
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    NEXT_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    RECOVERY_FIELD_NUMBER: _ClassVar[int]
    resource: str
    state: str
    next_actions: _containers.RepeatedCompositeFieldContainer[NextAction]
    recovery: Recovery
    def __init__(self, resource: _Optional[str] = ..., state: _Optional[str] = ..., next_actions: _Optional[_Iterable[_Union[NextAction, _Mapping]]] = ..., recovery: _Optional[_Union[Recovery, _Mapping]] = ...) -> None: ...

class NextAction(_message.Message):
    __slots__ = ("rpc", "http_path", "purpose", "deadline")
    RPC_FIELD_NUMBER: _ClassVar[int]
    HTTP_PATH_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    rpc: str
    http_path: str
    purpose: str
    deadline: _timestamp_pb2.Timestamp
    def __init__(self, rpc: _Optional[str] = ..., http_path: _Optional[str] = ..., purpose: _Optional[str] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Recovery(_message.Message):
    __slots__ = ("retryable", "retry_after", "guidance")
    RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_FIELD_NUMBER: _ClassVar[int]
    GUIDANCE_FIELD_NUMBER: _ClassVar[int]
    retryable: bool
    retry_after: _duration_pb2.Duration
    guidance: str
    def __init__(self, retryable: _Optional[bool] = ..., retry_after: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., guidance: _Optional[str] = ...) -> None: ...

class ErrorDetail(_message.Message):
    __slots__ = ("reason", "message", "field_violations", "contract")
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIELD_VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    reason: str
    message: str
    field_violations: _containers.RepeatedCompositeFieldContainer[FieldViolation]
    contract: AgentContract
    def __init__(self, reason: _Optional[str] = ..., message: _Optional[str] = ..., field_violations: _Optional[_Iterable[_Union[FieldViolation, _Mapping]]] = ..., contract: _Optional[_Union[AgentContract, _Mapping]] = ...) -> None: ...

class FieldViolation(_message.Message):
    __slots__ = ("field", "description")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    field: str
    description: str
    def __init__(self, field: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...
