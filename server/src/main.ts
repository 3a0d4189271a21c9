/**
 * `baton serve`: configuration from flags and environment, then the server.
 *
 *   PORT / --port            default 7233
 *   HOST / --host            default 127.0.0.1 (0.0.0.0 to listen on all interfaces)
 *   DATABASE_URL             unset: embedded PGlite in BATON_DATA_DIR
 *   BATON_DATA_DIR           default ./.baton/data
 *   NATS_URL                 unset: in-process bus
 *   LOG_LEVEL                default info
 *   BATON_MAX_MESSAGE_BYTES  largest request message accepted, default 4 MiB
 *   BATON_SWEEP_INTERVAL_MS, BATON_WORKER_HEARTBEAT_INTERVAL_MS, BATON_DISPATCH_TICK_MS
 *                            background intervals (default 1000 each); tests and chaos runs shorten them
 */
import { Command, InvalidArgumentError } from "commander";
import { resolve } from "node:path";
import pino from "pino";
import { startServer } from "./server.js";
import { addWorkflowCommands } from "./cli/workflow-command.js";
import { installDriverCrashGuard } from "./store/driver-crash-guard.js";

/** A whole number from the environment, or undefined (the server's default) when unset or malformed. */
function envInt(name: string): number | undefined {
  const v = process.env[name];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError("must be a port number 0..65535");
  return port;
}

const program = new Command("baton").description("Baton task orchestration server");

program
  .command("serve")
  .description("serve gRPC, gRPC-Web and Connect on one port")
  .option("--port <port>", "port to listen on", parsePort, parsePort(process.env.PORT ?? "7233"))
  .option("--host <host>", "interface to listen on", process.env.HOST ?? "127.0.0.1")
  .option("--database-url <url>", "Postgres URL (default: embedded PGlite)", process.env.DATABASE_URL)
  .option("--nats-url <url>", "NATS URL (default: in-process bus)", process.env.NATS_URL)
  .option("--data-dir <dir>", "embedded database directory", process.env.BATON_DATA_DIR ?? ".baton/data")
  .action(async (o: { port: number; host: string; databaseUrl?: string; natsUrl?: string; dataDir: string }) => {
    const log = pino({ level: process.env.LOG_LEVEL ?? "info" });
    installDriverCrashGuard(log);
    const server = await startServer({
      port: o.port,
      host: o.host,
      databaseUrl: o.databaseUrl || undefined,
      natsUrl: o.natsUrl || undefined,
      dataDir: resolve(o.dataDir),
      log,
      maxMessageBytes: envInt("BATON_MAX_MESSAGE_BYTES"),
      sweepIntervalMs: envInt("BATON_SWEEP_INTERVAL_MS"),
      workerHeartbeatIntervalMs: envInt("BATON_WORKER_HEARTBEAT_INTERVAL_MS"),
      dispatchTickMs: envInt("BATON_DISPATCH_TICK_MS"),
    });
    let closing = false;
    const shutdown = (signal: string) => {
      if (closing) return;
      closing = true;
      log.info({ signal }, "shutting down: finishing in-flight calls");
      server.close().then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
    };
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    process.on("SIGINT", () => shutdown("SIGINT"));
  });

addWorkflowCommands(program); // workflows: baton workflow put FILE.yaml --server URL

await program.parseAsync();
