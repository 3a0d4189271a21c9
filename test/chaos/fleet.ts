// The chaos fleet: worker processes in three languages, each a real SDK worker
// that logs its handler executions (test/chaos/workers/). A slot is one member
// of the fleet; a killed member comes back as a new process (a new incarnation
// with a new log file), as a supervisor would restart it.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, openSync, closeSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { readWorkerLog, type Lang, type WorkerLog } from "./worker-log.js";

const ROOT = resolve(import.meta.dirname, "../..");
const PYTHON = join(ROOT, ".venv/bin/python");

export interface FleetOptions {
  url: string;
  queue: string;
  slots: number;
  dir: string;
  /** Called when a process exits that the fleet did not stop or kill: an SDK crash. */
  onUnexpectedExit: (slot: WorkerSlot, code: number | null, signal: string | null) => void;
}

export class WorkerSlot {
  incarnation = 0;
  child: ChildProcess | undefined;
  logPath = "";
  /** Set while the fleet itself is stopping or killing the process. */
  expectingExit = false;
  stopped = false;
  exited: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    readonly lang: Lang,
  ) {}

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  log(): WorkerLog {
    return readWorkerLog(this.logPath);
  }
}

/** Which languages can run here: Python needs the venv, Go needs a toolchain. */
export async function availableLangs(): Promise<Set<Lang>> {
  const langs = new Set<Lang>(["ts"]);
  if (existsSync(PYTHON) && existsSync(join(ROOT, "sdk/python/src/baton"))) langs.add("python");
  try {
    await promisify(execFile)("go", ["version"], { env: { ...process.env, GOTOOLCHAIN: "local" } });
    langs.add("go");
  } catch {
    // no Go toolchain
  }
  return langs;
}

export class Fleet {
  readonly slots: WorkerSlot[] = [];
  #goBinary: string | undefined;

  constructor(private readonly opts: FleetOptions) {}

  async buildGo(): Promise<void> {
    const bin = join(this.opts.dir, "chaosworker-go");
    await promisify(execFile)("go", ["build", "-o", bin, "."], {
      cwd: join(ROOT, "test/chaos/workers/go"),
      env: { ...process.env, GOTOOLCHAIN: "local" },
    });
    this.#goBinary = bin;
  }

  add(id: string, lang: Lang): WorkerSlot {
    const slot = new WorkerSlot(id, lang);
    this.slots.push(slot);
    return slot;
  }

  /** Starts (or restarts) a slot's process and resolves once it is connected. */
  async start(slot: WorkerSlot, timeoutMs = 60_000): Promise<void> {
    slot.incarnation++;
    slot.stopped = false;
    slot.expectingExit = false;
    slot.logPath = join(this.opts.dir, `${slot.id}.${slot.incarnation}.jsonl`);
    const args = [this.opts.url, this.opts.queue, slot.id, slot.logPath, String(this.opts.slots)];
    const stderr = openSync(join(this.opts.dir, `${slot.id}.${slot.incarnation}.stderr`), "a");
    let child: ChildProcess;
    try {
      const stdio: ["ignore", "pipe", number] = ["ignore", "pipe", stderr];
      if (slot.lang === "ts") {
        child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "test/chaos/workers/ts-worker.ts"), ...args], { cwd: ROOT, stdio });
      } else if (slot.lang === "python") {
        child = spawn(PYTHON, [join(ROOT, "test/chaos/workers/chaos_worker.py"), ...args], {
          cwd: ROOT,
          stdio,
          env: { ...process.env, PYTHONPATH: join(ROOT, "sdk/python/src") },
        });
      } else {
        if (!this.#goBinary) await this.buildGo();
        child = spawn(this.#goBinary!, args, { cwd: ROOT, stdio });
      }
    } finally {
      closeSync(stderr);
    }
    slot.child = child;
    slot.exited = new Promise<void>((res) => {
      child.once("exit", (code, signal) => {
        if (!slot.expectingExit) this.opts.onUnexpectedExit(slot, code, signal);
        res();
      });
    });
    await new Promise<void>((res, reject) => {
      const timer = setTimeout(() => reject(new Error(`${slot.id} did not connect within ${timeoutMs}ms`)), timeoutMs);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`${slot.id} exited with ${code} before connecting`));
      });
      createInterface({ input: child.stdout! }).on("line", (line) => {
        if (line.trim() === "connected") {
          clearTimeout(timer);
          res();
        }
      });
    });
  }

  /** kill -9 of one process. */
  async kill(slot: WorkerSlot): Promise<void> {
    slot.expectingExit = true;
    slot.stopped = true;
    slot.child?.kill("SIGKILL");
    await slot.exited;
  }

  signal(slot: WorkerSlot, signal: "SIGSTOP" | "SIGCONT"): void {
    if (slot.pid !== undefined) process.kill(slot.pid, signal);
  }

  /** Ends every process at once (the run is over; nothing is left to drain). */
  async killAll(): Promise<void> {
    await Promise.all(
      this.slots.map(async (s) => {
        if (s.pid !== undefined) {
          s.expectingExit = true;
          try {
            process.kill(s.pid, "SIGCONT");
          } catch {
            // gone
          }
          await this.kill(s);
        }
      }),
    );
  }
}
