/**
 * A deliberately breakable worker, so the conformance suite can test itself.
 *
 * Without flags it is a small but complete worker written straight on the
 * protocol (WorkerService.Connect over gRPC, no SDK) that passes every case.
 * Each flag breaks one rule, and the suite must then fail exactly the cases
 * that check that rule (conformance/src/broken-worker.test.ts):
 *
 *   --never-heartbeat        never sends WorkerHeartbeat (B1, L2)
 *   --complete-after-cancel  ignores Cancel, lease_lost or not, and reports
 *                            whatever the handler returns (B2, X2)
 *   --no-backoff             reconnects at once after a lost stream (N1)
 *   --exceed-slots           runs every assigned task at once (K3)
 *   --stale-resend           resends a Result the server refused (R4)
 *
 * It speaks the adapter protocol itself (docs/CONFORMANCE.md):
 *   npx baton-conformance --worker "npx tsx conformance/broken-worker/worker.ts --no-backoff"
 */
import { create, type JsonObject, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, durationMs } from "@bufbuild/protobuf/wkt";
import { sizeDelimitedDecodeStream, sizeDelimitedEncode } from "@bufbuild/protobuf/wire";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import type { Readable, Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import {
  AdapterEventSchema,
  AdapterRequestSchema,
  type AdapterRequest,
  type HandlerBehavior,
} from "../../gen/ts/baton/conformance/v1/conformance_pb.js";
import { ErrorReason } from "../../gen/ts/baton/v1/contract_pb.js";
import type { Task } from "../../gen/ts/baton/v1/task_pb.js";
import { ResultSchema, type Result, type Welcome } from "../../gen/ts/baton/v1/worker_pb.js";
import { ConnectRequestSchema, WorkerService, type ConnectRequest, type ConnectResponse } from "../../gen/ts/baton/v1/worker_service_pb.js";
import { Channel } from "../src/lib/channel.js";

export interface BrokenFlags {
  neverHeartbeat: boolean;
  completeAfterCancel: boolean;
  noBackoff: boolean;
  exceedSlots: boolean;
  staleResend: boolean;
}

export const FLAG_NAMES: Record<keyof BrokenFlags, string> = {
  neverHeartbeat: "--never-heartbeat",
  completeAfterCancel: "--complete-after-cancel",
  noBackoff: "--no-backoff",
  exceedSlots: "--exceed-slots",
  staleResend: "--stale-resend",
};

export function parseFlags(argv: string[]): BrokenFlags {
  const flags: BrokenFlags = { neverHeartbeat: false, completeAfterCancel: false, noBackoff: false, exceedSlots: false, staleResend: false };
  for (const arg of argv) {
    const key = (Object.keys(FLAG_NAMES) as (keyof BrokenFlags)[]).find((k) => FLAG_NAMES[k] === arg);
    if (!key) throw new Error(`unknown flag ${arg}; known: ${Object.values(FLAG_NAMES).join(" ")}`);
    flags[key] = true;
  }
  return flags;
}

type Emit = (event: MessageInitShape<typeof AdapterEventSchema>["event"]) => void;
type Message = MessageInitShape<typeof ConnectRequestSchema>["message"];

const SDK = "broken-worker/0.1.0";
const CANCEL_GRACE_SHARE = 0.5;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
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

/** One attempt held by the worker. */
class Run {
  readonly leaseId: string;
  readonly abort = new AbortController();
  started = false;
  /** The outcome is decided (a Result is queued, or none will be sent). */
  done = false;
  cancelReason: string | undefined;
  shutdown = false;
  cancelTimer: ReturnType<typeof setTimeout> | undefined;
  constructor(readonly task: Task) {
    this.leaseId = task.lease?.leaseId ?? "";
  }
}

interface OutboxEntry {
  result: Result;
  sent: boolean;
  /** Refused by the server and kept anyway (only with --stale-resend). */
  refused?: boolean;
}

const key = (taskId: string, leaseId: string) => `${taskId}\u0000${leaseId}`;

/** One stream. */
class Stream {
  readonly requests = new Channel<ConnectRequest>();
  readonly abort = new AbortController();
  welcome: Welcome | undefined;
  goingAway: { reconnectAfterMs: number } | undefined;
  heartbeat: ReturnType<typeof setInterval> | undefined;

  /** H3: nothing but Hello before Welcome. */
  send(message: Message): boolean {
    if (!this.welcome) return false;
    return this.requests.push(create(ConnectRequestSchema, { message }));
  }
}

class MiniWorker {
  readonly #req: AdapterRequest;
  readonly #flags: BrokenFlags;
  readonly #emit: Emit;
  readonly #client: Client<typeof WorkerService>;
  readonly #sessions: Http2SessionManager;
  readonly #behaviours = new Map<string, HandlerBehavior>();
  readonly #runs = new Map<string, Run>();
  readonly #queued: Run[] = [];
  readonly #outbox = new Map<string, OutboxEntry>();
  readonly #instanceId = crypto.randomUUID();
  #executing = 0;
  #stream: Stream | undefined;
  #cancelGraceMs = 5000;
  #failures = 0;
  #stopping = false;
  #finished = false;
  readonly #wake = new AbortController();
  #changed: () => void = () => {};
  #loop: Promise<void> | undefined;

  constructor(req: AdapterRequest, flags: BrokenFlags, emit: Emit) {
    this.#req = req;
    this.#flags = flags;
    this.#emit = emit;
    for (const b of req.handlers) this.#behaviours.set(b.taskType, b);
    this.#sessions = new Http2SessionManager(req.serverUrl);
    this.#client = createClient(WorkerService, createGrpcTransport({ baseUrl: req.serverUrl, sessionManager: this.#sessions }));
  }

  start(): void {
    this.#loop = this.#run();
    this.#emit({ case: "ready", value: { sdk: SDK } });
  }

  async #run(): Promise<void> {
    while (!this.#finished) {
      const stream = new Stream();
      this.#stream = stream;
      await this.#session(stream);
      this.#stream = undefined;
      for (const e of this.#outbox.values()) e.sent = false;
      if (stream.welcome) this.#failures = 0;
      if (this.#finished) break;
      const delay =
        stream.goingAway?.reconnectAfterMs ? stream.goingAway.reconnectAfterMs
        : this.#flags.noBackoff ? 0
        : this.#nextBackoff();
      await sleep(delay, this.#wake.signal).catch(() => {});
    }
  }

  /** N1: full jitter between 100ms and a ceiling that doubles per failure, capped at 30s. */
  #nextBackoff(): number {
    const ceiling = Math.min(30_000, 100 * 2 ** (this.#failures + 1));
    this.#failures++;
    return 100 + Math.random() * (ceiling - 100);
  }

  async #session(stream: Stream): Promise<void> {
    stream.requests.push(
      create(ConnectRequestSchema, {
        message: {
          case: "hello",
          value: {
            namespace: this.#req.worker?.namespace ?? "",
            queues: this.#req.worker?.queues ?? [],
            taskTypes: [...this.#behaviours.keys()],
            workerId: this.#req.worker?.workerId ?? "broken-worker",
            instanceId: this.#req.worker?.instanceId || this.#instanceId,
            slots: this.#req.worker?.slots ?? 1,
            resumeLeases: [
              ...[...this.#runs.values()].map((r) => ({ taskId: r.task.id, leaseId: r.leaseId })),
              ...[...this.#outbox.values()].filter((e) => !this.#runs.has(e.result.taskId)).map((e) => ({ taskId: e.result.taskId, leaseId: e.result.leaseId })),
            ],
            sdk: SDK,
          },
        },
      }),
    );
    try {
      for await (const res of this.#client.connect(stream.requests, { signal: stream.abort.signal })) this.#dispatch(stream, res);
    } catch {
      // A lost stream: the loop reconnects.
    } finally {
      clearInterval(stream.heartbeat);
      stream.requests.close();
    }
  }

  #dispatch(stream: Stream, res: ConnectResponse): void {
    const m = res.message;
    if (!stream.welcome) {
      if (m.case === "welcome") this.#onWelcome(stream, m.value);
      return;
    }
    switch (m.case) {
      case "assign":
        if (m.value.task) this.#onAssign(stream, m.value.task);
        return;
      case "cancel":
        this.#onCancel(m.value.taskId, m.value.leaseId, m.value.leaseLost, m.value.reason);
        return;
      case "ack": {
        const k = key(m.value.taskId, m.value.leaseId);
        const entry = this.#outbox.get(k);
        if (!entry) return; // an ExtendLease's Ack
        // R4: a refused Result is dropped, unless this worker is broken that way.
        if (m.value.accepted || !this.#flags.staleResend) this.#outbox.delete(k);
        else entry.refused = true;
        // X2: a completion that crossed a Cancel is refused; the cancellation failure is still owed.
        if (!m.value.accepted && m.value.error?.reason === ErrorReason[ErrorReason.CANCEL_REQUESTED] && entry.result.outcome.case === "completed" && !this.#flags.completeAfterCancel) {
          this.#outbox.set(k, { result: create(ResultSchema, { taskId: m.value.taskId, leaseId: m.value.leaseId, outcome: { case: "failed", value: { error: { type: "cancelled", message: m.value.error.message } } } }), sent: false });
          this.#flush();
        }
        this.#changed();
        this.#closeIfGoneAway(stream);
        return;
      }
      case "goAway":
        stream.goingAway = { reconnectAfterMs: m.value.reconnectAfter ? durationMs(m.value.reconnectAfter) : 0 };
        this.#closeIfGoneAway(stream);
        return;
      default:
        return;
    }
  }

  #onWelcome(stream: Stream, welcome: Welcome): void {
    stream.welcome = welcome;
    if (welcome.cancelGrace) this.#cancelGraceMs = durationMs(welcome.cancelGrace);
    for (const lost of welcome.lost) {
      const run = this.#runs.get(lost.taskId);
      if (run?.leaseId === lost.leaseId) this.#drop(run, "lease_lost");
    }
    if (this.#stopping) stream.send({ case: "drain", value: {} });
    const intervalMs = welcome.heartbeatInterval ? durationMs(welcome.heartbeatInterval) : 10_000;
    if (!this.#flags.neverHeartbeat) {
      stream.heartbeat = setInterval(() => this.#beat(stream), Math.max(10, intervalMs * 0.8));
      if (this.#runs.size > 0) this.#beat(stream);
    }
    this.#flush();
  }

  #beat(stream: Stream): void {
    if (this.#flags.neverHeartbeat) return;
    stream.send({ case: "heartbeat", value: { leases: [...this.#runs.values()].map((r) => ({ taskId: r.task.id, leaseId: r.leaseId })) } });
  }

  #onAssign(stream: Stream, task: Task): void {
    const existing = this.#runs.get(task.id);
    if (existing?.leaseId === task.lease?.leaseId) return;
    if (existing) this.#drop(existing, "lease_lost");
    const run = new Run(task);
    this.#runs.set(task.id, run);
    if (this.#stopping || stream.goingAway) {
      // G1, G2: no new work; hand it back at once.
      return this.#decide(run, this.#failure(run, "worker_going_away", "the worker is not taking new work", false));
    }
    if (this.#flags.exceedSlots || this.#executing < (this.#req.worker?.slots ?? 1)) void this.#execute(run);
    else this.#queued.push(run);
  }

  async #execute(run: Run): Promise<void> {
    run.started = true;
    this.#executing++;
    const b = this.#behaviours.get(run.task.type);
    const ids = { taskId: run.task.id, leaseId: run.leaseId };
    let proposed: Result;
    if (!b) {
      proposed = this.#failure(run, "unknown_task_type", `no handler for ${run.task.type}`, true);
    } else {
      this.#emit({ case: "handlerStarted", value: { ...ids, attempt: run.task.attempt } });
      const onAbort = () => this.#emit({ case: "handlerCancelled", value: { ...ids, cause: String(run.abort.signal.reason) } });
      run.abort.signal.addEventListener("abort", onAbort, { once: true });
      const beat = b.heartbeatEveryMs > 0 ? setInterval(() => this.#stream && this.#beat(this.#stream), b.heartbeatEveryMs) : undefined;
      let outcome = "completed";
      if (b.extendLeaseMs > 0) {
        this.#stream?.send({ case: "extendLease", value: { ...ids, extendBy: durationFromMs(b.extendLeaseMs) } });
      }
      try {
        await sleep(b.sleepMs, b.ignoreCancel ? undefined : run.abort.signal);
        if (b.outcome.case === "fail") {
          outcome = "failed";
          const f = b.outcome.value;
          proposed = this.#failure(run, f.type, f.message, f.nonRetryable, f.retryAfterMs);
        } else {
          proposed = create(ResultSchema, { ...ids, outcome: { case: "completed", value: b.outcome.case === "succeed" ? b.outcome.value : ({} as JsonObject) } });
        }
      } catch {
        outcome = "cancelled";
        proposed = this.#failure(run, "cancelled", "the handler was cancelled", false);
      }
      clearInterval(beat);
      run.abort.signal.removeEventListener("abort", onAbort);
      this.#emit({ case: "handlerFinished", value: { ...ids, outcome } });
    }
    this.#executing--;
    this.#decide(run, proposed);
    const next = this.#queued.shift();
    if (next) void this.#execute(next);
  }

  #failure(run: Run, type: string, message: string, nonRetryable: boolean, retryAfterMs = 0): Result {
    return create(ResultSchema, {
      taskId: run.task.id,
      leaseId: run.leaseId,
      outcome: {
        case: "failed",
        value: { error: { type, message, nonRetryable }, retryAfter: retryAfterMs > 0 ? durationFromMs(retryAfterMs) : undefined },
      },
    });
  }

  /** Fixes the attempt's one outcome; a Cancel or a shutdown overrides the handler's. */
  #decide(run: Run, proposed: Result): void {
    if (run.done) return;
    const result =
      run.cancelReason !== undefined ? this.#failure(run, "cancelled", run.cancelReason, false)
      : run.shutdown ? this.#failure(run, "worker_shutdown", "the worker stopped first", false)
      : proposed;
    this.#markDone(run);
    this.#outbox.set(key(run.task.id, run.leaseId), { result, sent: false });
    this.#flush();
  }

  /** The lease is gone: stop the handler and send nothing. */
  #drop(run: Run, why: string): void {
    if (run.done) return;
    this.#markDone(run);
    run.abort.abort(why);
    if (this.#stream) this.#closeIfGoneAway(this.#stream);
  }

  #markDone(run: Run): void {
    run.done = true;
    clearTimeout(run.cancelTimer);
    if (this.#runs.get(run.task.id) === run) this.#runs.delete(run.task.id);
    const q = this.#queued.indexOf(run);
    if (q >= 0) this.#queued.splice(q, 1);
    this.#changed();
  }

  #onCancel(taskId: string, leaseId: string, leaseLost: boolean, reason: string): void {
    if (this.#flags.completeAfterCancel) return;
    const run = this.#runs.get(taskId);
    if (!run || run.leaseId !== leaseId) {
      if (leaseLost) this.#outbox.delete(key(taskId, leaseId));
      return;
    }
    if (leaseLost) return this.#drop(run, "lease_lost");
    if (run.cancelReason !== undefined) return;
    run.cancelReason = reason || "cancelled";
    if (!run.started) return this.#decide(run, this.#failure(run, "cancelled", run.cancelReason, false));
    run.abort.abort("cancelled");
    // X2: report within the grace even if the handler does not stop.
    run.cancelTimer = setTimeout(() => this.#decide(run, this.#failure(run, "cancelled", run.cancelReason!, false)), this.#cancelGraceMs * CANCEL_GRACE_SHARE);
  }

  #flush(): void {
    const stream = this.#stream;
    if (!stream?.welcome) return;
    for (const e of this.#outbox.values()) {
      if (e.sent) continue;
      if (!stream.send({ case: "result", value: e.result })) return;
      e.sent = true;
    }
  }

  #closeIfGoneAway(stream: Stream): void {
    if (stream.goingAway && this.#runs.size === 0 && [...this.#outbox.values()].every((e) => e.refused)) stream.requests.close();
  }

  /** Waits until `test` holds or `ms` pass. */
  async #until(test: () => boolean, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!test() && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(50, deadline - Date.now()));
        this.#changed = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** G2: Drain, let running tasks finish, report them, close. */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.#stream?.send({ case: "drain", value: {} });
    for (const run of this.#queued.splice(0)) this.#shutdown(run);
    await this.#until(() => this.#runs.size === 0, graceMs);
    for (const run of [...this.#runs.values()]) this.#shutdown(run);
    await this.#until(() => [...this.#outbox.values()].every((e) => e.refused), 1000);
    this.#finished = true;
    this.#wake.abort();
    const stream = this.#stream;
    stream?.requests.close();
    const ended = await Promise.race([this.#loop?.then(() => true), sleep(2000).then(() => false)]);
    if (!ended) stream?.abort.abort();
    await this.#loop;
    this.#sessions.abort();
  }

  #shutdown(run: Run): void {
    if (run.done) return;
    run.shutdown = true;
    run.abort.abort("shutdown");
    this.#decide(run, this.#failure(run, "worker_shutdown", "the worker stopped first", false));
  }
}

/** Serves the adapter protocol on `input`/`output` until `input` ends, then stops its workers. */
export async function runBrokenWorker(input: Readable, output: Writable, flags: BrokenFlags): Promise<void> {
  const workers: { worker: MiniWorker; graceMs: number }[] = [];
  for await (const req of sizeDelimitedDecodeStream(AdapterRequestSchema, input as AsyncIterable<Uint8Array>)) {
    const emit: Emit = (event) => {
      if (!output.writableEnded) output.write(sizeDelimitedEncode(AdapterEventSchema, create(AdapterEventSchema, { caseName: req.caseName, event })));
    };
    const worker = new MiniWorker(req, flags, emit);
    worker.start();
    workers.push({ worker, graceMs: req.worker?.stopGraceMs ?? 2000 });
  }
  await Promise.all(workers.map(({ worker, graceMs }) => worker.stop(graceMs)));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await runBrokenWorker(process.stdin, process.stdout, parseFlags(process.argv.slice(2)));
  process.exit(0);
}
