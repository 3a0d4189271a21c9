from baton.v1 import contract_pb2 as _contract_pb2
from baton.v1 import workflow_pb2 as _workflow_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PutWorkflowRequest(_message.Message):
    __slots__ = ("workflow", "yaml", "validate_only")
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    YAML_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    workflow: _workflow_pb2.Workflow
    yaml: str
    validate_only: bool
    def __init__(self, workflow: _Optional[_Union[_workflow_pb2.Workflow, _Mapping]] = ..., yaml: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class PutWorkflowResponse(_message.Message):
    __slots__ = ("workflow", "created", "changed", "contract")
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    workflow: _workflow_pb2.Workflow
    created: bool
    changed: bool
    contract: _contract_pb2.AgentContract
    def __init__(self, workflow: _Optional[_Union[_workflow_pb2.Workflow, _Mapping]] = ..., created: _Optional[bool] = ..., changed: _Optional[bool] = ..., contract: _Optional[_Union[_contract_pb2.AgentContract, _Mapping]] = ...) -> None: ...

class GetWorkflowRequest(_message.Message):
    __slots__ = ("namespace", "name")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class GetWorkflowResponse(_message.Message):
    __slots__ = ("workflow", "contract")
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    workflow: _workflow_pb2.Workflow
    contract: _contract_pb2.AgentContract
    def __init__(self, workflow: _Optional[_Union[_workflow_pb2.Workflow, _Mapping]] = ..., contract: _Optional[_Union[_contract_pb2.AgentContract, _Mapping]] = ...) -> None: ...

class ListWorkflowsRequest(_message.Message):
    __slots__ = ("namespace", "page_size", "page_token")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    page_size: int
    page_token: str
    def __init__(self, namespace: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListWorkflowsResponse(_message.Message):
    __slots__ = ("workflows", "next_page_token", "contract")
    WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    workflows: _containers.RepeatedCompositeFieldContainer[_workflow_pb2.Workflow]
    next_page_token: str
    contract: _contract_pb2.AgentContract
    def __init__(self, workflows: _Optional[_Iterable[_Union[_workflow_pb2.Workflow, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., contract: _Optional[_Union[_contract_pb2.AgentContract, _Mapping]] = ...) -> None: ...

class DeleteWorkflowRequest(_message.Message):
    __slots__ = ("namespace", "name", "resource_version")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_VERSION_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    resource_version: str
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ..., resource_version: _Optional[str] = ...) -> None: ...

class DeleteWorkflowResponse(_message.Message):
    __slots__ = ("workflow", "contract")
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    workflow: _workflow_pb2.Workflow
    contract: _contract_pb2.AgentContract
    def __init__(self, workflow: _Optional[_Union[_workflow_pb2.Workflow, _Mapping]] = ..., contract: _Optional[_Union[_contract_pb2.AgentContract, _Mapping]] = ...) -> None: ...

class StartRunRequest(_message.Message):
    __slots__ = ("namespace", "workflow", "input", "idempotency_key", "labels", "workflow_version", "trace_id")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_VERSION_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    workflow: str
    input: _struct_pb2.Struct
    idempotency_key: str
    labels: _containers.ScalarMap[str, str]
    workflow_version: str
    trace_id: str
    def __init__(self, namespace: _Optional[str] = ..., workflow: _Optional[str] = ..., input: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., idempotency_key: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., workflow_version: _Optional[str] = ..., trace_id: _Optional[str] = ...) -> None: ...

class StartRunResponse(_message.Message):
    __slots__ = ("run", "created", "contract")
    RUN_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    run: _workflow_pb2.Run
    created: bool
    contract: _contract_pb2.AgentContract
    def __init__(self, run: _Optional[_Union[_workflow_pb2.Run, _Mapping]] = ..., created: _Optional[bool] = ..., contract: _Optional[_Union[_contract_pb2.AgentContract, _Mapping]] = ...) -> None: ...

class GetRunRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetRunResponse(_message.Message):
    __slots__ = ("run", "contract")
    RUN_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    run: _workflow_pb2.Run
    contract: _contract_pb2.AgentContract
    def __init__(self, run: _Optional[_Union[_workflow_pb2.Run, _Mapping]] = ..., contract: _Optional[_Union[_contract_pb2.AgentContract, _Mapping]] = ...) -> None: ...

class ListRunsRequest(_message.Message):
    __slots__ = ("namespace", "workflow", "states", "page_size", "page_token")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    workflow: str
    states: _containers.RepeatedScalarFieldContainer[_workflow_pb2.RunState]
    page_size: int
    page_token: str
    def __init__(self, namespace: _Optional[str] = ..., workflow: _Optional[str] = ..., states: _Optional[_Iterable[_Union[_workflow_pb2.RunState, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRunsResponse(_message.Message):
    __slots__ = ("runs", "next_page_token", "contract")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[_workflow_pb2.Run]
    next_page_token: str
    contract: _contract_pb2.AgentContract
    def __init__(self, runs: _Optional[_Iterable[_Union[_workflow_pb2.Run, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., contract: _Optional[_Union[_contract_pb2.AgentContract, _Mapping]] = ...) -> None: ...

class CancelRunRequest(_message.Message):
    __slots__ = ("id", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    reason: str
    def __init__(self, id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelRunResponse(_message.Message):
    __slots__ = ("run", "contract")
    RUN_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    run: _workflow_pb2.Run
    contract: _contract_pb2.AgentContract
    def __init__(self, run: _Optional[_Union[_workflow_pb2.Run, _Mapping]] = ..., contract: _Optional[_Union[_contract_pb2.AgentContract, _Mapping]] = ...) -> None: ...

class ApproveStepRequest(_message.Message):
    __slots__ = ("run_id", "step", "approver", "comment")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    APPROVER_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    step: str
    approver: str
    comment: str
    def __init__(self, run_id: _Optional[str] = ..., step: _Optional[str] = ..., approver: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class ApproveStepResponse(_message.Message):
    __slots__ = ("run", "contract")
    RUN_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    run: _workflow_pb2.Run
    contract: _contract_pb2.AgentContract
    def __init__(self, run: _Optional[_Union[_workflow_pb2.Run, _Mapping]] = ..., contract: _Optional[_Union[_contract_pb2.AgentContract, _Mapping]] = ...) -> None: ...

class RejectStepRequest(_message.Message):
    __slots__ = ("run_id", "step", "approver", "reason")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    APPROVER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    step: str
    approver: str
    reason: str
    def __init__(self, run_id: _Optional[str] = ..., step: _Optional[str] = ..., approver: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RejectStepResponse(_message.Message):
    __slots__ = ("run", "contract")
    RUN_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    run: _workflow_pb2.Run
    contract: _contract_pb2.AgentContract
    def __init__(self, run: _Optional[_Union[_workflow_pb2.Run, _Mapping]] = ..., contract: _Optional[_Union[_contract_pb2.AgentContract, _Mapping]] = ...) -> None: ...

class WatchRunRequest(_message.Message):
    __slots__ = ("namespace", "run_id", "workflow", "after_cursor")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    AFTER_CURSOR_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    run_id: str
    workflow: str
    after_cursor: int
    def __init__(self, namespace: _Optional[str] = ..., run_id: _Optional[str] = ..., workflow: _Optional[str] = ..., after_cursor: _Optional[int] = ...) -> None: ...

class WatchRunResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: _workflow_pb2.RunEvent
    def __init__(self, event: _Optional[_Union[_workflow_pb2.RunEvent, _Mapping]] = ...) -> None: ...
