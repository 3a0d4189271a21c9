/** graphile-worker, in the bench process: with its documented batching settings, and with defaults. */
import { createRequire } from "node:module";
import { Logger, makeWorkerUtils, run, type Runner, type WorkerUtils } from "graphile-worker";
import postgres from "postgres";
import { selfCpuMs } from "./proc.js";
import { summarise } from "./stats.js";
import { countdown, cpuMeter, createInBatches, measureLatency, nowMs, startTracker, type BenchContext, type BenchSystem } from "./system.js";

export const GRAPHILE_VERSION: string = createRequire(import.meta.url)("graphile-worker/package.json").version;

const silent = new Logger(() => () => {});

/** Jobs still in the table (graphile-worker deletes a job when it completes). */
async function waitUntilEmpty(ctx: BenchContext): Promise<void> {
  const sql = postgres(ctx.databaseUrl, { max: 1, onnotice: () => {} });
  try {
    while ((await sql`SELECT count(*)::int AS n FROM graphile_worker._private_jobs`)[0]!.n > 0) {
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await sql.end();
  }
}

export function graphile(tuned: boolean): BenchSystem {
  // The settings of https://worker.graphile.org/docs/performance (its "quick stats" run),
  // with our concurrency budget instead of its 24.
  const batching = (concurrency: number) => ({ localQueue: { size: Math.max(500, concurrency + 1) }, completeJobBatchDelay: 0, failJobBatchDelay: 0 });
  return {
    name: tuned ? "graphile-worker, batched" : "graphile-worker, defaults",
    kind: "peer",
    describe: (s) =>
      `graphile-worker ${GRAPHILE_VERSION} (npm), one runner in the bench process, concurrency ${s.concurrency}, ` +
      `maxPoolSize 10 (its default, as Baton's pool)` +
      (tuned
        ? `, the batching settings of its performance page: localQueue.size ${batching(s.concurrency).localQueue.size}, completeJobBatchDelay 0, failJobBatchDelay 0`
        : ", no local queue, no batched completion (defaults)") +
      "; tasks created with addJobs (500 a call), latency tasks with addJob (LISTEN/NOTIFY wakes the runner)",

    async start(ctx) {
      const utils: WorkerUtils = await makeWorkerUtils({ connectionString: ctx.databaseUrl, logger: silent });
      await utils.migrate();
      let runner: Runner | undefined;
      let onStart = (_id: string) => {};
      return {
        async throughput() {
          const n = ctx.settings.throughputTasks;
          const createdPerSecond = await createInBatches(n, (size) => utils.addJobs(Array.from({ length: size }, () => ({ identifier: "noop", payload: {} }))));
          const handled = countdown(n);
          onStart = () => handled.tick();
          const cpu = cpuMeter(ctx, { workers: selfCpuMs });
          const began = performance.now();
          runner = await run({
            connectionString: ctx.databaseUrl,
            concurrency: ctx.settings.concurrency,
            noHandleSignals: true,
            logger: silent,
            crontab: "",
            taskList: { noop: async (_payload, helpers) => onStart(helpers.job.id) },
            preset: tuned ? { worker: batching(ctx.settings.concurrency) } : undefined,
          });
          await handled.done;
          // Handlers ran; the (batched) completions commit a moment later.
          await waitUntilEmpty(ctx);
          const seconds = (performance.now() - began) / 1000;
          return { tasks: n, seconds, tasksPerSecond: n / seconds, cpu: cpu.perTask(n), createdPerSecond };
        },
        async latency() {
          const tracker = startTracker();
          onStart = (id) => tracker.started(id, nowMs());
          const samples = await measureLatency(ctx.settings.latencyTasks, async () => (await utils.addJob("noop", {})).id, tracker);
          return summarise(samples);
        },
        async stop() {
          await runner?.stop();
          await utils.release();
        },
      };
    },
  };
}
