/**
 * One system under test. Every system is measured on the same Postgres server
 * (its own database), with the same task counts and concurrency budget, so the
 * figures can be put side by side.
 */
import type { LatencySummary } from "./stats.js";

export interface BenchSettings {
  /** Tasks pre-created, then burned down by the workers. */
  throughputTasks: number;
  /** Tasks created one at a time, each awaited until its handler starts. */
  latencyTasks: number;
  /** Total handler slots across all workers. */
  concurrency: number;
}

export interface ThroughputResult {
  tasks: number;
  seconds: number;
  tasksPerSecond: number;
}

export interface BenchSystem {
  name: string;
  /** Versions and settings, printed so the run can be reproduced. */
  describe(): string;
  throughput(databaseUrl: string, s: BenchSettings): Promise<ThroughputResult>;
  latency(databaseUrl: string, s: BenchSettings): Promise<LatencySummary>;
}
