import { describe, expect, it } from "vitest";
import { Backoff, BACKOFF_CAP_MS, BACKOFF_FLOOR_MS } from "./backoff.js";

/** A pinned random source cycling through the given values. */
function fixed(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe("Backoff (N1)", () => {
  it("waits at least 100ms the first time and at most twice that", () => {
    expect(new Backoff({ random: fixed(0) }).nextDelayMs()).toBe(100);
    expect(new Backoff({ random: fixed(1) }).nextDelayMs()).toBe(200);
    for (let i = 0; i < 1_000; i++) {
      const d = new Backoff().nextDelayMs();
      expect(d).toBeGreaterThanOrEqual(BACKOFF_FLOOR_MS);
      expect(d).toBeLessThanOrEqual(200);
    }
  });

  it("doubles the ceiling per failure and never exceeds 30s", () => {
    const b = new Backoff({ random: fixed(1) });
    const delays = Array.from({ length: 20 }, () => b.nextDelayMs());
    expect(delays.slice(0, 6)).toEqual([200, 400, 800, 1_600, 3_200, 6_400]);
    expect(Math.max(...delays)).toBe(BACKOFF_CAP_MS);
    expect(delays.slice(-5).every((d) => d === BACKOFF_CAP_MS)).toBe(true);
  });

  it("stays within bounds however long it fails", () => {
    const b = new Backoff();
    for (let i = 0; i < 10_000; i++) {
      const d = b.nextDelayMs();
      expect(d).toBeGreaterThanOrEqual(BACKOFF_FLOOR_MS);
      expect(d).toBeLessThanOrEqual(BACKOFF_CAP_MS);
    }
  });

  it("draws each delay across the whole range (full jitter)", () => {
    const samples = Array.from({ length: 2_000 }, () => {
      const b = new Backoff();
      for (let i = 0; i < 9; i++) b.nextDelayMs();
      return b.nextDelayMs(); // ceiling 100·2^10, capped at 30s
    });
    expect(Math.min(...samples)).toBeLessThan(BACKOFF_FLOOR_MS + 0.1 * (BACKOFF_CAP_MS - BACKOFF_FLOOR_MS));
    expect(Math.max(...samples)).toBeGreaterThan(BACKOFF_FLOOR_MS + 0.9 * (BACKOFF_CAP_MS - BACKOFF_FLOOR_MS));
    expect(new Set(samples).size).toBeGreaterThan(1_000);
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    expect(mean).toBeGreaterThan(13_000);
    expect(mean).toBeLessThan(17_000);
  });

  it("starts small again after reset (a Welcome)", () => {
    const b = new Backoff({ random: fixed(1) });
    for (let i = 0; i < 8; i++) b.nextDelayMs();
    expect(b.failures).toBe(8);
    b.reset();
    expect(b.nextDelayMs()).toBe(200);
  });

  it("clamps options to the protocol's bounds", () => {
    const b = new Backoff({ floorMs: 5, capMs: 120_000 });
    expect(b.floorMs).toBe(BACKOFF_FLOOR_MS);
    expect(b.capMs).toBe(BACKOFF_CAP_MS);
  });
});
