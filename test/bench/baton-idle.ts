/** Memory of one replica holding many idle worker streams (opened by `batonbench idle`). */
import { buildGoBench, startReplicas } from "./baton-common.js";
import { spawnLines } from "./child.js";
import { findInTree, rssKiB } from "./proc.js";
import type { BenchContext } from "./system.js";

export const STREAMS_PER_CONNECTION = 100;
/**
 * Welcome.heartbeat_interval for this replica (BATON_WORKER_HEARTBEAT_INTERVAL_MS).
 * The default 1 s means 12,500 heartbeats a second from 10,000 streams, which a
 * replica sharing 2 loaded cores with Postgres and the stream opener cannot keep
 * up with; a fleet that large would use a longer interval.
 */
export const IDLE_HEARTBEAT_MS = 10_000;

export interface IdleMemory {
  streams: number;
  baselineMiB: number;
  withStreamsMiB: number;
  /** (with − baseline) / streams. */
  perStreamKiB: number;
  openSeconds: number;
}

export async function measureIdleStreams(ctx: BenchContext): Promise<IdleMemory> {
  const bin = await buildGoBench();
  const SETTLE_MS = ctx.settings.smoke ? 300 : 3_000;
  const replicas = await startReplicas(ctx, 1, { BATON_WORKER_HEARTBEAT_INTERVAL_MS: String(IDLE_HEARTBEAT_MS) });
  try {
    const replica = replicas.list[0]!;
    // The node process running the server, not the tsx wrapper that launched it.
    const server = findInTree(replica.process.pid!, "server/src/main.ts") ?? replica.process.pid!;
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const baseline = rssKiB(server);
    const streams = ctx.settings.idleStreams;
    const began = performance.now();
    const idle = spawnLines(bin, ["idle", "-url", replica.url, "-streams", String(streams), "-per-conn", String(STREAMS_PER_CONNECTION)]);
    try {
      await idle.waitFor((l) => l.startsWith("ready "), 300_000);
      const openSeconds = (performance.now() - began) / 1000;
      // Let heartbeats, the registry refresh (one statement per tick for all sessions) and GC settle.
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const withStreams = rssKiB(server);
      return {
        streams,
        baselineMiB: baseline / 1024,
        withStreamsMiB: withStreams / 1024,
        perStreamKiB: (withStreams - baseline) / streams,
        openSeconds,
      };
    } finally {
      await idle.stop();
    }
  } finally {
    await replicas.stop();
  }
}
