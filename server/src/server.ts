import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { TaskService } from "../../gen/ts/baton/v1/task_service_pb.js";
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
}

export interface BatonServer {
  port: number;
  /** http://host:port */
  url: string;
  engine: Engine;
  databaseKind: "postgres" | "embedded";
  close(): Promise<void>;
}

/** Wires storage, bus, background services and the RPC surface, and listens on one port. */
export async function startServer(opts: ServerOptions): Promise<BatonServer> {
  const log = opts.log;
  const db = await openDatabase({ url: opts.databaseUrl, dataDir: opts.dataDir });
  const applied = await migrate(db.sql);
  if (applied.length > 0) log.info({ applied }, "applied migrations");
  const bus: Bus = opts.natsUrl ? await createNatsBus(opts.natsUrl, log) : createMemoryBus();
  const sequencer = startEventSequencer({ sql: db.sql, bus, log }, 1_000);
  const engine: Engine = { sql: db.sql, bus, log, eventsWritten: sequencer.poke };
  const hub = createWatchHub(bus);
  const sweeper = startLeaseSweeper(engine, opts.sweepIntervalMs ?? 1_000);

  const handler = connectNodeAdapter({
    interceptors: [createErrorInterceptor(log)],
    routes: (router) => {
      router.service(TaskService, createTaskService(engine, hub));
    },
  });
  const http = await listenOnePort(handler, opts.port, opts.host);
  log.info({ port: http.port, database: db.kind, bus: opts.natsUrl ? "nats" : "memory" }, "baton listening");

  return {
    port: http.port,
    url: `http://${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${http.port}`,
    engine,
    databaseKind: db.kind,
    async close() {
      hub.close();
      await http.close(opts.shutdownGraceMs ?? 10_000);
      await sweeper.stop();
      await sequencer.stop();
      await bus.close();
      await db.close();
    },
  };
}
