/**
 * The run state machine, pure: given a run's definition, input and step
 * statuses, and one thing that happened (the run started, a step's task
 * completed or failed, an approval was decided, the run must end), it decides
 * every consequence at once: checkpoints, edge and join states, steps that
 * start, wait for approval, are skipped or cancelled, tasks to cancel, the
 * run's end, and the events to record (rules D4..D14). The engine writes the
 * result in the same transaction as the change that caused it (D7).
 */
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { limits } from "./defaults.js";
import { conditionHolds, valueAt } from "./workflow-path.js";
import type { EdgeDef, JoinModeName, StepDef, WorkflowDef } from "./workflow-def.js";
import type { StoredError } from "./task-row.js";

export type StepStateName = "waiting" | "waiting_approval" | "running" | "succeeded" | "failed" | "skipped" | "cancelled";
export type EdgeStateName = "pending" | "taken" | "not_taken" | "failed";
export type RunStateName = "running" | "succeeded" | "failed" | "cancelled" | "timed_out";
export type RunEventName =
  | "run_started"
  | "step_started"
  | "step_waiting_approval"
  | "step_approved"
  | "step_rejected"
  | "step_succeeded"
  | "step_failed"
  | "step_skipped"
  | "step_cancelled"
  | "run_succeeded"
  | "run_failed"
  | "run_cancelled"
  | "run_timed_out";

export const ACTIVE_STEP_STATES: readonly StepStateName[] = ["waiting", "waiting_approval", "running"];

export interface JoinStatus {
  mode: JoinModeName;
  /** Edges that must be TAKEN (WAIT_FOR_ALL: 1, and none FAILED; roots: 0). */
  required: number;
  edges: { from: string; label: string; state: EdgeStateName }[];
  satisfied: boolean;
}

export interface ApprovalStatus {
  requestedAt: string;
  decidedAt: string | null;
  approved: boolean;
  decidedBy: string;
  comment: string;
}

/** One step of a run as stored (baton_run_steps), timestamps as ISO strings. */
export interface StepStatus {
  name: string;
  state: StepStateName;
  taskId: string | null;
  output: JsonObject | null;
  error: StoredError | null;
  reason: string;
  join: JoinStatus | null;
  fallbackFor: string;
  approval: ApprovalStatus | null;
  startedAt: string | null;
  endedAt: string | null;
}

export type RunInputEvent =
  | { kind: "start" }
  | { kind: "task_completed"; step: string; output: JsonObject }
  | { kind: "task_failed"; step: string; error: StoredError; reason: string }
  | { kind: "approve"; step: string; by: string; comment: string }
  | { kind: "reject"; step: string; by: string; reason: string }
  | { kind: "end"; state: "failed" | "cancelled" | "timed_out"; reason: string };

export interface Plan {
  /** Every step's status after the change, in definition order. */
  steps: StepStatus[];
  /** Names of the steps whose status changed. */
  changed: string[];
  /** Steps whose task must be created now, with its payload (D8). */
  start: { step: string; payload: JsonObject }[];
  /** Tasks to cancel as CancelTask does (D6, D11). */
  cancel: { step: string; taskId: string; reason: string }[];
  /** Run events, in order; `step` is null for RUN_* events. */
  events: { type: RunEventName; step: string | null }[];
  /** Set when the run ends with this change. */
  end: { state: Exclude<RunStateName, "running">; reason: string; output: JsonObject } | null;
}

export function newStepStatus(name: string): StepStatus {
  return {
    name,
    state: "waiting",
    taskId: null,
    output: null,
    error: null,
    reason: "",
    join: null,
    fallbackFor: "",
    approval: null,
    startedAt: null,
    endedAt: null,
  };
}

type Effective = { kind: "ok"; output: JsonObject } | { kind: "failed" } | { kind: "skipped" } | { kind: "pending" };

/** Applies one event to a running run and settles every consequence. */
export function advance(def: WorkflowDef, input: JsonObject, current: readonly StepStatus[], event: RunInputEvent, now: Date): Plan {
  const planner = new Planner(def, input, current, now.toISOString());
  planner.apply(event);
  planner.settle();
  return planner.result(current);
}

class Planner {
  readonly steps = new Map<string, StepStatus>();
  readonly defs = new Map<string, StepDef>();
  readonly incoming = new Map<string, EdgeDef[]>();
  readonly outgoing = new Map<string, EdgeDef[]>();
  /** fallback step → the step it stands in for */
  readonly fallbackOf = new Map<string, string>();
  readonly start: Plan["start"] = [];
  readonly cancel: Plan["cancel"] = [];
  readonly events: Plan["events"] = [];
  end: Plan["end"] = null;

  constructor(
    readonly def: WorkflowDef,
    readonly input: JsonObject,
    current: readonly StepStatus[],
    readonly now: string,
  ) {
    for (const s of current) this.steps.set(s.name, structuredClone(s));
    for (const s of def.steps) {
      this.defs.set(s.name, s);
      this.incoming.set(s.name, []);
      this.outgoing.set(s.name, []);
      if (!this.steps.has(s.name)) this.steps.set(s.name, newStepStatus(s.name));
      if (s.onFailure.action === "fallback") this.fallbackOf.set(s.onFailure.fallbackStep, s.name);
    }
    for (const e of def.edges) {
      this.incoming.get(e.to)?.push(e);
      this.outgoing.get(e.from)?.push(e);
    }
  }

  status(name: string): StepStatus {
    const s = this.steps.get(name);
    if (!s) throw new Error(`workflow has no step ${name}`);
    return s;
  }

  apply(event: RunInputEvent): void {
    switch (event.kind) {
      case "start":
        this.events.push({ type: "run_started", step: null });
        return;
      case "task_completed": {
        const s = this.status(event.step);
        if (s.state !== "running") return; // D14
        s.state = "succeeded";
        s.output = event.output;
        s.endedAt = this.now;
        this.events.push({ type: "step_succeeded", step: s.name });
        return;
      }
      case "task_failed": {
        const s = this.status(event.step);
        if (s.state !== "running") return; // D14
        this.fail(s, event.error, event.reason);
        return;
      }
      case "approve": {
        const s = this.status(event.step);
        if (s.state !== "waiting_approval") throw new Error(`step ${s.name} is not waiting for approval`);
        s.approval = { ...s.approval!, decidedAt: this.now, approved: true, decidedBy: event.by, comment: event.comment };
        this.events.push({ type: "step_approved", step: s.name });
        this.startTask(s);
        return;
      }
      case "reject": {
        const s = this.status(event.step);
        if (s.state !== "waiting_approval") throw new Error(`step ${s.name} is not waiting for approval`);
        s.approval = { ...s.approval!, decidedAt: this.now, approved: false, decidedBy: event.by, comment: event.reason };
        this.events.push({ type: "step_rejected", step: s.name });
        const who = event.by === "" ? "" : ` by ${event.by}`;
        const message = event.reason === "" ? `approval rejected${who}` : `approval rejected${who}: ${event.reason}`;
        this.fail(s, { type: "approval_rejected", message, nonRetryable: true }, message);
        return;
      }
      case "end":
        this.endRun(event.state, event.reason);
        return;
    }
  }

  /** D9: the step failed for good; its on_failure decides what follows. */
  fail(s: StepStatus, error: StoredError, reason: string): void {
    s.state = "failed";
    s.error = error;
    s.reason = reason;
    s.endedAt = this.now;
    this.events.push({ type: "step_failed", step: s.name });
    const onFailure = this.defs.get(s.name)!.onFailure;
    if (onFailure.action === "fail_run") {
      const standsFor = s.fallbackFor === "" ? "" : ` (the fallback of ${s.fallbackFor})`;
      this.endRun("failed", `step ${s.name}${standsFor} failed: ${reason}`);
    } else if (onFailure.action === "fallback") {
      const f = this.status(onFailure.fallbackStep);
      if (f.state === "waiting") {
        f.fallbackFor = s.name;
        this.activate(f);
      }
    }
  }

  /** The join is satisfied (or a fallback is due): start, or ask for approval first (D10). */
  activate(s: StepStatus): void {
    if (this.defs.get(s.name)!.requiresApproval) {
      s.state = "waiting_approval";
      s.startedAt = this.now;
      s.approval = { requestedAt: this.now, decidedAt: null, approved: false, decidedBy: "", comment: "" };
      this.events.push({ type: "step_waiting_approval", step: s.name });
      return;
    }
    this.startTask(s);
  }

  startTask(s: StepStatus): void {
    const payload = this.payloadOf(s);
    const problem = payloadProblem(payload);
    if (problem) {
      s.state = "running"; // so fail() records it like any failed start
      this.fail(s, { type: "step_input_invalid", message: problem, nonRetryable: true }, problem);
      return;
    }
    s.state = "running";
    s.startedAt ??= this.now;
    this.start.push({ step: s.name, payload });
    this.events.push({ type: "step_started", step: s.name });
  }

  /** D11: end the run; unfinished steps are cancelled, running tasks with them. */
  endRun(state: Exclude<RunStateName, "running">, reason: string): void {
    if (this.end) return;
    this.end = { state, reason, output: state === "succeeded" ? this.leafOutputs() : {} };
    if (state !== "succeeded") {
      for (const d of this.def.steps) {
        const s = this.status(d.name);
        if (!ACTIVE_STEP_STATES.includes(s.state)) continue;
        this.cancelStep(s, `run ${state.replace("_", " ")}: ${reason}`);
      }
    }
    this.events.push({ type: `run_${state}`, step: null });
  }

  cancelStep(s: StepStatus, reason: string): void {
    if (s.state === "running" && s.taskId !== null) this.cancel.push({ step: s.name, taskId: s.taskId, reason });
    if (s.state === "failed") {
      // A failed step whose fallback is still going: the fallback is what runs.
      const f = this.defs.get(s.name)!.onFailure;
      if (f.action === "fallback") {
        const fb = this.status(f.fallbackStep);
        if (ACTIVE_STEP_STATES.includes(fb.state)) this.cancelStep(fb, reason);
      }
      return;
    }
    if (!ACTIVE_STEP_STATES.includes(s.state)) return;
    s.state = "cancelled";
    s.reason = reason;
    s.endedAt = this.now;
    this.events.push({ type: "step_cancelled", step: s.name });
  }

  skip(s: StepStatus, reason: string): void {
    s.state = "skipped";
    s.reason = reason;
    s.endedAt = this.now;
    this.events.push({ type: "step_skipped", step: s.name });
  }

  /** What a step's outgoing edges see: its output, or its fallback's (D9). */
  effective(name: string): Effective {
    const s = this.status(name);
    switch (s.state) {
      case "succeeded":
        return { kind: "ok", output: s.output ?? {} };
      case "skipped":
        return { kind: "skipped" };
      case "cancelled":
        return { kind: "failed" };
      case "failed": {
        const f = this.defs.get(name)!.onFailure;
        if (f.action !== "fallback") return { kind: "failed" };
        const fb = this.status(f.fallbackStep);
        if (fb.fallbackFor !== name) return { kind: "failed" };
        if (fb.state === "succeeded") return { kind: "ok", output: fb.output ?? {} };
        return fb.state === "running" || fb.state === "waiting_approval" ? { kind: "pending" } : { kind: "failed" };
      }
      default:
        return { kind: "pending" };
    }
  }

  edgeState(e: EdgeDef): EdgeStateName {
    const eff = this.effective(e.from);
    switch (eff.kind) {
      case "ok":
        return e.condition === null || conditionHolds(e.condition, eff.output) ? "taken" : "not_taken";
      case "skipped":
        return "not_taken";
      case "failed":
        return "failed";
      case "pending":
        return "pending";
    }
  }

  /** Decides every waiting step whose join can now be decided, until nothing changes (D5). */
  settle(): void {
    for (let progressed = true; progressed && !this.end; ) {
      progressed = false;
      for (const d of this.def.steps) {
        if (this.end) break;
        const s = this.status(d.name);
        if (s.state !== "waiting") continue;
        const target = this.fallbackOf.get(d.name);
        if (target !== undefined) {
          // A fallback starts only from fail(); once its step can no longer fail, it is not needed.
          const t = this.status(target);
          if (t.state !== "waiting" && t.state !== "waiting_approval" && t.state !== "running") {
            this.skip(s, t.state === "failed" ? `not started for ${target}` : `not needed: ${target} ${t.state}`);
            progressed = true;
          }
          continue;
        }
        if (this.decideJoin(d, s)) progressed = true;
      }
    }
    if (this.end) return;
    const active = [...this.steps.values()].some((s) => ACTIVE_STEP_STATES.includes(s.state));
    if (!active) {
      const failed = this.def.steps.filter((d) => this.status(d.name).state === "failed").map((d) => d.name);
      this.endRun(
        "succeeded",
        failed.length === 0 ? "every step finished" : `every step finished; the run continued past failed steps: ${failed.join(", ")}`,
      );
    }
  }

  /** True when the step left WAITING. */
  decideJoin(d: StepDef, s: StepStatus): boolean {
    const edges = this.incoming.get(d.name)!;
    const states = edges.map((e) => ({ from: e.from, label: e.label, state: this.edgeState(e) }));
    const count = (st: EdgeStateName) => states.filter((x) => x.state === st).length;
    const taken = count("taken");
    const pending = count("pending");
    const required =
      edges.length === 0 ? 0
      : d.join.mode === "quorum" ? (d.join.count > 0 ? d.join.count : Math.ceil((d.join.percent * edges.length) / 100))
      : 1;
    s.join = { mode: d.join.mode, required, edges: states, satisfied: false };
    if (edges.length === 0) {
      s.join.satisfied = true;
      this.activate(s);
      return true;
    }
    if (d.join.mode === "wait_for_all") {
      const failed = states.find((x) => x.state === "failed");
      if (failed) {
        this.skip(s, `parent ${failed.from} failed or was cancelled`);
        return true;
      }
      if (pending > 0) return false;
      if (taken === 0) {
        this.skip(s, "no incoming edge was taken (conditions did not hold or parents were skipped)");
        return true;
      }
      s.join.satisfied = true;
      this.activate(s);
      return true;
    }
    if (taken >= required) {
      s.join.satisfied = true;
      this.activate(s);
      if (d.join.remaining === "cancel") {
        for (const x of states) {
          if (x.state !== "pending") continue;
          this.cancelStep(this.status(x.from), `quorum of ${d.name} met (${taken} of ${required} needed): remaining parents cancelled`);
        }
      }
      return true;
    }
    if (taken + pending < required) {
      this.skip(s, `quorum of ${required} can no longer be met: ${taken} taken, ${edges.length - taken - pending} failed or not taken`);
      return true;
    }
    return false;
  }

  /** D8: the input mapping applied to the run input and the parents' outputs. */
  payloadOf(s: StepStatus): JsonObject {
    const d = this.defs.get(s.name)!;
    const standsFor = this.fallbackOf.get(s.name);
    const parentEdges = this.incoming.get(standsFor ?? s.name)!;
    const outputs: JsonObject = {};
    for (const e of parentEdges) {
      const eff = this.effective(e.from);
      if (eff.kind === "ok") outputs[e.from] = eff.output;
    }
    if (d.input.length === 0) {
      const payload: JsonObject = { input: this.input, steps: outputs };
      if (standsFor !== undefined) {
        const failed = this.status(standsFor);
        payload.failed_step = { name: standsFor, error: (failed.error ?? null) as JsonValue };
      }
      return payload;
    }
    const payload: JsonObject = {};
    for (const { key, selector } of d.input) {
      if ("error" in selector) continue; // refused at PutWorkflow (D1)
      const value = selector.source === "input" ? valueAt(this.input, selector.path) : valueAt(outputs[selector.step], selector.path);
      if (value !== undefined) payload[key] = value;
    }
    return payload;
  }

  leafOutputs(): JsonObject {
    const out: JsonObject = {};
    for (const d of this.def.steps) {
      if (this.outgoing.get(d.name)!.length > 0 || this.fallbackOf.has(d.name)) continue;
      const eff = this.effective(d.name);
      if (eff.kind === "ok") out[d.name] = eff.output;
    }
    return out;
  }

  result(before: readonly StepStatus[]): Plan {
    const prior = new Map(before.map((s) => [s.name, JSON.stringify(s)]));
    const steps = this.def.steps.map((d) => this.status(d.name));
    return {
      steps,
      changed: steps.filter((s) => prior.get(s.name) !== JSON.stringify(s)).map((s) => s.name),
      start: this.start,
      cancel: this.cancel,
      events: this.events,
      end: this.end,
    };
  }
}

/** A payload must be storable as a task payload (the limits of CreateTask). */
function payloadProblem(payload: JsonObject): string | undefined {
  const bytes = Buffer.byteLength(JSON.stringify(payload));
  if (bytes > limits.jsonMaxBytes) return `the step's input is ${bytes} bytes as JSON; a task payload holds at most ${limits.jsonMaxBytes}`;
  if (depth(payload, 0) > limits.jsonMaxDepth) return `the step's input is nested deeper than ${limits.jsonMaxDepth} levels`;
  return undefined;
}

function depth(value: JsonValue, d: number): number {
  if (d > limits.jsonMaxDepth) return d;
  if (Array.isArray(value)) return value.reduce<number>((m, v) => Math.max(m, depth(v, d + 1)), d);
  if (value !== null && typeof value === "object") return Object.values(value).reduce<number>((m, v) => Math.max(m, depth(v, d + 1)), d);
  return d;
}
