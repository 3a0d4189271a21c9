/**
 * Every debug and discovery surface on the one port, assembled for server.ts:
 *
 *   RPC services   grpc.reflection.v1 and v1alpha, grpc.health.v1.Health
 *   interceptor    request ids and task ids in RPC logs, RPC and stream metrics
 *   fallback       GET /.well-known/agent.json, /v1/tool, /v1/schema, /metrics,
 *                  /healthz, /readyz, and the MCP endpoint /mcp
 *
 * docs/SURFACES.md describes each one.
 */
import { createRouterTransport, type ConnectRouter, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "pino";
import { TaskService } from "../../../gen/ts/baton/v1/task_service_pb.js";
import { Health, file_health_v1_health } from "../../../gen/ts/health/v1/health_pb.js";
import { ServerReflection as ServerReflectionV1 } from "../../../gen/ts/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../../../gen/ts/grpc/reflection/v1alpha/reflection_pb.js";
import { createErrorInterceptor } from "../api/error-interceptor.js";
import { createStorableInterceptor } from "../api/storable-interceptor.js";
import type { Queryable } from "../store/database.js";
import { createAgentJsonHandler } from "./agent-json.js";
import { loadDescriptors } from "./descriptors.js";
import { createHealth } from "./health.js";
import { createMcpHandler } from "./mcp.js";
import type { BatonMetrics } from "./metrics.js";
import { createOpenApiDocument, createOpenApiHandler } from "./openapi.js";
import { createReflectionIndex, createReflectionV1, createReflectionV1alpha, grpcReflectionFiles } from "./reflection.js";
import { createRequestLogInterceptor } from "./request-log.js";
import { createHttpRouter, type NodeHandlerFn } from "./router.js";
import { createToolManifestHandler, createTools } from "./tool-manifest.js";

export interface SurfaceOptions {
  sql: Queryable;
  databaseKind: string;
  log: Logger;
  metrics: BatonMetrics;
  /** Worker stream sessions open on this replica (the dispatcher's count). */
  workersConnected(): number;
  /** The TaskService handlers, which MCP tools call in process. */
  taskService: ServiceImpl<typeof TaskService>;
}

export interface Surfaces {
  /** Put these first (outermost), before the error interceptor. */
  interceptors: Interceptor[];
  /** Registers reflection and health beside Baton's services. */
  routes(router: ConnectRouter): void;
  /** Everything on the port that is not an RPC. */
  fallback: NodeHandlerFn;
}

export function createSurfaces(opts: SurfaceOptions): Surfaces {
  const { log, metrics } = opts;
  const descriptors = loadDescriptors();
  let served: ConnectRouter | undefined;
  const services = () => [...new Set(served?.handlers.map((h) => h.service.typeName) ?? [])];
  // Baton's services as served: a .proto service without handlers yet is not advertised.
  const batonServices = () => descriptors.services.filter((s) => services().includes(s.typeName));

  metrics.observe({ sql: opts.sql, workersConnected: opts.workersConnected, log });
  const requestLog = createRequestLogInterceptor(log, metrics);
  const health = createHealth({ sql: opts.sql, databaseKind: opts.databaseKind, services, log });
  const reflection = createReflectionIndex([...descriptors.registry.files, ...grpcReflectionFiles, file_health_v1_health], services);
  const tools = createTools(descriptors);
  const inProcess = createRouterTransport((router) => router.service(TaskService, opts.taskService), {
    router: { interceptors: [requestLog, createErrorInterceptor(log), createStorableInterceptor()] },
  });

  const fallback = createHttpRouter(
    [
      { path: "/.well-known/agent.json", methods: ["GET"], handle: createAgentJsonHandler(descriptors, tools, batonServices, services) },
      { path: "/v1/tool", methods: ["GET"], handle: createToolManifestHandler(tools) },
      { path: "/v1/schema", methods: ["GET"], handle: createOpenApiHandler(() => createOpenApiDocument(descriptors, batonServices())) },
      { path: "/mcp", methods: ["POST"], handle: createMcpHandler({ tools, transport: inProcess, log }) },
      { path: "/metrics", methods: ["GET"], handle: metrics.handler },
      { path: "/healthz", methods: ["GET"], handle: health.liveness },
      { path: "/readyz", methods: ["GET"], handle: health.readiness },
    ],
    log,
  );

  return {
    interceptors: [requestLog],
    routes(router) {
      served = router;
      router.service(ServerReflectionV1, createReflectionV1(reflection));
      router.service(ServerReflectionV1alpha, createReflectionV1alpha(reflection));
      router.service(Health, health.service);
    },
    fallback,
  };
}
