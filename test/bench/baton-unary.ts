/** Baton with unary polling workers: TaskService.ClaimTasks batches, then one CompleteTask per task. */
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Client } from "../../sdk/ts/src/index.js";
import { BATON_VERSION, createNoopTasks, createOne, QUEUE, startReplicas } from "./baton-common.js";
import { selfCpuMs } from "./proc.js";
import { summarise } from "./stats.js";
import { cpuMeter, measureLatency, nowMs, startTracker, type BenchSystem } from "./system.js";

/** Most tasks one ClaimTasks call may return (the protocol's cap). */
const CLAIM_MAX = 100;
/** How long a claim may wait for a first task (long poll). */
const WAIT_MS = 5_000;

/** `transport`: the SDK Client's default is Connect over HTTP/1.1 (a connection per call in flight). */
export function batonUnary(transport: "grpc" | "connect" = "connect"): BenchSystem {
  const loopsFor = (concurrency: number) => Math.max(1, Math.ceil(concurrency / CLAIM_MAX));
  return {
    name: `Baton, TS unary ClaimTasks workers${transport === "grpc" ? " (gRPC)" : ""}`,
    kind: "baton",
    describe: (s) =>
      `Baton ${BATON_VERSION}, one replica; ${loopsFor(s.concurrency)} claim loops in the bench process (@baton/sdk Client, ${transport === "grpc" ? "gRPC over h2c, one connection each" : "its default transport: Connect over HTTP/1.1, keep-alive"}), ` +
      `each: ClaimTasks(max ${Math.min(CLAIM_MAX, s.concurrency)}, wait ${WAIT_MS / 1000}s), run the batch, then one CompleteTask per task, all in parallel`,

    async start(ctx) {
      const replicas = await startReplicas(ctx, 1);
      const url = replicas.urls[0]!;
      const producer = new Client({ baseUrl: url });
      const loops = loopsFor(ctx.settings.concurrency);
      const batch = Math.min(CLAIM_MAX, Math.ceil(ctx.settings.concurrency / loops));
      const workerClients = Array.from({ length: loops }, () => new Client({ baseUrl: url, transport }));
      const abort = new AbortController();
      let onStart = (_id: string) => {};
      let completed = 0;
      let onCompleted = () => {};
      const running: Promise<void>[] = [];

      const loop = async (client: Client, i: number) => {
        while (!abort.signal.aborted) {
          let tasks;
          try {
            tasks = await client.claimTasks(
              { queue: QUEUE, workerId: `bench-unary-${i}`, maxTasks: batch, wait: durationFromMs(WAIT_MS) },
              { signal: abort.signal },
            );
          } catch (err) {
            if (abort.signal.aborted) return;
            throw err;
          }
          await Promise.all(
            tasks.map(async (t) => {
              onStart(t.id); // the no-op handler
              await client.completeTask({ taskId: t.id, leaseId: t.lease!.leaseId, result: {} });
              completed++;
              onCompleted();
            }),
          );
        }
      };
      const startLoops = () => {
        for (let i = 0; i < loops; i++) running.push(loop(workerClients[i]!, i));
      };

      return {
        async throughput() {
          const n = ctx.settings.throughputTasks;
          const createdPerSecond = await createNoopTasks(producer, n);
          const done = new Promise<void>((resolve) => (onCompleted = () => completed >= n && resolve()));
          const cpu = cpuMeter(ctx, { server: replicas.cpuMs, workers: selfCpuMs });
          const began = performance.now();
          startLoops();
          await Promise.race([done, ...running]);
          const seconds = (performance.now() - began) / 1000;
          return { tasks: n, seconds, tasksPerSecond: n / seconds, cpu: cpu.perTask(n), createdPerSecond };
        },
        async latency() {
          onCompleted = () => {};
          const tracker = startTracker();
          onStart = (id) => tracker.started(id, nowMs());
          return summarise(await measureLatency(ctx.settings.latencyTasks, () => createOne(producer), tracker));
        },
        async stop() {
          abort.abort();
          await Promise.allSettled(running);
          for (const c of [producer, ...workerClients]) c.close();
          await replicas.stop();
        },
      };
    },
  };
}
