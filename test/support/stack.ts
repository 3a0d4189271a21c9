// A real Postgres + nats-server for test suites outside vitest (pytest, go test).
//
//   npx tsx test/support/stack.ts
//
// prints one JSON line {"databaseUrl": "...", "natsUrl": "..."} once both are ready,
// and stops them (deleting their data) when its stdin closes or on SIGTERM, so a
// test fixture that spawns it with a pipe never leaks servers. Tests then start
// Baton itself (`tsx server/src/main.ts serve`) with DATABASE_URL / NATS_URL.
import { startNats } from "./nats.js";
import { startPostgres } from "./postgres.js";

const [postgres, nats] = await Promise.all([startPostgres(), startNats()]);
process.stdout.write(`${JSON.stringify({ databaseUrl: postgres.url, natsUrl: nats.url })}\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled([postgres.destroy(), nats.destroy()]);
  process.exit(0);
}
process.stdin.on("end", () => void stop());
process.stdin.on("close", () => void stop());
process.stdin.resume();
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
