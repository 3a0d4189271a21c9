// The TS member of the chaos fleet: a real @baton/sdk worker that logs every
// handler execution to a file, one JSON line per event, written synchronously
// so a kill -9 loses nothing that happened before it.
//   node --import tsx ts-worker.ts <url> <queue> <workerId> <logPath> <slots>
// Prints "connected" on stdout once welcomed. The log format is shared with the
// Python and Go workers; test/chaos/checker.ts reads it.
import { openSync, writeSync } from "node:fs";
import { Worker, silentLogger, type Task } from "../../../sdk/ts/src/index.js";

const [url, queue, workerId, logPath, slots] = process.argv.slice(2) as [string, string, string, string, string];
const fd = openSync(logPath, "a");
const log = (entry: Record<string, unknown>) => writeSync(fd, `${JSON.stringify({ ...entry, t: Date.now() })}\n`);
const ref = (task: Task) => ({ task: task.id, lease: task.lease?.leaseId ?? "" });

log({ e: "hello", lang: "ts", worker: workerId, pid: process.pid });
const worker = new Worker({
  baseUrl: url,
  queues: [queue],
  workerId,
  slots: Number(slots),
  logger: silentLogger,
  reconnect: { floorMs: 100, capMs: 1_000 },
});

worker.handle("chaos.work", async (task, ctx) => {
  const payload = (task.payload ?? {}) as { ms?: number; failAttempts?: number };
  log({ e: "start", ...ref(task), attempt: ctx.attempt });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, payload.ms ?? 0);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(ctx.signal.reason);
      });
    });
  } catch (err) {
    log({ e: "end", ...ref(task), attempt: ctx.attempt, outcome: "aborted" });
    throw err;
  }
  if (ctx.attempt <= (payload.failAttempts ?? 0)) {
    log({ e: "end", ...ref(task), attempt: ctx.attempt, outcome: "error" });
    throw new Error(`planned failure of attempt ${ctx.attempt}`);
  }
  log({ e: "end", ...ref(task), attempt: ctx.attempt, outcome: "ok" });
  return { by: "ts", worker: workerId, lease: task.lease?.leaseId ?? "", attempt: ctx.attempt };
});

worker.on("completed", (e) => log({ e: "ack", ...ref(e.task), accepted: true, kind: "completed" }));
worker.on("failed", (e) => log({ e: "ack", ...ref(e.task), accepted: true, kind: "failed" }));
worker.on("rejected", (e) => log({ e: "ack", ...ref(e.task), accepted: false, reason: e.error?.reason ?? "" }));
worker.on("cancelled", (e) => {
  if (e.leaseLost) log({ e: "lost", ...ref(e.task) });
});
worker.on("connected", (e) => {
  log({ e: "connected", session: e.sessionId, replica: e.replicaId, resumed: e.resumed.length, lost: e.lost.length });
  console.log("connected");
});
worker.on("disconnected", (e) => log({ e: "disconnected", error: e.error?.message ?? "", goAway: e.goAway?.reason ?? "" }));
process.on("SIGTERM", () => void worker.stop({ graceMs: 2_000 }));
await worker.run();
