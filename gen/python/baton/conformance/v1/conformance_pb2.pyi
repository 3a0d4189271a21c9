from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AdapterRequest(_message.Message):
    __slots__ = ("case_name", "server_url", "worker", "handlers")
    CASE_NAME_FIELD_NUMBER: _ClassVar[int]
    SERVER_URL_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    HANDLERS_FIELD_NUMBER: _ClassVar[int]
    case_name: str
    server_url: str
    worker: WorkerSettings
    handlers: _containers.RepeatedCompositeFieldContainer[HandlerBehavior]
    def __init__(self, case_name: _Optional[str] = ..., server_url: _Optional[str] = ..., worker: _Optional[_Union[WorkerSettings, _Mapping]] = ..., handlers: _Optional[_Iterable[_Union[HandlerBehavior, _Mapping]]] = ...) -> None: ...

class WorkerSettings(_message.Message):
    __slots__ = ("worker_id", "instance_id", "namespace", "queues", "slots", "stop_grace_ms")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    STOP_GRACE_MS_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    instance_id: str
    namespace: str
    queues: _containers.RepeatedScalarFieldContainer[str]
    slots: int
    stop_grace_ms: int
    def __init__(self, worker_id: _Optional[str] = ..., instance_id: _Optional[str] = ..., namespace: _Optional[str] = ..., queues: _Optional[_Iterable[str]] = ..., slots: _Optional[int] = ..., stop_grace_ms: _Optional[int] = ...) -> None: ...

class HandlerBehavior(_message.Message):
    __slots__ = ("task_type", "sleep_ms", "ignore_cancel", "heartbeat_every_ms", "extend_lease_ms", "succeed", "fail")
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    SLEEP_MS_FIELD_NUMBER: _ClassVar[int]
    IGNORE_CANCEL_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_EVERY_MS_FIELD_NUMBER: _ClassVar[int]
    EXTEND_LEASE_MS_FIELD_NUMBER: _ClassVar[int]
    SUCCEED_FIELD_NUMBER: _ClassVar[int]
    FAIL_FIELD_NUMBER: _ClassVar[int]
    task_type: str
    sleep_ms: int
    ignore_cancel: bool
    heartbeat_every_ms: int
    extend_lease_ms: int
    succeed: _struct_pb2.Struct
    fail: HandlerFailure
    def __init__(self, task_type: _Optional[str] = ..., sleep_ms: _Optional[int] = ..., ignore_cancel: _Optional[bool] = ..., heartbeat_every_ms: _Optional[int] = ..., extend_lease_ms: _Optional[int] = ..., succeed: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., fail: _Optional[_Union[HandlerFailure, _Mapping]] = ...) -> None: ...

class HandlerFailure(_message.Message):
    __slots__ = ("type", "message", "non_retryable", "retry_after_ms")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NON_RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    type: str
    message: str
    non_retryable: bool
    retry_after_ms: int
    def __init__(self, type: _Optional[str] = ..., message: _Optional[str] = ..., non_retryable: _Optional[bool] = ..., retry_after_ms: _Optional[int] = ...) -> None: ...

class AdapterEvent(_message.Message):
    __slots__ = ("case_name", "ready", "handler_started", "handler_finished", "handler_cancelled", "log")
    CASE_NAME_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    HANDLER_STARTED_FIELD_NUMBER: _ClassVar[int]
    HANDLER_FINISHED_FIELD_NUMBER: _ClassVar[int]
    HANDLER_CANCELLED_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    case_name: str
    ready: Ready
    handler_started: HandlerStarted
    handler_finished: HandlerFinished
    handler_cancelled: HandlerCancelled
    log: AdapterLog
    def __init__(self, case_name: _Optional[str] = ..., ready: _Optional[_Union[Ready, _Mapping]] = ..., handler_started: _Optional[_Union[HandlerStarted, _Mapping]] = ..., handler_finished: _Optional[_Union[HandlerFinished, _Mapping]] = ..., handler_cancelled: _Optional[_Union[HandlerCancelled, _Mapping]] = ..., log: _Optional[_Union[AdapterLog, _Mapping]] = ...) -> None: ...

class Ready(_message.Message):
    __slots__ = ("sdk",)
    SDK_FIELD_NUMBER: _ClassVar[int]
    sdk: str
    def __init__(self, sdk: _Optional[str] = ...) -> None: ...

class HandlerStarted(_message.Message):
    __slots__ = ("task_id", "lease_id", "attempt")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    lease_id: str
    attempt: int
    def __init__(self, task_id: _Optional[str] = ..., lease_id: _Optional[str] = ..., attempt: _Optional[int] = ...) -> None: ...

class HandlerFinished(_message.Message):
    __slots__ = ("task_id", "lease_id", "outcome")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    lease_id: str
    outcome: str
    def __init__(self, task_id: _Optional[str] = ..., lease_id: _Optional[str] = ..., outcome: _Optional[str] = ...) -> None: ...

class HandlerCancelled(_message.Message):
    __slots__ = ("task_id", "lease_id", "cause")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    lease_id: str
    cause: str
    def __init__(self, task_id: _Optional[str] = ..., lease_id: _Optional[str] = ..., cause: _Optional[str] = ...) -> None: ...

class AdapterLog(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: str
    def __init__(self, message: _Optional[str] = ...) -> None: ...

class Case(_message.Message):
    __slots__ = ("name", "description", "rules", "worker", "handlers", "server", "steps", "checks", "settle_ms", "timeout_ms")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    HANDLERS_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    SETTLE_MS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    rules: _containers.RepeatedScalarFieldContainer[str]
    worker: WorkerSettings
    handlers: _containers.RepeatedCompositeFieldContainer[HandlerBehavior]
    server: ServerSettings
    steps: _containers.RepeatedCompositeFieldContainer[Step]
    checks: _containers.RepeatedCompositeFieldContainer[Check]
    settle_ms: int
    timeout_ms: int
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., rules: _Optional[_Iterable[str]] = ..., worker: _Optional[_Union[WorkerSettings, _Mapping]] = ..., handlers: _Optional[_Iterable[_Union[HandlerBehavior, _Mapping]]] = ..., server: _Optional[_Union[ServerSettings, _Mapping]] = ..., steps: _Optional[_Iterable[_Union[Step, _Mapping]]] = ..., checks: _Optional[_Iterable[_Union[Check, _Mapping]]] = ..., settle_ms: _Optional[int] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class ServerSettings(_message.Message):
    __slots__ = ("heartbeat_interval_ms", "cancel_grace_ms", "features", "lease_ttl_ms", "welcome_delay_ms")
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    CANCEL_GRACE_MS_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    LEASE_TTL_MS_FIELD_NUMBER: _ClassVar[int]
    WELCOME_DELAY_MS_FIELD_NUMBER: _ClassVar[int]
    heartbeat_interval_ms: int
    cancel_grace_ms: int
    features: _containers.RepeatedScalarFieldContainer[str]
    lease_ttl_ms: int
    welcome_delay_ms: int
    def __init__(self, heartbeat_interval_ms: _Optional[int] = ..., cancel_grace_ms: _Optional[int] = ..., features: _Optional[_Iterable[str]] = ..., lease_ttl_ms: _Optional[int] = ..., welcome_delay_ms: _Optional[int] = ...) -> None: ...

class Step(_message.Message):
    __slots__ = ("wait", "sleep_ms", "assign", "cancel", "revoke", "go_away", "drop", "refuse", "answer", "welcome_delay_ms", "stop_worker")
    WAIT_FIELD_NUMBER: _ClassVar[int]
    SLEEP_MS_FIELD_NUMBER: _ClassVar[int]
    ASSIGN_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    REVOKE_FIELD_NUMBER: _ClassVar[int]
    GO_AWAY_FIELD_NUMBER: _ClassVar[int]
    DROP_FIELD_NUMBER: _ClassVar[int]
    REFUSE_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    WELCOME_DELAY_MS_FIELD_NUMBER: _ClassVar[int]
    STOP_WORKER_FIELD_NUMBER: _ClassVar[int]
    wait: Wait
    sleep_ms: int
    assign: Assign
    cancel: CancelTask
    revoke: str
    go_away: GoAway
    drop: Drop
    refuse: int
    answer: Answer
    welcome_delay_ms: int
    stop_worker: StopWorker
    def __init__(self, wait: _Optional[_Union[Wait, _Mapping]] = ..., sleep_ms: _Optional[int] = ..., assign: _Optional[_Union[Assign, _Mapping]] = ..., cancel: _Optional[_Union[CancelTask, _Mapping]] = ..., revoke: _Optional[str] = ..., go_away: _Optional[_Union[GoAway, _Mapping]] = ..., drop: _Optional[_Union[Drop, _Mapping]] = ..., refuse: _Optional[int] = ..., answer: _Optional[_Union[Answer, _Mapping]] = ..., welcome_delay_ms: _Optional[int] = ..., stop_worker: _Optional[_Union[StopWorker, _Mapping]] = ...) -> None: ...

class Wait(_message.Message):
    __slots__ = ("until", "count", "fresh", "timeout_ms")
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    FRESH_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    until: Match
    count: int
    fresh: bool
    timeout_ms: int
    def __init__(self, until: _Optional[_Union[Match, _Mapping]] = ..., count: _Optional[int] = ..., fresh: _Optional[bool] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class Assign(_message.Message):
    __slots__ = ("tasks", "type", "payload")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedScalarFieldContainer[str]
    type: str
    payload: _struct_pb2.Struct
    def __init__(self, tasks: _Optional[_Iterable[str]] = ..., type: _Optional[str] = ..., payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class CancelTask(_message.Message):
    __slots__ = ("task", "lease_lost", "reason")
    TASK_FIELD_NUMBER: _ClassVar[int]
    LEASE_LOST_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    task: str
    lease_lost: bool
    reason: str
    def __init__(self, task: _Optional[str] = ..., lease_lost: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class GoAway(_message.Message):
    __slots__ = ("reconnect_after_ms", "reason", "end_after_ms")
    RECONNECT_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    END_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    reconnect_after_ms: int
    reason: str
    end_after_ms: int
    def __init__(self, reconnect_after_ms: _Optional[int] = ..., reason: _Optional[str] = ..., end_after_ms: _Optional[int] = ...) -> None: ...

class Drop(_message.Message):
    __slots__ = ("error",)
    ERROR_FIELD_NUMBER: _ClassVar[int]
    error: bool
    def __init__(self, error: _Optional[bool] = ...) -> None: ...

class Answer(_message.Message):
    __slots__ = ("task", "lose", "delay_ms", "reject", "times")
    TASK_FIELD_NUMBER: _ClassVar[int]
    LOSE_FIELD_NUMBER: _ClassVar[int]
    DELAY_MS_FIELD_NUMBER: _ClassVar[int]
    REJECT_FIELD_NUMBER: _ClassVar[int]
    TIMES_FIELD_NUMBER: _ClassVar[int]
    task: str
    lose: bool
    delay_ms: int
    reject: str
    times: int
    def __init__(self, task: _Optional[str] = ..., lose: _Optional[bool] = ..., delay_ms: _Optional[int] = ..., reject: _Optional[str] = ..., times: _Optional[int] = ...) -> None: ...

class StopWorker(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Match(_message.Message):
    __slots__ = ("hello", "heartbeat", "result", "extend_lease", "drain", "credit", "welcome", "assign", "cancel", "ack", "go_away", "stream_open", "stream_end", "worker_closed", "handler_started", "handler_finished", "handler_cancelled", "worker_stopped", "nth")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    EXTEND_LEASE_FIELD_NUMBER: _ClassVar[int]
    DRAIN_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FIELD_NUMBER: _ClassVar[int]
    WELCOME_FIELD_NUMBER: _ClassVar[int]
    ASSIGN_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    GO_AWAY_FIELD_NUMBER: _ClassVar[int]
    STREAM_OPEN_FIELD_NUMBER: _ClassVar[int]
    STREAM_END_FIELD_NUMBER: _ClassVar[int]
    WORKER_CLOSED_FIELD_NUMBER: _ClassVar[int]
    HANDLER_STARTED_FIELD_NUMBER: _ClassVar[int]
    HANDLER_FINISHED_FIELD_NUMBER: _ClassVar[int]
    HANDLER_CANCELLED_FIELD_NUMBER: _ClassVar[int]
    WORKER_STOPPED_FIELD_NUMBER: _ClassVar[int]
    NTH_FIELD_NUMBER: _ClassVar[int]
    hello: Filter
    heartbeat: Filter
    result: Filter
    extend_lease: Filter
    drain: Filter
    credit: Filter
    welcome: Filter
    assign: Filter
    cancel: Filter
    ack: Filter
    go_away: Filter
    stream_open: Filter
    stream_end: Filter
    worker_closed: Filter
    handler_started: Filter
    handler_finished: Filter
    handler_cancelled: Filter
    worker_stopped: Filter
    nth: int
    def __init__(self, hello: _Optional[_Union[Filter, _Mapping]] = ..., heartbeat: _Optional[_Union[Filter, _Mapping]] = ..., result: _Optional[_Union[Filter, _Mapping]] = ..., extend_lease: _Optional[_Union[Filter, _Mapping]] = ..., drain: _Optional[_Union[Filter, _Mapping]] = ..., credit: _Optional[_Union[Filter, _Mapping]] = ..., welcome: _Optional[_Union[Filter, _Mapping]] = ..., assign: _Optional[_Union[Filter, _Mapping]] = ..., cancel: _Optional[_Union[Filter, _Mapping]] = ..., ack: _Optional[_Union[Filter, _Mapping]] = ..., go_away: _Optional[_Union[Filter, _Mapping]] = ..., stream_open: _Optional[_Union[Filter, _Mapping]] = ..., stream_end: _Optional[_Union[Filter, _Mapping]] = ..., worker_closed: _Optional[_Union[Filter, _Mapping]] = ..., handler_started: _Optional[_Union[Filter, _Mapping]] = ..., handler_finished: _Optional[_Union[Filter, _Mapping]] = ..., handler_cancelled: _Optional[_Union[Filter, _Mapping]] = ..., worker_stopped: _Optional[_Union[Filter, _Mapping]] = ..., nth: _Optional[int] = ...) -> None: ...

class Filter(_message.Message):
    __slots__ = ("task", "lease", "session", "completed")
    TASK_FIELD_NUMBER: _ClassVar[int]
    LEASE_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    task: str
    lease: int
    session: int
    completed: bool
    def __init__(self, task: _Optional[str] = ..., lease: _Optional[int] = ..., session: _Optional[int] = ..., completed: _Optional[bool] = ...) -> None: ...

class Window(_message.Message):
    __slots__ = ("after", "before")
    AFTER_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    after: Match
    before: Match
    def __init__(self, after: _Optional[_Union[Match, _Mapping]] = ..., before: _Optional[_Union[Match, _Mapping]] = ...) -> None: ...

class Check(_message.Message):
    __slots__ = ("rule", "says", "count", "order", "within", "heartbeats", "lease_alive", "concurrency", "backoff", "hello", "result", "resend", "handshake")
    RULE_FIELD_NUMBER: _ClassVar[int]
    SAYS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    WITHIN_FIELD_NUMBER: _ClassVar[int]
    HEARTBEATS_FIELD_NUMBER: _ClassVar[int]
    LEASE_ALIVE_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    BACKOFF_FIELD_NUMBER: _ClassVar[int]
    HELLO_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    RESEND_FIELD_NUMBER: _ClassVar[int]
    HANDSHAKE_FIELD_NUMBER: _ClassVar[int]
    rule: str
    says: str
    count: CountCheck
    order: OrderCheck
    within: WithinCheck
    heartbeats: HeartbeatCheck
    lease_alive: LeaseAliveCheck
    concurrency: ConcurrencyCheck
    backoff: BackoffCheck
    hello: HelloCheck
    result: ResultCheck
    resend: ResendCheck
    handshake: HandshakeCheck
    def __init__(self, rule: _Optional[str] = ..., says: _Optional[str] = ..., count: _Optional[_Union[CountCheck, _Mapping]] = ..., order: _Optional[_Union[OrderCheck, _Mapping]] = ..., within: _Optional[_Union[WithinCheck, _Mapping]] = ..., heartbeats: _Optional[_Union[HeartbeatCheck, _Mapping]] = ..., lease_alive: _Optional[_Union[LeaseAliveCheck, _Mapping]] = ..., concurrency: _Optional[_Union[ConcurrencyCheck, _Mapping]] = ..., backoff: _Optional[_Union[BackoffCheck, _Mapping]] = ..., hello: _Optional[_Union[HelloCheck, _Mapping]] = ..., result: _Optional[_Union[ResultCheck, _Mapping]] = ..., resend: _Optional[_Union[ResendCheck, _Mapping]] = ..., handshake: _Optional[_Union[HandshakeCheck, _Mapping]] = ...) -> None: ...

class CountCheck(_message.Message):
    __slots__ = ("match", "window", "min", "max")
    MATCH_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    match: Match
    window: Window
    min: int
    max: int
    def __init__(self, match: _Optional[_Union[Match, _Mapping]] = ..., window: _Optional[_Union[Window, _Mapping]] = ..., min: _Optional[int] = ..., max: _Optional[int] = ...) -> None: ...

class OrderCheck(_message.Message):
    __slots__ = ("first", "later")
    FIRST_FIELD_NUMBER: _ClassVar[int]
    LATER_FIELD_NUMBER: _ClassVar[int]
    first: Match
    later: Match
    def __init__(self, first: _Optional[_Union[Match, _Mapping]] = ..., later: _Optional[_Union[Match, _Mapping]] = ...) -> None: ...

class WithinCheck(_message.Message):
    __slots__ = ("after", "expect", "max_ms", "min_ms")
    AFTER_FIELD_NUMBER: _ClassVar[int]
    EXPECT_FIELD_NUMBER: _ClassVar[int]
    MAX_MS_FIELD_NUMBER: _ClassVar[int]
    MIN_MS_FIELD_NUMBER: _ClassVar[int]
    after: Match
    expect: Match
    max_ms: int
    min_ms: int
    def __init__(self, after: _Optional[_Union[Match, _Mapping]] = ..., expect: _Optional[_Union[Match, _Mapping]] = ..., max_ms: _Optional[int] = ..., min_ms: _Optional[int] = ...) -> None: ...

class HeartbeatCheck(_message.Message):
    __slots__ = ("max_gap_ms", "window", "min_count")
    MAX_GAP_MS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    MIN_COUNT_FIELD_NUMBER: _ClassVar[int]
    max_gap_ms: int
    window: Window
    min_count: int
    def __init__(self, max_gap_ms: _Optional[int] = ..., window: _Optional[_Union[Window, _Mapping]] = ..., min_count: _Optional[int] = ...) -> None: ...

class LeaseAliveCheck(_message.Message):
    __slots__ = ("task", "lease", "margin_ms")
    TASK_FIELD_NUMBER: _ClassVar[int]
    LEASE_FIELD_NUMBER: _ClassVar[int]
    MARGIN_MS_FIELD_NUMBER: _ClassVar[int]
    task: str
    lease: int
    margin_ms: int
    def __init__(self, task: _Optional[str] = ..., lease: _Optional[int] = ..., margin_ms: _Optional[int] = ...) -> None: ...

class ConcurrencyCheck(_message.Message):
    __slots__ = ("max", "min_peak")
    MAX_FIELD_NUMBER: _ClassVar[int]
    MIN_PEAK_FIELD_NUMBER: _ClassVar[int]
    max: int
    min_peak: int
    def __init__(self, max: _Optional[int] = ..., min_peak: _Optional[int] = ...) -> None: ...

class BackoffCheck(_message.Message):
    __slots__ = ("min_delays", "min_ms", "max_ms", "growth", "jitter")
    MIN_DELAYS_FIELD_NUMBER: _ClassVar[int]
    MIN_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_MS_FIELD_NUMBER: _ClassVar[int]
    GROWTH_FIELD_NUMBER: _ClassVar[int]
    JITTER_FIELD_NUMBER: _ClassVar[int]
    min_delays: int
    min_ms: int
    max_ms: int
    growth: float
    jitter: bool
    def __init__(self, min_delays: _Optional[int] = ..., min_ms: _Optional[int] = ..., max_ms: _Optional[int] = ..., growth: _Optional[float] = ..., jitter: _Optional[bool] = ...) -> None: ...

class HelloCheck(_message.Message):
    __slots__ = ("session", "queues", "slots", "worker_id", "task_types", "stable_instance_id", "resumes", "resumes_only")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPES_FIELD_NUMBER: _ClassVar[int]
    STABLE_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    RESUMES_FIELD_NUMBER: _ClassVar[int]
    RESUMES_ONLY_FIELD_NUMBER: _ClassVar[int]
    session: int
    queues: _containers.RepeatedScalarFieldContainer[str]
    slots: int
    worker_id: str
    task_types: _containers.RepeatedScalarFieldContainer[str]
    stable_instance_id: bool
    resumes: _containers.RepeatedCompositeFieldContainer[Filter]
    resumes_only: bool
    def __init__(self, session: _Optional[int] = ..., queues: _Optional[_Iterable[str]] = ..., slots: _Optional[int] = ..., worker_id: _Optional[str] = ..., task_types: _Optional[_Iterable[str]] = ..., stable_instance_id: _Optional[bool] = ..., resumes: _Optional[_Iterable[_Union[Filter, _Mapping]]] = ..., resumes_only: _Optional[bool] = ...) -> None: ...

class ResultCheck(_message.Message):
    __slots__ = ("task", "lease", "session", "completed", "failed")
    TASK_FIELD_NUMBER: _ClassVar[int]
    LEASE_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    task: str
    lease: int
    session: int
    completed: _struct_pb2.Struct
    failed: FailureExpectation
    def __init__(self, task: _Optional[str] = ..., lease: _Optional[int] = ..., session: _Optional[int] = ..., completed: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., failed: _Optional[_Union[FailureExpectation, _Mapping]] = ...) -> None: ...

class FailureExpectation(_message.Message):
    __slots__ = ("type", "non_retryable", "retry_after_ms")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NON_RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    type: str
    non_retryable: bool
    retry_after_ms: int
    def __init__(self, type: _Optional[str] = ..., non_retryable: _Optional[bool] = ..., retry_after_ms: _Optional[int] = ...) -> None: ...

class ResendCheck(_message.Message):
    __slots__ = ("task", "from_session", "to_session")
    TASK_FIELD_NUMBER: _ClassVar[int]
    FROM_SESSION_FIELD_NUMBER: _ClassVar[int]
    TO_SESSION_FIELD_NUMBER: _ClassVar[int]
    task: str
    from_session: int
    to_session: int
    def __init__(self, task: _Optional[str] = ..., from_session: _Optional[int] = ..., to_session: _Optional[int] = ...) -> None: ...

class HandshakeCheck(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
