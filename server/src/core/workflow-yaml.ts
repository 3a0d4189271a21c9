/**
 * The YAML form of a workflow: the fields of the Workflow message (proto names
 * or lowerCamel JSON names), with a few conveniences for people writing it:
 *
 *   - enums by short name in any case: `action: fallback`, `mode: quorum`
 *   - durations with units: `run_timeout: 10m`, `start_to_close_timeout: 1h30m`
 *   - edges with `from` / `to` for `from_step` / `to_step`
 *   - conditions as `{path: $.status, equals: ok}` (also not_equals, in,
 *     not_in, exists: true, not_exists: true)
 *   - `on_failure: continue` for `{action: CONTINUE}`
 *   - optional `kind: Workflow` and `api_version: baton.v1` at the top
 *
 * Every unknown key is reported at once with its line; the result then goes
 * through the same validation and analysis as a message (D1).
 */
import { fromJson, type DescEnum, type DescField, type DescMessage, type JsonObject } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, type Document } from "yaml";
import { EdgeConditionSchema, EdgeSchema, FailureHandlingSchema, WorkflowSchema, type Workflow } from "../../../gen/ts/baton/v1/workflow_pb.js";
import type { FieldViolation } from "./validation.js";
import { workflowLimits } from "./workflow-def.js";

export const YAML_KIND = "Workflow";
export const YAML_API_VERSION = "baton.v1";

const CONDITION_SHORTHANDS = ["equals", "not_equals", "in", "not_in", "exists", "not_exists"] as const;
const ALIASES: Record<string, Record<string, string>> = {
  [EdgeSchema.typeName]: { from: "from_step", to: "to_step" },
};

export interface ParsedYaml {
  workflow: Workflow | undefined;
  /** Problems of the YAML itself, each with its line. */
  violations: FieldViolation[];
  /** Adds the line of a field path (as produced by validation, under `prefix`) to a description. */
  locate(field: string): string;
}

/** Parses a YAML workflow; `prefix` starts every field path (e.g. "yaml."). */
export function workflowFromYaml(text: string, prefix = "yaml."): ParsedYaml {
  const violations: FieldViolation[] = [];
  const root = prefix.replace(/\.$/, "");
  const none = (field: string) => field;
  const bytes = Buffer.byteLength(text);
  if (bytes > workflowLimits.yamlMaxBytes) {
    return { workflow: undefined, violations: [{ field: root, description: `must be at most ${workflowLimits.yamlMaxBytes} bytes; got ${bytes}` }], locate: none };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const at = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
      violations.push({ field: root, description: `is not valid YAML${at ? ` at line ${at.line}, column ${at.col}` : ""}: ${e.message.split("\n")[0]}` });
    }
    return { workflow: undefined, violations, locate: none };
  }
  const lineOf = (keys: (string | number)[]): number | undefined => {
    const node = doc.getIn(keys, true) as { range?: [number, number, number] } | undefined;
    const offset = node?.range?.[0] ?? keyOffset(doc, keys);
    return offset === undefined ? undefined : lines.linePos(offset).line;
  };
  const where = (keys: (string | number)[]) => {
    const line = lineOf(keys);
    return line === undefined ? "" : ` (line ${line})`;
  };
  const fieldOf = (keys: (string | number)[]) => prefix + keys.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");

  const data: unknown = doc.toJS();
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    violations.push({ field: root, description: "must be a YAML mapping with metadata and spec (see docs/WORKFLOWS.md)" });
    return { workflow: undefined, violations, locate: none };
  }
  const top = { ...(data as Record<string, unknown>) };
  for (const key of ["kind"]) {
    if (key in top && top[key] !== YAML_KIND) violations.push({ field: fieldOf([key]), description: `must be ${YAML_KIND}; got ${JSON.stringify(top[key])}${where([key])}` });
    delete top[key];
  }
  for (const key of ["api_version", "apiVersion"]) {
    if (key in top && top[key] !== YAML_API_VERSION) {
      violations.push({ field: fieldOf([key]), description: `must be ${YAML_API_VERSION}; got ${JSON.stringify(top[key])}${where([key])}` });
    }
    delete top[key];
  }

  const unknownKey = (keys: (string | number)[], desc: DescMessage) =>
    violations.push({
      field: fieldOf(keys),
      description: `is not a field of ${desc.name}${where(keys)}; known fields: ${desc.fields.map((f) => f.name).join(", ")}${
        ALIASES[desc.typeName] ? `, ${Object.keys(ALIASES[desc.typeName]!).join(", ")}` : ""
      }`,
    });

  const normalizeMessage = (desc: DescMessage, value: unknown, keys: (string | number)[]): unknown => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return value; // fromJson explains
    let obj = value as Record<string, unknown>;
    if (desc.typeName === EdgeConditionSchema.typeName) obj = conditionShorthand(obj);
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(obj)) {
      const field = fieldByName(desc, key);
      if (!field) {
        unknownKey([...keys, key], desc);
        continue;
      }
      out[field.name] = normalizeField(field, v, [...keys, key]);
    }
    return out;
  };

  const normalizeField = (field: DescField, value: unknown, keys: (string | number)[]): unknown => {
    switch (field.fieldKind) {
      case "enum":
        return normalizeEnum(field.enum, value, keys);
      case "message":
        return normalizeSingular(field.message, value, keys);
      case "list":
        if (!Array.isArray(value)) return value;
        if (field.listKind === "message") return value.map((x, i) => normalizeSingular(field.message, x, [...keys, i]));
        if (field.listKind === "enum") return value.map((x, i) => normalizeEnum(field.enum, x, [...keys, i]));
        return value;
      default:
        return value;
    }
  };

  const normalizeSingular = (desc: DescMessage, value: unknown, keys: (string | number)[]): unknown => {
    if (desc.typeName === DurationSchema.typeName) return normalizeDuration(value, keys);
    if (desc.typeName.startsWith("google.protobuf.")) return value;
    if (desc.typeName === FailureHandlingSchema.typeName && typeof value === "string") return normalizeMessage(desc, { action: value }, keys);
    return normalizeMessage(desc, value, keys);
  };

  const normalizeEnum = (desc: DescEnum, value: unknown, keys: (string | number)[]): unknown => {
    if (typeof value !== "string") return value;
    const found = desc.values.find((x) => x.name === value || x.localName === value.toUpperCase());
    if (found && found.number !== 0) return found.name;
    const allowed = desc.values.filter((x) => x.number !== 0).map((x) => x.localName.toLowerCase());
    violations.push({ field: fieldOf(keys), description: `must be one of ${allowed.join(", ")}; got ${JSON.stringify(value)}${where(keys)}` });
    return undefined;
  };

  const normalizeDuration = (value: unknown, keys: (string | number)[]): unknown => {
    const text = typeof value === "number" ? "" : String(value);
    const seconds = durationSeconds(text);
    if (seconds === undefined) {
      violations.push({ field: fieldOf(keys), description: `must be a duration with units, e.g. 30s, 5m, 1h30m, 500ms; got ${JSON.stringify(value)}${where(keys)}` });
      return undefined;
    }
    return `${seconds}s`;
  };

  const normalized = normalizeMessage(WorkflowSchema, top, []);
  let workflow: Workflow | undefined;
  if (violations.length === 0) {
    try {
      workflow = fromJson(WorkflowSchema, normalized as JsonObject);
    } catch (err) {
      violations.push({ field: root, description: `does not match the Workflow message: ${(err as Error).message}` });
    }
  }
  return {
    workflow,
    violations,
    locate(field: string) {
      if (!field.startsWith(prefix)) return "";
      const keys = yamlKeys(doc, field.slice(prefix.length));
      return keys ? where(keys) : "";
    },
  };
}

function fieldByName(desc: DescMessage, key: string): DescField | undefined {
  const alias = ALIASES[desc.typeName]?.[key];
  return desc.fields.find((f) => f.name === (alias ?? key) || f.jsonName === key);
}

function conditionShorthand(obj: Record<string, unknown>): Record<string, unknown> {
  const given = CONDITION_SHORTHANDS.filter((k) => k in obj);
  if (given.length !== 1 || "operator" in obj) return obj;
  const op = given[0]!;
  const { [op]: value, ...rest } = obj;
  if (op === "exists" || op === "not_exists") {
    // `exists: false` reads as "does not exist".
    const effective = value === false ? (op === "exists" ? "not_exists" : "exists") : op;
    return { ...rest, operator: effective };
  }
  return { ...rest, operator: op, value };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "1h30m" → 5400; undefined when not a duration with units. */
export function durationSeconds(text: string): number | undefined {
  const parts = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/.test(text) ? [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)] : [];
  if (parts.length === 0) return undefined;
  const ms = parts.reduce((sum, [, n, unit]) => sum + Number(n) * UNIT_MS[unit!]!, 0);
  return Math.round(ms) / 1000;
}

/** The YAML keys of a field path such as `spec.steps[2].on_failure.fallback_step`, as written in the document. */
function yamlKeys(doc: Document, path: string): (string | number)[] | undefined {
  const segments: (string | number)[] = [];
  for (const m of path.matchAll(/([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g)) {
    if (m[1] !== undefined) segments.push(m[1]);
    else if (m[2] !== undefined) segments.push(Number(m[2]));
    else segments.push(JSON.parse(`"${m[3]}"`) as string);
  }
  const keys: (string | number)[] = [];
  let node: unknown = doc.contents;
  for (const seg of segments) {
    if (typeof seg === "number") {
      if (!isSeq(node)) break;
      keys.push(seg);
      node = node.items[seg];
      continue;
    }
    if (!isMap(node)) break;
    const candidates = [seg, seg.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), ...Object.entries(ALIASES[EdgeSchema.typeName]!).filter(([, v]) => v === seg).map(([k]) => k)];
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && candidates.includes(String(p.key.value)));
    if (!pair) break;
    keys.push(String((pair.key as { value: unknown }).value));
    node = pair.value;
  }
  return keys.length > 0 ? keys : undefined;
}

/** The offset of a key whose value has no range (e.g. `key:` with nothing after it). */
function keyOffset(doc: Document, keys: (string | number)[]): number | undefined {
  const parent = doc.getIn(keys.slice(0, -1), true) ?? (keys.length === 1 ? doc.contents : undefined);
  if (!isMap(parent)) return undefined;
  const last = keys[keys.length - 1];
  const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === last);
  return (pair?.key as { range?: [number, number, number] } | undefined)?.range?.[0];
}
