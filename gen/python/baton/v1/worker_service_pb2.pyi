from baton.v1 import contract_pb2 as _contract_pb2
from baton.v1 import worker_pb2 as _worker_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConnectRequest(_message.Message):
    __slots__ = ("hello", "credit", "heartbeat", "result", "extend_lease", "drain")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    EXTEND_LEASE_FIELD_NUMBER: _ClassVar[int]
    DRAIN_FIELD_NUMBER: _ClassVar[int]
    hello: _worker_pb2.Hello
    credit: _worker_pb2.Credit
    heartbeat: _worker_pb2.WorkerHeartbeat
    result: _worker_pb2.Result
    extend_lease: _worker_pb2.ExtendLease
    drain: _worker_pb2.Drain
    def __init__(self, hello: _Optional[_Union[_worker_pb2.Hello, _Mapping]] = ..., credit: _Optional[_Union[_worker_pb2.Credit, _Mapping]] = ..., heartbeat: _Optional[_Union[_worker_pb2.WorkerHeartbeat, _Mapping]] = ..., result: _Optional[_Union[_worker_pb2.Result, _Mapping]] = ..., extend_lease: _Optional[_Union[_worker_pb2.ExtendLease, _Mapping]] = ..., drain: _Optional[_Union[_worker_pb2.Drain, _Mapping]] = ...) -> None: ...

class ConnectResponse(_message.Message):
    __slots__ = ("welcome", "assign", "cancel", "ack", "go_away")
    WELCOME_FIELD_NUMBER: _ClassVar[int]
    ASSIGN_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    GO_AWAY_FIELD_NUMBER: _ClassVar[int]
    welcome: _worker_pb2.Welcome
    assign: _worker_pb2.Assign
    cancel: _worker_pb2.Cancel
    ack: _worker_pb2.Ack
    go_away: _worker_pb2.GoAway
    def __init__(self, welcome: _Optional[_Union[_worker_pb2.Welcome, _Mapping]] = ..., assign: _Optional[_Union[_worker_pb2.Assign, _Mapping]] = ..., cancel: _Optional[_Union[_worker_pb2.Cancel, _Mapping]] = ..., ack: _Optional[_Union[_worker_pb2.Ack, _Mapping]] = ..., go_away: _Optional[_Union[_worker_pb2.GoAway, _Mapping]] = ...) -> None: ...

class ListenRequest(_message.Message):
    __slots__ = ("hello",)
    HELLO_FIELD_NUMBER: _ClassVar[int]
    hello: _worker_pb2.Hello
    def __init__(self, hello: _Optional[_Union[_worker_pb2.Hello, _Mapping]] = ...) -> None: ...

class ListenResponse(_message.Message):
    __slots__ = ("welcome", "assign", "cancel", "go_away")
    WELCOME_FIELD_NUMBER: _ClassVar[int]
    ASSIGN_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    GO_AWAY_FIELD_NUMBER: _ClassVar[int]
    welcome: _worker_pb2.Welcome
    assign: _worker_pb2.Assign
    cancel: _worker_pb2.Cancel
    go_away: _worker_pb2.GoAway
    def __init__(self, welcome: _Optional[_Union[_worker_pb2.Welcome, _Mapping]] = ..., assign: _Optional[_Union[_worker_pb2.Assign, _Mapping]] = ..., cancel: _Optional[_Union[_worker_pb2.Cancel, _Mapping]] = ..., go_away: _Optional[_Union[_worker_pb2.GoAway, _Mapping]] = ...) -> None: ...

class ListWorkersRequest(_message.Message):
    __slots__ = ("namespace", "queue")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    queue: str
    def __init__(self, namespace: _Optional[str] = ..., queue: _Optional[str] = ...) -> None: ...

class ListWorkersResponse(_message.Message):
    __slots__ = ("workers", "contract")
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    workers: _containers.RepeatedCompositeFieldContainer[_worker_pb2.WorkerInfo]
    contract: _contract_pb2.AgentContract
    def __init__(self, workers: _Optional[_Iterable[_Union[_worker_pb2.WorkerInfo, _Mapping]]] = ..., contract: _Optional[_Union[_contract_pb2.AgentContract, _Mapping]] = ...) -> None: ...

class GetWorkerRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class GetWorkerResponse(_message.Message):
    __slots__ = ("worker", "contract")
    WORKER_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    worker: _worker_pb2.WorkerInfo
    contract: _contract_pb2.AgentContract
    def __init__(self, worker: _Optional[_Union[_worker_pb2.WorkerInfo, _Mapping]] = ..., contract: _Optional[_Union[_contract_pb2.AgentContract, _Mapping]] = ...) -> None: ...
