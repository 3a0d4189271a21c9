/**
 * The ceiling: what this Postgres does with no server in between. A simple table,
 * batched `FOR UPDATE SKIP LOCKED` claims of 500 with a lease, then one fenced
 * batch update completing them; two connections, each running that loop. Latency:
 * an INSERT that notifies (pg_notify, delivered at commit) and a LISTENing claimer.
 */
import postgres from "postgres";
import { selfCpuMs } from "./proc.js";
import { summarise } from "./stats.js";
import { cpuMeter, measureLatency, nowMs, startTracker, type BenchSystem } from "./system.js";

const CLAIM = 500;
const CONNECTIONS = 2;

export function ceiling(): BenchSystem {
  return {
    name: "ceiling: raw SQL loop",
    kind: "ceiling",
    describe: () =>
      `no server: ${CONNECTIONS} connections (postgres.js from the bench process), each looping ` +
      `\`WITH picked AS (SELECT id … WHERE state='pending' ORDER BY id LIMIT ${CLAIM} FOR UPDATE SKIP LOCKED) UPDATE … SET state='running', lease=gen_random_uuid() … RETURNING id, lease\` ` +
      "then one `UPDATE … SET state='done' FROM unnest(ids, leases) WHERE id = x.id AND lease = x.lease AND state = 'running'`; " +
      "no attempts table, no events, no result: the least any queue on this Postgres must do. Latency: INSERT … pg_notify() on one connection, LISTEN and the same claim on two others",

    async start(ctx) {
      const admin = postgres(ctx.databaseUrl, { max: 1, onnotice: () => {} });
      await admin.unsafe(`
        CREATE TABLE ceiling_tasks (
          id bigserial PRIMARY KEY,
          state text NOT NULL DEFAULT 'pending',
          lease uuid,
          payload jsonb NOT NULL DEFAULT '{}',
          created_at timestamptz NOT NULL DEFAULT now(),
          claimed_at timestamptz,
          done_at timestamptz
        );
        CREATE INDEX ceiling_tasks_pending ON ceiling_tasks (id) WHERE state = 'pending';`);
      const conns = Array.from({ length: CONNECTIONS }, () => postgres(ctx.databaseUrl, { max: 1, onnotice: () => {} }));
      const claim = (sql: postgres.Sql, limit: number) => sql<{ id: string; lease: string }[]>`
        WITH picked AS (
          SELECT id FROM ceiling_tasks WHERE state = 'pending' ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED
        )
        UPDATE ceiling_tasks t SET state = 'running', lease = gen_random_uuid(), claimed_at = now()
        FROM picked WHERE t.id = picked.id
        RETURNING t.id, t.lease`;
      const complete = async (sql: postgres.Sql, rows: { id: string; lease: string }[]) => {
        const done = await sql`
          UPDATE ceiling_tasks t SET state = 'done', lease = NULL, done_at = now()
          FROM unnest(${rows.map((r) => r.id)}::bigint[], ${rows.map((r) => r.lease)}::uuid[]) AS x(id, lease)
          WHERE t.id = x.id AND t.lease = x.lease AND t.state = 'running'`;
        if (done.count !== rows.length) throw new Error(`ceiling: completed ${done.count} of ${rows.length}`);
      };
      let unlisten: (() => Promise<void>) | undefined;
      return {
        async throughput() {
          const n = ctx.settings.throughputTasks;
          await admin`INSERT INTO ceiling_tasks (payload) SELECT '{}' FROM generate_series(1, ${n})`;
          await admin`VACUUM ANALYZE ceiling_tasks`;
          let completed = 0;
          const cpu = cpuMeter(ctx, { workers: selfCpuMs });
          const began = performance.now();
          await Promise.all(
            conns.map(async (sql) => {
              for (;;) {
                const rows = await claim(sql, CLAIM);
                if (rows.length === 0) return;
                await complete(sql, rows);
                completed += rows.length;
              }
            }),
          );
          const seconds = (performance.now() - began) / 1000;
          if (completed !== n) throw new Error(`ceiling: completed ${completed} of ${n}`);
          return { tasks: n, seconds, tasksPerSecond: n / seconds, cpu: cpu.perTask(n) };
        },
        async latency() {
          const tracker = startTracker();
          const [worker, producer] = conns as [postgres.Sql, postgres.Sql];
          let claiming = false;
          let again = false;
          const drain = async () => {
            if (claiming) {
              again = true;
              return;
            }
            claiming = true;
            try {
              do {
                again = false;
                const rows = await claim(worker, CLAIM);
                const at = nowMs();
                for (const r of rows) tracker.started(r.id, at);
                if (rows.length > 0) await complete(worker, rows);
              } while (again);
            } finally {
              claiming = false;
            }
          };
          // postgres.js LISTENs on a connection of its own.
          unlisten = (await admin.listen("ceiling_ready", () => void drain())).unlisten;
          const samples = await measureLatency(
            ctx.settings.latencyTasks,
            async () => (await producer`WITH i AS (INSERT INTO ceiling_tasks DEFAULT VALUES RETURNING id) SELECT id::text, pg_notify('ceiling_ready', '') FROM i`)[0]!.id,
            tracker,
          );
          return summarise(samples);
        },
        async stop() {
          await unlisten?.();
          await Promise.all([admin, ...conns].map((c) => c.end({ timeout: 5 })));
        },
      };
    },
  };
}
