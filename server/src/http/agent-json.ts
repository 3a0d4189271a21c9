/**
 * GET /.well-known/agent.json: where an agent starts. It says what Baton is,
 * which protocol version it speaks, how to authenticate (not at all, yet),
 * links to every other surface, and lists the services with their Connect
 * paths (from the descriptors).
 */
import { TaskService } from "../../../gen/ts/baton/v1/task_service_pb.js";
import type { DescService } from "@bufbuild/protobuf";
import { SERVER_VERSION } from "../version.js";
import { methodPath, type Descriptors } from "./descriptors.js";
import { baseUrlOf, sendJson, type RouteHandler } from "./router.js";
import { toolName, type ToolDefinition } from "./tool-manifest.js";

/** The surfaces linked from agent.json, relative to the server's address. */
export const AGENT_LINKS = [
  { rel: "self", path: "/.well-known/agent.json", type: "application/json", description: "this document" },
  { rel: "openapi", path: "/v1/schema", type: "application/json", description: "OpenAPI 3.1 of the Connect JSON API, generated from the protobuf descriptors" },
  { rel: "tools", path: "/v1/tool", type: "application/json", description: "the task operations as an MCP-compatible tool manifest" },
  { rel: "mcp", path: "/mcp", type: "application/json", method: "POST", description: "Model Context Protocol endpoint (streamable HTTP, stateless, JSON responses)" },
  { rel: "metrics", path: "/metrics", type: "text/plain", description: "Prometheus metrics" },
  { rel: "health", path: "/healthz", type: "application/json", description: "liveness: the process answers" },
  { rel: "ready", path: "/readyz", type: "application/json", description: "readiness: the database answers (503 when not)" },
] as const;

/** `batonServices`: the Baton services this server serves; `grpcServices`: the names of every service it serves. */
export function createAgentJsonHandler(descriptors: Descriptors, tools: ToolDefinition[], batonServices: () => DescService[], grpcServices: () => string[]): RouteHandler {
  const toolNames = new Set(tools.map((t) => t.tool.name));
  const describe = (services: DescService[]) => services.map((s) => ({
    name: s.typeName,
    description: descriptors.comment(s).split("\n\n", 1)[0] ?? "",
    methods: s.methods.map((m) => ({
      name: m.name,
      kind: m.methodKind,
      path: methodPath(m),
      ...(m.methodKind === "unary" ? { http: "POST", contentType: "application/json" } : { note: "streaming: use a Connect, gRPC or gRPC-Web client" }),
      ...(s.typeName === TaskService.typeName && toolNames.has(toolName(m.name)) ? { tool: toolName(m.name) } : {}),
    })),
  }));

  return (req, res) => {
    const base = baseUrlOf(req);
    const services = describe(batonServices());
    sendJson(res, 200, {
      name: "Baton",
      description:
        "Task orchestration for fleets of workers and AI agents: producers create tasks; workers claim them with fenced leases, heartbeat, and complete or fail them; everyone can watch every change. Every response and error carries an agent contract: the state, the next actions valid now and recovery guidance.",
      version: SERVER_VERSION,
      protocol: { name: "baton", version: "v1", packages: ["baton.v1"], source: "proto/baton/v1 (the .proto comments are the normative spec)" },
      authentication: {
        scheme: "none",
        description: "Baton has no authentication yet: anyone who can reach this port can call every operation. Run it on a trusted network or behind an authenticating proxy.",
      },
      url: base,
      links: AGENT_LINKS.map((l) => ({ ...l, href: `${base}${l.path}` })),
      transports: [
        { protocol: "connect", http: ["1.1", "2"], encodings: ["json", "proto"], note: "unary RPCs are JSON POSTs: curl works" },
        { protocol: "grpc", http: ["2 (cleartext h2c on this port)"] },
        { protocol: "grpc-web", http: ["1.1", "2"] },
      ],
      grpc: { reflection: grpcServices().filter((s) => s.startsWith("grpc.reflection.")), health: "grpc.health.v1.Health" },
      services,
      agentContract: {
        field: "contract",
        errorDetail: "baton.v1.ErrorDetail",
        description: "Each response's `contract` lists `nextActions` (rpc, httpPath, purpose, deadline) and `recovery` (retryable, retryAfter, guidance); each error's details hold an ErrorDetail with the same contract.",
      },
    });
  };
}
