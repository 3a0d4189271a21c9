import type { Duration } from "@bufbuild/protobuf/wkt";

/** Milliseconds of a protobuf Duration; NaN when it is malformed (nanos out of range, signs disagree). */
export function durationToMs(d: Duration): number {
  const nanos = d.nanos;
  if (nanos <= -1_000_000_000 || nanos >= 1_000_000_000) return Number.NaN;
  if ((d.seconds > 0n && nanos < 0) || (d.seconds < 0n && nanos > 0)) return Number.NaN;
  return Number(d.seconds) * 1000 + Math.trunc(nanos / 1_000_000);
}
