/**
 * npm run bench [-- --smoke]
 *
 * Starts one local Postgres (and NATS) and measures every system on it, one after
 * the other, each in its own database, with the same task counts and concurrency
 * budget: Baton (TS stream, Go stream and unary workers; 1 and 2 replicas),
 * graphile-worker (batched and defaults), pg-boss, River and a raw-SQL ceiling.
 * Prints one report; the full run also writes docs/BENCHMARKS.md. --smoke uses
 * tiny counts so every system is exercised end to end inside `npm test`
 * without timing anything that matters.
 *
 * For work on one system: --only=<substring of system names, comma-separated>
 * and --tasks=<burn-down count>; such a partial run writes nothing. --pg-statements
 * prints, after each system, the statements Postgres spent most time on
 * (pg_stat_statements), to see where a system's database time goes.
 * BENCH_PG_EXTRA='{"setting":"value"}' adds postgresql.conf settings, for
 * experiments. docs/PERFORMANCE.md has the rest of the profiling kit.
 */
import { cpus, loadavg, totalmem } from "node:os";
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import postgres from "postgres";
import { createDatabaseAt } from "../support/pg-admin.js";
import { startNats } from "../support/nats.js";
import { startPostgres } from "../support/postgres.js";
import { IDLE_HEARTBEAT_MS, measureIdleStreams, STREAMS_PER_CONNECTION, type IdleMemory } from "./baton-idle.js";
import { batonGo } from "./baton-go.js";
import { batonStream } from "./baton-stream.js";
import { batonUnary } from "./baton-unary.js";
import { ceiling } from "./ceiling.js";
import { run } from "./child.js";
import { GRAPHILE_VERSION, graphile } from "./graphile.js";
import { PGBOSS_VERSION, pgBoss } from "./pgboss.js";
import { treeCpuMs } from "./proc.js";
import { RIVER_VERSION, river } from "./river.js";
import { fmtCpu, fmtMs, fmtRate, fmtRatio, type LatencySummary } from "./stats.js";
import { CREATE_BATCH, type BenchContext, type BenchSettings, type BenchSystem, type ThroughputResult } from "./system.js";

const smoke = process.argv.includes("--smoke");
const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const only = flag("only")?.split(",").map((s) => s.toLowerCase());
const settings: BenchSettings = smoke
  ? { throughputTasks: 200, latencyTasks: 10, concurrency: 8, idleStreams: 100, smoke }
  : { throughputTasks: 100_000, latencyTasks: 1_000, concurrency: 200, idleStreams: 10_000, smoke };
if (flag("tasks")) settings.throughputTasks = Number(flag("tasks"));
if (flag("latency-tasks")) settings.latencyTasks = Number(flag("latency-tasks"));
if (flag("streams")) settings.idleStreams = Number(flag("streams"));
const pgStatements = process.argv.includes("--pg-statements");
let statements: postgres.Sql | undefined;
const partial = only !== undefined || flag("tasks") !== undefined || flag("latency-tasks") !== undefined || flag("streams") !== undefined;

const log = (msg: string) => console.error(`bench: ${msg}`);
const startedAt = new Date();
const load = () => loadavg().map((l) => l.toFixed(2)).join(", ");
const loadAtStart = load();

interface Row {
  system: BenchSystem;
  tp?: ThroughputResult;
  lat?: LatencySummary;
  error?: string;
  /** The error came from prepare(): the system could not be installed here. */
  notInstalled?: boolean;
}

const systems: BenchSystem[] = [
  ceiling(),
  batonStream(),
  batonGo(1),
  batonUnary(),
  batonGo(2),
  graphile(true),
  graphile(false),
  pgBoss(),
  river(),
].filter((s) => !only || only.some((o) => s.name.toLowerCase().includes(o)));
const measureIdle = !only || only.includes("idle");
const rows: Row[] = systems.map((system) => ({ system }));
let idle: IdleMemory | undefined;
let idleError: string | undefined;
let versions: Record<string, string> = {};

const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).split("\n").slice(0, 6).join(" / ");

log(`${smoke ? "smoke run" : "full run"}: ${settings.throughputTasks} tasks burn-down, ${settings.latencyTasks} latency tasks, concurrency ${settings.concurrency}; load average ${loadAtStart}`);
const [postgresServer, nats, prepared] = await Promise.all([
  // fsync on: commits wait for the WAL flush, as in production (the data dir is on tmpfs here, so a flush is cheap).
  startPostgres({
    settings: { synchronous_commit: "on", fsync: "on", ...(process.env.BENCH_PG_EXTRA ? JSON.parse(process.env.BENCH_PG_EXTRA) : {}), ...(pgStatements ? { shared_preload_libraries: "'pg_stat_statements'" } : {}) },
  }),
  startNats({ jetstream: false }),
  // Builds (Go programs) while the servers start; a system that cannot be prepared is reported, not fatal.
  Promise.all(systems.map((s) => (s.prepare?.() ?? Promise.resolve()).then(() => undefined, (err: unknown) => message(err)))),
]);
try {
  versions = await collectVersions(postgresServer.url);
  // One admin connection for the whole run when statements are reported.
  statements = pgStatements ? postgres(postgresServer.url, { max: 1, onnotice: () => {} }) : undefined;
  if (statements) await statements`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`;
  const pgPid = postgresServer.pid!;
  let n = 0;
  const context = async (): Promise<BenchContext> => ({
    databaseUrl: await createDatabaseAt(postgresServer.url, `bench_${n++}`),
    settings,
    postgresCpuMs: () => treeCpuMs(pgPid),
    natsUrl: nats.url,
    log,
  });
  const measure = async (row: Row, i: number): Promise<void> => {
    if (prepared[i]) {
      row.error = prepared[i];
      row.notInstalled = true;
      log(`${row.system.name}: cannot run: ${row.error}`);
      return;
    }
    const t0 = performance.now();
    if (statements) await statements`SELECT pg_stat_statements_reset()`;
    try {
      const running = await row.system.start(await context());
      try {
        row.tp = await running.throughput();
        if (running.latency) row.lat = await running.latency();
      } finally {
        await running.stop();
      }
      if (statements) log(`${row.system.name}: statements by total time:\n${await topStatements(statements)}`);
      log(`${row.system.name}: ${fmtRate(row.tp.tasksPerSecond)} tasks/s, p50 ${row.lat ? fmtMs(row.lat.p50) : "n/a"} ms (${((performance.now() - t0) / 1000).toFixed(1)}s)`);
    } catch (err) {
      row.error = message(err);
      log(`${row.system.name}: failed: ${row.error}`);
    }
  };
  const measureIdleMemory = async (): Promise<void> => {
    if (!measureIdle) return;
    try {
      idle = await measureIdleStreams(await context());
      log(`idle streams: ${idle.streams} → ${idle.withStreamsMiB.toFixed(0)} MiB`);
    } catch (err) {
      idleError = message(err);
      log(`idle streams failed: ${idleError}`);
    }
  };
  if (smoke) {
    // Nothing is timed for real in a smoke run: exercise every system at once, to keep npm test short.
    await Promise.all([...rows.map(measure), measureIdleMemory()]);
  } else {
    for (const [i, row] of rows.entries()) await measure(row, i);
    await measureIdleMemory();
  }
} finally {
  await statements?.end();
  await Promise.allSettled([postgresServer.destroy(), nats.destroy()]);
}

// ---------------------------------------------------------------------------------------------------------------
const report = render();
console.log(report);
if (!smoke && !partial) await writeFile(resolve(import.meta.dirname, "../../docs/BENCHMARKS.md"), report);
// A peer that cannot be installed here (no network, no Go) is reported, not a failure of the smoke
// run; anything that was installed but then failed is.
const failed = rows.filter((r) => r.error && !(r.notInstalled && r.system.kind === "peer")).map((r) => r.system.name);
if (smoke && (failed.length > 0 || idleError !== undefined)) {
  console.error(`bench smoke: failed: ${[...failed, ...(idleError ? ["idle streams"] : [])].join(", ")}`);
  process.exit(1);
}
// Workers' timers and sockets may linger after stop(); the report is out.
process.exit(0);

async function topStatements(sql: postgres.Sql): Promise<string> {
  const rows = await sql<{ calls: string; rows: string; ms: number; query: string }[]>`
    SELECT calls::text, rows::text, total_exec_time AS ms, regexp_replace(query, '[[:space:]]+', ' ', 'g') AS query
    FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 15`;
  return rows.map((r) => `  ${r.ms.toFixed(0).padStart(7)} ms ${r.calls.padStart(7)} calls ${r.rows.padStart(8)} rows  ${r.query.slice(0, 150)}`).join("\n");
}

async function collectVersions(adminUrl: string): Promise<Record<string, string>> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const pg = (await sql`SHOW server_version`)[0]!.server_version as string;
  await sql.end();
  const out = async (cmd: string, args: string[]) =>
    (await run(cmd, args).then(({ stdout, stderr }) => (stdout || stderr).trim(), () => "unknown")).split("\n")[0]!;
  return {
    Node: process.version,
    Go: (await out("go", ["env", "GOVERSION"])) ?? "unknown",
    PostgreSQL: pg,
    "nats-server": await out("/usr/sbin/nats-server", ["--version"]),
    "graphile-worker": GRAPHILE_VERSION,
    "pg-boss": PGBOSS_VERSION,
    River: RIVER_VERSION,
  };
}

function render(): string {
  const count = (n: number) => n.toLocaleString("en-US");
  const byName = (name: string) => rows.find((r) => r.system.name === name);
  const ceilingRow = rows.find((r) => r.system.kind === "ceiling");
  const ceilingRate = ceilingRow?.tp?.tasksPerSecond;

  const table = (header: string[], body: string[][]) =>
    [header, header.map(() => "---"), ...body].map((r) => `| ${r.join(" | ")} |`).join("\n");

  const main = table(
    ["system", "tasks/s", "÷ ceiling", "create→start p50 ms", "p95", "p99", "max", "create call p50 ms", "batch create tasks/s", "Postgres CPU µs/task", "server CPU µs/task", "worker CPU µs/task"],
    rows.map((r) => {
      if (r.error) return [r.system.name, `could not run: ${r.error}`, "", "", "", "", "", "", "", "", "", ""];
      const lat = r.lat;
      const na = lat ? undefined : "n/a";
      return [
        r.system.name,
        fmtRate(r.tp!.tasksPerSecond),
        r.system.kind === "ceiling" ? "1" : fmtRatio(r.tp!.tasksPerSecond, ceilingRate).replace("×", ""),
        na ?? fmtMs(lat!.p50),
        na ?? fmtMs(lat!.p95),
        na ?? fmtMs(lat!.p99),
        na ?? fmtMs(lat!.max),
        na ?? fmtMs(lat!.createCallP50),
        r.tp!.createdPerSecond === undefined ? "n/a" : fmtRate(r.tp!.createdPerSecond),
        fmtCpu(r.tp!.cpu.postgres),
        fmtCpu(r.tp!.cpu.server),
        fmtCpu(r.tp!.cpu.workers),
      ];
    }),
  );

  // Baton's ratios: tasks/s (higher is better for Baton when > 1) and latency (lower is better for Baton when < 1).
  const batonRows = rows.filter((r) => r.system.kind === "baton" && r.tp && r.lat);
  const others = rows.filter((r) => r.system.kind !== "baton" && r.tp);
  const ratios = table(
    ["Baton ÷ …", ...others.map((o) => o.system.name)],
    batonRows.flatMap((b) => [
      [`${b.system.name}: tasks/s`, ...others.map((o) => fmtRatio(b.tp!.tasksPerSecond, o.tp!.tasksPerSecond))],
      [`${b.system.name}: batch create tasks/s`, ...others.map((o) => fmtRatio(b.tp!.createdPerSecond, o.tp!.createdPerSecond))],
      [`${b.system.name}: p50 latency`, ...others.map((o) => fmtRatio(b.lat!.p50, o.lat?.p50))],
      [`${b.system.name}: p99 latency`, ...others.map((o) => fmtRatio(b.lat!.p99, o.lat?.p99))],
    ]),
  );

  const one = byName("Baton, Go stream workers")?.tp;
  const two = rows.find((r) => r.system.name.startsWith("Baton, Go stream workers, 2"))?.tp;
  const baton = table(
    ["Baton figure", "value"],
    [
      ["tasks/s, 1 replica (Go stream workers)", one ? fmtRate(one.tasksPerSecond) : "n/a"],
      ["tasks/s, 2 replicas on the same Postgres (NATS between them)", two ? `${fmtRate(two.tasksPerSecond)} (${fmtRatio(two.tasksPerSecond, one?.tasksPerSecond)} of 1 replica)` : "n/a"],
      ["RSS of one idle replica (server process)", idle ? `${idle.baselineMiB.toFixed(0)} MiB` : `n/a${idleError ? `: ${idleError}` : ""}`],
      [
        `RSS with ${count(settings.idleStreams)} idle worker streams (${STREAMS_PER_CONNECTION} per HTTP/2 connection)`,
        idle ? `${idle.withStreamsMiB.toFixed(0)} MiB (+${idle.perStreamKiB.toFixed(1)} KiB per stream; opened in ${idle.openSeconds.toFixed(1)} s)` : "n/a",
      ],
    ],
  );

  const machine = `${cpus().length} cores (${cpus()[0]?.model.trim() ?? "unknown"}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM`;
  const failures = [
    ...rows.filter((r) => r.error).map((r) => `- **${r.system.name}** could not run here: ${r.error}`),
    ...(idleError ? [`- **idle streams**: ${idleError}`] : []),
  ];
  return [
    "# Benchmarks",
    "",
    "<!-- Written by `npm run bench` (test/bench/run.ts); numbers from the last full run, on the machine below. -->",
    "",
    `Run ${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC${smoke ? " (**smoke run: tiny counts, the numbers mean nothing**)" : ""} on ${machine}. ` +
      `Load average (1, 5, 15 min) ${loadAtStart} at the start, ${load()} at the end: ` +
      "the machine is shared, so other work competes for the same cores and every figure is noisy.",
    "",
    `Versions: ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(", ")}.`,
    "",
    "Method: one PostgreSQL server (test/support/postgres.ts: fsync on, synchronous_commit on, data on tmpfs, shared_buffers 128MB), " +
      "every system in its own database on it, one system at a time, each with the same concurrency budget of " +
      `${settings.concurrency} handler slots (River excepted: see below). The bench process, the Baton replicas, the workers and Postgres share the machine's cores.`,
    "",
    `- **Throughput**: ${count(settings.throughputTasks)} no-op tasks are created first, then the workers start; tasks/s is tasks ÷ time from starting the workers to the last completion being committed.` +
      ` Batch create tasks/s is how fast those tasks were created: ${CREATE_BATCH} a call through the system's batch API, two calls in flight (the ceiling and River create theirs their own way: n/a).`,
    `- **Latency**: then, on the same database and workers, ${count(settings.latencyTasks)} tasks created one at a time, each awaited until its handler starts: create→start is from just before the create call to the handler's first line` +
      " (wall clock; a Go handler reports its own clock reading, on the same machine). Create call p50 is the create call alone, until it returned the id:" +
      " for Baton an RPC through the server, for the peers and the ceiling a direct SQL insert from the bench process.",
    "- **Producers**: Baton's tasks are created with the @baton/sdk Client from the bench process, over its default transport (Connect, HTTP/1.1): BatchCreateTasks of 500 for the burn-down, CreateTask for latency; each peer with its own client API, also from the bench process.",
    "- **CPU µs/task**: user + system CPU during the burn-down ÷ tasks, from /proc/<pid>/stat: Postgres is the postmaster and every backend (including those that exited);" +
      " server is the Baton replica process(es); worker is the process running the handlers (for systems in the bench process, the whole bench process).",
    "- **÷ ceiling**: tasks/s as a fraction of the raw-SQL ceiling's.",
    "",
    main,
    "",
    "Baton's ratios to each peer and to the ceiling (tasks/s: above 1× Baton is faster; latency: below 1× Baton is faster):",
    "",
    ratios,
    "",
    baton,
    "",
    "Systems and settings:",
    "",
    ...rows.map((r) => `- **${r.system.name}**: ${r.system.describe(settings)}.${r.system.latencyNote ? ` Latency n/a: ${r.system.latencyNote}.` : ""}`),
    `- **idle streams**: \`batonbench idle\` (test/bench/go) opens ${count(settings.idleStreams)} WorkerService.Connect streams to a fresh replica, ${STREAMS_PER_CONNECTION} per HTTP/2 connection: ` +
      `Hello (1 slot, queue idle), Welcome, then an empty WorkerHeartbeat per interval; the replica runs with BATON_WORKER_HEARTBEAT_INTERVAL_MS=${IDLE_HEARTBEAT_MS} ` +
      "(at the default 1 s, 10,000 streams send 12,500 heartbeats a second, which this shared 2-core machine could not keep up with: streams were dropped); " +
      "VmRSS of the server's node process before the streams and 3 s after the last Welcome.",
    ...(failures.length > 0 ? ["", "Not measured:", "", ...failures] : []),
    "",
    "Reading the figures fairly:",
    "",
    "- **Versions.** The newest releases that run on Node 20. graphile-worker 0.17.3, not 0.16.x: 0.16.6 has neither `localQueue` nor `completeJobBatchDelay` " +
      "(both arrived in 0.17.0, and they are the settings its performance page uses), and 0.18.0 requires Node ≥ 22.18. pg-boss 10.4.2: 11.x requires Node 22. " +
      "River: `go install github.com/riverqueue/river/cmd/river@v0.47.0` fails here because the Go module proxy serves no version list for cmd/river " +
      "(and `go install pkg@version` asks it for deprecations), so test/bench/river pins the CLI with a go.mod `tool` directive and go.sum and builds it into .tools/bin/river; " +
      "v0.47.0 is the newest cmd/river the proxy serves.",
    "- **River** runs its own benchmark with its own settings (2,000 workers, not our budget) and measures throughput only; its figure is an upper bound for it, not a like-for-like run.",
    "- **pg-boss** 10.x has no LISTEN/NOTIFY wake-up: a worker polls, at most every 0.5 s, so its create→start latency is its polling interval by design.",
    "- **The ceiling** does far less than any queue: no attempt history, no events, no result, no retry state. It is the floor of Postgres work for a claim and a completion, not a competitor.",
    "- **Baton does more per task than the peers**: every state change also writes an attempt row and an outbox event with a JSON snapshot of the task (created, claimed, completed), " +
      "and a sequencer stamps the events with gap-free cursors for WatchTasks (docs/ARCHITECTURE.md); workers hold leases renewed by heartbeats. " +
      "Workers, servers and Postgres all share the same two cores, so a system with more processes in play (Baton: bench process, replica, Go workers) also competes with itself.",
    "- **Run to run.** This machine is a VM whose speed drifts: the same build has measured 2,800–5,200 tasks/s (Baton, Go workers) in runs an hour apart, the ceiling 42,800–75,500." +
      " Compare figures within one run (the ratios), not across runs.",
    "",
    "Where Baton's time goes, what was tried and what is next: [PERFORMANCE.md](PERFORMANCE.md).",
    "",
  ].join("\n");
}
