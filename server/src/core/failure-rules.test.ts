import { describe, expect, it } from "vitest";
import { decideAfterFailure, type FailedAttempt } from "./failure-rules.js";

const base: FailedAttempt = {
  attempt: 1,
  attemptBase: 0,
  maxAttempts: 3,
  policy: { initialBackoffMs: 1_000, multiplier: 2, maxBackoffMs: 60_000, jitter: 0, nonRetryableErrorTypes: ["http_400"] },
  errorType: "http_503",
  nonRetryable: false,
  retryAfterMs: 0,
  cancelRequested: false,
  nowMs: 1_000_000,
};
const fixed = () => 0;

describe("decideAfterFailure (T4, T5, T6, W2)", () => {
  it("retries a retryable failure at now + backoff of the attempt number", () => {
    expect(decideAfterFailure(base, fixed)).toEqual({ state: "pending", scheduledAtMs: 1_001_000 });
    expect(decideAfterFailure({ ...base, attempt: 2 }, fixed)).toEqual({ state: "pending", scheduledAtMs: 1_002_000 });
  });

  it("waits for retry_after when it is later than the backoff (T5)", () => {
    expect(decideAfterFailure({ ...base, retryAfterMs: 30_000 }, fixed)).toEqual({ state: "pending", scheduledAtMs: 1_030_000 });
    expect(decideAfterFailure({ ...base, retryAfterMs: 500 }, fixed)).toEqual({ state: "pending", scheduledAtMs: 1_001_000 });
  });

  it("dead-letters a failure marked non_retryable at once (T6)", () => {
    const d = decideAfterFailure({ ...base, nonRetryable: true });
    expect(d.state).toBe("dead_letter");
    expect(d.state === "dead_letter" && d.reason).toContain("http_503");
  });

  it("dead-letters an error type listed in non_retryable_error_types at once (T6)", () => {
    const d = decideAfterFailure({ ...base, errorType: "http_400" });
    expect(d.state).toBe("dead_letter");
    expect(d.state === "dead_letter" && d.reason).toContain("http_400");
    // Exact match only.
    expect(decideAfterFailure({ ...base, errorType: "http_4000" }, fixed).state).toBe("pending");
  });

  it("dead-letters the last allowed attempt (T4)", () => {
    expect(decideAfterFailure({ ...base, attempt: 2 }, fixed).state).toBe("pending");
    const d = decideAfterFailure({ ...base, attempt: 3 });
    expect(d).toEqual({ state: "dead_letter", reason: "all 3 attempts failed; last error: http_503" });
    expect(decideAfterFailure({ ...base, maxAttempts: 1 }).state).toBe("dead_letter");
  });

  it("counts attempts from the last requeue (T4)", () => {
    // attempt 5 after a requeue at attempt 4: the first of a fresh budget of 3.
    expect(decideAfterFailure({ ...base, attempt: 5, attemptBase: 4 }, fixed)).toEqual({ state: "pending", scheduledAtMs: 1_001_000 });
    expect(decideAfterFailure({ ...base, attempt: 7, attemptBase: 4 }).state).toBe("dead_letter");
  });

  it("cancels a task whose cancellation was requested, whatever the error (W2)", () => {
    for (const f of [{}, { nonRetryable: true }, { attempt: 3 }, { errorType: "http_400" }]) {
      expect(decideAfterFailure({ ...base, ...f, cancelRequested: true }).state).toBe("cancelled");
    }
  });

  it("applies jitter through the random source", () => {
    const p = { ...base, policy: { ...base.policy, jitter: 0.5 } };
    expect(decideAfterFailure(p, () => 1)).toEqual({ state: "pending", scheduledAtMs: 1_000_500 });
  });
});
