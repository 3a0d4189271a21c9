// /.well-known/agent.json: where an agent starts. Walk every link it gives and
// every RPC path it lists; none may be a dead end.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskService } from "../../gen/ts/baton/v1/task_service_pb.js";
import { WorkerService } from "../../gen/ts/baton/v1/worker_service_pb.js";
import { startTestBaton, type TestBaton } from "../support/baton.js";

interface AgentJson {
  name: string;
  version: string;
  protocol: { version: string };
  authentication: { scheme: string; description: string };
  links: { rel: string; href: string; type: string; method?: string }[];
  services: { name: string; methods: { name: string; kind: string; path: string; http?: string; tool?: string }[] }[];
  grpc: { reflection: string[]; health: string };
}

describe("agent discovery", () => {
  let baton: TestBaton;
  let agent: AgentJson;

  beforeAll(async () => {
    baton = await startTestBaton("postgres");
    const res = await fetch(`${baton.server.url}/.well-known/agent.json`);
    expect(res.status).toBe(200);
    agent = (await res.json()) as AgentJson;
  });
  afterAll(async () => baton?.close());

  it("says what Baton is, its protocol version and that there is no auth yet", () => {
    expect(agent.name).toBe("Baton");
    expect(agent.protocol.version).toBe("v1");
    expect(agent.authentication.scheme).toBe("none");
    expect(agent.authentication.description).toMatch(/no authentication/);
    expect(agent.grpc.reflection).toEqual(["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]);
    expect(agent.links.map((l) => l.rel)).toEqual(["self", "openapi", "tools", "mcp", "metrics", "health", "ready"]);
  });

  it("links only to live surfaces", async () => {
    for (const link of agent.links) {
      expect(link.href.startsWith(baton.server.url), link.href).toBe(true);
      const res = await fetch(link.href);
      const body = await res.text();
      expect(res.status, `GET ${link.href}`).not.toBe(404);
      if (link.method === "POST") {
        // MCP keeps no sessions: no GET stream, so GET is refused, not missing.
        expect(res.status, `GET ${link.href}`).toBe(405);
        continue;
      }
      expect(res.status, `GET ${link.href}: ${body.slice(0, 200)}`).toBe(200);
      expect(res.headers.get("content-type"), link.href).toContain(link.type);
      if (link.type === "application/json") expect(() => JSON.parse(body)).not.toThrow();
    }
  });

  it("lists every service and method with its Connect path, and each unary path answers", async () => {
    for (const service of [TaskService, WorkerService]) {
      const listed = agent.services.find((s) => s.name === service.typeName);
      expect(listed, service.typeName).toBeDefined();
      expect(listed!.methods.map((m) => m.name).sort()).toEqual(service.methods.map((m) => m.name).sort());
    }
    for (const method of agent.services.flatMap((s) => s.methods)) {
      expect(method.path).toMatch(/^\/baton\.v1\.\w+\/\w+$/);
      if (method.kind !== "unary") continue;
      expect(method.http).toBe("POST");
      // An empty request is invalid for most RPCs, but it reaches the RPC: never a 404.
      const res = await fetch(`${baton.server.url}${method.path}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect(res.status, method.path).not.toBe(404);
      const body = (await res.json()) as { contract?: unknown; details?: unknown[] };
      expect(body.contract ?? body.details, method.path).toBeDefined();
    }
    const tools = agent.services.flatMap((s) => s.methods.flatMap((m) => (m.tool ? [m.tool] : [])));
    expect(tools).toHaveLength(9);
  });

  it("serves the tool manifest in MCP's tools/list shape", async () => {
    const manifest = (await (await fetch(`${baton.server.url}/v1/tool`)).json()) as {
      mcp: { url: string };
      tools: { name: string; description: string; inputSchema: { type: string; properties: object }; _meta: Record<string, string> }[];
    };
    expect(manifest.mcp.url).toBe(`${baton.server.url}/mcp`);
    for (const tool of manifest.tools) {
      expect(tool.inputSchema.type).toBe("object");
      expect(tool.description.length).toBeGreaterThan(20);
      expect(tool._meta["baton/httpPath"]).toMatch(/^\/baton\.v1\.TaskService\//);
    }
    const claim = manifest.tools.find((t) => t.name === "claim_tasks")!;
    expect(Object.keys(claim.inputSchema.properties)).toEqual(expect.arrayContaining(["queue", "workerId", "maxTasks", "wait"]));
  });

  it("answers liveness and readiness", async () => {
    const live = await fetch(`${baton.server.url}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toMatchObject({ status: "ok" });
    const ready = await fetch(`${baton.server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", checks: { database: { ok: true, kind: "postgres" } } });
  });

  it("answers unknown paths 404 and wrong methods 405, pointing at agent.json", async () => {
    const missing = await fetch(`${baton.server.url}/nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ discovery: "/.well-known/agent.json" });
    const wrong = await fetch(`${baton.server.url}/metrics`, { method: "POST" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, HEAD");
  });
});
