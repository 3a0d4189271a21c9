import { connect } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { Bus } from "./bus.js";
import { createMemoryBus } from "./memory-bus.js";

/**
 * The multi-replica bus. Core NATS (no JetStream): messages are hints, and a
 * missed one is recovered by the periodic sweeps, so at-most-once is enough.
 * Reconnects forever: while NATS is down, replicas fall back to polling.
 *
 * A replica's own subscribers hear its messages in-process, at once, and NATS
 * does not echo them back (noEcho): a task created on a replica with a worker
 * stream for its queue is claimed without waiting for a round trip through
 * nats-server, and the hint is not handled twice.
 */
export async function createNatsBus(url: string, log: Logger): Promise<Bus> {
  const nc = await connect({
    servers: url,
    name: "baton-server",
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 5_000,
    noEcho: true,
  });
  const local = createMemoryBus();
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect" || s.type === "reconnect") log.warn({ nats: s.type }, "nats connection status changed");
    }
  })();
  return {
    publish(subject, data) {
      local.publish(subject, data);
      try {
        nc.publish(subject, data);
      } catch (err) {
        // Publishing while closed or draining only loses a hint.
        log.debug({ err, subject }, "nats publish dropped");
      }
    },
    subscribe(subject, onMessage) {
      const unsubscribeLocal = local.subscribe(subject, onMessage);
      const sub = nc.subscribe(subject, { callback: (_err, msg) => onMessage(msg.data) });
      return () => {
        unsubscribeLocal();
        sub.unsubscribe();
      };
    },
    async close() {
      await local.close();
      await nc.drain().catch(() => nc.close());
    },
  };
}
