/*
 * Lease deadlines (rule L2: a heartbeat extends the lease by the heartbeat
 * timeout, never past the attempt's start + start_to_close) have one home: the
 * SQL in store/task-leases.ts (taskClaim, taskHeartbeat, taskHeartbeatMany, taskExtendLease), as
 * `least(now() + heartbeat, lease_started_at + start_to_close)`. SQL, not here,
 * because the database clock is the one clock all replicas share and the batched
 * heartbeat extends many leases in one statement; a copy here could only drift.
 */

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
