// Session rules that need no SDK: slots (K1), lease loss (B2), resume (N2),
// extension (E1), zombies (B3 / L3), drain (G2), Listen (F1), results (R2, W4).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../../gen/ts/baton/v1/task_pb.js";
import { WorkerHealth } from "../../gen/ts/baton/v1/worker_pb.js";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { WorkerService } from "../../gen/ts/baton/v1/worker_service_pb.js";
import { sweepOnce } from "../../server/src/engine/lease-sweeper.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";
import { openRawSession } from "../support/raw-session.js";

const later = (ms: number) => new Date(Date.now() + ms);

describe.each(backends)("session rules on %s", (backend) => {
  let baton: TestBaton;
  let n = 0;
  const queue = () => `q${++n}`;
  beforeAll(async () => {
    baton = await startTestBaton(backend);
  });
  afterAll(async () => baton?.close());

  it("never assigns more than the session's slots, and refills a slot after each Ack (K1, K2)", async () => {
    const q = queue();
    await baton.tasks.batchCreateTasks({ requests: Array.from({ length: 7 }, () => ({ queue: q, type: "t" })) });
    const s = openRawSession(baton.server.url);
    s.send({ case: "hello", value: { queues: [q], workerId: "w", instanceId: `${q}-i`, slots: 3 } });
    await s.nextOf("welcome");
    const held = [await s.nextOf("assign"), await s.nextOf("assign"), await s.nextOf("assign")];
    // A fourth Assign must not come while three leases are held: ask for a heartbeat Ack-free round trip.
    await expect(s.nextOf("assign", 1_500)).rejects.toThrow(/no server message/);
    const first = held[0]!.task!;
    s.send({ case: "result", value: { taskId: first.id, leaseId: first.lease!.leaseId, outcome: { case: "completed", value: {} } } });
    expect((await s.nextOf("ack")).accepted).toBe(true);
    expect((await s.nextOf("assign")).task!.id).not.toBe(first.id);
    s.close();
  });

  it("answers a heartbeat for a lost lease with Cancel lease_lost (B2), and rejects its late result (R2)", async () => {
    const q = queue();
    await baton.tasks.createTask({ queue: q, type: "t", timeouts: { heartbeatTimeout: { seconds: 2n } } });
    const s = openRawSession(baton.server.url);
    s.send({ case: "hello", value: { queues: [q], workerId: "w", instanceId: `${q}-i`, slots: 1 } });
    await s.nextOf("welcome");
    const task = (await s.nextOf("assign")).task!;
    s.close(); // the worker stops talking: its lease runs out
    await sweepOnce(baton.server.engine, later(5_000));
    const zombie = openRawSession(baton.server.url);
    zombie.send({ case: "hello", value: { queues: ["elsewhere"], workerId: "w", instanceId: `${q}-z`, slots: 1 } });
    await zombie.nextOf("welcome");
    zombie.send({ case: "heartbeat", value: { leases: [{ taskId: task.id, leaseId: task.lease!.leaseId }] } });
    const cancel = await zombie.nextOf("cancel");
    expect(cancel.leaseLost).toBe(true);
    zombie.send({ case: "result", value: { taskId: task.id, leaseId: task.lease!.leaseId, outcome: { case: "completed", value: {} } } });
    const ack = await zombie.nextOf("ack");
    expect(ack.accepted).toBe(false);
    expect(ack.error!.reason).toBe("LEASE_STALE");
    const got = (await baton.tasks.getTask({ id: task.id })).task!;
    expect(got.state).toBe(TaskState.PENDING);
    expect(got.attempt).toBe(1);
    zombie.close();
  });

  it("resumes current leases after a reconnect and reports gone ones (N2, N3)", async () => {
    const q = queue();
    const { tasks } = await baton.tasks.batchCreateTasks({ requests: [{ queue: q, type: "t" }, { queue: q, type: "t" }] });
    const s = openRawSession(baton.server.url);
    s.send({ case: "hello", value: { queues: [q], workerId: "w", instanceId: `${q}-i`, slots: 2 } });
    await s.nextOf("welcome");
    const [a1, a2] = [(await s.nextOf("assign")).task!, (await s.nextOf("assign")).task!];
    s.close();
    // While disconnected, one task is cancelled and its lease... stays (N3); the other is untouched.
    const fake = { taskId: tasks[0]!.id, leaseId: "00000000-0000-4000-8000-000000000000" };
    const again = openRawSession(baton.server.url);
    again.send({
      case: "hello",
      value: {
        queues: [q],
        workerId: "w",
        instanceId: `${q}-i`,
        slots: 2,
        resumeLeases: [
          { taskId: a1.id, leaseId: a1.lease!.leaseId },
          { taskId: a2.id, leaseId: a2.lease!.leaseId },
          fake,
        ],
      },
    });
    const welcome = await again.nextOf("welcome");
    expect(welcome.resumed.map((l) => l.taskId).sort()).toEqual([a1.id, a2.id].sort());
    expect(welcome.lost.map((l) => l.leaseId)).toEqual([fake.leaseId]);
    // Both slots are taken by the resumed leases: a new task is not assigned.
    await baton.tasks.createTask({ queue: q, type: "t" });
    await expect(again.nextOf("assign", 1_500)).rejects.toThrow(/no server message/);
    again.send({ case: "result", value: { taskId: a1.id, leaseId: a1.lease!.leaseId, outcome: { case: "completed", value: { resumed: true } } } });
    expect((await again.nextOf("ack")).accepted).toBe(true);
    expect((await again.nextOf("assign")).task!.id).not.toBe(a1.id);
    again.close();
  });

  it("extends a lease on request, never past start-to-close (E1)", async () => {
    const q = queue();
    await baton.tasks.createTask({ queue: q, type: "t", timeouts: { heartbeatTimeout: { seconds: 5n }, startToCloseTimeout: { seconds: 600n } } });
    const s = openRawSession(baton.server.url);
    s.send({ case: "hello", value: { queues: [q], workerId: "w", instanceId: `${q}-i`, slots: 1 } });
    await s.nextOf("welcome");
    const task = (await s.nextOf("assign")).task!;
    s.send({ case: "extendLease", value: { taskId: task.id, leaseId: task.lease!.leaseId, extendBy: { seconds: 3600n } } });
    const ack = await s.nextOf("ack");
    expect(ack.accepted).toBe(true);
    const until = Number(ack.leaseExpireTime!.seconds) * 1000;
    const start = Number(task.lease!.startTime!.seconds) * 1000;
    expect(until - start).toBeLessThanOrEqual(600_000 + 1_000);
    expect(until - start).toBeGreaterThan(590_000);
    s.close();
  });

  it("refuses to complete a task whose cancellation was requested (W4) and cancels it on the failure (X2)", async () => {
    const q = queue();
    const { task } = await baton.tasks.createTask({ queue: q, type: "t" });
    const s = openRawSession(baton.server.url);
    s.send({ case: "hello", value: { queues: [q], workerId: "w", instanceId: `${q}-i`, slots: 1 } });
    await s.nextOf("welcome");
    const lease = (await s.nextOf("assign")).task!.lease!;
    await baton.tasks.cancelTask({ id: task!.id, reason: "changed my mind" });
    expect((await s.nextOf("cancel")).leaseLost).toBe(false);
    s.send({ case: "result", value: { taskId: task!.id, leaseId: lease.leaseId, outcome: { case: "completed", value: {} } } });
    const refused = await s.nextOf("ack");
    expect(refused.accepted).toBe(false);
    expect(refused.error!.reason).toBe("CANCEL_REQUESTED");
    s.send({ case: "result", value: { taskId: task!.id, leaseId: lease.leaseId, outcome: { case: "failed", value: { error: { type: "cancelled" } } } } });
    const ack = await s.nextOf("ack");
    expect(ack.accepted).toBe(true);
    expect(ack.taskState).toBe(TaskState.CANCELLED);
    s.close();
  });

  it("stops assigning after Drain (G2) and lists the session as DRAINING", async () => {
    const q = queue();
    const s = openRawSession(baton.server.url);
    s.send({ case: "hello", value: { queues: [q], workerId: "drainer", instanceId: `${q}-i`, slots: 5, labels: { zone: "a" } } });
    const welcome = await s.nextOf("welcome");
    s.send({ case: "drain", value: {} });
    // The heartbeat follows the Drain on the same ordered stream: once it is handled, Drain was too.
    s.send({ case: "heartbeat", value: { leases: [] } });
    await baton.tasks.createTask({ queue: q, type: "t" });
    await expect(s.nextOf("assign", 1_500)).rejects.toThrow(/no server message/);
    const workers = createClient(WorkerService, createConnectTransport({ baseUrl: baton.server.url, httpVersion: "1.1" }));
    const listed = await workers.listWorkers({ queue: q });
    expect(listed.workers.map((w) => w.sessionId)).toEqual([welcome.sessionId]);
    const info = (await workers.getWorker({ sessionId: welcome.sessionId })).worker!;
    expect(info.labels).toEqual({ zone: "a" });
    expect(info.health).toBe(WorkerHealth.DRAINING);
    s.close();
  });

  it("serves Listen workers: pushed Assign, unary results, slot freed by CompleteTask (F1)", async () => {
    const q = queue();
    const workers = createClient(WorkerService, createConnectTransport({ baseUrl: baton.server.url, httpVersion: "1.1" }));
    const abort = new AbortController();
    const stream = workers.listen({ hello: { queues: [q], workerId: "listener", instanceId: `${q}-l`, slots: 1 } }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect((await stream.next()).value!.message.case).toBe("welcome");
    await baton.tasks.batchCreateTasks({ requests: [{ queue: q, type: "t" }, { queue: q, type: "t" }] });
    const first = (await stream.next()).value!.message;
    expect(first.case).toBe("assign");
    if (first.case !== "assign") return;
    await baton.tasks.completeTask({ taskId: first.value.task!.id, leaseId: first.value.task!.lease!.leaseId, result: {} });
    const second = (await stream.next()).value!.message;
    expect(second.case).toBe("assign");
    abort.abort();
  });
});
