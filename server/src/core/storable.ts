/**
 * What Postgres can store (rule S5): a string in a `text` column or anywhere in
 * a `jsonb` value must not contain NUL (U+0000) nor an unpaired UTF-16
 * surrogate. JSON and protobuf both accept them, so without this check such a
 * value reaches SQL and fails there as an INTERNAL error that invites a retry
 * which can never succeed. This is the one definition; the edge applies it to
 * every request message before any handler runs (api/storable-interceptor.ts)
 * and the worker stream to each message it reads.
 *
 * Invalid UTF-8 in a binary protobuf string never gets here: protobuf-es
 * verifies proto3 strings with a fatal TextDecoder, so such a message fails to
 * decode and is refused INVALID_ARGUMENT naming the field (http/protocol-errors.ts).
 * Binary can therefore not carry a lone surrogate either; only JSON can.
 */
import type { DescField, DescMessage, JsonValue, Message } from "@bufbuild/protobuf";
import type { FieldViolation } from "./validation.js";

/** NUL, a high surrogate not followed by a low one, or a low one not preceded by a high one. */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Enough violations to fix a request; a payload with thousands of bad strings is not listed in full. */
const MAX_REPORTED = 20;

const JSON_TYPES = new Set(["google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"]);

/** Why `s` cannot be stored, or undefined when it can. */
export function unstorableReason(s: string): string | undefined {
  const m = UNSTORABLE.exec(s);
  if (!m) return undefined;
  const at = `at character ${m.index}`;
  return m[0] === "\u0000"
    ? `must not contain the NUL character (U+0000) ${at}: it cannot be stored`
    : `must be valid Unicode: an unpaired UTF-16 surrogate (U+${m[0].charCodeAt(0).toString(16).toUpperCase()}) ${at} cannot be stored`;
}

/** Violations for every unstorable string in a JSON value, keys included, with paths like `payload.items[2].name`. */
export function storableJson(path: string, value: JsonValue | undefined, out: FieldViolation[] = []): FieldViolation[] {
  if (out.length >= MAX_REPORTED || value === undefined || value === null) return out;
  if (typeof value === "string") {
    const why = unstorableReason(value);
    if (why) out.push({ field: path, description: why });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => storableJson(`${path}[${i}]`, v, out));
  } else if (typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      const why = unstorableReason(k);
      const child = `${path}.${why ? JSON.stringify(k) : k}`;
      if (why) out.push({ field: child, description: `key ${why}` });
      storableJson(child, v, out);
    }
  }
  return out;
}

/** Violations for every unstorable string field of a protobuf message, nested messages, lists, maps and JSON fields included. */
export function storableMessage(desc: DescMessage, message: Message, prefix = "", out: FieldViolation[] = []): FieldViolation[] {
  const record = message as unknown as Record<string, unknown>;
  for (const field of desc.fields) {
    if (out.length >= MAX_REPORTED) break;
    const value = fieldValue(field, record);
    if (value === undefined) continue;
    const path = prefix === "" ? field.name : `${prefix}.${field.name}`;
    switch (field.fieldKind) {
      case "scalar":
        if (typeof value === "string") checkString(path, value, out);
        break;
      case "message":
        checkMessageValue(field.message, value, path, out);
        break;
      case "list":
        (value as unknown[]).forEach((v, i) => {
          if (field.listKind === "scalar" && typeof v === "string") checkString(`${path}[${i}]`, v, out);
          if (field.listKind === "message") checkMessageValue(field.message, v, `${path}[${i}]`, out);
        });
        break;
      case "map":
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          const why = unstorableReason(k);
          const child = `${path}[${JSON.stringify(k)}]`;
          if (why) out.push({ field: child, description: `key ${why}` });
          if (field.mapKind === "scalar" && typeof v === "string") checkString(child, v, out);
          if (field.mapKind === "message") checkMessageValue(field.message, v, child, out);
        }
        break;
      case "enum":
        break;
    }
  }
  return out;
}

function fieldValue(field: DescField, record: Record<string, unknown>): unknown {
  if (!field.oneof) return record[field.localName];
  const oneof = record[field.oneof.localName] as { case?: string; value?: unknown } | undefined;
  return oneof?.case === field.localName ? oneof.value : undefined;
}

function checkString(path: string, value: string, out: FieldViolation[]): void {
  const why = unstorableReason(value);
  if (why) out.push({ field: path, description: why });
}

/** Struct/Value/ListValue fields are plain JSON in protobuf-es; anything else is a nested message. */
function checkMessageValue(desc: DescMessage, value: unknown, path: string, out: FieldViolation[]): void {
  if (value === undefined || value === null) return;
  // Wrapper types (google.protobuf.StringValue) are unboxed to plain strings.
  if (typeof value === "string") return checkString(path, value, out);
  const isMessage = typeof value === "object" && "$typeName" in (value as object);
  if (JSON_TYPES.has(desc.typeName) && !isMessage) storableJson(path, value as JsonValue, out);
  else if (isMessage) storableMessage(desc, value as Message, path, out);
}
