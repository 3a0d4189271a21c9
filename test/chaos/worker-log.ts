// The chaos workers' execution logs (test/chaos/workers/*): one JSON line per
// event, one file per worker process. This reads them back into executions,
// one per lease a handler ran under.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

export type Lang = "ts" | "python" | "go";

export type LogEntry =
  | { e: "hello"; t: number; lang: Lang; worker: string; pid: number }
  | { e: "start"; t: number; task: string; lease: string; attempt: number }
  | { e: "end"; t: number; task: string; lease: string; attempt: number; outcome: "ok" | "error" | "aborted" }
  | { e: "ack"; t: number; task: string; lease: string; accepted: boolean; kind?: "completed" | "failed"; reason?: string }
  | { e: "lost"; t: number; task: string; lease: string }
  | { e: "connected"; t: number; session: string; replica: string }
  | { e: "disconnected"; t: number; error: string; goAway: string };

/** One handler run: a lease, as seen by the worker process that held it. */
export interface Execution {
  file: string;
  lang: Lang;
  worker: string;
  task: string;
  lease: string;
  attempt: number;
  start: number;
  end?: number;
  /** How the handler itself ended. */
  handler?: "ok" | "error" | "aborted";
  /** Every Ack the worker got for this lease's Result (a resend after a reconnect gets another). */
  acks: { t: number; accepted: boolean; kind?: string; reason?: string }[];
  /** The worker heard its lease was gone (Cancel lease_lost, Welcome.lost) and sent nothing. */
  lostAt?: number;
}

export interface WorkerLog {
  file: string;
  lang: Lang;
  worker: string;
  entries: LogEntry[];
}

export function readWorkerLog(file: string): WorkerLog {
  const entries: LogEntry[] = [];
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    // not written yet
  }
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      entries.push(JSON.parse(line) as LogEntry);
    } catch {
      // A torn last line (killed mid-write) is the only kind expected; skip it.
    }
  }
  const hello = entries.find((e) => e.e === "hello") as Extract<LogEntry, { e: "hello" }> | undefined;
  return { file, lang: hello?.lang ?? "ts", worker: hello?.worker ?? "?", entries };
}

export function readWorkerLogs(dir: string): WorkerLog[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".jsonl"))
    .sort()
    .map((f) => readWorkerLog(join(dir, f)));
}

/** Executions by lease id. A lease seen in two files is reported, not merged. */
export function executionsOf(logs: WorkerLog[]): { byLease: Map<string, Execution>; sharedLeases: string[] } {
  const byLease = new Map<string, Execution>();
  const sharedLeases: string[] = [];
  for (const log of logs) {
    const mine = new Map<string, Execution>();
    for (const entry of log.entries) {
      if (entry.e === "start") {
        if (byLease.has(entry.lease) && !mine.has(entry.lease)) sharedLeases.push(entry.lease);
        const x: Execution = {
          file: log.file,
          lang: log.lang,
          worker: log.worker,
          task: entry.task,
          lease: entry.lease,
          attempt: entry.attempt,
          start: entry.t,
          acks: [],
        };
        mine.set(entry.lease, x);
        byLease.set(entry.lease, x);
        continue;
      }
      if (entry.e !== "end" && entry.e !== "ack" && entry.e !== "lost") continue;
      const x = mine.get(entry.lease);
      if (!x) continue; // an Ack or Cancel for a lease this process never started (e.g. queued, never run)
      if (entry.e === "end") {
        x.end = entry.t;
        x.handler = entry.outcome;
      } else if (entry.e === "ack") {
        x.acks.push({ t: entry.t, accepted: entry.accepted, kind: entry.kind, reason: entry.reason });
      } else {
        x.lostAt ??= entry.t;
      }
    }
  }
  return { byLease, sharedLeases };
}

/** Leases a worker is running right now, as far as its log says. */
export function inFlight(log: WorkerLog): { task: string; lease: string; start: number }[] {
  const open = new Map<string, { task: string; lease: string; start: number }>();
  for (const entry of log.entries) {
    if (entry.e === "start") open.set(entry.lease, { task: entry.task, lease: entry.lease, start: entry.t });
    else if (entry.e === "end" || entry.e === "lost") open.delete(entry.lease);
  }
  return [...open.values()];
}
