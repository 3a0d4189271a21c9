// One TS, one Python and one Go worker on the same queue share 3,000 tasks:
// each is completed exactly once and every language completes some.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, silentLogger, TaskEventType, Worker } from "../../sdk/ts/src/index.js";
import { freshDatabaseUrl, sharedNatsUrl } from "../support/databases.js";
import { startReplica, type Replica } from "../support/replica.js";

const ROOT = resolve(import.meta.dirname, "../..");
const TOTAL = 3_000;
const QUEUE = "fleet";

/** Starts a worker process and resolves once it says it is connected. */
function startWorkerProcess(cmd: string, args: string[], env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((res, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd} did not connect within 60s`)), 60_000);
    child.once("exit", (code) => reject(new Error(`${cmd} exited with ${code}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.trim() === "connected") {
        clearTimeout(timer);
        res(child);
      }
    });
  });
}

describe("mixed fleet", () => {
  let replica: Replica;
  let databaseUrl: string;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    databaseUrl = await freshDatabaseUrl();
    replica = await startReplica({ databaseUrl, natsUrl: sharedNatsUrl() });
  }, 120_000);
  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    await replica?.stop();
  });

  it("shares 3,000 tasks across TS, Python and Go workers, each completed exactly once", { timeout: 240_000 }, async () => {
    const bin = join(await mkdtemp(join(tmpdir(), "fleet-")), "fleet-go");
    await promisify(execFile)("go", ["build", "-o", bin, "."], { cwd: join(ROOT, "test/fleet/go"), env: { ...process.env, GOTOOLCHAIN: "local" } });
    children.push(await startWorkerProcess(bin, [replica.url, QUEUE]));
    children.push(
      await startWorkerProcess(join(ROOT, ".venv/bin/python"), [join(ROOT, "test/fleet/fleet_worker.py"), replica.url, QUEUE], {
        PYTHONPATH: join(ROOT, "sdk/python/src"),
      }),
    );
    const ts = new Worker({ baseUrl: replica.url, queues: [QUEUE], workerId: "fleet-ts", slots: 8, logger: silentLogger });
    ts.handle("fleet.work", async () => {
      await new Promise((r) => setTimeout(r, 2));
      return { by: "ts" };
    });
    void ts.run();
    await ts.once("connected", undefined, 30_000);

    const client = new Client({ baseUrl: replica.url });
    const watch = new AbortController();
    let completed = 0;
    const allDone = (async () => {
      for await (const e of client.watchTasks({ queue: QUEUE, afterCursor: 0n }, { signal: watch.signal })) {
        if (e.type === TaskEventType.COMPLETED && ++completed === TOTAL) return;
      }
    })();
    for (let made = 0; made < TOTAL; made += 500) {
      await client.batchCreateTasks(Array.from({ length: 500 }, () => ({ queue: QUEUE, type: "fleet.work" })));
    }
    await allDone;
    watch.abort();
    await ts.stop({ graceMs: 1_000 });

    // The truth is in Postgres: one accepted completion per task, by some language.
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    try {
      const [{ tasks, done }] = await sql<{ tasks: number; done: number }[]>`
        SELECT count(*)::int AS tasks, count(*) FILTER (WHERE state = 'completed')::int AS done FROM baton_tasks`;
      expect(tasks).toBe(TOTAL);
      expect(done).toBe(TOTAL);
      const twice = await sql`
        SELECT task_id FROM baton_task_attempts WHERE outcome = 'completed' GROUP BY task_id HAVING count(*) > 1`;
      expect(twice).toHaveLength(0);
      const byWorker = await sql<{ worker_id: string; n: number }[]>`
        SELECT worker_id, count(*)::int AS n FROM baton_task_attempts WHERE outcome = 'completed' GROUP BY worker_id ORDER BY worker_id`;
      expect(byWorker.map((r) => r.worker_id)).toEqual(["fleet-go", "fleet-python", "fleet-ts"]);
      expect(byWorker.reduce((s, r) => s + r.n, 0)).toBe(TOTAL);
      for (const r of byWorker) expect(r.n).toBeGreaterThan(0);
      const byResult = await sql<{ by: string; n: number }[]>`
        SELECT result->>'by' AS by, count(*)::int AS n FROM baton_tasks GROUP BY 1 ORDER BY 1`;
      expect(byResult.map((r) => r.by)).toEqual(["go", "python", "ts"]);
    } finally {
      await sql.end();
    }
  });
});
