// Retries (T3, T5): a retryable failure goes back to PENDING at now + backoff.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { AttemptOutcome, TaskState, type Task } from "../../gen/ts/baton/v1/task_pb.js";
import type { CreateTaskRequestSchema } from "../../gen/ts/baton/v1/task_service_pb.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";
import { actionNames, ms } from "../support/protocol.js";

describe.each(backends)("retries on %s", (backend) => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton(backend);
  });
  afterAll(async () => baton?.close());

  type CreateInit = MessageInitShape<typeof CreateTaskRequestSchema>;

  async function createAndClaim(req: CreateInit): Promise<Task> {
    const { task } = await baton.tasks.createTask(req);
    return claimNow(req.queue!, task!.id);
  }

  async function claimNow(queue: string, id: string): Promise<Task> {
    const res = await baton.tasks.claimTasks({ queue, workerId: "w" });
    expect(res.tasks.map((t) => t.id)).toEqual([id]);
    return res.tasks[0]!;
  }

  /**
   * Moves a retry's scheduled time to now, standing in for waiting out the
   * backoff (the claim query reads the database clock, so it cannot be moved).
   */
  async function makeDue(id: string) {
    await baton.server.engine.sql`UPDATE baton_tasks SET scheduled_at = now() WHERE id = ${id} AND state = 'pending'`;
  }

  /** The retry delay the server chose: scheduled_time minus the failure's commit time. */
  function delayOf(t: Task): number {
    return ms(t.scheduledTime) - ms(t.updateTime);
  }

  it("schedules a retryable failure at now + initial_backoff, within the jitter bound (T5)", async () => {
    const claimed = await createAndClaim({
      queue: "rt-jitter",
      type: "t",
      retryPolicy: { initialBackoff: { seconds: 10n }, jitter: 0.5 },
    });
    const res = await baton.tasks.failTask({
      taskId: claimed.id,
      leaseId: claimed.lease!.leaseId,
      error: { type: "http_503", message: "busy" },
    });
    const t = res.task!;
    expect(t.state).toBe(TaskState.PENDING);
    expect(t.lease).toBeUndefined();
    expect(t.lastError!.type).toBe("http_503");
    // Jitter subtracts up to half of the 10s delay: 5s..10s (1ms for timestamp rounding).
    expect(delayOf(t)).toBeGreaterThanOrEqual(5_000 - 1);
    expect(delayOf(t)).toBeLessThanOrEqual(10_000 + 1);
    expect(res.contract!.state).toBe("PENDING");
    // Not claimable before its scheduled time.
    expect((await baton.tasks.claimTasks({ queue: "rt-jitter", workerId: "w" })).tasks).toHaveLength(0);
    const got = (await baton.tasks.getTask({ id: claimed.id })).task!;
    expect(got.attempts.map((a) => a.outcome)).toEqual([AttemptOutcome.FAILED]);
  });

  it("spreads the retries of tasks that failed together (jitter)", async () => {
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const claimed = await createAndClaim({ queue: "rt-spread", type: "t", retryPolicy: { initialBackoff: { seconds: 100n }, jitter: 1 } });
      const t = (await baton.tasks.failTask({ taskId: claimed.id, leaseId: claimed.lease!.leaseId, error: { type: "x" } })).task!;
      expect(delayOf(t)).toBeGreaterThanOrEqual(-1);
      expect(delayOf(t)).toBeLessThanOrEqual(100_001);
      delays.push(delayOf(t));
    }
    expect(new Set(delays).size).toBeGreaterThan(1);
  });

  it("grows the delay by the multiplier and caps it at max_backoff (T5)", async () => {
    const queue = "rt-exp";
    let t = await createAndClaim({
      queue,
      type: "t",
      maxAttempts: 5,
      retryPolicy: { initialBackoff: { seconds: 1n }, multiplier: 3, maxBackoff: { seconds: 5n }, jitter: 0 },
    });
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      expect(t.attempt).toBe(attempt);
      const failed = (await baton.tasks.failTask({ taskId: t.id, leaseId: t.lease!.leaseId, error: { type: "x" } })).task!;
      expect(failed.state).toBe(TaskState.PENDING);
      delays.push(delayOf(failed));
      await makeDue(t.id);
      t = await claimNow(queue, t.id);
    }
    // 1s, 3s, 9s capped to 5s, 27s capped to 5s (jitter 0: exact up to timestamp rounding).
    const expected = [1_000, 3_000, 5_000, 5_000];
    delays.forEach((d, i) => expect(Math.abs(d - expected[i]!)).toBeLessThanOrEqual(1));
    expect(t.attempt).toBe(5);
  });

  it("honours retry_after when it is later than the backoff, and the backoff when it is later", async () => {
    const a = await createAndClaim({ queue: "rt-after", type: "t", retryPolicy: { initialBackoff: { seconds: 1n }, jitter: 0 } });
    const later = (
      await baton.tasks.failTask({ taskId: a.id, leaseId: a.lease!.leaseId, error: { type: "rate_limited" }, retryAfter: { seconds: 90n } })
    ).task!;
    expect(Math.abs(delayOf(later) - 90_000)).toBeLessThanOrEqual(1);

    const b = await createAndClaim({ queue: "rt-after2", type: "t", retryPolicy: { initialBackoff: { seconds: 20n }, jitter: 0 } });
    const backoffWins = (
      await baton.tasks.failTask({ taskId: b.id, leaseId: b.lease!.leaseId, error: { type: "rate_limited" }, retryAfter: { seconds: 2n } })
    ).task!;
    expect(Math.abs(delayOf(backoffWins) - 20_000)).toBeLessThanOrEqual(1);
  });

  it("retries at once with a zero backoff, and a waiting claimer gets the retry", async () => {
    const claimed = await createAndClaim({ queue: "rt-zero", type: "t", retryPolicy: { initialBackoff: { seconds: 0n }, jitter: 0 } });
    const waiting = baton.tasks.claimTasks({ queue: "rt-zero", workerId: "w2", wait: { seconds: 10n } });
    const started = Date.now();
    await baton.tasks.failTask({ taskId: claimed.id, leaseId: claimed.lease!.leaseId, error: { type: "x" } });
    const res = await waiting;
    expect(res.tasks.map((t) => [t.id, t.attempt])).toEqual([[claimed.id, 2]]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("lists the worker's next step for a retried task: nothing on this lease any more", async () => {
    const claimed = await createAndClaim({ queue: "rt-contract", type: "t" });
    const res = await baton.tasks.failTask({ taskId: claimed.id, leaseId: claimed.lease!.leaseId, error: { type: "x" } });
    expect(actionNames(res.contract)).not.toContain("Heartbeat");
    expect(actionNames(res.contract)).not.toContain("CompleteTask");
  });
});
