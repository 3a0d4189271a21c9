import { durationMs, timestampDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import type { Task } from "../../../gen/ts/baton/v1/task_pb.js";
import type { Ack, Cancel, GoAway, Hello, LeaseRef, Welcome } from "../../../gen/ts/baton/v1/worker_pb.js";
import { BatonError, ErrorReason, reasonName } from "./errors.js";
import { HeartbeatTimer } from "./heartbeat.js";
import type { ServerMessage, WorkerLink } from "./link.js";
import type { Logger } from "./logger.js";
import type { Outbox, OutboxEntry } from "./outbox.js";

/** What a session needs from the worker it serves. */
export interface SessionHost {
  /** The leases the worker still runs (B1). */
  runningLeases(): LeaseRef[];
  onWelcome(welcome: Welcome): void;
  onAssign(task: Task): void;
  onCancel(cancel: Cancel): void;
  onResultAck(entry: OutboxEntry, ack: Ack): void;
  onGoAway(goAway: GoAway): void;
  /** True when nothing this worker holds needs the stream any more. */
  idle(): boolean;
}

export interface SessionEnd {
  welcomed: boolean;
  goAway: GoAway | undefined;
  /** Why the stream broke; undefined when it ended cleanly. */
  error: BatonError | undefined;
}

interface Pending {
  resolve(deadline: Date): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export const DEFAULT_WELCOME_TIMEOUT_MS = 15_000;
const EXTEND_TIMEOUT_MS = 30_000;

function leaseKey(taskId: string, leaseId: string): string {
  return `${taskId}\u0000${leaseId}`;
}

function protocolError(message: string): BatonError {
  return BatonError.of(Code.Internal, ErrorReason.PROTOCOL_VIOLATION, `protocol error: ${message}`);
}

function notConnected(message = "not connected to Baton; try again"): BatonError {
  return BatonError.of(Code.Unavailable, ErrorReason.UNAVAILABLE, message);
}

/**
 * One worker session on one link, from Hello to the stream's end: waits for
 * Welcome before sending anything else (H1, H3), heartbeats on the Welcome's
 * interval (B1), resends unacknowledged results once Welcome arrives (R3),
 * routes Acks to results or lease extensions, and passes Assign, Cancel and
 * GoAway up to the worker. Reconnecting is the worker's job: a session is
 * used once.
 */
export class Session {
  readonly #link: WorkerLink;
  readonly #outbox: Outbox;
  readonly #host: SessionHost;
  readonly #log: Logger;
  readonly #heartbeat: HeartbeatTimer;
  readonly #extensions = new Map<string, Pending[]>();
  #welcome: Welcome | undefined;
  #goAway: GoAway | undefined;
  #ended = false;
  #draining = false;

  constructor(link: WorkerLink, outbox: Outbox, host: SessionHost, log: Logger) {
    this.#link = link;
    this.#outbox = outbox;
    this.#host = host;
    this.#log = log;
    this.#heartbeat = new HeartbeatTimer(
      () => this.#beat(),
      (err) => log.warn({ err }, "heartbeat failed"),
    );
  }

  get welcome(): Welcome | undefined {
    return this.#welcome;
  }

  /** Welcomed and not yet ended: messages other than Hello may be sent (H3). */
  get ready(): boolean {
    return this.#welcome !== undefined && !this.#ended;
  }

  get goingAway(): boolean {
    return this.#goAway !== undefined;
  }

  async run(hello: Hello, welcomeTimeoutMs = DEFAULT_WELCOME_TIMEOUT_MS): Promise<SessionEnd> {
    let timedOut = false;
    const welcomeTimer = setTimeout(() => {
      timedOut = true;
      this.#link.abort();
    }, welcomeTimeoutMs);
    let error: BatonError | undefined;
    try {
      for await (const message of this.#link.open(hello)) {
        if (!this.#welcome) {
          if (message.case !== "welcome") throw protocolError(`got ${message.case} before Welcome (H1)`);
          clearTimeout(welcomeTimer);
          this.#onWelcome(message.value);
          continue;
        }
        this.#dispatch(message);
      }
      if (timedOut) error = protocolError(`no Welcome within ${welcomeTimeoutMs}ms`);
    } catch (err) {
      error = timedOut ? protocolError(`no Welcome within ${welcomeTimeoutMs}ms`) : BatonError.from(err);
    } finally {
      clearTimeout(welcomeTimer);
      this.#end();
    }
    return { welcomed: this.#welcome !== undefined, goAway: this.#goAway, error };
  }

  /** Sends results not yet sent on this session (new ones, or all of them after Welcome: R3). */
  flush(): void {
    if (!this.ready) return;
    this.#outbox.flush((r) => this.#link.result(r));
  }

  /** An extra heartbeat now; a no-op while not connected (the next session resumes the leases). */
  heartbeatNow(): Promise<void> {
    if (!this.ready) return Promise.resolve();
    return this.#heartbeat.beatNow();
  }

  /** E1. Rejects with BatonError when the lease is lost, the extension refused, or the session ends first. */
  extendLease(taskId: string, leaseId: string, extendByMs: number): Promise<Date> {
    if (!this.ready) return Promise.reject(notConnected());
    if (this.#link.kind === "connect" && !this.#welcome!.features.includes("extend_lease")) {
      return Promise.reject(BatonError.of(Code.Unimplemented, ErrorReason.UNIMPLEMENTED, "this server does not support ExtendLease"));
    }
    return new Promise<Date>((resolve, reject) => {
      const key = leaseKey(taskId, leaseId);
      const pending: Pending = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#settleExtension(key, pending, BatonError.of(Code.DeadlineExceeded, ErrorReason.DEADLINE_EXCEEDED, "no answer to ExtendLease"));
        }, EXTEND_TIMEOUT_MS),
      };
      const list = this.#extensions.get(key) ?? [];
      list.push(pending);
      this.#extensions.set(key, list);
      if (!this.#link.extendLease(taskId, leaseId, extendByMs)) {
        this.#settleExtension(key, pending, notConnected());
      }
    });
  }

  /** G2: no more Assigns on this session; also sent right after a later Welcome. */
  drain(): void {
    this.#draining = true;
    if (this.ready) this.#link.drain();
  }

  /** Ends the stream from this side once the worker has nothing left on it. */
  close(): void {
    this.#link.close();
  }

  abort(): void {
    this.#link.abort();
  }

  /** After GoAway, a worker with nothing left running ends the stream itself rather than wait for the server (G1). */
  closeIfIdleAfterGoAway(): void {
    if (this.#goAway && this.#host.idle()) this.#link.close();
  }

  #onWelcome(welcome: Welcome): void {
    this.#welcome = welcome;
    const intervalMs = welcome.heartbeatInterval ? durationMs(welcome.heartbeatInterval) : 0;
    this.#heartbeat.start(intervalMs);
    this.#host.onWelcome(welcome);
    if (this.#draining) this.#link.drain();
    this.flush();
    // Resumed leases went unrenewed while disconnected: renew them now, not an interval from now.
    if (this.#host.runningLeases().length > 0) void this.#heartbeat.beatNow();
  }

  #dispatch(message: ServerMessage): void {
    switch (message.case) {
      case "assign":
        if (message.value.task) this.#host.onAssign(message.value.task);
        else this.#log.warn({}, "Assign without a task; ignored");
        return;
      case "cancel":
        this.#rejectExtensions(message.value.taskId, message.value.leaseId, message.value.leaseLost, message.value.reason);
        this.#host.onCancel(message.value);
        return;
      case "ack":
        this.#onAck(message.value);
        this.closeIfIdleAfterGoAway();
        return;
      case "goAway":
        this.#goAway = message.value;
        this.#host.onGoAway(message.value);
        this.closeIfIdleAfterGoAway();
        return;
      case "welcome":
        this.#log.warn({}, "a second Welcome on one session; ignored");
        return;
    }
  }

  /**
   * An Ack answers a Result or an ExtendLease of the same lease. Only an
   * extension's Ack carries a deadline, and an extension of a lease whose
   * result is already out can only be refused, so: deadline, or no result
   * waiting, means extension.
   */
  #onAck(ack: Ack): void {
    const key = leaseKey(ack.taskId, ack.leaseId);
    const pending = this.#extensions.get(key)?.[0];
    if (pending && (ack.leaseExpireTime !== undefined || !this.#outbox.has(ack.taskId, ack.leaseId))) {
      if (ack.accepted && ack.leaseExpireTime) this.#settleExtension(key, pending, timestampDate(ack.leaseExpireTime));
      else this.#settleExtension(key, pending, refusal(ack, "ExtendLease was refused"));
      return;
    }
    const entry = this.#outbox.ack(ack.taskId, ack.leaseId);
    if (entry) this.#host.onResultAck(entry, ack);
    else this.#log.debug({ taskId: ack.taskId }, "Ack for a result not waiting here; ignored");
  }

  #settleExtension(key: string, pending: Pending, outcome: Date | Error): void {
    const list = this.#extensions.get(key);
    const i = list?.indexOf(pending) ?? -1;
    if (i < 0) return;
    list!.splice(i, 1);
    if (list!.length === 0) this.#extensions.delete(key);
    clearTimeout(pending.timer);
    if (outcome instanceof Date) pending.resolve(outcome);
    else pending.reject(outcome);
  }

  #rejectExtensions(taskId: string, leaseId: string, leaseLost: boolean, reason: string): void {
    if (!leaseLost) return;
    const key = leaseKey(taskId, leaseId);
    for (const p of [...(this.#extensions.get(key) ?? [])]) {
      this.#settleExtension(key, p, BatonError.of(Code.FailedPrecondition, ErrorReason.LEASE_STALE, `lease lost: ${reason}`));
    }
  }

  async #beat(): Promise<void> {
    if (!this.ready) return;
    await this.#link.heartbeat(this.#host.runningLeases());
  }

  #end(): void {
    this.#ended = true;
    this.#heartbeat.stop();
    this.#outbox.connectionLost();
    for (const [key, list] of [...this.#extensions]) {
      for (const p of [...list]) this.#settleExtension(key, p, notConnected("the session ended before ExtendLease was answered"));
    }
    this.#link.abort();
  }
}

/** An Ack{accepted: false} as the BatonError a unary call would have thrown. */
function refusal(ack: Ack, fallback: string): BatonError {
  const code = ack.error?.reason === reasonName(ErrorReason.INVALID_FIELD) ? Code.InvalidArgument : Code.FailedPrecondition;
  return BatonError.of(code, ack.error?.reason || ErrorReason.RESULT_REFUSED, ack.error?.message || fallback, ack.error);
}
