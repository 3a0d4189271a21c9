// Baton replicas as separate processes, so tests can kill -9 one of them.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

const ROOT = resolve(import.meta.dirname, "../..");

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
  /** Every line the server writes (its JSON log on stdout, anything on stderr), e.g. to keep a log file. */
  onLine?: (line: string) => void;
}

export async function startReplica(opts: ReplicaOptions): Promise<Replica> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), "baton-replica-")));
  // node --import tsx, not the tsx CLI: the CLI runs the server in a child process,
  // so SIGKILL would kill only the CLI and leave the server running as an orphan.
  // BATON_REPLICA_NODE_ARGS: extra node flags for every replica, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile a bench run.
  const nodeArgs = process.env.BATON_REPLICA_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", join(ROOT, "server/src/main.ts"), "serve", "--port", String(opts.port ?? 0), "--data-dir", dataDir], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: opts.databaseUrl ?? "",
      NATS_URL: opts.natsUrl ?? "",
      ...opts.env,
      // The "baton listening" line is how this helper learns the port: never filter it out.
      LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", opts.onLine ? "pipe" : process.env.BATON_TEST_LOG ? "inherit" : "ignore"],
  });
  const exited = new Promise<void>((res) => child.once("exit", () => res()));
  if (opts.onLine && child.stderr) createInterface({ input: child.stderr }).on("line", opts.onLine);
  const port = await new Promise<number>((res, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("replica did not start within 30s"));
    }, 30_000);
    child.once("exit", (code) => reject(new Error(`replica exited with ${code} before listening`)));
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      opts.onLine?.(line);
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
