// Structured logs of RPCs: a request id (the caller's x-request-id, or a fresh
// one) echoed in the response and on every line of the call, plus task ids.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as http2 from "node:http2";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type BatonServer } from "../../server/src/server.js";
import { freshDatabaseUrl } from "../support/databases.js";

interface Line {
  level: number;
  msg: string;
  requestId?: string;
  procedure?: string;
  code?: string;
  taskId?: string;
  taskIds?: string[];
  durationMs?: number;
}

describe("request ids in RPC logs", () => {
  let server: BatonServer;
  let dataDir: string;
  const lines: Line[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "baton-test-"));
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const text of chunk.toString().split("\n")) if (text) lines.push(JSON.parse(text) as Line);
        done();
      },
    });
    server = await startServer({ port: 0, host: "127.0.0.1", databaseUrl: await freshDatabaseUrl(), dataDir, log: pino({ level: "info" }, sink), shutdownGraceMs: 1_000 });
  });
  afterAll(async () => {
    await server?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const post = (method: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/baton.v1.TaskService/${method}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const logged = (requestId: string) => lines.filter((l) => l.requestId === requestId);

  it("keeps the caller's x-request-id, echoes it and logs the task id", async () => {
    const res = await post("CreateTask", { queue: "logs", type: "t" }, { "x-request-id": "req-create-1" });
    expect(res.headers.get("x-request-id")).toBe("req-create-1");
    const { task } = (await res.json()) as { task: { id: string } };
    const line = logged("req-create-1").find((l) => l.msg === "rpc");
    expect(line).toMatchObject({ procedure: "baton.v1.TaskService/CreateTask", code: "ok", taskId: task.id });
    expect(typeof line!.durationMs).toBe("number");

    const claim = await post("ClaimTasks", { queue: "logs", workerId: "w" }, { "x-request-id": "req-claim-1" });
    expect(claim.status).toBe(200);
    expect(logged("req-claim-1").find((l) => l.msg === "rpc")).toMatchObject({ taskId: task.id });
  });

  it("makes up an id when there is none (or a bad one), and logs failures with their code", async () => {
    const res = await post("GetTask", { id: "01a20d06-6884-7565-a033-ba82524a714d" }, { "x-request-id": "bad id with spaces" });
    expect(res.status).toBe(404);
    const id = res.headers.get("x-request-id")!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(logged(id).find((l) => l.msg === "rpc failed")).toMatchObject({ code: "not_found", taskId: "01a20d06-6884-7565-a033-ba82524a714d" });
  });

  it("logs a worker stream ended by a garbage first frame as invalid_argument at info, as the client is told", async () => {
    // ConnectRequest field 1 (hello), 3 bytes that are not a Hello.
    const garbage = Uint8Array.from([0x0a, 0x03, 0xff, 0xfe, 0xfd]);
    const envelope = new Uint8Array(5 + garbage.length);
    new DataView(envelope.buffer).setUint32(1, garbage.length);
    envelope.set(garbage, 5);
    // A bidi stream needs HTTP/2: plain gRPC, as a worker SDK would speak it.
    const h2 = http2.connect(server.url);
    const status = await new Promise<string>((resolve, reject) => {
      const req = h2.request({ ":method": "POST", ":path": "/baton.v1.WorkerService/Connect", "content-type": "application/grpc+proto", te: "trailers", "x-request-id": "garbage-frame-1" });
      let headers: http2.IncomingHttpHeaders = {};
      req.on("response", (h) => (headers = h));
      req.on("trailers", (t) => resolve(String(t["grpc-status"] ?? headers["grpc-status"])));
      req.on("end", () => resolve(String(headers["grpc-status"])));
      req.on("data", () => {});
      req.on("error", reject);
      req.end(envelope);
    });
    h2.close();
    expect(status).toBe("3"); // INVALID_ARGUMENT
    const line = logged("garbage-frame-1").find((l) => l.msg === "rpc failed");
    expect(line).toMatchObject({ code: "invalid_argument" });
    expect(line!.level).toBeLessThan(40);
    expect(logged("garbage-frame-1").filter((l) => l.level >= 40)).toEqual([]);
  });

  it("answers an MCP client offering a protocol version newer than ours quietly: 400 with the supported ones, nothing logged at warn", async () => {
    const res = await fetch(`${server.url}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2026-07-28",
        "x-request-id": "mcp-newer-1",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/supported versions: 2025-/);
    expect(logged("mcp-newer-1").filter((l) => l.level >= 40)).toEqual([]);
  });

  it("tags the plain HTTP routes too", async () => {
    const res = await fetch(`${server.url}/healthz`, { headers: { "x-request-id": "probe-1" } });
    expect(res.headers.get("x-request-id")).toBe("probe-1");
  });
});
