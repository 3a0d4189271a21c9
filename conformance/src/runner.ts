/**
 * Runs cases: for each, a fresh reference server on its own port and a fresh
 * adapter process; the script's steps drive the server, everything is
 * recorded, and the checks judge the record.
 */
import { create } from "@bufbuild/protobuf";
import { sizeDelimitedEncode } from "@bufbuild/protobuf/wire";
import {
  AdapterEventSchema,
  AdapterRequestSchema,
  type AdapterEvent,
  type Match,
  type Step,
} from "../../gen/ts/baton/conformance/v1/conformance_pb.js";
import type { AdapterHandle, AdapterLauncher } from "./adapter.js";
import { resolveServer, resolveWorker, type LoadedCase } from "./cases.js";
import { describeCheck, evaluate } from "./checks.js";
import { readDelimited } from "./lib/wire.js";
import { ReferenceServer, type Session } from "./reference-server/server.js";
import { describeMatch, entryMatches, Trace, type Entry } from "./trace.js";

export interface CaseResult {
  name: string;
  rules: string[];
  passed: boolean;
  /** Why it failed, one line each, rule first where there is one. */
  failures: string[];
  durationMs: number;
  trace: Entry[];
  /** The adapter's stderr (tail). */
  stderr: string;
}

export interface RunOptions {
  /** Multiplies every wait and time limit (not the protocol timings); default 1. */
  timeScale?: number;
}

const DEFAULT_WAIT_MS = 5_000;
/** The first wait for a connection includes the adapter's start-up (a `go run`, a Python import). */
const FIRST_CONNECT_WAIT_MS = 15_000;
const DEFAULT_SETTLE_MS = 200;
const DEFAULT_CASE_TIMEOUT_MS = 20_000;
/** After stdin closes, on top of the stop grace: time to flush and exit. */
const EXIT_AFTER_STOP_MS = 4_000;

class StepError extends Error {}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runCase(c: LoadedCase, launch: AdapterLauncher, opts: RunOptions = {}): Promise<CaseResult> {
  const scale = opts.timeScale ?? 1;
  const spec = c.spec;
  const started = performance.now();
  const trace = new Trace();
  const serverConfig = resolveServer(spec);
  const server = new ReferenceServer(trace, serverConfig);
  const failures: string[] = [];
  await server.start();
  const worker = resolveWorker(spec);
  let adapter: AdapterHandle | undefined;
  let stopped = false;
  const stopWorker = () => {
    if (stopped || !adapter) return;
    stopped = true;
    trace.add({ kind: "worker_stopped", session: 0 });
    adapter.input.end();
  };
  let reading: Promise<void> = Promise.resolve();
  try {
    adapter = launch(c.name);
    const a = adapter;
    reading = (async () => {
      for await (const ev of readDelimited(a.output, AdapterEventSchema)) recordEvent(trace, ev);
    })().catch((err: unknown) => {
      trace.note(`the adapter's output is not size-delimited AdapterEvents: ${err instanceof Error ? err.message : String(err)}`);
    });
    a.input.write(
      sizeDelimitedEncode(
        AdapterRequestSchema,
        create(AdapterRequestSchema, { caseName: c.name, serverUrl: server.url, worker, handlers: spec.handlers }),
      ),
    );
    let exitedEarly = false;
    void a.exited.then(({ code, signal }) => {
      exitedEarly = !stopped;
      if (exitedEarly) trace.note(`the adapter exited before it was stopped (code ${code}, signal ${signal})`);
    });

    const caseTimeout = (spec.timeoutMs || DEFAULT_CASE_TIMEOUT_MS) * scale;
    const ctx: StepContext = { trace, server, stopWorker, scale, exited: () => exitedEarly };
    const script = (async () => {
      for (const [i, step] of spec.steps.entries()) {
        try {
          await runStep(step, ctx);
        } catch (err) {
          if (!(err instanceof StepError)) throw err;
          failures.push(`step ${i + 1} (${describeStep(step)}): ${err.message}`);
          return;
        }
      }
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      script.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), caseTimeout))),
    ]);
    clearTimeout(timer);
    if (timedOut) failures.push(`the case did not finish within ${caseTimeout}ms`);
    trace.add({ kind: "script_end", session: 0 });
    await sleep((spec.settleMs || DEFAULT_SETTLE_MS) * scale);
    const scriptEnd = trace.entries.find((e) => e.kind === "script_end")!.t;

    stopWorker();
    const exitWithin = (worker.stopGraceMs + EXIT_AFTER_STOP_MS) * scale;
    const exit = await Promise.race([a.exited, sleep(exitWithin).then(() => undefined)]);
    if (!exit) {
      failures.push(`the adapter did not exit within ${exitWithin}ms after its stdin closed`);
      a.kill();
    } else if (exit.code !== 0 && !exitedEarly) {
      failures.push(`the adapter exited with ${exit.code !== null ? `code ${exit.code}` : `signal ${exit.signal}`} after its stdin closed`);
    }
    if (exitedEarly) failures.push("the adapter exited before the case stopped it");
    await Promise.race([reading, sleep(1000)]);
    await server.close();

    const book = server.leaseBook();
    const checkCtx = { entries: trace.entries, book, server: serverConfig, scriptEnd };
    for (const check of spec.checks) {
      let problems: string[];
      try {
        problems = evaluate(check, checkCtx);
      } catch (err) {
        problems = [`the check could not be evaluated: ${err instanceof Error ? err.message : String(err)}`];
      }
      for (const problem of problems) failures.push(`${describeCheck(check)}: ${problem}`);
    }
  } catch (err) {
    failures.push(`runner error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    adapter?.kill();
    await server.close().catch(() => {});
  }
  return {
    name: c.name,
    rules: spec.rules,
    passed: failures.length === 0,
    failures,
    durationMs: performance.now() - started,
    trace: trace.entries,
    stderr: adapter?.stderr() ?? "",
  };
}

function recordEvent(trace: Trace, ev: AdapterEvent): void {
  const e = ev.event;
  switch (e.case) {
    case "ready":
      trace.add({ kind: "ready", session: 0, text: e.value.sdk });
      return;
    case "handlerStarted":
      trace.add({ kind: "handler_started", session: 0, taskId: e.value.taskId, leaseId: e.value.leaseId, text: `attempt ${e.value.attempt}` });
      return;
    case "handlerFinished":
      trace.add({ kind: "handler_finished", session: 0, taskId: e.value.taskId, leaseId: e.value.leaseId, text: e.value.outcome });
      return;
    case "handlerCancelled":
      trace.add({ kind: "handler_cancelled", session: 0, taskId: e.value.taskId, leaseId: e.value.leaseId, text: e.value.cause });
      return;
    case "log":
      trace.add({ kind: "adapter_log", session: 0, text: e.value.message });
      return;
    default:
      trace.note("an empty AdapterEvent");
  }
}

interface StepContext {
  trace: Trace;
  server: ReferenceServer;
  stopWorker: () => void;
  scale: number;
  exited: () => boolean;
}

/** Resolves when `test` holds, checked now and after every new trace entry; throws StepError on timeout. */
function until(ctx: StepContext, test: () => boolean, timeoutMs: number, what: string): Promise<void> {
  if (test()) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new StepError(`${what}: not within ${timeoutMs}ms${ctx.exited() ? " (the adapter has exited)" : ""}`));
    }, timeoutMs);
    const off = ctx.trace.onEntry(() => {
      if (!test()) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

async function session(ctx: StepContext, opts: { allowDrained?: boolean } = {}): Promise<Session> {
  const timeout = (ctx.server.everConnected ? DEFAULT_WAIT_MS : FIRST_CONNECT_WAIT_MS) * ctx.scale;
  let s: Session | undefined;
  await until(ctx, () => (s = ctx.server.currentSession(opts)) !== undefined, timeout, "waiting for a welcomed stream");
  return s!;
}

function matches(ctx: StepContext, m: Match, from: number): Entry[] {
  const book = ctx.server.leaseBook();
  return ctx.trace.entries.filter((e) => e.seq >= from && entryMatches(e, m, book));
}

async function runStep(step: Step, ctx: StepContext): Promise<void> {
  const a = step.action;
  switch (a.case) {
    case "wait": {
      const w = a.value;
      const from = w.fresh ? ctx.trace.entries.length : 0;
      const n = w.count || 1;
      const base = ctx.server.everConnected ? DEFAULT_WAIT_MS : FIRST_CONNECT_WAIT_MS;
      const timeout = (w.timeoutMs || base) * ctx.scale;
      await until(ctx, () => matches(ctx, w.until!, from).length >= n, timeout, `waiting for ${n > 1 ? `${n} × ` : ""}${describeMatch(w.until)}`);
      return;
    }
    case "sleepMs":
      await sleep(a.value);
      return;
    case "assign": {
      const s = await session(ctx);
      ctx.server.assign(s, a.value.tasks, a.value.type, (a.value.payload ?? {}) as never);
      return;
    }
    case "cancel":
      if (!ctx.server.cancel(a.value.task, a.value.leaseLost, a.value.reason || "cancelled by the conformance suite")) {
        throw new StepError(`task ${a.value.task} was never assigned`);
      }
      return;
    case "revoke":
      if (!ctx.server.revoke(a.value)) throw new StepError(`task ${a.value} was never assigned`);
      return;
    case "goAway": {
      const s = await session(ctx, { allowDrained: true });
      ctx.server.goAway(s, a.value.reconnectAfterMs, a.value.reason || "conformance: going away", a.value.endAfterMs || 3000);
      return;
    }
    case "drop": {
      const s = await session(ctx, { allowDrained: true });
      ctx.server.drop(s, a.value.error);
      return;
    }
    case "refuse":
      ctx.server.refuse(a.value);
      return;
    case "answer":
      ctx.server.answer(a.value.task, { lose: a.value.lose, delayMs: a.value.delayMs, reject: a.value.reject, times: a.value.times || 1 });
      return;
    case "welcomeDelayMs":
      ctx.server.setWelcomeDelay(a.value);
      return;
    case "stopWorker":
      ctx.stopWorker();
      return;
    default:
      throw new StepError("empty step");
  }
}

export function describeStep(step: Step): string {
  const a = step.action;
  switch (a.case) {
    case "wait":
      return `wait for ${describeMatch(a.value.until)}`;
    case "sleepMs":
      return `sleep ${a.value}ms`;
    case "assign":
      return `assign ${a.value.tasks.join(", ")}`;
    case "cancel":
      return `cancel ${a.value.task}${a.value.leaseLost ? " (lease lost)" : ""}`;
    case "revoke":
      return `revoke ${a.value}`;
    case "goAway":
      return "GoAway";
    case "drop":
      return "drop the stream";
    case "refuse":
      return `refuse ${a.value} connection(s)`;
    case "answer":
      return `answer ${a.value.task}`;
    case "welcomeDelayMs":
      return `delay Welcomes by ${a.value}ms`;
    case "stopWorker":
      return "stop the worker";
    default:
      return "empty step";
  }
}

/** Runs cases `parallel` at a time; `onResult` is called as each one ends, in completion order. */
export async function runSuite(
  cases: LoadedCase[],
  launch: AdapterLauncher,
  opts: RunOptions & { parallel?: number; onResult?: (r: CaseResult) => void } = {},
): Promise<CaseResult[]> {
  const results = new Map<string, CaseResult>();
  const queue = [...cases];
  const workers = Array.from({ length: Math.max(1, Math.min(opts.parallel ?? 1, cases.length)) }, async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      const r = await runCase(c, launch, opts);
      results.set(c.name, r);
      opts.onResult?.(r);
    }
  });
  await Promise.all(workers);
  return cases.map((c) => results.get(c.name)!);
}
