import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Client, TaskState, Worker, silentLogger, type WorkerOptions } from "../../sdk/ts/src/index.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";
import { collect, deferred, tcpProxy, within } from "./support.js";

describe.each(backends)("TS SDK worker transports and reconnects on %s", (backend) => {
  let baton: TestBaton;
  let client: Client;
  const workers: Worker[] = [];

  beforeAll(async () => {
    baton = await startTestBaton(backend);
    client = new Client({ baseUrl: baton.server.url });
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 0 })));
  });
  afterAll(async () => {
    client?.close();
    await baton?.close();
  });

  function newWorker(opts: Partial<WorkerOptions> & { queues: string[] }): Worker {
    const worker = new Worker({ baseUrl: baton.server.url, workerId: "sdk-transport", slots: 4, logger: silentLogger, ...opts });
    workers.push(worker);
    return worker;
  }

  async function started(worker: Worker): Promise<Worker> {
    const connected = worker.once("connected", undefined, 10_000);
    void worker.run();
    await connected;
    return worker;
  }

  it("Listen fallback (HTTP/1.1) completes tasks", async () => {
    const worker = newWorker({ queues: ["sdk-listen"], transport: "listen", slots: 2 });
    worker.handle("double", async (task) => ({ doubled: Number(task.payload?.n) * 2 }));
    await started(worker);
    const all = collect(worker, "completed", 20);
    const tasks = await client.batchCreateTasks(Array.from({ length: 20 }, (_, n) => ({ queue: "sdk-listen", type: "double", payload: { n } })));
    await within(all, 20_000, "20 completions over Listen");
    for (const t of tasks) {
      const got = await client.getTask(t.id);
      expect(got.state).toBe(TaskState.COMPLETED);
      expect(got.result).toEqual({ doubled: Number(t.payload?.n) * 2 });
    }
  });

  it("Listen fallback: cancelTask aborts the handler and the task ends CANCELLED", async () => {
    const running = deferred();
    const aborted = deferred();
    const worker = newWorker({ queues: ["sdk-listen-cancel"], transport: "listen" });
    worker.handle("wait", async (_task, ctx) => {
      running.resolve();
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
      aborted.resolve();
      return {};
    });
    await started(worker);
    const { task } = await client.createTask({ queue: "sdk-listen-cancel", type: "wait" });
    await within(running.promise, 10_000, "handler start");
    const failed = worker.once("failed", (e) => e.task.id === task.id, 10_000);
    await client.cancelTask(task.id, "stop");
    await within(aborted.promise, 1_000, "signal abort over Listen");
    expect((await failed).taskState).toBe(TaskState.CANCELLED);
  });

  it("Listen fallback: stop() drains, the running task still completes", async () => {
    const running = deferred();
    const finish = deferred();
    const worker = newWorker({ queues: ["sdk-listen-stop"], transport: "listen" });
    worker.handle("job", async () => {
      running.resolve();
      await finish.promise;
      return { drained: true };
    });
    await started(worker);
    const { task } = await client.createTask({ queue: "sdk-listen-stop", type: "job" });
    await within(running.promise, 10_000, "handler start");
    const done = worker.once("completed", (e) => e.task.id === task.id, 10_000);
    const stopping = worker.stop({ graceMs: 10_000 });
    finish.resolve();
    expect((await done).result).toEqual({ drained: true });
    await within(stopping, 10_000, "stop");
    // Drained: a task created now waits for another worker.
    const { task: later } = await client.createTask({ queue: "sdk-listen-stop", type: "job" });
    expect((await client.getTask(later.id)).state).toBe(TaskState.PENDING);
  });

  it("keeps running a task across a dropped connection, resumes its lease and delivers the result", async () => {
    const proxy = await tcpProxy(baton.server.url);
    try {
      const running = deferred();
      const finish = deferred();
      const worker = newWorker({ baseUrl: proxy.url, queues: ["sdk-reconnect"] });
      worker.handle("resumable", async (_task, ctx) => {
        running.resolve();
        await finish.promise;
        return { aborted: ctx.signal.aborted };
      });
      await started(worker);
      const { task } = await client.createTask({ queue: "sdk-reconnect", type: "resumable" });
      await within(running.promise, 10_000, "handler start");

      const disconnected = worker.once("disconnected", undefined, 10_000);
      const reconnected = worker.once("connected", (e) => e.resumed.length > 0, 15_000);
      proxy.cut();
      const lost = await disconnected;
      expect(lost.reconnectInMs).toBeGreaterThanOrEqual(100);
      const welcome = await reconnected;
      expect(welcome.resumed.map((l) => l.taskId)).toEqual([task.id]);
      expect(welcome.lost).toEqual([]);

      const done = worker.once("completed", (e) => e.task.id === task.id, 10_000);
      finish.resolve();
      expect((await done).result).toEqual({ aborted: false });
      const got = await client.getTask(task.id);
      expect(got.state).toBe(TaskState.COMPLETED);
      expect(got.attempts).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it("resends a result finished while disconnected once it reconnects (R3)", async () => {
    const proxy = await tcpProxy(baton.server.url);
    try {
      const running = deferred();
      const finish = deferred();
      const worker = newWorker({ baseUrl: proxy.url, queues: ["sdk-resend"] });
      worker.handle("offline", async () => {
        running.resolve();
        await finish.promise;
        return { finishedOffline: true };
      });
      await started(worker);
      const { task } = await client.createTask({ queue: "sdk-resend", type: "offline" });
      await within(running.promise, 10_000, "handler start");

      proxy.refuse(true);
      const disconnected = worker.once("disconnected", undefined, 10_000);
      proxy.cut();
      await disconnected;
      // The reconnect attempts fail while the handler finishes: the result waits in the outbox.
      const failedAttempt = worker.once("disconnected", undefined, 10_000);
      finish.resolve();
      await failedAttempt;
      expect(worker.connected).toBe(false);

      const reconnected = worker.once("connected", undefined, 15_000);
      const done = worker.once("completed", (e) => e.task.id === task.id, 15_000);
      proxy.refuse(false);
      const welcome = await reconnected;
      expect(welcome.resumed.map((l) => l.taskId)).toEqual([task.id]);
      expect((await done).result).toEqual({ finishedOffline: true });
      const got = await client.getTask(task.id);
      expect(got.state).toBe(TaskState.COMPLETED);
      expect(got.attempts).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it("stops a handler whose lease expired while disconnected (N2) and runs the retry", async () => {
    const proxy = await tcpProxy(baton.server.url);
    try {
      const firstRunning = deferred();
      const firstAborted = deferred<unknown>();
      const worker = newWorker({ baseUrl: proxy.url, queues: ["sdk-lost"] });
      worker.handle("expiring", async (_task, ctx) => {
        if (ctx.attempt === 1) {
          firstRunning.resolve();
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
          firstAborted.resolve(ctx.signal.reason);
          return { attempt: 1 };
        }
        return { attempt: ctx.attempt };
      });
      await started(worker);
      const watch = new AbortController();
      const { task } = await client.createTask({
        queue: "sdk-lost",
        type: "expiring",
        timeouts: { heartbeatTimeout: { seconds: 1n } },
        retryPolicy: { initialBackoff: { seconds: 0n }, jitter: 0 },
      });
      const expired = (async () => {
        for await (const e of client.watchTasks({ taskId: task.id, afterCursor: 0n }, { signal: watch.signal })) {
          if (e.task?.state === TaskState.PENDING && e.task.attempt === 1) return e;
        }
        throw new Error("watch ended before the lease expired");
      })();
      await within(firstRunning.promise, 10_000, "handler start");

      proxy.refuse(true);
      proxy.cut();
      await within(expired, 15_000, "lease expiry while the worker is away");
      watch.abort();

      const reconnected = worker.once("connected", undefined, 15_000);
      const done = worker.once("completed", (e) => e.task.id === task.id, 15_000);
      proxy.refuse(false);
      const welcome = await reconnected;
      expect(welcome.lost.map((l) => l.taskId)).toEqual([task.id]);
      const reason = await within(firstAborted.promise, 5_000, "the lost handler's abort");
      expect(reason).toMatchObject({ why: "lease_lost" });
      expect((await done).result).toEqual({ attempt: 2 });
      expect((await client.getTask(task.id)).attempts).toHaveLength(2);
    } finally {
      await proxy.close();
    }
  });

  it("on GoAway finishes the running task, then reconnects and takes new work", async () => {
    const running = deferred();
    const finish = deferred();
    const worker = newWorker({ queues: ["sdk-goaway"] });
    worker.handle("job", async (task) => {
      if (task.payload?.first) {
        running.resolve();
        await finish.promise;
      }
      return { ok: true };
    });
    await started(worker);
    const { task: first } = await client.createTask({ queue: "sdk-goaway", type: "job", payload: { first: true } });
    await within(running.promise, 10_000, "handler start");

    const goAway = worker.once("goAway", undefined, 5_000);
    const reconnected = worker.once("connected", undefined, 10_000);
    baton.server.dispatcher.goAwayAll("test deploy", 200);
    expect((await goAway).reconnectAfterMs).toBe(200);
    const firstDone = worker.once("completed", (e) => e.task.id === first.id, 10_000);
    finish.resolve();
    await firstDone;
    await within(reconnected, 10_000, "reconnect after GoAway");

    const { task: second } = await client.createTask({ queue: "sdk-goaway", type: "job", payload: {} });
    await worker.once("completed", (e) => e.task.id === second.id, 10_000);
  });
});
