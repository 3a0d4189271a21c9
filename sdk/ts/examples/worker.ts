/**
 * A worker with two handlers that drains on SIGTERM/SIGINT.
 *
 *   BATON_URL=http://127.0.0.1:7233 npx tsx sdk/ts/examples/worker.ts
 *
 * Stop it with Ctrl-C (or `kill -TERM`): running tasks get 20s to finish,
 * a second signal aborts them (they are retried elsewhere).
 */
import { NonRetryableError, RetryableError, Worker, type TaskContext } from "@baton/sdk";

const worker = new Worker({
  baseUrl: process.env.BATON_URL ?? "http://127.0.0.1:7233",
  queues: ["examples"],
  workerId: "example-worker",
  slots: 4,
  handleSignals: { graceMs: 20_000 },
});

// Returns the result object; throwing fails the attempt.
worker.handle("email.send", async (task) => {
  const to = task.payload?.to;
  if (typeof to !== "string" || !to.includes("@")) {
    // Retrying cannot fix bad input: straight to DEAD_LETTER.
    throw new NonRetryableError(`not an email address: ${String(to)}`, { type: "invalid_address" });
  }
  if (Math.random() < 0.2) {
    // A flaky upstream: retry, but not before a second has passed.
    throw new RetryableError("mail server busy", { type: "smtp_421", retryAfterMs: 1_000 });
  }
  return { messageId: `msg-${task.id.slice(-8)}`, to };
});

// Long work: honour ctx.signal so cancellation and shutdown stop it promptly.
worker.handle("report.build", async (task, ctx: TaskContext) => {
  const pages = Number(task.payload?.pages ?? 5);
  for (let page = 1; page <= pages; page++) {
    await delay(500, ctx.signal);
    if (page % 4 === 0) await ctx.extendLease(60_000);
  }
  return { pages, attempt: ctx.attempt };
});

worker.on("connected", (e) => console.log(`connected: session ${e.sessionId} on ${e.replicaId}`));
worker.on("disconnected", (e) => {
  const why = e.error ? `: ${e.error.message}` : e.goAway ? `: server going away (${e.goAway.reason})` : "";
  console.log(`disconnected${why}${e.reconnectInMs === undefined ? "" : `; reconnecting in ${e.reconnectInMs}ms`}`);
});
worker.on("completed", (e) => console.log(`completed ${e.task.type} ${e.task.id}`));
worker.on("failed", (e) => console.log(`failed ${e.task.type} ${e.task.id}: ${e.error.type}`));

await worker.run();
console.log("worker stopped");

/** Sleeps unless the signal aborts first, then throws the abort reason. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });
}
