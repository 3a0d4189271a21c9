/**
 * The implementation under test, as the runner sees it: a process (or, in the
 * suite's own tests, an in-process function) that reads AdapterRequests from
 * its input and writes AdapterEvents to its output.
 */
import { spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";

export interface AdapterHandle {
  /** The adapter's stdin. */
  input: Writable;
  /** The adapter's stdout. */
  output: Readable;
  /** Resolves when the adapter has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Ends it at once (the whole process group). */
  kill(): void;
  /** The last lines of the adapter's stderr. */
  stderr(): string;
}

/** Starts one adapter for one case. */
export type AdapterLauncher = (caseName: string) => AdapterHandle;

const STDERR_KEEP = 64 * 1024;

/**
 * Runs `command` through the shell (so `npx tsx sdk/ts/conformance/adapter.ts`
 * or `go run ...` work as typed), in its own process group so that killing it
 * takes its children too.
 */
export function processLauncher(command: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): AdapterLauncher {
  return (caseName) => {
    const child = spawn(command, {
      shell: true,
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env, BATON_CONFORMANCE_CASE: caseName },
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    let err = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      err += d;
      if (err.length > STDERR_KEEP) err = err.slice(-STDERR_KEEP);
    });
    // A closed pipe to an adapter that already exited is reported through `exited`.
    child.stdin.on("error", () => {});
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      child.once("error", (e) => {
        err += `\nspawn failed: ${e.message}`;
        resolve({ code: 127, signal: null });
      });
    });
    return {
      input: child.stdin,
      output: child.stdout,
      exited,
      kill() {
        try {
          if (child.pid) process.kill(-child.pid, "SIGKILL");
        } catch {
          child.kill("SIGKILL");
        }
      },
      stderr: () => err,
    };
  };
}
