// Baton replicas as separate processes, so tests can kill -9 one of them.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

const ROOT = resolve(import.meta.dirname, "../..");
const TSX = join(ROOT, "node_modules/.bin/tsx");

export interface Replica {
  url: string;
  port: number;
  process: ChildProcess;
  /** kill -9: no GoAway, no cleanup. */
  kill(): Promise<void>;
  /** SIGTERM: graceful shutdown. */
  stop(): Promise<void>;
}

export interface ReplicaOptions {
  databaseUrl?: string;
  natsUrl?: string;
  port?: number;
  dataDir?: string;
  env?: Record<string, string>;
}

export async function startReplica(opts: ReplicaOptions): Promise<Replica> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), "baton-replica-")));
  const child = spawn(TSX, [join(ROOT, "server/src/main.ts"), "serve", "--port", String(opts.port ?? 0), "--data-dir", dataDir], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: opts.databaseUrl ?? "",
      NATS_URL: opts.natsUrl ?? "",
      ...opts.env,
      // The "baton listening" line is how this helper learns the port: never filter it out.
      LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", process.env.BATON_TEST_LOG ? "inherit" : "ignore"],
  });
  const exited = new Promise<void>((res) => child.once("exit", () => res()));
  const port = await new Promise<number>((res, reject) => {
    const timer = setTimeout(() => reject(new Error("replica did not start within 30s")), 30_000);
    child.once("exit", (code) => reject(new Error(`replica exited with ${code} before listening`)));
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === "baton listening" && entry.port) {
          clearTimeout(timer);
          res(entry.port);
        }
      } catch {
        // not a log line
      }
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    process: child,
    async kill() {
      child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
