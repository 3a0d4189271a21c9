import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatonError, Client, TaskEventType, TaskState, type TaskEvent } from "../../sdk/ts/src/index.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";
import { within } from "./support.js";

/** Counts calls per method, and breaks every WatchTasks stream after `breakAfter` events. */
function faultyTransport(baseUrl: string, breakAfter: number) {
  const calls = new Map<string, number>();
  const interceptor: Interceptor = (next) => async (req) => {
    calls.set(req.method.name, (calls.get(req.method.name) ?? 0) + 1);
    const res = await next(req);
    if (!res.stream || req.method.name !== "WatchTasks") return res;
    async function* breaking(source: AsyncIterable<unknown>) {
      let n = 0;
      for await (const m of source) {
        yield m;
        if (++n >= breakAfter) throw new ConnectError("injected stream failure", Code.Unavailable);
      }
    }
    return { ...res, message: breaking(res.message) } as typeof res;
  };
  return { transport: createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors: [interceptor] }), calls };
}

async function take(events: AsyncIterable<TaskEvent>, count: number): Promise<TaskEvent[]> {
  const out: TaskEvent[] = [];
  for await (const e of events) {
    out.push(e);
    if (out.length === count) break;
  }
  return out;
}

describe.each(backends)("TS SDK client on %s", (backend) => {
  let baton: TestBaton;
  let client: Client;

  beforeAll(async () => {
    baton = await startTestBaton(backend);
    client = new Client({ baseUrl: baton.server.url });
  });
  afterAll(async () => {
    client?.close();
    await baton?.close();
  });

  it("listTasks iterates over every page", async () => {
    const created = await client.batchCreateTasks(Array.from({ length: 23 }, (_, n) => ({ queue: "sdk-list", type: "page", payload: { n } })));
    const { transport, calls } = faultyTransport(baton.server.url, Infinity);
    const counting = new Client({ baseUrl: baton.server.url, transport });
    const listed = [];
    for await (const task of counting.listTasks({ queue: "sdk-list", pageSize: 5 })) listed.push(task);
    expect(listed).toHaveLength(23);
    expect(new Set(listed.map((t) => t.id))).toEqual(new Set(created.map((t) => t.id)));
    expect(calls.get("ListTasks")).toBe(5);
    // Newest first: ids are UUIDv7, so they sort by creation.
    expect(listed.map((t) => t.id)).toEqual([...listed.map((t) => t.id)].sort().reverse());

    const pending = [];
    for await (const task of client.listTasks({ queue: "sdk-list", states: [TaskState.COMPLETED] })) pending.push(task);
    expect(pending).toEqual([]);
  });

  it.each(["connect", "grpc", "grpc-web"] as const)("speaks %s", async (protocol) => {
    for (const httpVersion of protocol === "grpc" ? (["2"] as const) : (["1.1", "2"] as const)) {
      const c = new Client({ baseUrl: baton.server.url, transport: protocol, httpVersion });
      try {
        const { task } = await c.createTask({ queue: "sdk-protocols", type: `${protocol}-${httpVersion}` });
        expect((await c.getTask(task.id)).type).toBe(`${protocol}-${httpVersion}`);
        const missing = await c.getTask("01930000-0000-7000-8000-000000000000").catch((e: unknown) => e);
        expect(missing).toMatchObject({ reason: "TASK_NOT_FOUND", code: Code.NotFound });
      } finally {
        c.close();
      }
    }
  });

  it("throws BatonError with field violations", async () => {
    const err = await client.createTask({ queue: "", type: "x", maxAttempts: -1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatonError);
    const e = err as BatonError;
    expect(e.code).toBe(Code.InvalidArgument);
    expect(e.reason).toBe("INVALID_FIELD");
    expect(e.fieldViolations.map((v) => v.field).sort()).toEqual(["max_attempts", "queue"]);
    expect(e.retryable).toBe(false);
    expect(e.contract?.recovery?.guidance).not.toBe("");
    const missing = await client.getTask("01930000-0000-7000-8000-000000000000").catch((x: unknown) => x);
    expect((missing as BatonError).reason).toBe("TASK_NOT_FOUND");
  });

  it("watchTasks resumes after stream errors without gaps or duplicates", async () => {
    const queue = "sdk-watch";
    const { transport, calls } = faultyTransport(baton.server.url, 4);
    const flaky = new Client({ baseUrl: baton.server.url, transport });
    const abort = new AbortController();
    // 30 CREATED, then CLAIMED + COMPLETED for 10 of them.
    const expected = 50;
    const watching = take(flaky.watchTasks({ queue, afterCursor: 0n }, { signal: abort.signal }), expected);

    const tasks = [];
    for (let i = 0; i < 30; i++) tasks.push((await client.createTask({ queue, type: "w", payload: { i } })).task);
    const claimed = await client.claimTasks({ queue, workerId: "watcher", maxTasks: 10 });
    for (const t of claimed) await client.completeTask({ taskId: t.id, leaseId: t.lease!.leaseId, result: {} });

    const seen = await within(watching, 30_000, `${expected} events through a breaking stream`);
    abort.abort();
    const reference = await within(take(client.watchTasks({ queue, afterCursor: 0n }), expected), 10_000, "reference watch");

    const cursors = seen.map((e) => e.cursor);
    expect(cursors).toEqual(reference.map((e) => e.cursor));
    for (let i = 1; i < cursors.length; i++) expect(cursors[i]! > cursors[i - 1]!).toBe(true);
    expect(seen.filter((e) => e.type === TaskEventType.CREATED).map((e) => e.task!.id)).toEqual(tasks.map((t) => t.id));
    expect(seen.filter((e) => e.type === TaskEventType.COMPLETED)).toHaveLength(10);
    // Broken every 4 events: at least 12 streams were opened to deliver 50.
    expect(calls.get("WatchTasks")).toBeGreaterThanOrEqual(Math.floor(expected / 4));
  });

  it("watchTasks ends quietly when its signal aborts", async () => {
    const abort = new AbortController();
    const events = client.watchTasks({ queue: "sdk-watch-abort" }, { signal: abort.signal });
    const consumed = (async () => {
      const out: TaskEvent[] = [];
      for await (const e of events) out.push(e);
      return out;
    })();
    abort.abort();
    expect(await within(consumed, 5_000, "watch to end after abort")).toEqual([]);
  });

  it("watchTasks throws errors a reconnect cannot fix", async () => {
    const events = client.watchTasks({ queue: "bad queue name!" });
    await expect(take(events, 1)).rejects.toMatchObject({ code: Code.InvalidArgument, reason: "INVALID_FIELD" });
  });

  it("cancelTask of a pending task cancels it at once", async () => {
    const { task } = await client.createTask({ queue: "sdk-cancel-pending", type: "c" });
    const cancelled = await client.cancelTask(task.id, "changed my mind");
    expect(cancelled.state).toBe(TaskState.CANCELLED);
    expect(cancelled.terminalReason).toContain("changed my mind");
  });

  it("polling workers use claimTasks, heartbeat and failTask", async () => {
    const { task } = await client.createTask({ queue: "sdk-poll", type: "p", maxAttempts: 1 });
    const [claimed] = await client.claimTasks({ queue: "sdk-poll", workerId: "poller" });
    expect(claimed?.id).toBe(task.id);
    const hb = await client.heartbeat(task.id, claimed!.lease!.leaseId);
    expect(hb.cancelRequested).toBe(false);
    expect(hb.leaseExpireTime!.getTime()).toBeGreaterThan(Date.now());
    const failed = await client.failTask({ taskId: task.id, leaseId: claimed!.lease!.leaseId, error: { type: "boom", message: "m" } });
    expect(failed.state).toBe(TaskState.DEAD_LETTER);
    const stale = await client.heartbeat(task.id, claimed!.lease!.leaseId).catch((e: unknown) => e);
    expect(stale).toMatchObject({ reason: "LEASE_STALE", retryable: false });
  });
});
