// Workflow definitions as versioned resources (D1, D2, D3, D16) and idempotent
// StartRun (D17): static analysis over the API, YAML, versions, and runs that
// keep the definition they started with.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunState } from "../../gen/ts/baton/v1/workflow_pb.js";
import type { AgentContract } from "../../gen/ts/baton/v1/contract_pb.js";
import { backends } from "../support/baton.js";
import { expectBatonError, expectInvalid } from "../support/protocol.js";
import { putYaml, runToEnd, startWorkflowBaton, StepWorker, stepOf, type WorkflowBaton, SETUP_TIMEOUT_MS } from "./support.js";

function workflowActions(contract: AgentContract | undefined): string[] {
  expect(contract, "every response carries a contract (C1)").toBeDefined();
  return contract!.nextActions.map((a) => {
    expect(a.httpPath).toBe(`/${a.rpc}`);
    return a.rpc.replace(/^baton\.v1\.WorkflowService\//, "");
  });
}

const TWO_STEPS = (name: string, second = "second") => `
metadata: {name: ${name}}
spec:
  steps:
    - {name: first, task_type: defs.t, queue: wf-defs}
    - {name: ${second}, task_type: defs.t, queue: wf-defs}
  edges:
    - {from: first, to: ${second}}
`;

describe.each(backends)("workflow definitions on %s", (backend) => {
  let baton: WorkflowBaton;
  beforeAll(async () => {
    baton = await startWorkflowBaton(backend);
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => baton?.close());

  it("refuses a definition with every static-analysis problem at once, with lines, and stores nothing", async () => {
    const yaml = `metadata: {name: broken}
spec:
  steps:
    - {name: fetch, task_type: t, queue: q}
    - {name: fetch, task_type: t, queue: q}
    - name: charge
      task_type: t
      queue: q
      input: {total: $.steps.ship.output.total}
    - {name: ship, task_type: t, queue: q, join: {quorum_count: 4}}
    - {name: loop-a, task_type: t, queue: q}
    - {name: loop-b, task_type: t, queue: q}
    - {name: orphan, task_type: t, queue: q}
  edges:
    - {from: fetch, to: charge}
    - {from: charge, to: ship}
    - {from: chrage, to: ship}
    - {from: loop-a, to: loop-b}
    - {from: loop-b, to: loop-a}
    - {from: loop-b, to: orphan}
`;
    const failure = await expectInvalid(
      baton.workflows.putWorkflow({ definition: { case: "yaml", value: yaml } }),
      "yaml.spec.steps[1].name",
      'yaml.spec.steps[2].input["total"]',
      "yaml.spec.steps[3].join.quorum_count",
      "yaml.spec.edges[2].from_step",
      "yaml.spec.edges[4]",
      "yaml.spec.steps[6].name",
    );
    const byField = Object.fromEntries(failure.detail.fieldViolations.map((v) => [v.field, v.description]));
    expect(byField["yaml.spec.steps[1].name"]).toMatch(/already used by steps\[0\].*\(line 5\)$/);
    expect(byField["yaml.spec.edges[2].from_step"]).toMatch(/did you mean "charge"\? \(line 17\)$/);
    expect(byField["yaml.spec.edges[4]"]).toMatch(/loop-a → loop-b → loop-a form a cycle/);
    expect(byField["yaml.spec.steps[3].join.quorum_count"]).toMatch(/is 4, but step "ship" has 1 parent/);
    expect(byField['yaml.spec.steps[2].input["total"]']).toMatch(/not a parent of "charge"/);
    expect(byField["yaml.spec.steps[6].name"]).toMatch(/"orphan" is unreachable/);
    expect(workflowActions(failure.detail.contract)).toEqual(["PutWorkflow"]);
    await expectBatonError(baton.workflows.getWorkflow({ name: "broken" }), Code.NotFound, "WORKFLOW_NOT_FOUND");

    // The same checks for a message, with paths under workflow.
    await expectInvalid(
      baton.workflows.putWorkflow({ definition: { case: "workflow", value: { metadata: { name: "Bad!" }, spec: { steps: [] } } } }),
      "workflow.metadata.name",
      "workflow.spec.steps",
    );
    await expectInvalid(baton.workflows.putWorkflow({}), "definition");
  });

  it("versions definitions: create, unchanged put, update with the current version, stale version ABORTED", async () => {
    const first = await baton.workflows.putWorkflow({ definition: { case: "yaml", value: TWO_STEPS("versioned") } });
    expect(first.created).toBe(true);
    expect(first.changed).toBe(true);
    const v1 = first.workflow!.metadata!.resourceVersion;
    expect(v1).toMatch(/^\d+$/);
    expect(first.workflow!.metadata!.namespace).toBe("default");
    expect(first.contract!.resource).toBe("workflow/default/versioned");
    expect(workflowActions(first.contract)).toEqual(expect.arrayContaining(["StartRun", "GetWorkflow", "PutWorkflow"]));

    const same = await baton.workflows.putWorkflow({ definition: { case: "yaml", value: TWO_STEPS("versioned") } });
    expect(same).toMatchObject({ created: false, changed: false });
    expect(same.workflow!.metadata!.resourceVersion).toBe(v1);

    const dry = await baton.workflows.putWorkflow({ definition: { case: "yaml", value: TWO_STEPS("versioned", "other") }, validateOnly: true });
    expect(dry.changed).toBe(true);
    expect((await baton.workflows.getWorkflow({ name: "versioned" })).workflow!.spec!.steps[1]!.name).toBe("second");

    const updated = await baton.workflows.putWorkflow({
      definition: { case: "yaml", value: `${TWO_STEPS("versioned", "third").replace("metadata: {name: versioned}", `metadata: {name: versioned, resource_version: "${v1}"}`)}` },
    });
    expect(updated.changed).toBe(true);
    const v2 = updated.workflow!.metadata!.resourceVersion;
    expect(BigInt(v2)).toBeGreaterThan(BigInt(v1));

    const stale = await expectBatonError(
      baton.workflows.putWorkflow({ definition: { case: "yaml", value: TWO_STEPS("versioned").replace("{name: versioned}", `{name: versioned, resource_version: "${v1}"}`) } }),
      Code.Aborted,
      "RESOURCE_VERSION_STALE",
    );
    expect(stale.err.message).toContain(`resource_version ${v2}`);
    expect(workflowActions(stale.detail.contract)).toEqual(["GetWorkflow"]);
    const got = await baton.workflows.getWorkflow({ name: "versioned" });
    expect(got.workflow!.metadata!.resourceVersion).toBe(v2);
    expect(got.workflow!.spec!.steps.map((s) => s.name)).toEqual(["first", "third"]);

    await putYaml(baton.workflows, TWO_STEPS("also-listed"));
    const list = await baton.workflows.listWorkflows({ pageSize: 1 });
    expect(list.workflows.map((w) => w.metadata!.name)).toEqual(["also-listed"]);
    const next = await baton.workflows.listWorkflows({ pageSize: 1, pageToken: list.nextPageToken });
    expect(next.workflows.map((w) => w.metadata!.name)).toEqual(["versioned"]);
    await expectBatonError(baton.workflows.deleteWorkflow({ name: "versioned", resourceVersion: v1 }), Code.Aborted, "RESOURCE_VERSION_STALE");
    const deleted = await baton.workflows.deleteWorkflow({ name: "versioned", resourceVersion: v2 });
    expect(deleted.workflow!.metadata!.resourceVersion).toBe(v2);
    await expectBatonError(baton.workflows.deleteWorkflow({ name: "versioned" }), Code.NotFound, "WORKFLOW_NOT_FOUND");
  });

  it("StartRun is idempotent per key (D17), NOT_FOUND for unknown names (D16), and a run keeps its definition (D3)", async () => {
    await putYaml(baton.workflows, TWO_STEPS("pinned"));
    const a = await baton.workflows.startRun({ workflow: "pinned", input: { n: 1 }, idempotencyKey: "order-1" });
    const b = await baton.workflows.startRun({ workflow: "pinned", input: { n: 1 }, idempotencyKey: "order-1" });
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.run!.id).toBe(a.run!.id);
    expect(a.run!.idempotencyKey).toBe("order-1");
    const reused = await expectBatonError(
      baton.workflows.startRun({ workflow: "pinned", input: { n: 2 }, idempotencyKey: "order-1" }),
      Code.AlreadyExists,
      "IDEMPOTENCY_KEY_REUSED",
    );
    expect(reused.fields).toEqual(["idempotency_key"]);
    const runs = await baton.workflows.listRuns({ workflow: "pinned" });
    expect(runs.runs.map((r) => r.id)).toEqual([a.run!.id]);

    await expectBatonError(baton.workflows.startRun({ workflow: "nope" }), Code.NotFound, "WORKFLOW_NOT_FOUND");
    await expectBatonError(baton.workflows.getRun({ id: "0193a0a0-0000-7000-8000-000000000000" }), Code.NotFound, "RUN_NOT_FOUND");
    await expectBatonError(
      baton.workflows.approveStep({ runId: a.run!.id, step: "nosuch" }),
      Code.NotFound,
      "STEP_NOT_FOUND",
    );
    await expectInvalid(baton.workflows.getRun({ id: "x" }), "id");
    await expectBatonError(
      baton.workflows.startRun({ workflow: "pinned", workflowVersion: "1" }),
      Code.Aborted,
      "RESOURCE_VERSION_STALE",
    );

    // Change the definition while the run waits on its first step, then finish it.
    await putYaml(baton.workflows, TWO_STEPS("pinned", "renamed"));
    await baton.workflows.deleteWorkflow({ name: "pinned" });
    const worker = new StepWorker(baton.url, "wf-defs", ["defs.t"]).start();
    try {
      const { run } = await runToEnd(baton.workflows, a.run!.id);
      expect(run.state).toBe(RunState.SUCCEEDED);
      expect(run.steps.map((s) => s.name)).toEqual(["first", "second"]);
      expect(run.spec!.steps.map((s) => s.name)).toEqual(["first", "second"]);
      expect(stepOf(run, "second").output).toMatchObject({ step: "second" });
      expect(run.workflowVersion).toBe(a.run!.workflowVersion);
    } finally {
      await worker.stop();
    }
  });
});
