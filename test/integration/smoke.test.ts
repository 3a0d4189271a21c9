import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../../gen/ts/baton/v1/task_pb.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";

describe.each(backends)("round trip on %s", (backend) => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton(backend);
  });
  afterAll(async () => baton?.close());

  it("creates, claims, heartbeats and completes a task", async () => {
    const { task } = await baton.tasks.createTask({ queue: "smoke", type: "echo", payload: { n: 1 } });
    const claim = await baton.tasks.claimTasks({ queue: "smoke", workerId: "w1" });
    expect(claim.tasks.map((t) => t.id)).toEqual([task!.id]);
    const lease = claim.tasks[0]!.lease!;
    const hb = await baton.tasks.heartbeat({ taskId: task!.id, leaseId: lease.leaseId });
    expect(hb.cancelRequested).toBe(false);
    const done = await baton.tasks.completeTask({ taskId: task!.id, leaseId: lease.leaseId, result: { ok: true } });
    expect(done.task!.state).toBe(TaskState.COMPLETED);
    const got = await baton.tasks.getTask({ id: task!.id });
    expect(got.task!.result).toEqual({ ok: true });
    expect(got.task!.attempts).toHaveLength(1);
  });
});
