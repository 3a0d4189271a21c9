// Quorum joins that cancel their remaining parents (D5, D6) and failure handling
// after a step's retries: fail the run, continue, or fall back (D9, D11).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../../gen/ts/baton/v1/task_pb.js";
import { EdgeState, JoinMode, RunState, StepState } from "../../gen/ts/baton/v1/workflow_pb.js";
import { backends } from "../support/baton.js";
import { eventually } from "../support/protocol.js";
import { gate, putYaml, runToEnd, startWorkflowBaton, states, StepWorker, stepOf, type WorkflowBaton, SETUP_TIMEOUT_MS } from "./support.js";

const RETRY_NOW = "{initial_backoff: 0s, jitter: 0}";

describe.each(backends)("workflow joins and failures on %s", (backend) => {
  let baton: WorkflowBaton;
  let worker: StepWorker;
  beforeAll(async () => {
    baton = await startWorkflowBaton(backend);
    worker = new StepWorker(baton.url, "wf-jf", ["jf.t"]).start();
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await worker?.stop();
    await baton?.close();
  });

  const taskState = async (id: string) => (await baton.tasks.getTask({ id })).task!.state;

  it("quorum 2 of 3 starts the join after two parents and cancels the third on its worker", async () => {
    await putYaml(
      baton.workflows,
      `
metadata: {name: vote}
spec:
  steps:
    - {name: ask, task_type: jf.t, queue: wf-jf}
    - {name: p1, task_type: jf.t, queue: wf-jf}
    - {name: p2, task_type: jf.t, queue: wf-jf}
    - {name: p3, task_type: jf.t, queue: wf-jf}
    - name: tally
      task_type: jf.t
      queue: wf-jf
      join: {mode: quorum, quorum_count: 2, remaining: cancel}
      input: {a: $.steps.p1.output.vote, b: $.steps.p2.output.vote, c: $.steps.p3.output.vote}
  edges:
    - {from: ask, to: p1}
    - {from: ask, to: p2}
    - {from: ask, to: p3}
    - {from: p1, to: tally}
    - {from: p2, to: tally}
    - {from: p3, to: tally}
`,
    );
    // p1 and p2 answer only once p3 is running, so the quorum is met while p3 holds a lease.
    let p3Running!: () => void;
    const p3Started = new Promise<void>((r) => (p3Running = r));
    const never = gate();
    let p3Aborted: unknown;
    worker.behaviours.set("vote/p1", async () => (await p3Started, { vote: "yes" }));
    worker.behaviours.set("vote/p2", async () => (await p3Started, { vote: "yes" }));
    worker.behaviours.set("vote/p3", async (_task, ctx) => {
      p3Running();
      try {
        await never.wait(ctx.signal);
      } catch (err) {
        p3Aborted = err;
        throw err;
      }
      return { vote: "late" };
    });

    const { run: started } = await baton.workflows.startRun({ workflow: "vote" });
    const { run } = await runToEnd(baton.workflows, started!.id);
    expect(run.state).toBe(RunState.SUCCEEDED);
    expect(states(run)).toEqual({ ask: "SUCCEEDED", p1: "SUCCEEDED", p2: "SUCCEEDED", p3: "CANCELLED", tally: "SUCCEEDED" });
    const tally = stepOf(run, "tally");
    expect(tally.join!.mode).toBe(JoinMode.QUORUM);
    expect(tally.join!.required).toBe(2);
    expect(tally.join!.edges.map((e) => EdgeState[e.state])).toEqual(["TAKEN", "TAKEN", "PENDING"]);
    expect(tally.output).toEqual({ step: "tally", payload: { a: "yes", b: "yes" } });
    expect(stepOf(run, "p3").reason).toMatch(/quorum of tally met/);
    // CancelTask semantics: the cancel was pushed to p3's worker, which stopped and reported it.
    const p3Task = stepOf(run, "p3").taskId;
    await eventually(async () => ((await taskState(p3Task)) === TaskState.CANCELLED ? true : undefined), "p3's task to end CANCELLED");
    expect(p3Aborted).toBeDefined();
    expect((await baton.workflows.getRun({ id: run.id })).run!.state).toBe(RunState.SUCCEEDED);
  });

  it("fail_run: a step that fails after its retries fails the run and cancels its running steps", async () => {
    await putYaml(
      baton.workflows,
      `
metadata: {name: fail-run}
spec:
  steps:
    - {name: fetch, task_type: jf.t, queue: wf-jf}
    - {name: charge, task_type: jf.t, queue: wf-jf, max_attempts: 2, retry_policy: ${RETRY_NOW}}
    - {name: ship, task_type: jf.t, queue: wf-jf}
    - {name: slow, task_type: jf.t, queue: wf-jf}
  edges:
    - {from: fetch, to: charge}
    - {from: charge, to: ship}
`,
    );
    const slowGate = gate();
    let slowStarted!: () => void;
    const slowRunning = new Promise<void>((r) => (slowStarted = r));
    worker.behaviours.set("fail-run/slow", async (_t, ctx) => {
      slowStarted();
      await slowGate.wait(ctx.signal);
    });
    worker.behaviours.set("fail-run/charge", async () => {
      await slowRunning;
      throw new Error("card declined");
    });
    const { run: started } = await baton.workflows.startRun({ workflow: "fail-run" });
    const { run } = await runToEnd(baton.workflows, started!.id);
    expect(run.state).toBe(RunState.FAILED);
    expect(run.terminalReason).toMatch(/^step charge failed: .*card declined/);
    expect(states(run)).toEqual({ fetch: "SUCCEEDED", charge: "FAILED", ship: "CANCELLED", slow: "CANCELLED" });
    const charge = stepOf(run, "charge");
    expect(charge.taskState).toBe(TaskState.DEAD_LETTER);
    expect(charge.attempt).toBe(2);
    expect(charge.attempts).toHaveLength(2);
    expect(charge.error!.message).toContain("card declined");
    const slow = stepOf(run, "slow");
    expect(slow.reason).toMatch(/^run failed: step charge failed/);
    await eventually(async () => ((await taskState(slow.taskId)) === TaskState.CANCELLED ? true : undefined), "slow's task to end CANCELLED");
    expect(run.output).toEqual({});
  });

  it("continue: the run goes on past a failed step; steps that need it are skipped", async () => {
    await putYaml(
      baton.workflows,
      `
metadata: {name: carry-on}
spec:
  steps:
    - {name: fetch, task_type: jf.t, queue: wf-jf}
    - {name: enrich, task_type: jf.t, queue: wf-jf, max_attempts: 1, on_failure: continue}
    - {name: use-enriched, task_type: jf.t, queue: wf-jf}
    - {name: notify, task_type: jf.t, queue: wf-jf}
  edges:
    - {from: fetch, to: enrich}
    - {from: enrich, to: use-enriched}
    - {from: fetch, to: notify}
`,
    );
    worker.behaviours.set("carry-on/enrich", () => {
      throw new Error("enrichment service down");
    });
    const { run: started } = await baton.workflows.startRun({ workflow: "carry-on" });
    const { run } = await runToEnd(baton.workflows, started!.id);
    expect(run.state).toBe(RunState.SUCCEEDED);
    expect(run.terminalReason).toMatch(/continued past failed steps: enrich/);
    expect(states(run)).toEqual({ fetch: "SUCCEEDED", enrich: "FAILED", "use-enriched": "SKIPPED", notify: "SUCCEEDED" });
    expect(stepOf(run, "use-enriched").join!.edges[0]!.state).toBe(EdgeState.FAILED);
    expect(Object.keys(run.output!)).toEqual(["notify"]);
  });

  it("fallback: the fallback step runs in the failed step's place and its output flows on", async () => {
    await putYaml(
      baton.workflows,
      `
metadata: {name: pay}
spec:
  steps:
    - {name: order, task_type: jf.t, queue: wf-jf}
    - name: card
      task_type: jf.t
      queue: wf-jf
      max_attempts: 2
      retry_policy: ${RETRY_NOW}
      on_failure: {fallback_step: invoice}
    - {name: invoice, task_type: jf.t, queue: wf-jf}
    - {name: ship, task_type: jf.t, queue: wf-jf, input: {paid_by: $.steps.card.output.paid_by}}
  edges:
    - {from: order, to: card}
    - {from: card, to: ship}
`,
    );
    worker.behaviours.set("pay/order", () => ({ total: 12 }));
    worker.behaviours.set("pay/card", () => {
      throw new Error("gateway timeout");
    });
    worker.behaviours.set("pay/invoice", (task) => ({ paid_by: "invoice", seen: task.payload }));
    const { run: started } = await baton.workflows.startRun({ workflow: "pay", input: { customer: "c-9" } });
    const { run } = await runToEnd(baton.workflows, started!.id);
    expect(run.state).toBe(RunState.SUCCEEDED);
    expect(states(run)).toEqual({ order: "SUCCEEDED", card: "FAILED", invoice: "SUCCEEDED", ship: "SUCCEEDED" });
    expect(stepOf(run, "card").attempts).toHaveLength(2);
    const invoice = stepOf(run, "invoice");
    expect(invoice.fallbackFor).toBe("card");
    const seen = invoice.output!.seen as { input: object; steps: object; failed_step: { name: string; error: { message: string } } };
    expect(seen.input).toEqual({ customer: "c-9" });
    expect(seen.steps).toEqual({ order: { total: 12 } });
    expect(seen.failed_step.name).toBe("card");
    expect(seen.failed_step.error.message).toContain("gateway timeout");
    expect(stepOf(run, "ship").output).toEqual({ step: "ship", payload: { paid_by: "invoice" } });
    expect(stepOf(run, "ship").state).toBe(StepState.SUCCEEDED);
  });
});
