// Two replicas on one Postgres and one NATS: work and cancellations cross replicas at once.
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskEventType } from "../../gen/ts/baton/v1/task_pb.js";
import { TaskService } from "../../gen/ts/baton/v1/task_service_pb.js";
import { freshDatabaseUrl, sharedNatsUrl } from "../support/databases.js";
import { openRawSession } from "../support/raw-session.js";
import { startReplica, type Replica } from "../support/replica.js";

const tasksOf = (r: Replica): Client<typeof TaskService> =>
  createClient(TaskService, createConnectTransport({ baseUrl: r.url, httpVersion: "1.1" }));

describe("two replicas over NATS", () => {
  let a: Replica;
  let b: Replica;
  beforeAll(async () => {
    const databaseUrl = await freshDatabaseUrl();
    const natsUrl = sharedNatsUrl();
    // Sequential: both would migrate at once otherwise — which is also safe, but slower to start.
    a = await startReplica({ databaseUrl, natsUrl });
    b = await startReplica({ databaseUrl, natsUrl });
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it("pushes a task created through A to a worker connected to B at once", async () => {
    const worker = openRawSession(b.url);
    worker.send({ case: "hello", value: { queues: ["cross"], workerId: "w", instanceId: "cross-1", slots: 1 } });
    await worker.nextOf("welcome");
    const created = Date.now();
    const { task } = await tasksOf(a).createTask({ queue: "cross", type: "t" });
    const assign = await worker.nextOf("assign", 5_000);
    expect(assign.task!.id).toBe(task!.id);
    // A wake-up crosses NATS; without it B would only find the task on its next 1s tick.
    expect(Date.now() - created).toBeLessThan(900);
    worker.close();
  });

  it("delivers CancelTask through B to the worker on A within one second", async () => {
    const worker = openRawSession(a.url);
    worker.send({ case: "hello", value: { queues: ["cross-cancel"], workerId: "w", instanceId: "cross-2", slots: 1 } });
    await worker.nextOf("welcome");
    const { task } = await tasksOf(b).createTask({ queue: "cross-cancel", type: "t" });
    const assign = await worker.nextOf("assign");
    const asked = Date.now();
    await tasksOf(b).cancelTask({ id: task!.id, reason: "stop" });
    const cancel = await worker.nextOf("cancel", 1_000);
    expect(Date.now() - asked).toBeLessThan(1_000);
    expect(cancel.taskId).toBe(task!.id);
    expect(cancel.leaseId).toBe(assign.task!.lease!.leaseId);
    worker.close();
  });

  it("shows every event to watchers on both replicas", async () => {
    const watch = (r: Replica, signal: AbortSignal) =>
      tasksOf(r).watchTasks({ queue: "watched", afterCursor: 0n }, { signal })[Symbol.asyncIterator]();
    const abort = new AbortController();
    const onA = watch(a, abort.signal);
    const onB = watch(b, abort.signal);
    // From cursor 0 on a queue only this test uses: the streams see its events whenever they connect.
    const first = [onA.next(), onB.next()];
    const { task } = await tasksOf(a).createTask({ queue: "watched", type: "t" });
    const claimed = await tasksOf(b).claimTasks({ queue: "watched", workerId: "w" });
    await tasksOf(a).completeTask({ taskId: task!.id, leaseId: claimed.tasks[0]!.lease!.leaseId, result: {} });
    const collect = async (it: AsyncIterator<{ event?: { type: TaskEventType; cursor: bigint } }>, firstP: Promise<IteratorResult<{ event?: { type: TaskEventType; cursor: bigint } }>>) => {
      const events = [(await firstP).value!.event!];
      while (events.length < 3) events.push((await it.next()).value!.event!);
      return events;
    };
    const [ea, eb] = await Promise.all([collect(onA, first[0]!), collect(onB, first[1]!)]);
    abort.abort();
    const expected = [TaskEventType.CREATED, TaskEventType.CLAIMED, TaskEventType.COMPLETED];
    expect(ea.map((e) => e.type)).toEqual(expected);
    expect(eb.map((e) => e.type)).toEqual(expected);
    expect(ea.map((e) => e.cursor)).toEqual(eb.map((e) => e.cursor));
  });
});
