/**
 * Rule C2 for the errors Baton's handlers never see: a request that fails to
 * decode (malformed binary or JSON, invalid UTF-8, nesting past the decoder's
 * recursion limit, a wrong type), one over the message size limit, a bad
 * timeout or compression header. Connect raises these before any interceptor
 * runs and answers them without an ErrorDetail (a malformed binary message even
 * as INTERNAL). This wraps every route's universal handler and rewrites such
 * answers, whatever the protocol (Connect unary and streaming, gRPC, gRPC-Web):
 * INVALID_ARGUMENT with an ErrorDetail and a contract, naming the field that
 * failed to decode when it can be found (unary requests).
 */
import { ErrorReason } from "../../../gen/ts/baton/v1/contract_pb.js";
import { reasonForCode } from "../core/error-reasons.js";
import { create, fromBinary, fromJson, type DescField, type DescMessage, type DescMethod, type JsonValue } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { createAsyncIterable, type UniversalHandler, type UniversalServerRequest, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, endStreamFlag, errorFromJsonBytes, errorToJson, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { ErrorDetailSchema, NextActionSchema, type NextAction } from "../../../gen/ts/baton/v1/contract_pb.js";
import { batonError } from "../core/errors.js";

/** The default limit on one request message (Connect's readMaxBytes). */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

const ERROR_DETAIL_TYPE = ErrorDetailSchema.typeName;
const COMPRESSED_FLAG = 0b1;

/** Wraps `routes` so that every handler it registers answers protocol-level errors with an ErrorDetail. */
export function withProtocolErrorDetails(routes: (router: ConnectRouter) => void, maxMessageBytes: number): (router: ConnectRouter) => void {
  return (router) => {
    routes(router);
    const handlers = router.handlers as UniversalHandler[];
    for (let i = 0; i < handlers.length; i++) handlers[i] = wrapHandler(handlers[i]!, maxMessageBytes);
  };
}

type Protocol = "connect-unary" | "connect-stream" | "grpc" | "grpc-web";

function protocolOf(req: UniversalServerRequest): Protocol {
  const type = (req.header.get("content-type") ?? "").toLowerCase();
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  if (type.startsWith("application/connect+")) return "connect-stream";
  return "connect-unary";
}

function wrapHandler(h: UniversalHandler, maxMessageBytes: number): UniversalHandler {
  const unary = h.method.methodKind === "unary";
  const wrapped = async (req: UniversalServerRequest): Promise<UniversalServerResponse> => {
    const protocol = protocolOf(req);
    // Keep a unary request's bytes, to find the field that failed to decode.
    let captured: Uint8Array[] | undefined;
    if (unary && isByteStream(req.body)) {
      const chunks: Uint8Array[] = [];
      captured = chunks;
      const source = req.body;
      const cap = maxMessageBytes + 5;
      req = {
        ...req,
        body: (async function* () {
          let size = 0;
          for await (const chunk of source) {
            size += chunk.byteLength;
            if (size <= cap) chunks.push(chunk);
            else chunks.length = 0;
            yield chunk;
          }
        })(),
      };
    }
    const res = await h(req);
    const fix = (err: ConnectError): ConnectError => {
      const body = captured && captured.length > 0 ? concat(captured) : undefined;
      return withDetail(err, h.method, body && requestMessage(body, protocol, req), isJson(req));
    };
    switch (protocol) {
      case "connect-unary":
        return fixConnectUnary(res, fix);
      case "grpc":
        return fixGrpc(res, fix);
      case "connect-stream":
      case "grpc-web":
        return res.body ? { ...res, body: fixEnvelopes(res.body, protocol, fix) } : res;
    }
  };
  return Object.assign(wrapped, {
    protocolNames: h.protocolNames,
    service: h.service,
    method: h.method,
    requestPath: h.requestPath,
    allowedMethods: h.allowedMethods,
    supportedContentType: h.supportedContentType,
  });
}

function isByteStream(body: unknown): body is AsyncIterable<Uint8Array> {
  return typeof body === "object" && body !== null && Symbol.asyncIterator in body;
}

function isJson(req: UniversalServerRequest): boolean {
  const type = (req.header.get("content-type") ?? "").toLowerCase();
  if (type === "" && req.method === "GET") return new URL(req.url).searchParams.get("encoding") === "json";
  return type.includes("json");
}

function hasDetail(err: ConnectError): boolean {
  return err.details.some((d) => ("desc" in d ? d.desc.typeName : d.type) === ERROR_DETAIL_TYPE);
}

/** The request message's bytes: the body, less the envelope for gRPC; undefined when compressed. */
function requestMessage(body: Uint8Array, protocol: Protocol, req: UniversalServerRequest): Uint8Array | undefined {
  if (protocol === "grpc" || protocol === "grpc-web") {
    if (body.byteLength < 5 || (body[0]! & COMPRESSED_FLAG) !== 0) return undefined;
    const len = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(1);
    return body.subarray(5, 5 + len);
  }
  const encoding = req.header.get("content-encoding");
  return encoding && encoding !== "identity" ? undefined : body;
}

/** The Baton error for a framework error without a detail; errors that have one pass unchanged. */
function withDetail(err: ConnectError, method: DescMethod, message: Uint8Array | undefined, json: boolean): ConnectError {
  if (hasDetail(err)) return err;
  const retry: NextAction = create(NextActionSchema, {
    rpc: `${method.parent.typeName}/${method.name}`,
    httpPath: `/${method.parent.typeName}/${method.name}`,
    purpose: "send the request again, fixed",
  });
  // protobuf-es reports undecodable binary as INTERNAL; the bytes came from the client.
  const decodeFailure = (err.code === Code.Internal && /^parse binary/.test(err.rawMessage)) || err.code === Code.InvalidArgument;
  if (decodeFailure) {
    const field = message ? locateBadField(method.input, message, json) : undefined;
    if (field !== undefined) {
      return batonError({
        reason: ErrorReason.INVALID_FIELD,
        message: `invalid request: ${field} could not be decoded: ${err.rawMessage}`,
        violations: [{ field, description: `could not be decoded (${err.rawMessage}); check its type and nesting against the schema at /v1/schema` }],
        nextActions: [retry],
        guidance: "fix the listed field and send the request again; nothing was changed",
      });
    }
    return batonError({
      reason: ErrorReason.MALFORMED_REQUEST,
      message: `the request could not be decoded: ${err.rawMessage}`,
      nextActions: [retry],
      guidance: `check the ${json ? "JSON" : "binary"} encoding against the schema at /v1/schema and send the request again; nothing was changed`,
    });
  }
  if (err.code === Code.ResourceExhausted) {
    return batonError({
      reason: ErrorReason.MESSAGE_TOO_LARGE,
      message: err.rawMessage,
      nextActions: [retry],
      guidance: "the message is over the server's size limit: send fewer tasks per batch or smaller payloads (1 MiB each at most); nothing was changed",
    });
  }
  const reason = reasonForCode(err.code);
  if (reason === undefined) return err;
  return batonError({
    reason,
    message: err.rawMessage,
    nextActions: err.code === Code.Canceled ? [] : [retry],
    guidance: err.code === Code.DeadlineExceeded ? "the call ran out of time; retry with a longer deadline" : "see the message; nothing was changed",
  });
}

async function fixConnectUnary(res: UniversalServerResponse, fix: (e: ConnectError) => ConnectError): Promise<UniversalServerResponse> {
  if (res.status === 200 || !res.body || !res.header) return res;
  const header = new Headers(res.header);
  const bytes = await readAll(res.body);
  const encoding = header.get("content-encoding");
  if ((encoding && encoding !== "identity") || !(header.get("content-type") ?? "").includes("json")) {
    return { ...res, body: createAsyncIterable([bytes]) };
  }
  let err: ConnectError;
  try {
    err = errorFromJsonBytes(bytes, undefined, new ConnectError("unparseable error"));
  } catch {
    return { ...res, body: createAsyncIterable([bytes]) };
  }
  if (hasDetail(err)) return { ...res, body: createAsyncIterable([bytes]) };
  const fixed = fix(err);
  const body = errorToJsonBytes(fixed, {});
  header.set("content-length", String(body.byteLength));
  return { ...res, status: codeToHttpStatus(fixed.code), header, body: createAsyncIterable([body]) };
}

function fixGrpc(res: UniversalServerResponse, fix: (e: ConnectError) => ConnectError): UniversalServerResponse {
  const trailer = res.trailer;
  if (!trailer) return res;
  const patch = (t: Headers) => {
    const err = findTrailerError(t);
    if (!err || hasDetail(err)) return;
    const fixed = fix(err);
    t.delete("grpc-status-details-bin");
    setTrailerStatus(t, fixed);
  };
  // The status is in the trailer, written once the body has ended.
  const body = res.body;
  if (!body) {
    patch(trailer);
    return res;
  }
  return {
    ...res,
    body: (async function* () {
      yield* body;
      patch(trailer);
    })(),
  };
}

/** Connect streams end with an end-stream envelope, gRPC-Web with a trailer envelope: patch the error in it. */
async function* fixEnvelopes(body: AsyncIterable<Uint8Array>, protocol: Protocol, fix: (e: ConnectError) => ConnectError): AsyncGenerator<Uint8Array> {
  const finalFlag = protocol === "connect-stream" ? endStreamFlag : trailerFlag;
  let pending: Uint8Array = new Uint8Array(0);
  for await (const chunk of body) {
    pending = pending.byteLength === 0 ? chunk : concat([pending, chunk]);
    // Pass complete data envelopes through at once; hold back a partial one.
    let offset = 0;
    while (pending.byteLength - offset >= 5) {
      const flags = pending[offset]!;
      const len = new DataView(pending.buffer, pending.byteOffset + offset + 1, 4).getUint32(0);
      if (pending.byteLength - offset - 5 < len) break;
      const envelope = pending.subarray(offset, offset + 5 + len);
      offset += 5 + len;
      yield (flags & finalFlag) !== 0 && (flags & COMPRESSED_FLAG) === 0 ? patchFinal(envelope, flags, protocol, fix) : envelope;
    }
    pending = pending.subarray(offset);
  }
  if (pending.byteLength > 0) yield pending;
}

function patchFinal(envelope: Uint8Array, flags: number, protocol: Protocol, fix: (e: ConnectError) => ConnectError): Uint8Array {
  const data = envelope.subarray(5);
  try {
    if (protocol === "grpc-web") {
      const trailer = trailerParse(data);
      const err = findTrailerError(trailer);
      if (!err || hasDetail(err)) return envelope;
      trailer.delete("grpc-status-details-bin");
      setTrailerStatus(trailer, fix(err));
      return encodeEnvelope(flags, trailerSerialize(trailer));
    }
    const end = JSON.parse(new TextDecoder().decode(data)) as { error?: JsonValue; metadata?: JsonValue };
    if (end.error === undefined || end.error === null) return envelope;
    const err = errorFromJsonBytes(new TextEncoder().encode(JSON.stringify(end.error)), undefined, new ConnectError("unparseable error"));
    if (hasDetail(err)) return envelope;
    end.error = errorToJson(fix(err), {}) as JsonValue;
    return encodeEnvelope(flags, new TextEncoder().encode(JSON.stringify(end)));
  } catch {
    return envelope;
  }
}

function encodeEnvelope(flags: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + data.byteLength);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, data.byteLength);
  out.set(data, 5);
  return out;
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(c);
  return concat(chunks);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

// --- finding the field that failed to decode ---------------------------------------------

/** The path of the first field that fails to decode on its own, e.g. `requests[2].payload`. */
export function locateBadField(desc: DescMessage, message: Uint8Array, json: boolean): string | undefined {
  try {
    if (!json) return locateBinary(desc, message, 0);
    const value = JSON.parse(new TextDecoder().decode(message)) as JsonValue;
    return locateJson(desc, value, 0);
  } catch {
    return undefined;
  }
}

const MAX_LOCATE_DEPTH = 8;

/** Well-known types decode as one unit: the path stops at the field holding them. */
function descend(field: DescField): DescMessage | undefined {
  const message = field.fieldKind === "message" ? field.message : field.fieldKind === "list" && field.listKind === "message" ? field.message : undefined;
  return message && !message.typeName.startsWith("google.protobuf.") ? message : undefined;
}

function locateBinary(desc: DescMessage, bytes: Uint8Array, depth: number): string | undefined {
  const reader = new BinaryReader(bytes);
  const seen = new Map<number, number>();
  while (reader.pos < reader.len) {
    const start = reader.pos;
    let fieldNo: number;
    let wireType: WireType;
    try {
      [fieldNo, wireType] = reader.tag();
    } catch {
      return undefined;
    }
    const field = desc.fields.find((f) => f.number === fieldNo);
    const index = seen.get(fieldNo) ?? 0;
    seen.set(fieldNo, index + 1);
    try {
      reader.skip(wireType, fieldNo);
    } catch {
      return field?.name; // the framing broke inside this field
    }
    if (!field) continue;
    const slice = bytes.subarray(start, reader.pos);
    try {
      fromBinary(desc, slice);
      continue;
    } catch {
      // This field is the one.
    }
    let path = field.fieldKind === "list" ? `${field.name}[${index}]` : field.name;
    const inner = descend(field);
    if (inner && wireType === WireType.LengthDelimited && depth < MAX_LOCATE_DEPTH) {
      const sub = new BinaryReader(slice);
      sub.tag();
      const deeper = locateBinary(inner, sub.bytes(), depth + 1);
      if (deeper) path += `.${deeper}`;
    }
    return path;
  }
  return undefined;
}

function locateJson(desc: DescMessage, value: JsonValue, depth: number): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  for (const [key, v] of Object.entries(value)) {
    const field = desc.fields.find((f) => f.jsonName === key || f.name === key);
    if (!field) return key;
    if (decodesJson(desc, { [key]: v })) continue;
    const inner = descend(field);
    if (field.fieldKind === "list" && Array.isArray(v)) {
      const i = v.findIndex((el) => !decodesJson(desc, { [key]: [el] }));
      if (i < 0) return field.name;
      const deeper = inner && depth < MAX_LOCATE_DEPTH ? locateJson(inner, v[i]!, depth + 1) : undefined;
      return `${field.name}[${i}]${deeper ? `.${deeper}` : ""}`;
    }
    const deeper = inner && depth < MAX_LOCATE_DEPTH ? locateJson(inner, v, depth + 1) : undefined;
    return deeper ? `${field.name}.${deeper}` : field.name;
  }
  return undefined;
}

function decodesJson(desc: DescMessage, json: JsonValue): boolean {
  try {
    // As strict as the server's decoder (server.ts), so an unknown enum or field name is located.
    fromJson(desc, json, { ignoreUnknownFields: false });
    return true;
  } catch {
    return false;
  }
}
