import { describe, expect, it } from "vitest";
import { backoffMs, type BackoffPolicy } from "./backoff.js";

const policy: BackoffPolicy = { initialBackoffMs: 1_000, multiplier: 2, maxBackoffMs: 60_000, jitter: 0 };
const noJitter = () => 0;

describe("backoffMs (T5)", () => {
  it("grows initial_backoff * multiplier^(n-1)", () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(policy, n, noJitter))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000]);
  });

  it("treats retry numbers below 1 as the first retry", () => {
    expect(backoffMs(policy, 0, noJitter)).toBe(1_000);
    expect(backoffMs(policy, -3, noJitter)).toBe(1_000);
  });

  it("caps each delay at max_backoff", () => {
    expect(backoffMs(policy, 7, noJitter)).toBe(60_000);
    expect(backoffMs(policy, 100, noJitter)).toBe(60_000);
  });

  it("stays capped when the exponent overflows to Infinity", () => {
    const huge = { ...policy, multiplier: 10 };
    expect(backoffMs(huge, 10_000, noJitter)).toBe(60_000);
    expect(backoffMs({ ...huge, jitter: 0.5 }, 10_000, () => 1)).toBe(30_000);
  });

  it("keeps a multiplier of 1 constant", () => {
    expect(backoffMs({ ...policy, multiplier: 1 }, 9, noJitter)).toBe(1_000);
  });

  it("subtracts up to `jitter` of the delay, never adding to it", () => {
    const p = { ...policy, jitter: 0.2 };
    expect(backoffMs(p, 3, () => 0)).toBe(4_000);
    expect(backoffMs(p, 3, () => 0.5)).toBe(3_600);
    expect(backoffMs(p, 3, () => 0.999999)).toBe(3_200);
    for (let i = 0; i < 1_000; i++) {
      const d = backoffMs(p, 3);
      expect(d).toBeGreaterThanOrEqual(3_200);
      expect(d).toBeLessThanOrEqual(4_000);
    }
  });

  it("jitters relative to the capped delay", () => {
    expect(backoffMs({ ...policy, jitter: 1 }, 50, () => 0.25)).toBe(45_000);
  });

  it("gives 0 for a zero initial backoff, and whole milliseconds otherwise", () => {
    expect(backoffMs({ ...policy, initialBackoffMs: 0 }, 5, () => 0.3)).toBe(0);
    expect(Number.isInteger(backoffMs({ ...policy, initialBackoffMs: 333, jitter: 0.3 }, 2, () => 0.123))).toBe(true);
  });
});
