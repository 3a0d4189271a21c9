// The short chaos run inside `npm test`: 1,000 tasks, 6 worker processes (TS,
// Python, Go), two replicas over a private Postgres and nats-server, and every
// fault kind once on a seeded schedule (kill -9 a worker mid-task, SIGSTOP one
// past its lease, kill -9 a replica, restart Postgres, restart nats-server, drop
// worker streams). Nothing may be lost, nothing completed twice, no stale result
// accepted, no watch event missed. The long run is `npm run chaos` (test/chaos/run.ts).
//
// Replay a failure with BATON_CHAOS_SEED=<seed printed in the report>.
import { describe, expect, it } from "vitest";
import { formatReport, runChaos } from "./harness.js";

const seed = Number(process.env.BATON_CHAOS_SEED ?? 20261124);

describe("chaos (short)", () => {
  it("loses nothing and completes nothing twice under every kind of fault", { timeout: 240_000 }, async () => {
    const report = await runChaos({
      seed,
      tasks: 1_000,
      fleet: { ts: 2, python: 2, go: 2 },
      slots: 4,
      createOverMs: 20_000,
      faults: "each-once",
      gapMs: [300, 1_000],
      handlerMs: [20, 200],
      slowShare: 0.05,
      slowMs: [500, 1_500],
      failShare: 0.05,
      heartbeatTimeoutS: 2,
      deadlineMs: 200_000,
      progress: process.env.BATON_TEST_LOG ? (line) => console.log(line) : undefined,
    });
    console.log(formatReport(report));
    expect(report.violations).toEqual([]);
    expect(report.check.stats.tasks).toBeGreaterThanOrEqual(1_000);
    expect(new Set(report.faults.map((f) => f.kind)).size).toBe(6);
  });
});
