// The conformance adapter of @baton/sdk (docs/CONFORMANCE.md): reads
// AdapterRequests (size-delimited protobuf) from stdin, runs a real SDK Worker
// for each against the reference server, reports what its handlers do as
// AdapterEvents on stdout, and stops the workers gracefully when stdin closes.
//
//   npx baton-conformance --worker "node --import tsx sdk/ts/conformance/adapter.ts"
//
// BATON_CONFORMANCE_TRANSPORT=listen runs the worker on the Listen fallback (F1).
import { create, type JsonObject, type MessageInitShape } from "@bufbuild/protobuf";
import { sizeDelimitedDecodeStream, sizeDelimitedEncode } from "@bufbuild/protobuf/wire";
import {
  AdapterEventSchema,
  AdapterRequestSchema,
  type AdapterRequest,
  type HandlerBehavior,
} from "../../../gen/ts/baton/conformance/v1/conformance_pb.js";
import { NonRetryableError, RetryableError, SDK_NAME, TaskAbortedError, Worker, type Logger, type TaskContext } from "../src/index.js";
import type { Task } from "../src/index.js";

// Logs go to stderr: stdout carries the AdapterEvents.
const stderrLogger: Logger = {
  debug: () => {},
  info: (fields, msg) => console.error(`[baton] info ${msg}`, JSON.stringify(fields)),
  warn: (fields, msg) => console.error(`[baton] warn ${msg}`, JSON.stringify(fields)),
  error: (fields, msg) => console.error(`[baton] error ${msg}`, JSON.stringify(fields)),
};

function emit(caseName: string, event: MessageInitShape<typeof AdapterEventSchema>["event"]): void {
  process.stdout.write(sizeDelimitedEncode(AdapterEventSchema, create(AdapterEventSchema, { caseName, event })));
}

/** Waits `ms`; with a signal, stops early when it aborts (rejecting with its reason). */
function work(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function handler(caseName: string, b: HandlerBehavior) {
  return async (task: Task, ctx: TaskContext): Promise<JsonObject> => {
    const ids = { taskId: task.id, leaseId: task.lease?.leaseId ?? "" };
    emit(caseName, { case: "handlerStarted", value: { ...ids, attempt: ctx.attempt } });
    const onAbort = () => {
      const why = ctx.signal.reason instanceof TaskAbortedError ? ctx.signal.reason.why : String(ctx.signal.reason);
      emit(caseName, { case: "handlerCancelled", value: { ...ids, cause: why } });
    };
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    const beat = b.heartbeatEveryMs > 0 ? setInterval(() => void ctx.heartbeat(), b.heartbeatEveryMs) : undefined;
    let outcome = "completed";
    try {
      if (b.extendLeaseMs > 0) {
        await ctx.extendLease(b.extendLeaseMs).catch((err: unknown) => console.error(`extendLease failed: ${String(err)}`));
      }
      try {
        await work(b.sleepMs, b.ignoreCancel ? undefined : ctx.signal);
      } catch (err) {
        outcome = "cancelled";
        throw err;
      }
      if (b.outcome.case === "fail") {
        outcome = "failed";
        const f = b.outcome.value;
        if (f.nonRetryable) throw new NonRetryableError(f.message || f.type, { type: f.type });
        throw new RetryableError(f.message || f.type, { type: f.type, retryAfterMs: f.retryAfterMs > 0 ? f.retryAfterMs : undefined });
      }
      return b.outcome.case === "succeed" ? b.outcome.value : {};
    } finally {
      clearInterval(beat);
      ctx.signal.removeEventListener("abort", onAbort);
      emit(caseName, { case: "handlerFinished", value: { ...ids, outcome } });
    }
  };
}

function start(req: AdapterRequest): Worker {
  const w = req.worker!;
  const worker = new Worker({
    baseUrl: req.serverUrl,
    queues: w.queues,
    workerId: w.workerId,
    instanceId: w.instanceId || undefined,
    namespace: w.namespace || undefined,
    slots: w.slots,
    logger: stderrLogger,
    // BATON_CONFORMANCE_TRANSPORT=listen runs the Listen fallback (F1) instead of Connect.
    transport: process.env.BATON_CONFORMANCE_TRANSPORT === "listen" ? "listen" : "connect-h2",
  });
  for (const b of req.handlers) worker.handle(b.taskType, handler(req.caseName, b));
  worker.run().catch((err: unknown) => {
    console.error(`worker.run failed: ${String(err)}`);
    process.exitCode = 1;
  });
  emit(req.caseName, { case: "ready", value: { sdk: SDK_NAME } });
  return worker;
}

const running: { worker: Worker; graceMs: number }[] = [];
for await (const req of sizeDelimitedDecodeStream(AdapterRequestSchema, process.stdin)) {
  running.push({ worker: start(req), graceMs: req.worker?.stopGraceMs ?? 2000 });
}
// stdin closed: stop every worker gracefully (Drain, finish, wait for the last Acks), then exit.
await Promise.all(running.map(({ worker, graceMs }) => worker.stop({ graceMs, flushTimeoutMs: 1000 })));
process.exit();
