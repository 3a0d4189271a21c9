import { defineConfig } from "vitest/config";

// Two projects: pure unit tests beside the code (no services), and integration
// tests under test/ that share one real Postgres and one nats-server per run.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          // Unit tests first; the two projects use different worker counts.
          sequence: { groupOrder: 0 },
          include: ["server/src/**/*.test.ts", "sdk/ts/src/**/*.test.ts", "conformance/src/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "integration",
          sequence: { groupOrder: 1 },
          include: ["test/**/*.test.ts"],
          exclude: ["test/bench/**", "test/chaos/long/**"],
          globalSetup: ["test/support/global-setup.ts"],
          testTimeout: 120_000,
          // Opening an embedded (PGlite) database takes seconds, far more on a loaded machine.
          hookTimeout: 180_000,
          // 2 cores: a few files at once keeps Postgres busy without starving timers.
          maxWorkers: 3,
        },
      },
    ],
  },
});
