"""The generated Python code (gen/python) imports, round-trips messages and serves Connect.

Run through scripts/test-gen.sh, or: .venv/bin/pytest test/gen/python
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import google.protobuf
import pytest
from google.protobuf import json_format, runtime_version, struct_pb2, timestamp_pb2

from baton.v1 import contract_pb2, task_pb2, task_service_pb2
from baton.v1.task_service_connect import (
    TaskService,
    TaskServiceASGIApplication,
    TaskServiceClient,
    TaskServiceClientSync,
    TaskServiceSync,
    TaskServiceWSGIApplication,
)

GEN_PYTHON = Path(__file__).resolve().parents[3] / "gen" / "python"

# TaskService's RPCs in proto order, and the Python method names Connect gives them.
RPCS = [
    "CreateTask",
    "BatchCreateTasks",
    "GetTask",
    "ListTasks",
    "CancelTask",
    "RequeueTask",
    "ClaimTasks",
    "Heartbeat",
    "CompleteTask",
    "FailTask",
    "WatchTasks",
]
METHODS = [
    "create_task",
    "batch_create_tasks",
    "get_task",
    "list_tasks",
    "cancel_task",
    "requeue_task",
    "claim_tasks",
    "heartbeat",
    "complete_task",
    "fail_task",
    "watch_tasks",
]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _sample_task() -> task_pb2.Task:
    payload = struct_pb2.Struct()
    payload.update(
        {
            "to": "ada@example.com",
            "attempt": 3,
            "urgent": True,
            "tags": ["a", "b"],
            "meta": {"nested": None},
        }
    )
    return task_pb2.Task(
        id="0193a1b2-0000-7000-8000-000000000001",
        namespace="default",
        queue="email",
        type="email.send",
        payload=payload,
        priority=10,
        state=task_pb2.TASK_STATE_PENDING,
        max_attempts=5,
        scheduled_time=timestamp_pb2.Timestamp(seconds=1_700_000_000, nanos=5),
        labels={"team": "growth"},
    )


def test_gencode_matches_runtime() -> None:
    """The protoc that made *_pb2.py is compatible with the installed protobuf runtime."""
    header = (GEN_PYTHON / "baton" / "v1" / "task_pb2.py").read_text()
    found = re.search(r"^# Protobuf Python Version: (\d+)\.(\d+)\.(\d+)$", header, re.M)
    assert found, "gencode has no 'Protobuf Python Version' line"
    gencode = tuple(int(part) for part in found.groups())
    runtime = (runtime_version.MAJOR, runtime_version.MINOR, runtime_version.PATCH)
    # https://protobuf.dev/support/cross-version-runtime-guarantee: same major, runtime >= gencode.
    assert gencode[0] == runtime[0], (gencode, google.protobuf.__version__)
    assert runtime >= gencode, (gencode, google.protobuf.__version__)


def test_task_binary_round_trip() -> None:
    task = _sample_task()
    data = task.SerializeToString(deterministic=True)
    parsed = task_pb2.Task.FromString(data)
    assert parsed == task
    assert parsed.payload["to"] == "ada@example.com"
    assert parsed.payload["attempt"] == 3
    tags = parsed.payload["tags"]
    assert isinstance(tags, struct_pb2.ListValue)
    assert list(tags) == ["a", "b"]
    assert parsed.labels["team"] == "growth"
    assert parsed.state == task_pb2.TASK_STATE_PENDING
    assert parsed.SerializeToString(deterministic=True) == data


def test_task_json_round_trip() -> None:
    task = _sample_task()
    as_json = json_format.MessageToDict(task)
    assert as_json["payload"]["tags"] == ["a", "b"]
    assert as_json["state"] == "TASK_STATE_PENDING"
    assert as_json["scheduledTime"] == "2023-11-14T22:13:20.000000005Z"
    assert json_format.ParseDict(as_json, task_pb2.Task()) == task


def test_cross_file_messages() -> None:
    response = task_service_pb2.GetTaskResponse(
        task=_sample_task(),
        contract=contract_pb2.AgentContract(
            resource="task/0193a1b2-0000-7000-8000-000000000001",
            state="PENDING",
            next_actions=[
                contract_pb2.NextAction(
                    rpc="baton.v1.TaskService/CancelTask",
                    http_path="/baton.v1.TaskService/CancelTask",
                )
            ],
        ),
    )
    parsed = task_service_pb2.GetTaskResponse.FromString(response.SerializeToString())
    assert parsed == response
    assert parsed.task.payload["urgent"] is True


def test_service_descriptor() -> None:
    service = task_service_pb2.DESCRIPTOR.services_by_name["TaskService"]
    assert service.full_name == "baton.v1.TaskService"
    assert [m.name for m in service.methods] == RPCS
    assert [_snake(m.name) for m in service.methods] == METHODS


@pytest.mark.parametrize(
    "cls",
    [TaskServiceClient, TaskServiceClientSync, TaskService, TaskServiceSync],
    ids=lambda cls: cls.__name__,
)
def test_connect_classes_have_every_rpc(cls: type) -> None:
    for method in METHODS:
        assert callable(getattr(cls, method, None)), f"{cls.__name__}.{method} is missing"


def test_connect_applications_build() -> None:
    class Sync(TaskServiceSync):
        pass

    class Async(TaskService):
        pass

    assert TaskServiceWSGIApplication(Sync()).path == "/baton.v1.TaskService"
    assert TaskServiceASGIApplication(Async()).path == "/baton.v1.TaskService"


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _FakeTaskService(TaskServiceSync):
    """GetTask answers a fixed task; every other RPC is left UNIMPLEMENTED."""

    def get_task(
        self, request: task_service_pb2.GetTaskRequest, ctx: Any, /
    ) -> task_service_pb2.GetTaskResponse:
        task = _sample_task()
        task.id = request.id
        return task_service_pb2.GetTaskResponse(
            task=task, contract=contract_pb2.AgentContract(resource=f"task/{request.id}")
        )


@pytest.fixture
def server_url() -> Iterator[str]:
    """Serves the generated WSGI application on a loopback port for one test."""
    app = TaskServiceWSGIApplication(_FakeTaskService())
    server: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def test_connect_round_trip_over_loopback(server_url: str) -> None:
    from connectrpc.code import Code
    from connectrpc.errors import ConnectError

    client = TaskServiceClientSync(server_url, timeout_ms=5000)
    response = client.get_task(task_service_pb2.GetTaskRequest(id="t-1"))
    assert response.task.id == "t-1"
    assert response.task.payload["to"] == "ada@example.com"
    assert response.contract.resource == "task/t-1"

    with pytest.raises(ConnectError) as raised:
        client.cancel_task(task_service_pb2.CancelTaskRequest(id="t-1"))
    assert raised.value.code == Code.UNIMPLEMENTED
