// Processes die: a replica (kill -9) while its workers hold tasks, and a worker
// (kill -9) mid-task. No task is lost, none is completed twice, and a dead
// worker's late result is refused.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttemptOutcome, TaskState } from "../../gen/ts/baton/v1/task_pb.js";
import { BatonError, Client, silentLogger, Worker } from "../../sdk/ts/src/index.js";
import { freshDatabaseUrl, sharedNatsUrl } from "../support/databases.js";
import { startReplica, type Replica } from "../support/replica.js";

const ROOT = resolve(import.meta.dirname, "../..");

async function untilAllCompleted(client: Client, queue: string, total: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for await (const e of client.watchTasks({ queue, afterCursor: 0n }, { signal: AbortSignal.timeout(timeoutMs) })) {
    void e;
    // Count from Postgres, the truth, whenever something changes.
    let completed = 0;
    for await (const t of client.listTasks({ queue, states: [TaskState.COMPLETED], pageSize: 500 })) {
      void t;
      completed++;
    }
    if (completed === total) return;
    if (Date.now() > deadline) break;
  }
  throw new Error(`not all ${total} tasks completed within ${timeoutMs}ms`);
}

describe("failover", () => {
  let a: Replica;
  let b: Replica;
  beforeAll(async () => {
    const databaseUrl = await freshDatabaseUrl();
    const natsUrl = sharedNatsUrl();
    a = await startReplica({ databaseUrl, natsUrl });
    b = await startReplica({ databaseUrl, natsUrl });
  });
  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
  });

  it("loses no task and completes none twice when a replica is killed with workers holding tasks", async () => {
    const queue = "failover";
    const total = 300;
    const client = new Client({ baseUrl: b.url });
    const accepted = new Map<string, number>();
    const workers = [0, 1, 2].map((i) => {
      // Two workers start on A (the victim), one on B; all fail over to the other.
      const urls = i < 2 ? [a.url, b.url] : [b.url, a.url];
      const w = new Worker({ baseUrl: urls, queues: [queue], workerId: `fo-${i}`, slots: 5, logger: silentLogger, reconnect: { floorMs: 100, capMs: 500 } });
      w.handle("work", async () => {
        await new Promise((r) => setTimeout(r, 20));
        return {};
      });
      w.on("completed", (e) => accepted.set(e.task.id, (accepted.get(e.task.id) ?? 0) + 1));
      void w.run();
      return w;
    });
    const created: string[] = [];
    for (let i = 0; i < total; i += 100) {
      const tasks = await client.batchCreateTasks(
        Array.from({ length: 100 }, () => ({ queue, type: "work", timeouts: { heartbeatTimeout: { seconds: 5n } } })),
      );
      created.push(...tasks.map((t) => t.id));
    }
    // Kill A once work is flowing, while its workers hold leases.
    await new Promise<void>((r) => {
      const check = () => (accepted.size >= 60 ? r() : setTimeout(check, 10));
      check();
    });
    await a.kill();
    await untilAllCompleted(client, queue, total, 60_000);
    await Promise.all(workers.map((w) => w.stop({ graceMs: 2_000 })));

    // Every task completed exactly once by Postgres' record; every completion reached a worker's Ack
    // (an Ack lost with the replica is answered again on resend, R3, so a worker may see it twice).
    expect(new Set(created).size).toBe(total);
    for (const id of created) expect(accepted.get(id) ?? 0).toBeGreaterThanOrEqual(1);
    for (const id of created) {
      const t = await client.getTask(id);
      expect(t.state).toBe(TaskState.COMPLETED);
      expect(t.attempts.filter((x) => x.outcome === AttemptOutcome.COMPLETED)).toHaveLength(1);
    }
  });

  it("re-runs a killed worker's task after its lease expires and refuses the dead worker's late result", async () => {
    const queue = "worker-kill";
    const client = new Client({ baseUrl: b.url });
    const child = spawn(resolve(ROOT, "node_modules/.bin/tsx"), [resolve(ROOT, "test/support/worker-process.ts"), b.url, queue], {
      stdio: ["ignore", "pipe", "inherit"],
      detached: true,
    });
    const lines = createInterface({ input: child.stdout! });
    const started = new Promise<[string, string]>((r) =>
      lines.on("line", (l) => {
        const m = /^started (\S+) (\S+)$/.exec(l);
        if (m) r([m[1]!, m[2]!]);
      }),
    );
    const { task } = await client.createTask({ queue, type: "hang", timeouts: { heartbeatTimeout: { seconds: 2n } } });
    const [taskId, deadLease] = await started;
    expect(taskId).toBe(task.id);
    // kill -9 the whole process group (tsx runs node as a child).
    process.kill(-child.pid!, "SIGKILL");

    const rescuer = new Worker({ baseUrl: b.url, queues: [queue], workerId: "rescuer", slots: 1, logger: silentLogger });
    rescuer.handle("hang", () => ({ rescued: true }));
    void rescuer.run();
    const done = await rescuer.once("completed", (e) => e.task.id === task.id, 20_000);
    expect(done.taskState).toBe(TaskState.COMPLETED);
    await rescuer.stop({ graceMs: 1_000 });

    const final = await client.getTask(task.id);
    expect(final.attempts.map((x) => x.outcome)).toEqual([AttemptOutcome.LEASE_EXPIRED, AttemptOutcome.COMPLETED]);
    expect(final.result).toEqual({ rescued: true });
    // The dead worker's result, had it arrived late: refused, nothing changes.
    const late = await client.completeTask({ taskId: task.id, leaseId: deadLease, result: { late: true } }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(BatonError);
    expect((late as BatonError).reason).toBe("LEASE_STALE");
    expect((await client.getTask(task.id)).result).toEqual({ rescued: true });
  });
});
