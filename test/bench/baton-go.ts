/** Baton with Go streaming workers: test/bench/go (`batonbench work`), a process of its own. */
import { Client } from "../../sdk/ts/src/index.js";
import { BATON_VERSION, buildGoBench, createNoopTasks, createOne, QUEUE, startReplicas } from "./baton-common.js";
import { spawnLines, type LineChild } from "./child.js";
import { treeCpuMs } from "./proc.js";
import { summarise } from "./stats.js";
import { cpuMeter, measureLatency, startTracker, type BenchSystem } from "./system.js";

const WORKERS = 4;

export function batonGo(replicaCount = 1): BenchSystem {
  let bin = "";
  return {
    name: replicaCount === 1 ? "Baton, Go stream workers" : `Baton, Go stream workers, ${replicaCount} replicas`,
    kind: "baton",
    latencyNote: replicaCount > 1 ? "latency is measured with one replica (the row above)" : undefined,
    describe: (s) =>
      `Baton ${BATON_VERSION}, ${replicaCount === 1 ? "one replica" : `${replicaCount} replicas on the same Postgres, NATS between them`}; ` +
      `${WORKERS} Go SDK Workers in one process (test/bench/go)${replicaCount > 1 ? ", spread round-robin over the replicas" : ""}, ` +
      `${Math.ceil(s.concurrency / WORKERS)} slots each`,
    async prepare() {
      bin = await buildGoBench();
    },

    async start(ctx) {
      const replicas = await startReplicas(ctx, replicaCount);
      const client = new Client({ baseUrl: replicas.urls[0]! });
      let workers: LineChild | undefined;
      const spawnWorkers = (extra: string[]) => {
        workers = spawnLines(bin, [
          "work",
          "-urls", replicas.urls.join(","),
          "-queue", QUEUE,
          "-workers", String(WORKERS),
          "-slots", String(Math.ceil(ctx.settings.concurrency / WORKERS)),
          ...extra,
        ]);
        return workers;
      };
      const system = {
        async throughput() {
          const n = ctx.settings.throughputTasks;
          const createdPerSecond = await createNoopTasks(client, n);
          let goPid = 0;
          const cpu = cpuMeter(ctx, { server: replicas.cpuMs, workers: () => (goPid ? treeCpuMs(goPid) : 0) });
          const w = spawnWorkers(["-expect", String(n)]);
          goPid = w.pid;
          // The Go process times itself from just before its workers are created.
          const line = await w.waitFor((l) => l.startsWith("done "), 600_000);
          const perTask = cpu.perTask(n);
          const seconds = Number(line.split(" ")[2]);
          await w.stop();
          return { tasks: n, seconds, tasksPerSecond: n / seconds, cpu: perTask, createdPerSecond };
        },
        async latency() {
          const tracker = startTracker();
          const w = spawnWorkers(["-starts"]);
          w.onLine((l) => {
            if (!l.startsWith("start ")) return;
            const [, id, us] = l.split(" ");
            tracker.started(id!, Number(us) / 1000);
          });
          await w.waitFor((l) => l === "connected", 60_000);
          const samples = await measureLatency(ctx.settings.latencyTasks, () => createOne(client), tracker);
          await w.stop();
          return summarise(samples);
        },
        async stop() {
          await workers?.stop();
          client.close();
          await replicas.stop();
        },
      };
      // The replica-scaling row only needs tasks/s.
      if (replicaCount > 1) return { throughput: system.throughput, stop: system.stop };
      return system;
    },
  };
}
