import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { CancelSchema, GoAwaySchema } from "../../../gen/ts/baton/v1/worker_pb.js";
import { subscribeLeaseSignals, type LeaseSignal } from "../bus/lease-signals.js";
import { queueReadySubject } from "../bus/subjects.js";
import { taskClaim, taskLeasesCurrent, taskReleaseUnstarted } from "../store/task-leases.js";
import { taskNextScheduledAt } from "../store/tasks.js";
import { workerTouchMany } from "../store/workers.js";
import { announce, type Engine } from "./engine.js";
import type { WorkerSession } from "./worker-session.js";
import type { TaskRow } from "../core/task-row.js";

/** Most tasks one claim statement takes for one session. */
const CLAIM_BATCH_MAX = 100;
/** A streaming session silent for longer than this many heartbeat intervals is served after the others. */
const QUIET_INTERVALS = 1.5;

interface QueueEntry {
  namespace: string;
  queue: string;
  sessions: Set<WorkerSession>;
  unsubscribe: () => void;
  pumping: boolean;
  again: boolean;
  dueTimer?: NodeJS.Timeout;
}

export interface DispatcherOptions {
  replicaId: string;
  heartbeatIntervalMs: number;
  /** How often every queue is re-checked without a wake-up (due retries, lost hints). */
  tickMs: number;
}

/**
 * Pushes work to the worker sessions of this replica. A queue is "pumped" when
 * a wake-up arrives for it (any replica created, retried or requeued a task
 * there), when one of its sessions gains free slots, and on every tick. A pump
 * claims from Postgres for the sessions with free slots, least recently served
 * first, and stops as soon as a claim comes back short: the queue is empty for
 * that task-type filter. Pumps of one queue never overlap on a replica; across
 * replicas SKIP LOCKED keeps claims disjoint.
 */
export class Dispatcher {
  private readonly queues = new Map<string, QueueEntry>();
  private readonly sessions = new Set<WorkerSession>();
  private readonly byTask = new Map<string, WorkerSession>();
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribeSignals: () => void;
  private ticking = false;

  constructor(
    private readonly engine: Engine,
    private readonly opts: DispatcherOptions,
  ) {
    this.unsubscribeSignals = subscribeLeaseSignals(engine.bus, (s) => this.deliver(s));
    this.timer = setInterval(() => void this.tick(), opts.tickMs);
    this.timer.unref();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  add(session: WorkerSession): void {
    this.sessions.add(session);
    for (const taskId of session.held.keys()) this.byTask.set(taskId, session);
    for (const queue of session.spec.queues) {
      const key = `${session.spec.namespace}\u0000${queue}`;
      let entry = this.queues.get(key);
      if (!entry) {
        const namespace = session.spec.namespace;
        entry = {
          namespace,
          queue,
          sessions: new Set(),
          pumping: false,
          again: false,
          unsubscribe: this.engine.bus.subscribe(queueReadySubject(namespace, queue), () => this.pump(key)),
        };
        this.queues.set(key, entry);
      }
      entry.sessions.add(session);
    }
    this.poke(session);
  }

  remove(session: WorkerSession): void {
    session.closed = true;
    this.sessions.delete(session);
    for (const taskId of session.held.keys()) {
      if (this.byTask.get(taskId) === session) this.byTask.delete(taskId);
    }
    for (const queue of session.spec.queues) {
      const key = `${session.spec.namespace}\u0000${queue}`;
      const entry = this.queues.get(key);
      if (!entry) continue;
      entry.sessions.delete(session);
      if (entry.sessions.size === 0) {
        clearTimeout(entry.dueTimer);
        entry.unsubscribe();
        this.queues.delete(key);
      }
    }
  }

  /** The session may have free slots now: pump its queues. */
  poke(session: WorkerSession): void {
    for (const queue of session.spec.queues) this.pump(`${session.spec.namespace}\u0000${queue}`);
  }

  /** A lease ended (result accepted or rejected, lease lost): its slot is free again (K2). */
  release(session: WorkerSession, taskId: string): void {
    if (!session.held.delete(taskId)) return;
    if (this.byTask.get(taskId) === session) this.byTask.delete(taskId);
    session.endIfIdle();
    this.poke(session);
  }

  /** A lease ended through a unary call on this replica (a Listen worker's result). */
  leaseEnded(taskId: string): void {
    const session = this.byTask.get(taskId);
    if (session) this.release(session, taskId);
  }

  /** Ends every session with a GoAway (G1): used on shutdown. */
  goAwayAll(reason: string, reconnectAfterMs: number): WorkerSession[] {
    const all = [...this.sessions];
    for (const s of all) s.goAway(create(GoAwaySchema, { reason, reconnectAfter: durationFromMs(reconnectAfterMs) }), false);
    return all;
  }

  close(): void {
    clearInterval(this.timer);
    this.unsubscribeSignals();
    for (const entry of this.queues.values()) {
      clearTimeout(entry.dueTimer);
      entry.unsubscribe();
    }
    this.queues.clear();
  }

  /** X1 / B2: a cancel or a lost lease for a task some session here may hold. */
  private deliver(signal: LeaseSignal): void {
    const session = this.byTask.get(signal.taskId);
    if (!session || session.held.get(signal.taskId) !== signal.leaseId) return;
    session.send({
      case: "cancel",
      value: create(CancelSchema, { taskId: signal.taskId, leaseId: signal.leaseId, reason: signal.reason, leaseLost: signal.leaseLost }),
    });
    if (signal.leaseLost) this.release(session, signal.taskId);
  }

  private pump(key: string): void {
    const entry = this.queues.get(key);
    if (!entry) return;
    if (entry.pumping) {
      entry.again = true;
      return;
    }
    entry.pumping = true;
    void this.runPump(entry).finally(() => {
      entry.pumping = false;
      // A poke that came after the loop's last check but before this point would
      // otherwise be lost until the next tick.
      if (entry.again) this.pump(key);
    });
  }

  private async runPump(entry: QueueEntry): Promise<void> {
    do {
      entry.again = false;
      // Sessions that heartbeat on time first, then least recently served. A
      // worker that went quiet (its lease just expired, say) is still served,
      // but only after the healthy ones: otherwise the task it dropped would go
      // straight back to it while a responsive session waits.
      const now = Date.now();
      const quiet = (s: WorkerSession) => (s.transport === "CONNECT" && now - s.lastHeartbeatMs > QUIET_INTERVALS * this.opts.heartbeatIntervalMs ? 1 : 0);
      const candidates = [...entry.sessions]
        .filter((s) => s.free > 0)
        .sort((a, b) => quiet(a) - quiet(b) || a.lastAssignedMs - b.lastAssignedMs);
      const exhausted = new Set<string>();
      let claimedAny = false;
      for (const session of candidates) {
        // An empty type filter sees every task: if that came back short, nobody can get more.
        if (exhausted.has(session.typesKey) || exhausted.has("")) continue;
        const want = Math.min(session.free, CLAIM_BATCH_MAX);
        if (want <= 0) continue;
        session.claiming += want;
        let rows;
        try {
          rows = await taskClaim(this.engine.sql, {
            namespace: entry.namespace,
            queue: entry.queue,
            types: session.spec.taskTypes,
            workerId: session.spec.workerId,
            limit: want,
          });
        } catch (err) {
          this.engine.log.warn({ err, queue: entry.queue }, "claim for worker sessions failed; retrying on the next tick");
          return;
        } finally {
          session.claiming -= want;
        }
        if (rows.length > 0) claimedAny = true;
        if (rows.length > 0) this.engine.metrics?.claimed(rows);
        if (session.closed || session.draining) {
          // Drained or gone while the claim ran (G2): hand the tasks back untouched.
          await this.releaseUnstarted(rows);
          continue;
        }
        const undelivered: TaskRow[] = [];
        for (const row of rows) {
          if (!session.send({ case: "assignRow", value: row })) {
            // The stream ended under us: a lease nobody will ever run must not wait out its expiry.
            undelivered.push(row);
            continue;
          }
          session.held.set(row.id, row.lease_id as string);
          this.byTask.set(row.id, session);
        }
        if (undelivered.length > 0) await this.releaseUnstarted(undelivered);
        session.lastAssignedMs = Date.now();
        if (rows.length < want) exhausted.add(session.typesKey);
      }
      if (claimedAny) announce(this.engine);
      if (exhausted.size > 0) await this.armDueTimer(entry);
    } while (entry.again);
  }

  /**
   * A queue that came back empty may hold tasks scheduled for later (a retry's
   * backoff, a delayed task). Pump again the moment the next one is due instead
   * of waiting for the tick; nothing else would announce it.
   */
  private async armDueTimer(entry: QueueEntry): Promise<void> {
    let next: Date | undefined;
    try {
      next = await taskNextScheduledAt(this.engine.sql, entry.namespace, entry.queue);
    } catch (err) {
      this.engine.log.warn({ err }, "due timer lookup failed; the tick covers it");
      return;
    }
    const delayMs = next ? next.getTime() - Date.now() : -1;
    if (delayMs <= 0 || delayMs > this.opts.tickMs) return;
    clearTimeout(entry.dueTimer);
    entry.dueTimer = setTimeout(() => this.pump(`${entry.namespace}\u0000${entry.queue}`), delayMs + 1);
    entry.dueTimer.unref();
  }

  private async releaseUnstarted(rows: TaskRow[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      await taskReleaseUnstarted(this.engine.sql, rows.map((r) => ({ taskId: r.id, leaseId: r.lease_id as string })));
      // The wake-up reaches other replicas' sessions and this one's pumps alike.
      announce(this.engine, rows);
    } catch (err) {
      // The leases then expire and the tasks retry (L3): slower, never lost.
      this.engine.log.warn({ err }, "could not release tasks claimed for a drained session");
    }
  }

  /** Every tick: re-pump all queues, reconcile Listen sessions' slots, publish liveness. */
  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      for (const key of this.queues.keys()) this.pump(key);
      const now = Date.now();
      const dead = 3 * this.opts.heartbeatIntervalMs;
      const live: WorkerSession[] = [];
      for (const s of this.sessions) {
        if (s.transport === "CONNECT" && now - s.lastHeartbeatMs > dead) {
          // B3: a stream that stopped heartbeating is a zombie; its leases expire on their own.
          s.goAway(create(GoAwaySchema, { reason: "no heartbeat for three intervals (B3)", reconnectAfter: durationFromMs(0) }), true);
          continue;
        }
        live.push(s);
      }
      await this.reconcileListenSessions();
      await workerTouchMany(
        this.engine.sql,
        live.map((s) => ({ sessionId: s.id, slots: s.slots, used: s.held.size, draining: s.draining })),
      );
    } catch (err) {
      this.engine.log.warn({ err }, "dispatcher tick failed");
    } finally {
      this.ticking = false;
    }
  }

  /** Listen workers report results through unary calls, possibly on other replicas: ask Postgres which leases remain. */
  private async reconcileListenSessions(): Promise<void> {
    for (const s of this.sessions) {
      if (s.transport !== "LISTEN" || s.held.size === 0) continue;
      const leases = [...s.held].map(([taskId, leaseId]) => ({ taskId, leaseId }));
      const current = new Set((await taskLeasesCurrent(this.engine.sql, leases)).map((l) => l.task_id));
      for (const { taskId } of leases) if (!current.has(taskId)) this.release(s, taskId);
    }
  }
}
