import { randomUUID } from "node:crypto";
import { create, type JsonObject } from "@bufbuild/protobuf";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { Code, createClient, type Transport } from "@connectrpc/connect";
import type { ErrorDetail } from "../../../gen/ts/baton/v1/contract_pb.js";
import type { Task, TaskError, TaskState } from "../../../gen/ts/baton/v1/task_pb.js";
import { TaskService } from "../../../gen/ts/baton/v1/task_service_pb.js";
import { HelloSchema, LeaseRefSchema, type Ack, type Cancel, type GoAway, type LeaseRef, type Welcome } from "../../../gen/ts/baton/v1/worker_pb.js";
import { WorkerService } from "../../../gen/ts/baton/v1/worker_service_pb.js";
import { Backoff, type BackoffOptions } from "./backoff.js";
import { ConnectLink } from "./connect-link.js";
import { BatonError, ErrorReason, NonRetryableError, reasonName } from "./errors.js";
import { Emitter } from "./events.js";
import type { WorkerLink } from "./link.js";
import { ListenLink } from "./listen-link.js";
import { consoleLogger, type Logger } from "./logger.js";
import { completedResult, failedResult, failureResult } from "./outcome.js";
import { Outbox, type OutboxEntry } from "./outbox.js";
import { DEFAULT_WELCOME_TIMEOUT_MS, Session, type SessionHost } from "./session.js";
import { installSignalHandlers, type SignalOptions } from "./signals.js";
import { TaskRun, type Handler, type TaskContext } from "./task-run.js";
import { sleep, within } from "./timers.js";
import { openTransport, type OwnedTransport } from "./transport.js";
import { SDK_NAME } from "./version.js";

/** How the worker talks to Baton. */
export type WorkerTransport =
  /** WorkerService.Connect: one bidirectional HTTP/2 stream (the default). */
  | "connect-h2"
  /** WorkerService.Listen plus unary TaskService calls, for HTTP/1.1-only paths (F1). */
  | "listen";

export interface WorkerOptions {
  /**
   * The server's URL, or several replicas' URLs: after a lost stream the worker
   * reconnects to the next one, so a dead replica only costs one reconnect.
   */
  baseUrl: string | string[];
  /** The queues to take tasks from (1..16). */
  queues: string[];
  /** The worker's name; many instances may share it (H2). */
  workerId: string;
  /** This process's id, the same across reconnects (H2). Default: a random UUID. */
  instanceId?: string;
  /** How many tasks run at once (1..1000). */
  slots: number;
  namespace?: string;
  labels?: Record<string, string>;
  transport?: WorkerTransport;
  logger?: Logger;
  /** Drain on SIGTERM/SIGINT once `run()` starts (see `installSignalHandlers`). */
  handleSignals?: boolean | SignalOptions;
  /** Reconnect delays (N1); the defaults follow the protocol's bounds. */
  reconnect?: BackoffOptions;
  /** How long to wait for Welcome after Hello before trying again. */
  welcomeTimeoutMs?: number;
  /** A ready Connect transport instead of one built from `baseUrl` (e.g. createRouterTransport in tests). */
  rpcTransport?: Transport;
}

export interface StopOptions {
  /** How long running tasks may take to finish before they are aborted. Default 30s. */
  graceMs?: number;
  /** How long to wait for the server to acknowledge the last results. Default 10s. */
  flushTimeoutMs?: number;
}

export interface WorkerEvents {
  connected: { sessionId: string; replicaId: string; serverVersion: string; resumed: LeaseRef[]; lost: LeaseRef[] };
  disconnected: { error: BatonError | undefined; goAway: GoAway | undefined; reconnectInMs: number | undefined };
  assigned: { task: Task };
  /** The server accepted the task's result. */
  completed: { task: Task; result: JsonObject; taskState: TaskState };
  /** The server accepted a failure of the attempt; `taskState` tells whether it will be retried. */
  failed: { task: Task; error: TaskError; taskState: TaskState };
  /** The server refused a result (R4); it is not sent again. */
  rejected: { task: Task; error: ErrorDetail | undefined };
  /** A handler was told to stop: cancelled by a caller, or its lease is gone. */
  cancelled: { task: Task; reason: string; leaseLost: boolean };
  goAway: { reason: string; reconnectAfterMs: number };
}

/** Codes that a reconnect cannot fix: the Hello or the deployment is wrong. */
const FATAL_CODES = new Set<Code>([Code.InvalidArgument, Code.Unimplemented, Code.Unauthenticated, Code.PermissionDenied]);
/** A Cancel's failure must reach the server within cancel_grace (X2): leave half of it for the trip. */
const CANCEL_GRACE_SHARE = 0.5;
const DEFAULT_CANCEL_GRACE_MS = 5_000;
/** How long a closed session may take to end before it is cut. */
const CLOSE_TIMEOUT_MS = 2_000;

/**
 * The worker runtime: holds a session with Baton, runs handlers for assigned
 * tasks within its slots, heartbeats their leases, and reports results,
 * across reconnects, until `stop()`.
 */
export class Worker {
  readonly instanceId: string;
  readonly #opts: WorkerOptions;
  readonly #log: Logger;
  readonly #events: Emitter<WorkerEvents>;
  readonly #handlers = new Map<string, Handler>();
  /** Attempts held whose outcome is not decided yet, by task id. */
  readonly #active = new Map<string, TaskRun>();
  /** Assigned beyond the slot count: they wait here so no more than `slots` run (K3). */
  readonly #queued: TaskRun[] = [];
  readonly #outbox = new Outbox();
  #executing = 0;
  #session: Session | undefined;
  #transport: OwnedTransport | undefined;
  #runPromise: Promise<void> | undefined;
  #stopPromise: Promise<void> | undefined;
  /** Set once stop() began: Drain is sent on every session from now on. */
  #draining = false;
  /** Set when the grace period ran out: new Assigns fail at once. */
  #aborting = false;
  /** Set when everything is flushed: the run loop ends. */
  #finished = false;
  readonly #wake = new AbortController();
  #cancelGraceMs = DEFAULT_CANCEL_GRACE_MS;
  #cutGrace: (() => void) | undefined;
  #idleWaiters: Array<() => void> = [];
  #uninstallSignals: (() => void) | undefined;

  constructor(opts: WorkerOptions) {
    if (opts.queues.length === 0) throw new Error("Worker needs at least one queue");
    if (!Number.isInteger(opts.slots) || opts.slots < 1) throw new Error("Worker slots must be a positive integer");
    this.#opts = opts;
    this.instanceId = opts.instanceId ?? randomUUID();
    this.#log = opts.logger ?? consoleLogger;
    this.#events = new Emitter(this.#log);
  }

  /** Handlers currently executing. */
  get runningCount(): number {
    return this.#executing;
  }

  /** Connected and welcomed. */
  get connected(): boolean {
    return this.#session?.ready ?? false;
  }

  /** Registers the handler of a task type. Types are announced in Hello, so register before `run()`. */
  handle(type: string, handler: Handler): this {
    if (this.#runPromise) throw new Error("register handlers before run(): Hello announces the task types");
    this.#handlers.set(type, handler);
    return this;
  }

  on<K extends keyof WorkerEvents>(event: K, listener: (e: WorkerEvents[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /** The next matching event; rejects after `timeoutMs`. */
  once<K extends keyof WorkerEvents>(event: K, predicate?: (e: WorkerEvents[K]) => boolean, timeoutMs?: number): Promise<WorkerEvents[K]> {
    return this.#events.once(event, predicate, timeoutMs);
  }

  /**
   * Runs until `stop()` has finished; rejects only for errors a reconnect
   * cannot fix (a refused Hello, a server without WorkerService).
   */
  run(): Promise<void> {
    if (this.#handlers.size === 0) return Promise.reject(new Error("register at least one handler before run()"));
    if (!this.#runPromise) {
      if (this.#opts.handleSignals) {
        this.#uninstallSignals = this.installSignalHandlers(this.#opts.handleSignals === true ? {} : this.#opts.handleSignals);
      }
      this.#runPromise = this.#loop().finally(() => {
        this.#uninstallSignals?.();
        this.#transport?.close();
      });
    }
    return this.#runPromise;
  }

  /**
   * Graceful stop: Drain (no new work), let running tasks finish for up to
   * `graceMs`, abort the rest (reported as retryable `worker_shutdown`
   * failures), wait for the last Acks, close. Safe to call more than once; a
   * later call with a shorter grace cuts the wait short.
   */
  stop(opts: StopOptions = {}): Promise<void> {
    const graceMs = opts.graceMs ?? 30_000;
    if (this.#stopPromise) {
      if (graceMs === 0) this.#cutGrace?.();
      return this.#stopPromise;
    }
    this.#stopPromise = this.#stop(graceMs, opts.flushTimeoutMs ?? 10_000);
    return this.#stopPromise;
  }

  /**
   * SIGTERM/SIGINT drain the worker; a second signal aborts running tasks at
   * once. Returns a function that removes the handlers.
   */
  installSignalHandlers(opts: SignalOptions = {}): () => void {
    return installSignalHandlers((graceMs) => void this.stop({ graceMs }), opts, this.#log);
  }

  async #stop(graceMs: number, flushTimeoutMs: number): Promise<void> {
    if (!this.#runPromise) {
      this.#finished = true;
      return;
    }
    this.#draining = true;
    this.#session?.drain();
    for (const run of this.#queued.splice(0)) this.#shutdownRun(run);
    const cut = new Promise<void>((resolve) => (this.#cutGrace = resolve));
    await Promise.race([within(this.#whenIdle(), graceMs, undefined), cut]);
    this.#aborting = true;
    for (const run of [...this.#active.values()]) this.#shutdownRun(run);
    const flushed = await within(this.#outbox.whenEmpty().then(() => true), flushTimeoutMs, false);
    if (!flushed) this.#log.warn({ unacknowledged: this.#outbox.size }, "stopping with results the server has not acknowledged; their leases will expire and the tasks retry");
    this.#finished = true;
    this.#wake.abort();
    const session = this.#session;
    session?.close();
    const ended = await within(this.#runPromise.then(() => true, () => true), CLOSE_TIMEOUT_MS, false);
    if (!ended) session?.abort();
    await this.#runPromise.catch(() => {});
  }

  #openTransport(baseUrl: string): OwnedTransport {
    return openTransport({
      baseUrl,
      transport: this.#opts.rpcTransport ?? "connect",
      httpVersion: this.#opts.transport === "listen" ? "1.1" : "2",
      // A long stream with little traffic must notice a peer that vanished without a FIN.
      http2: { pingIntervalMs: 15_000, pingTimeoutMs: 10_000 },
    });
  }

  async #loop(): Promise<void> {
    const urls = Array.isArray(this.#opts.baseUrl) ? this.#opts.baseUrl : [this.#opts.baseUrl];
    if (urls.length === 0) throw new Error("Worker needs at least one baseUrl");
    let urlIndex = 0;
    this.#transport = this.#openTransport(urls[0]!);
    const backoff = new Backoff(this.#opts.reconnect);
    while (!this.#finished) {
      const session = new Session(this.#newLink(this.#transport.transport), this.#outbox, this.#host(), this.#log);
      this.#session = session;
      if (this.#draining) session.drain();
      const end = await session.run(this.#hello(), this.#opts.welcomeTimeoutMs ?? DEFAULT_WELCOME_TIMEOUT_MS);
      this.#session = undefined;
      if (end.welcomed) backoff.reset();
      if (this.#finished) {
        this.#events.emit("disconnected", { error: end.error, goAway: end.goAway, reconnectInMs: undefined });
        break;
      }
      if (end.error && FATAL_CODES.has(end.error.code)) {
        this.#events.emit("disconnected", { error: end.error, goAway: end.goAway, reconnectInMs: undefined });
        this.#log.error({ err: end.error }, "Baton refused the worker session; not reconnecting");
        this.#finished = true;
        this.#aborting = true;
        for (const run of [...this.#active.values()]) this.#dropRun(run, "shutdown", "the worker session was refused");
        throw end.error;
      }
      const goAwayMs = end.goAway?.reconnectAfter ? durationMs(end.goAway.reconnectAfter) : 0;
      // G1 says when; without a time, back off like any lost stream so a fleet does not spin.
      const delayMs = goAwayMs > 0 ? goAwayMs : backoff.nextDelayMs();
      this.#events.emit("disconnected", { error: end.error, goAway: end.goAway, reconnectInMs: delayMs });
      if (end.error) this.#log.warn({ err: end.error, delayMs }, "worker stream lost; reconnecting");
      await sleep(delayMs, this.#wake.signal);
      if (urls.length > 1) {
        // Move on to the next replica: the one that dropped us may be gone for good.
        urlIndex = (urlIndex + 1) % urls.length;
        this.#transport.close();
        this.#transport = this.#openTransport(urls[urlIndex]!);
      }
    }
  }

  #newLink(transport: Transport): WorkerLink {
    if (this.#opts.transport === "listen") {
      return new ListenLink(createClient(WorkerService, transport), createClient(TaskService, transport), this.#log);
    }
    return new ConnectLink(createClient(WorkerService, transport));
  }

  #hello() {
    return create(HelloSchema, {
      namespace: this.#opts.namespace ?? "",
      queues: this.#opts.queues,
      taskTypes: [...this.#handlers.keys()],
      workerId: this.#opts.workerId,
      instanceId: this.instanceId,
      labels: this.#opts.labels ?? {},
      slots: this.#opts.slots,
      // N2: unacknowledged results too, so their leases stay alive until the resend.
      resumeLeases: this.#resumeLeases(),
      sdk: SDK_NAME,
    });
  }

  #runningLeases(): LeaseRef[] {
    return [...this.#active.values()].map((r) => create(LeaseRefSchema, { taskId: r.task.id, leaseId: r.leaseId }));
  }

  #resumeLeases(): LeaseRef[] {
    const leases = this.#runningLeases();
    const seen = new Set(leases.map((l) => l.taskId));
    for (const e of this.#outbox.entries()) {
      if (!seen.has(e.result.taskId)) leases.push(create(LeaseRefSchema, { taskId: e.result.taskId, leaseId: e.result.leaseId }));
    }
    return leases;
  }

  #host(): SessionHost {
    return {
      runningLeases: () => this.#runningLeases(),
      onWelcome: (w) => this.#onWelcome(w),
      onAssign: (t) => this.#onAssign(t),
      onCancel: (c) => this.#onCancel(c),
      onResultAck: (e, a) => this.#onResultAck(e, a),
      onGoAway: (g) => {
        const reconnectAfterMs = g.reconnectAfter ? durationMs(g.reconnectAfter) : 0;
        this.#log.info({ reason: g.reason, reconnectAfterMs }, "server is going away");
        this.#events.emit("goAway", { reason: g.reason, reconnectAfterMs });
      },
      idle: () => this.#active.size === 0 && this.#outbox.size === 0,
    };
  }

  #onWelcome(welcome: Welcome): void {
    if (welcome.cancelGrace) this.#cancelGraceMs = durationMs(welcome.cancelGrace) || DEFAULT_CANCEL_GRACE_MS;
    // N2: these handlers work on leases that are gone; their results would be refused.
    for (const lost of welcome.lost) {
      const run = this.#active.get(lost.taskId);
      if (run && run.leaseId === lost.leaseId) this.#dropRun(run, "lease_lost", "the lease was lost while disconnected");
    }
    this.#log.info({ sessionId: welcome.sessionId, resumed: welcome.resumed.length, lost: welcome.lost.length }, "connected to Baton");
    this.#events.emit("connected", {
      sessionId: welcome.sessionId,
      replicaId: welcome.replicaId,
      serverVersion: welcome.serverVersion,
      resumed: welcome.resumed,
      lost: welcome.lost,
    });
  }

  #onAssign(task: Task): void {
    if (!task.lease?.leaseId) {
      this.#log.warn({ taskId: task.id }, "Assign without a lease; ignored");
      return;
    }
    const existing = this.#active.get(task.id);
    if (existing?.leaseId === task.lease.leaseId) return;
    // A newer lease on the same task means ours is gone.
    if (existing) this.#dropRun(existing, "lease_lost", "the task was assigned again under a new lease");
    const run = new TaskRun(task);
    this.#active.set(task.id, run);
    this.#events.emit("assigned", { task });
    if (this.#aborting) return this.#shutdownRun(run);
    if (this.#session?.goingAway) {
      // G1: no new work after GoAway; give it straight back for another worker.
      return this.#decide(run, failureResult(task.id, run.leaseId, { type: "worker_going_away", message: "the worker's session is going away" }));
    }
    if (this.#executing < this.#opts.slots) this.#start(run);
    else {
      this.#log.warn({ taskId: task.id, slots: this.#opts.slots }, "assigned beyond the slot count (K1); queued locally");
      this.#queued.push(run);
    }
  }

  #start(run: TaskRun): void {
    run.started = true;
    this.#executing++;
    const handler = this.#handlers.get(run.task.type);
    const ctx = this.#context(run);
    const outcome = handler
      ? Promise.resolve().then(() => handler(run.task, ctx))
      : Promise.reject(new NonRetryableError(`this worker has no handler for task type "${run.task.type}"`, { type: "unknown_task_type" }));
    void outcome
      .then(
        (value) => this.#decide(run, completedResult(run.task.id, run.leaseId, value)),
        (err: unknown) => this.#decide(run, failedResult(run.task.id, run.leaseId, err)),
      )
      .finally(() => {
        run.settled = true;
        this.#executing--;
        const next = this.#queued.shift();
        if (next) this.#start(next);
      });
  }

  #context(run: TaskRun): TaskContext {
    return {
      task: run.task,
      attempt: run.attempt,
      signal: run.controller.signal,
      heartbeat: async () => {
        await this.#session?.heartbeatNow();
      },
      extendLease: (ms: number) => {
        const session = this.#session;
        if (!session) return Promise.reject(BatonError.of(Code.Unavailable, ErrorReason.UNAVAILABLE, "not connected to Baton; try again"));
        return session.extendLease(run.task.id, run.leaseId, ms);
      },
    };
  }

  /**
   * Fixes the attempt's one outcome and queues it for the server. A Cancel or
   * a shutdown overrides what the handler produced: after X2 the server takes
   * only the `cancelled` failure, and after shutdown nobody waits for the rest.
   */
  #decide(run: TaskRun, proposed: ReturnType<typeof failedResult>): void {
    if (run.done) return;
    const { id } = run.task;
    const result =
      run.cancelReason !== undefined ? failureResult(id, run.leaseId, { type: "cancelled", message: run.cancelReason || "cancelled" })
      : run.shutdown ? failureResult(id, run.leaseId, { type: "worker_shutdown", message: "the worker stopped before the task finished" })
      : proposed;
    this.#markDone(run);
    this.#outbox.put(result, run.task);
    this.#session?.flush();
  }

  /** The lease is gone (B2, N2) or the worker gives up: stop the handler and send nothing. */
  #dropRun(run: TaskRun, why: "lease_lost" | "shutdown", message: string): void {
    if (run.done) return;
    this.#markDone(run);
    run.abort(why, message);
    this.#session?.closeIfIdleAfterGoAway();
  }

  /** Shutdown: abort the handler and report a retryable failure so another worker takes the task soon. */
  #shutdownRun(run: TaskRun): void {
    if (run.done) return;
    run.shutdown = true;
    run.abort("shutdown", "the worker is shutting down");
    this.#decide(run, failedResult(run.task.id, run.leaseId, undefined));
  }

  #markDone(run: TaskRun): void {
    run.done = true;
    clearTimeout(run.cancelTimer);
    if (this.#active.get(run.task.id) === run) this.#active.delete(run.task.id);
    const q = this.#queued.indexOf(run);
    if (q >= 0) this.#queued.splice(q, 1);
    if (this.#active.size === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  #whenIdle(): Promise<void> {
    if (this.#active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #onCancel(cancel: Cancel): void {
    const run = this.#active.get(cancel.taskId);
    if (!run || run.leaseId !== cancel.leaseId) {
      // B2 for a result still waiting for its Ack: it must not be sent again.
      if (cancel.leaseLost) {
        const entry = this.#outbox.drop(cancel.taskId, cancel.leaseId);
        if (entry) this.#events.emit("cancelled", { task: entry.task, reason: cancel.reason, leaseLost: true });
      }
      return;
    }
    if (cancel.leaseLost) {
      this.#log.info({ taskId: cancel.taskId, reason: cancel.reason }, "lease lost; handler stopped");
      this.#events.emit("cancelled", { task: run.task, reason: cancel.reason, leaseLost: true });
      this.#dropRun(run, "lease_lost", cancel.reason || "the lease was lost");
      return;
    }
    // Listen mode repeats the cancel on every heartbeat until the failure lands.
    if (run.cancelReason !== undefined) return;
    run.cancelReason = cancel.reason || "cancelled";
    this.#events.emit("cancelled", { task: run.task, reason: run.cancelReason, leaseLost: false });
    if (!run.started) return this.#decide(run, failedResult(run.task.id, run.leaseId, undefined));
    run.abort("cancelled", run.cancelReason);
    // X2: a handler that ignores its signal does not hold the failure back past the grace.
    run.cancelTimer = setTimeout(() => this.#decide(run, failedResult(run.task.id, run.leaseId, undefined)), this.#cancelGraceMs * CANCEL_GRACE_SHARE);
  }

  #onResultAck(entry: OutboxEntry, ack: Ack): void {
    const { task, result } = entry;
    if (!ack.accepted) {
      this.#log.warn({ taskId: task.id, reason: ack.error?.reason, message: ack.error?.message }, "result refused by the server");
      this.#events.emit("rejected", { task, error: ack.error });
      // The handler finished just as the task was cancelled: the server now waits for
      // the cancellation failure (X2) instead, a different Result, so R4 allows it.
      if (ack.error?.reason === reasonName(ErrorReason.CANCEL_REQUESTED) && result.outcome.case === "completed") {
        this.#outbox.put(failureResult(task.id, result.leaseId, { type: "cancelled", message: ack.error.message || "cancelled" }), task);
        this.#session?.flush();
      }
    } else if (result.outcome.case === "completed") {
      this.#events.emit("completed", { task, result: result.outcome.value, taskState: ack.taskState });
    } else if (result.outcome.case === "failed" && result.outcome.value.error) {
      this.#events.emit("failed", { task, error: result.outcome.value.error, taskState: ack.taskState });
    }
  }
}
