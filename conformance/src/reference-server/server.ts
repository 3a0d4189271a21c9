/**
 * The reference server: a scripted peer that speaks Baton's worker protocol
 * (WorkerService.Connect and Listen, and the unary TaskService calls a Listen
 * worker makes) without any of Baton's storage. It answers on its own as
 * ServerSettings describes, does what a case's steps ask (assign, cancel,
 * revoke, GoAway, drop, refuse, answer results differently), and records every
 * message in both directions in the case's Trace.
 *
 * One instance serves one case, on its own port.
 */
import { randomUUID } from "node:crypto";
import { create, type DescMessage, type JsonObject } from "@bufbuild/protobuf";
import { durationFromMs, durationMs, timestampFromMs, type Duration } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ErrorDetailSchema, ErrorReason } from "../../../gen/ts/baton/v1/contract_pb.js";
import { TaskSchema, TaskState, type Task } from "../../../gen/ts/baton/v1/task_pb.js";
import {
  CompleteTaskResponseSchema,
  FailTaskResponseSchema,
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  TaskService,
  type CompleteTaskRequest,
  type FailTaskRequest,
  type HeartbeatRequest,
} from "../../../gen/ts/baton/v1/task_service_pb.js";
import {
  AckSchema,
  CancelSchema,
  CreditSchema,
  DrainSchema,
  ExtendLeaseSchema,
  GoAwaySchema,
  HelloSchema,
  LeaseRefSchema,
  ResultSchema,
  WelcomeSchema,
  WorkerHeartbeatSchema,
  AssignSchema,
  type Hello,
  type LeaseRef,
  type Result,
} from "../../../gen/ts/baton/v1/worker_pb.js";
import {
  ConnectRequestSchema,
  ConnectResponseSchema,
  ListenResponseSchema,
  WorkerService,
  type ConnectRequest,
  type ConnectResponse,
  type ListenRequest,
  type ListenResponse,
} from "../../../gen/ts/baton/v1/worker_service_pb.js";
import { Channel } from "../lib/channel.js";
import type { Trace } from "../trace.js";
import { listen, type Listening } from "./http.js";

export interface ServerConfig {
  heartbeatIntervalMs: number;
  cancelGraceMs: number;
  features: string[];
  leaseTtlMs: number;
  welcomeDelayMs: number;
}

export const SERVER_DEFAULTS: ServerConfig = {
  heartbeatIntervalMs: 400,
  cancelGraceMs: 1000,
  features: ["extend_lease", "resume"],
  leaseTtlMs: 3000,
  welcomeDelayMs: 0,
};

const SERVER_VERSION = "conformance-reference/0.1.0";
const DEFAULT_QUEUE = "conformance";
const MAX_EXTEND_MS = 3_600_000;

interface Lease {
  leaseId: string;
  attempt: number;
  /** False once revoked, refused, cancelled as lost, or its result accepted. */
  current: boolean;
  /** performance-clock ms (Trace.now()) after which it is no longer current. */
  expireAt: number;
  /** The stream that holds it (assigned or resumed on). */
  session: number;
  startedAt: number;
}

interface AnswerPolicy {
  lose: boolean;
  delayMs: number;
  reject: string;
  times: number;
}

interface TaskRecord {
  name: string;
  type: string;
  payload: JsonObject;
  leases: Lease[];
  cancelRequested: boolean;
  state: TaskState;
  /** The lease whose Result was accepted, for resends (R3). */
  acceptedLeaseId: string | undefined;
  answers: AnswerPolicy[];
}

type ServerMessage = NonNullable<ConnectResponse["message"]["case"]>;

/** One Connect or Listen stream. */
class Session {
  readonly out = new Channel<ConnectResponse>();
  hello: Hello | undefined;
  welcomed = false;
  drained = false;
  goingAway = false;
  ended = false;
  slots = 0;
  endTimer: ReturnType<typeof setTimeout> | undefined;
  /** Results whose delayed Ack is still to come. */
  pendingAcks = 0;

  constructor(
    readonly n: number,
    readonly transport: "connect" | "listen",
  ) {}
}

export class ReferenceServer {
  readonly #trace: Trace;
  readonly #config: ServerConfig;
  readonly #tasks = new Map<string, TaskRecord>();
  readonly #sessions: Session[] = [];
  #http: Listening | undefined;
  #streams = 0;
  #refuseLeft = 0;
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #closed = false;

  constructor(trace: Trace, config: ServerConfig) {
    this.#trace = trace;
    this.#config = { ...config, features: [...config.features] };
  }

  get url(): string {
    if (!this.#http) throw new Error("reference server not started");
    return this.#http.url;
  }

  /** Each task's lease ids in Assign order. */
  leaseBook(): Map<string, string[]> {
    return new Map([...this.#tasks].map(([name, t]) => [name, t.leases.map((l) => l.leaseId)]));
  }

  async start(): Promise<void> {
    const routes = (router: ConnectRouter) => {
      router.service(WorkerService, {
        connect: (requests, ctx) => this.#connect(requests, ctx),
        listen: (req, ctx) => this.#listen(req, ctx),
      });
      router.service(TaskService, {
        heartbeat: (req) => this.#unaryHeartbeat(req),
        completeTask: async (req) => create(CompleteTaskResponseSchema, { task: await this.#unaryResult(req, "completed") }),
        failTask: async (req) => create(FailTaskResponseSchema, { task: await this.#unaryResult(req, "failed") }),
      });
    };
    this.#http = await listen(connectNodeAdapter({ routes }));
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const s of this.#sessions) this.#endSession(s, "server shut down at the end of the case");
    await this.#http?.close();
  }

  // ---- script actions -------------------------------------------------------------

  /** The newest live, welcomed stream. */
  currentSession(opts: { allowDrained?: boolean } = {}): Session | undefined {
    for (let i = this.#sessions.length - 1; i >= 0; i--) {
      const s = this.#sessions[i]!;
      if (!s.ended && s.welcomed && (opts.allowDrained || !s.drained)) return s;
    }
    return undefined;
  }

  /** True when any worker ever connected. */
  get everConnected(): boolean {
    return this.#streams > 0;
  }

  assign(session: Session, names: string[], type: string, payload: JsonObject): void {
    for (const name of names) {
      let task = this.#tasks.get(name);
      if (!task) {
        task = { name, type, payload, leases: [], cancelRequested: false, state: TaskState.PENDING, acceptedLeaseId: undefined, answers: [] };
        this.#tasks.set(name, task);
      }
      for (const l of task.leases) l.current = false;
      task.type = type;
      task.payload = payload;
      task.state = TaskState.CLAIMED;
      task.cancelRequested = false;
      task.acceptedLeaseId = undefined;
      const attempt = task.leases.length + 1;
      const now = this.#trace.now();
      const lease: Lease = {
        leaseId: `${name}.lease${attempt}.${randomUUID().slice(0, 8)}`,
        attempt,
        current: true,
        expireAt: now + this.#config.leaseTtlMs,
        session: session.n,
        startedAt: now,
      };
      task.leases.push(lease);
      this.#send(session, "assign", { task: this.#taskMessage(task, lease, session) });
    }
  }

  cancel(name: string, leaseLost: boolean, reason: string): boolean {
    const task = this.#tasks.get(name);
    const lease = task?.leases.at(-1);
    if (!task || !lease) return false;
    const session = this.#sessions.find((s) => s.n === lease.session && !s.ended) ?? this.currentSession({ allowDrained: true });
    if (leaseLost) lease.current = false;
    else task.cancelRequested = true;
    if (!session) {
      this.#trace.note(`Cancel for ${name} not sent: no live stream`);
      return true;
    }
    this.#send(session, "cancel", { taskId: name, leaseId: lease.leaseId, reason, leaseLost });
    return true;
  }

  revoke(name: string): boolean {
    const lease = this.#tasks.get(name)?.leases.at(-1);
    if (!lease) return false;
    lease.current = false;
    this.#trace.note(`lease ${lease.leaseId} of ${name} revoked (no longer current)`);
    return true;
  }

  goAway(session: Session, reconnectAfterMs: number, reason: string, endAfterMs: number): void {
    session.goingAway = true;
    this.#send(session, "goAway", { reason, reconnectAfter: durationFromMs(reconnectAfterMs) });
    session.endTimer = this.#later(endAfterMs, () => this.#endSession(session, `server ended the stream ${endAfterMs}ms after GoAway`));
    this.#maybeEndAfterGoAway(session);
  }

  drop(session: Session, asError: boolean): void {
    if (asError) {
      this.#endSession(session, "server dropped the stream (UNAVAILABLE)", new ConnectError("dropped by the conformance suite", Code.Unavailable));
    } else {
      this.#recordEnd(session, "server reset the connection");
      this.#http?.resetAll();
    }
  }

  refuse(n: number): void {
    this.#refuseLeft += n;
  }

  answer(name: string, policy: AnswerPolicy): void {
    let task = this.#tasks.get(name);
    if (!task) {
      task = { name, type: "", payload: {}, leases: [], cancelRequested: false, state: TaskState.PENDING, acceptedLeaseId: undefined, answers: [] };
      this.#tasks.set(name, task);
    }
    task.answers.push(policy);
  }

  setWelcomeDelay(ms: number): void {
    this.#config.welcomeDelayMs = ms;
  }

  // ---- WorkerService.Connect --------------------------------------------------------

  async *#connect(requests: AsyncIterable<ConnectRequest>, ctx: HandlerContext): AsyncIterable<ConnectResponse> {
    const session = this.#openSession("connect");
    if (this.#refuse(session)) throw new ConnectError("the conformance suite refuses connections for now", Code.Unavailable);
    ctx.signal.addEventListener("abort", () => this.#endSession(session, "the stream was aborted (worker gone or connection reset)"));
    void this.#readLoop(session, requests);
    yield* session.out;
  }

  async #readLoop(session: Session, requests: AsyncIterable<ConnectRequest>): Promise<void> {
    try {
      for await (const req of requests) {
        if (session.ended) break;
        this.#onWorkerMessage(session, req);
      }
      if (!session.ended) {
        this.#trace.add({ kind: "worker_closed", session: session.n });
        // Like Baton: once the worker ends its side, the server ends the stream.
        this.#endSession(session, "worker closed its side; server ended the stream");
      }
    } catch (err) {
      this.#endSession(session, `worker's side broke: ${ConnectError.from(err).message}`);
    }
  }

  #onWorkerMessage(session: Session, req: ConnectRequest): void {
    const m = req.message;
    switch (m.case) {
      case "hello":
        this.#trace.add({ kind: "hello", session: session.n, leases: refs(m.value.resumeLeases), message: { desc: HelloSchema, value: m.value } });
        if (session.hello) return; // a second Hello: recorded for the checks, otherwise ignored
        this.#onHello(session, m.value);
        return;
      case "heartbeat":
        this.#trace.add({ kind: "heartbeat", session: session.n, leases: refs(m.value.leases), message: { desc: WorkerHeartbeatSchema, value: m.value } });
        if (!session.welcomed) return;
        for (const ref of m.value.leases) this.#renew(session, ref);
        return;
      case "result":
        this.#recordResult(session, m.value);
        if (!session.welcomed) return;
        this.#onResult(session, m.value);
        return;
      case "extendLease": {
        const v = m.value;
        this.#trace.add({
          kind: "extend_lease",
          session: session.n,
          taskId: v.taskId,
          leaseId: v.leaseId,
          extendByMs: v.extendBy ? durationMs(v.extendBy) : 0,
          message: { desc: ExtendLeaseSchema, value: v },
        });
        if (!session.welcomed) return;
        this.#onExtend(session, v.taskId, v.leaseId, v.extendBy);
        return;
      }
      case "drain":
        this.#trace.add({ kind: "drain", session: session.n, message: { desc: DrainSchema, value: m.value } });
        session.drained = true;
        return;
      case "credit":
        this.#trace.add({ kind: "credit", session: session.n, message: { desc: CreditSchema, value: m.value } });
        session.slots += m.value.slots;
        return;
      default:
        this.#trace.note("empty ConnectRequest", session.n);
    }
  }

  #onHello(session: Session, hello: Hello): void {
    session.hello = hello;
    session.slots = hello.slots;
    const welcome = () => {
      if (session.ended) return;
      const resumed: LeaseRef[] = [];
      const lost: LeaseRef[] = [];
      for (const ref of hello.resumeLeases) {
        const lease = this.#currentLease(ref.taskId, ref.leaseId);
        // A lease whose result was accepted is not current, but its resend is
        // still answered (R3): neither resumed nor reported lost would confuse
        // nobody, yet Baton keeps it, so keep it too.
        const accepted = this.#tasks.get(ref.taskId)?.acceptedLeaseId === ref.leaseId;
        if (lease) {
          lease.session = session.n;
          lease.expireAt = this.#trace.now() + this.#config.leaseTtlMs;
          resumed.push(create(LeaseRefSchema, ref));
        } else if (accepted) {
          resumed.push(create(LeaseRefSchema, ref));
        } else {
          lost.push(create(LeaseRefSchema, ref));
        }
      }
      session.welcomed = true;
      this.#send(session, "welcome", {
        sessionId: `conformance-session-${session.n}`,
        heartbeatInterval: durationFromMs(this.#config.heartbeatIntervalMs),
        cancelGrace: durationFromMs(this.#config.cancelGraceMs),
        serverVersion: SERVER_VERSION,
        features: this.#config.features,
        resumed,
        lost,
        replicaId: "conformance-reference",
      });
    };
    if (this.#config.welcomeDelayMs > 0) this.#later(this.#config.welcomeDelayMs, welcome);
    else welcome();
  }

  #renew(session: Session, ref: LeaseRef): void {
    const lease = this.#currentLease(ref.taskId, ref.leaseId);
    if (lease) {
      lease.expireAt = this.#trace.now() + this.#config.leaseTtlMs;
      return;
    }
    // B2: a listed lease that is not current is answered with Cancel{lease_lost}.
    this.#send(session, "cancel", { taskId: ref.taskId, leaseId: ref.leaseId, reason: "lease is not current", leaseLost: true });
  }

  #recordResult(session: Session, r: Result): void {
    this.#trace.add({
      kind: "result",
      session: session.n,
      taskId: r.taskId,
      leaseId: r.leaseId,
      completed: r.outcome.case === "completed",
      message: { desc: ResultSchema, value: r },
    });
  }

  /** Applies the task's answer policy, then answers the Result. */
  #onResult(session: Session, r: Result): void {
    const task = this.#tasks.get(r.taskId);
    const policy = task?.answers[0];
    if (task && policy) {
      if (--policy.times <= 0) task.answers.shift();
      if (policy.lose) {
        this.#trace.note(`Ack for ${r.taskId} withheld (lost, as the case asks)`, session.n);
        return;
      }
      if (policy.reject) {
        const lease = task.leases.find((l) => l.leaseId === r.leaseId);
        if (lease) lease.current = false;
        this.#ack(session, r, false, task.state, policy.reject, `refused by the conformance suite: ${policy.reject}`);
        this.#maybeEndAfterGoAway(session);
        return;
      }
      if (policy.delayMs > 0) {
        session.pendingAcks++;
        this.#later(policy.delayMs, () => {
          session.pendingAcks--;
          this.#answerResult(session, r);
        });
        return;
      }
    }
    this.#answerResult(session, r);
  }

  #answerResult(session: Session, r: Result): void {
    const outcome = this.#decide(r);
    this.#ack(session, r, outcome.accepted, outcome.state, outcome.reason, outcome.message);
    this.#maybeEndAfterGoAway(session);
  }

  /** What Baton would do with a Result (R2, R3, L1, X2). */
  #decide(r: Result): { accepted: boolean; state: TaskState; reason: string; message: string } {
    const task = this.#tasks.get(r.taskId);
    if (!task) return { accepted: false, state: TaskState.UNSPECIFIED, reason: ErrorReason[ErrorReason.TASK_NOT_FOUND], message: `no task ${r.taskId}` };
    if (task.acceptedLeaseId === r.leaseId) return { accepted: true, state: task.state, reason: "", message: "" };
    const lease = this.#currentLease(r.taskId, r.leaseId);
    if (!lease) return { accepted: false, state: task.state, reason: ErrorReason[ErrorReason.LEASE_STALE], message: "the lease is not current" };
    if (task.cancelRequested && r.outcome.case === "completed") {
      return { accepted: false, state: task.state, reason: ErrorReason[ErrorReason.CANCEL_REQUESTED], message: "the task was cancelled: report the cancellation failure" };
    }
    lease.current = false;
    task.acceptedLeaseId = r.leaseId;
    if (r.outcome.case === "completed") task.state = TaskState.COMPLETED;
    else if (task.cancelRequested) task.state = TaskState.CANCELLED;
    else if (r.outcome.case === "failed" && r.outcome.value.error?.nonRetryable) task.state = TaskState.DEAD_LETTER;
    else task.state = TaskState.PENDING;
    return { accepted: true, state: task.state, reason: "", message: "" };
  }

  #ack(session: Session, r: Result, accepted: boolean, state: TaskState, reason: string, message: string): void {
    this.#send(session, "ack", {
      taskId: r.taskId,
      leaseId: r.leaseId,
      accepted,
      taskState: state,
      error: accepted ? undefined : create(ErrorDetailSchema, { reason, message }),
    });
  }

  #onExtend(session: Session, taskId: string, leaseId: string, extendBy: Duration | undefined): void {
    const lease = this.#currentLease(taskId, leaseId);
    if (!lease) {
      this.#send(session, "cancel", { taskId, leaseId, reason: "lease is not current", leaseLost: true });
      return;
    }
    const ms = Math.min(MAX_EXTEND_MS, Math.max(0, extendBy ? durationMs(extendBy) : 0));
    const now = this.#trace.now();
    lease.expireAt = now + ms;
    this.#send(session, "ack", {
      taskId,
      leaseId,
      accepted: true,
      taskState: TaskState.CLAIMED,
      leaseExpireTime: timestampFromMs(Date.now() + ms),
    });
  }

  #currentLease(taskId: string, leaseId: string): Lease | undefined {
    const lease = this.#tasks.get(taskId)?.leases.find((l) => l.leaseId === leaseId);
    if (!lease?.current) return undefined;
    if (lease.expireAt < this.#trace.now()) {
      lease.current = false;
      this.#trace.note(`lease ${leaseId} of ${taskId} expired (no renewal for ${this.#config.leaseTtlMs}ms)`);
      return undefined;
    }
    return lease;
  }

  /** G1 as Baton does it: after GoAway the stream ends once the session holds nothing. */
  #maybeEndAfterGoAway(session: Session): void {
    if (!session.goingAway || session.ended || session.pendingAcks > 0) return;
    const holds = [...this.#tasks.values()].some((t) => t.leases.some((l) => l.session === session.n && l.current));
    if (!holds) queueMicrotask(() => this.#endSession(session, "server ended the stream after GoAway: the session holds no lease"));
  }

  // ---- WorkerService.Listen and the unary calls (F1) ----------------------------------

  async *#listen(req: ListenRequest, ctx: HandlerContext): AsyncIterable<ListenResponse> {
    const session = this.#openSession("listen");
    if (this.#refuse(session)) throw new ConnectError("the conformance suite refuses connections for now", Code.Unavailable);
    ctx.signal.addEventListener("abort", () => this.#endSession(session, "the stream was aborted (worker gone or connection reset)"));
    if (req.hello) this.#onWorkerMessage(session, create(ConnectRequestSchema, { message: { case: "hello", value: req.hello } }));
    else this.#endSession(session, "Listen without a Hello", new ConnectError("hello: required", Code.InvalidArgument));
    for await (const m of session.out) {
      const c = m.message;
      if (c.case === "ack" || c.case === undefined) continue; // Listen carries no Acks
      yield create(ListenResponseSchema, { message: c as never });
    }
  }

  /** The newest live Listen stream: unary calls are recorded on it. */
  #listenSession(): Session | undefined {
    return [...this.#sessions].reverse().find((s) => s.transport === "listen" && !s.ended && s.welcomed);
  }

  #unaryHeartbeat(req: HeartbeatRequest) {
    const session = this.#listenSession();
    const ref = create(LeaseRefSchema, { taskId: req.taskId, leaseId: req.leaseId });
    this.#trace.add({
      kind: "heartbeat",
      session: session?.n ?? 0,
      leases: [{ taskId: req.taskId, leaseId: req.leaseId }],
      message: { desc: HeartbeatRequestSchema, value: req },
      text: "(TaskService.Heartbeat)",
    });
    const lease = this.#currentLease(ref.taskId, ref.leaseId);
    if (!lease) {
      // F1: LEASE_STALE is what Cancel{lease_lost} is on a stream (B2); record it as one.
      const cancel = create(CancelSchema, { taskId: req.taskId, leaseId: req.leaseId, reason: "lease is not current", leaseLost: true });
      this.#trace.add({ kind: "cancel", session: session?.n ?? 0, taskId: req.taskId, leaseId: req.leaseId, message: { desc: CancelSchema, value: cancel }, text: "(unary LEASE_STALE)" });
      throw staleError();
    }
    lease.expireAt = this.#trace.now() + this.#config.leaseTtlMs;
    const task = this.#tasks.get(req.taskId)!;
    return create(HeartbeatResponseSchema, { leaseExpireTime: timestampFromMs(Date.now() + this.#config.leaseTtlMs), cancelRequested: task.cancelRequested });
  }

  async #unaryResult(req: CompleteTaskRequest | FailTaskRequest, kind: "completed" | "failed"): Promise<Task> {
    const session = this.#listenSession();
    const r = create(ResultSchema, {
      taskId: req.taskId,
      leaseId: req.leaseId,
      outcome:
        kind === "completed" ? { case: "completed", value: (req as CompleteTaskRequest).result ?? {} }
        : { case: "failed", value: { error: (req as FailTaskRequest).error, retryAfter: (req as FailTaskRequest).retryAfter } },
    });
    this.#trace.add({
      kind: "result",
      session: session?.n ?? 0,
      taskId: r.taskId,
      leaseId: r.leaseId,
      completed: kind === "completed",
      // Recorded as the Result it stands for, so the checks read both transports alike.
      message: { desc: ResultSchema, value: r },
      text: kind === "completed" ? "(TaskService.CompleteTask)" : "(TaskService.FailTask)",
    });
    const task = this.#tasks.get(r.taskId);
    const policy = task?.answers[0];
    let lose = false;
    if (task && policy) {
      if (--policy.times <= 0) task.answers.shift();
      if (policy.reject) {
        const lease = task.leases.find((l) => l.leaseId === r.leaseId);
        if (lease) lease.current = false;
        this.#unaryAnswer(session, r, false, task.state, policy.reject);
        throw new ConnectError(`refused by the conformance suite: ${policy.reject}`, Code.FailedPrecondition, undefined, [
          { desc: ErrorDetailSchema, value: { reason: policy.reject, message: "refused by the conformance suite" } },
        ]);
      }
      if (policy.delayMs > 0) await new Promise((resolve) => this.#later(policy.delayMs, () => resolve(undefined)));
      lose = policy.lose;
    }
    const outcome = this.#decide(r);
    if (lose) {
      this.#trace.note(`the answer to ${r.taskId}'s result withheld (lost, as the case asks)`, session?.n ?? 0);
      throw new ConnectError("the answer was lost (the conformance suite withholds it)", Code.Unavailable);
    }
    this.#unaryAnswer(session, r, outcome.accepted, outcome.state, outcome.reason);
    if (!outcome.accepted) {
      throw new ConnectError(outcome.message, outcome.reason === ErrorReason[ErrorReason.TASK_NOT_FOUND] ? Code.NotFound : Code.FailedPrecondition, undefined, [
        { desc: ErrorDetailSchema, value: { reason: outcome.reason, message: outcome.message } },
      ]);
    }
    return create(TaskSchema, { id: r.taskId, state: outcome.state });
  }

  /** Records a unary call's answer as the Ack it stands for, so cases read the same on both transports. */
  #unaryAnswer(session: Session | undefined, r: Result, accepted: boolean, state: TaskState, reason: string): void {
    const ack = create(AckSchema, { taskId: r.taskId, leaseId: r.leaseId, accepted, taskState: state, error: accepted ? undefined : { reason } });
    this.#trace.add({ kind: "ack", session: session?.n ?? 0, taskId: r.taskId, leaseId: r.leaseId, message: { desc: AckSchema, value: ack }, text: "(unary answer)" });
  }

  // ---- streams --------------------------------------------------------------------------

  #openSession(transport: "connect" | "listen"): Session {
    const session = new Session(++this.#streams, transport);
    this.#sessions.push(session);
    this.#trace.add({ kind: "stream_open", session: session.n, text: transport === "listen" ? "(WorkerService.Listen)" : undefined });
    return session;
  }

  #refuse(session: Session): boolean {
    if (this.#refuseLeft <= 0 && !this.#closed) return false;
    this.#refuseLeft = Math.max(0, this.#refuseLeft - 1);
    session.ended = true;
    this.#trace.add({ kind: "stream_end", session: session.n, text: "refused with UNAVAILABLE" });
    return true;
  }

  #recordEnd(session: Session, why: string): void {
    if (session.ended) return;
    session.ended = true;
    if (session.endTimer) clearTimeout(session.endTimer);
    this.#trace.add({ kind: "stream_end", session: session.n, text: why });
  }

  #endSession(session: Session, why: string, err?: ConnectError): void {
    this.#recordEnd(session, why);
    if (err) session.out.fail(err);
    else session.out.close();
  }

  #send(session: Session, kind: ServerMessage, value: object): void {
    if (session.ended) {
      this.#trace.note(`${kind} not sent: stream ${session.n} has ended`, session.n);
      return;
    }
    const msg = create(ConnectResponseSchema, { message: { case: kind, value } as never });
    const sent = msg.message.value!;
    const entryKind = ({ welcome: "welcome", assign: "assign", cancel: "cancel", ack: "ack", goAway: "go_away" } as const)[kind];
    const about = sent as { taskId?: string; leaseId?: string; task?: Task };
    this.#trace.add({
      kind: entryKind,
      session: session.n,
      taskId: about.taskId ?? about.task?.id,
      leaseId: about.leaseId ?? about.task?.lease?.leaseId,
      message: { desc: MESSAGE_SCHEMAS[kind], value: sent },
    });
    session.out.push(msg);
  }

  #taskMessage(task: TaskRecord, lease: Lease, session: Session): Task {
    const nowWall = Date.now();
    return create(TaskSchema, {
      id: task.name,
      namespace: session.hello?.namespace || "default",
      queue: session.hello?.queues[0] ?? DEFAULT_QUEUE,
      type: task.type,
      payload: task.payload,
      state: TaskState.CLAIMED,
      attempt: lease.attempt,
      maxAttempts: 3,
      timeouts: { heartbeatTimeout: durationFromMs(this.#config.leaseTtlMs), startToCloseTimeout: durationFromMs(3_600_000) },
      lease: {
        leaseId: lease.leaseId,
        attempt: lease.attempt,
        workerId: session.hello?.workerId ?? "",
        expireTime: timestampFromMs(nowWall + this.#config.leaseTtlMs),
        startTime: timestampFromMs(nowWall),
      },
      createTime: timestampFromMs(nowWall),
      updateTime: timestampFromMs(nowWall),
    });
  }

  #later(ms: number, fn: () => void): ReturnType<typeof setTimeout> {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (!this.#closed) fn();
    }, ms);
    this.#timers.add(t);
    return t;
  }
}

const MESSAGE_SCHEMAS: Record<ServerMessage, DescMessage> = {
  welcome: WelcomeSchema,
  assign: AssignSchema,
  cancel: CancelSchema,
  ack: AckSchema,
  goAway: GoAwaySchema,
};

function refs(list: LeaseRef[]) {
  return list.map((l) => ({ taskId: l.taskId, leaseId: l.leaseId }));
}

function staleError(): ConnectError {
  return new ConnectError("the lease is not current", Code.FailedPrecondition, undefined, [
    { desc: ErrorDetailSchema, value: { reason: ErrorReason[ErrorReason.LEASE_STALE], message: "the lease is not current" } },
  ]);
}

export type { Session };
