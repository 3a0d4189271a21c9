// Shared by the workflow tests: a Baton that can restart on the same database,
// a real SDK worker whose behaviour each test sets per step, and run waits.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import pino from "pino";
import { expect } from "vitest";
import { TaskService } from "../../gen/ts/baton/v1/task_service_pb.js";
import type { Task } from "../../gen/ts/baton/v1/task_pb.js";
import { RunEventType, RunState, StepState, type Run, type RunEvent } from "../../gen/ts/baton/v1/workflow_pb.js";
import { WorkflowService } from "../../gen/ts/baton/v1/workflow_service_pb.js";
import { startServer, type BatonServer } from "../../server/src/server.js";
import { silentLogger, Worker, type TaskContext } from "../../sdk/ts/src/index.js";
import type { Backend } from "../support/baton.js";
import { freshDatabaseUrl } from "../support/databases.js";
import { eventually } from "../support/protocol.js";

export type WorkflowClient = Client<typeof WorkflowService>;

/**
 * beforeAll's limit: opening the embedded database (PGlite, WASM) takes seconds
 * alone and a minute or more on a loaded machine with other files doing the same.
 */
export const SETUP_TIMEOUT_MS = 180_000;

export interface WorkflowBaton {
  server: BatonServer;
  url: string;
  tasks: Client<typeof TaskService>;
  workflows: WorkflowClient;
  /** Stops the server and starts a new one on the same database and port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startWorkflowBaton(backend: Backend): Promise<WorkflowBaton> {
  const dataDir = await mkdtemp(join(tmpdir(), "baton-wf-"));
  const databaseUrl = backend === "postgres" ? await freshDatabaseUrl("wf") : undefined;
  const start = (port: number) =>
    startServer({
      port,
      host: "127.0.0.1",
      databaseUrl,
      dataDir,
      log: pino({ level: process.env.BATON_TEST_LOG ?? "silent" }),
      sweepIntervalMs: 200,
      dispatchTickMs: 250,
      shutdownGraceMs: 1_000,
    });
  let server = await start(0);
  const transport = createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" });
  const baton: WorkflowBaton = {
    server,
    url: server.url,
    tasks: createClient(TaskService, transport),
    workflows: createClient(WorkflowService, transport),
    async restart() {
      await server.close();
      server = await start(server.port);
      baton.server = server;
    },
    async close() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return baton;
}

export async function putYaml(client: WorkflowClient, yaml: string) {
  const res = await client.putWorkflow({ definition: { case: "yaml", value: yaml } });
  return res.workflow!;
}

export type StepBehaviour = (task: Task, ctx: TaskContext) => Promise<object | void> | object | void;

/**
 * A real worker (the TS SDK, Connect over HTTP/2) on one queue for the task
 * types given. What a step does is looked up by "workflow/step" in
 * `behaviours`; by default it returns {step, payload}.
 */
export class StepWorker {
  readonly behaviours = new Map<string, StepBehaviour>();
  readonly worker: Worker;
  readonly seen: Task[] = [];
  #running: Promise<void> | undefined;

  constructor(url: string, queue: string, types: string[], slots = 16) {
    this.worker = new Worker({ baseUrl: url, queues: [queue], workerId: `wf-${queue}`, slots, logger: silentLogger, reconnect: { floorMs: 100, capMs: 300 } });
    for (const type of types) {
      this.worker.handle(type, async (task, ctx) => {
        this.seen.push(task);
        const key = `${task.labels["baton.workflow"]}/${task.labels["baton.step"]}`;
        const behaviour = this.behaviours.get(key);
        if (behaviour) return behaviour(task, ctx);
        return { step: task.labels["baton.step"], payload: task.payload ?? {} };
      });
    }
  }

  start(): this {
    this.#running = this.worker.run();
    return this;
  }

  async stop(): Promise<void> {
    await this.worker.stop({ graceMs: 0, flushTimeoutMs: 2_000 });
    await this.#running;
  }
}

/** Holds a handler until the test releases it (or the task is cancelled: the SDK aborts `signal`). */
export function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return {
    open,
    async wait(signal: AbortSignal): Promise<void> {
      await new Promise<void>((resolve, reject) => {
        void opened.then(resolve);
        signal.addEventListener("abort", () => reject(signal.reason as Error), { once: true });
      });
    },
  };
}

const TERMINAL = new Set([RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED, RunState.TIMED_OUT]);

/**
 * Watches a run from its first event until its terminal event (the stream ends
 * there, D18), then returns the events and the run as GetRun reads it.
 */
export async function runToEnd(client: WorkflowClient, runId: string, timeoutMs = 20_000): Promise<{ run: Run; events: RunEvent[] }> {
  const events: RunEvent[] = [];
  for await (const msg of client.watchRun({ runId }, { signal: AbortSignal.timeout(timeoutMs) })) events.push(msg.event!);
  const last = events[events.length - 1];
  expect(last && [RunEventType.RUN_SUCCEEDED, RunEventType.RUN_FAILED, RunEventType.RUN_CANCELLED, RunEventType.RUN_TIMED_OUT]).toContain(last?.type);
  const { run } = await client.getRun({ id: runId });
  expect(TERMINAL.has(run!.state)).toBe(true);
  return { run: run!, events };
}

/** Polls GetRun until `step` is in `state`. */
export async function stepReaches(client: WorkflowClient, runId: string, step: string, state: StepState, timeoutMs = 15_000): Promise<Run> {
  return eventually(
    async () => {
      const { run } = await client.getRun({ id: runId });
      return run!.steps.find((s) => s.name === step)?.state === state ? run! : undefined;
    },
    `step ${step} of run ${runId} to reach ${StepState[state]}`,
    timeoutMs,
  );
}

export function stepOf(run: Run, name: string) {
  const s = run.steps.find((x) => x.name === name);
  expect(s, `run has step ${name}`).toBeDefined();
  return s!;
}

export function states(run: Run): Record<string, string> {
  return Object.fromEntries(run.steps.map((s) => [s.name, StepState[s.state]]));
}

export function eventNames(events: RunEvent[]): string[] {
  return events.map((e) => `${RunEventType[e.type]}${e.step ? `:${e.step.name}` : ""}`);
}
