import type { Queryable } from "./database.js";

/** DatabasePing: one round trip to the database (readiness probes). */
export async function databasePing(sql: Queryable): Promise<void> {
  await sql`SELECT 1`;
}
