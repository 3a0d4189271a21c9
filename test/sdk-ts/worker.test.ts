import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  Client,
  NonRetryableError,
  RetryableError,
  TaskAbortedError,
  TaskState,
  Worker,
  durationFromMs,
  silentLogger,
  type WorkerOptions,
} from "../../sdk/ts/src/index.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";
import { collect, deferred, within } from "./support.js";

/** Retries in milliseconds, not the default seconds. */
const fastRetry = { initialBackoff: durationFromMs(50), maxBackoff: durationFromMs(200), jitter: 0 };

describe.each(backends)("TS SDK worker on %s", (backend) => {
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

  /** A started worker, stopped after the test. */
  async function startWorker(opts: Partial<WorkerOptions> & { queues: string[] }, setup: (w: Worker) => void): Promise<Worker> {
    const worker = new Worker({ baseUrl: baton.server.url, workerId: "sdk-test", slots: 4, logger: silentLogger, ...opts });
    setup(worker);
    workers.push(worker);
    const connected = worker.once("connected", undefined, 10_000);
    void worker.run();
    await connected;
    return worker;
  }

  it("runs a created task and the result is visible to the producer", async () => {
    const worker = await startWorker({ queues: ["sdk-basic"] }, (w) =>
      w.handle("greet", async (task) => ({ greeting: `hello ${String(task.payload?.name)}` })),
    );
    const { task, created } = await client.createTask({ queue: "sdk-basic", type: "greet", payload: { name: "ada" }, idempotencyKey: "greet-ada" });
    expect(created).toBe(true);
    const done = await within(worker.once("completed", (e) => e.task.id === task.id), 10_000, "completion");
    expect(done.taskState).toBe(TaskState.COMPLETED);
    const got = await client.getTask(task.id);
    expect(got.state).toBe(TaskState.COMPLETED);
    expect(got.result).toEqual({ greeting: "hello ada" });
    expect(got.attempts).toHaveLength(1);
    // I1: the same key and body return the same task.
    const again = await client.createTask({ queue: "sdk-basic", type: "greet", payload: { name: "ada" }, idempotencyKey: "greet-ada" });
    expect(again).toMatchObject({ created: false, task: { id: task.id } });
  });

  it("retries a retryable error and then succeeds", async () => {
    const attempts: number[] = [];
    const worker = await startWorker({ queues: ["sdk-retry"] }, (w) =>
      w.handle("flaky", async (_task, ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt === 1) throw new RetryableError("upstream 503", { type: "http_503" });
        return { ok: true };
      }),
    );
    const { task } = await client.createTask({ queue: "sdk-retry", type: "flaky", retryPolicy: fastRetry });
    const failed = within(worker.once("failed", (e) => e.task.id === task.id), 10_000, "first failure");
    const done = within(worker.once("completed", (e) => e.task.id === task.id), 10_000, "completion");
    expect((await failed).taskState).toBe(TaskState.PENDING);
    await done;
    const got = await client.getTask(task.id);
    expect(got.state).toBe(TaskState.COMPLETED);
    expect(attempts).toEqual([1, 2]);
    expect(got.attempts.map((a) => a.error?.type ?? "")).toEqual(["http_503", ""]);
  });

  it("dead-letters a non-retryable error; requeueTask runs it again", async () => {
    let fixed = false;
    const worker = await startWorker({ queues: ["sdk-dlq"] }, (w) =>
      w.handle("strict", async () => {
        if (!fixed) throw new NonRetryableError("missing field email", { type: "validation" });
        return { sent: true };
      }),
    );
    const { task } = await client.createTask({ queue: "sdk-dlq", type: "strict", maxAttempts: 5 });
    const failed = await within(worker.once("failed", (e) => e.task.id === task.id), 10_000, "failure");
    expect(failed.taskState).toBe(TaskState.DEAD_LETTER);
    expect(failed.error).toMatchObject({ type: "validation", nonRetryable: true });
    expect((await client.getTask(task.id)).state).toBe(TaskState.DEAD_LETTER);

    fixed = true;
    const done = within(worker.once("completed", (e) => e.task.id === task.id), 10_000, "completion after requeue");
    expect((await client.requeueTask(task.id)).state).toBe(TaskState.PENDING);
    await done;
    const got = await client.getTask(task.id);
    expect(got.state).toBe(TaskState.COMPLETED);
    expect(got.attempts).toHaveLength(2);
  });

  it("aborts the handler's signal within 1s of cancelTask, and the task ends CANCELLED", async () => {
    const started = deferred();
    const aborted = deferred<{ at: number; reason: unknown }>();
    const worker = await startWorker({ queues: ["sdk-cancel"] }, (w) =>
      w.handle("long", async (_task, ctx) => {
        started.resolve();
        await new Promise<void>((resolve) =>
          ctx.signal.addEventListener("abort", () => {
            aborted.resolve({ at: Date.now(), reason: ctx.signal.reason });
            resolve();
          }),
        );
        throw ctx.signal.reason;
      }),
    );
    const { task } = await client.createTask({ queue: "sdk-cancel", type: "long" });
    await within(started.promise, 10_000, "handler start");
    const failed = within(worker.once("failed", (e) => e.task.id === task.id), 10_000, "cancel failure");
    const cancelledAt = Date.now();
    await client.cancelTask(task.id, "no longer needed");
    const { at, reason } = await within(aborted.promise, 1_000, "signal abort");
    expect(at - cancelledAt).toBeLessThan(1_000);
    expect(reason).toBeInstanceOf(TaskAbortedError);
    expect((reason as TaskAbortedError).why).toBe("cancelled");
    const f = await failed;
    expect(f.error.type).toBe("cancelled");
    expect(f.taskState).toBe(TaskState.CANCELLED);
    expect((await client.getTask(task.id)).state).toBe(TaskState.CANCELLED);
  });

  it("never runs more than `slots` tasks at once over 200 tasks", async () => {
    let running = 0;
    let maxRunning = 0;
    let maxReported = 0;
    const worker = await startWorker({ queues: ["sdk-slots"], slots: 3 }, (w) =>
      w.handle("work", async (task) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        maxReported = Math.max(maxReported, w.runningCount);
        // Workload, not synchronisation: handlers overlap for a few milliseconds.
        await new Promise((r) => setTimeout(r, Number(task.payload?.ms ?? 0)));
        running--;
        return { n: task.payload?.n ?? null };
      }),
    );
    const assigned = new Set<string>();
    let held = 0;
    let maxHeld = 0;
    worker.on("assigned", (e) => {
      assigned.add(e.task.id);
      maxHeld = Math.max(maxHeld, ++held);
    });
    const settle = () => held--;
    worker.on("completed", settle);
    worker.on("failed", settle);
    const all = collect(worker, "completed", 200);
    const tasks = await client.batchCreateTasks(Array.from({ length: 200 }, (_, n) => ({ queue: "sdk-slots", type: "work", payload: { n, ms: n % 7 } })));
    const done = await within(all, 50_000, "200 completions");
    expect(new Set(done.map((e) => e.task.id))).toEqual(new Set(tasks.map((t) => t.id)));
    expect(maxRunning).toBeLessThanOrEqual(3);
    expect(maxReported).toBeLessThanOrEqual(3);
    expect(maxRunning).toBe(3);
    // K1 seen from the worker: the server never had more than 3 of its leases out at once.
    expect(maxHeld).toBeLessThanOrEqual(3);
    expect(worker.runningCount).toBe(0);
  });

  it("keeps a lease alive past its heartbeat timeout by heartbeating", async () => {
    const worker = await startWorker({ queues: ["sdk-hb"] }, (w) =>
      w.handle("slow", async (_task, ctx) => {
        // 3s of work on a 1s lease: only heartbeats keep it.
        await new Promise((r) => setTimeout(r, 3_000));
        return { aborted: ctx.signal.aborted };
      }),
    );
    const { task } = await client.createTask({ queue: "sdk-hb", type: "slow", timeouts: { heartbeatTimeout: durationFromMs(1_000) } });
    const done = await within(worker.once("completed", (e) => e.task.id === task.id), 15_000, "completion");
    expect(done.result).toEqual({ aborted: false });
    expect((await client.getTask(task.id)).attempts).toHaveLength(1);
  });

  it("extends a lease on request", async () => {
    const extended = deferred<Date>();
    const worker = await startWorker({ queues: ["sdk-extend"] }, (w) =>
      w.handle("extend", async (_task, ctx) => {
        extended.resolve(await ctx.extendLease(600_000));
        return {};
      }),
    );
    const { task } = await client.createTask({ queue: "sdk-extend", type: "extend" });
    const until = await within(extended.promise, 10_000, "extension");
    expect(until.getTime()).toBeGreaterThan(Date.now() + 500_000);
    await within(worker.once("completed", (e) => e.task.id === task.id), 10_000, "completion");
  });

  it("stop() drains: running tasks finish within the grace, the rest fail as worker_shutdown", async () => {
    const started = deferred();
    const release = deferred();
    const stuckStarted = deferred();
    const worker = await startWorker({ queues: ["sdk-stop"], slots: 2 }, (w) => {
      w.handle("finishes", async () => {
        started.resolve();
        await release.promise;
        return { finished: true };
      });
      w.handle("stuck", async (_task, ctx) => {
        stuckStarted.resolve();
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        return {};
      });
    });
    const { task: finishing } = await client.createTask({ queue: "sdk-stop", type: "finishes" });
    const { task: stuck } = await client.createTask({ queue: "sdk-stop", type: "stuck" });
    await within(Promise.all([started.promise, stuckStarted.promise]), 10_000, "both handlers running");
    const completed = worker.once("completed", (e) => e.task.id === finishing.id);
    const shutdown = worker.once("failed", (e) => e.task.id === stuck.id);
    const stopping = worker.stop({ graceMs: 1_500 });
    release.resolve();
    await within(completed, 5_000, "running task completes during the grace");
    const f = await within(shutdown, 5_000, "stuck task aborted at the grace deadline");
    expect(f.error).toMatchObject({ type: "worker_shutdown", nonRetryable: false });
    expect(f.taskState).toBe(TaskState.PENDING);
    await within(stopping, 10_000, "stop");
    expect(worker.connected).toBe(false);
  });
});
