// Runs of workflows driven by a real SDK worker: a linear chain, fan-out and a
// wait-for-all fan-in, conditions on edges, checkpoints and payloads
// (D4, D5, D7, D8, D13, D18).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../../gen/ts/baton/v1/task_pb.js";
import { EdgeState, JoinMode, RunEventType, RunState, StepState } from "../../gen/ts/baton/v1/workflow_pb.js";
import { backends } from "../support/baton.js";
import { eventNames, putYaml, runToEnd, startWorkflowBaton, states, StepWorker, stepOf, type WorkflowBaton, SETUP_TIMEOUT_MS } from "./support.js";

describe.each(backends)("workflow execution on %s", (backend) => {
  let baton: WorkflowBaton;
  let worker: StepWorker;
  beforeAll(async () => {
    baton = await startWorkflowBaton(backend);
    worker = new StepWorker(baton.url, "wf-exec", ["fetch", "price", "ship", "notify"]).start();
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await worker?.stop();
    await baton?.close();
  });

  it("runs a linear chain, passing outputs along the input mapping, with a checkpoint per step", async () => {
    const wf = await putYaml(
      baton.workflows,
      `
kind: Workflow
metadata: {name: chain}
spec:
  steps:
    - name: fetch
      task_type: fetch
      queue: wf-exec
      input: {order: $.input.order_id}
    - name: price
      task_type: price
      queue: wf-exec
      input: {items: $.steps.fetch.output.items, order: $.input.order_id}
    - name: ship
      task_type: ship
      queue: wf-exec
  edges:
    - {from: fetch, to: price}
    - {from: price, to: ship}
`,
    );
    expect(wf.metadata!.resourceVersion).not.toBe("");
    worker.behaviours.set("chain/fetch", (task) => ({ items: [`item-of-${String(task.payload!.order)}`] }));
    worker.behaviours.set("chain/price", (task) => ({ total: 42, items: task.payload!.items }));

    const started = await baton.workflows.startRun({ workflow: "chain", input: { order_id: "o-1" } });
    expect(started.created).toBe(true);
    const id = started.run!.id;
    expect(started.contract!.resource).toBe(`run/${id}`);
    expect(started.contract!.state).toBe("RUNNING");
    expect(states(started.run!)).toEqual({ fetch: "RUNNING", price: "WAITING", ship: "WAITING" });

    const { run, events } = await runToEnd(baton.workflows, id);
    expect(run.state).toBe(RunState.SUCCEEDED);
    expect(states(run)).toEqual({ fetch: "SUCCEEDED", price: "SUCCEEDED", ship: "SUCCEEDED" });
    // Checkpoints: each step's output is kept with the run.
    expect(stepOf(run, "fetch").output).toEqual({ items: ["item-of-o-1"] });
    expect(stepOf(run, "price").output).toEqual({ total: 42, items: ["item-of-o-1"] });
    // Without a mapping the payload is {input, steps: {parent: output}} (D8).
    expect(stepOf(run, "ship").output).toEqual({
      step: "ship",
      payload: { input: { order_id: "o-1" }, steps: { price: { total: 42, items: ["item-of-o-1"] } } },
    });
    expect(run.output).toEqual({ ship: stepOf(run, "ship").output });
    expect(eventNames(events)).toEqual([
      "RUN_STARTED",
      "STEP_STARTED:fetch",
      "STEP_SUCCEEDED:fetch",
      "STEP_STARTED:price",
      "STEP_SUCCEEDED:price",
      "STEP_STARTED:ship",
      "STEP_SUCCEEDED:ship",
      "RUN_SUCCEEDED",
    ]);
    expect(events.map((e) => e.cursor)).toEqual([...events.map((e) => e.cursor)].sort((a, b) => (a < b ? -1 : 1)));

    // Step tasks carry the run (D8) and their attempts show in GetRun.
    const fetch = stepOf(run, "fetch");
    expect(fetch.taskState).toBe(TaskState.COMPLETED);
    expect(fetch.attempt).toBe(1);
    expect(fetch.attempts).toHaveLength(1);
    const { task } = await baton.tasks.getTask({ id: fetch.taskId });
    expect(task!.parentId).toBe(id);
    expect(task!.labels).toMatchObject({ "baton.run": id, "baton.workflow": "chain", "baton.step": "fetch" });
    expect(task!.payload).toEqual({ order: "o-1" });
  });

  it("fans out to parallel branches that run concurrently and joins them with wait-for-all", async () => {
    await putYaml(
      baton.workflows,
      `
metadata: {name: diamond}
spec:
  steps:
    - {name: start, task_type: fetch, queue: wf-exec}
    - {name: left, task_type: price, queue: wf-exec}
    - {name: right, task_type: price, queue: wf-exec}
    - {name: join, task_type: notify, queue: wf-exec}
  edges:
    - {from: start, to: left}
    - {from: start, to: right}
    - {from: left, to: join, label: l}
    - {from: right, to: join, label: r}
`,
    );
    // Both branches must be running at the same time: each waits for the other to start.
    let arrived = 0;
    let bothRunning!: () => void;
    const together = new Promise<void>((r) => (bothRunning = r));
    const branch = async () => {
      if (++arrived === 2) bothRunning();
      await together;
      return { branch: arrived };
    };
    worker.behaviours.set("diamond/left", branch);
    worker.behaviours.set("diamond/right", branch);

    const { run: startedRun } = await baton.workflows.startRun({ workflow: "diamond", input: { n: 1 } });
    const { run, events } = await runToEnd(baton.workflows, startedRun!.id);
    expect(run.state).toBe(RunState.SUCCEEDED);
    expect(states(run)).toEqual({ start: "SUCCEEDED", left: "SUCCEEDED", right: "SUCCEEDED", join: "SUCCEEDED" });
    const join = stepOf(run, "join");
    expect(join.join!.mode).toBe(JoinMode.WAIT_FOR_ALL);
    expect(join.join!.satisfied).toBe(true);
    expect(join.join!.edges.map((e) => [e.fromStep, e.label, EdgeState[e.state]])).toEqual([
      ["left", "l", "TAKEN"],
      ["right", "r", "TAKEN"],
    ]);
    // The join started once, after both parents.
    const names = eventNames(events);
    expect(names.filter((n) => n === "STEP_STARTED:join")).toHaveLength(1);
    expect(names.indexOf("STEP_STARTED:join")).toBeGreaterThan(names.indexOf("STEP_SUCCEEDED:left"));
    expect(names.indexOf("STEP_STARTED:join")).toBeGreaterThan(names.indexOf("STEP_SUCCEEDED:right"));
    expect(Object.keys((stepOf(run, "join").output!.payload as { steps: object }).steps).sort()).toEqual(["left", "right"]);
  });

  it("takes only the edges whose condition holds on the parent's output and skips the rest", async () => {
    await putYaml(
      baton.workflows,
      `
metadata: {name: router}
spec:
  steps:
    - {name: classify, task_type: fetch, queue: wf-exec}
    - {name: express, task_type: ship, queue: wf-exec}
    - {name: standard, task_type: ship, queue: wf-exec}
    - {name: audit, task_type: notify, queue: wf-exec}
    - {name: after-standard, task_type: notify, queue: wf-exec}
  edges:
    - {from: classify, to: express, label: fast, condition: {path: $.speed, in: [express, overnight]}}
    - {from: classify, to: standard, label: slow, condition: {path: $.speed, equals: standard}}
    - {from: classify, to: audit, condition: {path: $.flags.audit, exists: true}}
    - {from: standard, to: after-standard}
`,
    );
    worker.behaviours.set("router/classify", (task) => ({ speed: (task.payload!.input as { speed: string }).speed, flags: {} }));
    const { run: started } = await baton.workflows.startRun({ workflow: "router", input: { speed: "overnight" } });
    const { run, events } = await runToEnd(baton.workflows, started!.id);
    expect(run.state).toBe(RunState.SUCCEEDED);
    expect(states(run)).toEqual({ classify: "SUCCEEDED", express: "SUCCEEDED", standard: "SKIPPED", audit: "SKIPPED", "after-standard": "SKIPPED" });
    expect(stepOf(run, "standard").join!.edges[0]!.state).toBe(EdgeState.NOT_TAKEN);
    expect(stepOf(run, "standard").reason).toMatch(/no incoming edge was taken/);
    expect(stepOf(run, "after-standard").taskId).toBe("");
    expect(events.filter((e) => e.type === RunEventType.STEP_SKIPPED).map((e) => e.step!.name).sort()).toEqual(["after-standard", "audit", "standard"]);
    expect(run.output).toEqual({ express: stepOf(run, "express").output });
    expect(stepOf(run, "standard").state).toBe(StepState.SKIPPED);
  });
});
