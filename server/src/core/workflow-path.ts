/**
 * The small, safe expression forms of workflows: JSON paths (`$.a.b[0]`), input
 * selectors (`$.input.x`, `$.steps.fetch.output.y`) and edge conditions (a path
 * and a comparison). Parsed once, evaluated by walking plain JSON; nothing is
 * ever evaluated as code.
 */
import type { JsonValue } from "@bufbuild/protobuf";

export type PathSegment = string | number;

const KEY = /^[A-Za-z0-9_-]+/;
const INDEX = /^\[(\d{1,9})\]/;
const QUOTED = /^\["((?:[^"\\]|\\.)*)"\]/;

/**
 * Parses `$`, `$.key`, `$.a.b[2].c` or `$["odd key"]` into segments; returns an
 * error description instead when the text is not such a path.
 */
export function parsePath(text: string): PathSegment[] | { error: string } {
  if (!text.startsWith("$")) return { error: `must start with "$"; got ${JSON.stringify(text)}` };
  const segments: PathSegment[] = [];
  let rest = text.slice(1);
  while (rest !== "") {
    if (rest.startsWith(".")) {
      const key = KEY.exec(rest.slice(1));
      if (!key) return { error: `has an empty or invalid key after "." at ${JSON.stringify(rest)}: keys are letters, digits, _ and - (use ["..."] for others)` };
      segments.push(key[0]);
      rest = rest.slice(1 + key[0].length);
      continue;
    }
    const index = INDEX.exec(rest);
    if (index) {
      segments.push(Number(index[1]));
      rest = rest.slice(index[0].length);
      continue;
    }
    const quoted = QUOTED.exec(rest);
    if (quoted) {
      try {
        segments.push(JSON.parse(`"${quoted[1]}"`) as string);
      } catch {
        return { error: `has a malformed quoted key at ${JSON.stringify(rest)}` };
      }
      rest = rest.slice(quoted[0].length);
      continue;
    }
    return { error: `cannot continue at ${JSON.stringify(rest)}: expected .key, [index] or ["key"]` };
  }
  return segments;
}

/** The value at `path`, or undefined when some segment finds nothing. */
export function valueAt(value: JsonValue | undefined, path: readonly PathSegment[]): JsonValue | undefined {
  let current: JsonValue | undefined = value;
  for (const segment of path) {
    if (current === undefined || current === null) return undefined;
    if (typeof segment === "number") {
      if (!Array.isArray(current)) return undefined;
      current = current[segment];
    } else {
      if (typeof current !== "object" || Array.isArray(current)) return undefined;
      current = Object.prototype.hasOwnProperty.call(current, segment) ? current[segment] : undefined;
    }
  }
  return current;
}

/** Where a step input comes from: the run input or a parent's output. */
export type Selector =
  | { source: "input"; path: PathSegment[] }
  | { source: "step"; step: string; path: PathSegment[] };

/** Parses `$.input[...]` or `$.steps.<step>.output[...]`. */
export function parseSelector(text: string): Selector | { error: string } {
  const parsed = parsePath(text);
  if ("error" in parsed) return parsed;
  const how = 'must be "$.input", "$.input.<path>", "$.steps.<parent>.output" or "$.steps.<parent>.output.<path>"';
  if (parsed[0] === "input") return { source: "input", path: parsed.slice(1) };
  if (parsed[0] === "steps" && typeof parsed[1] === "string" && parsed[2] === "output") {
    return { source: "step", step: parsed[1], path: parsed.slice(3) };
  }
  return { error: `${how}; got ${JSON.stringify(text)}` };
}

export type ConditionOp = "equals" | "not_equals" | "in" | "not_in" | "exists" | "not_exists";

export interface ConditionDef {
  /** As written, for messages. */
  pathText: string;
  path: PathSegment[];
  op: ConditionOp;
  /** EQUALS/NOT_EQUALS: the value; IN/NOT_IN: a list; EXISTS/NOT_EXISTS: undefined. */
  value: JsonValue | undefined;
}

/** Whether a condition holds on a parent's output (rule D4). */
export function conditionHolds(c: ConditionDef, output: JsonValue): boolean {
  const found = valueAt(output, c.path);
  switch (c.op) {
    case "exists":
      return found !== undefined && found !== null;
    case "not_exists":
      return found === undefined || found === null;
    case "equals":
      return found !== undefined && jsonEqual(found, c.value ?? null);
    case "not_equals":
      return found === undefined || !jsonEqual(found, c.value ?? null);
    case "in":
      return found !== undefined && Array.isArray(c.value) && c.value.some((v) => jsonEqual(found, v));
    case "not_in":
      return found === undefined || !Array.isArray(c.value) || !c.value.some((v) => jsonEqual(found, v));
  }
}

/** Equality of JSON values: by value, objects key by key regardless of order. */
export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]!));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k]!, b[k]!));
}
