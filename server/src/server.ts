import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { randomBytes } from "node:crypto";
import { TaskService } from "../../gen/ts/baton/v1/task_service_pb.js";
import { WorkerService } from "../../gen/ts/baton/v1/worker_service_pb.js";
import { createWorkerService } from "./api/worker-service.js";
import { Dispatcher } from "./engine/dispatcher.js";
import { SERVER_VERSION } from "./version.js";
import { createErrorInterceptor } from "./api/error-interceptor.js";
import { createTaskService } from "./api/task-service.js";
import type { Bus } from "./bus/bus.js";
import { createMemoryBus } from "./bus/memory-bus.js";
import { createNatsBus } from "./bus/nats-bus.js";
import type { Engine } from "./engine/engine.js";
import { startEventSequencer } from "./engine/event-sequencer.js";
import { startLeaseSweeper } from "./engine/lease-sweeper.js";
import { createWatchHub } from "./engine/watch-hub.js";
import { listenOnePort } from "./http/one-port.js";
import { createMetrics } from "./http/metrics.js"; // issue 7: surfaces
import { withRequestContext } from "./http/request-log.js"; // issue 7: surfaces
import { createSurfaces } from "./http/surfaces.js"; // issue 7: surfaces
import { openDatabase } from "./store/database.js";
import { migrate } from "./store/migrate.js";

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
  const log = withRequestContext(opts.log); // issue 7: RPC request ids on every log line
  const db = await openDatabase({ url: opts.databaseUrl, dataDir: opts.dataDir });
  const applied = await migrate(db.sql);
  if (applied.length > 0) log.info({ applied }, "applied migrations");
  const bus: Bus = opts.natsUrl ? await createNatsBus(opts.natsUrl, log) : createMemoryBus();
  const sequencer = startEventSequencer({ sql: db.sql, bus, log }, 1_000);
  const metrics = createMetrics(); // issue 7: /metrics
  const engine: Engine = { sql: db.sql, bus, log, eventsWritten: sequencer.poke, metrics };
  const hub = createWatchHub(bus);
  const sweeper = startLeaseSweeper(engine, opts.sweepIntervalMs ?? 1_000);
  const replicaId = `replica-${randomBytes(4).toString("hex")}`;
  const heartbeatIntervalMs = opts.workerHeartbeatIntervalMs ?? 1_000;
  const dispatcher = new Dispatcher(engine, { replicaId, heartbeatIntervalMs, tickMs: opts.dispatchTickMs ?? 1_000 });
  const sessionSettings = { replicaId, serverVersion: SERVER_VERSION, heartbeatIntervalMs, cancelGraceMs: 10_000 };

  // issue 7: reflection, health, agent.json, /v1/tool, /v1/schema, MCP, /metrics, probes (server/src/http/surfaces.ts)
  const surfaces = createSurfaces({
    sql: db.sql,
    databaseKind: db.kind,
    log,
    metrics,
    workersConnected: () => dispatcher.sessionCount,
    taskService: createTaskService(engine, hub, dispatcher),
  });
  const handler = connectNodeAdapter({
    interceptors: [...surfaces.interceptors, createErrorInterceptor(log)],
    routes: (router) => {
      router.service(TaskService, createTaskService(engine, hub, dispatcher));
      router.service(WorkerService, createWorkerService(engine, dispatcher, sessionSettings));
      surfaces.routes(router); // issue 7
    },
    fallback: surfaces.fallback, // issue 7
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
      await http.close(opts.shutdownGraceMs ?? 10_000);
      await sweeper.stop();
      await sequencer.stop();
      await bus.close();
      await db.close();
    },
  };
}
