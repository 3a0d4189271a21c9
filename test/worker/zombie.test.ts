// B3 and L3: a stream that stays open but stops heartbeating is ended with a
// GoAway, and its leases expire on their own, separately from the stream.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttemptOutcome, TaskEventType, TaskState } from "../../gen/ts/baton/v1/task_pb.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";
import { openRawSession } from "../support/raw-session.js";

describe.each(backends)("zombie sessions on %s", (backend) => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton(backend, { workerHeartbeatIntervalMs: 200 });
  });
  afterAll(async () => baton?.close());

  it("ends a silent stream with GoAway and lets its lease expire", async () => {
    const { task } = await baton.tasks.createTask({ queue: "zombie", type: "t", timeouts: { heartbeatTimeout: { seconds: 1n } } });
    const s = openRawSession(baton.server.url);
    s.send({ case: "hello", value: { queues: ["zombie"], workerId: "z", instanceId: "zombie-1", slots: 1 } });
    await s.nextOf("welcome");
    await s.nextOf("assign");
    // Silence: no heartbeat. Three intervals (600ms) later the server gives up on the stream.
    const goAway = await s.nextOf("goAway", 5_000);
    expect(goAway.reason).toMatch(/heartbeat/);
    // The lease is separate: it expires after its own 1s heartbeat timeout.
    for await (const e of baton.tasks.watchTasks({ taskId: task!.id, afterCursor: 0n }, { signal: AbortSignal.timeout(10_000) })) {
      if (e.event!.type === TaskEventType.LEASE_EXPIRED) break;
    }
    const got = (await baton.tasks.getTask({ id: task!.id })).task!;
    expect(got.state).toBe(TaskState.PENDING);
    expect(got.attempts[0]!.outcome).toBe(AttemptOutcome.LEASE_EXPIRED);
    s.close();
  });
});
