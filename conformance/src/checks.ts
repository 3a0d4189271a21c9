/**
 * Evaluates a case's checks against its recorded trace. Each check returns
 * the problems it found (empty: it holds), phrased so that a worker's author
 * can tell what their worker did wrong.
 */
import { equals, type JsonObject } from "@bufbuild/protobuf";
import { durationMs } from "@bufbuild/protobuf/wkt";
import type {
  BackoffCheck,
  Check,
  ConcurrencyCheck,
  CountCheck,
  HeartbeatCheck,
  HelloCheck,
  LeaseAliveCheck,
  Match,
  OrderCheck,
  ResendCheck,
  ResultCheck,
  Window,
  WithinCheck,
} from "../../gen/ts/baton/conformance/v1/conformance_pb.js";
import { ResultSchema, type Hello, type Result } from "../../gen/ts/baton/v1/worker_pb.js";
import type { ServerConfig } from "./reference-server/server.js";
import { anchor, describeMatch, entryMatches, filterLeaseId, type Entry, type LeaseBook } from "./trace.js";

export interface CheckContext {
  entries: readonly Entry[];
  book: LeaseBook;
  server: ServerConfig;
  /** When the script ended (the end of windows without a `before`). */
  scriptEnd: number;
}

/** Slack for timer and transport lateness on top of a protocol interval. */
export const HEARTBEAT_SLACK_MS = 300;
const BACKOFF_TIMER_SLACK_MS = 10;
const RETRY_AFTER_TOLERANCE_MS = 100;

export function evaluate(check: Check, ctx: CheckContext): string[] {
  const c = check.check;
  switch (c.case) {
    case "count":
      return count(c.value, ctx);
    case "order":
      return order(c.value, ctx);
    case "within":
      return within(c.value, ctx);
    case "heartbeats":
      return heartbeats(c.value, ctx);
    case "leaseAlive":
      return leaseAlive(c.value, ctx);
    case "concurrency":
      return concurrency(c.value, ctx);
    case "backoff":
      return backoff(c.value, ctx);
    case "hello":
      return hello(c.value, ctx);
    case "result":
      return result(c.value, ctx);
    case "resend":
      return resend(c.value, ctx);
    case "handshake":
      return handshake(ctx);
    default:
      return ["the check is empty"];
  }
}

const ms = (t: number) => `+${Math.round(t)}ms`;

interface Span {
  /** Entries strictly inside. */
  entries: Entry[];
  start: number;
  end: number;
  problem?: string;
}

function span(w: Window | undefined, ctx: CheckContext): Span {
  let from = -1;
  let start = 0;
  if (w?.after) {
    const a = anchor(ctx.entries, w.after, ctx.book);
    if (!a) return { entries: [], start: 0, end: 0, problem: `window start never happened: ${describeMatch(w.after)}` };
    from = a.seq;
    start = a.t;
  }
  let to = Infinity;
  let end = ctx.scriptEnd;
  if (w?.before) {
    const later = ctx.entries.filter((e) => e.seq > from);
    const b = anchor(later, w.before, ctx.book);
    if (!b) return { entries: [], start, end, problem: `window end never happened: ${describeMatch(w.before)}` };
    to = b.seq;
    end = b.t;
  }
  return { entries: ctx.entries.filter((e) => e.seq > from && e.seq < to), start, end };
}

function count(c: CountCheck, ctx: CheckContext): string[] {
  const s = span(c.window, ctx);
  if (s.problem) return [s.problem];
  const hits = s.entries.filter((e) => entryMatches(e, c.match!, ctx.book));
  const n = hits.length;
  const where = c.window ? " in the window" : "";
  if (n < c.min) return [`expected at least ${c.min} × ${describeMatch(c.match)}${where}, saw ${n}`];
  if (c.max !== undefined && n > c.max) {
    const at = hits.slice(0, 3).map((e) => `${ms(e.t)} on stream ${e.session}`).join(", ");
    return [`expected at most ${c.max} × ${describeMatch(c.match)}${where}, saw ${n} (${at}${n > 3 ? ", …" : ""})`];
  }
  return [];
}

function order(c: OrderCheck, ctx: CheckContext): string[] {
  const first = anchor(ctx.entries, c.first!, ctx.book);
  if (!first) return [`${describeMatch(c.first)} never happened`];
  const later = ctx.entries.find((e) => e.seq > first.seq && entryMatches(e, c.later!, ctx.book));
  if (!later) {
    const before = ctx.entries.find((e) => e.seq < first.seq && entryMatches(e, c.later!, ctx.book));
    return [
      before ?
        `${describeMatch(c.later)} came at ${ms(before.t)}, before ${describeMatch(c.first)} at ${ms(first.t)}, and never after it`
      : `${describeMatch(c.later)} never happened after ${describeMatch(c.first)} (${ms(first.t)})`,
    ];
  }
  return [];
}

function within(c: WithinCheck, ctx: CheckContext): string[] {
  const a = anchor(ctx.entries, c.after!, ctx.book);
  if (!a) return [`${describeMatch(c.after)} never happened`];
  const next = ctx.entries.find((e) => e.seq > a.seq && entryMatches(e, c.expect!, ctx.book));
  if (!next) return [`${describeMatch(c.expect)} never came after ${describeMatch(c.after)} (${ms(a.t)}); expected within ${c.maxMs}ms`];
  const d = next.t - a.t;
  if (d > c.maxMs) return [`${describeMatch(c.expect)} came ${Math.round(d)}ms after ${describeMatch(c.after)}; expected within ${c.maxMs}ms`];
  if (d < c.minMs) return [`${describeMatch(c.expect)} came ${Math.round(d)}ms after ${describeMatch(c.after)}; expected no sooner than ${c.minMs}ms`];
  return [];
}

/** Welcomed streams and when they ended. */
function streams(ctx: CheckContext): { n: number; welcome: number; end: number }[] {
  const out: { n: number; welcome: number; end: number }[] = [];
  for (const w of ctx.entries) {
    if (w.kind !== "welcome") continue;
    const end = ctx.entries.find((e) => e.kind === "stream_end" && e.session === w.session);
    out.push({ n: w.session, welcome: w.t, end: end?.t ?? Infinity });
  }
  return out;
}

function heartbeats(c: HeartbeatCheck, ctx: CheckContext): string[] {
  const s = span(c.window, ctx);
  if (s.problem) return [s.problem];
  const maxGap = c.maxGapMs || ctx.server.heartbeatIntervalMs + HEARTBEAT_SLACK_MS;
  const problems: string[] = [];
  let total = 0;
  for (const st of streams(ctx)) {
    const from = Math.max(st.welcome, s.start);
    const to = Math.min(st.end, s.end, ctx.scriptEnd);
    if (to <= from) continue;
    const beats = ctx.entries.filter((e) => e.kind === "heartbeat" && e.session === st.n && e.t >= from && e.t <= to).map((e) => e.t);
    total += beats.length;
    const points = [from, ...beats, to];
    for (let i = 1; i < points.length; i++) {
      const gap = points[i]! - points[i - 1]!;
      if (gap > maxGap) {
        const what = i === points.length - 1 ? (beats.length === 0 ? "no heartbeat at all" : "no heartbeat after the last one") : "no heartbeat";
        problems.push(`stream ${st.n}: ${what} for ${Math.round(gap)}ms (${ms(points[i - 1]!)} to ${ms(points[i]!)}); at most ${maxGap}ms allowed`);
        break;
      }
    }
  }
  const min = c.minCount || 1;
  if (total < min) problems.push(`saw ${total} heartbeat(s); expected at least ${min}`);
  return problems;
}

function leaseAlive(c: LeaseAliveCheck, ctx: CheckContext): string[] {
  const leaseId = filterLeaseId({ task: c.task, lease: c.lease || 1 }, ctx.book);
  if (!leaseId) return [`task ${c.task} never had lease #${c.lease || 1}`];
  const assign = ctx.entries.find((e) => e.kind === "assign" && e.leaseId === leaseId);
  if (!assign) return [`no Assign of ${leaseId}`];
  const ttl = ctx.server.leaseTtlMs;
  const margin = c.marginMs || 100;
  const ends = ctx.entries.find(
    (e) => e.seq > assign.seq && ((e.kind === "result" && e.leaseId === leaseId) || (e.kind === "cancel" && e.leaseId === leaseId)),
  );
  const end = Math.min(ends?.t ?? Infinity, ctx.scriptEnd);
  let deadline = assign.t + ttl;
  for (const e of ctx.entries) {
    if (e.seq <= assign.seq || e.t > end) continue;
    const renews = (e.kind === "heartbeat" && e.leases?.some((l) => l.leaseId === leaseId)) || (e.kind === "extend_lease" && e.leaseId === leaseId);
    if (!renews) continue;
    if (e.t > deadline - margin) {
      return [`lease ${leaseId} was renewed at ${ms(e.t)}, after its deadline ${ms(deadline)} (less ${margin}ms of margin): it would have expired`];
    }
    deadline = e.kind === "extend_lease" ? Math.max(deadline, e.t + (e.extendByMs ?? 0)) : Math.max(deadline, e.t + ttl);
  }
  if (end > deadline - margin) {
    return [`lease ${leaseId} was not renewed before its deadline ${ms(deadline)} (the task ran until ${end === Infinity ? "the end" : ms(end)})`];
  }
  return [];
}

function concurrency(c: ConcurrencyCheck, ctx: CheckContext): string[] {
  const running = new Set<string>();
  let peak = 0;
  let peakAt = 0;
  for (const e of ctx.entries) {
    const key = `${e.taskId}\u0000${e.leaseId}`;
    if (e.kind === "handler_started") {
      running.add(key);
      if (running.size > peak) {
        peak = running.size;
        peakAt = e.t;
      }
    } else if (e.kind === "handler_finished") running.delete(key);
  }
  const p: string[] = [];
  if (peak > c.max) p.push(`${peak} handlers ran at once (at ${ms(peakAt)}); at most ${c.max} allowed`);
  if (peak < c.minPeak) p.push(`at most ${peak} handlers ran at once; expected ${c.minPeak} to (the worker did not use its slots)`);
  return p;
}

/** Delays between a stream's end and the next Connect call (not after a GoAway, nor after the worker was stopped). */
export function reconnectDelays(entries: readonly Entry[]): number[] {
  const stoppedAt = entries.find((e) => e.kind === "worker_stopped")?.t ?? Infinity;
  const delays: number[] = [];
  for (const end of entries) {
    if (end.kind !== "stream_end" || end.t >= stoppedAt) continue;
    if (entries.some((e) => e.kind === "go_away" && e.session === end.session)) continue;
    const next = entries.find((e) => e.seq > end.seq && e.kind === "stream_open");
    if (next) delays.push(next.t - end.t);
  }
  return delays;
}

function backoff(c: BackoffCheck, ctx: CheckContext): string[] {
  const delays = reconnectDelays(ctx.entries);
  const shown = `[${delays.map((d) => Math.round(d)).join(", ")}]ms`;
  const p: string[] = [];
  const minDelays = c.minDelays || 2;
  if (delays.length < minDelays) return [`saw ${delays.length} reconnect(s) ${shown}; expected at least ${minDelays}`];
  const minMs = c.minMs || 100;
  const maxMs = c.maxMs || 30_000;
  const short = delays.findIndex((d) => d < minMs - BACKOFF_TIMER_SLACK_MS);
  if (short >= 0) p.push(`reconnect #${short + 1} came ${Math.round(delays[short]!)}ms after the stream ended; at least ${minMs}ms required ${shown}`);
  const long = delays.findIndex((d) => d > maxMs);
  if (long >= 0) p.push(`reconnect #${long + 1} came after ${Math.round(delays[long]!)}ms; at most ${maxMs}ms allowed ${shown}`);
  if (c.growth > 0 && delays.length >= 3) {
    const laterMax = Math.max(...delays.slice(2));
    if (laterMax < c.growth * delays[0]!) p.push(`the delays do not grow: none after the second is ${c.growth}× the first ${shown}`);
  }
  if (c.jitter && delays.length >= 3) {
    const ratios = delays.slice(1).map((d, i) => d / delays[i]!);
    const r0 = ratios[0]!;
    if (ratios.every((r) => Math.abs(r - r0) <= 0.05 * r0)) p.push(`the delays follow one fixed ratio (${r0.toFixed(2)}): no jitter ${shown}`);
  }
  return p;
}

function hello(c: HelloCheck, ctx: CheckContext): string[] {
  const hellos = ctx.entries.filter((e) => e.kind === "hello" && (!c.session || e.session === c.session));
  if (hellos.length === 0) return [c.session ? `no Hello on stream ${c.session}` : "no Hello at all"];
  const p: string[] = [];
  const ids = new Set<string>();
  for (const e of hellos) {
    const h = e.message!.value as Hello;
    const at = `Hello on stream ${e.session}`;
    if (c.queues.length && JSON.stringify(h.queues) !== JSON.stringify(c.queues)) p.push(`${at}: queues ${JSON.stringify(h.queues)}, expected ${JSON.stringify(c.queues)}`);
    if (c.slots && h.slots !== c.slots) p.push(`${at}: slots ${h.slots}, expected ${c.slots}`);
    if (c.workerId && h.workerId !== c.workerId) p.push(`${at}: worker_id "${h.workerId}", expected "${c.workerId}"`);
    if (c.taskTypes.length && h.taskTypes.length) {
      const missing = c.taskTypes.filter((t) => !h.taskTypes.includes(t));
      if (missing.length) p.push(`${at}: task_types ${JSON.stringify(h.taskTypes)} lack ${JSON.stringify(missing)}`);
    }
    if (c.stableInstanceId) {
      if (!h.instanceId) p.push(`${at}: instance_id is empty`);
      ids.add(h.instanceId);
    }
    const want = c.resumes.map((f) => ({ task: f.task, leaseId: filterLeaseId({ task: f.task, lease: f.lease || 1 }, ctx.book) }));
    for (const w of want) {
      if (!h.resumeLeases.some((l) => l.taskId === w.task && l.leaseId === w.leaseId)) {
        p.push(`${at}: resume_leases ${JSON.stringify(h.resumeLeases.map((l) => `${l.taskId}/${l.leaseId}`))} lacks ${w.task}/${w.leaseId}`);
      }
    }
    if (c.resumesOnly) {
      const extra = h.resumeLeases.filter((l) => !want.some((w) => w.task === l.taskId && w.leaseId === l.leaseId));
      if (extra.length) p.push(`${at}: resume_leases lists ${JSON.stringify(extra.map((l) => `${l.taskId}/${l.leaseId}`))}, which it does not hold`);
    }
  }
  if (c.stableInstanceId && ids.size > 1) p.push(`instance_id changed across reconnects: ${JSON.stringify([...ids])}`);
  return p;
}

function firstResult(ctx: CheckContext, task: string, session: number): Entry | undefined {
  return ctx.entries.find((e) => e.kind === "result" && e.taskId === task && (!session || e.session === session));
}

function result(c: ResultCheck, ctx: CheckContext): string[] {
  const e = firstResult(ctx, c.task, c.session);
  if (!e) return [`no Result for ${c.task}${c.session ? ` on stream ${c.session}` : ""}`];
  const r = e.message!.value as Result;
  const p: string[] = [];
  const leaseId = filterLeaseId({ task: c.task, lease: c.lease || 1 }, ctx.book);
  if (!leaseId) p.push(`task ${c.task} never had lease #${c.lease || 1}, yet its Result carries lease_id "${r.leaseId}"`);
  else if (r.leaseId !== leaseId) p.push(`the Result for ${c.task} carries lease_id "${r.leaseId}", expected "${leaseId}" (the lease of its Assign #${c.lease || 1})`);
  const o = c.outcome;
  if (o.case === "completed") {
    if (r.outcome.case !== "completed") p.push(`the Result for ${c.task} is ${r.outcome.case ?? "empty"}, expected completed`);
    else {
      const got = r.outcome.value;
      const want = o.value;
      if (!jsonEqual(got, want)) p.push(`the Result for ${c.task} completed with ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    }
  } else if (o.case === "failed") {
    if (r.outcome.case !== "failed") p.push(`the Result for ${c.task} is ${r.outcome.case ?? "empty"}, expected a failure`);
    else {
      const f = r.outcome.value;
      const want = o.value;
      if (want.type && f.error?.type !== want.type) p.push(`the failure's error.type is "${f.error?.type ?? ""}", expected "${want.type}"`);
      if (want.nonRetryable !== undefined && (f.error?.nonRetryable ?? false) !== want.nonRetryable) {
        p.push(`the failure's error.non_retryable is ${f.error?.nonRetryable ?? false}, expected ${want.nonRetryable}`);
      }
      if (want.retryAfterMs !== undefined) {
        const got = f.retryAfter ? durationMs(f.retryAfter) : 0;
        if (Math.abs(got - want.retryAfterMs) > RETRY_AFTER_TOLERANCE_MS) p.push(`the failure's retry_after is ${got}ms, expected ${want.retryAfterMs}ms`);
      }
    }
  }
  return p;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v as JsonObject).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sortKeys(x)]));
  }
  return v;
}

function resend(c: ResendCheck, ctx: CheckContext): string[] {
  const a = firstResult(ctx, c.task, c.fromSession);
  if (!a) return [`no Result for ${c.task} on stream ${c.fromSession}`];
  const b = firstResult(ctx, c.task, c.toSession);
  if (!b) return [`the Result for ${c.task} was not resent on stream ${c.toSession}`];
  if (!equals(ResultSchema, a.message!.value as Result, b.message!.value as Result)) {
    return [`the Result for ${c.task} resent on stream ${c.toSession} differs from the one on stream ${c.fromSession}`];
  }
  return [];
}

const WORKER_MESSAGES = new Set(["hello", "heartbeat", "result", "extend_lease", "drain", "credit"]);

function handshake(ctx: CheckContext): string[] {
  const p: string[] = [];
  const opened = ctx.entries.filter((e) => e.kind === "stream_open");
  for (const o of opened) {
    const mine = ctx.entries.filter((e) => e.session === o.session);
    const sent = mine.filter((e) => WORKER_MESSAGES.has(e.kind));
    if (sent.length === 0) continue;
    if (sent[0]!.kind !== "hello") p.push(`stream ${o.session}: the first message was ${sent[0]!.kind}, not Hello (H1)`);
    const hellos = sent.filter((e) => e.kind === "hello").length;
    if (hellos > 1) p.push(`stream ${o.session}: ${hellos} Hellos`);
    const welcome = mine.find((e) => e.kind === "welcome");
    const early = sent.filter((e) => e.kind !== "hello" && (!welcome || e.seq < welcome.seq));
    if (early.length) {
      p.push(`stream ${o.session}: sent ${early.map((e) => `${e.kind} at ${ms(e.t)}`).join(", ")} before Welcome${welcome ? ` (${ms(welcome.t)})` : " (none came)"} (H3)`);
    }
  }
  return p;
}

export function describeCheck(check: Check): string {
  return `[${check.rule}] ${check.says}`;
}

export type { Match };
