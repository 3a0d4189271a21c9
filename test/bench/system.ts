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
  /** Idle worker streams held by one replica for the memory figure. */
  idleStreams: number;
  smoke: boolean;
}

/** What a system gets to run on. */
export interface BenchContext {
  /** An empty database of its own on the shared server. */
  databaseUrl: string;
  settings: BenchSettings;
  /** CPU milliseconds used so far by the Postgres server (postmaster and every backend). */
  postgresCpuMs(): number;
  natsUrl: string;
  /** Progress lines on stderr. */
  log(msg: string): void;
}

/** CPU milliseconds per task during the burn-down; unset where not measured. */
export interface CpuPerTask {
  postgres?: number;
  /** The Baton replica(s). */
  server?: number;
  /** The workers (the bench process itself for in-process peers, or their own processes). */
  workers?: number;
}

export interface ThroughputResult {
  tasks: number;
  seconds: number;
  tasksPerSecond: number;
  cpu: CpuPerTask;
  /** How fast the burn-down's tasks were created through the system's batch API; unset where it has none. */
  createdPerSecond?: number;
}

/** Tasks in one batch create call, for every system. */
export const CREATE_BATCH = 500;

/**
 * Creates `n` tasks through `createBatch`, CREATE_BATCH a call with two calls in
 * flight (the same for every system), and returns tasks created per second.
 */
export async function createInBatches(n: number, createBatch: (size: number) => Promise<unknown>): Promise<number> {
  const sizes: number[] = [];
  for (let made = 0; made < n; made += CREATE_BATCH) sizes.push(Math.min(CREATE_BATCH, n - made));
  const began = performance.now();
  const lane = async (): Promise<void> => {
    for (let size = sizes.shift(); size !== undefined; size = sizes.shift()) await createBatch(size);
  };
  await Promise.all([lane(), lane()]);
  return n / ((performance.now() - began) / 1000);
}

export interface BenchSystem {
  /** Short row label. */
  name: string;
  kind: "baton" | "peer" | "ceiling";
  /** Version and settings, printed so the run can be reproduced. */
  describe(s: BenchSettings): string;
  /** Builds or checks what it needs (binaries); throws with the reason it cannot run here. */
  prepare?(): Promise<void>;
  /** Why latency is n/a, when the system has no latency(). */
  latencyNote?: string;
  /**
   * Sets the system up on its database. The throughput run comes first, then the
   * latency run, on the same database and the same workers.
   */
  start(ctx: BenchContext): Promise<RunningSystem>;
}

export interface RunningSystem {
  /** Burn-down of pre-created no-op tasks: creates them, then starts the workers and times them. */
  throughput(): Promise<ThroughputResult>;
  /** Create→start latency; absent when the system offers no way to measure it (reported n/a). */
  latency?(): Promise<LatencySummary>;
  stop(): Promise<void>;
}

/** Resolves when `count` reaches `target`; `tick()` counts one. */
export function countdown(target: number): { tick(): void; done: Promise<void>; readonly count: number } {
  let count = 0;
  let resolve = () => {};
  const done = new Promise<void>((r) => (resolve = r));
  if (target <= 0) resolve();
  return {
    tick() {
      if (++count === target) resolve();
    },
    done,
    get count() {
      return count;
    },
  };
}

/**
 * The latency loop every system shares: create one task, wait until a handler
 * reports it started, repeat. `create` returns the task's id once the producer's
 * call returned; `startedAt(id)` resolves with the handler's start time. Times
 * are wall-clock milliseconds (performance.timeOrigin + now()), so a handler in
 * another process can report its own clock reading.
 */
export function startTracker(): {
  /** Call from the handler (or the line reader) with the task id and when it started. */
  started(id: string, atMs?: number): void;
  /** Waits for the task's start; returns its time. */
  waitFor(id: string, timeoutMs?: number): Promise<number>;
} {
  const early = new Map<string, number>();
  const waiting = new Map<string, (at: number) => void>();
  return {
    started(id, atMs = nowMs()) {
      const w = waiting.get(id);
      if (w) {
        waiting.delete(id);
        w(atMs);
      } else early.set(id, atMs); // the handler started before the create call returned
    },
    waitFor(id, timeoutMs = 60_000) {
      const at = early.get(id);
      if (at !== undefined) {
        early.delete(id);
        return Promise.resolve(at);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`task ${id} did not start within ${timeoutMs}ms`));
        }, timeoutMs);
        waiting.set(id, (t) => {
          clearTimeout(timer);
          resolve(t);
        });
      });
    },
  };
}

/** Wall-clock milliseconds with sub-millisecond resolution. */
export const nowMs = () => performance.timeOrigin + performance.now();

/** Runs `create` latencyTasks times in sequence, each awaited until its start; returns the samples. */
/** One latency run: create→start per task, and how long the create call alone took. */
export interface LatencySamples {
  toStart: number[];
  createCall: number[];
}

export async function measureLatency(
  n: number,
  create: () => Promise<string>,
  tracker: ReturnType<typeof startTracker>,
): Promise<LatencySamples> {
  const samples: LatencySamples = { toStart: [], createCall: [] };
  for (let i = 0; i < n; i++) {
    const t0 = nowMs();
    const id = await create();
    samples.createCall.push(nowMs() - t0);
    const at = await tracker.waitFor(id);
    samples.toStart.push(at - t0);
  }
  return samples;
}

/** CPU per task over a window: call once before the burn-down, then perTask(n) after it. */
export function cpuMeter(ctx: BenchContext, opts: { server?: () => number; workers?: () => number }) {
  const pg0 = ctx.postgresCpuMs();
  const server0 = opts.server?.();
  const workers0 = opts.workers?.();
  return {
    perTask(tasks: number): CpuPerTask {
      const per = (now: number | undefined, then: number | undefined) => (now === undefined || then === undefined ? undefined : (now - then) / tasks);
      return { postgres: per(ctx.postgresCpuMs(), pg0), server: per(opts.server?.(), server0), workers: per(opts.workers?.(), workers0) };
    },
  };
}
