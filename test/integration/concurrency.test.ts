// Concurrency (W1, L1): many claimers racing over one queue never share a task.
import { ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorDetailSchema } from "../../gen/ts/baton/v1/contract_pb.js";
import { TaskState } from "../../gen/ts/baton/v1/task_pb.js";
import { backends, startTestBaton, type Backend, type TestBaton } from "../support/baton.js";

/**
 * 5,000 tasks on each backend: about 10s each on 2 otherwise idle cores (PGlite,
 * one connection, keeps up with Postgres here because the claimers' round trips
 * dominate). Next to the other files on 2 cores it is the suite's long pole;
 * lower TASKS.embedded first if it ever gets too slow.
 */
const TASKS: Record<Backend, number> = { postgres: 5_000, embedded: 5_000 };
const CLAIMERS = 20;
const BATCH = 500;

describe.each(backends)("concurrent claimers on %s", (backend) => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton(backend);
  });
  afterAll(async () => baton?.close());

  it(`${CLAIMERS} claimers complete every task exactly once, never two leases at a time`, { timeout: 120_000 }, async () => {
    const total = TASKS[backend];
    const ns = "conc";
    const queue = "race";
    const ids: string[] = [];
    for (let i = 0; i < total; i += BATCH) {
      const res = await baton.tasks.batchCreateTasks({
        requests: Array.from({ length: Math.min(BATCH, total - i) }, (_, j) => ({ namespace: ns, queue, type: "t", payload: { n: i + j } })),
      });
      ids.push(...res.tasks.map((t) => t.id));
    }
    expect(new Set(ids).size).toBe(total);

    const claims = new Map<string, { worker: string; leaseId: string }[]>();
    const completed = new Map<string, number>();
    const failures: string[] = [];
    let done = 0;

    async function claimer(worker: string) {
      while (done < total && failures.length === 0) {
        const res = await baton.tasks.claimTasks({ namespace: ns, queue, workerId: worker, maxTasks: 10, wait: { nanos: 200_000_000 } });
        for (const t of res.tasks) {
          const list = claims.get(t.id) ?? [];
          list.push({ worker, leaseId: t.lease!.leaseId });
          claims.set(t.id, list);
        }
        for (const t of res.tasks) {
          try {
            const r = await baton.tasks.completeTask({ taskId: t.id, leaseId: t.lease!.leaseId, result: { by: worker } });
            if (r.task!.state !== TaskState.COMPLETED) failures.push(`${t.id}: state ${TaskState[r.task!.state]}`);
            completed.set(t.id, (completed.get(t.id) ?? 0) + 1);
            done++;
          } catch (err) {
            failures.push(`${t.id}: ${String(err)}`);
          }
        }
      }
    }

    const started = Date.now();
    await Promise.all(Array.from({ length: CLAIMERS }, (_, i) => claimer(`w${i}`)));
    const elapsed = Date.now() - started;

    expect(failures).toEqual([]);
    expect(done).toBe(total);
    // Each task claimed once (no lease handed out twice) and completed once.
    expect(claims.size).toBe(total);
    expect([...claims.values()].filter((l) => l.length !== 1)).toEqual([]);
    expect(completed.size).toBe(total);
    expect([...completed.values()].every((n) => n === 1)).toBe(true);
    // Work was actually spread over the claimers.
    const perWorker = new Map<string, number>();
    for (const [l] of claims.values()) perWorker.set(l!.worker, (perWorker.get(l!.worker) ?? 0) + 1);
    expect(perWorker.size).toBeGreaterThan(CLAIMERS / 2);

    // The database agrees: one attempt per task, completed; one claim and one completion event each.
    const sql = baton.server.engine.sql;
    const [states] = await sql<{ completed: number; other: number; multi: number }[]>`
      SELECT count(*) FILTER (WHERE state = 'completed')::int AS completed,
             count(*) FILTER (WHERE state <> 'completed')::int AS other,
             count(*) FILTER (WHERE attempt <> 1)::int AS multi
      FROM baton_tasks WHERE namespace = ${ns}`;
    expect(states).toEqual({ completed: total, other: 0, multi: 0 });
    const [attempts] = await sql<{ n: number; tasks: number; notCompleted: number }[]>`
      SELECT count(*)::int AS n, count(DISTINCT a.task_id)::int AS tasks,
             count(*) FILTER (WHERE a.outcome <> 'completed')::int AS "notCompleted"
      FROM baton_task_attempts a JOIN baton_tasks t ON t.id = a.task_id WHERE t.namespace = ${ns}`;
    expect(attempts).toEqual({ n: total, tasks: total, notCompleted: 0 });
    const events = await sql<{ type: string; n: number; tasks: number }[]>`
      SELECT type, count(*)::int AS n, count(DISTINCT task_id)::int AS tasks
      FROM baton_task_events WHERE namespace = ${ns} GROUP BY type ORDER BY type`;
    expect(events).toEqual([
      { type: "claimed", n: total, tasks: total },
      { type: "completed", n: total, tasks: total },
      { type: "created", n: total, tasks: total },
    ]);
    // Each result was written by the worker whose lease it was.
    const results = await sql<{ id: string; by: string }[]>`
      SELECT id::text, result->>'by' AS by FROM baton_tasks WHERE namespace = ${ns}`;
    for (const r of results) expect(r.by).toBe(claims.get(r.id)![0]!.worker);

    console.log(`${backend}: ${total} tasks by ${CLAIMERS} claimers in ${elapsed}ms`);
  });

  it("re-claims abandoned tasks only after their lease ended, and zombies can never complete them", { timeout: 120_000 }, async () => {
    const total = 200;
    const ns = "conc-zombie";
    const queue = "race";
    await baton.tasks.batchCreateTasks({
      requests: Array.from({ length: total }, () => ({
        namespace: ns,
        queue,
        type: "t",
        maxAttempts: 20,
        timeouts: { heartbeatTimeout: { seconds: 1n } },
        retryPolicy: { initialBackoff: { seconds: 0n }, jitter: 0 },
      })),
    });
    const abandoned: { taskId: string; leaseId: string }[] = [];
    const lost: { taskId: string; leaseId: string }[] = [];
    const failures: string[] = [];
    let done = 0;

    async function claimer(worker: string) {
      let claimed = 0;
      while (done < total && failures.length === 0) {
        const res = await baton.tasks.claimTasks({ namespace: ns, queue, workerId: worker, maxTasks: 5, wait: { nanos: 300_000_000 } });
        for (const t of res.tasks) {
          // Every 4th claim dies with its worker: the lease must expire before anyone else gets the task.
          if (++claimed % 4 === 0) {
            abandoned.push({ taskId: t.id, leaseId: t.lease!.leaseId });
            continue;
          }
          try {
            await baton.tasks.completeTask({ taskId: t.id, leaseId: t.lease!.leaseId, result: { by: worker } });
            done++;
          } catch (err) {
            // On a loaded machine a 1s lease can lapse before the result is sent: the
            // worker is told LEASE_STALE and drops the task (L4); it comes back to someone.
            if (ConnectError.from(err).findDetails(ErrorDetailSchema)[0]?.reason === "LEASE_STALE") {
              lost.push({ taskId: t.id, leaseId: t.lease!.leaseId });
            } else {
              failures.push(`${t.id}: ${String(err)}`);
            }
          }
        }
      }
    }
    await Promise.all(Array.from({ length: 10 }, (_, i) => claimer(`z${i}`)));
    expect(failures).toEqual([]);
    expect(done).toBe(total);
    expect(abandoned.length).toBeGreaterThan(0);

    // The zombies come back: every late result is refused (L1) and changes nothing.
    const zombies = [...abandoned, ...lost];
    const late = await Promise.allSettled(
      zombies.map((a) => baton.tasks.completeTask({ taskId: a.taskId, leaseId: a.leaseId, result: { by: "zombie" } })),
    );
    expect(late.filter((r) => r.status === "fulfilled")).toHaveLength(0);

    const sql = baton.server.engine.sql;
    // W1: within each task, an attempt starts only after the previous one ended.
    const [overlaps] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n
      FROM baton_task_attempts a
      JOIN baton_task_attempts b ON b.task_id = a.task_id AND b.attempt = a.attempt + 1
      JOIN baton_tasks t ON t.id = a.task_id
      WHERE t.namespace = ${ns} AND (a.ended_at IS NULL OR b.started_at < a.ended_at)`;
    expect(overlaps!.n).toBe(0);
    const outcomes = await sql<{ outcome: string; n: number; tasks: number }[]>`
      SELECT a.outcome, count(*)::int AS n, count(DISTINCT a.task_id)::int AS tasks
      FROM baton_task_attempts a JOIN baton_tasks t ON t.id = a.task_id
      WHERE t.namespace = ${ns} GROUP BY a.outcome ORDER BY a.outcome`;
    expect(outcomes).toEqual([
      { outcome: "completed", n: total, tasks: total },
      { outcome: "lease_expired", n: zombies.length, tasks: expect.any(Number) },
    ]);
    const [zombieResults] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM baton_tasks WHERE namespace = ${ns} AND (state <> 'completed' OR result->>'by' = 'zombie')`;
    expect(zombieResults!.n).toBe(0);
  });
});
