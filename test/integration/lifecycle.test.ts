// The happy path of the task lifecycle (T1..T3, L2) and the agent contract on
// every response (C1, C3, C4).
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttemptOutcome, TaskState } from "../../gen/ts/baton/v1/task_pb.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";
import { actionNames, expectBatonError, ms } from "../support/protocol.js";

describe.each(backends)("task lifecycle on %s", (backend) => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton(backend);
  });
  afterAll(async () => baton?.close());

  it("create → claim → heartbeat → complete, with a contract on every response", async () => {
    const tasks = baton.tasks;
    const before = Date.now();
    const created = await tasks.createTask({
      queue: "life",
      type: "email.send",
      payload: { to: "a@example.com", n: 1 },
      labels: { team: "growth" },
      traceId: "trace-1",
      parentId: "run-7",
    });
    expect(created.created).toBe(true);
    const task = created.task!;
    expect(task.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/); // UUIDv7
    expect(task.namespace).toBe("default");
    expect(task.state).toBe(TaskState.PENDING);
    expect(task.attempt).toBe(0);
    expect(task.maxAttempts).toBe(3);
    expect(task.payload).toEqual({ to: "a@example.com", n: 1 });
    expect(task.labels).toEqual({ team: "growth" });
    expect(task.traceId).toBe("trace-1");
    expect(task.parentId).toBe("run-7");
    expect(task.lease).toBeUndefined();
    expect(task.retryPolicy!.multiplier).toBe(2);
    expect(task.timeouts!.heartbeatTimeout!.seconds).toBe(30n);
    expect(task.timeouts!.startToCloseTimeout!.seconds).toBe(3600n);
    expect(task.timeouts!.scheduleToStartTimeout).toBeUndefined();
    expect(ms(task.scheduledTime)).toBeGreaterThan(before - 5_000);
    // C1/C3: a producer of a PENDING task may read, watch or cancel it.
    expect(created.contract!.resource).toBe(`task/${task.id}`);
    expect(created.contract!.state).toBe("PENDING");
    expect(actionNames(created.contract)).toEqual(expect.arrayContaining(["GetTask", "WatchTasks", "CancelTask"]));
    expect(actionNames(created.contract)).not.toContain("CompleteTask");

    const claim = await tasks.claimTasks({ queue: "life", workerId: "worker-a" });
    expect(claim.tasks).toHaveLength(1);
    const claimed = claim.tasks[0]!;
    expect(claimed.id).toBe(task.id);
    expect(claimed.state).toBe(TaskState.CLAIMED);
    expect(claimed.attempt).toBe(1);
    const lease = claimed.lease!;
    expect(lease.attempt).toBe(1);
    expect(lease.workerId).toBe("worker-a");
    expect(lease.leaseId).toMatch(/^[0-9a-f-]{36}$/);
    // The default heartbeat timeout is 30s: the lease runs that long from the claim.
    expect(ms(lease.expireTime) - ms(lease.startTime)).toBe(30_000);
    // C3/C4: the worker's contract lists Heartbeat, due when the lease expires.
    expect(claim.contract!.state).toBe("CLAIMED");
    expect(claim.contract!.resource).toBe(`task/${task.id}`);
    expect(actionNames(claim.contract)).toEqual(["Heartbeat", "CompleteTask", "FailTask"]);
    for (const action of claim.contract!.nextActions) expect(ms(action.deadline)).toBe(ms(lease.expireTime));

    // A producer reading the CLAIMED task is not offered the worker's calls (C3).
    const whileClaimed = await tasks.getTask({ id: task.id });
    expect(whileClaimed.task!.state).toBe(TaskState.CLAIMED);
    expect(whileClaimed.contract!.state).toBe("CLAIMED");
    expect(actionNames(whileClaimed.contract)).not.toContain("CompleteTask");
    expect(actionNames(whileClaimed.contract)).toContain("CancelTask");
    expect(whileClaimed.task!.attempts.map((a) => a.outcome)).toEqual([AttemptOutcome.RUNNING]);
    expect(whileClaimed.task!.attempts[0]!.endTime).toBeUndefined();

    const hb = await tasks.heartbeat({ taskId: task.id, leaseId: lease.leaseId });
    expect(hb.cancelRequested).toBe(false);
    expect(ms(hb.leaseExpireTime)).toBeGreaterThanOrEqual(ms(lease.expireTime));
    expect(hb.contract!.state).toBe("CLAIMED");
    expect(actionNames(hb.contract)).toEqual(["Heartbeat", "CompleteTask", "FailTask"]);
    for (const action of hb.contract!.nextActions) expect(ms(action.deadline)).toBe(ms(hb.leaseExpireTime));
    const afterHb = await tasks.getTask({ id: task.id });
    expect(ms(afterHb.task!.lease!.expireTime)).toBe(ms(hb.leaseExpireTime));

    const done = await tasks.completeTask({ taskId: task.id, leaseId: lease.leaseId, result: { sent: true, id: "m-1" } });
    expect(done.task!.state).toBe(TaskState.COMPLETED);
    expect(done.task!.result).toEqual({ sent: true, id: "m-1" });
    expect(done.task!.lease).toBeUndefined();
    expect(done.contract!.state).toBe("COMPLETED");
    expect(actionNames(done.contract)).toEqual(["GetTask"]);

    const got = await tasks.getTask({ id: task.id });
    const final = got.task!;
    expect(final.state).toBe(TaskState.COMPLETED);
    expect(final.result).toEqual({ sent: true, id: "m-1" });
    expect(final.attempt).toBe(1);
    expect(final.attempts).toHaveLength(1);
    const attempt = final.attempts[0]!;
    expect(attempt.attempt).toBe(1);
    expect(attempt.workerId).toBe("worker-a");
    expect(attempt.outcome).toBe(AttemptOutcome.COMPLETED);
    expect(ms(attempt.startTime)).toBe(ms(lease.startTime));
    expect(ms(attempt.endTime)).toBeGreaterThanOrEqual(ms(attempt.startTime));
    expect(attempt.error).toBeUndefined();
    expect(ms(final.updateTime)).toBeGreaterThanOrEqual(ms(final.createTime));
    expect(got.contract!.state).toBe("COMPLETED");
    expect(actionNames(got.contract)).toEqual(["GetTask"]);
  });

  it("keeps the history of every attempt with its outcome and error", async () => {
    const tasks = baton.tasks;
    const { task } = await tasks.createTask({
      queue: "life-history",
      type: "flaky",
      retryPolicy: { initialBackoff: { seconds: 0n }, jitter: 0 },
    });
    const first = (await tasks.claimTasks({ queue: "life-history", workerId: "w1" })).tasks[0]!;
    const failed = await tasks.failTask({
      taskId: task!.id,
      leaseId: first.lease!.leaseId,
      error: { type: "http_503", message: "upstream down", details: { status: 503 } },
    });
    expect(failed.task!.state).toBe(TaskState.PENDING);
    expect(failed.contract!.state).toBe("PENDING");
    const second = (await tasks.claimTasks({ queue: "life-history", workerId: "w2" })).tasks[0]!;
    expect(second.id).toBe(task!.id);
    expect(second.attempt).toBe(2);
    expect(second.lease!.attempt).toBe(2);
    expect(second.lease!.leaseId).not.toBe(first.lease!.leaseId);
    expect(second.lastError!.type).toBe("http_503");
    await tasks.completeTask({ taskId: task!.id, leaseId: second.lease!.leaseId });

    const final = (await tasks.getTask({ id: task!.id })).task!;
    expect(final.state).toBe(TaskState.COMPLETED);
    expect(final.result).toEqual({});
    expect(final.attempts.map((a) => [a.attempt, a.workerId, a.outcome])).toEqual([
      [1, "w1", AttemptOutcome.FAILED],
      [2, "w2", AttemptOutcome.COMPLETED],
    ]);
    expect(final.attempts[0]!.error!.type).toBe("http_503");
    expect(final.attempts[0]!.error!.message).toBe("upstream down");
    expect(final.attempts[0]!.error!.details).toEqual({ status: 503 });
    expect(final.attempts[1]!.error).toBeUndefined();
  });

  it("answers a claim of an empty queue with an empty list and a contract to call again", async () => {
    const claim = await baton.tasks.claimTasks({ queue: "life-empty", workerId: "w1" });
    expect(claim.tasks).toHaveLength(0);
    expect(actionNames(claim.contract)).toEqual(["ClaimTasks"]);
  });

  it("gives a multi-task claim a contract listing the worker's calls", async () => {
    await baton.tasks.batchCreateTasks({
      requests: [1, 2, 3].map((n) => ({ queue: "life-multi", type: "t", payload: { n } })),
    });
    const claim = await baton.tasks.claimTasks({ queue: "life-multi", workerId: "w1", maxTasks: 10 });
    expect(claim.tasks).toHaveLength(3);
    expect(actionNames(claim.contract)).toEqual(["Heartbeat", "CompleteTask", "FailTask"]);
    for (const t of claim.tasks) {
      expect(t.state).toBe(TaskState.CLAIMED);
      expect(t.lease!.workerId).toBe("w1");
    }
    expect(new Set(claim.tasks.map((t) => t.lease!.leaseId)).size).toBe(3);
  });

  it("answers NOT_FOUND with reason TASK_NOT_FOUND for an unknown id (S2)", async () => {
    const id = "01937a5e-0000-7000-8000-000000000000";
    const f = await expectBatonError(baton.tasks.getTask({ id }), Code.NotFound, "TASK_NOT_FOUND");
    expect(f.detail.contract!.resource).toBe(`task/${id}`);
    await expectBatonError(baton.tasks.cancelTask({ id }), Code.NotFound, "TASK_NOT_FOUND");
    await expectBatonError(baton.tasks.requeueTask({ id }), Code.NotFound, "TASK_NOT_FOUND");
    const lease = "01937a5e-0000-4000-8000-000000000000";
    await expectBatonError(baton.tasks.heartbeat({ taskId: id, leaseId: lease }), Code.NotFound, "TASK_NOT_FOUND");
    await expectBatonError(baton.tasks.completeTask({ taskId: id, leaseId: lease }), Code.NotFound, "TASK_NOT_FOUND");
    await expectBatonError(
      baton.tasks.failTask({ taskId: id, leaseId: lease, error: { type: "x" } }),
      Code.NotFound,
      "TASK_NOT_FOUND",
    );
  });
});
