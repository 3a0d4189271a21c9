import type { Bus } from "./bus.js";

/**
 * A lease-holder must be told at once when its task is cancelled (X1) or its
 * lease is lost (B2), but the holder's stream may be on any replica: the signal
 * goes to all of them over the bus and the one holding the session delivers it.
 * A lost signal is recovered by the worker's next heartbeat.
 */
export interface LeaseSignal {
  taskId: string;
  leaseId: string;
  reason: string;
  leaseLost: boolean;
}

const SUBJECT = "baton.lease.signal";

export function publishLeaseSignal(bus: Bus, signal: LeaseSignal): void {
  bus.publish(SUBJECT, new TextEncoder().encode(JSON.stringify(signal)));
}

export function subscribeLeaseSignals(bus: Bus, onSignal: (s: LeaseSignal) => void): () => void {
  return bus.subscribe(SUBJECT, (data) => {
    try {
      onSignal(JSON.parse(new TextDecoder().decode(data)) as LeaseSignal);
    } catch {
      // A malformed hint is dropped; heartbeats still deliver the truth.
    }
  });
}
