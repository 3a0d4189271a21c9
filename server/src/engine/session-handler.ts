import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import { AckSchema, CancelSchema, type ExtendLease, type Result, type WorkerHeartbeat } from "../../../gen/ts/baton/v1/worker_pb.js";
import { ErrorDetailSchema, ErrorReason } from "../../../gen/ts/baton/v1/contract_pb.js";
import { reasonName } from "../core/error-reasons.js";
import { TaskState } from "../../../gen/ts/baton/v1/task_pb.js";
import { taskContract } from "../core/contract.js";
import { durationToMs } from "../core/duration.js";
import { limits } from "../core/defaults.js";
import { Violations } from "../core/validation.js";
import { internalError, invalidArgument } from "../core/errors.js";
import { taskAction } from "../core/contract.js";
import { taskExtendLease, taskHeartbeatMany } from "../store/task-leases.js";
import { workerTouchMany } from "../store/workers.js";
import { contractSubjectFromRow } from "../core/task-row.js";
import type { Dispatcher } from "./dispatcher.js";
import type { Engine } from "./engine.js";
import { complete, fail, rejection } from "./lease-calls.js";
import { isStorageUnavailable } from "../store/storage-errors.js";
import { storableMessage } from "../core/storable.js";
import { ResultSchema } from "../../../gen/ts/baton/v1/worker_pb.js";
import type { WorkerSession } from "./worker-session.js";

/** Reasons after which the worker no longer holds the lease (R4): its slot is free. */
const LEASE_GONE_REASONS = new Set([reasonName(ErrorReason.LEASE_STALE), reasonName(ErrorReason.TASK_NOT_FOUND)]);
const EXTEND_MAX_MS = 60 * 60_000;
/** How long a Result waits out a storage outage before the stream ends. */
const STORAGE_RETRY_MS = 30_000;

/**
 * Handles what a worker sends on its stream after Hello. A storage outage does
 * not end the session: a heartbeat that cannot reach Postgres is skipped (the
 * next one renews the leases), and a Result is retried in place until Postgres
 * answers (results are idempotent, W3/R3) for up to STORAGE_RETRY_MS; only then
 * does the stream end UNAVAILABLE, and the worker resends after reconnecting.
 */
export class SessionHandler {
  constructor(
    private readonly engine: Engine,
    private readonly dispatcher: Dispatcher,
    private readonly session: WorkerSession,
  ) {}

  credit(slots: number): void {
    const v = new Violations();
    v.intRange("credit.slots", slots, 1, 1000);
    if (!v.empty) throw invalidArgument(v.list, taskAction("getTask", "fix the Credit message; the stream was ended"));
    this.session.slots = Math.min(this.session.slots + slots, 1000);
    this.dispatcher.poke(this.session);
  }

  /** G2; the registry shows DRAINING at once, not at the next tick. */
  async drain(): Promise<void> {
    this.session.draining = true;
    await workerTouchMany(this.engine.sql, [
      { sessionId: this.session.id, slots: this.session.slots, used: this.session.held.size, draining: true },
    ]);
  }

  /** B1, B2, X1: renew the listed leases, report the lost ones, re-announce cancellations. */
  async heartbeat(hb: WorkerHeartbeat): Promise<void> {
    this.session.lastHeartbeatMs = Date.now();
    if (hb.leases.length === 0) return;
    const listed = hb.leases.slice(0, 1000).map((l) => ({ taskId: l.taskId, leaseId: l.leaseId }));
    let rows;
    try {
      rows = await taskHeartbeatMany(this.engine.sql, listed.filter(isWellFormed));
    } catch (err) {
      if (!isStorageUnavailable(err)) throw err;
      // Postgres is away: nothing is renewed or reported now; the next heartbeat tries again.
      this.engine.log.warn({ err, session: this.session.id }, "heartbeat skipped: storage unavailable");
      return;
    }
    const renewed = new Map(rows.map((r) => [r.task_id, r]));
    for (const lease of listed) {
      const r = renewed.get(lease.taskId);
      if (!r) {
        this.session.send({ case: "cancel", value: create(CancelSchema, { ...lease, reason: "lease lost (expired or reassigned)", leaseLost: true }) });
        this.dispatcher.release(this.session, lease.taskId);
      } else if (r.cancel_requested) {
        this.session.send({ case: "cancel", value: create(CancelSchema, { ...lease, reason: r.terminal_reason, leaseLost: false }) });
      }
    }
  }

  /** R1..R4: one Ack per Result. */
  async result(result: Result): Promise<void> {
    const { taskId, leaseId } = result;
    const v = new Violations();
    // S5: a value Postgres cannot store is refused here, before any SQL.
    v.list.push(...storableMessage(ResultSchema, result, "result"));
    v.taskId("result.task_id", taskId);
    v.leaseId("result.lease_id", leaseId);
    if (result.outcome.case === undefined) v.add("result.outcome", "is required: completed or failed");
    if (result.outcome.case === "completed") v.jsonObject("result.completed", result.outcome.value, limits.jsonMaxBytes, limits.jsonMaxDepth);
    if (result.outcome.case === "failed") {
      const e = result.outcome.value.error;
      if (!e || e.type === "") v.add("result.failed.error.type", "is required: a short machine-readable type");
      else v.maxChars("result.failed.error.type", e.type, limits.errorTypeMaxChars);
      v.duration("result.failed.retry_after", result.outcome.value.retryAfter, 0, limits.retryAfterMaxMs);
    }
    if (!v.empty) {
      this.ackRejected(taskId, leaseId, invalidArgument(v.list, taskAction("failTask", "resend the Result with the listed fields fixed")));
      return;
    }
    try {
      const row = await this.untilStorageAnswers(() =>
        result.outcome.case === "completed"
          ? complete(this.engine, taskId, leaseId, result.outcome.value)
          : fail(
              this.engine,
              taskId,
              leaseId,
              {
                type: result.outcome.value!.error!.type,
                message: result.outcome.value!.error!.message,
                nonRetryable: result.outcome.value!.error!.nonRetryable,
                details: result.outcome.value!.error!.details,
              },
              result.outcome.value!.retryAfter ? durationToMs(result.outcome.value!.retryAfter) : 0,
            ),
      );
      const subject = contractSubjectFromRow(row);
      // Ack before release: releasing the last lease after a GoAway ends the stream.
      this.session.send({
        case: "ack",
        value: create(AckSchema, { taskId, leaseId, accepted: true, taskState: subject.state, contract: taskContract(subject, "producer") }),
      });
      this.dispatcher.release(this.session, taskId);
    } catch (err) {
      if (err instanceof ConnectError && err.findDetails(ErrorDetailSchema).length > 0) {
        this.ackRejected(taskId, leaseId, err);
        return;
      }
      // A storage outage that outlasted the retries ends the stream UNAVAILABLE (S4).
      if (isStorageUnavailable(err)) throw err;
      // R6: any other failure is this Result's alone. It is refused by its Ack
      // (INTERNAL, logged) and the session goes on serving its other leases;
      // rethrowing would leave this Result unacked and end every lease's stream.
      this.engine.log.error({ err, procedure: "baton.v1.WorkerService/Connect", task: taskId }, "unexpected error applying a Result");
      this.ackRejected(taskId, leaseId, internalError());
    }
  }

  /** E1. */
  async extendLease(ext: ExtendLease): Promise<void> {
    const v = new Violations();
    v.taskId("extend_lease.task_id", ext.taskId);
    v.leaseId("extend_lease.lease_id", ext.leaseId);
    const extendMs = v.duration("extend_lease.extend_by", ext.extendBy, 1_000, EXTEND_MAX_MS);
    if (ext.extendBy === undefined) v.add("extend_lease.extend_by", "is required: 1s..1h");
    if (!v.empty || extendMs === undefined) {
      this.ackRejected(ext.taskId, ext.leaseId, invalidArgument(v.list, taskAction("heartbeat", "resend ExtendLease with the listed fields fixed")));
      return;
    }
    const until = await taskExtendLease(this.engine.sql, ext.taskId, ext.leaseId, extendMs);
    if (until) {
      this.session.send({
        case: "ack",
        value: create(AckSchema, { taskId: ext.taskId, leaseId: ext.leaseId, accepted: true, taskState: TaskState.CLAIMED, leaseExpireTime: timestampFromDate(until) }),
      });
      return;
    }
    const err = await rejection(this.engine.sql, ext.taskId, ext.leaseId);
    this.session.send({ case: "cancel", value: create(CancelSchema, { taskId: ext.taskId, leaseId: ext.leaseId, reason: err.rawMessage, leaseLost: true }) });
    this.dispatcher.release(this.session, ext.taskId);
  }

  /**
   * Runs `call` again while storage is unavailable (S4), up to STORAGE_RETRY_MS or
   * until the stream closes. Messages queue behind it, heartbeats included, so the
   * session counts as alive meanwhile (B3 must not end it for our outage).
   */
  private async untilStorageAnswers<T>(call: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + STORAGE_RETRY_MS;
    for (let delayMs = 100; ; delayMs = Math.min(delayMs * 2, 1_000)) {
      try {
        return await call();
      } catch (err) {
        if (!isStorageUnavailable(err) || Date.now() + delayMs > deadline || this.session.closed) throw err;
        this.session.lastHeartbeatMs = Date.now();
        await new Promise((r) => setTimeout(r, delayMs));
        this.session.lastHeartbeatMs = Date.now();
      }
    }
  }

  private ackRejected(taskId: string, leaseId: string, err: ConnectError): void {
    const detail = err.findDetails(ErrorDetailSchema)[0];
    this.session.send({
      case: "ack",
      value: create(AckSchema, { taskId, leaseId, accepted: false, error: detail, contract: detail?.contract }),
    });
    if (detail && LEASE_GONE_REASONS.has(detail.reason)) this.dispatcher.release(this.session, taskId);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
function isWellFormed(l: { taskId: string; leaseId: string }): boolean {
  return UUID.test(l.taskId) && UUID.test(l.leaseId);
}
