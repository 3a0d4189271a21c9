// Checkpoints (D7, D15): a run survives a server restart mid-run on the same
// database, resumes from its last checkpoint, and no step runs twice.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunEventType, RunState, StepState } from "../../gen/ts/baton/v1/workflow_pb.js";
import { backends } from "../support/baton.js";
import { gate, putYaml, runToEnd, startWorkflowBaton, states, StepWorker, stepOf, type WorkflowBaton, SETUP_TIMEOUT_MS } from "./support.js";

describe.each(backends)("workflow checkpoints across a restart on %s", (backend) => {
  let baton: WorkflowBaton;
  let worker: StepWorker | undefined;
  beforeAll(async () => {
    baton = await startWorkflowBaton(backend);
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await worker?.stop();
    await baton?.close();
  });

  it("continues a run after the server restarts while a step is running", { timeout: SETUP_TIMEOUT_MS }, async () => {
    await putYaml(
      baton.workflows,
      `
metadata: {name: durable}
spec:
  steps:
    - {name: extract, task_type: rs.t, queue: wf-restart}
    - {name: transform, task_type: rs.t, queue: wf-restart, input: {rows: $.steps.extract.output.rows}}
    - {name: load, task_type: rs.t, queue: wf-restart, input: {rows: $.steps.transform.output.rows}}
  edges:
    - {from: extract, to: transform}
    - {from: transform, to: load}
`,
    );
    worker = new StepWorker(baton.url, "wf-restart", ["rs.t"]).start();
    const runs: Record<string, number> = {};
    const count = (step: string) => (runs[step] = (runs[step] ?? 0) + 1);
    const release = gate();
    let transformStarted!: () => void;
    const transforming = new Promise<void>((r) => (transformStarted = r));
    worker.behaviours.set("durable/extract", () => (count("extract"), { rows: [1, 2, 3] }));
    worker.behaviours.set("durable/transform", async (task, ctx) => {
      count("transform");
      transformStarted();
      await release.wait(ctx.signal);
      return { rows: (task.payload!.rows as number[]).map((r) => r * 10) };
    });
    worker.behaviours.set("durable/load", (task) => (count("load"), { loaded: (task.payload!.rows as number[]).length }));

    const { run: started } = await baton.workflows.startRun({ workflow: "durable", idempotencyKey: "batch-7" });
    const id = started!.id;
    await transforming;

    // Restart on the same database while transform's task is held by the worker.
    await baton.restart();
    const { run: afterRestart } = await baton.workflows.getRun({ id });
    expect(afterRestart!.state).toBe(RunState.RUNNING);
    expect(states(afterRestart!)).toEqual({ extract: "SUCCEEDED", transform: "RUNNING", load: "WAITING" });
    expect(stepOf(afterRestart!, "extract").output).toEqual({ rows: [1, 2, 3] });
    // The idempotency key still names the same run.
    expect((await baton.workflows.startRun({ workflow: "durable", idempotencyKey: "batch-7" })).run!.id).toBe(id);

    // The worker reconnects to the new server and finishes what it holds.
    release.open();
    const { run, events } = await runToEnd(baton.workflows, id);
    expect(run.state).toBe(RunState.SUCCEEDED);
    expect(stepOf(run, "load").output).toEqual({ loaded: 3 });
    expect(stepOf(run, "transform").output).toEqual({ rows: [10, 20, 30] });
    expect(runs).toEqual({ extract: 1, transform: 1, load: 1 });
    expect(stepOf(run, "extract").attempts).toHaveLength(1);
    expect(stepOf(run, "load").state).toBe(StepState.SUCCEEDED);
    // The event stream spans the restart without gaps: one start, one end.
    expect(events.filter((e) => e.type === RunEventType.RUN_STARTED)).toHaveLength(1);
    expect(events.filter((e) => e.type === RunEventType.STEP_STARTED).map((e) => e.step!.name)).toEqual(["extract", "transform", "load"]);
  });
});
