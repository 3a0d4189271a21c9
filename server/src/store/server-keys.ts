import { randomBytes } from "node:crypto";
import type postgres from "postgres";

/**
 * The shared secret `name`: the first replica to ask stores a random one, every
 * later ask (on any replica) reads that same one. INSERT .. ON CONFLICT DO
 * NOTHING makes replicas starting together agree without a lock.
 */
export async function serverKey(sql: postgres.Sql, name: string): Promise<Buffer> {
  await sql`INSERT INTO baton_server_keys (name, key) VALUES (${name}, ${randomBytes(32)}) ON CONFLICT (name) DO NOTHING`;
  const [row] = await sql<{ key: Uint8Array }[]>`SELECT key FROM baton_server_keys WHERE name = ${name}`;
  return Buffer.from(row!.key);
}
