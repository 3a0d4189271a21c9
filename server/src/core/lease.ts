/**
 * Lease deadlines (rule L2): a heartbeat extends the lease by the heartbeat
 * timeout, but never past the attempt's start-to-close deadline, so a task that
 * keeps heartbeating still ends when its attempt runs out of time.
 */
export function leaseExpiresAt(nowMs: number, startedAtMs: number, heartbeatMs: number, startToCloseMs: number): number {
  return Math.min(nowMs + heartbeatMs, startedAtMs + startToCloseMs);
}

/** How an expired lease is recorded (rule L3). */
export function expiredAttemptOutcome(
  nowMs: number,
  startedAtMs: number,
  startToCloseMs: number,
): "timed_out" | "lease_expired" {
  return nowMs >= startedAtMs + startToCloseMs ? "timed_out" : "lease_expired";
}
