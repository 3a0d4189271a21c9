// Starts Baton servers inside the test process, on either storage backend.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import pino, { type Logger } from "pino";
import { TaskService } from "../../gen/ts/baton/v1/task_service_pb.js";
import { startServer, type BatonServer } from "../../server/src/server.js";
import { freshDatabaseUrl } from "./databases.js";

export type Backend = "postgres" | "embedded";

/** Both storage backends: integration tests run once on each (issue: same SQL on both). */
export const backends: Backend[] = ["postgres", "embedded"];

export interface TestBaton {
  server: BatonServer;
  tasks: Client<typeof TaskService>;
  databaseUrl?: string;
  close(): Promise<void>;
}

export interface TestBatonOptions {
  /** Reuse a database (e.g. a second replica); default a fresh one. */
  databaseUrl?: string;
  natsUrl?: string;
  sweepIntervalMs?: number;
  workerHeartbeatIntervalMs?: number;
  dispatchTickMs?: number;
  /** The server's logger; default pino at BATON_TEST_LOG (silent). Tests that inspect log lines pass their own. */
  log?: Logger;
  sequenceIntervalMs?: number;
}

export async function startTestBaton(backend: Backend, opts: TestBatonOptions = {}): Promise<TestBaton> {
  const dataDir = await mkdtemp(join(tmpdir(), "baton-test-"));
  const databaseUrl = backend === "postgres" ? (opts.databaseUrl ?? (await freshDatabaseUrl())) : undefined;
  const server = await startServer({
    port: 0,
    host: "127.0.0.1",
    databaseUrl,
    natsUrl: opts.natsUrl,
    dataDir,
    log: opts.log ?? pino({ level: process.env.BATON_TEST_LOG ?? "silent" }),
    sweepIntervalMs: opts.sweepIntervalMs ?? 200,
    workerHeartbeatIntervalMs: opts.workerHeartbeatIntervalMs,
    dispatchTickMs: opts.dispatchTickMs ?? 250,
    sequenceIntervalMs: opts.sequenceIntervalMs,
    shutdownGraceMs: 1_000,
  });
  const transport = createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" });
  return {
    server,
    tasks: createClient(TaskService, transport),
    databaseUrl,
    async close() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
