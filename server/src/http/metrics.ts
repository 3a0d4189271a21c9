/**
 * Prometheus metrics at GET /metrics (prom-client). Counters and histograms are
 * per replica: the engine reports each committed change once, on the replica
 * that made it (engine/task-metrics.ts), so sums across replicas are right.
 * The task gauge is the cluster's: a grouped count from Postgres at scrape time.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Logger } from "pino";
import type { TaskMetrics } from "../engine/task-metrics.js";
import type { Queryable } from "../store/database.js";
import { taskCountByQueueState } from "../store/task-counts.js";
import type { TaskRow, TaskStateName } from "../core/task-row.js";
import { SERVER_VERSION } from "../version.js";
import type { RouteHandler } from "./router.js";

/** How long one database count serves scrapes. */
const TASK_COUNT_CACHE_MS = 1_000;
const STATES: TaskStateName[] = ["pending", "claimed", "completed", "dead_letter", "cancelled"];
/** 5 ms .. 1 h: queue waits and handler run times both span that range. */
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600];

export interface BatonMetrics extends TaskMetrics {
  registry: Registry;
  /** Counts a finished RPC by procedure and code (`ok` or a Connect code name). */
  rpcFinished(procedure: string, code: string): void;
  /** Counts an open stream (worker Connect/Listen, WatchTasks, reflection); call the result when it ends. */
  streamOpened(procedure: string): () => void;
  /** Supplies what the gauges read at scrape time. */
  observe(sources: MetricSources): void;
  /** GET /metrics */
  handler: RouteHandler;
}

export interface MetricSources {
  sql: Queryable;
  /** Worker stream sessions on this replica. */
  workersConnected(): number;
  log: Logger;
}

export function createMetrics(): BatonMetrics {
  const registry = new Registry();
  const registers = [registry];
  const queueLabels = ["namespace", "queue"] as const;
  let sources: MetricSources | undefined;

  new Gauge({ name: "baton_build_info", help: "Always 1; the server version is a label.", labelNames: ["version"], registers }).set(
    { version: SERVER_VERSION },
    1,
  );
  createTaskCountGauge(registers, () => sources);
  new Gauge({
    name: "baton_workers_connected",
    help: "Worker stream sessions (WorkerService Connect and Listen) open on this replica.",
    registers,
    collect() {
      this.set(sources?.workersConnected() ?? 0);
    },
  });
  const streams = new Gauge({ name: "baton_streams_open", help: "Streaming RPCs open on this replica, by procedure.", labelNames: ["procedure"], registers });
  const rpcs = new Counter({ name: "baton_rpc_requests_total", help: "RPCs finished on this replica, by procedure and code.", labelNames: ["procedure", "code"], registers });
  const created = new Counter({ name: "baton_tasks_created_total", help: "Tasks created (idempotent replays excluded).", labelNames: queueLabels, registers });
  const claimed = new Counter({ name: "baton_tasks_claimed_total", help: "Leases granted: unary ClaimTasks and pushes to stream workers.", labelNames: queueLabels, registers });
  const completed = new Counter({ name: "baton_tasks_completed_total", help: "Attempts completed with a result.", labelNames: queueLabels, registers });
  const failed = new Counter({ name: "baton_tasks_failed_total", help: "Attempts reported failed by workers (FailTask or a stream Result).", labelNames: queueLabels, registers });
  const expiries = new Counter({
    name: "baton_lease_expiries_total",
    help: "Attempts ended by the sweeper: reason lease_expired (no heartbeat) or timed_out (start_to_close).",
    labelNames: [...queueLabels, "reason"],
    registers,
  });
  const retries = new Counter({ name: "baton_task_retries_total", help: "Attempts that ended with the task back in PENDING for another attempt.", labelNames: queueLabels, registers });
  const deadLetters = new Counter({
    name: "baton_tasks_dead_lettered_total",
    help: "Tasks moved to DEAD_LETTER, by the way the last attempt ended (schedule_to_start: never started).",
    labelNames: [...queueLabels, "cause"],
    registers,
  });
  const createToStart = new Histogram({
    name: "baton_task_create_to_start_seconds",
    help: "From creation to the first attempt's start (includes any scheduled delay).",
    labelNames: queueLabels,
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const runTime = new Histogram({
    name: "baton_task_run_seconds",
    help: "From an attempt's start to its end, by outcome.",
    labelNames: [...queueLabels, "outcome"],
    buckets: SECONDS_BUCKETS,
    registers,
  });

  const at = (t: TaskRow) => ({ namespace: t.namespace, queue: t.queue });
  /** One inc per queue instead of one per task: a claim or a batch create is usually all one queue. */
  const incPerQueue = (counter: Counter, tasks: readonly TaskRow[]) => {
    const counts = new Map<string, { labels: { namespace: string; queue: string }; n: number }>();
    for (const t of tasks) {
      const key = `${t.namespace}\u0000${t.queue}`;
      const c = counts.get(key);
      if (c) c.n++;
      else counts.set(key, { labels: at(t), n: 1 });
    }
    for (const { labels, n } of counts.values()) counter.inc(labels, n);
  };
  // Never let a metrics bug fail a call that already committed.
  const safely =
    <A extends unknown[]>(fn: (...args: A) => void) =>
    (...args: A) => {
      try {
        fn(...args);
      } catch (err) {
        sources?.log.warn({ err }, "metrics update failed");
      }
    };

  return {
    registry,
    created: safely((tasks) => incPerQueue(created, tasks)),
    claimed: safely((tasks) => {
      incPerQueue(claimed, tasks);
      for (const t of tasks) {
        if (t.attempt === 1 && t.lease_started_at) createToStart.observe(at(t), seconds(t.created_at, t.lease_started_at));
      }
    }),
    attemptEnded: safely((task, outcome, startedAt) => {
      if (outcome === "completed") completed.inc(at(task));
      if (outcome === "failed") failed.inc(at(task));
      if (outcome === "lease_expired" || outcome === "timed_out") expiries.inc({ ...at(task), reason: outcome });
      if (task.state === "pending") retries.inc(at(task));
      if (task.state === "dead_letter") deadLetters.inc({ ...at(task), cause: outcome });
      if (startedAt) runTime.observe({ ...at(task), outcome }, seconds(startedAt, task.updated_at));
    }),
    deadLetteredUnstarted: safely((tasks) => {
      for (const t of tasks) deadLetters.inc({ ...at(t), cause: "schedule_to_start" });
    }),
    rpcFinished: (procedure, code) => rpcs.inc({ procedure, code }),
    streamOpened(procedure) {
      streams.inc({ procedure });
      let open = true;
      return () => {
        if (open) streams.dec({ procedure });
        open = false;
      };
    },
    observe(s) {
      sources = s;
    },
    handler: async (_req, res) => {
      const body = await registry.metrics();
      res.writeHead(200, { "content-type": registry.contentType, "cache-control": "no-store" });
      res.end(body);
    },
  };
}

/** baton_tasks{namespace,queue,state}: refreshed from Postgres at scrape time, at most once per TASK_COUNT_CACHE_MS. */
function createTaskCountGauge(registers: Registry[], sources: () => MetricSources | undefined): Gauge {
  let fetchedAtMs = -Infinity;
  let inFlight: Promise<void> | undefined;
  const gauge: Gauge = new Gauge({
    name: "baton_tasks",
    help: "Tasks by namespace, queue and state (the whole cluster, from the database; cached about 1s).",
    labelNames: ["namespace", "queue", "state"],
    registers,
    async collect() {
      const s = sources();
      if (!s || Date.now() - fetchedAtMs < TASK_COUNT_CACHE_MS) return;
      inFlight ??= refresh(s).finally(() => (inFlight = undefined));
      await inFlight;
    },
  });
  async function refresh(s: MetricSources): Promise<void> {
    try {
      const rows = await taskCountByQueueState(s.sql);
      gauge.reset();
      // Every state of every queue seen, so a drained state reads 0 instead of vanishing.
      const queues = new Map(rows.map((r) => [`${r.namespace}\u0000${r.queue}`, r]));
      for (const q of queues.values()) for (const state of STATES) gauge.set({ namespace: q.namespace, queue: q.queue, state }, 0);
      for (const r of rows) gauge.set({ namespace: r.namespace, queue: r.queue, state: r.state }, r.count);
      fetchedAtMs = Date.now();
    } catch (err) {
      // Keep the last values: a scrape must not fail because the database is away (/readyz says so).
      s.log.warn({ err }, "metrics: counting tasks failed; serving the last counts");
    }
  }
  return gauge;
}

function seconds(from: Date | string, to: Date | string): number {
  return Math.max(0, (new Date(to).getTime() - new Date(from).getTime()) / 1000);
}
