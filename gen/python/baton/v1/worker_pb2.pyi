import datetime

from baton.v1 import contract_pb2 as _contract_pb2
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

class WorkerHealth(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WORKER_HEALTH_UNSPECIFIED: _ClassVar[WorkerHealth]
    WORKER_HEALTH_HEALTHY: _ClassVar[WorkerHealth]
    WORKER_HEALTH_STALE: _ClassVar[WorkerHealth]
    WORKER_HEALTH_DRAINING: _ClassVar[WorkerHealth]
WORKER_HEALTH_UNSPECIFIED: WorkerHealth
WORKER_HEALTH_HEALTHY: WorkerHealth
WORKER_HEALTH_STALE: WorkerHealth
WORKER_HEALTH_DRAINING: WorkerHealth

class Hello(_message.Message):
    __slots__ = ("namespace", "queues", "task_types", "worker_id", "instance_id", "labels", "slots", "resume_leases", "sdk")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPES_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    RESUME_LEASES_FIELD_NUMBER: _ClassVar[int]
    SDK_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    queues: _containers.RepeatedScalarFieldContainer[str]
    task_types: _containers.RepeatedScalarFieldContainer[str]
    worker_id: str
    instance_id: str
    labels: _containers.ScalarMap[str, str]
    slots: int
    resume_leases: _containers.RepeatedCompositeFieldContainer[LeaseRef]
    sdk: str
    def __init__(self, namespace: _Optional[str] = ..., queues: _Optional[_Iterable[str]] = ..., task_types: _Optional[_Iterable[str]] = ..., worker_id: _Optional[str] = ..., instance_id: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., slots: _Optional[int] = ..., resume_leases: _Optional[_Iterable[_Union[LeaseRef, _Mapping]]] = ..., sdk: _Optional[str] = ...) -> None: ...

class LeaseRef(_message.Message):
    __slots__ = ("task_id", "lease_id")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    lease_id: str
    def __init__(self, task_id: _Optional[str] = ..., lease_id: _Optional[str] = ...) -> None: ...

class Credit(_message.Message):
    __slots__ = ("slots",)
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    slots: int
    def __init__(self, slots: _Optional[int] = ...) -> None: ...

class WorkerHeartbeat(_message.Message):
    __slots__ = ("leases",)
    LEASES_FIELD_NUMBER: _ClassVar[int]
    leases: _containers.RepeatedCompositeFieldContainer[LeaseRef]
    def __init__(self, leases: _Optional[_Iterable[_Union[LeaseRef, _Mapping]]] = ...) -> None: ...

class Result(_message.Message):
    __slots__ = ("task_id", "lease_id", "completed", "failed")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    lease_id: str
    completed: _struct_pb2.Struct
    failed: Failure
    def __init__(self, task_id: _Optional[str] = ..., lease_id: _Optional[str] = ..., completed: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., failed: _Optional[_Union[Failure, _Mapping]] = ...) -> None: ...

class Failure(_message.Message):
    __slots__ = ("error", "retry_after")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_FIELD_NUMBER: _ClassVar[int]
    error: _task_pb2.TaskError
    retry_after: _duration_pb2.Duration
    def __init__(self, error: _Optional[_Union[_task_pb2.TaskError, _Mapping]] = ..., retry_after: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ExtendLease(_message.Message):
    __slots__ = ("task_id", "lease_id", "extend_by")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    EXTEND_BY_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    lease_id: str
    extend_by: _duration_pb2.Duration
    def __init__(self, task_id: _Optional[str] = ..., lease_id: _Optional[str] = ..., extend_by: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Drain(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Welcome(_message.Message):
    __slots__ = ("session_id", "heartbeat_interval", "cancel_grace", "server_version", "features", "resumed", "lost", "replica_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    CANCEL_GRACE_FIELD_NUMBER: _ClassVar[int]
    SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    RESUMED_FIELD_NUMBER: _ClassVar[int]
    LOST_FIELD_NUMBER: _ClassVar[int]
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    heartbeat_interval: _duration_pb2.Duration
    cancel_grace: _duration_pb2.Duration
    server_version: str
    features: _containers.RepeatedScalarFieldContainer[str]
    resumed: _containers.RepeatedCompositeFieldContainer[LeaseRef]
    lost: _containers.RepeatedCompositeFieldContainer[LeaseRef]
    replica_id: str
    def __init__(self, session_id: _Optional[str] = ..., heartbeat_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., cancel_grace: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., server_version: _Optional[str] = ..., features: _Optional[_Iterable[str]] = ..., resumed: _Optional[_Iterable[_Union[LeaseRef, _Mapping]]] = ..., lost: _Optional[_Iterable[_Union[LeaseRef, _Mapping]]] = ..., replica_id: _Optional[str] = ...) -> None: ...

class Assign(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: _task_pb2.Task
    def __init__(self, task: _Optional[_Union[_task_pb2.Task, _Mapping]] = ...) -> None: ...

class Cancel(_message.Message):
    __slots__ = ("task_id", "lease_id", "reason", "lease_lost")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    LEASE_LOST_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    lease_id: str
    reason: str
    lease_lost: bool
    def __init__(self, task_id: _Optional[str] = ..., lease_id: _Optional[str] = ..., reason: _Optional[str] = ..., lease_lost: _Optional[bool] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ("task_id", "lease_id", "accepted", "task_state", "lease_expire_time", "error", "contract")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    TASK_STATE_FIELD_NUMBER: _ClassVar[int]
    LEASE_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    lease_id: str
    accepted: bool
    task_state: _task_pb2.TaskState
    lease_expire_time: _timestamp_pb2.Timestamp
    error: _contract_pb2.ErrorDetail
    contract: _contract_pb2.AgentContract
    def __init__(self, task_id: _Optional[str] = ..., lease_id: _Optional[str] = ..., accepted: _Optional[bool] = ..., task_state: _Optional[_Union[_task_pb2.TaskState, str]] = ..., lease_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., error: _Optional[_Union[_contract_pb2.ErrorDetail, _Mapping]] = ..., contract: _Optional[_Union[_contract_pb2.AgentContract, _Mapping]] = ...) -> None: ...

class GoAway(_message.Message):
    __slots__ = ("reason", "reconnect_after")
    REASON_FIELD_NUMBER: _ClassVar[int]
    RECONNECT_AFTER_FIELD_NUMBER: _ClassVar[int]
    reason: str
    reconnect_after: _duration_pb2.Duration
    def __init__(self, reason: _Optional[str] = ..., reconnect_after: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class WorkerInfo(_message.Message):
    __slots__ = ("session_id", "worker_id", "instance_id", "namespace", "queues", "task_types", "labels", "slots", "slots_used", "connect_time", "last_heartbeat_time", "replica_id", "health", "transport", "sdk")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPES_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    SLOTS_USED_FIELD_NUMBER: _ClassVar[int]
    CONNECT_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_TIME_FIELD_NUMBER: _ClassVar[int]
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    TRANSPORT_FIELD_NUMBER: _ClassVar[int]
    SDK_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    worker_id: str
    instance_id: str
    namespace: str
    queues: _containers.RepeatedScalarFieldContainer[str]
    task_types: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.ScalarMap[str, str]
    slots: int
    slots_used: int
    connect_time: _timestamp_pb2.Timestamp
    last_heartbeat_time: _timestamp_pb2.Timestamp
    replica_id: str
    health: WorkerHealth
    transport: str
    sdk: str
    def __init__(self, session_id: _Optional[str] = ..., worker_id: _Optional[str] = ..., instance_id: _Optional[str] = ..., namespace: _Optional[str] = ..., queues: _Optional[_Iterable[str]] = ..., task_types: _Optional[_Iterable[str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., slots: _Optional[int] = ..., slots_used: _Optional[int] = ..., connect_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_heartbeat_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., replica_id: _Optional[str] = ..., health: _Optional[_Union[WorkerHealth, str]] = ..., transport: _Optional[str] = ..., sdk: _Optional[str] = ...) -> None: ...
