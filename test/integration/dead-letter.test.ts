// Dead letters (T4, T6, T7) and RequeueTask.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { AttemptOutcome, TaskState, type Task } from "../../gen/ts/baton/v1/task_pb.js";
import type { CreateTaskRequestSchema } from "../../gen/ts/baton/v1/task_service_pb.js";
import { sweepOnce } from "../../server/src/engine/lease-sweeper.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";
import { actionNames, expectBatonError, ms } from "../support/protocol.js";

describe.each(backends)("dead letters on %s", (backend) => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton(backend);
  });
  afterAll(async () => baton?.close());

  type CreateInit = MessageInitShape<typeof CreateTaskRequestSchema>;
  const noBackoff = { initialBackoff: { seconds: 0n }, jitter: 0 };

  async function claimNow(queue: string, id: string): Promise<Task> {
    const res = await baton.tasks.claimTasks({ queue, workerId: "w" });
    expect(res.tasks.map((t) => t.id)).toEqual([id]);
    return res.tasks[0]!;
  }

  async function createAndClaim(req: CreateInit): Promise<Task> {
    const { task } = await baton.tasks.createTask(req);
    return claimNow(req.queue!, task!.id);
  }

  async function get(id: string): Promise<Task> {
    return (await baton.tasks.getTask({ id })).task!;
  }

  function expectDeadLetterContract(contract: Parameters<typeof actionNames>[0]) {
    expect(contract!.state).toBe("DEAD_LETTER");
    expect(actionNames(contract)).toContain("RequeueTask");
  }

  it("dead-letters at once an error marked non_retryable (T6)", async () => {
    const t = await createAndClaim({ queue: "dl-flag", type: "t", maxAttempts: 5 });
    const res = await baton.tasks.failTask({
      taskId: t.id,
      leaseId: t.lease!.leaseId,
      error: { type: "ValidationError", message: "bad email", nonRetryable: true },
    });
    expect(res.task!.state).toBe(TaskState.DEAD_LETTER);
    expect(res.task!.attempt).toBe(1);
    expect(res.task!.terminalReason).toContain("ValidationError");
    expect(res.task!.lastError!.nonRetryable).toBe(true);
    expectDeadLetterContract(res.contract);
    const got = await baton.tasks.getTask({ id: t.id });
    expect(got.task!.attempts.map((a) => a.outcome)).toEqual([AttemptOutcome.FAILED]);
    expectDeadLetterContract(got.contract);
  });

  it("dead-letters at once an error whose type is listed in non_retryable_error_types (T6)", async () => {
    const t = await createAndClaim({
      queue: "dl-type",
      type: "t",
      maxAttempts: 5,
      retryPolicy: { nonRetryableErrorTypes: ["http_400", "ValidationError"] },
    });
    const res = await baton.tasks.failTask({ taskId: t.id, leaseId: t.lease!.leaseId, error: { type: "http_400" } });
    expect(res.task!.state).toBe(TaskState.DEAD_LETTER);
    expect(res.task!.terminalReason).toContain("http_400");

    // A type not in the list is retried.
    const u = await createAndClaim({ queue: "dl-type2", type: "t", retryPolicy: { nonRetryableErrorTypes: ["http_400"] } });
    const retried = await baton.tasks.failTask({ taskId: u.id, leaseId: u.lease!.leaseId, error: { type: "http_500" } });
    expect(retried.task!.state).toBe(TaskState.PENDING);
  });

  it("dead-letters a retryable failure of the last allowed attempt (T4)", async () => {
    const queue = "dl-exhaust";
    let t = await createAndClaim({ queue, type: "t", maxAttempts: 3, retryPolicy: noBackoff });
    for (let attempt = 1; attempt <= 2; attempt++) {
      const res = await baton.tasks.failTask({ taskId: t.id, leaseId: t.lease!.leaseId, error: { type: `e${attempt}` } });
      expect(res.task!.state).toBe(TaskState.PENDING);
      t = await claimNow(queue, t.id);
    }
    expect(t.attempt).toBe(3);
    const last = await baton.tasks.failTask({ taskId: t.id, leaseId: t.lease!.leaseId, error: { type: "e3", message: "still down" } });
    expect(last.task!.state).toBe(TaskState.DEAD_LETTER);
    expect(last.task!.terminalReason).toMatch(/all 3 attempts failed/);
    expect(last.task!.terminalReason).toContain("e3");
    expectDeadLetterContract(last.contract);
    const got = await get(t.id);
    expect(got.attempts.map((a) => [a.attempt, a.outcome, a.error?.type])).toEqual([
      [1, AttemptOutcome.FAILED, "e1"],
      [2, AttemptOutcome.FAILED, "e2"],
      [3, AttemptOutcome.FAILED, "e3"],
    ]);
    expect((await baton.tasks.claimTasks({ queue, workerId: "w" })).tasks).toHaveLength(0);
  });

  it("requeues a DEAD_LETTER task to PENDING with a fresh attempt budget, keeping its history (T4)", async () => {
    const queue = "dl-requeue";
    let t = await createAndClaim({ queue, type: "t", maxAttempts: 2, retryPolicy: noBackoff });
    await baton.tasks.failTask({ taskId: t.id, leaseId: t.lease!.leaseId, error: { type: "x" } });
    t = await claimNow(queue, t.id);
    const dead = await baton.tasks.failTask({ taskId: t.id, leaseId: t.lease!.leaseId, error: { type: "x" } });
    expect(dead.task!.state).toBe(TaskState.DEAD_LETTER);

    const requeued = await baton.tasks.requeueTask({ id: t.id });
    expect(requeued.task!.state).toBe(TaskState.PENDING);
    expect(requeued.task!.attempt).toBe(2); // T3: never decreases
    expect(requeued.task!.terminalReason).toBe("");
    expect(requeued.contract!.state).toBe("PENDING");
    expect(actionNames(requeued.contract)).not.toContain("RequeueTask");

    // Two more attempts are allowed: the third fails and is retried, the fourth dead-letters.
    t = await claimNow(queue, t.id);
    expect(t.attempt).toBe(3);
    const retried = await baton.tasks.failTask({ taskId: t.id, leaseId: t.lease!.leaseId, error: { type: "x" } });
    expect(retried.task!.state).toBe(TaskState.PENDING);
    t = await claimNow(queue, t.id);
    expect(t.attempt).toBe(4);
    const deadAgain = await baton.tasks.failTask({ taskId: t.id, leaseId: t.lease!.leaseId, error: { type: "x" } });
    expect(deadAgain.task!.state).toBe(TaskState.DEAD_LETTER);
    const got = await get(t.id);
    expect(got.attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4]);

    // And requeued once more, it completes.
    await baton.tasks.requeueTask({ id: t.id });
    t = await claimNow(queue, t.id);
    const done = await baton.tasks.completeTask({ taskId: t.id, leaseId: t.lease!.leaseId, result: { ok: true } });
    expect(done.task!.state).toBe(TaskState.COMPLETED);
    expect((await get(t.id)).attempts.map((a) => a.outcome)).toEqual([
      AttemptOutcome.FAILED,
      AttemptOutcome.FAILED,
      AttemptOutcome.FAILED,
      AttemptOutcome.FAILED,
      AttemptOutcome.COMPLETED,
    ]);
  });

  it("requeues with a scheduled_time in the future: not claimable before it", async () => {
    const t = await createAndClaim({ queue: "dl-requeue-later", type: "t" });
    await baton.tasks.failTask({ taskId: t.id, leaseId: t.lease!.leaseId, error: { type: "x", nonRetryable: true } });
    const at = Date.now() + 3_600_000;
    const res = await baton.tasks.requeueTask({ id: t.id, scheduledTime: { seconds: BigInt(Math.floor(at / 1000)), nanos: 0 } });
    expect(res.task!.state).toBe(TaskState.PENDING);
    expect(ms(res.task!.scheduledTime)).toBe(Math.floor(at / 1000) * 1000);
    expect((await baton.tasks.claimTasks({ queue: "dl-requeue-later", workerId: "w" })).tasks).toHaveLength(0);
  });

  it("refuses to requeue a task that is not DEAD_LETTER with INVALID_STATE, changing nothing (S3)", async () => {
    const pending = (await baton.tasks.createTask({ queue: "dl-not", type: "t", priority: -1 })).task!;
    const completed = await createAndClaim({ queue: "dl-not2", type: "t" });
    await baton.tasks.completeTask({ taskId: completed.id, leaseId: completed.lease!.leaseId });
    const claimed = await createAndClaim({ queue: "dl-not3", type: "t" });
    const cancelled = (await baton.tasks.createTask({ queue: "dl-not4", type: "t" })).task!;
    await baton.tasks.cancelTask({ id: cancelled.id });

    for (const [id, state] of [
      [pending.id, "PENDING"],
      [completed.id, "COMPLETED"],
      [claimed.id, "CLAIMED"],
      [cancelled.id, "CANCELLED"],
    ] as const) {
      const before = await get(id);
      const f = await expectBatonError(baton.tasks.requeueTask({ id }), Code.FailedPrecondition, "INVALID_STATE");
      expect(f.detail.contract!.state).toBe(state);
      expect(f.detail.contract!.resource).toBe(`task/${id}`);
      const after = await get(id);
      expect(after.state).toBe(before.state);
      expect(after.updateTime).toEqual(before.updateTime);
      expect(after.attempt).toBe(before.attempt);
    }
  });

  it("dead-letters a PENDING task not claimed within schedule_to_start_timeout (T7)", async () => {
    const { task } = await baton.tasks.createTask({
      queue: "dl-s2s",
      type: "t",
      timeouts: { scheduleToStartTimeout: { seconds: 5n } },
    });
    const scheduled = ms(task!.scheduledTime);
    expect(task!.timeouts!.scheduleToStartTimeout!.seconds).toBe(5n);

    const early = await sweepOnce(baton.server.engine, new Date(scheduled + 4_000));
    expect(early.map((r) => r.id)).not.toContain(task!.id);
    expect((await get(task!.id)).state).toBe(TaskState.PENDING);

    const late = await sweepOnce(baton.server.engine, new Date(scheduled + 5_001));
    expect(late.map((r) => r.id)).toContain(task!.id);
    const res = await baton.tasks.getTask({ id: task!.id });
    const got = res.task!;
    expect(got.state).toBe(TaskState.DEAD_LETTER);
    expect(got.lastError!.type).toBe("schedule_to_start_timeout");
    expect(got.terminalReason).not.toBe("");
    expect(got.attempts).toHaveLength(0);
    expectDeadLetterContract(res.contract);
    expect((await baton.tasks.claimTasks({ queue: "dl-s2s", workerId: "w" })).tasks).toHaveLength(0);
  });

  it("counts schedule_to_start from the scheduled time, and never touches a claimed task (T7)", async () => {
    const now = Date.now();
    const future = (await baton.tasks.createTask({
      queue: "dl-s2s-future",
      type: "t",
      scheduledTime: { seconds: BigInt(Math.floor((now + 600_000) / 1000)), nanos: 0 },
      timeouts: { scheduleToStartTimeout: { seconds: 5n } },
    })).task!;
    const claimed = await createAndClaim({
      queue: "dl-s2s-claimed",
      type: "t",
      timeouts: { scheduleToStartTimeout: { seconds: 5n }, heartbeatTimeout: { seconds: 3600n } },
    });
    const swept = await sweepOnce(baton.server.engine, new Date(now + 60_000));
    expect(swept.map((r) => r.id)).not.toContain(future.id);
    expect(swept.map((r) => r.id)).not.toContain(claimed.id);
    expect((await get(future.id)).state).toBe(TaskState.PENDING);
    expect((await get(claimed.id)).state).toBe(TaskState.CLAIMED);

    const later = await sweepOnce(baton.server.engine, new Date(ms(future.scheduledTime) + 5_001));
    expect(later.map((r) => r.id)).toContain(future.id);
  });
});
