/**
 * Lease deadlines (rule L2): a heartbeat extends the lease by the heartbeat
 * timeout, but never past the attempt's start-to-close deadline, so a task that
 * keeps heartbeating still ends when its attempt runs out of time.
 */
export function leaseExpiresAt(nowMs: number, startedAtMs: number, heartbeatMs: number, startToCloseMs: number): number {
  return Math.min(nowMs + heartbeatMs, startedAtMs + startToCloseMs);
}

/**
 * How an expired lease is recorded (rule L3): TIMED_OUT when the lease ran out at
 * the attempt's start-to-close deadline, LEASE_EXPIRED when it lapsed earlier for
 * want of a heartbeat. Judged by when the lease expired, not by when the sweep
 * noticed, so a late sweep does not turn a missed heartbeat into a timeout.
 */
export function expiredAttemptOutcome(
  leaseExpiredAtMs: number,
  startedAtMs: number,
  startToCloseMs: number,
): "timed_out" | "lease_expired" {
  return leaseExpiredAtMs >= startedAtMs + startToCloseMs ? "timed_out" : "lease_expired";
}
