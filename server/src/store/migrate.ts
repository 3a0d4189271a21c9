import { readdir, readFile } from "node:fs/promises";
import type postgres from "postgres";

const migrationsDir = new URL("./migrations/", import.meta.url);

/** An arbitrary constant: the advisory lock that serialises replicas migrating at once. */
const MIGRATION_LOCK = 0x62617430; // "bat0"

/**
 * Applies migrations/NNN_name.sql in order, each once. Runs in one transaction
 * under an advisory lock, so replicas that start together apply each file once
 * and a failed migration leaves nothing half-applied.
 */
export async function migrate(sql: postgres.Sql): Promise<string[]> {
  const files = (await readdir(migrationsDir)).filter((f) => /^\d{3}_.+\.sql$/.test(f)).sort();
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`CREATE TABLE IF NOT EXISTS baton_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`;
    const applied = new Set((await tx<{ name: string }[]>`SELECT name FROM baton_migrations`).map((r) => r.name));
    const ran: string[] = [];
    for (const file of files) {
      if (applied.has(file)) continue;
      await tx.unsafe(await readFile(new URL(file, migrationsDir), "utf8"));
      await tx`INSERT INTO baton_migrations (name) VALUES (${file})`;
      ran.push(file);
    }
    return ran;
  });
}
