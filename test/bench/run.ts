/**
 * npm run bench [-- --smoke]
 *
 * Starts a local Postgres (and NATS), measures every system on it — each in its
 * own database, with the same task counts and concurrency — and prints one table.
 * The full run also writes docs/BENCHMARKS.md. --smoke uses tiny counts so the
 * harness is exercised inside `npm test` without timing anything that matters.
 */
import { cpus, totalmem } from "node:os";
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { createDatabaseAt } from "../support/pg-admin.js";
import { startNats } from "../support/nats.js";
import { startPostgres } from "../support/postgres.js";
import { batonStream } from "./baton-stream.js";
import { fmtMs, fmtRate } from "./stats.js";
import type { BenchSettings, BenchSystem } from "./system.js";

const smoke = process.argv.includes("--smoke");
const settings: BenchSettings = smoke
  ? { throughputTasks: 200, latencyTasks: 20, concurrency: 8 }
  : { throughputTasks: 20_000, latencyTasks: 1_000, concurrency: 200 };

const postgres = await startPostgres({ settings: { synchronous_commit: "on", fsync: "on" } });
const nats = await startNats({ jetstream: false });
const rows: string[][] = [];
const details: string[] = [];
try {
  const systems: BenchSystem[] = [batonStream(nats.url)];
  let n = 0;
  for (const system of systems) {
    details.push(`- **${system.name}**: ${system.describe()}`);
    const tp = await system.throughput(await createDatabaseAt(postgres.url, `bench_tp_${n}`), settings);
    const lat = await system.latency(await createDatabaseAt(postgres.url, `bench_lat_${n++}`), settings);
    rows.push([system.name, fmtRate(tp.tasksPerSecond), fmtMs(lat.p50), fmtMs(lat.p95), fmtMs(lat.p99), fmtMs(lat.max)]);
    console.error(`bench: ${system.name} done`);
  }
} finally {
  await Promise.allSettled([postgres.destroy(), nats.destroy()]);
}

const header = ["system", `tasks/s (${settings.throughputTasks.toLocaleString("en-US")} no-op burn-down)`, "create→start p50 ms", "p95", "p99", "max"];
const table = [header, header.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, Postgres 15 (fsync on)`;
const report = [
  "# Benchmarks",
  "",
  "<!-- Written by `npm run bench`; numbers from the last full run on the machine below. -->",
  "",
  `Machine: ${machine}. Concurrency budget: ${settings.concurrency} handler slots. Latency: ${settings.latencyTasks} tasks created one at a time, each awaited until its handler starts.`,
  "",
  table,
  "",
  "Systems and settings:",
  "",
  ...details,
  "",
].join("\n");
console.log(report);
if (!smoke) await writeFile(resolve(import.meta.dirname, "../../docs/BENCHMARKS.md"), report);
// Workers' timers and sockets may linger after stop(); the report is out.
process.exit(0);
