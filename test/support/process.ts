// Process plumbing shared by the Postgres and NATS test servers.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync, readdirSync } from "node:fs";

export interface Supervised {
  readonly child: ChildProcess;
  /** Resolves once the process has exited, whatever the cause. */
  readonly exited: Promise<void>;
  isRunning(): boolean;
}

export interface SpawnOptions {
  logPath: string;
  cwd: string;
  uid?: number;
  gid?: number;
  env?: NodeJS.ProcessEnv;
}

/** Spawns a long-running server whose stdout and stderr go to a log file. */
export function spawnServer(command: string, args: string[], opts: SpawnOptions): Supervised {
  // The child inherits the fd, so the log is writable even after a uid switch.
  const log = openSync(opts.logPath, "a");
  let running = true;
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["ignore", log, log],
      ...(opts.uid === undefined ? {} : { uid: opts.uid }),
      ...(opts.gid === undefined ? {} : { gid: opts.gid }),
    });
  } finally {
    closeSync(log);
  }
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      running = false;
      resolve();
    });
    // spawn failures (ENOENT, EPERM) emit "error" and never "exit".
    child.once("error", () => {
      running = false;
      resolve();
    });
  });
  return { child, exited, isRunning: () => running };
}

/** Sends `signal`, then SIGKILL if the process outlives `graceMs`. */
export async function stopProcess(p: Supervised, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!p.isRunning()) return;
  p.child.kill(signal);
  if (await settlesWithin(p.exited, graceMs)) return;
  p.child.kill("SIGKILL");
  await p.exited;
}

export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface PollOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Called between attempts; a returned Error aborts the wait (e.g. the server died). */
  bail?: () => Error | undefined;
}

/** Retries `probe` until it succeeds; readiness is proven, never assumed after a sleep. */
export async function pollUntilReady(what: string, probe: () => Promise<void>, opts: PollOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 25;
  let lastError: unknown;
  for (;;) {
    const fatal = opts.bail?.();
    if (fatal) throw fatal;
    try {
      await probe();
      return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`${what} not ready after ${opts.timeoutMs} ms: ${String(lastError)}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/** Direct children of `pid`, read from /proc (Linux only, like the rest of this harness). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The command name may contain spaces and parentheses; fields resume after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === pid) children.push(Number(entry));
    } catch {
      // The process exited while we were scanning.
    }
  }
  return children;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  // A zombie still answers signal 0, but is as good as gone.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

export function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** Last lines of a log file, for error messages that say why a server died. */
export function logTail(path: string, lines = 20): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

// Servers are separate processes: if a test run crashes or forgets to clean up
// they would outlive it, holding ports and /tmp space. Only synchronous work is
// possible in an "exit" handler, which is all these cleanups do.
const exitCleanups = new Set<() => void>();
let exitHookInstalled = false;

export function onProcessExit(cleanup: () => void): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const fn of exitCleanups) {
        try {
          fn();
        } catch {
          // Best effort; the process is going away regardless.
        }
      }
    });
  }
  exitCleanups.add(cleanup);
  return () => exitCleanups.delete(cleanup);
}
