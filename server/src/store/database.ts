import { mkdtemp, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";

/** A connection pool, or a transaction: every named query accepts either. */
export type Queryable = postgres.Sql | postgres.TransactionSql;

export interface Database {
  sql: postgres.Sql;
  /** "postgres" for DATABASE_URL, "embedded" for the in-process PGlite. */
  kind: "postgres" | "embedded";
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A postgres:// URL; unset selects the embedded database. */
  url?: string;
  /** Where the embedded database keeps its files. */
  dataDir: string;
  maxConnections?: number;
}

const quietNotices = () => {};

/** Seconds before a pooled connection retries after a failed connect: 50ms doubling, at most 0.5s, jittered. */
export function reconnectDelaySeconds(retries: number): number {
  return Math.min(0.05 * 2 ** retries, 0.5) * (0.5 + Math.random() / 2);
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.url) {
    const sql = postgres(opts.url, {
      max: opts.maxConnections ?? 10,
      onnotice: quietNotices,
      connect_timeout: 10,
      // Fail fast instead of queueing forever when Postgres is gone (rule S4).
      idle_timeout: 60,
      // postgres.js counts failed connects pool-wide and backs off up to 20s (3^n/100 s):
      // after a few seconds' outage every query waited out that delay (a hang past the
      // caller's deadline) and the pool came back ~7s after Postgres did. Reconnect
      // within half a second instead: queries fail fast (UNAVAILABLE) while Postgres
      // is down and succeed as soon as it is back (found by test/chaos).
      backoff: reconnectDelaySeconds,
    });
    return { sql, kind: "postgres", close: () => sql.end({ timeout: 5 }) };
  }
  return openEmbedded(opts.dataDir);
}

/**
 * The embedded default: PGlite (Postgres compiled to WASM) served on a private
 * unix socket, so the same `postgres` driver and the same SQL serve both modes.
 * PGlite is single-connection, hence a pool of one.
 */
async function openEmbedded(dataDir: string): Promise<Database> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  // Unix socket paths are limited to ~107 bytes, so the socket lives in a short temp dir.
  const socketDir = await mkdtemp(join(tmpdir(), "baton-pg-"));
  const path = join(socketDir, ".s.PGSQL.5432");
  const server = new PGLiteSocketServer({ db, path });
  await server.start();
  const sql = postgres({ path, max: 1, onnotice: quietNotices, username: "postgres", database: "postgres" });
  return {
    sql,
    kind: "embedded",
    async close() {
      await sql.end({ timeout: 5 });
      await server.stop();
      await db.close();
      await rm(socketDir, { recursive: true, force: true });
    },
  };
}
