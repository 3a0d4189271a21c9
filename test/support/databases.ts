// Per-test-file database isolation on the shared server started by global-setup.ts.
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { createDatabaseAt } from "./pg-admin.js";

/** URL of the shared server's admin database: inject() inside vitest, the env var elsewhere. */
export function sharedDatabaseUrl(): string {
  let url: string | undefined;
  try {
    url = inject("databaseUrl");
  } catch {
    // Not inside a vitest worker (e.g. a script run with tsx).
  }
  url ??= process.env.BATON_TEST_DATABASE_URL;
  if (!url) {
    throw new Error("no test Postgres: run under vitest with test/support/global-setup.ts, or set BATON_TEST_DATABASE_URL");
  }
  return url;
}

export function sharedNatsUrl(): string {
  let url: string | undefined;
  try {
    url = inject("natsUrl");
  } catch {
    // Not inside a vitest worker.
  }
  url ??= process.env.BATON_TEST_NATS_URL;
  if (!url) throw new Error("no test NATS: run under vitest with test/support/global-setup.ts, or set BATON_TEST_NATS_URL");
  return url;
}

/** Creates a uniquely named, empty database on the shared server and returns its URL. */
export async function freshDatabaseUrl(prefix = "t"): Promise<string> {
  // pid + random: files run in parallel workers, and names must never collide.
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString("hex")}`.toLowerCase();
  return createDatabaseAt(sharedDatabaseUrl(), name);
}
