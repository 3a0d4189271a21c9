import { toJson } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ConditionOperator, FailureAction, JoinMode, RemainingParents, WorkflowSchema } from "../../../gen/ts/baton/v1/workflow_pb.js";
import { durationSeconds, workflowFromYaml } from "./workflow-yaml.js";

const EXAMPLE = `
api_version: baton.v1
kind: Workflow
metadata:
  name: orders
  labels: {team: shop}
spec:
  runTimeout: 10m
  steps:
    - name: fetch
      task_type: order.fetch
      queue: orders
      input: {id: $.input.order_id}
      timeouts: {start_to_close_timeout: 1h30m, heartbeat_timeout: 500ms}
      retry_policy: {initial_backoff: 2s, max_backoff: 1m}
      max_attempts: 5
    - name: charge
      task_type: payment.charge
      queue: payments
      requires_approval: true
      on_failure: {action: fallback, fallback_step: invoice}
    - {name: invoice, task_type: payment.invoice, queue: payments}
    - name: ship
      task_type: ship
      queue: orders
      on_failure: continue
      join: {quorum_count: 1, remaining: cancel}
  edges:
    - {from: fetch, to: charge}
    - {from: charge, to: ship, label: paid, condition: {path: $.status, in: [paid, deferred]}}
    - {from_step: fetch, toStep: ship, condition: {path: $.express, exists: false}}
`;

describe("workflow YAML", () => {
  it("reads the YAML form into a Workflow, with short enums, durations and edge aliases", () => {
    const parsed = workflowFromYaml(EXAMPLE);
    expect(parsed.violations).toEqual([]);
    const wf = parsed.workflow!;
    expect(wf.metadata).toMatchObject({ name: "orders", labels: { team: "shop" } });
    expect(wf.spec!.runTimeout!.seconds).toBe(600n);
    const [fetch, charge, , ship] = wf.spec!.steps;
    expect(fetch!.input).toEqual({ id: "$.input.order_id" });
    expect(fetch!.timeouts!.startToCloseTimeout!.seconds).toBe(5400n);
    expect(fetch!.timeouts!.heartbeatTimeout!.nanos).toBe(500_000_000);
    expect(charge!.onFailure).toMatchObject({ action: FailureAction.FALLBACK, fallbackStep: "invoice" });
    expect(ship!.onFailure!.action).toBe(FailureAction.CONTINUE);
    expect(ship!.join).toMatchObject({ mode: JoinMode.UNSPECIFIED, quorumCount: 1, remaining: RemainingParents.CANCEL });
    const [e0, e1, e2] = wf.spec!.edges;
    expect(e0).toMatchObject({ fromStep: "fetch", toStep: "charge" });
    expect(e1!.condition!.operator).toBe(ConditionOperator.IN);
    expect((toJson(WorkflowSchema, wf) as { spec: unknown }).spec).toMatchObject({ edges: [{}, { condition: { value: ["paid", "deferred"] } }, {}] });
    expect(e2).toMatchObject({ fromStep: "fetch", toStep: "ship" });
    expect(e2!.condition!.operator).toBe(ConditionOperator.NOT_EXISTS);
  });

  it("reports every unknown key and bad value with its line", () => {
    const parsed = workflowFromYaml(`kind: Flow
metadata: {name: x}
spec:
  stepz: []
  steps:
    - name: a
      task_type: t
      queue: q
      on_failure: {action: explode}
      timeouts: {start_to_close_timeout: 30}
  edges:
    - {from: a, too: b}
`);
    const byField = Object.fromEntries(parsed.violations.map((v) => [v.field, v.description]));
    expect(byField["yaml.kind"]).toMatch(/must be Workflow; got "Flow" \(line 1\)/);
    expect(byField["yaml.spec.stepz"]).toMatch(/is not a field of WorkflowSpec \(line 4\)/);
    expect(byField["yaml.spec.steps[0].on_failure.action"]).toMatch(/must be one of fail_run, continue, fallback; got "explode" \(line 9\)/);
    expect(byField["yaml.spec.steps[0].timeouts.start_to_close_timeout"]).toMatch(/duration with units.*\(line 10\)/);
    expect(byField["yaml.spec.edges[0].too"]).toMatch(/is not a field of Edge \(line 12\).*from, to/);
    expect(parsed.workflow).toBeUndefined();
  });

  it("reports broken YAML with its position, and locates validation problems", () => {
    const broken = workflowFromYaml("metadata: {name: x\nspec: [");
    expect(broken.violations[0]!.field).toBe("yaml");
    expect(broken.violations[0]!.description).toMatch(/is not valid YAML at line \d+, column \d+/);
    const ok = workflowFromYaml(EXAMPLE);
    expect(ok.locate("yaml.spec.steps[1].on_failure.fallback_step")).toBe(" (line 21)");
    expect(ok.locate("yaml.spec.edges[2].from_step")).toBe(" (line 31)");
    expect(ok.locate('yaml.spec.steps[0].input["id"]')).toBe(" (line 13)");
  });

  it("reads durations with units", () => {
    expect(durationSeconds("1h30m")).toBe(5400);
    expect(durationSeconds("250ms")).toBe(0.25);
    expect(durationSeconds("1.5s")).toBe(1.5);
    expect(durationSeconds("2d")).toBe(172800);
    expect(durationSeconds("10")).toBeUndefined();
    expect(durationSeconds("1 h")).toBeUndefined();
  });
});

describe("docs/WORKFLOWS.md", () => {
  it("its YAML example is a valid workflow", async () => {
    const { readFile } = await import("node:fs/promises");
    const { analyseWorkflow } = await import("./workflow-analysis.js");
    const { workflowDefFromSpec } = await import("./workflow-def.js");
    const { Violations } = await import("./validation.js");
    const doc = await readFile(new URL("../../../docs/WORKFLOWS.md", import.meta.url), "utf8");
    const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)![1]!;
    const parsed = workflowFromYaml(yaml);
    expect(parsed.violations).toEqual([]);
    const v = new Violations();
    const def = workflowDefFromSpec(parsed.workflow!.spec, v, "spec.");
    expect([...v.list, ...analyseWorkflow(def)]).toEqual([]);
    expect(def.steps.map((s) => s.name)).toContain("send-invoice");
  });
});
