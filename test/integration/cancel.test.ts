// CancelTask: at once while PENDING, through the worker (W2) while CLAIMED.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttemptOutcome, TaskState, type Task } from "../../gen/ts/baton/v1/task_pb.js";
import { sweepOnce } from "../../server/src/engine/lease-sweeper.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";
import { actionNames, expectBatonError, ms } from "../support/protocol.js";

describe.each(backends)("cancel on %s", (backend) => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton(backend);
  });
  afterAll(async () => baton?.close());

  async function createAndClaim(queue: string, heartbeatSeconds = 60n): Promise<Task> {
    const { task } = await baton.tasks.createTask({ queue, type: "t", timeouts: { heartbeatTimeout: { seconds: heartbeatSeconds } } });
    const res = await baton.tasks.claimTasks({ queue, workerId: "w" });
    expect(res.tasks.map((t) => t.id)).toEqual([task!.id]);
    return res.tasks[0]!;
  }

  async function get(id: string): Promise<Task> {
    return (await baton.tasks.getTask({ id })).task!;
  }

  it("cancels a PENDING task at once; it is never claimed", async () => {
    const { task } = await baton.tasks.createTask({ queue: "c-pending", type: "t" });
    const res = await baton.tasks.cancelTask({ id: task!.id, reason: "duplicate order" });
    expect(res.task!.state).toBe(TaskState.CANCELLED);
    expect(res.task!.terminalReason).toBe("cancelled by caller: duplicate order");
    expect(res.contract!.state).toBe("CANCELLED");
    expect(actionNames(res.contract)).toEqual(["GetTask"]);
    expect((await baton.tasks.claimTasks({ queue: "c-pending", workerId: "w" })).tasks).toHaveLength(0);
    const got = await get(task!.id);
    expect(got.state).toBe(TaskState.CANCELLED);
    expect(got.attempts).toHaveLength(0);
  });

  it("flags a CLAIMED task; the next Heartbeat tells the worker; FailTask ends it CANCELLED (W2)", async () => {
    const claimed = await createAndClaim("c-claimed");
    const leaseId = claimed.lease!.leaseId;
    const res = await baton.tasks.cancelTask({ id: claimed.id, reason: "user gave up" });
    expect(res.task!.state).toBe(TaskState.CLAIMED);
    expect(res.task!.cancelRequested).toBe(true);
    expect(res.contract!.state).toBe("CLAIMED");

    const hb = await baton.tasks.heartbeat({ taskId: claimed.id, leaseId });
    expect(hb.cancelRequested).toBe(true);
    // The worker's only next step is FailTask (W2), before the lease runs out.
    expect(actionNames(hb.contract)).toEqual(["FailTask"]);
    expect(ms(hb.contract!.nextActions[0]!.deadline)).toBe(ms(hb.leaseExpireTime));

    const failed = await baton.tasks.failTask({ taskId: claimed.id, leaseId, error: { type: "cancelled", message: "stopped" } });
    expect(failed.task!.state).toBe(TaskState.CANCELLED);
    expect(failed.task!.terminalReason).toBe("cancelled by caller: user gave up");
    expect(failed.task!.lease).toBeUndefined();
    const got = await get(claimed.id);
    expect(got.state).toBe(TaskState.CANCELLED);
    expect(got.attempts.map((a) => a.outcome)).toEqual([AttemptOutcome.CANCELLED]);
  });

  it("ends a cancel-requested task CANCELLED even if the worker's error is retryable or it has attempts left", async () => {
    const claimed = await createAndClaim("c-retryable");
    await baton.tasks.cancelTask({ id: claimed.id });
    const failed = await baton.tasks.failTask({ taskId: claimed.id, leaseId: claimed.lease!.leaseId, error: { type: "http_503" } });
    expect(failed.task!.state).toBe(TaskState.CANCELLED);
    expect(failed.task!.terminalReason).toBe("cancelled by caller");
  });

  it("ends a cancel-requested task CANCELLED when its lease expires instead", async () => {
    const claimed = await createAndClaim("c-expiry");
    await baton.tasks.cancelTask({ id: claimed.id, reason: "stuck" });
    const swept = await sweepOnce(baton.server.engine, new Date(ms(claimed.lease!.expireTime) + 1));
    expect(swept.map((r) => r.id)).toContain(claimed.id);
    const got = await get(claimed.id);
    expect(got.state).toBe(TaskState.CANCELLED);
    expect(got.terminalReason).toBe("cancelled by caller: stuck");
    expect(got.attempts.map((a) => a.outcome)).toEqual([AttemptOutcome.CANCELLED]);
    expect((await baton.tasks.claimTasks({ queue: "c-expiry", workerId: "w" })).tasks).toHaveLength(0);
  });

  it("refuses to cancel a COMPLETED or DEAD_LETTER task with INVALID_STATE, changing nothing (S3)", async () => {
    const done = await createAndClaim("c-completed");
    await baton.tasks.completeTask({ taskId: done.id, leaseId: done.lease!.leaseId, result: { r: 1 } });
    const dead = await createAndClaim("c-dead");
    await baton.tasks.failTask({ taskId: dead.id, leaseId: dead.lease!.leaseId, error: { type: "x", nonRetryable: true } });

    for (const [id, state] of [
      [done.id, "COMPLETED"],
      [dead.id, "DEAD_LETTER"],
    ] as const) {
      const before = await get(id);
      const f = await expectBatonError(baton.tasks.cancelTask({ id, reason: "too late" }), Code.FailedPrecondition, "INVALID_STATE");
      expect(f.detail.contract!.state).toBe(state);
      expect(f.detail.contract!.resource).toBe(`task/${id}`);
      const after = await get(id);
      expect(after.state).toBe(before.state);
      expect(after.terminalReason).toBe(before.terminalReason);
      expect(after.updateTime).toEqual(before.updateTime);
    }
  });

  it("accepts a second cancel of a CANCELLED task and changes nothing", async () => {
    const { task } = await baton.tasks.createTask({ queue: "c-twice", type: "t" });
    const first = await baton.tasks.cancelTask({ id: task!.id, reason: "one" });
    const second = await baton.tasks.cancelTask({ id: task!.id, reason: "two" });
    expect(second.task!.state).toBe(TaskState.CANCELLED);
    expect(second.task!.terminalReason).toBe("cancelled by caller: one");
    expect(second.task!.updateTime).toEqual(first.task!.updateTime);
  });

  it("accepts a second cancel of a cancel-requested task without a second event", async () => {
    const claimed = await createAndClaim("c-twice-claimed");
    const first = await baton.tasks.cancelTask({ id: claimed.id, reason: "one" });
    const second = await baton.tasks.cancelTask({ id: claimed.id, reason: "two" });
    expect(second.task!.state).toBe(TaskState.CLAIMED);
    expect(second.task!.cancelRequested).toBe(true);
    expect(second.task!.terminalReason).toBe(first.task!.terminalReason);
    const events = await baton.server.engine.sql<{ type: string }[]>`
      SELECT type FROM baton_task_events WHERE task_id = ${claimed.id} ORDER BY id`;
    expect(events.map((e) => e.type)).toEqual(["created", "claimed", "cancel_requested"]);
  });
});
