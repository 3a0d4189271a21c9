import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { durationToMs } from "./duration.js";

export interface FieldViolation {
  field: string;
  description: string;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:\/-]*$/;
const NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9_.-]*$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Collects every problem of a request so they are reported at once (rule S1),
 * each with the field path and how to fix it.
 */
export class Violations {
  readonly list: FieldViolation[] = [];

  get empty(): boolean {
    return this.list.length === 0;
  }

  add(field: string, description: string): void {
    this.list.push({ field, description });
  }

  /** A queue, type or worker name: required, bounded, URL- and subject-safe. */
  name(field: string, value: string, maxChars: number): void {
    if (value === "") this.add(field, "is required");
    else if (value.length > maxChars) this.add(field, `must be at most ${maxChars} characters; got ${value.length}`);
    else if (!NAME_PATTERN.test(value)) {
      this.add(field, `must start with a letter or digit and contain only letters, digits and _ . : / -; got ${JSON.stringify(value)}`);
    }
  }

  namespace(field: string, value: string, maxChars: number): void {
    if (value === "") return; // the default namespace
    if (value.length > maxChars) this.add(field, `must be at most ${maxChars} characters; got ${value.length}`);
    else if (!NAMESPACE_PATTERN.test(value)) {
      this.add(field, `must contain only lower-case letters, digits and _ . - (e.g. "default"); got ${JSON.stringify(value)}`);
    }
  }

  maxChars(field: string, value: string, maxChars: number): void {
    if (value.length > maxChars) this.add(field, `must be at most ${maxChars} characters; got ${value.length}`);
  }

  taskId(field: string, value: string): void {
    if (value === "") this.add(field, "is required: the task id returned by CreateTask");
    else if (!UUID_PATTERN.test(value)) this.add(field, `must be a task id (a UUID); got ${JSON.stringify(truncate(value))}`);
  }

  leaseId(field: string, value: string): void {
    if (value === "") this.add(field, "is required: the lease_id of the lease returned by ClaimTasks");
    else if (!UUID_PATTERN.test(value)) this.add(field, `must be a lease id (a UUID); got ${JSON.stringify(truncate(value))}`);
  }

  intRange(field: string, value: number, min: number, max: number): void {
    if (!Number.isInteger(value) || value < min || value > max) {
      this.add(field, `must be an integer between ${min} and ${max}; got ${value}`);
    }
  }

  numberRange(field: string, value: number, min: number, max: number): void {
    if (!Number.isFinite(value) || value < min || value > max) {
      this.add(field, `must be between ${min} and ${max}; got ${value}`);
    }
  }

  /** Milliseconds of an optional duration, or undefined when unset or invalid. */
  duration(field: string, value: Duration | undefined, minMs: number, maxMs: number): number | undefined {
    if (value === undefined) return undefined;
    const ms = durationToMs(value);
    if (Number.isNaN(ms)) {
      this.add(field, "is not a valid duration (nanos must be within ±999,999,999 and share the sign of seconds)");
      return undefined;
    }
    if (ms < minMs || ms > maxMs) {
      this.add(field, `must be between ${formatMs(minMs)} and ${formatMs(maxMs)}; got ${formatMs(ms)}`);
      return undefined;
    }
    return ms;
  }

  /**
   * A duration whose documented range is 0..capMs where longer is capped, not
   * refused (ClaimTasks.wait): a refusal states that documented range.
   */
  cappedDuration(field: string, value: Duration | undefined, capMs: number): number | undefined {
    if (value === undefined) return undefined;
    const ms = durationToMs(value);
    if (Number.isNaN(ms)) return this.duration(field, value, 0, capMs);
    if (ms < 0) {
      this.add(field, `must be between 0s and ${formatMs(capMs)} (longer is capped at ${formatMs(capMs)}); got ${formatMs(ms)}`);
      return undefined;
    }
    return Math.min(ms, capMs);
  }

  /** Milliseconds since the epoch of an optional timestamp, or undefined. */
  timestamp(field: string, value: Timestamp | undefined): number | undefined {
    if (value === undefined) return undefined;
    const ms = Number(value.seconds) * 1000 + Math.trunc(value.nanos / 1_000_000);
    // Postgres timestamptz covers 4713 BC..294276 AD; refuse anything outside years 1970..9999.
    if (!Number.isFinite(ms) || ms < 0 || ms > 253402300799000 || value.nanos < 0 || value.nanos > 999_999_999) {
      this.add(field, "must be a time between 1970-01-01 and 9999-12-31");
      return undefined;
    }
    return ms;
  }

  /** A JSON object payload or result: bounded in size and depth. */
  jsonObject(field: string, value: JsonObject | undefined, maxBytes: number, maxDepth: number): JsonObject {
    if (value === undefined) return {};
    if (depthOf(value, 0, maxDepth) > maxDepth) {
      this.add(field, `must be nested at most ${maxDepth} levels deep`);
      return {};
    }
    // A binary Struct can carry NaN and ±Infinity, which JSON (and so storage and
    // every JSON client) cannot: refuse them rather than store a silent null.
    if (hasNonFiniteNumber(value)) {
      this.add(field, "must hold only finite numbers: JSON has no NaN or Infinity");
      return {};
    }
    const bytes = Buffer.byteLength(JSON.stringify(value));
    if (bytes > maxBytes) this.add(field, `must be at most ${maxBytes} bytes as JSON; got ${bytes}`);
    return value;
  }

  labels(field: string, labels: Record<string, string>, max: number, keyMax: number, valueMax: number): void {
    const keys = Object.keys(labels);
    if (keys.length > max) this.add(field, `must have at most ${max} entries; got ${keys.length}`);
    for (const key of keys) {
      if (key === "" || key.length > keyMax) this.add(`${field}[${JSON.stringify(truncate(key))}]`, `key must be 1..${keyMax} characters`);
      const value = labels[key] ?? "";
      if (value.length > valueMax) this.add(`${field}[${JSON.stringify(truncate(key))}]`, `value must be at most ${valueMax} characters`);
    }
  }
}

function depthOf(value: JsonValue, depth: number, limit: number): number {
  if (depth > limit) return depth;
  let deepest = depth;
  if (Array.isArray(value)) {
    for (const item of value) deepest = Math.max(deepest, depthOf(item, depth + 1, limit));
  } else if (value !== null && typeof value === "object") {
    for (const item of Object.values(value)) deepest = Math.max(deepest, depthOf(item, depth + 1, limit));
  }
  return deepest;
}

function hasNonFiniteNumber(value: JsonValue): boolean {
  if (typeof value === "number") return !Number.isFinite(value);
  if (Array.isArray(value)) return value.some(hasNonFiniteNumber);
  if (value !== null && typeof value === "object") return Object.values(value).some(hasNonFiniteNumber);
  return false;
}

function truncate(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}

export function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0 && ms !== 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms !== 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
