// WatchTasks: ordered events with increasing cursors, resumable without gaps or duplicates.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskEventType, TaskState, type TaskEvent } from "../../gen/ts/baton/v1/task_pb.js";
import { sweepOnce } from "../../server/src/engine/lease-sweeper.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";
import { ms, watch, type Watcher } from "../support/protocol.js";

describe.each(backends)("WatchTasks on %s", (backend) => {
  let baton: TestBaton;
  const open: Watcher[] = [];
  beforeAll(async () => {
    baton = await startTestBaton(backend);
  });
  afterAll(async () => {
    for (const w of open) w.close();
    await baton?.close();
  });

  function watcher(req: Parameters<typeof watch>[1]): Watcher {
    const w = watch(baton.tasks, req);
    open.push(w);
    return w;
  }

  function expectIncreasing(events: TaskEvent[]) {
    for (let i = 1; i < events.length; i++) expect(events[i]!.cursor).toBeGreaterThan(events[i - 1]!.cursor);
  }

  it("streams created, claimed and completed for a task, in order, with increasing cursors", async () => {
    // after_cursor 0 replays from the oldest event, so nothing created before the
    // stream is established can be missed; the claim and completion are live.
    const w = watcher({ queue: "w-basic", afterCursor: 0n });
    const { task } = await baton.tasks.createTask({ queue: "w-basic", type: "t", payload: { a: 1 } });
    const [created] = await w.waitFor(1);
    expect(created!.type).toBe(TaskEventType.CREATED);
    expect(created!.task!.id).toBe(task!.id);
    expect(created!.task!.state).toBe(TaskState.PENDING);
    expect(created!.task!.payload).toEqual({ a: 1 });

    const [claimed] = (await baton.tasks.claimTasks({ queue: "w-basic", workerId: "w1" })).tasks;
    await w.waitFor(2);
    await baton.tasks.completeTask({ taskId: task!.id, leaseId: claimed!.lease!.leaseId, result: { ok: true } });
    const events = await w.waitFor(3);

    expect(events.map((e) => e.type)).toEqual([TaskEventType.CREATED, TaskEventType.CLAIMED, TaskEventType.COMPLETED]);
    expectIncreasing(events);
    expect(events.every((e) => e.task!.id === task!.id)).toBe(true);
    // Each event carries the task as it was right after the change.
    expect(events[1]!.task!.state).toBe(TaskState.CLAIMED);
    expect(events[1]!.task!.lease!.workerId).toBe("w1");
    expect(events[1]!.task!.attempt).toBe(1);
    expect(events[2]!.task!.state).toBe(TaskState.COMPLETED);
    expect(events[2]!.task!.result).toEqual({ ok: true });
    for (const e of events) expect(ms(e.time)).toBeGreaterThan(0);
    expect(ms(events[2]!.time)).toBeGreaterThanOrEqual(ms(events[0]!.time));
  });

  it("resuming with after_cursor gets exactly the missed events", async () => {
    const first = watcher({ queue: "w-resume", afterCursor: 0n });
    const { task } = await baton.tasks.createTask({ queue: "w-resume", type: "t" });
    const [created] = await first.waitFor(1);
    first.close();
    await first.ended;

    // While nobody watches: claim, fail (retry), claim, complete.
    const c1 = (await baton.tasks.claimTasks({ queue: "w-resume", workerId: "w" })).tasks[0]!;
    await baton.tasks.failTask({ taskId: task!.id, leaseId: c1.lease!.leaseId, error: { type: "x" }, retryAfter: { seconds: 0n } });
    await baton.server.engine.sql`UPDATE baton_tasks SET scheduled_at = now() WHERE id = ${task!.id}`;
    const c2 = (await baton.tasks.claimTasks({ queue: "w-resume", workerId: "w" })).tasks[0]!;
    await baton.tasks.completeTask({ taskId: task!.id, leaseId: c2.lease!.leaseId });

    const resumed = watcher({ queue: "w-resume", afterCursor: created!.cursor });
    const missed = await resumed.waitFor(4);
    expect(missed.map((e) => e.type)).toEqual([
      TaskEventType.CLAIMED,
      TaskEventType.RETRY_SCHEDULED,
      TaskEventType.CLAIMED,
      TaskEventType.COMPLETED,
    ]);
    expect(missed[0]!.cursor).toBeGreaterThan(created!.cursor);
    expectIncreasing(missed);
    // Nothing else was pending: the next event is a new one, not a duplicate.
    const { task: next } = await baton.tasks.createTask({ queue: "w-resume", type: "t" });
    const all = await resumed.waitFor(5);
    expect(all[4]!.type).toBe(TaskEventType.CREATED);
    expect(all[4]!.task!.id).toBe(next!.id);
    expect(all[4]!.cursor).toBeGreaterThan(all[3]!.cursor);
    expect(resumed.events).toHaveLength(5);
  });

  it("without after_cursor streams only events committed after the call", async () => {
    const replay = watcher({ queue: "w-live", afterCursor: 0n });
    const { task: old } = await baton.tasks.createTask({ queue: "w-live", type: "t" });
    await replay.waitFor(1);

    const live = watcher({ queue: "w-live" });
    // We cannot see when the server has opened the stream, so keep creating until
    // the first event arrives; it must be one of these, never the old task's.
    const fresh: string[] = [];
    const deadline = Date.now() + 10_000;
    while (live.events.length === 0 && Date.now() < deadline) {
      fresh.push((await baton.tasks.createTask({ queue: "w-live", type: "t" })).task!.id);
      await live.waitFor(1, 200).catch(() => undefined);
    }
    expect(live.events.length).toBeGreaterThan(0);
    expect(live.events[0]!.task!.id).not.toBe(old!.id);
    expect(fresh).toContain(live.events[0]!.task!.id);
  });

  it("filters by task_id, type and namespace", async () => {
    const res = await baton.tasks.batchCreateTasks({
      requests: [
        { queue: "w-filter", type: "keep" },
        { queue: "w-filter", type: "drop" },
        { namespace: "w-other", queue: "w-filter", type: "keep" },
      ],
    });
    const [keep, drop, otherNs] = res.tasks;
    const byId = watcher({ taskId: drop!.id, afterCursor: 0n });
    const byType = watcher({ queue: "w-filter", type: "keep", afterCursor: 0n });
    const byNs = watcher({ namespace: "w-other", afterCursor: 0n });
    expect((await byId.waitFor(1))[0]!.task!.id).toBe(drop!.id);
    expect((await byType.waitFor(1))[0]!.task!.id).toBe(keep!.id);
    expect((await byNs.waitFor(1))[0]!.task!.id).toBe(otherNs!.id);

    // A change to `keep` reaches only the type watcher.
    await baton.tasks.cancelTask({ id: keep!.id });
    await baton.tasks.cancelTask({ id: drop!.id });
    const typeEvents = await byType.waitFor(2);
    expect(typeEvents[1]!.type).toBe(TaskEventType.CANCELLED);
    expect(typeEvents[1]!.task!.id).toBe(keep!.id);
    const idEvents = await byId.waitFor(2);
    expect(idEvents.map((e) => e.task!.id)).toEqual([drop!.id, drop!.id]);
    expect(byNs.events.every((e) => e.task!.namespace === "w-other")).toBe(true);
  });

  it("names every kind of change: cancel requested, cancelled, lease expired, dead-lettered, requeued", async () => {
    const w = watcher({ queue: "w-kinds", afterCursor: 0n });
    const { task } = await baton.tasks.createTask({
      queue: "w-kinds",
      type: "t",
      maxAttempts: 2,
      timeouts: { heartbeatTimeout: { seconds: 60n } },
      retryPolicy: { initialBackoff: { seconds: 0n }, jitter: 0 },
    });
    const c1 = (await baton.tasks.claimTasks({ queue: "w-kinds", workerId: "w" })).tasks[0]!;
    await sweepOnce(baton.server.engine, new Date(ms(c1.lease!.expireTime) + 1)); // lease expired -> retry
    await baton.server.engine.sql`UPDATE baton_tasks SET scheduled_at = now() WHERE id = ${task!.id}`;
    const c2 = (await baton.tasks.claimTasks({ queue: "w-kinds", workerId: "w" })).tasks[0]!;
    await baton.tasks.failTask({ taskId: task!.id, leaseId: c2.lease!.leaseId, error: { type: "x" } }); // last attempt -> dead letter
    await baton.tasks.requeueTask({ id: task!.id });
    const c3 = (await baton.tasks.claimTasks({ queue: "w-kinds", workerId: "w" })).tasks[0]!;
    await baton.tasks.cancelTask({ id: task!.id });
    await baton.tasks.failTask({ taskId: task!.id, leaseId: c3.lease!.leaseId, error: { type: "cancelled" } });

    const events = await w.waitFor(9);
    expect(events.map((e) => TaskEventType[e.type])).toEqual([
      "CREATED",
      "CLAIMED",
      "LEASE_EXPIRED",
      "CLAIMED",
      "DEAD_LETTERED",
      "REQUEUED",
      "CLAIMED",
      "CANCEL_REQUESTED",
      "CANCELLED",
    ]);
    expectIncreasing(events);
    expect(events[7]!.task!.cancelRequested).toBe(true);
    expect(events[8]!.task!.state).toBe(TaskState.CANCELLED);
  });
});
