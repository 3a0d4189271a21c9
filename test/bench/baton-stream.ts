/** Baton with TypeScript streaming workers (WorkerService.Connect through @baton/sdk), in the bench process. */
import { Client, silentLogger, Worker } from "../../sdk/ts/src/index.js";
import { BATON_VERSION, createNoopTasks, createOne, QUEUE, startReplicas } from "./baton-common.js";
import { selfCpuMs } from "./proc.js";
import { summarise } from "./stats.js";
import { countdown, cpuMeter, measureLatency, nowMs, startTracker, type BenchSystem } from "./system.js";

const WORKERS = 4;

export function batonStream(): BenchSystem {
  return {
    name: "Baton, TS stream workers",
    kind: "baton",
    describe: (s) =>
      `Baton ${BATON_VERSION} (\`baton serve\` under tsx, one replica, NATS bus, pool of 10 connections); ` +
      `${WORKERS} @baton/sdk Workers in the bench process over WorkerService.Connect (gRPC, h2c), ${Math.ceil(s.concurrency / WORKERS)} slots each`,

    async start(ctx) {
      const replicas = await startReplicas(ctx, 1);
      const url = replicas.urls[0]!;
      const client = new Client({ baseUrl: url });
      const tracker = startTracker();
      let onCompleted = () => {};
      let tracking = false;
      let workers: Worker[] = [];
      return {
        async throughput() {
          const n = ctx.settings.throughputTasks;
          const createdPerSecond = await createNoopTasks(client, n);
          const all = countdown(n);
          onCompleted = () => all.tick();
          const cpu = cpuMeter(ctx, { server: replicas.cpuMs, workers: selfCpuMs });
          const began = performance.now();
          workers = Array.from({ length: WORKERS }, (_, i) => {
            const w = new Worker({ baseUrl: url, queues: [QUEUE], workerId: `bench-${i}`, slots: Math.ceil(ctx.settings.concurrency / WORKERS), logger: silentLogger });
            w.handle("noop", (task) => {
              if (tracking) tracker.started(task.id, nowMs());
              return {};
            });
            w.on("completed", () => onCompleted());
            void w.run();
            return w;
          });
          await all.done;
          const seconds = (performance.now() - began) / 1000;
          return { tasks: n, seconds, tasksPerSecond: n / seconds, cpu: cpu.perTask(n), createdPerSecond };
        },
        async latency() {
          onCompleted = () => {};
          tracking = true;
          return summarise(await measureLatency(ctx.settings.latencyTasks, () => createOne(client), tracker));
        },
        async stop() {
          await Promise.all(workers.map((w) => w.stop({ graceMs: 1_000 })));
          client.close();
          await replicas.stop();
        },
      };
    },
  };
}
