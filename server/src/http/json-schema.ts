/**
 * JSON Schema (2020-12, as OpenAPI 3.1 and MCP use it) for protobuf messages in
 * their canonical JSON mapping, the one Connect's JSON encoding uses: lowerCamel
 * field names, 64-bit integers as strings (numbers accepted), enums by name,
 * Timestamp as RFC 3339, Duration as "1.5s", Struct as any object.
 *
 * Derived from the descriptors, never written by hand: a field whose comment
 * starts with "Required" is listed in `required` (the convention of Baton's
 * .proto files), and comments become descriptions.
 */
import { ScalarType, type DescEnum, type DescField, type DescMessage } from "@bufbuild/protobuf";
import type { Descriptors } from "./descriptors.js";

export type JsonSchema = { [keyword: string]: unknown };

export interface SchemaWriterOptions {
  /**
   * How a reference to a (non well-known) message or enum is written. Unset:
   * inline, as MCP tool schemas want. OpenAPI passes a `$ref` maker and emits the
   * referenced types as components.
   */
  ref?: (typeName: string) => string;
  /** Whether "Required" comments fill `required` (request messages). Default true. */
  required?: boolean;
}

export interface SchemaWriter {
  message(desc: DescMessage): JsonSchema;
  enumeration(desc: DescEnum): JsonSchema;
  /** Every message and enum referenced by `$ref` so far (only with `ref`). */
  referenced(): (DescMessage | DescEnum)[];
}

export function createSchemaWriter(descriptors: Descriptors, opts: SchemaWriterOptions = {}): SchemaWriter {
  const referenced = new Map<string, DescMessage | DescEnum>();
  const withRequired = opts.required ?? true;

  // A field's comment comes first; the type's own description (say, the Duration format) follows it.
  const describe = (schema: JsonSchema, text: string): JsonSchema => {
    if (!text) return schema;
    const own = typeof schema.description === "string" ? schema.description : "";
    return { ...schema, description: own ? `${text}\n\n${own}` : text };
  };

  const refOrInline = (desc: DescMessage | DescEnum, inline: () => JsonSchema): JsonSchema => {
    if (!opts.ref) return inline();
    referenced.set(desc.typeName, desc);
    return { $ref: opts.ref(desc.typeName) };
  };

  const enumeration = (desc: DescEnum): JsonSchema =>
    describe({ type: "string", enum: desc.values.map((v) => v.name) }, descriptors.comment(desc));

  const stack: string[] = [];
  const message = (desc: DescMessage): JsonSchema => {
    const wkt = wellKnown(desc.typeName);
    if (wkt) return wkt;
    if (stack.includes(desc.typeName)) return { type: "object", description: `a ${desc.typeName} (recursive)` };
    stack.push(desc.typeName);
    try {
      const properties: Record<string, JsonSchema> = {};
      const required: string[] = [];
      for (const field of desc.fields) {
        const comment = descriptors.comment(field);
        properties[field.jsonName] = describe(fieldSchema(field), comment);
        if (withRequired && /^Required\b/.test(comment)) required.push(field.jsonName);
      }
      const notes = desc.oneofs.map((o) => `Set at most one of: ${o.fields.map((f) => f.jsonName).join(", ")}.`);
      const text = [descriptors.comment(desc), ...notes].filter((s) => s !== "").join("\n\n");
      return describe({ type: "object", properties, ...(required.length > 0 ? { required } : {}) }, text);
    } finally {
      stack.pop();
    }
  };

  const typed = (field: DescField, kind: "scalar" | "enum" | "message", scalarType?: ScalarType): JsonSchema => {
    if (kind === "scalar") return scalar(scalarType!);
    if (kind === "enum") return refOrInline(field.enum!, () => enumeration(field.enum!));
    const msg = field.message!;
    return wellKnown(msg.typeName) ?? refOrInline(msg, () => message(msg));
  };

  const fieldSchema = (field: DescField): JsonSchema => {
    switch (field.fieldKind) {
      case "scalar":
        return typed(field, "scalar", field.scalar);
      case "enum":
        return typed(field, "enum");
      case "message":
        return typed(field, "message");
      case "list":
        return { type: "array", items: typed(field, field.listKind, field.scalar) };
      case "map": {
        const keys = field.mapKey === ScalarType.STRING ? {} : { propertyNames: { pattern: field.mapKey === ScalarType.BOOL ? "^(true|false)$" : "^-?[0-9]+$" } };
        return { type: "object", ...keys, additionalProperties: typed(field, field.mapKind, field.scalar) };
      }
    }
  };

  return {
    message: (desc) => message(desc),
    enumeration,
    referenced: () => [...referenced.values()],
  };
}

const INT64 = { type: ["integer", "string"], pattern: "^-?[0-9]+$" };
const UINT64 = { type: ["integer", "string"], minimum: 0, pattern: "^[0-9]+$" };

function scalar(type: ScalarType): JsonSchema {
  switch (type) {
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return { type: "number" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", minimum: -2147483648, maximum: 2147483647 };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", minimum: 0, maximum: 4294967295 };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { ...INT64 };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { ...UINT64 };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BYTES:
      return { type: "string", contentEncoding: "base64" };
  }
}

/** The well-known types have their own JSON forms; they are always written inline. */
function wellKnown(typeName: string): JsonSchema | undefined {
  switch (typeName) {
    case "google.protobuf.Timestamp":
      return { type: "string", format: "date-time", description: 'An RFC 3339 time, e.g. "2025-01-31T12:00:00Z".' };
    case "google.protobuf.Duration":
      return { type: "string", pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$", description: 'Seconds with an "s" suffix, e.g. "30s" or "0.25s".' };
    case "google.protobuf.Struct":
      return { type: "object", description: "Any JSON object." };
    case "google.protobuf.Value":
      return { description: "Any JSON value." };
    case "google.protobuf.ListValue":
      return { type: "array", description: "Any JSON array." };
    case "google.protobuf.Empty":
      return { type: "object" };
    case "google.protobuf.FieldMask":
      return { type: "string", description: "Comma-separated lowerCamel field paths." };
    case "google.protobuf.Any":
      return { type: "object", properties: { "@type": { type: "string" } }, required: ["@type"] };
    case "google.protobuf.DoubleValue":
    case "google.protobuf.FloatValue":
      return { type: ["number", "null"] };
    case "google.protobuf.Int64Value":
      return { ...INT64, type: ["integer", "string", "null"] };
    case "google.protobuf.UInt64Value":
      return { ...UINT64, type: ["integer", "string", "null"] };
    case "google.protobuf.Int32Value":
    case "google.protobuf.UInt32Value":
      return { type: ["integer", "null"] };
    case "google.protobuf.BoolValue":
      return { type: ["boolean", "null"] };
    case "google.protobuf.StringValue":
      return { type: ["string", "null"] };
    case "google.protobuf.BytesValue":
      return { type: ["string", "null"], contentEncoding: "base64" };
    default:
      return undefined;
  }
}
