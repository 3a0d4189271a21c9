// Bad input, property-based (fast-check): random and malformed messages to every
// RPC, over Connect JSON, Connect binary and gRPC, against `baton serve` as a
// process. Whatever arrives: the server never crashes (it still answers), every
// refusal is a proper error (a client-error code, never INTERNAL or UNKNOWN, with
// one ErrorDetail holding a contract: rule C2), and a refused call changes
// nothing. test/integration/bad-input.test.ts has the example-based S1 cases.
//
// Replay a failure with the seed and path fast-check prints.
import * as http2 from "node:http2";
import { create, toBinary, toJsonString, type DescField, type DescMessage, type DescMethod, type DescService, ScalarType } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import fc from "fast-check";
import postgres from "postgres";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ErrorDetailSchema, ErrorReason } from "../../gen/ts/baton/v1/contract_pb.js";
import { TaskService } from "../../gen/ts/baton/v1/task_service_pb.js";
import { WorkerService } from "../../gen/ts/baton/v1/worker_service_pb.js";
import { WorkflowService } from "../../gen/ts/baton/v1/workflow_service_pb.js";
import { freshDatabaseUrl } from "../support/databases.js";
import { openRawSession } from "../support/raw-session.js";
import { ResultSchema } from "../../gen/ts/baton/v1/worker_pb.js";
import { startReplica, type Replica } from "../support/replica.js";

const SEED = Number(process.env.BATON_FUZZ_SEED ?? 7_2026);
const RUNS = Number(process.env.BATON_FUZZ_RUNS ?? 150);
const MiB = 1024 * 1024;

/** Codes a refused request may get: the client's fault, or a state it asked about. Never INTERNAL or UNKNOWN. */
const CLIENT_CODES = new Set([Code.InvalidArgument, Code.NotFound, Code.FailedPrecondition, Code.AlreadyExists, Code.ResourceExhausted, Code.OutOfRange]);

type Protocol = "connect-json" | "connect-binary" | "grpc";
const PROTOCOLS: Protocol[] = ["connect-json", "connect-binary", "grpc"];

// --- hostile values, driven by the message descriptors -----------------------------------

/** Code units Postgres or UTF-8 choke on, or that are merely odd: NUL, lone surrogates, non-characters, BOM. */
const nastyUnit = fc.constantFrom("\u0000", "\ud800", "\udbff", "\udc00", "\udfff", "\ufffe", "\uffff", "\ufdd0", "\ufeff", "\u{10ffff}", "\u{1fffe}");
/** Arbitrary Unicode with the nasty units mixed in anywhere. */
const unicodeString = fc.string({ unit: fc.oneof({ weight: 1, arbitrary: nastyUnit }, { weight: 4, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) }), maxLength: 24 });

const hostileString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 3, arbitrary: unicodeString },
  { weight: 2, arbitrary: fc.uuid() },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "",
      " ",
      "\u0000",
      "default",
      "q",
      "t",
      "a".repeat(129),
      "x".repeat(70_000),
      "'; DROP TABLE baton_tasks; --",
      "../../etc/passwd",
      "\ud800",
      "🦄".repeat(300),
      "0193b4c2-1f00-7000-8000-000000000001",
      "UPPER",
      "a b",
    ),
  },
);
const int32 = fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1, 1000, 1001, -1001, 2147483647, -2147483648));
const int64 = fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.constantFrom(0n, -1n, 1n, 86_400n * 10_000n, 2n ** 63n - 1n));
const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const double = fc.oneof(fc.double(), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 1e308, 0.5, 11));

/** JSON whose strings and keys are hostile Unicode, at any depth up to 3. */
const jsonLeaf = fc.oneof(unicodeString, fc.integer(), fc.boolean(), fc.constant(null));
const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof({ depthSize: "small", maxDepth: 3 }, jsonLeaf, fc.array(tie("v"), { maxLength: 3 }), fc.dictionary(unicodeString, tie("v"), { maxKeys: 3 })),
})).v;

/** A JSON object, sometimes nested far past any limit or larger than 1 MiB. */
const jsonObject: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  { weight: 5, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }) },
  { weight: 4, arbitrary: fc.dictionary(unicodeString, hostileJson, { maxKeys: 4 }) },
  { weight: 2, arbitrary: fc.integer({ min: 20, max: 150 }).map((levels) => nest(levels)) },
  { weight: 1, arbitrary: fc.constant({ blob: "x".repeat(MiB + 10) }) },
);

function nest(levels: number): Record<string, unknown> {
  let o: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < levels; i++) o = { a: o };
  return o;
}

function scalarArb(t: ScalarType): fc.Arbitrary<unknown> {
  switch (t) {
    case ScalarType.STRING:
      return hostileString;
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 64 });
    case ScalarType.DOUBLE:
      return double;
    case ScalarType.FLOAT:
      return fc.float();
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return int64;
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return uint64;
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.integer({ min: 0, max: 4294967295 });
    default:
      return int32;
  }
}

function fieldValueArb(f: DescField, depth: number): fc.Arbitrary<unknown> {
  switch (f.fieldKind) {
    case "scalar":
      return scalarArb(f.scalar);
    case "enum":
      return fc.integer({ min: -2, max: f.enum.values.length + 3 });
    case "message":
      return messageArb(f.message, depth + 1);
    case "list": {
      const el = f.listKind === "scalar" ? scalarArb(f.scalar) : f.listKind === "enum" ? fc.integer({ min: -2, max: f.enum.values.length + 3 }) : messageArb(f.message, depth + 1);
      return fc.array(el, { maxLength: depth > 1 ? 2 : 4 });
    }
    case "map": {
      const value = f.mapKind === "scalar" ? scalarArb(f.scalar) : f.mapKind === "enum" ? fc.integer({ min: 0, max: 3 }) : messageArb(f.message, depth + 1);
      return fc.dictionary(fc.oneof(fc.string({ unit: "binary", maxLength: 70 }), unicodeString), value, { maxKeys: depth > 1 ? 2 : 70 });
    }
  }
}

const messageCache = new Map<string, fc.Arbitrary<Record<string, unknown>>>();
function messageArb(desc: DescMessage, depth: number): fc.Arbitrary<Record<string, unknown>> {
  if (desc.typeName === "google.protobuf.Struct") return jsonObject;
  if (desc.typeName === "google.protobuf.Value") return fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<never>;
  if (depth > 3) return fc.constant({});
  const key = `${desc.typeName}/${depth}`;
  const cached = messageCache.get(key);
  if (cached) return cached;
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const m of desc.members) {
    if (m.kind === "oneof") {
      parts[m.localName] = fc.option(fc.oneof(...m.fields.map((f) => fieldValueArb(f, depth).map((value) => ({ case: f.localName, value })))), { nil: undefined });
    } else {
      parts[m.localName] = fc.option(fieldValueArb(m, depth), { nil: undefined, freq: 2 });
    }
  }
  const arb = fc.record(parts).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)));
  messageCache.set(key, arb);
  return arb;
}

/** Encodes like the given protocol's client would; undefined when the client itself could not (e.g. a Timestamp JSON cannot carry). */
function encodable(method: DescMethod, init: Record<string, unknown>, protocol: Protocol): boolean {
  try {
    const msg = create(method.input, init as never);
    if (protocol === "connect-json") toJsonString(method.input, msg);
    else toBinary(method.input, msg);
    return true;
  } catch {
    return false;
  }
}

// --- checking an answer --------------------------------------------------------------------

function checkRefusal(err: ConnectError, what: string): void {
  expect(CLIENT_CODES.has(err.code), `${what}: refused with ${Code[err.code]} (${err.rawMessage.slice(0, 200)})`).toBe(true);
  const details = err.findDetails(ErrorDetailSchema);
  expect(details, `${what}: one ErrorDetail (C2) on ${Code[err.code]} ${err.rawMessage.slice(0, 120)}`).toHaveLength(1);
  expect(details[0]!.reason, `${what}: a reason`).not.toBe("");
  expect(details[0]!.contract?.recovery?.guidance, `${what}: a contract with guidance`).toBeTruthy();
}

describe("bad input, property-based", () => {
  let replica: Replica;
  let sql: postgres.Sql;
  let h2: http2.ClientHttp2Session;
  const transports = {} as Record<Protocol, Transport>;
  const services: DescService[] = [TaskService, WorkerService];
  let tally = { calls: 0, refused: 0 };
  beforeEach(() => {
    tally = { calls: 0, refused: 0 };
  });

  beforeAll(async () => {
    const databaseUrl = await freshDatabaseUrl();
    replica = await startReplica({ databaseUrl });
    sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    transports["connect-json"] = createConnectTransport({ baseUrl: replica.url, httpVersion: "1.1", useBinaryFormat: false });
    transports["connect-binary"] = createConnectTransport({ baseUrl: replica.url, httpVersion: "1.1", useBinaryFormat: true });
    transports.grpc = createGrpcTransport({ baseUrl: replica.url });
    h2 = http2.connect(replica.url);
    h2.on("error", () => {});
    // Tasks in known states, so refused calls have something they could have changed.
    const tasks = createClient(TaskService, transports["connect-binary"]);
    await tasks.createTask({ queue: "fuzz", type: "t" });
    await tasks.createTask({ queue: "fuzz-claimed", type: "t", timeouts: { heartbeatTimeout: { seconds: 600n } } });
    await tasks.claimTasks({ queue: "fuzz-claimed", workerId: "w" });
    // WorkflowService joins the fuzzing once the server routes it.
    const probe = await fetch(`${replica.url}/${WorkflowService.typeName}/${WorkflowService.methods[0]!.name}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    if (probe.status !== 404) services.push(WorkflowService);
  });
  afterAll(async () => {
    h2?.close();
    await sql?.end();
    await replica?.stop();
  });

  /** Everything a refused call must leave alone. */
  async function snapshot(): Promise<string> {
    const [r] = await sql`
      SELECT (SELECT count(*) FROM baton_tasks)::text AS tasks,
             (SELECT coalesce(max(updated_at), 'epoch')::text FROM baton_tasks) AS updated,
             (SELECT count(*) FROM baton_task_events)::text AS events`;
    return JSON.stringify(r);
  }

  /** Calls `method` with `init` the way a client of `protocol` would; resolves with the error, or undefined on success. */
  async function call(service: DescService, method: DescMethod, init: Record<string, unknown>, protocol: Protocol): Promise<ConnectError | undefined> {
    const client = createClient(service, transports[protocol]) as unknown as Record<string, (...a: unknown[]) => unknown>;
    const fn = client[method.localName]!;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 1_500);
    try {
      if (method.methodKind === "unary") {
        await fn.call(client, init, { signal: abort.signal, timeoutMs: 10_000 });
      } else {
        const input = method.methodKind === "bidi_streaming" || method.methodKind === "client_streaming" ? (async function* () { yield init; })() : init;
        // A stream that opens is fine; read a little of it and close it.
        for await (const _ of fn.call(client, input, { signal: abort.signal }) as AsyncIterable<unknown>) {
          if (Math.random() < 0.5) break;
        }
      }
      return undefined;
    } catch (err) {
      if (abort.signal.aborted) return undefined; // still open when we stopped listening: accepted
      return ConnectError.from(err);
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
  }

  function methods(): { service: DescService; method: DescMethod }[] {
    return services.flatMap((service) => service.methods.map((method) => ({ service, method })));
  }

  it("answers hostile field values on every RPC with a success or a proper refusal that changes nothing", { timeout: 300_000 }, async () => {
    const target = fc.constantFrom(...methods()).chain(({ service, method }) =>
      fc.record({
        service: fc.constant(service),
        method: fc.constant(method),
        init: messageArb(method.input, 0),
        // Bidirectional streams need HTTP/2: gRPC here (the Connect clients above speak HTTP/1.1).
        protocol: method.methodKind === "bidi_streaming" ? fc.constant<Protocol>("grpc") : fc.constantFrom(...PROTOCOLS),
      }),
    );
    await fc.assert(
      fc.asyncProperty(target, async ({ service, method, init, protocol }) => {
        fc.pre(encodable(method, init, protocol));
        // A long-poll claim would just wait: keep it short.
        if (method.name === "ClaimTasks") delete init.wait;
        const before = await snapshot();
        const err = await call(service, method, init, protocol);
        tally.calls++;
        if (err === undefined) return;
        tally.refused++;
        checkRefusal(err, `${service.name}.${method.name} over ${protocol}`);
        if (method.methodKind === "unary") expect(await snapshot(), `${method.name} refused, yet something changed`).toBe(before);
      }),
      { seed: SEED, numRuns: RUNS * 2, endOnFailure: true },
    );
    // Not vacuous: most of these are refusals.
    expect(tally.refused).toBeGreaterThan(tally.calls / 2);
  });

  // --- raw bytes: what no client library would send -------------------------------------

  /** The body for `method`, mostly broken: random bytes, a mangled valid encoding, JSON of the wrong shape. */
  function rawBody(method: DescMethod, json: boolean): fc.Arbitrary<Uint8Array> {
    const valid = messageArb(method.input, 1).map((init) => {
      try {
        const msg = create(method.input, init as never);
        return json ? new TextEncoder().encode(toJsonString(method.input, msg)) : toBinary(method.input, msg);
      } catch {
        return new Uint8Array();
      }
    });
    const mangled = fc.tuple(valid, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.nat()).map(([bytes, flips, cut]) => {
      const out = Uint8Array.from(bytes);
      for (const [at, v] of flips) if (out.length > 0) out[at % out.length] = v;
      return cut % 3 === 0 && out.length > 1 ? out.subarray(0, cut % out.length) : out;
    });
    if (!json) return fc.oneof(fc.uint8Array({ maxLength: 300 }), mangled);
    // JSON with every field given a value of some other type, or no JSON at all.
    const names = method.input.fields.map((f) => f.jsonName);
    const wrongTypes = fc
      .dictionary(
        names.length > 0 ? fc.constantFrom(...names) : fc.string(),
        fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(1e300, -1, 2147483648, -2147483649, "9223372036854775808", "NOPE", [], {}, null, true, "1.5s", "x")),
        { maxKeys: 4 },
      )
      .map((o) => new TextEncoder().encode(JSON.stringify(o)));
    const invalidUtf8 = fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => Uint8Array.from([...new TextEncoder().encode('{"queue":"'), ...b.map((x) => x | 0x80), ...new TextEncoder().encode('","type":"t"}')]));
    const deep = fc.integer({ min: 50, max: 5_000 }).map((n) => new TextEncoder().encode(`{"payload":${'{"a":'.repeat(n)}1${"}".repeat(n)}}`));
    return fc.oneof(wrongTypes, mangled, fc.string().map((s) => new TextEncoder().encode(s)), invalidUtf8, deep);
  }

  async function postConnectUnary(path: string, body: Uint8Array, json: boolean): Promise<{ status: number; err?: ConnectError }> {
    const res = await fetch(`${replica.url}${path}`, {
      method: "POST",
      headers: { "content-type": json ? "application/json" : "application/proto", "connect-protocol-version": "1" },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (res.status === 200) return { status: 200 };
    return { status: res.status, err: errorFromJsonBytes(bytes, undefined, new ConnectError(`unparseable error body (HTTP ${res.status})`, Code.Unknown)) };
  }

  function postGrpc(path: string, message: Uint8Array, maxMs = 1_500): Promise<ConnectError | undefined> {
    return new Promise((resolve, reject) => {
      const req = h2.request({ ":method": "POST", ":path": path, "content-type": "application/grpc+proto", te: "trailers" });
      let headers: http2.IncomingHttpHeaders = {};
      const timer = setTimeout(() => {
        req.close();
        resolve(undefined); // a stream still open: accepted
      }, maxMs);
      req.on("response", (h) => (headers = h));
      req.on("data", () => {});
      req.on("trailers", (t) => {
        clearTimeout(timer);
        const all = new Headers();
        for (const [k, v] of Object.entries({ ...headers, ...t })) if (typeof v === "string") all.set(k, v);
        resolve(findTrailerError(all));
      });
      req.on("end", () => {
        clearTimeout(timer);
        const all = new Headers();
        for (const [k, v] of Object.entries(headers)) if (typeof v === "string") all.set(k, v);
        resolve(findTrailerError(all)); // a trailers-only answer
      });
      req.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      const envelope = new Uint8Array(5 + message.byteLength);
      new DataView(envelope.buffer).setUint32(1, message.byteLength);
      envelope.set(message, 5);
      req.end(envelope);
    });
  }

  it("answers random and mangled bytes on every RPC, over Connect JSON, Connect binary and gRPC, with a proper error", { timeout: 300_000 }, async () => {
    const target = fc.constantFrom(...methods()).chain(({ service, method }) =>
      fc.constantFrom(...PROTOCOLS).chain((protocol) =>
        fc.record({ service: fc.constant(service), method: fc.constant(method), protocol: fc.constant(protocol), body: rawBody(method, protocol === "connect-json") }),
      ),
    );
    await fc.assert(
      fc.asyncProperty(target, async ({ service, method, protocol, body }) => {
        const path = `/${service.typeName}/${method.name}`;
        const what = `${service.name}.${method.name} over ${protocol}`;
        const before = await snapshot();
        let err: ConnectError | undefined;
        if (protocol === "grpc") {
          if (method.name === "ClaimTasks") return; // a valid long-poll would only wait
          err = await postGrpc(path, body);
        } else if (method.methodKind === "unary") {
          if (method.name === "ClaimTasks") return;
          const res = await postConnectUnary(path, body, protocol === "connect-json");
          err = res.err;
        } else {
          return; // Connect streaming over HTTP/1.1 is covered by gRPC framing above
        }
        tally.calls++;
        if (err === undefined) return;
        tally.refused++;
        checkRefusal(err, what);
        if (method.methodKind === "unary") expect(await snapshot(), `${what} refused, yet something changed`).toBe(before);
      }),
      { seed: SEED + 1, numRuns: RUNS * 2, endOnFailure: true },
    );
    expect(tally.refused).toBeGreaterThan(tally.calls / 2);
  });

  // --- the named cases ----------------------------------------------------------------------

  it("names the field of a wrong-typed, overflowing or unknown-enum JSON value", async () => {
    const cases: [string, string, unknown, string][] = [
      ["CreateTask", "priority", { queue: "q", type: "t", priority: "abc" }, "priority"],
      ["CreateTask", "queue", { queue: 5, type: "t" }, "queue"],
      ["CreateTask", "payload", { queue: "q", type: "t", payload: "not an object" }, "payload"],
      ["CreateTask", "payload", { queue: "q", type: "t", payload: [1, 2] }, "payload"],
      ["CreateTask", "int32 overflow", { queue: "q", type: "t", priority: 2147483648 }, "priority"],
      ["CreateTask", "int32 underflow", { queue: "q", type: "t", maxAttempts: -2147483649 }, "max_attempts"],
      ["CreateTask", "fraction", { queue: "q", type: "t", maxAttempts: 1.5 }, "max_attempts"],
      ["CreateTask", "duration", { queue: "q", type: "t", timeouts: { heartbeatTimeout: "five seconds" } }, "timeouts.heartbeat_timeout"],
      ["CreateTask", "timestamp", { queue: "q", type: "t", scheduledTime: "yesterday" }, "scheduled_time"],
      ["CreateTask", "deep", { queue: "q", type: "t", payload: nest(2_000) }, "payload"],
      ["ListTasks", "enum number", { states: [99] }, "states[0]"],
      ["BatchCreateTasks", "nested", { requests: [{ queue: "q", type: "t" }, { queue: "q", type: "t", priority: {} }] }, "requests[1].priority"],
    ];
    for (const [rpc, label, body, field] of cases) {
      const before = await snapshot();
      const res = await postConnectUnary(`/baton.v1.TaskService/${rpc}`, new TextEncoder().encode(JSON.stringify(body)), true);
      expect(res.status, `${rpc} ${label}`).toBe(400);
      checkRefusal(res.err!, `${rpc} ${label}`);
      const detail = res.err!.findDetails(ErrorDetailSchema)[0]!;
      expect(detail.reason, `${rpc} ${label}`).toBe("INVALID_FIELD");
      expect(detail.fieldViolations.map((v) => v.field), `${rpc} ${label}`).toContain(field);
      expect(await snapshot()).toBe(before);
    }
  });

  it("refuses a message over the 4 MiB limit as RESOURCE_EXHAUSTED on every protocol, and a 3 MiB string as an invalid field", async () => {
    const before = await snapshot();
    const big = { queue: "q", type: "t", payload: { blob: "x".repeat(5 * MiB) } };
    const json = await postConnectUnary("/baton.v1.TaskService/CreateTask", new TextEncoder().encode(JSON.stringify(big)), true);
    expect(json.status).toBe(429);
    checkRefusal(json.err!, "5 MiB over Connect JSON");
    expect(json.err!.findDetails(ErrorDetailSchema)[0]!.reason).toBe("MESSAGE_TOO_LARGE");
    const msg = create(TaskService.method.createTask.input, big as never);
    const binary = await postConnectUnary("/baton.v1.TaskService/CreateTask", toBinary(TaskService.method.createTask.input, msg), false);
    checkRefusal(binary.err!, "5 MiB over Connect binary");
    expect(binary.err!.code).toBe(Code.ResourceExhausted);
    const grpc = await postGrpc("/baton.v1.TaskService/CreateTask", toBinary(TaskService.method.createTask.input, msg), 10_000);
    checkRefusal(grpc!, "5 MiB over gRPC");
    expect(grpc!.code).toBe(Code.ResourceExhausted);
    // Under the message limit, a field too long for its rule is an ordinary invalid field.
    const long = await postConnectUnary("/baton.v1.TaskService/CreateTask", new TextEncoder().encode(JSON.stringify({ queue: "q".repeat(3 * MiB), type: "t" })), true);
    checkRefusal(long.err!, "3 MiB queue name");
    expect(long.err!.findDetails(ErrorDetailSchema)[0]!.fieldViolations.map((v) => v.field)).toContain("queue");
    expect(await snapshot()).toBe(before);
  });

  it("decodes invalid UTF-8 in a binary string field to a proper refusal", async () => {
    // Field 2 (queue) of CreateTaskRequest, length-delimited, with bytes that are not UTF-8.
    const bytes = Uint8Array.from([0x12, 0x04, 0xff, 0xfe, 0xc3, 0x28, 0x1a, 0x01, 0x74]);
    const res = await postConnectUnary("/baton.v1.TaskService/CreateTask", bytes, false);
    expect(res.err, "refused").toBeDefined();
    checkRefusal(res.err!, "invalid UTF-8 over Connect binary");
    const grpc = await postGrpc("/baton.v1.TaskService/CreateTask", bytes, 10_000);
    checkRefusal(grpc!, "invalid UTF-8 over gRPC");
  });

  it("answers gRPC-Web requests that fail to decode with an ErrorDetail too, unary and streaming", async () => {
    const msg = Uint8Array.from([0x0a, 0x03, 0xff, 0xfe, 0xfd]); // field 1 (a string) that is not UTF-8
    const envelope = new Uint8Array(5 + msg.length);
    new DataView(envelope.buffer).setUint32(1, msg.length);
    envelope.set(msg, 5);
    for (const rpc of ["GetTask", "WatchTasks"]) {
      const res = await fetch(`${replica.url}/baton.v1.TaskService/${rpc}`, { method: "POST", headers: { "content-type": "application/grpc-web+proto" }, body: envelope });
      const body = new Uint8Array(await res.arrayBuffer());
      let trailer: Headers | undefined;
      for (let at = 0; at + 5 <= body.length; ) {
        const len = new DataView(body.buffer, body.byteOffset + at + 1, 4).getUint32(0);
        if (body[at]! & 0x80) trailer = trailerParse(body.subarray(at + 5, at + 5 + len));
        at += 5 + len;
      }
      const err = findTrailerError(trailer ?? new Headers([...res.headers]));
      expect(err, rpc).toBeDefined();
      checkRefusal(err!, `${rpc} over gRPC-Web`);
      expect(err!.code).toBe(Code.InvalidArgument);
    }
  });

  // --- the worker stream: hostile Results (R2, R6) ----------------------------------------

  it.each(PROTOCOLS)("acks every hostile Result on WorkerService.Connect over %s (or ends the stream), and the session keeps serving", { timeout: 120_000 }, async (protocol) => {
    const tasks = createClient(TaskService, transports.grpc);
    const queue = `fuzz-stream-${protocol}`;
    const openWorker = async () => {
      const s = openRawSession(replica.url, protocol);
      s.send({ case: "hello", value: { queues: [queue], workerId: "fuzz", instanceId: `fuzz-${Math.random()}`, slots: 1 } });
      await s.nextOf("welcome", 10_000);
      return s;
    };
    let session = await openWorker();
    let ended = 0;
    let acked = 0;
    // Outcomes only: the ids are the real lease's, so every Result reaches the database path.
    const outcome = messageArb(ResultSchema, 0).map((r) => r.outcome as { case: string; value: unknown } | undefined);
    await fc.assert(
      fc.asyncProperty(outcome, async (hostile) => {
        const result = { taskId: "", leaseId: "", outcome: hostile };
        fc.pre(encodable({ input: ResultSchema } as unknown as DescMethod, result, protocol));
        const { task } = await tasks.createTask({ queue, type: "t", timeouts: { heartbeatTimeout: { seconds: 600n } } });
        const assigned = (await session.nextOf("assign", 10_000)).task!;
        expect(assigned.id).toBe(task!.id);
        const lease = { taskId: assigned.id, leaseId: assigned.lease!.leaseId };
        session.send({ case: "result", value: { ...lease, outcome: hostile as never } });
        let ack;
        try {
          ack = await session.nextOf("ack", 10_000);
        } catch (err) {
          // The other allowed answer: the stream ends at once, with a proper status.
          expect(String(err)).not.toMatch(/no server message within/);
          checkRefusal(ConnectError.from(err), "Connect after a hostile Result");
          ended++;
          session = await openWorker();
          return;
        }
        acked++;
        expect(ack.taskId, "one Ack for the Result, for its task").toBe(lease.taskId);
        if (!ack.accepted) {
          expect(ack.error, "a refusing Ack says why").toBeDefined();
          expect([ErrorReason[ErrorReason.INTERNAL], ErrorReason[ErrorReason.UNKNOWN], ""]).not.toContain(ack.error!.reason);
          // R6: the lease is still the worker's and the same stream applies a proper Result.
          session.send({ case: "result", value: { ...lease, outcome: { case: "completed", value: { ok: true } } } });
          expect(await session.nextOf("ack", 10_000)).toMatchObject({ taskId: lease.taskId, accepted: true });
        }
      }),
      { seed: SEED + 2, numRuns: Math.max(15, Math.round(RUNS / 6)), endOnFailure: true },
    );
    session.close();
    // Only a frame that cannot be decoded at all (e.g. JSON nested past the
    // decoder's limit) ends the stream; everything decodable gets its Ack.
    expect(acked).toBeGreaterThan(ended);
  });

  it("ends a stream whose Hello holds unstorable strings with INVALID_FIELD naming them, and registers nothing", async () => {
    await fc.assert(
      fc.asyncProperty(unicodeString.filter((x) => /\u0000/.test(x)), fc.constantFrom("workerId", "instanceId", "sdk"), async (bad, field) => {
        const s = openRawSession(replica.url);
        s.send({ case: "hello", value: { queues: ["fuzz-hello"], workerId: "w", instanceId: "i", slots: 1, [field]: bad } as never });
        const err = await s.next(10_000).then(
          (m) => new Error(`answered ${m.case}`),
          (e: unknown) => e,
        );
        const refused = ConnectError.from(err);
        checkRefusal(refused, `Hello with a NUL in ${field}`);
        expect(refused.findDetails(ErrorDetailSchema)[0]!.reason).toBe(ErrorReason[ErrorReason.INVALID_FIELD]);
        s.close();
      }),
      { seed: SEED + 3, numRuns: 10 },
    );
    const [{ n }] = await sql<{ n: string }[]>`SELECT count(*)::text AS n FROM baton_workers WHERE 'fuzz-hello' = ANY(queues)`;
    expect(n).toBe("0");
  });

  it("is still up and answering after all of it", async () => {
    expect(replica.process.exitCode).toBeNull();
    const tasks = createClient(TaskService, transports.grpc);
    const res = await tasks.listTasks({ queue: "fuzz" });
    expect(res.tasks).toHaveLength(1);
  });
});
