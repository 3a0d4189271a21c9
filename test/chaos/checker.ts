// The invariant checker of a chaos run. It reads Postgres' history
// (baton_tasks, baton_task_attempts, baton_task_events), the workers' execution
// logs and the resuming watcher's record, and lists every violation of:
//   1. every task reached a terminal state (here: COMPLETED; the workload never gives up);
//   2. exactly one completion accepted per task, by the lease whose handler produced the result;
//   3. every handler execution whose lease was lost had its result refused (or never sent);
//   4. attempt histories are consistent: attempts 1..n, at most one running, valid outcomes,
//      only the last may be COMPLETED, one lease per attempt;
//   5. a watcher that kept disconnecting and resuming saw every event exactly once, in order.
import type postgres from "postgres";
import { executionsOf, type Execution, type WorkerLog } from "./worker-log.js";
import type { WatchedEvent } from "./watcher.js";

const TERMINAL = new Set(["completed", "dead_letter", "cancelled"]);
const OUTCOMES = new Set(["running", "completed", "failed", "lease_expired", "timed_out", "cancelled"]);
const LEASE_LOST = new Set(["lease_expired", "timed_out"]);

export interface CheckInput {
  sql: postgres.Sql;
  queue: string;
  /** Ids the run created (workload and probes); each must be in the table exactly once. */
  createdIds: string[];
  logs: WorkerLog[];
  watched: WatchedEvent[];
  watchOutOfOrder: { cursor: bigint; after: bigint }[];
}

export interface CheckResult {
  violations: string[];
  stats: {
    tasks: number;
    byState: Record<string, number>;
    attempts: number;
    attemptOutcomes: Record<string, number>;
    executions: number;
    executionsByLang: Record<string, number>;
    /** Executions whose lease was lost before they ended (expired, or the task was reclaimed). */
    leaseLostExecutions: number;
    /** Results sent after the lease was lost and refused by the server, by reason. */
    staleResultsRejected: Record<string, number>;
    /** Executions that learned of the lost lease and sent nothing (B2, N2). */
    staleResultsDropped: number;
    /** Executions cut off by kill -9 (or still running at the end) with no answer recorded. */
    unfinishedExecutions: number;
    /** Results accepted more than once for the same lease (a resend after a lost Ack, R3/W3). */
    resentAccepted: number;
    /** Completed attempts whose Ack never reached the worker (it died or the stream broke first). */
    completedWithoutAck: number;
    events: number;
    watchedEvents: number;
  };
}

interface TaskRow {
  id: string;
  state: string;
  attempt: number;
  result: { lease?: string } | null;
}
interface AttemptRow {
  task_id: string;
  attempt: number;
  lease_id: string;
  outcome: string;
  worker_id: string;
  started_at: Date;
  ended_at: Date | null;
}
interface EventRow {
  cursor: string | null;
  type: string;
  task_id: string;
}

/** Caps each kind of violation so a systematic bug reports a sample, not 10,000 lines. */
class Violations {
  readonly list: string[] = [];
  readonly #counts = new Map<string, number>();
  add(kind: string, detail: string): void {
    const n = (this.#counts.get(kind) ?? 0) + 1;
    this.#counts.set(kind, n);
    if (n <= 5) this.list.push(`${kind}: ${detail}`);
  }
  finish(): string[] {
    for (const [kind, n] of this.#counts) if (n > 5) this.list.push(`${kind}: ... ${n} in all`);
    return this.list;
  }
}

const count = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);

export async function checkInvariants(input: CheckInput): Promise<CheckResult> {
  const { sql, queue } = input;
  const v = new Violations();
  const tasks = await sql<TaskRow[]>`SELECT id, state, attempt, result FROM baton_tasks WHERE queue = ${queue}`;
  const attempts = await sql<AttemptRow[]>`
    SELECT a.task_id, a.attempt, a.lease_id, a.outcome, a.worker_id, a.started_at, a.ended_at
    FROM baton_task_attempts a JOIN baton_tasks t ON t.id = a.task_id
    WHERE t.queue = ${queue} ORDER BY a.task_id, a.attempt`;
  const events = await sql<EventRow[]>`SELECT cursor, type, task_id FROM baton_task_events WHERE queue = ${queue} ORDER BY cursor NULLS LAST, id`;

  const stats: CheckResult["stats"] = {
    tasks: tasks.length,
    byState: {},
    attempts: attempts.length,
    attemptOutcomes: {},
    executions: 0,
    executionsByLang: {},
    leaseLostExecutions: 0,
    staleResultsRejected: {},
    staleResultsDropped: 0,
    unfinishedExecutions: 0,
    resentAccepted: 0,
    completedWithoutAck: 0,
    events: events.length,
    watchedEvents: input.watched.length,
  };

  // 1. Every task the run created is there once, and terminal.
  const byId = new Map(tasks.map((t) => [t.id, t]));
  for (const id of new Set(input.createdIds)) if (!byId.has(id)) v.add("task lost", `${id} was created but is not in baton_tasks`);
  if (tasks.length !== new Set(input.createdIds).size) {
    v.add("task count", `${tasks.length} tasks in the queue, ${new Set(input.createdIds).size} created (a retried create made a duplicate?)`);
  }
  for (const t of tasks) {
    count(stats.byState, t.state);
    if (!TERMINAL.has(t.state)) v.add("not terminal", `${t.id} is ${t.state} at attempt ${t.attempt}`);
    else if (t.state !== "completed") v.add("not completed", `${t.id} ended ${t.state} after ${t.attempt} attempts`);
  }

  // 2 and 4. Attempt histories.
  const attemptsOf = new Map<string, AttemptRow[]>();
  for (const a of attempts) {
    count(stats.attemptOutcomes, a.outcome);
    let list = attemptsOf.get(a.task_id);
    if (!list) attemptsOf.set(a.task_id, (list = []));
    list.push(a);
  }
  const attemptByLease = new Map<string, AttemptRow>();
  for (const t of tasks) {
    const list = attemptsOf.get(t.id) ?? [];
    list.forEach((a, i) => {
      if (a.attempt !== i + 1) v.add("attempt numbering", `${t.id}: attempt #${i + 1} is numbered ${a.attempt}`);
      if (!OUTCOMES.has(a.outcome)) v.add("attempt outcome", `${t.id} attempt ${a.attempt}: unknown outcome ${a.outcome}`);
      if (a.outcome !== "running" && !a.ended_at) v.add("attempt history", `${t.id} attempt ${a.attempt} is ${a.outcome} without ended_at`);
      if (a.ended_at && a.ended_at < a.started_at) v.add("attempt history", `${t.id} attempt ${a.attempt} ended before it started`);
      if (a.outcome === "completed" && i !== list.length - 1) v.add("attempt history", `${t.id}: attempt ${a.attempt} completed but is not the last`);
      if (attemptByLease.has(a.lease_id)) v.add("lease reused", `${t.id}: lease ${a.lease_id} names two attempts`);
      attemptByLease.set(a.lease_id, a);
    });
    if (list.length !== t.attempt) v.add("attempt count", `${t.id}: attempt = ${t.attempt} but ${list.length} attempt rows`);
    const running = list.filter((a) => a.outcome === "running");
    if (running.length > 1) v.add("attempt history", `${t.id}: ${running.length} attempts running`);
    if (TERMINAL.has(t.state) && running.length > 0) v.add("attempt history", `${t.id} is ${t.state} with an attempt still running`);
    const completed = list.filter((a) => a.outcome === "completed");
    if (t.state === "completed" && completed.length !== 1) v.add("completions", `${t.id} has ${completed.length} completed attempts`);
    if (t.state !== "completed" && completed.length > 0) v.add("completions", `${t.id} is ${t.state} but has a completed attempt`);
    if (t.state === "completed" && completed.length === 1 && t.result?.lease !== completed[0]!.lease_id) {
      v.add("result owner", `${t.id}: result written by lease ${t.result?.lease}, but the completed attempt is lease ${completed[0]!.lease_id}`);
    }
  }

  // 3. The workers' side of every lease.
  const { byLease, sharedLeases } = executionsOf(input.logs);
  for (const lease of sharedLeases) v.add("lease in two workers", `lease ${lease} was run by two worker processes`);
  const acceptedCompletionLeases = new Map<string, Set<string>>();
  for (const x of byLease.values()) {
    stats.executions++;
    count(stats.executionsByLang, x.lang);
    const a = attemptByLease.get(x.lease);
    if (!a) {
      v.add("unknown lease", `${x.worker} ran task ${x.task} under lease ${x.lease}, which no attempt in Postgres has`);
      continue;
    }
    if (a.task_id !== x.task) v.add("unknown lease", `lease ${x.lease} belongs to ${a.task_id}, but ${x.worker} ran ${x.task} with it`);
    const accepted = x.acks.filter((k) => k.accepted);
    const rejected = x.acks.filter((k) => !k.accepted);
    if (accepted.length > 1) stats.resentAccepted++;
    for (const k of accepted) {
      if (k.kind === "completed") {
        let s = acceptedCompletionLeases.get(x.task);
        if (!s) acceptedCompletionLeases.set(x.task, (s = new Set()));
        s.add(x.lease);
      }
      const want = k.kind === "completed" ? "completed" : "failed";
      if (a.outcome !== want) v.add("accepted result not recorded", `${x.worker}: ${k.kind} of ${x.task} (lease ${x.lease}) was acknowledged, but the attempt is ${a.outcome}`);
    }
    if (LEASE_LOST.has(a.outcome)) {
      stats.leaseLostExecutions++;
      // Rule 3: no result of a lost lease is ever accepted.
      if (accepted.length > 0) v.add("stale result accepted", describe(x, a));
      for (const k of rejected) count(stats.staleResultsRejected, k.reason || "?");
      if (rejected.length === 0 && x.lostAt !== undefined) stats.staleResultsDropped++;
      if (rejected.length === 0 && x.lostAt === undefined) stats.unfinishedExecutions++;
      for (const k of rejected) {
        if (k.reason !== "LEASE_STALE") v.add("stale result refused for an odd reason", `${describe(x, a)}: ${k.reason}`);
      }
    } else if (a.outcome === "completed" || a.outcome === "failed") {
      if (rejected.length > 0) v.add("accepted result refused on resend (W3)", `${describe(x, a)}: ${rejected.map((k) => k.reason).join(",")}`);
      if (accepted.length === 0) stats.completedWithoutAck++;
      if (x.handler === undefined) v.add("result without a handler end", describe(x, a));
    }
  }
  for (const [task, leases] of acceptedCompletionLeases) {
    if (leases.size > 1) v.add("completed twice", `${task}: completions accepted for ${leases.size} leases (${[...leases].join(", ")})`);
  }
  for (const a of attempts) {
    if (a.outcome === "completed" && !byLease.has(a.lease_id)) v.add("completed by no worker", `${a.task_id} completed under lease ${a.lease_id}, which no worker log has`);
  }

  // Per task, from the events table: one CREATED, one COMPLETED.
  const createdEvents = new Map<string, number>();
  const completedEvents = new Map<string, number>();
  for (const e of events) {
    if (e.cursor === null) v.add("unsequenced event", `${e.type} of ${e.task_id} has no cursor`);
    if (e.type === "created") createdEvents.set(e.task_id, (createdEvents.get(e.task_id) ?? 0) + 1);
    if (e.type === "completed") completedEvents.set(e.task_id, (completedEvents.get(e.task_id) ?? 0) + 1);
  }
  for (const t of tasks) {
    if (createdEvents.get(t.id) !== 1) v.add("events", `${t.id} has ${createdEvents.get(t.id) ?? 0} CREATED events`);
    if (t.state === "completed" && completedEvents.get(t.id) !== 1) v.add("events", `${t.id} has ${completedEvents.get(t.id) ?? 0} COMPLETED events`);
  }

  // 5. The resumed watch against the table.
  for (const o of input.watchOutOfOrder) v.add("watch order", `cursor ${o.cursor} arrived after ${o.after} (duplicate or out of order)`);
  const seen = new Map<bigint, WatchedEvent>();
  for (const e of input.watched) {
    if (seen.has(e.cursor)) continue; // already reported as out of order
    seen.set(e.cursor, e);
  }
  const stored = events.filter((e) => e.cursor !== null);
  for (const e of stored) {
    const w = seen.get(BigInt(e.cursor!));
    if (!w) v.add("watch gap", `event ${e.cursor} (${e.type} of ${e.task_id}) never reached the resumed watch`);
    else if (w.taskId !== e.task_id || w.type !== e.type) v.add("watch mismatch", `event ${e.cursor}: watched ${w.type} of ${w.taskId}, stored ${e.type} of ${e.task_id}`);
  }
  const storedCursors = new Set(stored.map((e) => BigInt(e.cursor!)));
  for (const c of seen.keys()) if (!storedCursors.has(c)) v.add("watch phantom", `the watch got cursor ${c}, which is not in the events table`);

  return { violations: v.finish(), stats };
}

function describe(x: Execution, a: AttemptRow): string {
  const acks = x.acks.map((k) => (k.accepted ? `accepted ${k.kind}` : `refused ${k.reason}`)).join(", ") || "no ack";
  return `${x.worker} (${x.lang}) ran ${x.task} attempt ${a.attempt} (lease ${x.lease}, ${a.outcome}): handler ${x.handler ?? "unfinished"}, ${acks}`;
}
