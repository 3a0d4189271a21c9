import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { FailureAction, RemainingParents, WorkflowSpecSchema, type EdgeSchema, type StepSchema } from "../../../gen/ts/baton/v1/workflow_pb.js";
import { workflowDefFromSpec, type WorkflowDef } from "./workflow-def.js";
import { advance, newStepStatus, type Plan, type RunInputEvent, type StepStatus } from "./workflow-plan.js";
import { Violations } from "./validation.js";

type StepInit = MessageInitShape<typeof StepSchema>;
type EdgeInit = MessageInitShape<typeof EdgeSchema>;
// Test shorthand: extra fields are checked by create() at run time.
const step = (name: string, extra: Record<string, unknown> = {}) => ({ name, taskType: "t", queue: "q", ...extra }) as StepInit;
const edge = (fromStep: string, toStep: string, extra: Record<string, unknown> = {}) => ({ fromStep, toStep, ...extra }) as EdgeInit;

function defOf(steps: StepInit[], edges: EdgeInit[] = []): WorkflowDef {
  const v = new Violations();
  const def = workflowDefFromSpec(create(WorkflowSpecSchema, { steps, edges }), v, "spec.");
  expect(v.list).toEqual([]);
  return def;
}

const NOW = new Date("2026-01-02T03:04:05Z");

/** Drives a run through events, giving each started step a task id, as the engine does. */
class Sim {
  steps: StepStatus[];
  last!: Plan;
  constructor(
    readonly def: WorkflowDef,
    readonly input = {},
  ) {
    this.steps = def.steps.map((d) => newStepStatus(d.name));
  }
  on(event: RunInputEvent): Plan {
    const plan = advance(this.def, this.input, this.steps, event, NOW);
    for (const s of plan.start) plan.steps.find((x) => x.name === s.step)!.taskId = `task-${s.step}`;
    this.steps = plan.steps;
    this.last = plan;
    return plan;
  }
  done(step: string, output: object = {}) {
    return this.on({ kind: "task_completed", step, output: output as never });
  }
  failed(step: string) {
    return this.on({ kind: "task_failed", step, error: { type: "boom", message: "it broke", nonRetryable: true }, reason: "it broke" });
  }
  state(): Record<string, string> {
    return Object.fromEntries(this.steps.map((s) => [s.name, s.state]));
  }
  started(plan = this.last): string[] {
    return plan.start.map((s) => s.step);
  }
}

describe("run state machine", () => {
  it("starts roots, follows a chain, and ends with the leaf outputs", () => {
    const sim = new Sim(defOf([step("a"), step("b", { input: { v: "$.steps.a.output.v", o: "$.input.order" } })], [edge("a", "b")]), { order: 7 });
    const p0 = sim.on({ kind: "start" });
    expect(sim.started(p0)).toEqual(["a"]);
    expect(p0.events.map((e) => e.type)).toEqual(["run_started", "step_started"]);
    const p1 = sim.done("a", { v: 1 });
    expect(p1.start).toEqual([{ step: "b", payload: { v: 1, o: 7 } }]);
    const p2 = sim.done("b", { w: 2 });
    expect(p2.end).toEqual({ state: "succeeded", reason: "every step finished", output: { b: { w: 2 } } });
    expect(p2.events.map((e) => e.type)).toEqual(["step_succeeded", "run_succeeded"]);
  });

  it("wait-for-all waits for every parent and skips when one failed (continue), propagating skips", () => {
    const def = defOf(
      [step("a"), step("b", { onFailure: { action: FailureAction.CONTINUE } }), step("j"), step("after"), step("other")],
      [edge("a", "j"), edge("b", "j"), edge("j", "after")],
    );
    const sim = new Sim(def);
    sim.on({ kind: "start" });
    expect(sim.started()).toEqual(["a", "b", "other"]);
    sim.done("a");
    expect(sim.state().j).toBe("waiting");
    expect(sim.steps.find((s) => s.name === "j")!.join!.edges.map((e) => e.state)).toEqual(["taken", "pending"]);
    sim.failed("b");
    expect(sim.state()).toMatchObject({ b: "failed", j: "skipped", after: "skipped", other: "running" });
    expect(sim.steps.find((s) => s.name === "j")!.reason).toBe("parent b failed or was cancelled");
    const end = sim.done("other");
    expect(end.end!.state).toBe("succeeded");
    expect(end.end!.reason).toMatch(/continued past failed steps: b/);
  });

  it("a quorum starts the step early and cancels the remaining parents when asked", () => {
    const def = defOf(
      [step("s"), step("p1"), step("p2"), step("p3"), step("j", { join: { quorumCount: 2, remaining: RemainingParents.CANCEL } })],
      [edge("s", "p1"), edge("s", "p2"), edge("s", "p3"), edge("p1", "j"), edge("p2", "j"), edge("p3", "j")],
    );
    const sim = new Sim(def);
    sim.on({ kind: "start" });
    sim.done("s");
    expect(sim.started()).toEqual(["p1", "p2", "p3"]);
    sim.done("p2", { vote: "yes" });
    expect(sim.state().j).toBe("waiting");
    const p = sim.done("p1", { vote: "yes" });
    expect(sim.started(p)).toEqual(["j"]);
    expect(p.cancel).toEqual([{ step: "p3", taskId: "task-p3", reason: expect.stringMatching(/quorum of j met/) }]);
    expect(sim.state()).toMatchObject({ p3: "cancelled", j: "running" });
    const join = sim.steps.find((s) => s.name === "j")!.join!;
    expect(join).toMatchObject({ mode: "quorum", required: 2, satisfied: true });
    expect(join.edges.map((e) => e.state)).toEqual(["taken", "taken", "pending"]);
    // A late result of the cancelled parent changes nothing (D6, D14).
    const late = sim.done("p3");
    expect(late.changed).toEqual([]);
    expect(sim.done("j").end!.state).toBe("succeeded");
  });

  it("a quorum with remaining: let_finish leaves the other parents running; their outcome changes nothing for it", () => {
    const def = defOf(
      [step("p1"), step("p2"), step("j", { join: { quorumCount: 1 } }), step("after-p2")],
      [edge("p1", "j"), edge("p2", "j"), edge("p2", "after-p2")],
    );
    const sim = new Sim(def);
    sim.on({ kind: "start" });
    const p = sim.done("p1");
    expect(sim.started(p)).toEqual(["j"]);
    expect(p.cancel).toEqual([]);
    expect(sim.state()).toMatchObject({ p2: "running", j: "running" });
    const joinBefore = JSON.stringify(sim.steps.find((s) => s.name === "j")!.join);
    const q = sim.done("p2", { late: true });
    expect(sim.started(q)).toEqual(["after-p2"]);
    expect(JSON.stringify(sim.steps.find((s) => s.name === "j")!.join)).toBe(joinBefore);
  });

  it("a quorum that can no longer be met skips the step; percent rounds up", () => {
    const def = defOf(
      [step("p1", { onFailure: { action: FailureAction.CONTINUE } }), step("p2", { onFailure: { action: FailureAction.CONTINUE } }), step("p3"), step("j", { join: { quorumPercent: 60 } })],
      [edge("p1", "j"), edge("p2", "j"), edge("p3", "j")],
    );
    const sim = new Sim(def);
    sim.on({ kind: "start" });
    sim.failed("p1");
    expect(sim.steps.find((s) => s.name === "j")!.join!.required).toBe(2);
    sim.failed("p2");
    expect(sim.state().j).toBe("skipped");
    expect(sim.steps.find((s) => s.name === "j")!.reason).toMatch(/quorum of 2 can no longer be met: 0 taken, 2 failed/);
  });

  it("fail_run ends the run and cancels what still runs (D9, D11)", () => {
    const sim = new Sim(defOf([step("a"), step("b"), step("c")], [edge("b", "c")]));
    sim.on({ kind: "start" });
    const p = sim.failed("a");
    expect(p.end).toMatchObject({ state: "failed", reason: "step a failed: it broke" });
    expect(p.cancel.map((c) => c.taskId)).toEqual(["task-b"]);
    expect(sim.state()).toEqual({ a: "failed", b: "cancelled", c: "cancelled" });
    expect(p.events.map((e) => e.type)).toEqual(["step_failed", "step_cancelled", "step_cancelled", "run_failed"]);
  });

  it("a fallback runs in the failed step's place and its output flows along that step's edges", () => {
    const def = defOf(
      [step("fetch"), step("card", { onFailure: { fallbackStep: "invoice" } }), step("invoice"), step("ship", { input: { paid: "$.steps.card.output.paid_by" } })],
      [edge("fetch", "card"), edge("card", "ship", { condition: { path: "$.paid_by", operator: 5 } })],
    );
    const sim = new Sim(def, { n: 1 });
    sim.on({ kind: "start" });
    sim.done("fetch", { order: 1 });
    const p = sim.failed("card");
    expect(p.start).toEqual([
      { step: "invoice", payload: { input: { n: 1 }, steps: { fetch: { order: 1 } }, failed_step: { name: "card", error: { type: "boom", message: "it broke", nonRetryable: true } } } },
    ]);
    expect(sim.steps.find((s) => s.name === "invoice")!.fallbackFor).toBe("card");
    const q = sim.done("invoice", { paid_by: "invoice" });
    expect(q.start).toEqual([{ step: "ship", payload: { paid: "invoice" } }]);
    expect(sim.done("ship").end!.state).toBe("succeeded");
  });

  it("an unused fallback is skipped; a failing fallback applies its own on_failure", () => {
    const def = defOf([step("a", { onFailure: { fallbackStep: "fa" } }), step("fa")]);
    const ok = new Sim(def);
    ok.on({ kind: "start" });
    expect(ok.state()).toEqual({ a: "running", fa: "waiting" });
    expect(ok.done("a").end!.state).toBe("succeeded");
    expect(ok.state().fa).toBe("skipped");

    const bad = new Sim(def);
    bad.on({ kind: "start" });
    bad.failed("a");
    expect(bad.last.end).toBeNull();
    const p = bad.failed("fa");
    expect(p.end!.reason).toBe("step fa (the fallback of a) failed: it broke");
  });

  it("pauses for approval; approve starts the task, reject fails the step (D10)", () => {
    const def = defOf([step("a"), step("deploy", { requiresApproval: true })], [edge("a", "deploy")]);
    const sim = new Sim(def);
    sim.on({ kind: "start" });
    const p = sim.done("a");
    expect(p.start).toEqual([]);
    expect(p.events.map((e) => e.type)).toEqual(["step_succeeded", "step_waiting_approval"]);
    const waiting = sim.steps.find((s) => s.name === "deploy")!;
    expect(waiting.approval).toEqual({ requestedAt: NOW.toISOString(), decidedAt: null, approved: false, decidedBy: "", comment: "" });

    const approved = new Sim(def);
    approved.steps = structuredClone(sim.steps);
    const a = approved.on({ kind: "approve", step: "deploy", by: "ana", comment: "ok" });
    expect(approved.started(a)).toEqual(["deploy"]);
    expect(approved.steps.find((s) => s.name === "deploy")!.approval).toMatchObject({ approved: true, decidedBy: "ana", comment: "ok" });

    const r = sim.on({ kind: "reject", step: "deploy", by: "bo", reason: "not today" });
    expect(r.events.map((e) => e.type)).toEqual(["step_rejected", "step_failed", "run_failed"]);
    expect(r.end!.reason).toBe("step deploy failed: approval rejected by bo: not today");
    expect(sim.steps.find((s) => s.name === "deploy")!.error!.type).toBe("approval_rejected");
  });

  it("cancel and timeout end the run with their reason", () => {
    const def = defOf([step("a", { requiresApproval: true }), step("b")]);
    const sim = new Sim(def);
    sim.on({ kind: "start" });
    const p = sim.on({ kind: "end", state: "timed_out", reason: "too slow" });
    expect(p.end).toMatchObject({ state: "timed_out", reason: "too slow" });
    expect(sim.state()).toEqual({ a: "cancelled", b: "cancelled" });
    expect(p.cancel).toEqual([{ step: "b", taskId: "task-b", reason: "run timed out: too slow" }]);
  });

  it("fails a step whose input would be too large for a task payload", () => {
    const def = defOf([step("a"), step("b", { onFailure: { action: FailureAction.CONTINUE } })], [edge("a", "b")]);
    const sim = new Sim(def);
    sim.on({ kind: "start" });
    const p = sim.done("a", { big: "x".repeat(1024 * 1024) });
    expect(p.start).toEqual([]);
    expect(sim.steps.find((s) => s.name === "b")!.error!.type).toBe("step_input_invalid");
    expect(p.end!.state).toBe("succeeded");
  });
});
