/** Baton with TypeScript streaming workers (WorkerService.Connect through @baton/sdk). */
import { Client, silentLogger, Worker } from "../../sdk/ts/src/index.js";
import { startReplica, type Replica } from "../support/replica.js";
import { summarise } from "./stats.js";
import type { BenchSettings, BenchSystem, ThroughputResult } from "./system.js";

const WORKERS = 4;

async function withReplica<T>(databaseUrl: string, natsUrl: string | undefined, run: (r: Replica) => Promise<T>): Promise<T> {
  const replica = await startReplica({ databaseUrl, natsUrl });
  try {
    return await run(replica);
  } finally {
    await replica.stop();
  }
}

function startWorkers(url: string, count: number, slotsEach: number, onStart: (id: string) => void): Worker[] {
  return Array.from({ length: count }, (_, i) => {
    const w = new Worker({ baseUrl: url, queues: ["bench"], workerId: `bench-${i}`, slots: slotsEach, logger: silentLogger });
    w.handle("noop", (task) => {
      onStart(task.id);
      return {};
    });
    void w.run();
    return w;
  });
}

export function batonStream(natsUrl?: string): BenchSystem {
  return {
    name: "baton (TS streaming workers)",
    describe: () => `Baton 0.1.0, ${WORKERS} @baton/sdk workers over WorkerService.Connect (gRPC h2c), one replica${natsUrl ? " + NATS" : ""}`,

    async throughput(databaseUrl: string, s: BenchSettings): Promise<ThroughputResult> {
      return withReplica(databaseUrl, natsUrl, async (replica) => {
        const client = new Client({ baseUrl: replica.url });
        for (let made = 0; made < s.throughputTasks; made += 500) {
          const n = Math.min(500, s.throughputTasks - made);
          await client.batchCreateTasks(Array.from({ length: n }, () => ({ queue: "bench", type: "noop" })));
        }
        let done = 0;
        let resolveAll = () => {};
        const all = new Promise<void>((r) => (resolveAll = r));
        const started = performance.now();
        const workers = startWorkers(replica.url, WORKERS, Math.ceil(s.concurrency / WORKERS), () => {});
        for (const w of workers) w.on("completed", () => ++done === s.throughputTasks && resolveAll());
        await all;
        const seconds = (performance.now() - started) / 1000;
        await Promise.all(workers.map((w) => w.stop({ graceMs: 1_000 })));
        return { tasks: s.throughputTasks, seconds, tasksPerSecond: s.throughputTasks / seconds };
      });
    },

    async latency(databaseUrl: string, s: BenchSettings) {
      return withReplica(databaseUrl, natsUrl, async (replica) => {
        const client = new Client({ baseUrl: replica.url });
        const waiting = new Map<string, () => void>();
        const early = new Set<string>();
        const workers = startWorkers(replica.url, 1, Math.min(10, s.concurrency), (id) => {
          const resolve = waiting.get(id);
          if (resolve) resolve();
          else early.add(id); // the handler started before createTask returned
        });
        await new Promise<void>((r) => workers[0]!.on("connected", () => r()));
        const samples: number[] = [];
        for (let i = 0; i < s.latencyTasks; i++) {
          const t0 = performance.now();
          let startedAt = 0;
          let created = "";
          const started = new Promise<void>((r) => {
            const done = () => {
              startedAt = performance.now();
              r();
            };
            void client.createTask({ queue: "bench", type: "noop" }).then(({ task }) => {
              created = task.id;
              if (early.delete(created)) done();
              else waiting.set(created, done);
            });
          });
          await started;
          waiting.delete(created);
          samples.push(startedAt - t0);
        }
        await Promise.all(workers.map((w) => w.stop({ graceMs: 1_000 })));
        return summarise(samples);
      });
    },
  };
}
