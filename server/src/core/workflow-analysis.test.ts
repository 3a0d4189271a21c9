import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  FailureAction,
  JoinMode,
  RemainingParents,
  WorkflowSpecSchema,
  type EdgeSchema,
  type StepSchema,
} from "../../../gen/ts/baton/v1/workflow_pb.js";
import { analyseWorkflow } from "./workflow-analysis.js";
import { workflowDefFromSpec } from "./workflow-def.js";
import { Violations } from "./validation.js";

type StepInit = MessageInitShape<typeof StepSchema>;
type EdgeInit = MessageInitShape<typeof EdgeSchema>;

// Test shorthand: extra fields are checked by create() at run time.
const step = (name: string, extra: Record<string, unknown> = {}) => ({ name, taskType: "t", queue: "q", ...extra }) as StepInit;
const edge = (fromStep: string, toStep: string, extra: Record<string, unknown> = {}) => ({ fromStep, toStep, ...extra }) as EdgeInit;

function analyse(steps: StepInit[], edges: EdgeInit[] = []) {
  const v = new Violations();
  const def = workflowDefFromSpec(create(WorkflowSpecSchema, { steps, edges }), v, "spec.");
  return { fields: v.list, graph: analyseWorkflow(def) };
}

const fieldsOf = (list: { field: string }[]) => list.map((x) => x.field);

describe("workflow static analysis (D1)", () => {
  it("accepts a valid DAG with fan-out, a quorum fan-in, a fallback and input mappings", () => {
    const { fields, graph } = analyse(
      [
        step("fetch", { input: { id: "$.input.order.id" } }),
        step("a", { input: { x: "$.steps.fetch.output.items[0]" }, onFailure: { fallbackStep: "a-backup" } }),
        step("a-backup", { input: { x: "$.steps.fetch.output" } }),
        step("b"),
        step("c"),
        step("vote", { join: { quorumCount: 2, remaining: RemainingParents.CANCEL }, input: { a: "$.steps.a.output.v", b: "$.steps.b.output" } }),
      ],
      [edge("fetch", "a"), edge("fetch", "b"), edge("fetch", "c"), edge("a", "vote"), edge("b", "vote"), edge("c", "vote")],
    );
    expect(fields).toEqual([]);
    expect(graph).toEqual([]);
  });

  it("reports every problem at once, each naming the step and the fix", () => {
    const { graph } = analyse(
      [
        step("fetch"),
        step("fetch"), // duplicate name
        step("charge", { input: { total: "$.steps.ship.output.total", bad: "input.x" } }), // non-parent, malformed
        step("ship", { join: { mode: JoinMode.QUORUM, quorumCount: 3 } }), // 1 parent, quorum 3
        step("loop-a"),
        step("loop-b"),
        step("after-loop"),
        step("lonely", { join: { quorumPercent: 50 } }), // root with a quorum
      ],
      [
        edge("fetch", "charge"),
        edge("charge", "ship"),
        edge("chrage", "ship"), // unknown, near miss
        edge("fetch", "charge"), // duplicate edge
        edge("loop-a", "loop-b"),
        edge("loop-b", "loop-a"), // cycle without entry
        edge("loop-b", "after-loop"),
        edge("ship", "ship"), // self-loop
      ],
    );
    const byField = Object.fromEntries(graph.map((x) => [x.field, x.description]));
    expect(byField["spec.steps[1].name"]).toMatch(/"fetch" is already used by steps\[0\].*rename/);
    expect(byField["spec.edges[2].from_step"]).toMatch(/"chrage", which does not exist; did you mean "charge"\?/);
    expect(byField["spec.edges[3]"]).toMatch(/repeats the edge fetch → charge of edges\[0\]/);
    expect(byField["spec.edges[7]"]).toMatch(/connects step "ship" to itself.*remove this edge/);
    expect(byField["spec.edges[5]"]).toMatch(/steps loop-a → loop-b → loop-a form a cycle.*remove one of edges\[4\], edges\[5\]/);
    expect(byField["spec.steps[6].name"]).toMatch(/"after-loop" is unreachable.*"loop-b", which are in a cycle/);
    expect(byField["spec.steps[3].join.quorum_count"]).toMatch(/is 3, but step "ship" has 1 parent \(charge\).*use 1..1 or add edges/);
    expect(byField["spec.steps[7].join"]).toMatch(/"lonely" has no incoming edges, so its quorum can never be met/);
    expect(byField['spec.steps[2].input["total"]']).toMatch(/reads the output of step "ship", which is not a parent of "charge": add an edge ship → charge/);
    expect(byField['spec.steps[2].input["bad"]']).toMatch(/must start with "\$"/);
    // Loop members are reported through their cycle, not again as unreachable.
    expect(fieldsOf(graph)).not.toContain("spec.steps[4].name");
    expect(graph.every((x) => x.description.length > 20)).toBe(true);
  });

  it("checks fallbacks: known, not itself, no edges of their own, not shared, not falling back again", () => {
    const { fields, graph } = analyse(
      [
        step("a", { onFailure: { action: FailureAction.FALLBACK } }),
        step("b", { onFailure: { fallbackStep: "nope" } }),
        step("c", { onFailure: { fallbackStep: "c" } }),
        step("d", { onFailure: { fallbackStep: "fb" } }),
        step("e", { onFailure: { fallbackStep: "fb" } }),
        step("fb", { onFailure: { fallbackStep: "a" } }),
        step("f", { onFailure: { action: FailureAction.CONTINUE, fallbackStep: "a" } }),
      ],
      [edge("a", "fb")],
    );
    const byField = Object.fromEntries([...fields, ...graph].map((x) => [x.field, x.description]));
    expect(byField["spec.steps[0].on_failure.fallback_step"]).toMatch(/is required with action FALLBACK/);
    expect(byField["spec.steps[1].on_failure.fallback_step"]).toMatch(/"nope", which does not exist/);
    expect(byField["spec.steps[2].on_failure.fallback_step"]).toMatch(/cannot be its own fallback/);
    expect(byField["spec.steps[3].on_failure.fallback_step"]).toMatch(/"fb", which has incoming edges \(edges\[0\]\)/);
    expect(byField["spec.steps[4].on_failure.fallback_step"]).toMatch(/already the fallback of "d"/);
    expect(byField["spec.steps[5].on_failure.action"]).toMatch(/cannot fall back again/);
    expect(byField["spec.steps[6].on_failure.fallback_step"]).toMatch(/only used with action FALLBACK/);
  });

  it("lets a fallback read the failed step's parents, and no one else's", () => {
    const { graph } = analyse(
      [
        step("fetch"),
        step("other"),
        step("pay", { onFailure: { fallbackStep: "pay-later" } }),
        step("pay-later", { input: { order: "$.steps.fetch.output", x: "$.steps.other.output" } }),
      ],
      [edge("fetch", "pay")],
    );
    expect(graph).toHaveLength(1);
    expect(graph[0]!.field).toBe('spec.steps[3].input["x"]');
    expect(graph[0]!.description).toMatch(/not a parent of "pay", whose fallback "pay-later" is/);
  });

  it("validates step task settings like CreateTask, and join and condition fields", () => {
    const { fields } = analyse(
      [
        step("Bad Name", { queue: "", taskType: "", maxAttempts: 5000, labels: { "baton.run": "x" } }),
        step("b", { join: { quorumCount: 1 } }),
        step("c", { join: { mode: JoinMode.WAIT_FOR_ALL, quorumCount: 1 } }),
      ],
      [
        edge("b", "c", { condition: { path: "status", operator: 1, value: { kind: { case: "stringValue", value: "ok" } } } }),
        edge("Bad Name", "b", { condition: { path: "$.x", operator: 3, value: { kind: { case: "stringValue", value: "ok" } } } }),
        edge("Bad Name", "c", { condition: { path: "$.x", operator: 0 } }),
      ],
    );
    expect(fieldsOf(fields)).toEqual(
      expect.arrayContaining([
        "spec.steps[0].name",
        "spec.steps[0].queue",
        "spec.steps[0].task_type",
        "spec.steps[0].max_attempts",
        'spec.steps[0].labels["baton.run"]',
        "spec.edges[0].condition.path",
        "spec.edges[1].condition.value",
        "spec.edges[2].condition.operator",
      ]),
    );
    const { graph } = analyse([step("a"), step("c", { join: { mode: JoinMode.WAIT_FOR_ALL, quorumCount: 1 } })], [edge("a", "c")]);
    expect(graph.map((x) => x.field)).toEqual(["spec.steps[1].join"]);
  });

  it("reports a graph where no step can start", () => {
    const { graph } = analyse([step("a"), step("b")], [edge("a", "b"), edge("b", "a")]);
    expect(fieldsOf(graph)).toEqual(expect.arrayContaining(["spec.steps", "spec.edges[1]"]));
  });
});
