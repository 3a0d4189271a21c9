// vitest globalSetup: one Postgres and one nats-server for the whole run.
// Runs in the main vitest process; tests read the URLs with inject() (or the
// env vars, which child processes spawned by tests inherit).
import type { TestProject } from "vitest/node";
import { startNats, type NatsServer } from "./nats.js";
import { startPostgres, type PostgresServer } from "./postgres.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Superuser URL of the shared server's `postgres` database; use freshDatabaseUrl() for a private one. */
    databaseUrl: string;
    natsUrl: string;
  }
}

interface Shared {
  postgres: PostgresServer;
  nats: NatsServer;
  users: number;
}

// With several vitest projects each one runs globalSetup, in its own module
// graph; globalThis is what they share, so they all get the same servers.
const KEY = Symbol.for("baton.test.services");
type WithShared = typeof globalThis & { [KEY]?: Promise<Shared> };

async function acquire(): Promise<Shared> {
  const g = globalThis as WithShared;
  g[KEY] ??= Promise.all([startPostgres(), startNats()]).then(([postgres, nats]) => ({ postgres, nats, users: 0 }));
  const shared = await g[KEY];
  shared.users++;
  return shared;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const shared = await acquire();
  project.provide("databaseUrl", shared.postgres.url);
  project.provide("natsUrl", shared.nats.url);
  process.env.BATON_TEST_DATABASE_URL = shared.postgres.url;
  process.env.BATON_TEST_NATS_URL = shared.nats.url;

  return async () => {
    if (--shared.users > 0) return;
    delete (globalThis as WithShared)[KEY];
    await Promise.all([shared.postgres.destroy(), shared.nats.destroy()]);
  };
}
