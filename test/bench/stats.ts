/** Percentiles and formatting for benchmark reports. */
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
}

export function summarise(samplesMs: number[]): LatencySummary {
  const s = [...samplesMs].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), max: s[s.length - 1] ?? Number.NaN };
}

export const fmtMs = (ms: number) => (Number.isNaN(ms) ? "n/a" : ms < 10 ? ms.toFixed(2) : ms.toFixed(1));
export const fmtRate = (r: number) => (Number.isNaN(r) ? "n/a" : Math.round(r).toLocaleString("en-US"));
