import { describe, expect, it } from "vitest";
import { expiredAttemptOutcome } from "./lease.js";

describe("expiredAttemptOutcome (L3)", () => {
  it("is LEASE_EXPIRED for a lease that lapsed before the start-to-close deadline", () => {
    expect(expiredAttemptOutcome(31_000, 1_000, 3_600_000)).toBe("lease_expired");
    expect(expiredAttemptOutcome(3_600_999, 1_000, 3_600_000)).toBe("lease_expired");
  });

  it("is TIMED_OUT for a lease that ran out at (or past) start + start_to_close", () => {
    expect(expiredAttemptOutcome(3_601_000, 1_000, 3_600_000)).toBe("timed_out");
    expect(expiredAttemptOutcome(9_999_999, 1_000, 3_600_000)).toBe("timed_out");
  });

  it("times out a lease capped at start + start_to_close (L2), and expires an uncapped one", () => {
    // What store/task-leases.ts's least(now() + heartbeat, start + start_to_close) gives.
    expect(expiredAttemptOutcome(Math.min(3_590_000 + 30_000, 3_600_000), 0, 3_600_000)).toBe("timed_out");
    expect(expiredAttemptOutcome(Math.min(10_000 + 30_000, 3_600_000), 0, 3_600_000)).toBe("lease_expired");
  });
});
