// Fencing (L1, L4, W1, W3): only the current lease may act on a task.
import { Code } from "@connectrpc/connect";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttemptOutcome, TaskState, type Task } from "../../gen/ts/baton/v1/task_pb.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";
import { actionNames, expectBatonError, ms } from "../support/protocol.js";

describe.each(backends)("fencing on %s", (backend) => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton(backend);
  });
  afterAll(async () => baton?.close());

  async function claimOne(queue: string, workerId: string, waitMs = 0): Promise<Task> {
    const res = await baton.tasks.claimTasks({ queue, workerId, wait: { seconds: BigInt(Math.floor(waitMs / 1000)), nanos: (waitMs % 1000) * 1e6 } });
    expect(res.tasks).toHaveLength(1);
    return res.tasks[0]!;
  }

  /** The task as stored, for "nothing changed" comparisons. */
  async function snapshot(id: string) {
    const t = (await baton.tasks.getTask({ id })).task!;
    return {
      state: t.state,
      attempt: t.attempt,
      lease: t.lease && { id: t.lease.leaseId, expire: t.lease.expireTime, worker: t.lease.workerId },
      updateTime: t.updateTime,
      result: t.result,
      lastError: t.lastError,
      attempts: t.attempts.map((a) => [a.attempt, a.outcome, a.endTime]),
    };
  }

  async function expectStale(call: Promise<unknown>, id: string, state: string) {
    const f = await expectBatonError(call, Code.FailedPrecondition, "LEASE_STALE");
    expect(f.detail.contract!.resource).toBe(`task/${id}`);
    expect(f.detail.contract!.state).toBe(state);
    // L4: the worker must not retry; the contract must not invite it to.
    expect(f.detail.contract!.recovery!.retryable).toBe(false);
    expect(actionNames(f.detail.contract)).not.toContain("Heartbeat");
    expect(actionNames(f.detail.contract)).not.toContain("CompleteTask");
    return f;
  }

  it("refuses Heartbeat, CompleteTask and FailTask with a foreign lease id and changes nothing (L1)", async () => {
    const { task } = await baton.tasks.createTask({ queue: "fence-foreign", type: "t" });
    const claimed = await claimOne("fence-foreign", "owner");
    const before = await snapshot(task!.id);
    const foreign = randomUUID();

    await expectStale(baton.tasks.heartbeat({ taskId: task!.id, leaseId: foreign }), task!.id, "CLAIMED");
    await expectStale(baton.tasks.completeTask({ taskId: task!.id, leaseId: foreign, result: { stolen: true } }), task!.id, "CLAIMED");
    await expectStale(
      baton.tasks.failTask({ taskId: task!.id, leaseId: foreign, error: { type: "boom", nonRetryable: true } }),
      task!.id,
      "CLAIMED",
    );
    expect(await snapshot(task!.id)).toEqual(before);

    // The owner is unaffected and completes normally.
    const done = await baton.tasks.completeTask({ taskId: task!.id, leaseId: claimed.lease!.leaseId, result: { ok: 1 } });
    expect(done.task!.result).toEqual({ ok: 1 });
  });

  it("refuses another task's lease: a lease fences one task only", async () => {
    await baton.tasks.batchCreateTasks({ requests: [{ queue: "fence-cross", type: "t" }, { queue: "fence-cross", type: "t" }] });
    const [a, b] = (await baton.tasks.claimTasks({ queue: "fence-cross", workerId: "w", maxTasks: 2 })).tasks;
    const before = await snapshot(b!.id);
    await expectStale(baton.tasks.completeTask({ taskId: b!.id, leaseId: a!.lease!.leaseId }), b!.id, "CLAIMED");
    expect(await snapshot(b!.id)).toEqual(before);
  });

  it("never lets a worker whose lease expired act on the task once another worker re-claimed it", async () => {
    const { task } = await baton.tasks.createTask({
      queue: "fence-expired",
      type: "t",
      timeouts: { heartbeatTimeout: { seconds: 1n } },
      retryPolicy: { initialBackoff: { seconds: 0n }, jitter: 0 },
    });
    const first = await claimOne("fence-expired", "slow-worker");
    // Worker A goes silent. Worker B long-polls: it gets the task once the
    // sweeper ends A's expired lease (L3), without any sleep in the test.
    const second = await claimOne("fence-expired", "fast-worker", 10_000);
    expect(second.id).toBe(task!.id);
    expect(second.attempt).toBe(2);
    expect(second.lease!.leaseId).not.toBe(first.lease!.leaseId);
    const oldLease = first.lease!.leaseId;

    const before = await snapshot(task!.id);
    await expectStale(baton.tasks.heartbeat({ taskId: task!.id, leaseId: oldLease }), task!.id, "CLAIMED");
    await expectStale(baton.tasks.completeTask({ taskId: task!.id, leaseId: oldLease, result: { from: "A" } }), task!.id, "CLAIMED");
    await expectStale(baton.tasks.failTask({ taskId: task!.id, leaseId: oldLease, error: { type: "late" } }), task!.id, "CLAIMED");
    expect(await snapshot(task!.id)).toEqual(before);

    const done = await baton.tasks.completeTask({ taskId: task!.id, leaseId: second.lease!.leaseId, result: { from: "B" } });
    expect(done.task!.state).toBe(TaskState.COMPLETED);

    // Even after B finished, A's lease stays dead.
    await expectStale(baton.tasks.completeTask({ taskId: task!.id, leaseId: oldLease, result: { from: "A" } }), task!.id, "COMPLETED");
    await expectStale(baton.tasks.heartbeat({ taskId: task!.id, leaseId: oldLease }), task!.id, "COMPLETED");
    const final = (await baton.tasks.getTask({ id: task!.id })).task!;
    expect(final.result).toEqual({ from: "B" });
    expect(final.attempts.map((a) => [a.workerId, a.outcome])).toEqual([
      ["slow-worker", AttemptOutcome.LEASE_EXPIRED],
      ["fast-worker", AttemptOutcome.COMPLETED],
    ]);
    // W1: the two attempts never overlapped.
    expect(ms(final.attempts[1]!.startTime)).toBeGreaterThanOrEqual(ms(final.attempts[0]!.endTime));
    expect(ms(final.attempts[0]!.endTime)).toBeGreaterThanOrEqual(ms(first.lease!.expireTime));
  });

  it("refuses the lease of an earlier attempt after a retry, even for the same worker", async () => {
    const { task } = await baton.tasks.createTask({
      queue: "fence-retry",
      type: "t",
      retryPolicy: { initialBackoff: { seconds: 0n }, jitter: 0 },
    });
    const first = await claimOne("fence-retry", "w");
    await baton.tasks.failTask({ taskId: task!.id, leaseId: first.lease!.leaseId, error: { type: "transient" } });
    const second = await claimOne("fence-retry", "w");
    expect(second.attempt).toBe(2);
    await expectStale(baton.tasks.heartbeat({ taskId: task!.id, leaseId: first.lease!.leaseId }), task!.id, "CLAIMED");
    await expectStale(baton.tasks.completeTask({ taskId: task!.id, leaseId: first.lease!.leaseId }), task!.id, "CLAIMED");
  });

  it("answers a resent CompleteTask with the completed task, once accepted (W3)", async () => {
    const { task } = await baton.tasks.createTask({ queue: "fence-w3", type: "t" });
    const claimed = await claimOne("fence-w3", "w");
    const leaseId = claimed.lease!.leaseId;
    const first = await baton.tasks.completeTask({ taskId: task!.id, leaseId, result: { v: 1 } });
    expect(first.task!.state).toBe(TaskState.COMPLETED);
    const before = await snapshot(task!.id);

    const again = await baton.tasks.completeTask({ taskId: task!.id, leaseId, result: { v: 1 } });
    expect(again.task!.id).toBe(task!.id);
    expect(again.task!.state).toBe(TaskState.COMPLETED);
    expect(again.task!.result).toEqual({ v: 1 });
    expect(again.contract!.state).toBe("COMPLETED");
    // A result is accepted at most once: a resend with another body does not replace it.
    const other = await baton.tasks.completeTask({ taskId: task!.id, leaseId, result: { v: 2 } });
    expect(other.task!.result).toEqual({ v: 1 });
    expect(await snapshot(task!.id)).toEqual(before);
    // A resent result is not a heartbeat or a failure: those stay refused.
    await expectStale(baton.tasks.heartbeat({ taskId: task!.id, leaseId }), task!.id, "COMPLETED");
    await expectStale(baton.tasks.failTask({ taskId: task!.id, leaseId, error: { type: "late" } }), task!.id, "COMPLETED");
  });

  it("accepts a resent FailTask again after the task was claimed again, without revealing the new lease (R3, L1)", async () => {
    const { task } = await baton.tasks.createTask({
      queue: "fence-fail-resend",
      type: "t",
      retryPolicy: { initialBackoff: { seconds: 0n }, jitter: 0 },
    });
    const first = await claimOne("fence-fail-resend", "a");
    const req = { taskId: task!.id, leaseId: first.lease!.leaseId, error: { type: "transient" } };
    const failed = await baton.tasks.failTask(req);
    expect(failed.task!.state).toBe(TaskState.PENDING);
    // A resend whose answer was lost, while nothing else happened, gets the same answer.
    const resent = await baton.tasks.failTask(req);
    expect(resent.task!.state).toBe(TaskState.PENDING);
    expect(resent.task!.attempt).toBe(1);

    // R3 (and F1 for unary results): a resend of an accepted failure is accepted again
    // even once the retry is running elsewhere; the answer leaves out the new lease, and
    // nothing changes. (The chaos suite caught stream resends refused LEASE_STALE here.)
    const second = await claimOne("fence-fail-resend", "b");
    const before = await snapshot(task!.id);
    const again = await baton.tasks.failTask(req);
    expect(again.task!.state).toBe(TaskState.CLAIMED);
    expect(again.task!.lease).toBeUndefined();
    expect(JSON.stringify(again, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))).not.toContain(second.lease!.leaseId);
    expect(await snapshot(task!.id)).toEqual(before);
    // A different failure under the old lease is not a resend: stale.
    await expectStale(baton.tasks.failTask({ ...req, error: { type: "other" } }), task!.id, "CLAIMED");
    expect(await snapshot(task!.id)).toEqual(before);
  });
});
