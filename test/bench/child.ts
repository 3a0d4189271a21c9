/** Child processes that talk to the harness in lines on stdout. */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { execFile } from "node:child_process";

export const run = promisify(execFile);

export interface LineChild {
  child: ChildProcess;
  pid: number;
  /** Resolves with the first line (from now on) that `match` accepts; rejects if the process exits first or after `timeoutMs`. */
  waitFor(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Calls `fn` for every line from now on. */
  onLine(fn: (line: string) => void): void;
  /** The last lines of stderr, for error messages. */
  stderrTail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

export function spawnLines(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): LineChild {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  const listeners = new Set<(line: string) => void>();
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
    if (process.env.BATON_BENCH_VERBOSE) process.stderr.write(d);
  });
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (process.env.BATON_BENCH_VERBOSE) process.stderr.write(`[${cmd.split("/").pop()}] ${line}\n`);
    for (const l of listeners) l(line);
  });
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((res) => child.once("exit", (code) => res((exitCode = code))));
  return {
    child,
    pid: child.pid,
    exited,
    onLine: (fn) => void listeners.add(fn),
    stderrTail: () => stderr.trim().split("\n").slice(-15).join("\n"),
    waitFor(match, timeoutMs = 120_000) {
      return new Promise((resolve, reject) => {
        const done = (err?: Error, line?: string) => {
          clearTimeout(timer);
          listeners.delete(listener);
          if (err) reject(err);
          else resolve(line!);
        };
        const listener = (line: string) => {
          if (match(line)) done(undefined, line);
        };
        const timer = setTimeout(() => done(new Error(`${cmd}: no expected line within ${timeoutMs}ms\n${stderr.slice(-2000)}`)), timeoutMs);
        listeners.add(listener);
        void exited.then((code) => done(new Error(`${cmd} exited with ${code}\n${stderr.slice(-2000)}`)));
      });
    },
    async stop(graceMs = 10_000) {
      if (exitCode !== undefined) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
