/** pg-boss, in the bench process: batched fetch and complete. */
import { createRequire } from "node:module";
import PgBoss from "pg-boss";
import { selfCpuMs } from "./proc.js";
import { summarise } from "./stats.js";
import { cpuMeter, createInBatches, measureLatency, nowMs, startTracker, type BenchSystem } from "./system.js";

export const PGBOSS_VERSION: string = createRequire(import.meta.url)("pg-boss/package.json").version;

const QUEUE = "bench";
const BATCH = 100;
/** pg-boss's minimum polling interval (work() refuses less). */
const POLL_SECONDS = 0.5;

export function pgBoss(): BenchSystem {
  const loopsFor = (concurrency: number) => Math.max(1, Math.ceil(concurrency / BATCH));
  return {
    name: "pg-boss, batched",
    kind: "peer",
    describe: (s) =>
      `pg-boss ${PGBOSS_VERSION} (npm), in the bench process, pool max 10 (its default), schedule and supervise off; ` +
      `throughput: ${loopsFor(s.concurrency)} loops of fetch(batchSize ${Math.min(BATCH, s.concurrency)}) then one complete(ids), ` +
      `back to back while jobs come (5 ms pause on an empty fetch); latency: ${loopsFor(s.concurrency)} work() workers, batchSize ${Math.min(BATCH, s.concurrency)}, ` +
      `pollingIntervalSeconds ${POLL_SECONDS} (its minimum; 10.x has no LISTEN/NOTIFY wake-up); tasks created with insert() (500 a call) and send()`,

    async start(ctx) {
      const boss = new PgBoss({ connectionString: ctx.databaseUrl, max: 10, schedule: false, supervise: false });
      boss.on("error", (err) => ctx.log(`pg-boss error: ${String(err)}`));
      await boss.start();
      await boss.createQueue(QUEUE);
      const loops = loopsFor(ctx.settings.concurrency);
      const batchSize = Math.min(BATCH, Math.ceil(ctx.settings.concurrency / loops));
      return {
        async throughput() {
          const n = ctx.settings.throughputTasks;
          const createdPerSecond = await createInBatches(n, (size) => boss.insert(Array.from({ length: size }, () => ({ name: QUEUE, data: {} }))));
          let completed = 0;
          const cpu = cpuMeter(ctx, { workers: selfCpuMs });
          const began = performance.now();
          const loop = async () => {
            while (completed < n) {
              const jobs = await boss.fetch(QUEUE, { batchSize });
              if (jobs.length === 0) {
                await new Promise((r) => setTimeout(r, 5));
                continue;
              }
              // The no-op handlers run here; then one statement completes the batch.
              await boss.complete(
                QUEUE,
                jobs.map((j) => j.id),
              );
              completed += jobs.length;
            }
          };
          await Promise.all(Array.from({ length: loops }, loop));
          const seconds = (performance.now() - began) / 1000;
          return { tasks: n, seconds, tasksPerSecond: n / seconds, cpu: cpu.perTask(n), createdPerSecond };
        },
        async latency() {
          const tracker = startTracker();
          for (let i = 0; i < loops; i++) {
            await boss.work(QUEUE, { batchSize, pollingIntervalSeconds: POLL_SECONDS }, async (jobs) => {
              for (const j of jobs) tracker.started(j.id, nowMs());
            });
          }
          const samples = await measureLatency(ctx.settings.latencyTasks, async () => (await boss.send(QUEUE, {}))!, tracker);
          return summarise(samples);
        },
        async stop() {
          await boss.stop({ graceful: true, wait: true, timeout: 5_000 });
        },
      };
    },
  };
}
