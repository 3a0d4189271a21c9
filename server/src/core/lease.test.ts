import { describe, expect, it } from "vitest";
import { expiredAttemptOutcome, leaseExpiresAt } from "./lease.js";

describe("leaseExpiresAt (L2)", () => {
  it("is now + heartbeat timeout while within start-to-close", () => {
    expect(leaseExpiresAt(10_000, 0, 30_000, 3_600_000)).toBe(40_000);
  });

  it("never passes the attempt's start + start_to_close", () => {
    expect(leaseExpiresAt(3_590_000, 0, 30_000, 3_600_000)).toBe(3_600_000);
    expect(leaseExpiresAt(5_000_000, 0, 30_000, 3_600_000)).toBe(3_600_000);
    // The first lease of a task whose heartbeat exceeds its start-to-close.
    expect(leaseExpiresAt(1_000, 1_000, 30_000, 5_000)).toBe(6_000);
  });
});

describe("expiredAttemptOutcome (L3)", () => {
  it("is LEASE_EXPIRED for a lease that lapsed before the start-to-close deadline", () => {
    expect(expiredAttemptOutcome(31_000, 1_000, 3_600_000)).toBe("lease_expired");
    expect(expiredAttemptOutcome(3_600_999, 1_000, 3_600_000)).toBe("lease_expired");
  });

  it("is TIMED_OUT for a lease that ran out at (or past) start + start_to_close", () => {
    expect(expiredAttemptOutcome(3_601_000, 1_000, 3_600_000)).toBe("timed_out");
    expect(expiredAttemptOutcome(9_999_999, 1_000, 3_600_000)).toBe("timed_out");
  });

  it("agrees with leaseExpiresAt: a capped lease times out, an uncapped one expires", () => {
    const start = 0;
    const capped = leaseExpiresAt(3_590_000, start, 30_000, 3_600_000);
    expect(expiredAttemptOutcome(capped, start, 3_600_000)).toBe("timed_out");
    const plain = leaseExpiresAt(10_000, start, 30_000, 3_600_000);
    expect(expiredAttemptOutcome(plain, start, 3_600_000)).toBe("lease_expired");
  });
});
