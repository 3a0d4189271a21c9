import { durationMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { TaskState } from "../../../gen/ts/baton/v1/task_pb.js";
import { FakeServer, leasedTask, type FakeStream } from "./fake-server.test-util.js";
import { silentLogger } from "./logger.js";
import { Worker, type WorkerOptions } from "./worker.js";
import { SDK_NAME } from "./version.js";
import { ErrorReason, NonRetryableError, reasonName, TaskAbortedError } from "./errors.js";
import { AsyncQueue } from "./queue.js";

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 0, flushTimeoutMs: 0 })));
});

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function newWorker(server: FakeServer, opts: Partial<WorkerOptions> = {}): Worker {
  const w = new Worker({ baseUrl: "http://fake", rpcTransport: server.transport, queues: ["q"], workerId: "w", slots: 2, logger: silentLogger, ...opts });
  workers.push(w);
  return w;
}

/** Runs the worker and plays Hello → Welcome. */
async function connect(worker: Worker, server: FakeServer, welcome: Parameters<FakeStream["welcome"]>[0] = {}): Promise<FakeStream> {
  void worker.run().catch(() => {});
  const stream = await server.accept();
  await stream.hello;
  const connected = worker.once("connected", undefined, 5_000);
  stream.welcome(welcome);
  await connected;
  return stream;
}

describe("Worker over a scripted server", () => {
  it("says Hello with its slots, queues, handler types and instance id (H1, H2)", async () => {
    const server = new FakeServer();
    const worker = newWorker(server, { slots: 3, queues: ["a", "b"], instanceId: "inst-1", labels: { zone: "z1" }, namespace: "ns" });
    worker.handle("x", async () => ({})).handle("y", async () => ({}));
    void worker.run();
    const stream = await server.accept();
    const hello = await stream.hello;
    expect(hello).toMatchObject({ slots: 3, queues: ["a", "b"], taskTypes: ["x", "y"], workerId: "w", instanceId: "inst-1", namespace: "ns", sdk: SDK_NAME, resumeLeases: [] });
    expect(hello.labels).toEqual({ zone: "z1" });
  });

  it("runs an assigned task, sends its Result and reports completion on Ack", async () => {
    const server = new FakeServer();
    const worker = newWorker(server);
    worker.handle("sum", async (task) => ({ total: (task.payload!.xs as number[]).reduce((a, b) => a + b, 0) }));
    const stream = await connect(worker, server);
    const task = leasedTask("sum", { xs: [1, 2, 3] });
    stream.assign(task);
    const result = await stream.next("result");
    expect(result).toMatchObject({ taskId: task.id, leaseId: task.lease!.leaseId, outcome: { case: "completed", value: { total: 6 } } });
    const completed = worker.once("completed", undefined, 5_000);
    stream.send({ case: "ack", value: { taskId: task.id, leaseId: task.lease!.leaseId, accepted: true, taskState: TaskState.COMPLETED } });
    expect(await completed).toMatchObject({ result: { total: 6 }, taskState: TaskState.COMPLETED });
  });

  it("heartbeats on the Welcome's interval with every running lease in one message (B1)", async () => {
    const server = new FakeServer();
    const worker = newWorker(server);
    const release = deferred();
    worker.handle("wait", () => release.promise.then(() => ({})));
    const stream = await connect(worker, server, { heartbeatIntervalMs: 50 });
    const [a, b] = [leasedTask("wait"), leasedTask("wait")];
    stream.assign(a);
    stream.assign(b);
    for (;;) {
      const hb = await stream.next("heartbeat");
      if (hb.leases.length < 2) continue;
      expect(hb.leases.map((l) => [l.taskId, l.leaseId])).toEqual([
        [a.id, a.lease!.leaseId],
        [b.id, b.lease!.leaseId],
      ]);
      break;
    }
    release.resolve();
  });

  it("fails a task type without a handler as non-retryable unknown_task_type", async () => {
    const server = new FakeServer();
    const worker = newWorker(server);
    worker.handle("known", async () => ({}));
    const stream = await connect(worker, server);
    stream.assign(leasedTask("mystery"));
    const result = await stream.next("result");
    expect(result.outcome).toMatchObject({ case: "failed", value: { error: { type: "unknown_task_type", nonRetryable: true } } });
  });

  it("never runs more than its slots even if the server over-assigns (K3)", async () => {
    const server = new FakeServer();
    const worker = newWorker(server, { slots: 2 });
    let running = 0;
    let max = 0;
    const gates = new Map<string, () => void>();
    const starts = new AsyncQueue<string>();
    const started = starts[Symbol.asyncIterator]();
    const nextStart = async () => (await started.next()).value as string;
    worker.handle("gated", (task) => {
      running++;
      max = Math.max(max, running);
      const done = new Promise<object>((resolve) => gates.set(task.id, () => (running--, resolve({}))));
      starts.push(task.id);
      return done;
    });
    const stream = await connect(worker, server);
    const tasks = [1, 2, 3, 4].map(() => leasedTask("gated"));
    for (const t of tasks) stream.assign(t);
    const first = [await nextStart(), await nextStart()];
    expect(worker.runningCount).toBe(2);
    const finished: string[] = [];
    for (const id of first) {
      gates.get(id)!();
      finished.push((await stream.next("result")).taskId);
    }
    const later = [await nextStart(), await nextStart()];
    for (const id of later) {
      gates.get(id)!();
      finished.push((await stream.next("result")).taskId);
    }
    expect(finished.sort()).toEqual(tasks.map((t) => t.id).sort());
    expect(max).toBe(2);
  });

  it("on Cancel aborts the signal and sends a `cancelled` failure (X2)", async () => {
    const server = new FakeServer();
    const worker = newWorker(server);
    const reason = deferred<unknown>();
    worker.handle("long", (_task, ctx) => new Promise((_, reject) => ctx.signal.addEventListener("abort", () => (reason.resolve(ctx.signal.reason), reject(ctx.signal.reason)))));
    const stream = await connect(worker, server);
    const task = leasedTask("long");
    stream.assign(task);
    await worker.once("assigned");
    stream.send({ case: "cancel", value: { taskId: task.id, leaseId: task.lease!.leaseId, reason: "duplicate order" } });
    const why = await reason.promise;
    expect(why).toBeInstanceOf(TaskAbortedError);
    expect(why).toMatchObject({ why: "cancelled", message: "duplicate order" });
    const result = await stream.next("result");
    expect(result.outcome).toMatchObject({ case: "failed", value: { error: { type: "cancelled", message: "duplicate order", nonRetryable: false } } });
  });

  it("sends the cancel failure within the grace even if the handler ignores its signal", async () => {
    const server = new FakeServer();
    const worker = newWorker(server);
    const never = deferred();
    worker.handle("stubborn", () => never.promise);
    const stream = await connect(worker, server, { cancelGraceMs: 200 });
    const task = leasedTask("stubborn");
    stream.assign(task);
    await worker.once("assigned");
    const t0 = Date.now();
    stream.send({ case: "cancel", value: { taskId: task.id, leaseId: task.lease!.leaseId, reason: "stop" } });
    const result = await stream.next("result", 1_000);
    expect(Date.now() - t0).toBeLessThan(200);
    expect(result.outcome.case).toBe("failed");
    expect(worker.runningCount).toBe(1);
    never.resolve();
  });

  it("on a lost lease stops the handler and sends nothing for it (B2)", async () => {
    const server = new FakeServer();
    const worker = newWorker(server);
    const aborted = deferred<unknown>();
    worker.handle("t", (task, ctx) =>
      task.payload?.wait ? new Promise((resolve) => ctx.signal.addEventListener("abort", () => (aborted.resolve(ctx.signal.reason), resolve({ late: true })))) : {},
    );
    const stream = await connect(worker, server);
    const lost = leasedTask("t", { wait: true });
    stream.assign(lost);
    await worker.once("assigned");
    stream.send({ case: "cancel", value: { taskId: lost.id, leaseId: lost.lease!.leaseId, reason: "expired", leaseLost: true } });
    expect(await aborted.promise).toMatchObject({ why: "lease_lost" });
    const next = leasedTask("t");
    stream.assign(next);
    // The first Result after the lost one is the next task's: the lost handler's value was dropped.
    expect((await stream.next("result")).taskId).toBe(next.id);
  });

  it("resends an unacknowledged Result after reconnecting, listing its lease in Hello (R3, N2)", async () => {
    const server = new FakeServer();
    const worker = newWorker(server, { reconnect: { floorMs: 100, capMs: 200 } });
    worker.handle("t", async () => ({ v: 1 }));
    const first = await connect(worker, server);
    const task = leasedTask("t");
    first.assign(task);
    const sent = await first.next("result");
    const disconnected = worker.once("disconnected", undefined, 5_000);
    first.end(new ConnectError("connection reset", Code.Unavailable));
    const { reconnectInMs } = await disconnected;
    expect(reconnectInMs).toBeGreaterThanOrEqual(100);
    expect(reconnectInMs).toBeLessThanOrEqual(200);

    const second = await server.accept();
    const hello = await second.hello;
    expect(hello.resumeLeases.map((l) => [l.taskId, l.leaseId])).toEqual([[task.id, task.lease!.leaseId]]);
    expect(hello.instanceId).toBe((await first.hello).instanceId);
    second.welcome({ resumed: hello.resumeLeases });
    const resent = await second.next("result");
    expect(resent).toEqual(sent);
    const completed = worker.once("completed", undefined, 5_000);
    second.send({ case: "ack", value: { taskId: task.id, leaseId: task.lease!.leaseId, accepted: true, taskState: TaskState.COMPLETED } });
    await completed;
  });

  it("never resends a Result the server refused (R4)", async () => {
    const server = new FakeServer();
    const worker = newWorker(server, { reconnect: { floorMs: 100, capMs: 100 } });
    worker.handle("t", async () => ({}));
    const first = await connect(worker, server);
    const refused = leasedTask("t");
    first.assign(refused);
    await first.next("result");
    const rejected = worker.once("rejected", undefined, 5_000);
    first.send({ case: "ack", value: { taskId: refused.id, leaseId: refused.lease!.leaseId, accepted: false, error: { reason: reasonName(ErrorReason.LEASE_STALE) } } });
    expect((await rejected).error?.reason).toBe(reasonName(ErrorReason.LEASE_STALE));
    first.end();

    const second = await server.accept();
    expect((await second.hello).resumeLeases).toEqual([]);
    second.welcome();
    const fresh = leasedTask("t");
    second.assign(fresh);
    expect((await second.next("result")).taskId).toBe(fresh.id);
  });

  it("answers a completion refused as CANCEL_REQUESTED with the cancellation failure (X2)", async () => {
    const server = new FakeServer();
    const worker = newWorker(server);
    worker.handle("t", async () => ({ done: true }));
    const stream = await connect(worker, server);
    const task = leasedTask("t");
    stream.assign(task);
    expect((await stream.next("result")).outcome.case).toBe("completed");
    stream.send({
      case: "ack",
      value: { taskId: task.id, leaseId: task.lease!.leaseId, accepted: false, error: { reason: reasonName(ErrorReason.CANCEL_REQUESTED), message: "cancelled while running" } },
    });
    const failure = await stream.next("result");
    expect(failure).toMatchObject({ taskId: task.id, leaseId: task.lease!.leaseId, outcome: { case: "failed", value: { error: { type: "cancelled" } } } });
    const failed = worker.once("failed", undefined, 5_000);
    stream.send({ case: "ack", value: { taskId: task.id, leaseId: task.lease!.leaseId, accepted: true, taskState: TaskState.CANCELLED } });
    expect((await failed).taskState).toBe(TaskState.CANCELLED);
  });

  it("stops handlers whose leases Welcome reports lost (N2)", async () => {
    const server = new FakeServer();
    const worker = newWorker(server, { reconnect: { floorMs: 100, capMs: 100 } });
    const aborted = deferred<unknown>();
    worker.handle("t", (_task, ctx) => new Promise((resolve) => ctx.signal.addEventListener("abort", () => (aborted.resolve(ctx.signal.reason), resolve({})))));
    const first = await connect(worker, server);
    const task = leasedTask("t");
    first.assign(task);
    await worker.once("assigned");
    first.end(new ConnectError("gone", Code.Unavailable));
    const second = await server.accept();
    const hello = await second.hello;
    second.welcome({ lost: hello.resumeLeases });
    expect(await aborted.promise).toMatchObject({ why: "lease_lost" });
  });

  it("after GoAway takes no new work, finishes running tasks, then closes and reconnects after reconnect_after (G1)", async () => {
    const server = new FakeServer();
    const worker = newWorker(server);
    const release = deferred();
    worker.handle("t", (task) => (task.payload?.wait ? release.promise.then(() => ({ waited: true })) : {}));
    const first = await connect(worker, server);
    const running = leasedTask("t", { wait: true });
    first.assign(running);
    await worker.once("assigned");
    first.send({ case: "goAway", value: { reason: "deploy", reconnectAfter: { nanos: 150_000_000 } } });
    await worker.once("goAway");
    const late = leasedTask("t");
    first.assign(late);
    const refused = await first.next("result");
    expect(refused).toMatchObject({ taskId: late.id, outcome: { case: "failed", value: { error: { type: "worker_going_away", nonRetryable: false } } } });
    first.send({ case: "ack", value: { taskId: late.id, leaseId: late.lease!.leaseId, accepted: true, taskState: TaskState.PENDING } });
    release.resolve();
    const result = await first.next("result");
    expect(result.taskId).toBe(running.id);
    const disconnected = worker.once("disconnected", undefined, 5_000);
    first.send({ case: "ack", value: { taskId: running.id, leaseId: running.lease!.leaseId, accepted: true, taskState: TaskState.COMPLETED } });
    await first.closedByWorker;
    first.end();
    expect((await disconnected).reconnectInMs).toBe(150);
    const second = await server.accept();
    expect((await second.hello).resumeLeases).toEqual([]);
  });

  it("stop() sends Drain, lets running tasks finish, then closes the stream (G2)", async () => {
    const server = new FakeServer();
    const worker = newWorker(server);
    const release = deferred();
    worker.handle("t", () => release.promise.then(() => ({ done: true })));
    const stream = await connect(worker, server);
    const task = leasedTask("t");
    stream.assign(task);
    await worker.once("assigned");
    const stopped = worker.stop({ graceMs: 5_000 });
    await stream.next("drain");
    release.resolve();
    await stream.next("result");
    stream.send({ case: "ack", value: { taskId: task.id, leaseId: task.lease!.leaseId, accepted: true, taskState: TaskState.COMPLETED } });
    await stream.closedByWorker;
    stream.end();
    await stopped;
    expect(worker.connected).toBe(false);
  });

  it("stop() aborts what outlives the grace as retryable worker_shutdown", async () => {
    const server = new FakeServer();
    const worker = newWorker(server);
    const reason = deferred<unknown>();
    worker.handle("t", (_task, ctx) => new Promise((resolve) => ctx.signal.addEventListener("abort", () => (reason.resolve(ctx.signal.reason), resolve({})))));
    const stream = await connect(worker, server);
    const task = leasedTask("t");
    stream.assign(task);
    await worker.once("assigned");
    const stopped = worker.stop({ graceMs: 50 });
    await stream.next("drain");
    const result = await stream.next("result");
    expect(result.outcome).toMatchObject({ case: "failed", value: { error: { type: "worker_shutdown", nonRetryable: false } } });
    expect(await reason.promise).toMatchObject({ why: "shutdown" });
    stream.send({ case: "ack", value: { taskId: task.id, leaseId: task.lease!.leaseId, accepted: true, taskState: TaskState.PENDING } });
    await stream.closedByWorker;
    stream.end();
    await stopped;
  });

  it("extendLease sends ExtendLease and resolves with the Ack's deadline (E1)", async () => {
    const server = new FakeServer();
    const worker = newWorker(server);
    const extended = deferred<Date>();
    worker.handle("t", async (_task, ctx) => {
      extended.resolve(await ctx.extendLease(120_000));
      throw new NonRetryableError("after extension", { type: "done" });
    });
    const stream = await connect(worker, server);
    const task = leasedTask("t");
    stream.assign(task);
    const ext = await stream.next("extendLease");
    expect(ext).toMatchObject({ taskId: task.id, leaseId: task.lease!.leaseId });
    expect(durationMs(ext.extendBy!)).toBe(120_000);
    const until = new Date(Date.now() + 120_000);
    stream.send({ case: "ack", value: { taskId: task.id, leaseId: task.lease!.leaseId, accepted: true, taskState: TaskState.CLAIMED, leaseExpireTime: timestampFromDate(until) } });
    expect((await extended.promise).getTime()).toBe(until.getTime());
    // The Result's own Ack still reaches the result, not the finished extension.
    expect((await stream.next("result")).outcome.case).toBe("failed");
    const failed = worker.once("failed", undefined, 5_000);
    stream.send({ case: "ack", value: { taskId: task.id, leaseId: task.lease!.leaseId, accepted: true, taskState: TaskState.DEAD_LETTER } });
    expect((await failed).taskState).toBe(TaskState.DEAD_LETTER);
  });

  it("backs off between failed connects and resets after a Welcome (N1)", async () => {
    const server = new FakeServer();
    const worker = newWorker(server);
    worker.handle("t", async () => ({}));
    const delays: number[] = [];
    worker.on("disconnected", (e) => delays.push(e.reconnectInMs ?? -1));
    void worker.run();
    for (let i = 0; i < 3; i++) {
      const s = await server.accept();
      await s.hello;
      s.end(new ConnectError("refused", Code.Unavailable));
    }
    const s = await server.accept();
    await s.hello;
    s.welcome();
    await worker.once("connected");
    s.end(new ConnectError("reset", Code.Unavailable));
    await server.accept();
    expect(delays).toHaveLength(4);
    const [d1, d2, d3, afterWelcome] = delays as [number, number, number, number];
    expect(d1).toBeGreaterThanOrEqual(100);
    expect(d1).toBeLessThanOrEqual(200);
    expect(d2).toBeLessThanOrEqual(400);
    expect(d3).toBeLessThanOrEqual(800);
    expect(afterWelcome).toBeLessThanOrEqual(200);
  });

  it("rejects run() when the server refuses the Hello", async () => {
    const server = new FakeServer();
    const worker = newWorker(server);
    worker.handle("t", async () => ({}));
    const running = worker.run();
    const s = await server.accept();
    await s.hello;
    s.end(new ConnectError("invalid request: slots must be 1..1000", Code.InvalidArgument));
    await expect(running).rejects.toMatchObject({ code: Code.InvalidArgument });
  });
});
