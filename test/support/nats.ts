// Throwaway nats-server processes on loopback for integration and chaos tests.
import { existsSync, rmSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { freePort } from "./free-port.js";
import { scratchDir } from "./scratch.js";
import { killQuietly, logTail, onProcessExit, pollUntilReady, spawnServer, stopProcess, type Supervised } from "./process.js";

export interface StartNatsOptions {
  /** Fixed port; by default a free loopback port is chosen. */
  port?: number;
  /** Enable JetStream with a store inside the temp dir, kept across stop/start (default true). */
  jetstream?: boolean;
  /** Bound on waiting for the server to greet a client (default 15 s). */
  startTimeoutMs?: number;
}

export interface NatsServer {
  /** nats://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** Temp dir holding the log and, with JetStream, the store. */
  readonly dir: string;
  readonly logPath: string;
  readonly pid: number | undefined;
  /** Starts again on the same port (and same JetStream store) after stop() or kill(). */
  start(): Promise<void>;
  /** Graceful shutdown (SIGTERM). */
  stop(): Promise<void>;
  /** SIGKILL, like a crash. */
  kill(): Promise<void>;
  /** stop() and delete the temp directory. */
  destroy(): Promise<void>;
}

export async function startNats(opts: StartNatsOptions = {}): Promise<NatsServer> {
  const binary = natsBinary();
  const dir = scratchDir("baton-nats-");
  const logPath = join(dir, "nats.log");
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const jetstream = opts.jetstream ?? true;
  const timeoutMs = opts.startTimeoutMs ?? 15_000;

  let proc: Supervised | undefined;
  let port = opts.port ?? 0;
  const unregister = onProcessExit(() => {
    if (proc?.isRunning() && proc.child.pid !== undefined) killQuietly(proc.child.pid, "SIGKILL");
    removeDir();
  });

  const launch = async (): Promise<void> => {
    if (proc?.isRunning()) return;
    const args = ["-a", "127.0.0.1", "-p", String(port)];
    if (jetstream) args.push("-js", "-sd", join(dir, "jetstream"));
    const p = spawnServer(binary, args, { logPath, cwd: dir });
    proc = p;
    try {
      await pollUntilReady(`nats-server on port ${port}`, () => natsGreets(port), {
        timeoutMs,
        bail: () => (p.isRunning() ? undefined : new Error(`nats-server exited during startup:\n${logTail(logPath)}`)),
      });
    } catch (err) {
      await stopProcess(p, "SIGKILL", 1_000);
      throw err;
    }
  };

  // A free port can be taken between freePort() and bind(); only retry when we chose it.
  for (let attempt = 1; ; attempt++) {
    if (opts.port === undefined) port = await freePort();
    try {
      await launch();
      break;
    } catch (err) {
      const portTaken = /address already in use/i.test(logTail(logPath, 5));
      if (opts.port !== undefined || !portTaken || attempt >= 5) {
        unregister();
        removeDir();
        throw err;
      }
    }
  }

  const stop = async (): Promise<void> => {
    if (proc) await stopProcess(proc, "SIGTERM", 10_000);
  };

  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    dir,
    logPath,
    get pid() {
      return proc?.isRunning() ? proc.child.pid : undefined;
    },
    start: launch,
    stop,
    async kill() {
      if (proc) await stopProcess(proc, "SIGKILL", 5_000);
    },
    async destroy() {
      await stop();
      unregister();
      removeDir();
    },
  };
}

function natsBinary(): string {
  // Debian installs it in /usr/sbin, which is not on every user's PATH.
  const candidates = [process.env.BATON_NATS_SERVER, "/usr/sbin/nats-server", "/usr/bin/nats-server"];
  for (const c of candidates) if (c && existsSync(c)) return c;
  return "nats-server";
}

/** Resolves once the server sends its INFO greeting: it is then accepting clients. */
function natsGreets(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: "127.0.0.1", port });
    socket.setTimeout(2_000);
    let received = "";
    const finish = (err?: Error) => {
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
      if (received.startsWith("INFO ")) finish();
      else if (received.length >= 5) finish(new Error(`unexpected greeting: ${received.slice(0, 40)}`));
    });
    socket.on("timeout", () => finish(new Error("no INFO greeting")));
    socket.on("error", finish);
    socket.on("end", () => finish(new Error("connection closed before INFO")));
  });
}
