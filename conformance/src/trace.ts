/**
 * The record of one case: every message the worker sent and the reference
 * server answered, every stream's start and end, every adapter event, each
 * with the time it was seen. Checks read it; --trace prints it.
 */
import { toJson, type DescMessage, type Message } from "@bufbuild/protobuf";
import type { Filter, Match } from "../../gen/ts/baton/conformance/v1/conformance_pb.js";

export type EntryKind =
  // worker → server
  | "hello"
  | "heartbeat"
  | "result"
  | "extend_lease"
  | "drain"
  | "credit"
  // server → worker
  | "welcome"
  | "assign"
  | "cancel"
  | "ack"
  | "go_away"
  // streams
  | "stream_open"
  | "stream_end"
  | "worker_closed"
  // adapter
  | "ready"
  | "handler_started"
  | "handler_finished"
  | "handler_cancelled"
  | "adapter_log"
  // runner
  | "worker_stopped"
  | "script_end"
  | "note";

export type Direction = "worker" | "server" | "adapter" | "runner";

const DIRECTION: Record<EntryKind, Direction> = {
  hello: "worker",
  heartbeat: "worker",
  result: "worker",
  extend_lease: "worker",
  drain: "worker",
  credit: "worker",
  welcome: "server",
  assign: "server",
  cancel: "server",
  ack: "server",
  go_away: "server",
  stream_open: "worker",
  stream_end: "runner",
  worker_closed: "worker",
  ready: "adapter",
  handler_started: "adapter",
  handler_finished: "adapter",
  handler_cancelled: "adapter",
  adapter_log: "adapter",
  worker_stopped: "runner",
  script_end: "runner",
  note: "runner",
};

export interface LeaseRefLike {
  taskId: string;
  leaseId: string;
}

export interface Entry {
  /** Position in the trace. */
  seq: number;
  /** Milliseconds since the case started. */
  t: number;
  kind: EntryKind;
  /** The stream (1 = the first Connect or Listen call); 0 when not about one. */
  session: number;
  taskId?: string;
  leaseId?: string;
  /** A heartbeat's leases, or a Hello's resume_leases. */
  leases?: LeaseRefLike[];
  /** For a result: completed (true) or failed (false). */
  completed?: boolean;
  /** For a result: the recorded message; for an extend_lease: extend_by in ms. */
  extendByMs?: number;
  /** The protobuf message, for printing and for the checks that read fields. */
  message?: { desc: DescMessage; value: Message };
  /** Free text: why a stream ended, a note, a log line. */
  text?: string;
}

export class Trace {
  readonly entries: Entry[] = [];
  readonly #start = performance.now();
  #listeners = new Set<() => void>();

  now(): number {
    return performance.now() - this.#start;
  }

  add(e: Omit<Entry, "seq" | "t">): Entry {
    const entry: Entry = { ...e, seq: this.entries.length, t: this.now() };
    this.entries.push(entry);
    for (const l of [...this.#listeners]) l();
    return entry;
  }

  note(text: string, session = 0): void {
    this.add({ kind: "note", session, text });
  }

  /** Calls `listener` after every new entry until the returned function is called. */
  onEntry(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** Which lease ids each task has had, in Assign order (Filter.lease is 1-based into it). */
export type LeaseBook = ReadonlyMap<string, readonly string[]>;

export function matchKind(m: Match | undefined): EntryKind | undefined {
  const c = m?.kind.case;
  if (c === undefined) return undefined;
  const map: Record<NonNullable<Match["kind"]["case"]>, EntryKind> = {
    hello: "hello",
    heartbeat: "heartbeat",
    result: "result",
    extendLease: "extend_lease",
    drain: "drain",
    credit: "credit",
    welcome: "welcome",
    assign: "assign",
    cancel: "cancel",
    ack: "ack",
    goAway: "go_away",
    streamOpen: "stream_open",
    streamEnd: "stream_end",
    workerClosed: "worker_closed",
    handlerStarted: "handler_started",
    handlerFinished: "handler_finished",
    handlerCancelled: "handler_cancelled",
    workerStopped: "worker_stopped",
  };
  return map[c];
}

export function filterLeaseId(f: { task: string; lease: number }, book: LeaseBook): string | undefined | null {
  if (!f.task || !f.lease) return undefined;
  const ids = book.get(f.task);
  return ids?.[f.lease - 1] ?? null;
}

export function entryMatches(e: Entry, m: Match, book: LeaseBook): boolean {
  const kind = matchKind(m);
  if (kind === undefined || e.kind !== kind) return false;
  const f = m.kind.value as Filter;
  if (f.session && e.session !== f.session) return false;
  if (f.completed !== undefined && e.completed !== f.completed) return false;
  if (f.task) {
    // null: the task never had that lease, so nothing can match.
    const leaseId = filterLeaseId(f, book);
    if (leaseId === null) return false;
    const hit = (taskId: string | undefined, lid: string | undefined) => taskId === f.task && (leaseId === undefined || lid === leaseId);
    if (e.leases) {
      if (!e.leases.some((l) => hit(l.taskId, l.leaseId))) return false;
    } else if (!hit(e.taskId, e.leaseId)) return false;
  }
  return true;
}

export function matchAll(entries: readonly Entry[], m: Match, book: LeaseBook): Entry[] {
  return entries.filter((e) => entryMatches(e, m, book));
}

/** The anchor entry a Match names (its nth match; -1 the last), or undefined. */
export function anchor(entries: readonly Entry[], m: Match, book: LeaseBook): Entry | undefined {
  const all = matchAll(entries, m, book);
  const nth = m.nth || 1;
  return nth > 0 ? all[nth - 1] : all[all.length + nth];
}

/** One line per entry, for --trace. */
export function formatEntry(e: Entry): string {
  const t = `+${e.t.toFixed(1).padStart(8)}ms`;
  const s = e.session ? `s${e.session}` : "  ";
  const dir = DIRECTION[e.kind];
  const arrow = dir === "worker" ? "worker → " : dir === "server" ? "server → " : dir === "adapter" ? "adapter: " : "runner: ";
  let body = "";
  if (e.message) {
    try {
      body = JSON.stringify(toJson(e.message.desc, e.message.value as never));
    } catch {
      body = "(unprintable)";
    }
  }
  const about = !e.message && e.taskId ? ` ${e.taskId}${e.leaseId ? `/${e.leaseId}` : ""}` : "";
  const text = `${about}${e.text ? ` ${e.text}` : ""}`;
  return `${t} ${s} ${arrow}${e.kind}${body && body !== "{}" ? ` ${body}` : ""}${text}`;
}

export function describeMatch(m: Match | undefined): string {
  if (!m || m.kind.case === undefined) return "(nothing)";
  const f = m.kind.value as Filter;
  const parts: string[] = [];
  if (f.task) parts.push(`task ${f.task}${f.lease ? ` lease #${f.lease}` : ""}`);
  if (f.session) parts.push(`stream ${f.session}`);
  if (f.completed !== undefined) parts.push(f.completed ? "completed" : "failed");
  const nth = m.nth && m.nth !== 1 ? ` #${m.nth}` : "";
  return `${matchKind(m)}${nth}${parts.length ? ` (${parts.join(", ")})` : ""}`;
}
