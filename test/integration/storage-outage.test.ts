// S4: while the database is unreachable, calls are answered UNAVAILABLE with
// recovery.retryable and a retry_after, and work again once it is back.
//
// Postgres only: the embedded database runs inside the server process, so it
// cannot become unreachable while the server runs. This file stops a private
// Postgres of its own, never the shared one, and runs Baton as its own process
// (`baton serve`, as deployed), whose driver crash guard is part of what is tested.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttemptOutcome, TaskState } from "../../gen/ts/baton/v1/task_pb.js";
import { silentLogger, Worker } from "../../sdk/ts/src/index.js";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { TaskService } from "../../gen/ts/baton/v1/task_service_pb.js";
import { startReplica, type Replica } from "../support/replica.js";
import { startPostgres, type PostgresServer } from "../support/postgres.js";
import { eventually, expectBatonError } from "../support/protocol.js";

describe("storage outage on postgres", () => {
  let pg: PostgresServer;
  let replica: Replica;
  let baton: { tasks: Client<typeof TaskService> };
  beforeAll(async () => {
    pg = await startPostgres();
    replica = await startReplica({ databaseUrl: pg.url });
    baton = { tasks: createClient(TaskService, createConnectTransport({ baseUrl: replica.url, httpVersion: "1.1" })) };
  });
  afterAll(async () => {
    await replica?.stop();
    await pg?.destroy();
  });

  it("answers UNAVAILABLE, retryable with retry_after, while Postgres is down, and recovers after", async () => {
    const { task } = await baton.tasks.createTask({ queue: "outage", type: "t" });
    await pg.stop();

    for (const call of [
      () => baton.tasks.createTask({ queue: "outage", type: "t" }),
      () => baton.tasks.getTask({ id: task!.id }),
      () => baton.tasks.listTasks({}),
      () => baton.tasks.claimTasks({ queue: "outage", workerId: "w" }),
    ]) {
      const f = await expectBatonError(call(), Code.Unavailable, "STORAGE_UNAVAILABLE");
      const recovery = f.detail.contract!.recovery!;
      expect(recovery.retryable).toBe(true);
      expect(recovery.retryAfter).toBeDefined();
      expect(Number(recovery.retryAfter!.seconds) * 1000 + recovery.retryAfter!.nanos / 1e6).toBeGreaterThan(0);
    }

    await pg.start();
    // The pool reconnects on its own; retrying as the contract says succeeds.
    const again = await eventually(
      () => baton.tasks.getTask({ id: task!.id }).then((r) => r.task, () => undefined),
      "Baton to reach Postgres again",
      20_000,
      200,
    );
    expect(again.state).toBe(TaskState.PENDING);
    const claimed = await baton.tasks.claimTasks({ queue: "outage", workerId: "w" });
    expect(claimed.tasks.map((t) => t.id)).toEqual([task!.id]);
    // The server process lived through the outage.
    expect(replica.process.exitCode).toBeNull();
  });
});

// S4 for streaming workers: a Postgres restart while a worker session runs tasks.
// The session itself survives (heartbeats that cannot reach Postgres are skipped,
// not fatal), tasks running across the outage finish, and every task is completed
// exactly once.
describe("storage outage under a streaming worker", () => {
  let pg: PostgresServer;
  let replica: Replica;
  let client: Client<typeof TaskService>;
  beforeAll(async () => {
    pg = await startPostgres();
    replica = await startReplica({ databaseUrl: pg.url, env: { BATON_WORKER_HEARTBEAT_INTERVAL_MS: "300", BATON_SWEEP_INTERVAL_MS: "200" } });
    client = createClient(TaskService, createConnectTransport({ baseUrl: replica.url, httpVersion: "1.1" }));
  });
  afterAll(async () => {
    await replica?.stop();
    await pg?.destroy();
  });

  it("keeps the worker session through a Postgres restart and completes every task exactly once", async () => {
    const queue = "outage-stream";
    const worker = new Worker({ baseUrl: replica.url, queues: [queue], workerId: "outage-w", slots: 4, logger: silentLogger, reconnect: { floorMs: 100, capMs: 500 } });
    const sessions: string[] = [];
    worker.on("connected", (e) => sessions.push(e.sessionId));
    const completions = new Map<string, number>();
    worker.on("completed", (e) => completions.set(e.task.id, (completions.get(e.task.id) ?? 0) + 1));
    let running = 0;
    worker.handle("t", async () => {
      running++;
      await new Promise((r) => setTimeout(r, 1_500));
      return { ok: true };
    });
    const run = worker.run();
    await worker.once("connected", undefined, 20_000);
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const { task } = await client.createTask({ queue, type: "t", timeouts: { heartbeatTimeout: { seconds: 20n } } });
      ids.push(task!.id);
    }
    await eventually(async () => (running >= 4 ? true : undefined), "four handlers running", 10_000);

    // Postgres goes away mid-task and comes back.
    const down = Date.now();
    await pg.stop();
    await new Promise((r) => setTimeout(r, 2_000));
    await pg.start();
    const downMs = Date.now() - down;

    const done = await eventually(
      async () => {
        const states = await Promise.all(ids.map((id) => client.getTask({ id }).then((r) => r.task!, () => undefined)));
        return states.every((t) => t?.state === TaskState.COMPLETED) ? states : undefined;
      },
      "every task completed after the outage",
      30_000,
      200,
    );
    for (const t of done) expect(t!.attempts.filter((a) => a.outcome === AttemptOutcome.COMPLETED)).toHaveLength(1);
    for (const id of ids) expect(completions.get(id) ?? 0).toBeGreaterThanOrEqual(1);
    // One session throughout: the stream outlived the outage.
    expect(sessions, `sessions during a ${downMs}ms outage`).toHaveLength(1);
    expect(worker.connected).toBe(true);
    expect(replica.process.exitCode).toBeNull();
    await worker.stop({ graceMs: 1_000 });
    await run;
  });
});
