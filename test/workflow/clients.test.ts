// The YAML form from the outside: `baton workflow put FILE --server URL` and
// the TS SDK's WorkflowClient (putWorkflowYaml, runs, approvals, watchRun).
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatonError, RunEventType, RunState, StepState, WorkflowClient } from "../../sdk/ts/src/index.js";
import { putWorkflowFile } from "../../server/src/cli/workflow-command.js";
import { backends } from "../support/baton.js";
import { eventually } from "../support/protocol.js";
import { startWorkflowBaton, StepWorker, type WorkflowBaton, SETUP_TIMEOUT_MS } from "./support.js";

const ROOT = resolve(import.meta.dirname, "../..");

const GOOD = `kind: Workflow
metadata: {name: cli-flow}
spec:
  steps:
    - {name: a, task_type: cl.t, queue: wf-clients}
    - {name: b, task_type: cl.t, queue: wf-clients, requires_approval: true}
  edges:
    - {from: a, to: b}
`;

const BAD = `metadata: {name: cli-bad}
spec:
  steps:
    - {name: a, task_type: cl.t, queue: wf-clients}
  edges:
    - {from: a, to: zz}
`;

function sink() {
  let text = "";
  return { write: (s: string) => (text += s), get text() { return text; } };
}

describe.each(backends)("workflow CLI and SDK on %s", (backend) => {
  let baton: WorkflowBaton;
  let dir: string;
  beforeAll(async () => {
    baton = await startWorkflowBaton(backend);
    dir = await mkdtemp(join(tmpdir(), "baton-wf-cli-"));
    await writeFile(join(dir, "good.yaml"), GOOD);
    await writeFile(join(dir, "bad.yaml"), BAD);
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await baton?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("baton workflow put: stores a YAML file, and lists every problem with its line when refused", async () => {
    // The real command line, once: `npx baton` resolves package.json's bin (server/bin/baton.js).
    const run = promisify(execFile);
    const { stdout } = await run("npx", ["--no-install", "baton", "workflow", "put", join(dir, "good.yaml"), "--server", baton.url], { cwd: ROOT });
    expect(stdout).toMatch(/^workflow default\/cli-flow created at resource_version \d+\n$/);

    const out = sink();
    const err = sink();
    expect(await putWorkflowFile(join(dir, "good.yaml"), { server: baton.url }, out, err)).toBe(0);
    expect(out.text).toMatch(/workflow default\/cli-flow is unchanged at resource_version \d+/);
    expect(await putWorkflowFile(join(dir, "bad.yaml"), { server: baton.url }, out, err)).toBe(1);
    expect(err.text).toContain("error: INVALID_FIELD:");
    expect(err.text).toMatch(/yaml\.spec\.edges\[0\]\.to_step: names step "zz", which does not exist.*\(line 6\)/);
    expect(await putWorkflowFile(join(dir, "missing.yaml"), { server: baton.url }, out, err)).toBe(2);
  });

  it("WorkflowClient: putWorkflowYaml, startRun, approveStep and watchRun to the end", async () => {
    const client = new WorkflowClient({ baseUrl: baton.url });
    const worker = new StepWorker(baton.url, "wf-clients", ["cl.t"]).start();
    try {
      const put = await client.putWorkflowYaml(GOOD.replace("cli-flow", "sdk-flow"));
      expect(put.created).toBe(true);
      expect(put.workflow.spec!.steps.map((s) => s.name)).toEqual(["a", "b"]);
      const refused = await client.putWorkflowYaml(BAD).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(BatonError);
      expect((refused as BatonError).fieldViolations.map((v) => v.field)).toEqual(["yaml.spec.edges[0].to_step"]);

      const { run } = await client.startRun({ workflow: "sdk-flow", input: { x: 1 } });
      await eventually(async () => ((await client.getRun(run.id)).steps[1]!.state === StepState.WAITING_APPROVAL ? true : undefined), "b waits");
      await client.approveStep(run.id, "b", { approver: "sdk" });
      const types: RunEventType[] = [];
      for await (const e of client.watchRun(run.id)) types.push(e.type);
      expect(types[types.length - 1]).toBe(RunEventType.RUN_SUCCEEDED);
      expect((await client.getRun(run.id)).state).toBe(RunState.SUCCEEDED);
    } finally {
      client.close();
      await worker.stop();
    }
  });
});
