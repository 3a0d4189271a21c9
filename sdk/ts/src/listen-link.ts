import { create } from "@bufbuild/protobuf";
import { Code, type Client as RpcClient } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../../gen/ts/baton/v1/contract_pb.js";
import { AckSchema, CancelSchema, type Hello, type LeaseRef, type Result } from "../../../gen/ts/baton/v1/worker_pb.js";
import type { WorkerService } from "../../../gen/ts/baton/v1/worker_service_pb.js";
import type { TaskService } from "../../../gen/ts/baton/v1/task_service_pb.js";
import { Backoff } from "./backoff.js";
import { BatonError, ErrorReason } from "./errors.js";
import type { ServerMessage, WorkerLink } from "./link.js";
import type { Logger } from "./logger.js";
import { AsyncQueue } from "./queue.js";
import { sleep } from "./timers.js";

const leaseKey = (taskId: string, leaseId: string) => `${taskId}\u0000${leaseId}`;

/** Answers that mean the worker no longer holds the lease (L4): stop, and never retry the call. */
const LEASE_GONE = new Set([ErrorReason.LEASE_STALE, ErrorReason.TASK_NOT_FOUND]);

/**
 * The fallback session (F1): WorkerService.Listen brings Welcome, Assign,
 * Cancel and GoAway over a server stream that HTTP/1.1 can carry, and
 * heartbeats and results go as unary TaskService calls. Their answers are
 * turned into the Ack and Cancel messages a Connect stream would carry.
 */
export class ListenLink implements WorkerLink {
  readonly kind = "listen";
  readonly #workers: RpcClient<typeof WorkerService>;
  readonly #tasks: RpcClient<typeof TaskService>;
  readonly #log: Logger;
  readonly #inbox = new AsyncQueue<ServerMessage>();
  /** Ends the Listen stream only. */
  readonly #listen = new AbortController();
  /** Ends everything, unary calls included. */
  readonly #all = new AbortController();
  #draining = false;
  /** Leases reported lost (B2): a result of one of them is not sent again. */
  readonly #lost = new Set<string>();

  constructor(workers: RpcClient<typeof WorkerService>, tasks: RpcClient<typeof TaskService>, log: Logger) {
    this.#workers = workers;
    this.#tasks = tasks;
    this.#log = log;
  }

  open(hello: Hello): AsyncIterable<ServerMessage> {
    void this.#pump(hello);
    return this.#inbox;
  }

  async #pump(hello: Hello): Promise<void> {
    const signal = AbortSignal.any([this.#listen.signal, this.#all.signal]);
    try {
      for await (const res of this.#workers.listen({ hello }, { signal })) {
        if (res.message.case === "cancel" && res.message.value.leaseLost) this.#lost.add(leaseKey(res.message.value.taskId, res.message.value.leaseId));
        if (res.message.case !== undefined) this.#inbox.push(res.message);
      }
      // After a Drain the unary side carries on; otherwise the stream's end ends the session.
      if (!this.#draining) this.#inbox.close();
    } catch (err) {
      if (this.#draining && this.#listen.signal.aborted && !this.#all.signal.aborted) return;
      this.#inbox.fail(err);
    }
  }

  /** B1 through TaskService.Heartbeat, one call per lease; W2 and L4 answers become Cancels. */
  async heartbeat(leases: LeaseRef[]): Promise<boolean> {
    if (this.#inbox.closed) return false;
    await Promise.all(leases.map((l) => this.#heartbeatOne(l.taskId, l.leaseId)));
    return true;
  }

  async #heartbeatOne(taskId: string, leaseId: string): Promise<void> {
    try {
      const res = await this.#tasks.heartbeat({ taskId, leaseId }, { signal: this.#all.signal });
      if (res.cancelRequested) {
        this.#inbox.push({ case: "cancel", value: create(CancelSchema, { taskId, leaseId, reason: "cancellation requested", leaseLost: false }) });
      }
    } catch (err) {
      const e = BatonError.from(err);
      if (LEASE_GONE.has(e.reasonCode)) {
        this.#lost.add(leaseKey(taskId, leaseId));
        this.#inbox.push({ case: "cancel", value: create(CancelSchema, { taskId, leaseId, reason: e.rawMessage, leaseLost: true }) });
      } else if (!this.#all.signal.aborted) {
        // The next beat tries again; the lease outlives a missed beat or two.
        this.#log.warn({ err: e, taskId }, "heartbeat failed");
      }
    }
  }

  result(result: Result): boolean {
    if (this.#inbox.closed) return false;
    void this.#deliver(result);
    return true;
  }

  /**
   * CompleteTask / FailTask, retried while this link lives: both are safe to
   * repeat (W3). A refusal becomes Ack{accepted: false} (R4). If the link dies
   * first, the outbox sends the result again on the next one (R3).
   */
  async #deliver(result: Result): Promise<void> {
    const { taskId, leaseId } = result;
    const backoff = new Backoff();
    const signal = this.#all.signal;
    while (!signal.aborted) {
      // B2: once the lease is reported lost, its result is not sent again (the worker dropped it).
      if (this.#lost.has(leaseKey(taskId, leaseId))) return;
      try {
        const res =
          result.outcome.case === "completed"
            ? await this.#tasks.completeTask({ taskId, leaseId, result: result.outcome.value }, { signal })
            : await this.#tasks.failTask(
                { taskId, leaseId, error: result.outcome.value?.error, retryAfter: result.outcome.value?.retryAfter },
                { signal },
              );
        this.#inbox.push({
          case: "ack",
          value: create(AckSchema, { taskId, leaseId, accepted: true, taskState: res.task?.state, contract: res.contract }),
        });
        return;
      } catch (err) {
        if (signal.aborted) return;
        const e = BatonError.from(err);
        if (!e.retryable && e.code !== Code.Unavailable) {
          const detail = e.cause.findDetails(ErrorDetailSchema)[0] ?? create(ErrorDetailSchema, { reason: e.reason, message: e.rawMessage });
          this.#inbox.push({ case: "ack", value: create(AckSchema, { taskId, leaseId, accepted: false, error: detail, contract: detail.contract }) });
          return;
        }
        const delayMs = Math.max(backoff.nextDelayMs(), e.retryAfterMs ?? 0);
        this.#log.warn({ err: e, taskId, delayMs }, "sending result failed; retrying");
        await sleep(delayMs, signal);
      }
    }
  }

  /**
   * Listen has no ExtendLease: TaskService.Heartbeat renews the lease by the
   * task's heartbeat_timeout instead, whatever `extendByMs` asked for.
   */
  extendLease(taskId: string, leaseId: string, _extendByMs: number): boolean {
    if (this.#inbox.closed) return false;
    void (async () => {
      try {
        const res = await this.#tasks.heartbeat({ taskId, leaseId }, { signal: this.#all.signal });
        this.#inbox.push({
          case: "ack",
          value: create(AckSchema, {
            taskId,
            leaseId,
            accepted: true,
            leaseExpireTime: res.leaseExpireTime,
          }),
        });
      } catch (err) {
        const e = BatonError.from(err);
        if (LEASE_GONE.has(e.reasonCode)) {
          this.#inbox.push({ case: "cancel", value: create(CancelSchema, { taskId, leaseId, reason: e.rawMessage, leaseLost: true }) });
        } else {
          const detail = create(ErrorDetailSchema, { reason: e.reason, message: e.rawMessage });
          this.#inbox.push({ case: "ack", value: create(AckSchema, { taskId, leaseId, accepted: false, error: detail }) });
        }
      }
    })();
    return true;
  }

  /** Listen has no Drain message: ending the Listen stream is what stops Assigns. */
  drain(): void {
    this.#draining = true;
    this.#listen.abort();
  }

  close(): void {
    this.#listen.abort();
    this.#all.abort();
    this.#inbox.close();
  }

  abort(): void {
    this.close();
  }
}
