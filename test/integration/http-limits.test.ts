// Slow or idle clients cannot starve the others: a connection that sends
// nothing is dropped, an HTTP/1.1 request must finish its headers in time
// (slowloris), and one HTTP/2 connection holds a bounded number of streams.
// Long-lived streams with complete headers are never cut.
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskService } from "../../gen/ts/baton/v1/task_service_pb.js";
import { DEFAULT_CONNECTION_LIMITS, listenOnePort, type OnePortServer } from "../../server/src/http/one-port.js";
import { startTestBaton, type TestBaton } from "../support/baton.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Tracked {
  socket: net.Socket;
  /** Resolves with ms from open until the server closed it. */
  closed: Promise<number>;
}

function openSocket(port: number): Promise<Tracked> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const socket = net.connect(port, "127.0.0.1", () => resolve({ socket, closed }));
    const closed = new Promise<number>((r) => socket.once("close", () => r(Date.now() - t0)));
    socket.on("error", reject);
  });
}

function within<T>(p: Promise<T>, maxMs: number, what: string): Promise<T> {
  return Promise.race([p, sleep(maxMs).then(() => Promise.reject(new Error(`${what}: still open after ${maxMs}ms`)))]);
}

/** Starts an HTTP/1.1 request and dribbles header lines forever: never completes its headers. */
async function slowloris(port: number): Promise<Tracked & { received: () => string }> {
  const t = await openSocket(port);
  let received = "";
  t.socket.on("data", (d) => (received += d.toString()));
  t.socket.on("error", () => {});
  t.socket.write("POST /baton.v1.TaskService/GetTask HTTP/1.1\r\nHost: x\r\n");
  const timer = setInterval(() => {
    if (!t.socket.destroyed) t.socket.write(`X-Slow-${Date.now()}: 1\r\n`);
  }, 100);
  void t.closed.then(() => clearInterval(timer));
  return { ...t, received: () => received };
}

/**
 * A raw HTTP/2 client that opens `n` streams at once, ignoring the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS the way a hostile client would (Node's own
 * client queues streams beyond it). Resolves with the ids answered with HEADERS
 * and the ids reset, with the RST_STREAM error codes.
 */
async function greedyH2(port: number, n: number, path: string): Promise<{ socket: net.Socket; answered: Set<number>; reset: Map<number, number> }> {
  const { socket } = await openSocket(port);
  socket.on("error", () => {});
  const frame = (type: number, flags: number, stream: number, payload: Buffer) => {
    const h = Buffer.alloc(9);
    h.writeUIntBE(payload.length, 0, 3);
    h[3] = type;
    h[4] = flags;
    h.writeUInt32BE(stream, 5);
    return Buffer.concat([h, payload]);
  };
  // HPACK: :method GET (static 2), :scheme http (static 6), :path literal (name 4), :authority literal (name 1).
  const block = Buffer.concat([Buffer.from([0x82, 0x86, 0x04, path.length]), Buffer.from(path), Buffer.from([0x01, 0x01]), Buffer.from("x")]);
  const answered = new Set<number>();
  const reset = new Map<number, number>();
  let buf = Buffer.alloc(0);
  socket.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) break;
      const [type, flags, stream] = [buf[3]!, buf[4]!, buf.readUInt32BE(5) & 0x7fffffff];
      const payload = buf.subarray(9, 9 + len);
      if (type === 0x4 && (flags & 0x1) === 0) socket.write(frame(0x4, 0x1, 0, Buffer.alloc(0))); // SETTINGS ack
      if (type === 0x1) answered.add(stream);
      if (type === 0x3) reset.set(stream, payload.readUInt32BE(0));
      buf = buf.subarray(9 + len);
    }
  });
  const frames = [Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), frame(0x4, 0, 0, Buffer.alloc(0))];
  for (let i = 0; i < n; i++) frames.push(frame(0x1, 0x4 | 0x1, 2 * i + 1, block)); // HEADERS, END_HEADERS | END_STREAM
  socket.write(Buffer.concat(frames));
  return { socket, answered, reset };
}

describe("connection limits of the one port (short limits)", () => {
  let server: OnePortServer;
  const limits = { firstByteTimeoutMs: 400, headersTimeoutMs: 400, maxStreamsPerConnection: 8 };
  beforeAll(async () => {
    server = await listenOnePort(
      (req, anyRes) => {
        const res = anyRes as http.ServerResponse; // the same calls on http2's compatibility response
        if (req.url === "/hold") {
          // A long-lived stream: headers sent, body trickles, never ends on its own.
          res.writeHead(200);
          const timer = setInterval(() => res.write("."), 100);
          res.on("close", () => clearInterval(timer));
          return;
        }
        res.end("ok");
      },
      0,
      "127.0.0.1",
      limits,
    );
  });
  afterAll(async () => server?.close(100));

  it("drops a connection that never sends a byte", async () => {
    const { closed } = await openSocket(server.port);
    expect(await within(closed, 3_000, "an idle connection")).toBeGreaterThanOrEqual(300);
  });

  it("answers a slowloris request 408 and closes it, while others are served", async () => {
    const slow = await Promise.all(Array.from({ length: 20 }, () => slowloris(server.port)));
    const idle = await Promise.all(Array.from({ length: 50 }, () => openSocket(server.port)));
    for (const s of idle) s.socket.on("error", () => {});
    // Everyone else is served at once meanwhile.
    const t0 = Date.now();
    const res = await fetch(`http://127.0.0.1:${server.port}/ok`);
    expect(await res.text()).toBe("ok");
    expect(Date.now() - t0).toBeLessThan(1_000);
    await within(Promise.all(slow.map((s) => s.closed)), 3_000, "slowloris connections");
    for (const s of slow) expect(s.received()).toContain("408");
    await within(Promise.all(idle.map((s) => s.closed)), 3_000, "idle connections");
  });

  it("never cuts a long-lived HTTP/1.1 stream whose headers arrived", async () => {
    const got: string[] = [];
    const req = http.get(`http://127.0.0.1:${server.port}/hold`, (res) => res.on("data", (d: Buffer) => got.push(d.toString())));
    req.on("error", () => {});
    await sleep(limits.headersTimeoutMs * 3);
    expect(req.destroyed).toBe(false);
    expect(got.join("").length).toBeGreaterThan(3);
    req.destroy();
  });

  it("refuses HTTP/2 streams beyond the per-connection limit, and no other connection pays for it", async () => {
    const greedy = await greedyH2(server.port, limits.maxStreamsPerConnection + 4, "/hold");
    await sleep(300);
    // The limit's worth of streams is served; the rest are refused (RST_STREAM REFUSED_STREAM = 7, or PROTOCOL_ERROR = 1).
    expect(greedy.answered.size).toBe(limits.maxStreamsPerConnection);
    expect(greedy.reset.size).toBeGreaterThanOrEqual(4);
    for (const code of greedy.reset.values()) expect([1, 7]).toContain(code);
    // Another connection is served normally while the greedy one holds its streams.
    const other = http2.connect(`http://127.0.0.1:${server.port}`);
    const body = await new Promise<string>((resolve, reject) => {
      const s = other.request({ ":path": "/ok" });
      let text = "";
      s.on("data", (d: Buffer) => (text += d.toString()));
      s.on("end", () => resolve(text));
      s.on("error", reject);
    });
    expect(body).toBe("ok");
    other.close();
    greedy.socket.destroy();
  });
});

describe("connection limits of baton serve", () => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton("postgres");
  });
  afterAll(async () => baton?.close());

  it("keeps answering RPCs promptly while hundreds of idle and slow connections are held, and bounds HTTP/2 streams", async () => {
    const port = baton.server.port;
    const idle = await Promise.all(Array.from({ length: 200 }, () => openSocket(port)));
    for (const s of idle) s.socket.on("error", () => {});
    const slow = await Promise.all(Array.from({ length: 50 }, () => slowloris(port)));
    try {
      const grpc = createClient(TaskService, createGrpcTransport({ baseUrl: baton.server.url }));
      const t0 = Date.now();
      const { task } = await baton.tasks.createTask({ queue: "limits", type: "t" });
      expect((await grpc.getTask({ id: task!.id })).task!.id).toBe(task!.id);
      expect((await baton.tasks.listTasks({ queue: "limits" })).tasks).toHaveLength(1);
      expect(Date.now() - t0).toBeLessThan(2_000);

      const h2 = http2.connect(baton.server.url);
      h2.on("error", () => {});
      await new Promise<void>((r) => h2.once("remoteSettings", () => r()));
      expect(h2.remoteSettings.maxConcurrentStreams).toBe(DEFAULT_CONNECTION_LIMITS.maxStreamsPerConnection);
      h2.close();
    } finally {
      for (const s of idle) s.socket.destroy();
      for (const s of slow) s.socket.destroy();
    }
  });
});
