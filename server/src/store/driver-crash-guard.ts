import type { Logger } from "pino";

/**
 * postgres.js 3.4.9 (the newest) can throw from a setImmediate when a connection
 * dies with a small write buffered (`nextWrite` on a null socket; upstream
 * porsager/postgres#1154, #1208, open). Nothing can catch it, and it would take
 * the whole server down exactly when Postgres restarts — the moment Baton must
 * survive (S4). The query it belonged to was already rejected with
 * CONNECTION_CLOSED and the pool replaces the connection, so that one error is
 * logged and dropped. Every other uncaught exception still ends the process.
 */
export function installDriverCrashGuard(log: Logger): void {
  process.on("uncaughtException", (err) => {
    if (isDriverNullSocketWrite(err)) {
      log.warn({ err }, "postgres driver wrote to a closed connection; dropped (upstream bug)");
      return;
    }
    log.fatal({ err }, "uncaught exception");
    process.exit(1);
  });
}

export function isDriverNullSocketWrite(err: unknown): boolean {
  return (
    err instanceof TypeError &&
    /reading 'write'/.test(err.message) &&
    typeof err.stack === "string" &&
    /nextWrite[^\n]*postgres[\\/]src[\\/]connection\.js/.test(err.stack)
  );
}
