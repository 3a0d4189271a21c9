// Lease expiry (L2, L3): a silent worker loses its lease, heartbeats extend it
// but never past start-to-close. The clock is moved with sweepOnce(engine, now)
// or the state change is awaited with a bounded poll; nothing sleeps to synchronise.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttemptOutcome, TaskState, type Task } from "../../gen/ts/baton/v1/task_pb.js";
import { sweepOnce } from "../../server/src/engine/lease-sweeper.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";
import { eventually, expectBatonError, ms } from "../support/protocol.js";

describe.each(backends)("lease expiry on %s", (backend) => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton(backend);
  });
  afterAll(async () => baton?.close());

  const noBackoff = { initialBackoff: { seconds: 0n }, jitter: 0 };

  async function claimOne(queue: string, workerId: string): Promise<Task> {
    const res = await baton.tasks.claimTasks({ queue, workerId });
    expect(res.tasks).toHaveLength(1);
    return res.tasks[0]!;
  }

  async function get(id: string): Promise<Task> {
    return (await baton.tasks.getTask({ id })).task!;
  }

  /** Lets the clocks (ours and the database's) move past `t`. Not a synchronisation: nothing is awaited but time. */
  async function clockPast(t: number) {
    while (Date.now() <= t) await new Promise((r) => setTimeout(r, Math.max(1, t - Date.now() + 1)));
  }

  it("returns a task that is not heartbeated to PENDING (LEASE_EXPIRED), claimable again as attempt 2", async () => {
    const { task } = await baton.tasks.createTask({
      queue: "le-basic",
      type: "t",
      timeouts: { heartbeatTimeout: { seconds: 1n } },
      retryPolicy: noBackoff,
    });
    const first = await claimOne("le-basic", "silent");
    expect(ms(first.lease!.expireTime) - ms(first.lease!.startTime)).toBe(1_000);

    // The background sweeper (every 200ms here) must end the attempt soon after expiry.
    const pending = await eventually(async () => {
      const t = await get(task!.id);
      return t.state === TaskState.PENDING ? t : undefined;
    }, "the expired lease to be swept", 10_000);
    expect(pending.lease).toBeUndefined();
    expect(pending.attempt).toBe(1);
    expect(pending.lastError!.type).toBe("lease_expired");
    expect(pending.attempts).toHaveLength(1);
    const ended = pending.attempts[0]!;
    expect(ended.outcome).toBe(AttemptOutcome.LEASE_EXPIRED);
    expect(ended.workerId).toBe("silent");
    expect(ended.error!.type).toBe("lease_expired");
    // Never before the lease's expire_time.
    expect(ms(ended.endTime)).toBeGreaterThanOrEqual(ms(first.lease!.expireTime));

    const second = await claimOne("le-basic", "other");
    expect(second.id).toBe(task!.id);
    expect(second.attempt).toBe(2);
    expect(second.lease!.attempt).toBe(2);
    await baton.tasks.completeTask({ taskId: task!.id, leaseId: second.lease!.leaseId });
    const final = await get(task!.id);
    expect(final.attempts.map((a) => a.outcome)).toEqual([AttemptOutcome.LEASE_EXPIRED, AttemptOutcome.COMPLETED]);
  });

  it("does not touch a lease before its expire_time, and ends it after (sweepOnce with a moved clock)", async () => {
    const { task } = await baton.tasks.createTask({
      queue: "le-clock",
      type: "t",
      timeouts: { heartbeatTimeout: { seconds: 60n } },
      retryPolicy: noBackoff,
    });
    const claimed = await claimOne("le-clock", "w");
    const expire = ms(claimed.lease!.expireTime);

    const early = await sweepOnce(baton.server.engine, new Date(expire - 1));
    expect(early.map((r) => r.id)).not.toContain(task!.id);
    expect((await get(task!.id)).state).toBe(TaskState.CLAIMED);
    // The worker still holds a live lease.
    await baton.tasks.heartbeat({ taskId: task!.id, leaseId: claimed.lease!.leaseId });

    const hb = await get(task!.id);
    const late = await sweepOnce(baton.server.engine, new Date(ms(hb.lease!.expireTime) + 1));
    expect(late.map((r) => r.id)).toContain(task!.id);
    const after = await get(task!.id);
    expect(after.state).toBe(TaskState.PENDING);
    expect(after.attempts[0]!.outcome).toBe(AttemptOutcome.LEASE_EXPIRED);
    // The lease is gone: the worker hears LEASE_STALE (L4).
    await expectBatonError(
      baton.tasks.heartbeat({ taskId: task!.id, leaseId: claimed.lease!.leaseId }),
      Code.FailedPrecondition,
      "LEASE_STALE",
    );
  });

  it("ends an expired attempt exactly once when sweeps run concurrently (L3)", async () => {
    const { task } = await baton.tasks.createTask({
      queue: "le-once",
      type: "t",
      timeouts: { heartbeatTimeout: { seconds: 60n } },
      retryPolicy: noBackoff,
    });
    const claimed = await claimOne("le-once", "w");
    const at = new Date(ms(claimed.lease!.expireTime) + 1);
    const sweeps = await Promise.all([1, 2, 3, 4].map(() => sweepOnce(baton.server.engine, at)));
    const hits = sweeps.flat().filter((r) => r.id === task!.id);
    expect(hits).toHaveLength(1);
    const after = await get(task!.id);
    expect(after.state).toBe(TaskState.PENDING);
    expect(after.attempts).toHaveLength(1);
    // One LEASE_EXPIRED event, not one per sweep.
    const events = await baton.server.engine.sql<{ type: string }[]>`
      SELECT type FROM baton_task_events WHERE task_id = ${task!.id} ORDER BY id`;
    expect(events.map((e) => e.type)).toEqual(["created", "claimed", "lease_expired"]);
  });

  it("extends the lease with each heartbeat (L2)", async () => {
    const { task } = await baton.tasks.createTask({
      queue: "le-extend",
      type: "t",
      timeouts: { heartbeatTimeout: { seconds: 60n } },
    });
    const claimed = await claimOne("le-extend", "w");
    const firstExpire = ms(claimed.lease!.expireTime);
    await clockPast(ms(claimed.lease!.startTime) + 20);

    const before = Date.now();
    const hb = await baton.tasks.heartbeat({ taskId: task!.id, leaseId: claimed.lease!.leaseId });
    const after = Date.now();
    const renewed = ms(hb.leaseExpireTime);
    expect(renewed).toBeGreaterThan(firstExpire);
    // now + heartbeat_timeout, by the server's clock (same host).
    expect(renewed).toBeGreaterThanOrEqual(before + 60_000 - 50);
    expect(renewed).toBeLessThanOrEqual(after + 60_000 + 50);

    // Past the first deadline the renewed lease still holds; past the renewed one it ends.
    await sweepOnce(baton.server.engine, new Date(firstExpire + 1));
    expect((await get(task!.id)).state).toBe(TaskState.CLAIMED);
    await sweepOnce(baton.server.engine, new Date(renewed + 1));
    expect((await get(task!.id)).state).toBe(TaskState.PENDING);
  });

  it("never extends a lease past start_to_close; the attempt then ends TIMED_OUT", async () => {
    const { task } = await baton.tasks.createTask({
      queue: "le-stc",
      type: "t",
      timeouts: { heartbeatTimeout: { seconds: 30n }, startToCloseTimeout: { seconds: 5n } },
      retryPolicy: noBackoff,
    });
    const claimed = await claimOne("le-stc", "w");
    const start = ms(claimed.lease!.startTime);
    // The first lease is already capped: heartbeat 30s > start-to-close 5s.
    expect(ms(claimed.lease!.expireTime)).toBe(start + 5_000);
    const hb = await baton.tasks.heartbeat({ taskId: task!.id, leaseId: claimed.lease!.leaseId });
    expect(ms(hb.leaseExpireTime)).toBe(start + 5_000);
    for (const action of hb.contract!.nextActions) expect(ms(action.deadline)).toBe(start + 5_000);

    const swept = await sweepOnce(baton.server.engine, new Date(start + 5_001));
    expect(swept.map((r) => r.id)).toContain(task!.id);
    const after = await get(task!.id);
    expect(after.state).toBe(TaskState.PENDING);
    expect(after.attempts[0]!.outcome).toBe(AttemptOutcome.TIMED_OUT);
    expect(after.lastError!.type).toBe("start_to_close_timeout");
  });

  it("records LEASE_EXPIRED, not TIMED_OUT, for a lease that lapsed long before start_to_close even when swept late", async () => {
    const { task } = await baton.tasks.createTask({
      queue: "le-late-sweep",
      type: "t",
      timeouts: { heartbeatTimeout: { seconds: 60n }, startToCloseTimeout: { seconds: 600n } },
      retryPolicy: noBackoff,
    });
    const claimed = await claimOne("le-late-sweep", "w");
    // The sweep runs an hour later (e.g. every replica was down): the attempt
    // still ended when its lease lapsed at 60s, well within start-to-close.
    await sweepOnce(baton.server.engine, new Date(ms(claimed.lease!.startTime) + 3_600_000));
    const after = await get(task!.id);
    expect(after.state).toBe(TaskState.PENDING);
    expect(after.attempts[0]!.outcome).toBe(AttemptOutcome.LEASE_EXPIRED);
    expect(after.lastError!.type).toBe("lease_expired");
  });

  it("dead-letters a task whose last attempt's lease expired (T4)", async () => {
    const { task } = await baton.tasks.createTask({
      queue: "le-last",
      type: "t",
      maxAttempts: 1,
      timeouts: { heartbeatTimeout: { seconds: 60n } },
    });
    const claimed = await claimOne("le-last", "w");
    await sweepOnce(baton.server.engine, new Date(ms(claimed.lease!.expireTime) + 1));
    const after = await get(task!.id);
    expect(after.state).toBe(TaskState.DEAD_LETTER);
    expect(after.terminalReason).toContain("1 attempts");
    expect(after.attempts[0]!.outcome).toBe(AttemptOutcome.LEASE_EXPIRED);
  });
});
