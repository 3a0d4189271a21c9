// A workflow step completed over a worker stream advances its run at once: the
// next step's task is assigned and WatchRun hears the events well before any
// periodic re-check could have found them. The sequencer, sweeper and dispatch
// intervals are set long, so only the completion's own poke can explain a prompt
// event. (It once went missing: the call's copy of the engine lost its run-event
// sequencer, and stream-completed steps waited for the 1 s tick.)
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunEventType } from "../../gen/ts/baton/v1/workflow_pb.js";
import { WorkflowService } from "../../gen/ts/baton/v1/workflow_service_pb.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";
import { openRawSession } from "../support/raw-session.js";
import { putYaml, SETUP_TIMEOUT_MS } from "./support.js";

const LONG_MS = 60_000;
/** Far under every interval above, and under the old 1 s tick. */
const PROMPT_MS = 500;

describe.each(backends)("stream-completed workflow steps on %s", (backend) => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton(backend, { sequenceIntervalMs: LONG_MS, sweepIntervalMs: LONG_MS, dispatchTickMs: LONG_MS });
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => baton?.close());

  it("advance the run without waiting for a tick", { timeout: 20_000 }, async () => {
    const workflows = createClient(WorkflowService, createConnectTransport({ baseUrl: baton.server.url, httpVersion: "1.1" }));
    await putYaml(
      workflows,
      `
kind: Workflow
metadata: {name: wake}
spec:
  steps:
    - {name: first, task_type: first, queue: wf-wake}
    - {name: second, task_type: second, queue: wf-wake}
  edges:
    - {from: first, to: second}
`,
    );
    const s = openRawSession(baton.server.url);
    s.send({ case: "hello", value: { queues: ["wf-wake"], workerId: "w", instanceId: "wake-1", slots: 2 } });
    await s.nextOf("welcome");
    const { run } = await workflows.startRun({ workflow: "wake", input: {} });
    const first = (await s.nextOf("assign")).task!;

    // Watch from the start of this run; read up to the first step's start.
    const abort = new AbortController();
    const events = workflows.watchRun({ runId: run!.id }, { signal: abort.signal })[Symbol.asyncIterator]();
    const nextEvent = async () => (await events.next()).value!.event!;
    while ((await nextEvent()).type !== RunEventType.STEP_STARTED);

    const completedAt = Date.now();
    s.send({ case: "result", value: { taskId: first.id, leaseId: first.lease!.leaseId, outcome: { case: "completed", value: {} } } });
    const second = (await s.nextOf("assign", 5_000)).task!;
    expect(second.type).toBe("second");
    let event = await nextEvent();
    while (!(event.type === RunEventType.STEP_STARTED && event.step?.name === "second")) event = await nextEvent();
    const elapsed = Date.now() - completedAt;
    expect(elapsed).toBeLessThan(PROMPT_MS);
    abort.abort();
    s.close();
  });
});
