import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { randomBytes } from "node:crypto";
import { TaskService } from "../../gen/ts/baton/v1/task_service_pb.js";
import { WorkerService } from "../../gen/ts/baton/v1/worker_service_pb.js";
import { createWorkerService } from "./api/worker-service.js";
import { Dispatcher } from "./engine/dispatcher.js";
import { SERVER_VERSION } from "./version.js";
import { createErrorInterceptor } from "./api/error-interceptor.js";
import { createStorableInterceptor } from "./api/storable-interceptor.js";
import { setPageTokenKey } from "./core/page-token.js";
import { serverKey } from "./store/server-keys.js";
import { createTaskService } from "./api/task-service.js";
import type { Bus } from "./bus/bus.js";
import { createMemoryBus } from "./bus/memory-bus.js";
import { createNatsBus } from "./bus/nats-bus.js";
import type { Engine } from "./engine/engine.js";
import { startEventSequencer, startRunEventSequencer } from "./engine/event-sequencer.js";
import { CompletionBatcher } from "./engine/complete-batcher.js";
import { startLeaseSweeper } from "./engine/lease-sweeper.js";
import { createWatchHub } from "./engine/watch-hub.js";
import { listenOnePort } from "./http/one-port.js";
import { DEFAULT_MAX_MESSAGE_BYTES, withProtocolErrorDetails } from "./http/protocol-errors.js";
import { createMetrics } from "./http/metrics.js";
import { createSurfaces } from "./http/surfaces.js";
import { openDatabase } from "./store/database.js";
import { migrate } from "./store/migrate.js";
import { WorkflowService } from "../../gen/ts/baton/v1/workflow_service_pb.js";
import { createWorkflowService } from "./api/workflow-service.js";
import { startWorkflows } from "./engine/workflow-runtime.js";

export interface ServerOptions {
  port: number;
  host: string;
  /** Unset: embedded PGlite in `dataDir`. */
  databaseUrl?: string;
  /** Unset: in-process bus (one replica only). */
  natsUrl?: string;
  dataDir: string;
  log: Logger;
  /** How often this replica looks for expired leases. */
  sweepIntervalMs?: number;
  /** How long in-flight calls may run on shutdown. */
  shutdownGraceMs?: number;
  /** How often stream workers must heartbeat (Welcome.heartbeat_interval). */
  workerHeartbeatIntervalMs?: number;
  /** How often each queue is re-checked for due work without a wake-up. */
  dispatchTickMs?: number;
  /**
   * How often the task and run event sequencers look for events nobody poked
   * them about (a writer that died before poking); default 1 s. Tests set it
   * long to show a write's own poke is what wakes watchers.
   */
  sequenceIntervalMs?: number;
  /** The largest request message accepted (default 4 MiB); larger ones get RESOURCE_EXHAUSTED. */
  maxMessageBytes?: number;
}

export interface BatonServer {
  port: number;
  /** http://host:port */
  url: string;
  engine: Engine;
  replicaId: string;
  dispatcher: Dispatcher;
  databaseKind: "postgres" | "embedded";
  close(): Promise<void>;
}

/** Wires storage, bus, background services and the RPC surface, and listens on one port. */
export async function startServer(opts: ServerOptions): Promise<BatonServer> {
  const log = opts.log;
  const db = await openDatabase({ url: opts.databaseUrl, dataDir: opts.dataDir });
  const applied = await migrate(db.sql);
  if (applied.length > 0) log.info({ applied }, "applied migrations");
  // Page tokens made by any replica are honoured by every other (core/page-token.ts).
  setPageTokenKey(await serverKey(db.sql, "page_token"));
  const bus: Bus = opts.natsUrl ? await createNatsBus(opts.natsUrl, log) : createMemoryBus();
  const sequencer = startEventSequencer({ sql: db.sql, bus, log }, opts.sequenceIntervalMs ?? 1_000);
  const metrics = createMetrics();
  const runSequencer = startRunEventSequencer({ sql: db.sql, bus, log }, opts.sequenceIntervalMs ?? 1_000);
  const engine: Engine = {
    sql: db.sql,
    bus,
    log,
    eventsWritten: sequencer.poke,
    runEventsWritten: runSequencer.poke,
    completions: new CompletionBatcher(db.sql),
    metrics,
  };
  const hub = createWatchHub(bus);
  const sweeper = startLeaseSweeper(engine, opts.sweepIntervalMs ?? 1_000);
  const workflows = startWorkflows(engine, { sweepIntervalMs: opts.sweepIntervalMs ?? 1_000 }); // workflows: run events, WatchRun, run timeouts
  const replicaId = `replica-${randomBytes(4).toString("hex")}`;
  const heartbeatIntervalMs = opts.workerHeartbeatIntervalMs ?? 1_000;
  const dispatcher = new Dispatcher(engine, { replicaId, heartbeatIntervalMs, tickMs: opts.dispatchTickMs ?? 1_000 });
  const sessionSettings = { replicaId, serverVersion: SERVER_VERSION, heartbeatIntervalMs, cancelGraceMs: 10_000 };

  const taskService = createTaskService(engine, hub, dispatcher);
  // Reflection, health, agent.json, /v1/tool, /v1/schema, MCP, /metrics and probes (http/surfaces.ts).
  const surfaces = createSurfaces({
    sql: db.sql,
    databaseKind: db.kind,
    log,
    metrics,
    workersConnected: () => dispatcher.sessionCount,
    taskService,
  });
  const maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const handler = connectNodeAdapter({
    readMaxBytes: maxMessageBytes,
    // JSON is decoded strictly: an unknown enum name or field name is a typo that
    // would otherwise be dropped and silently widen a filter (S1).
    jsonOptions: { ignoreUnknownFields: false },
    interceptors: [...surfaces.interceptors, createErrorInterceptor(log), createStorableInterceptor()],
    // C2 for decode and size errors, which Connect answers before any interceptor runs.
    routes: withProtocolErrorDetails((router) => {
      router.service(TaskService, taskService);
      router.service(WorkerService, createWorkerService(engine, dispatcher, sessionSettings));
      router.service(WorkflowService, createWorkflowService(engine, workflows.hub));
      surfaces.routes(router);
    }, maxMessageBytes),
    fallback: surfaces.fallback,
  });
  const http = await listenOnePort(handler, opts.port, opts.host);
  log.info({ port: http.port, database: db.kind, bus: opts.natsUrl ? "nats" : "memory", replicaId }, "baton listening");

  return {
    port: http.port,
    url: `http://${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${http.port}`,
    engine,
    replicaId,
    dispatcher,
    databaseKind: db.kind,
    async close() {
      // G1: workers hear GoAway first and reconnect elsewhere while calls finish here.
      dispatcher.goAwayAll("server shutting down", 100);
      dispatcher.close();
      hub.close();
      await workflows.stop();
      await http.close(opts.shutdownGraceMs ?? 10_000);
      await sweeper.stop();
      await sequencer.stop();
      await runSequencer.stop();
      await bus.close();
      await db.close();
    },
  };
}
