"""WorkflowClient against a real Baton server: definitions, runs completed by a
Python worker, approvals, cancellation, run events and typed errors."""

from __future__ import annotations

import uuid
from contextlib import aclosing
from typing import Any

import pytest
from conftest import BatonServer

from baton import (
    BackoffOptions,
    BatonError,
    Code,
    ErrorReason,
    RunEvent,
    RunEventType,
    RunState,
    StepState,
    Task,
    TaskContext,
    Worker,
    WorkflowClient,
)
from baton.v1 import contract_pb2


def flow_yaml(name: str, queue: str, *, approve_b: bool = True, approve_a: bool = False) -> str:
    return f"""kind: Workflow
metadata: {{name: {name}}}
spec:
  steps:
    - {{name: a, task_type: py.step, queue: {queue}, requires_approval: {str(approve_a).lower()}}}
    - {{name: b, task_type: py.step, queue: {queue}, requires_approval: {str(approve_b).lower()}}}
  edges:
    - {{from: a, to: b}}
"""


def step_worker(address: str, queue: str, seen: list[str]) -> Worker:
    worker = Worker(
        address,
        queues=[queue],
        worker_id="py-wf",
        handle_signals=False,
        reconnect=BackoffOptions(floor=0.1, cap=0.5),
    )

    @worker.handler("py.step")
    async def step(task: Task, ctx: TaskContext) -> dict[str, Any]:
        seen.append(task.id)
        return {"done": task.id}

    return worker


def name_for(queue: str) -> str:
    return f"flow-{uuid.uuid4().hex[:10]}"


async def events_until(wf: WorkflowClient, run_id: str, stop: set[int] | None = None) -> list[RunEvent]:
    """The run's events from its first, up to the end (or the first of ``stop``)."""
    out: list[RunEvent] = []
    async with aclosing(wf.watch_run(run_id)) as events:
        async for event in events:
            out.append(event)
            if stop is not None and event.type in stop:
                break
    return out


def types(events: list[RunEvent]) -> list[str]:
    return [RunEventType.Name(e.type).removeprefix("RUN_EVENT_TYPE_") for e in events]


async def test_definitions_put_get_list_delete(server: BatonServer, queue: str) -> None:
    name = name_for(queue)
    async with WorkflowClient(server.address) as wf:
        checked = await wf.put_workflow_yaml(flow_yaml(name, queue), validate_only=True)
        assert [s.name for s in checked.workflow.spec.steps] == ["a", "b"]
        with pytest.raises(BatonError) as missing:
            await wf.get_workflow(name)
        assert missing.value.reason_code == contract_pb2.WORKFLOW_NOT_FOUND

        put = await wf.put_workflow_yaml(flow_yaml(name, queue))
        assert put.created and put.changed
        assert put.workflow.metadata.name == name
        again = await wf.put_workflow_yaml(flow_yaml(name, queue))
        assert not again.created and not again.changed

        # The message form: the stored definition back, changed.
        workflow = await wf.get_workflow(name)
        workflow.spec.description = "from python"
        changed = await wf.put_workflow(workflow)
        assert changed.changed and not changed.created
        assert (await wf.get_workflow(name)).spec.description == "from python"

        names = [w.metadata.name async for w in wf.list_workflows(page_size=1)]
        assert name in names

        stale = changed.workflow.metadata.resource_version + "0"
        with pytest.raises(BatonError) as conflict:
            await wf.delete_workflow(name, resource_version=stale)
        assert conflict.value.reason_code in (contract_pb2.RESOURCE_VERSION_STALE, contract_pb2.INVALID_FIELD)
        await wf.delete_workflow(name, resource_version=changed.workflow.metadata.resource_version)
        with pytest.raises(BatonError) as gone:
            await wf.get_workflow(name)
        assert gone.value.code == Code.NOT_FOUND
        assert gone.value.reason == "WORKFLOW_NOT_FOUND"  # the wire string itself


async def test_run_succeeds_with_a_python_worker_and_approval(server: BatonServer, queue: str) -> None:
    name = name_for(queue)
    seen: list[str] = []
    async with WorkflowClient(server.address) as wf, step_worker(server.address, queue, seen):
        await wf.put_workflow_yaml(flow_yaml(name, queue))
        key = f"run-{uuid.uuid4().hex}"
        started = await wf.start_run(name, {"order": 7}, idempotency_key=key, labels={"team": "py"})
        assert started.created and started.run.state == RunState.RUN_STATE_RUNNING
        assert (await wf.start_run(name, {"order": 7}, idempotency_key=key, labels={"team": "py"})).run.id == started.run.id
        run_id = started.run.id

        # a runs on the worker, then b waits for approval.
        before = await events_until(wf, run_id, {RunEventType.RUN_EVENT_TYPE_STEP_WAITING_APPROVAL})
        assert before[0].type == RunEventType.RUN_EVENT_TYPE_RUN_STARTED
        assert before[-1].step.name == "b"
        assert "STEP_SUCCEEDED" in types(before)
        run = await wf.get_run(run_id)
        steps = {s.name: s for s in run.steps}
        assert steps["a"].state == StepState.STEP_STATE_SUCCEEDED
        assert steps["b"].state == StepState.STEP_STATE_WAITING_APPROVAL

        approved = await wf.approve_step(run_id, "b", approver="ada", comment="ok")
        assert {s.name: s for s in approved.steps}["b"].approval.decided_by == "ada"

        # The whole history again, to the terminal event (the generator ends there).
        events = await events_until(wf, run_id)
        assert events[-1].type == RunEventType.RUN_EVENT_TYPE_RUN_SUCCEEDED
        cursors = [e.cursor for e in events]
        assert cursors == sorted(set(cursors))
        assert [e.cursor for e in events[: len(before)]] == [e.cursor for e in before]
        assert "STEP_APPROVED" in types(events)

        done = await wf.get_run(run_id)
        assert done.state == RunState.RUN_STATE_SUCCEEDED
        assert all(s.state == StepState.STEP_STATE_SUCCEEDED for s in done.steps)
        assert len(seen) == 2

        listed = [r.id async for r in wf.list_runs(workflow=name, states=[RunState.RUN_STATE_SUCCEEDED])]
        assert listed == [run_id]
        assert [r.id async for r in wf.list_runs(workflow=name, states=[RunState.RUN_STATE_RUNNING])] == []


async def test_reject_fails_the_run(server: BatonServer, queue: str) -> None:
    name = name_for(queue)
    async with WorkflowClient(server.address) as wf:
        await wf.put_workflow_yaml(flow_yaml(name, queue, approve_a=True))
        run_id = (await wf.start_run(name)).run.id
        await events_until(wf, run_id, {RunEventType.RUN_EVENT_TYPE_STEP_WAITING_APPROVAL})

        with pytest.raises(BatonError) as no_step:
            await wf.approve_step(run_id, "zz")
        assert no_step.value.reason_code in (contract_pb2.STEP_NOT_FOUND, contract_pb2.INVALID_FIELD)

        rejected = await wf.reject_step(run_id, "a", approver="bob", reason="not today")
        assert {s.name: s for s in rejected.steps}["a"].approval.approved is False
        events = await events_until(wf, run_id)
        assert "STEP_REJECTED" in types(events)
        assert events[-1].type == RunEventType.RUN_EVENT_TYPE_RUN_FAILED
        assert (await wf.get_run(run_id)).state == RunState.RUN_STATE_FAILED

        # The decision is final.
        with pytest.raises(BatonError) as late:
            await wf.approve_step(run_id, "a")
        assert late.value.code in (Code.FAILED_PRECONDITION, Code.NOT_FOUND)


async def test_cancel_run(server: BatonServer, queue: str) -> None:
    name = name_for(queue)
    async with WorkflowClient(server.address) as wf:
        await wf.put_workflow_yaml(flow_yaml(name, queue, approve_a=True))
        run_id = (await wf.start_run(name)).run.id
        await events_until(wf, run_id, {RunEventType.RUN_EVENT_TYPE_STEP_WAITING_APPROVAL})
        await wf.cancel_run(run_id, "changed my mind")
        events = await events_until(wf, run_id)
        assert events[-1].type == RunEventType.RUN_EVENT_TYPE_RUN_CANCELLED
        run = await wf.get_run(run_id)
        assert run.state == RunState.RUN_STATE_CANCELLED
        listed = [r.id async for r in wf.list_runs(workflow=name, states=[RunState.RUN_STATE_CANCELLED])]
        assert listed == [run_id]


async def test_bad_input_is_a_typed_baton_error(server: BatonServer, queue: str) -> None:
    async with WorkflowClient(server.address) as wf:
        with pytest.raises(BatonError) as missing:
            await wf.start_run(f"no-such-{uuid.uuid4().hex[:8]}")
        assert missing.value.code == Code.NOT_FOUND
        assert missing.value.reason == "WORKFLOW_NOT_FOUND"
        assert missing.value.reason_code == contract_pb2.WORKFLOW_NOT_FOUND
        assert not missing.value.retryable
        assert missing.value.contract is not None

        with pytest.raises(BatonError) as no_run:
            await wf.get_run(str(uuid.uuid4()))
        assert no_run.value.reason_code in (contract_pb2.RUN_NOT_FOUND, contract_pb2.INVALID_FIELD)

        bad = flow_yaml(name_for(queue), queue).replace("{from: a, to: b}", "{from: a, to: zz}")
        with pytest.raises(BatonError) as refused:
            await wf.put_workflow_yaml(bad)
        assert refused.value.code == Code.INVALID_ARGUMENT
        assert refused.value.reason_code == contract_pb2.INVALID_FIELD
        assert [v.field for v in refused.value.field_violations] == ["yaml.spec.edges[0].to_step"]


async def test_watch_run_resumes_across_a_server_restart(own_server: BatonServer, queue: str) -> None:
    name = name_for(queue)
    async with WorkflowClient(own_server.address) as wf:
        await wf.put_workflow_yaml(flow_yaml(name, queue, approve_a=True, approve_b=True))
        run_id = (await wf.start_run(name)).run.id
        seen: list[RunEvent] = []
        async with aclosing(wf.watch_run(run_id, backoff=BackoffOptions(floor=0.1, cap=0.5))) as events:
            async for event in events:
                seen.append(event)
                if event.type == RunEventType.RUN_EVENT_TYPE_STEP_WAITING_APPROVAL:
                    # The stream breaks under the watch; it resumes after the last cursor.
                    own_server.kill()
                    own_server.start()
                    await wf.cancel_run(run_id)
        assert types(seen) == ["RUN_STARTED", "STEP_WAITING_APPROVAL", *types(seen)[2:]]
        assert seen[-1].type == RunEventType.RUN_EVENT_TYPE_RUN_CANCELLED
        cursors = [e.cursor for e in seen]
        assert cursors == sorted(set(cursors))
