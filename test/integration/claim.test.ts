// ClaimTasks: long-poll, priority and scheduled-time order, filters.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../../gen/ts/baton/v1/task_pb.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";

const seconds = (s: number) => ({ seconds: BigInt(Math.floor(s)), nanos: Math.round((s % 1) * 1e9) });
const at = (msSinceEpoch: number) => ({ seconds: BigInt(Math.floor(msSinceEpoch / 1000)), nanos: (msSinceEpoch % 1000) * 1e6 });

describe.each(backends)("ClaimTasks on %s", (backend) => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton(backend);
  });
  afterAll(async () => baton?.close());

  it("long-polls: a claimer waiting 10s gets a task created 100ms later, well before the deadline", async () => {
    const started = Date.now();
    const waiting = baton.tasks.claimTasks({ queue: "cl-poll", workerId: "w", wait: seconds(10) });
    const creating = new Promise((r) => setTimeout(r, 100)).then(() => baton.tasks.createTask({ queue: "cl-poll", type: "t" }));
    const [res, created] = await Promise.all([waiting, creating]);
    const elapsed = Date.now() - started;
    expect(res.tasks.map((t) => t.id)).toEqual([created.task!.id]);
    expect(res.tasks[0]!.state).toBe(TaskState.CLAIMED);
    expect(elapsed).toBeLessThan(5_000);
  });

  it("long-polls: returns empty at the deadline when nothing comes", async () => {
    const started = Date.now();
    const res = await baton.tasks.claimTasks({ queue: "cl-nothing", workerId: "w", wait: seconds(0.3) });
    const elapsed = Date.now() - started;
    expect(res.tasks).toHaveLength(0);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(3_000);
    expect(res.contract!.nextActions.map((a) => a.rpc)).toEqual(["baton.v1.TaskService/ClaimTasks"]);
  });

  it("does not wait when a task is already claimable, and caps a very long wait instead of refusing it", async () => {
    const { task } = await baton.tasks.createTask({ queue: "cl-ready", type: "t" });
    const started = Date.now();
    const res = await baton.tasks.claimTasks({ queue: "cl-ready", workerId: "w", wait: seconds(3600) });
    expect(res.tasks.map((t) => t.id)).toEqual([task!.id]);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("is not woken by a task in another queue", async () => {
    const waiting = baton.tasks.claimTasks({ queue: "cl-mine", workerId: "w", wait: seconds(0.5) });
    await baton.tasks.createTask({ queue: "cl-theirs", type: "t" });
    expect((await waiting).tasks).toHaveLength(0);
  });

  it("claims the highest priority first, then the earliest scheduled time", async () => {
    const now = Date.now();
    const res = await baton.tasks.batchCreateTasks({
      requests: [
        { queue: "cl-prio", type: "t", payload: { n: "low" }, priority: -5 },
        { queue: "cl-prio", type: "t", payload: { n: "mid-later" }, priority: 0, scheduledTime: at(now - 1_000) },
        { queue: "cl-prio", type: "t", payload: { n: "high" }, priority: 10 },
        { queue: "cl-prio", type: "t", payload: { n: "mid-earlier" }, priority: 0, scheduledTime: at(now - 60_000) },
        { queue: "cl-prio", type: "t", payload: { n: "top" }, priority: 1000 },
      ],
    });
    expect(res.tasks).toHaveLength(5);
    const order: string[] = [];
    for (let i = 0; i < 2; i++) {
      const one = await baton.tasks.claimTasks({ queue: "cl-prio", workerId: "w" });
      order.push(...one.tasks.map((t) => String(t.payload!.n)));
    }
    const rest = await baton.tasks.claimTasks({ queue: "cl-prio", workerId: "w", maxTasks: 10 });
    order.push(...rest.tasks.map((t) => String(t.payload!.n)));
    expect(order).toEqual(["top", "high", "mid-earlier", "mid-later", "low"]);
  });

  it("does not hand out a task before its scheduled_time, then a waiting claimer gets it once due", async () => {
    const later = await baton.tasks.createTask({ queue: "cl-sched", type: "t", scheduledTime: at(Date.now() + 3_600_000) });
    expect((await baton.tasks.claimTasks({ queue: "cl-sched", workerId: "w", maxTasks: 10 })).tasks).toHaveLength(0);
    expect((await baton.tasks.getTask({ id: later.task!.id })).task!.state).toBe(TaskState.PENDING);

    const dueAt = Date.now() + 1_200;
    const soon = await baton.tasks.createTask({ queue: "cl-sched", type: "t", scheduledTime: at(dueAt) });
    const res = await baton.tasks.claimTasks({ queue: "cl-sched", workerId: "w", maxTasks: 10, wait: seconds(10) });
    expect(res.tasks.map((t) => t.id)).toEqual([soon.task!.id]);
    expect(Date.now()).toBeGreaterThanOrEqual(dueAt);
    expect(Date.now()).toBeLessThan(dueAt + 5_000);
  });

  it("claims only the listed types, and only from its own namespace and queue", async () => {
    await baton.tasks.batchCreateTasks({
      requests: [
        { queue: "cl-types", type: "image.resize" },
        { queue: "cl-types", type: "email.send" },
        { namespace: "cl-other-ns", queue: "cl-types", type: "email.send" },
      ],
    });
    const emails = await baton.tasks.claimTasks({ queue: "cl-types", types: ["email.send", "sms.send"], workerId: "w", maxTasks: 10 });
    expect(emails.tasks.map((t) => [t.namespace, t.type])).toEqual([["default", "email.send"]]);
    const other = await baton.tasks.claimTasks({ namespace: "cl-other-ns", queue: "cl-types", workerId: "w", maxTasks: 10 });
    expect(other.tasks.map((t) => [t.namespace, t.type])).toEqual([["cl-other-ns", "email.send"]]);
    const rest = await baton.tasks.claimTasks({ queue: "cl-types", workerId: "w", maxTasks: 10 });
    expect(rest.tasks.map((t) => t.type)).toEqual(["image.resize"]);
  });

  it("honours max_tasks", async () => {
    await baton.tasks.batchCreateTasks({ requests: Array.from({ length: 7 }, () => ({ queue: "cl-max", type: "t" })) });
    expect((await baton.tasks.claimTasks({ queue: "cl-max", workerId: "w", maxTasks: 3 })).tasks).toHaveLength(3);
    expect((await baton.tasks.claimTasks({ queue: "cl-max", workerId: "w" })).tasks).toHaveLength(1);
    expect((await baton.tasks.claimTasks({ queue: "cl-max", workerId: "w", maxTasks: 100 })).tasks).toHaveLength(3);
  });
});
