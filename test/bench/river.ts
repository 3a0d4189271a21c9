/** River (Go), through its own benchmark: `river bench -n N`, a burn-down of N pre-inserted jobs. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./baton-common.js";
import { run, spawnLines } from "./child.js";
import { treeCpuMs } from "./proc.js";
import type { BenchSystem } from "./system.js";

export const RIVER_VERSION = "v0.47.0"; // test/bench/river/go.mod
const BIN = join(ROOT, ".tools/bin/river");
// ANSI colours of River's log lines (tint).
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/** Builds the pinned River CLI into .tools/bin/river unless it is already there. */
async function ensureRiver(): Promise<void> {
  if (existsSync(BIN)) {
    const { stdout } = await run(BIN, ["version"]).catch(() => ({ stdout: "" }));
    if (stdout.includes(`River version ${RIVER_VERSION}`)) return;
  }
  try {
    await run("go", ["build", "-o", BIN, "github.com/riverqueue/river/cmd/river"], {
      cwd: join(ROOT, "test/bench/river"),
      env: { ...process.env, GOTOOLCHAIN: "local" },
      timeout: 600_000,
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`could not build River ${RIVER_VERSION} (go build in test/bench/river): ${(e.stderr || e.message).trim().slice(-600)}`);
  }
}

export function river(): BenchSystem {
  return {
    name: "River, `river bench`",
    kind: "peer",
    latencyNote: "`river bench` measures only throughput",
    describe: () =>
      `River ${RIVER_VERSION} (Go; CLI built from test/bench/river), \`river migrate-up\` then \`river bench -n N\`: its own fixed settings, ` +
      "not our concurrency budget: MaxWorkers 2,000 on one queue, FetchCooldown 2 ms, FetchPollInterval 20 ms, pgx pool default (max(4, cores)), " +
      "jobs inserted with InsertMany in batches of 5,000; tasks/s is its \"overall job/sec\" (completions seen by its subscription, from client start to the last one)",
    prepare: ensureRiver,

    async start(ctx) {
      try {
        await run(BIN, ["migrate-up", "--database-url", ctx.databaseUrl]);
      } catch (err) {
        const e = err as { stderr?: string; message: string };
        throw new Error(`river migrate-up failed: ${(e.stderr || e.message).trim()}`);
      }
      return {
        async throughput() {
          const n = ctx.settings.throughputTasks;
          const bench = spawnLines(BIN, ["bench", "-v", "--database-url", ctx.databaseUrl, "-n", String(n)]);
          // CPU counts from the moment River starts working (after its inserts) to its summary line.
          let pg0 = 0;
          let river0 = 0;
          bench.onLine((l) => {
            if (l.replace(ANSI, "").includes("starting iteration")) {
              pg0 = ctx.postgresCpuMs();
              river0 = treeCpuMs(bench.pid);
            }
          });
          const summary = (await bench.waitFor((l) => l.startsWith("bench: total jobs worked"), 900_000)).replace(ANSI, "");
          const cpu = { postgres: (ctx.postgresCpuMs() - pg0) / n, workers: (treeCpuMs(bench.pid) - river0) / n };
          await bench.exited;
          const m = /total jobs worked \[\s*(\d+)\s*\].*overall job\/sec \[\s*([\d.]+)\s*\], running (.+)$/.exec(summary);
          if (!m) throw new Error(`cannot parse river bench's summary: ${summary}`);
          const worked = Number(m[1]);
          if (worked !== n) throw new Error(`river bench worked ${worked} jobs, expected ${n}`);
          const rate = Number(m[2]);
          return { tasks: n, seconds: n / rate, tasksPerSecond: rate, cpu };
        },
        async stop() {},
      };
    },
  };
}
