// Steering runs: pause-and-escalate approvals (D10), CancelRun (D11), the run
// timeout (D12), and a step task cancelled directly with CancelTask (D9).
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../../gen/ts/baton/v1/task_pb.js";
import { RunEventType, RunState, StepState } from "../../gen/ts/baton/v1/workflow_pb.js";
import { backends } from "../support/baton.js";
import { eventually, expectBatonError } from "../support/protocol.js";
import { gate, putYaml, runToEnd, startWorkflowBaton, states, StepWorker, stepOf, stepReaches, type WorkflowBaton, SETUP_TIMEOUT_MS } from "./support.js";

const actions = (c: { nextActions: { rpc: string }[] } | undefined) => c!.nextActions.map((a) => a.rpc.split("/")[1]);

describe.each(backends)("steering workflow runs on %s", (backend) => {
  let baton: WorkflowBaton;
  let worker: StepWorker;
  beforeAll(async () => {
    baton = await startWorkflowBaton(backend);
    worker = new StepWorker(baton.url, "wf-ctl", ["ctl.t"]).start();
    await putYaml(
      baton.workflows,
      `
metadata: {name: release}
spec:
  steps:
    - {name: build, task_type: ctl.t, queue: wf-ctl}
    - {name: deploy, task_type: ctl.t, queue: wf-ctl, requires_approval: true}
    - {name: announce, task_type: ctl.t, queue: wf-ctl}
  edges:
    - {from: build, to: deploy}
    - {from: deploy, to: announce}
`,
    );
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await worker?.stop();
    await baton?.close();
  });

  it("pauses at a step that needs approval; ApproveStep lets the run continue", async () => {
    const { run: started } = await baton.workflows.startRun({ workflow: "release", input: { version: "1.2" } });
    const paused = await stepReaches(baton.workflows, started!.id, "deploy", StepState.WAITING_APPROVAL);
    expect(paused.state).toBe(RunState.RUNNING);
    expect(stepOf(paused, "deploy").taskId).toBe("");
    expect(stepOf(paused, "deploy").approval!.requestTime).toBeDefined();
    const got = await baton.workflows.getRun({ id: started!.id });
    expect(actions(got.contract)).toEqual(["GetRun", "WatchRun", "ApproveStep", "RejectStep", "CancelRun"]);
    expect(got.contract!.recovery!.guidance).toMatch(/paused: step deploy waits for ApproveStep or RejectStep/);
    // Approving a step that is not waiting is refused (S3).
    await expectBatonError(baton.workflows.approveStep({ runId: started!.id, step: "announce" }), Code.FailedPrecondition, "INVALID_STATE");

    const approved = await baton.workflows.approveStep({ runId: started!.id, step: "deploy", approver: "ana", comment: "ship it" });
    expect(stepOf(approved.run!, "deploy").state).toBe(StepState.RUNNING);
    const { run, events } = await runToEnd(baton.workflows, started!.id);
    expect(run.state).toBe(RunState.SUCCEEDED);
    const deploy = stepOf(run, "deploy");
    expect(deploy.approval).toMatchObject({ approved: true, decidedBy: "ana", comment: "ship it" });
    expect(deploy.output).toMatchObject({ payload: { input: { version: "1.2" } } });
    const types = events.map((e) => RunEventType[e.type]);
    expect(types.indexOf("STEP_WAITING_APPROVAL")).toBeLessThan(types.indexOf("STEP_APPROVED"));
    expect(types.indexOf("STEP_APPROVED")).toBeLessThan(types.lastIndexOf("STEP_STARTED"));
  });

  it("RejectStep fails the step and, by default, the run", async () => {
    const { run: started } = await baton.workflows.startRun({ workflow: "release" });
    await stepReaches(baton.workflows, started!.id, "deploy", StepState.WAITING_APPROVAL);
    const rejected = await baton.workflows.rejectStep({ runId: started!.id, step: "deploy", approver: "bo", reason: "freeze week" });
    expect(rejected.run!.state).toBe(RunState.FAILED);
    expect(rejected.contract!.state).toBe("FAILED");
    const { run } = await runToEnd(baton.workflows, started!.id);
    expect(run.terminalReason).toBe("step deploy failed: approval rejected by bo: freeze week");
    expect(states(run)).toEqual({ build: "SUCCEEDED", deploy: "FAILED", announce: "CANCELLED" });
    expect(stepOf(run, "deploy").error).toMatchObject({ type: "approval_rejected", nonRetryable: true });
    await expectBatonError(baton.workflows.approveStep({ runId: run.id, step: "deploy" }), Code.FailedPrecondition, "INVALID_STATE");
  });

  it("CancelRun cancels the running steps on their workers and ends the run CANCELLED", async () => {
    await putYaml(
      baton.workflows,
      `
metadata: {name: long}
spec:
  steps:
    - {name: a, task_type: ctl.t, queue: wf-ctl}
    - {name: b, task_type: ctl.t, queue: wf-ctl}
    - {name: c, task_type: ctl.t, queue: wf-ctl}
  edges:
    - {from: a, to: c}
`,
    );
    const hold = gate();
    let running = 0;
    let bothRunning!: () => void;
    const both = new Promise<void>((r) => (bothRunning = r));
    const aborted: string[] = [];
    const blocking = async (task: { labels: Record<string, string> }, ctx: { signal: AbortSignal }) => {
      if (++running === 2) bothRunning();
      try {
        await hold.wait(ctx.signal);
      } catch (err) {
        aborted.push(task.labels["baton.step"]!);
        throw err;
      }
    };
    worker.behaviours.set("long/a", blocking);
    worker.behaviours.set("long/b", blocking);
    const { run: started } = await baton.workflows.startRun({ workflow: "long" });
    await both;
    const cancelled = await baton.workflows.cancelRun({ id: started!.id, reason: "customer left" });
    expect(cancelled.run!.state).toBe(RunState.CANCELLED);
    expect(cancelled.run!.terminalReason).toBe("cancelled by caller: customer left");
    expect(states(cancelled.run!)).toEqual({ a: "CANCELLED", b: "CANCELLED", c: "CANCELLED" });
    // Pushed to the worker (X1): both handlers are aborted and their tasks end CANCELLED.
    const run = cancelled.run!;
    for (const name of ["a", "b"]) {
      const id = stepOf(run, name).taskId;
      await eventually(async () => ((await baton.tasks.getTask({ id })).task!.state === TaskState.CANCELLED ? true : undefined), `task of ${name} cancelled`);
    }
    expect(aborted.sort()).toEqual(["a", "b"]);
    // Cancelling again changes nothing; the run stays as it ended.
    const again = await baton.workflows.cancelRun({ id: run.id, reason: "twice" });
    expect(again.run!.terminalReason).toBe("cancelled by caller: customer left");
    const { events } = await runToEnd(baton.workflows, run.id);
    expect(events[events.length - 1]!.type).toBe(RunEventType.RUN_CANCELLED);
    const succeeded = await baton.workflows.startRun({ workflow: "release" });
    await baton.workflows.cancelRun({ id: succeeded.run!.id });
  });

  it("ends a run TIMED_OUT once its run_timeout passed, cancelling its steps", async () => {
    await putYaml(
      baton.workflows,
      `
metadata: {name: deadline}
spec:
  run_timeout: 1s
  steps:
    - {name: stuck, task_type: ctl.t, queue: wf-ctl}
`,
    );
    const hold = gate();
    worker.behaviours.set("deadline/stuck", (_t, ctx) => hold.wait(ctx.signal));
    const before = Date.now();
    const { run: started } = await baton.workflows.startRun({ workflow: "deadline" });
    expect(started!.deadline).toBeDefined();
    const { run } = await runToEnd(baton.workflows, started!.id);
    expect(Date.now() - before).toBeGreaterThanOrEqual(900);
    expect(run.state).toBe(RunState.TIMED_OUT);
    expect(run.terminalReason).toBe("the run did not finish within its run_timeout of 1s");
    expect(stepOf(run, "stuck").state).toBe(StepState.CANCELLED);
    const id = stepOf(run, "stuck").taskId;
    await eventually(async () => ((await baton.tasks.getTask({ id })).task!.state === TaskState.CANCELLED ? true : undefined), "stuck's task cancelled");
  });

  it("a step task cancelled with CancelTask before it ran fails the step (its on_failure applies)", async () => {
    await putYaml(
      baton.workflows,
      `
metadata: {name: unclaimed}
spec:
  steps:
    - {name: only, task_type: ctl.t, queue: wf-ctl-nobody}
`,
    );
    const { run: started } = await baton.workflows.startRun({ workflow: "unclaimed" });
    await baton.tasks.cancelTask({ id: stepOf(started!, "only").taskId, reason: "operator" });
    const { run } = await runToEnd(baton.workflows, started!.id);
    expect(run.state).toBe(RunState.FAILED);
    expect(run.terminalReason).toBe("step only failed: its task was cancelled: cancelled by caller: operator");
  });
});
