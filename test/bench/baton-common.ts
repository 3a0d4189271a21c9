/** What the Baton systems share: replicas as processes, task creation, CPU of the servers. */
import { join, resolve } from "node:path";
import { Client } from "../../sdk/ts/src/index.js";
import { startReplica, type Replica } from "../support/replica.js";
import { run } from "./child.js";
import { treeCpuMs } from "./proc.js";
import { createInBatches, type BenchContext } from "./system.js";

export const ROOT = resolve(import.meta.dirname, "../..");
export const QUEUE = "bench";
export const BATON_VERSION = "0.1.0";

export interface Replicas {
  list: Replica[];
  urls: string[];
  /** CPU ms of every replica process so far (the tsx wrapper and the node server under it). */
  cpuMs(): number;
  stop(): Promise<void>;
}

export async function startReplicas(ctx: BenchContext, count: number, env: Record<string, string> = {}): Promise<Replicas> {
  const list = await Promise.all(Array.from({ length: count }, () => startReplica({ databaseUrl: ctx.databaseUrl, natsUrl: ctx.natsUrl, env })));
  return {
    list,
    urls: list.map((r) => r.url),
    cpuMs: () => treeCpuMs(...list.map((r) => r.process.pid!)),
    async stop() {
      await Promise.all(list.map((r) => r.stop()));
    },
  };
}

/** Creates `n` no-op tasks with BatchCreateTasks (createInBatches); resolves with tasks created per second. */
export function createNoopTasks(client: Client, n: number): Promise<number> {
  return createInBatches(n, (size) => client.batchCreateTasks(Array.from({ length: size }, () => ({ queue: QUEUE, type: "noop" }))));
}

/** Creates one task; resolves with its id. */
export async function createOne(client: Client): Promise<string> {
  const { task } = await client.createTask({ queue: QUEUE, type: "noop" });
  return task.id;
}

const GO_BIN = join(ROOT, ".tools/bench/batonbench");

/** Builds test/bench/go into .tools/bench/batonbench (quick when Go's build cache is warm). */
export async function buildGoBench(): Promise<string> {
  try {
    await run("go", ["build", "-o", GO_BIN, "."], { cwd: join(ROOT, "test/bench/go"), env: { ...process.env, GOTOOLCHAIN: "local" } });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`go build of test/bench/go failed: ${(e.stderr || e.message).trim()}`);
  }
  return GO_BIN;
}
