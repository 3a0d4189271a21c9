// A retry whose backoff ends is pushed to a waiting worker when it is due, not
// at the next periodic re-check: the dispatcher arms a timer for the next
// scheduled task of an empty queue.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";
import { openRawSession } from "../support/raw-session.js";

describe.each(backends)("due retries on %s", (backend) => {
  let baton: TestBaton;
  beforeAll(async () => {
    // A slow tick, so only the due timer can explain a prompt re-assignment.
    baton = await startTestBaton(backend, { dispatchTickMs: 30_000 });
  });
  afterAll(async () => baton?.close());

  it("re-assigns a failed task within its backoff plus a little", async () => {
    await baton.tasks.createTask({ queue: "due", type: "t", retryPolicy: { initialBackoff: { seconds: 1n }, jitter: 0 } });
    const s = openRawSession(baton.server.url);
    s.send({ case: "hello", value: { queues: ["due"], workerId: "w", instanceId: "due-1", slots: 1 } });
    await s.nextOf("welcome");
    const first = (await s.nextOf("assign")).task!;
    s.send({ case: "result", value: { taskId: first.id, leaseId: first.lease!.leaseId, outcome: { case: "failed", value: { error: { type: "flaky" } } } } });
    const failedAt = Date.now();
    expect((await s.nextOf("ack")).accepted).toBe(true);
    const again = (await s.nextOf("assign", 5_000)).task!;
    const waited = Date.now() - failedAt;
    expect(again.id).toBe(first.id);
    expect(again.attempt).toBe(2);
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(2_500);
    s.close();
  });
});
