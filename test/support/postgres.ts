// Throwaway PostgreSQL servers on loopback for integration and chaos tests.
import { execFile } from "node:child_process";
import { appendFileSync, chownSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./free-port.js";
import { scratchDir } from "./scratch.js";
import { createDatabaseAt, probePostgres } from "./pg-admin.js";
import {
  childPids,
  isAlive,
  killQuietly,
  logTail,
  onProcessExit,
  pollUntilReady,
  settlesWithin,
  spawnServer,
  stopProcess,
  type Supervised,
} from "./process.js";

const run = promisify(execFile);

// The versioned Debian binaries, not PATH: /usr/local/bin may hold symlinks or
// wrappers that differ between machines.
const PG_BIN = process.env.BATON_PG_BIN ?? "/usr/lib/postgresql/15/bin";

export interface StartPostgresOptions {
  /** Fixed port; by default a free loopback port is chosen. */
  port?: number;
  /** Bound on waiting for the server to accept queries (default 30 s). */
  startTimeoutMs?: number;
  /** Extra or overriding postgresql.conf settings, values as written in the file (quote strings). */
  settings?: Record<string, string>;
}

export interface PostgresServer {
  /** Superuser URL of the `postgres` database, e.g. postgres://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
  readonly port: number;
  /** PGDATA. Lives under a private mkdtemp directory that also holds the socket and the log. */
  readonly dataDir: string;
  readonly logPath: string;
  /** PID of the running postmaster, undefined while stopped. */
  readonly pid: number | undefined;
  /** Starts the same data dir on the same port again, after stop() or kill(). */
  start(): Promise<void>;
  /** Fast shutdown (disconnects clients, clean checkpoint). Keeps the data for start(). */
  stop(): Promise<void>;
  /** SIGKILL of the postmaster, like a crash; start() then runs crash recovery. */
  kill(): Promise<void>;
  /** stop() and delete the temp directory. The server is unusable afterwards. */
  destroy(): Promise<void>;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
}

// Tuned for speed and many parallel clients. fsync and full_page_writes only
// protect against an OS crash, which tests never have. synchronous_commit stays
// on: with it off, commits still sitting in shared-memory WAL buffers vanish
// when kill() SIGKILLs the server, so chaos tests would see acknowledged writes
// disappear; with fsync off it costs nothing measurable (10k commits: ~550 ms
// either way).
const TEST_SETTINGS: Record<string, string> = {
  listen_addresses: "'127.0.0.1'",
  max_connections: "300",
  fsync: "off",
  synchronous_commit: "on",
  full_page_writes: "off",
  shared_buffers: "128MB",
  // The data dir is usually on tmpfs (see scratch.ts): cap WAL so it costs little RAM.
  max_wal_size: "256MB",
  min_wal_size: "32MB",
  log_min_messages: "warning",
  log_line_prefix: "'%m [%p] '",
};

export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PostgresServer> {
  const owner = await serverOwner();
  const root = scratchDir("baton-pg-");
  const dataDir = join(root, "data");
  const socketDir = join(root, "sock");
  const logPath = join(root, "postgres.log");
  const removeRoot = () => rmSync(root, { recursive: true, force: true });

  let proc: Supervised | undefined;
  let port = opts.port ?? 0;
  const timeoutMs = opts.startTimeoutMs ?? 30_000;

  const unregister = onProcessExit(() => {
    if (proc?.isRunning() && proc.child.pid !== undefined) killTree(proc.child.pid);
    removeRoot();
  });

  try {
    mkdirSync(socketDir);
    if (owner) {
      chownSync(root, owner.uid, owner.gid);
      chownSync(socketDir, owner.uid, owner.gid);
    }
    await initdb(dataDir, root, owner);
    appendFileSync(
      join(dataDir, "postgresql.conf"),
      "\n# baton test settings\n" +
        Object.entries({ ...TEST_SETTINGS, unix_socket_directories: `'${socketDir}'`, ...opts.settings })
          .map(([k, v]) => `${k} = ${v}\n`)
          .join(""),
    );
  } catch (err) {
    unregister();
    removeRoot();
    throw err;
  }

  const url = () => `postgres://postgres@127.0.0.1:${port}/postgres`;

  const launch = async (): Promise<void> => {
    if (proc?.isRunning()) return;
    const p = spawnServer(join(PG_BIN, "postgres"), ["-D", dataDir, "-p", String(port)], {
      logPath,
      cwd: root,
      ...(owner ?? {}),
    });
    proc = p;
    try {
      await pollUntilReady(`postgres on port ${port}`, () => probePostgres(url()), {
        timeoutMs,
        bail: () => (p.isRunning() ? undefined : new Error(`postgres exited during startup:\n${logTail(logPath)}`)),
      });
    } catch (err) {
      await stopProcess(p, "SIGQUIT", 2_000);
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
      const portTaken = /could not bind|Address already in use/i.test(logTail(logPath, 5));
      if (opts.port !== undefined || !portTaken || attempt >= 5) {
        unregister();
        removeRoot();
        throw err;
      }
    }
  }

  const stop = async (): Promise<void> => {
    // SIGINT is "fast" shutdown; SIGTERM ("smart") would wait for every client to leave.
    if (proc) await stopProcess(proc, "SIGINT", 30_000);
  };

  return {
    get url() {
      return url();
    },
    port,
    dataDir,
    logPath,
    get pid() {
      return proc?.isRunning() ? proc.child.pid : undefined;
    },
    start: launch,
    stop,
    async kill() {
      if (!proc?.isRunning() || proc.child.pid === undefined) return;
      const pid = proc.child.pid;
      const backends = childPids(pid);
      proc.child.kill("SIGKILL");
      await proc.exited;
      // Orphaned backends notice the postmaster's death and exit on their own,
      // but until they do they pin the shared memory and a restart would fail.
      await waitForExit(backends, 5_000);
    },
    async destroy() {
      await stop();
      unregister();
      removeRoot();
    },
    createDatabase: (name) => createDatabaseAt(url(), name),
  };
}

interface Owner {
  uid: number;
  gid: number;
}

/** Postgres refuses to run as root, so root runs it as the Debian `postgres` user. */
async function serverOwner(): Promise<Owner | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const [uid, gid] = await Promise.all([run("id", ["-u", "postgres"]), run("id", ["-g", "postgres"])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    throw new Error("running as root but there is no `postgres` user: run scripts/install-deps.sh");
  }
}

async function initdb(dataDir: string, cwd: string, owner: Owner | undefined): Promise<void> {
  const initdbPath = join(PG_BIN, "initdb");
  if (!existsSync(initdbPath)) {
    throw new Error(`${initdbPath} not found: run scripts/install-deps.sh (or set BATON_PG_BIN)`);
  }
  try {
    await run(
      initdbPath,
      // C locale and UTF8 regardless of the host's locale; no-sync because the data is throwaway.
      ["-D", dataDir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"],
      { cwd, ...(owner ?? {}), env: { ...process.env, LC_ALL: "C" } },
    );
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`initdb failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

async function waitForExit(pids: number[], timeoutMs: number): Promise<void> {
  const gone = async () => {
    while (pids.some(isAlive)) await new Promise((r) => setTimeout(r, 20));
  };
  if (!(await settlesWithin(gone(), timeoutMs))) for (const pid of pids) killQuietly(pid, "SIGKILL");
}

/** Synchronous, for the exit hook: the postmaster and its backends, without ceremony. */
function killTree(pid: number): void {
  const backends = childPids(pid);
  killQuietly(pid, "SIGKILL");
  for (const child of backends) killQuietly(child, "SIGKILL");
}
