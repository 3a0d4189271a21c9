/** Percentiles and formatting for benchmark reports. */
import type { LatencySamples } from "./system.js";

export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return Number.NaN;
  const rank = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1));
  return sortedMs[rank]!;
}

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** p50 of the create call alone (the producer's API call, until it returned the id). */
  createCallP50: number;
}

export function summarise(samples: LatencySamples): LatencySummary {
  const s = [...samples.toStart].sort((a, b) => a - b);
  const c = [...samples.createCall].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), max: s[s.length - 1] ?? Number.NaN, createCallP50: percentile(c, 50) };
}

export const fmtMs = (ms: number) => (Number.isNaN(ms) ? "n/a" : ms < 10 ? ms.toFixed(2) : ms.toFixed(1));
export const fmtRate = (r: number) => (Number.isNaN(r) ? "n/a" : Math.round(r).toLocaleString("en-US"));
/** CPU per task, given in ms, shown in µs. */
export const fmtCpu = (ms: number | undefined) => (ms === undefined || Number.isNaN(ms) ? "–" : `${Math.round(ms * 1000).toLocaleString("en-US")}`);
/** a ÷ b as "0.42×". */
export function fmtRatio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return "n/a";
  const r = a / b;
  return `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toFixed(2)}×`;
}
