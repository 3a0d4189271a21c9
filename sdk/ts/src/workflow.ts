import { Code, createClient, type Client as RpcClient } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { RunEventType, type Run, type RunEvent, type Workflow, type WorkflowSchema } from "../../../gen/ts/baton/v1/workflow_pb.js";
import { WorkflowService, type StartRunRequestSchema } from "../../../gen/ts/baton/v1/workflow_service_pb.js";
import { Backoff } from "./backoff.js";
import type { CallOptions, ClientOptions } from "./client.js";
import { BatonError } from "./errors.js";
import { sleep } from "./timers.js";
import { openTransport, type OwnedTransport } from "./transport.js";

export type WorkflowInput = MessageInitShape<typeof WorkflowSchema>;
export type StartRunInput = MessageInitShape<typeof StartRunRequestSchema>;

export interface PutWorkflowResult {
  workflow: Workflow;
  /** The workflow did not exist before. */
  created: boolean;
  /** False when the stored definition was already the same. */
  changed: boolean;
}

const TERMINAL = new Set([RunEventType.RUN_SUCCEEDED, RunEventType.RUN_FAILED, RunEventType.RUN_CANCELLED, RunEventType.RUN_TIMED_OUT]);

/**
 * WorkflowService: store definitions (as messages or YAML), start and steer
 * runs, follow them. Every method throws BatonError; a refused definition
 * lists every problem in `fieldViolations` (with YAML line numbers).
 */
export class WorkflowClient {
  /** The generated Connect client, for calls this class does not wrap. */
  readonly rpc: RpcClient<typeof WorkflowService>;
  readonly #owned: OwnedTransport;

  constructor(opts: ClientOptions) {
    this.#owned = openTransport(opts);
    this.rpc = createClient(WorkflowService, this.#owned.transport);
  }

  /** Stores a workflow given as YAML (docs/WORKFLOWS.md); the server analyses it first. */
  putWorkflowYaml(yaml: string, opts?: CallOptions & { validateOnly?: boolean }): Promise<PutWorkflowResult> {
    return this.#put({ case: "yaml", value: yaml }, opts);
  }

  putWorkflow(workflow: WorkflowInput, opts?: CallOptions & { validateOnly?: boolean }): Promise<PutWorkflowResult> {
    return this.#put({ case: "workflow", value: workflow }, opts);
  }

  async startRun(req: StartRunInput, opts?: CallOptions): Promise<{ run: Run; created: boolean }> {
    const res = await call(() => this.rpc.startRun(req, opts));
    return { run: res.run!, created: res.created };
  }

  /** With every step's state, join, attempts and errors. */
  async getRun(id: string, opts?: CallOptions): Promise<Run> {
    return (await call(() => this.rpc.getRun({ id }, opts))).run!;
  }

  async cancelRun(id: string, reason = "", opts?: CallOptions): Promise<Run> {
    return (await call(() => this.rpc.cancelRun({ id, reason }, opts))).run!;
  }

  async approveStep(runId: string, step: string, by: { approver?: string; comment?: string } = {}, opts?: CallOptions): Promise<Run> {
    return (await call(() => this.rpc.approveStep({ runId, step, ...by }, opts))).run!;
  }

  async rejectStep(runId: string, step: string, by: { approver?: string; reason?: string } = {}, opts?: CallOptions): Promise<Run> {
    return (await call(() => this.rpc.rejectStep({ runId, step, ...by }, opts))).run!;
  }

  /**
   * A run's events from its first one until it ends, resuming after the last
   * cursor when the stream breaks (a restart, a lost connection).
   */
  async *watchRun(runId: string, opts: { signal?: AbortSignal } = {}): AsyncGenerator<RunEvent> {
    const backoff = new Backoff();
    let afterCursor: bigint | undefined;
    while (!opts.signal?.aborted) {
      const attempt = new AbortController();
      const onAbort = () => attempt.abort();
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      let delayMs: number;
      try {
        for await (const res of this.rpc.watchRun({ runId, afterCursor }, { signal: attempt.signal })) {
          const event = res.event!;
          if (afterCursor !== undefined && event.cursor <= afterCursor) continue;
          afterCursor = event.cursor;
          backoff.reset();
          yield event;
          if (TERMINAL.has(event.type)) return;
        }
        delayMs = backoff.nextDelayMs();
      } catch (err) {
        if (opts.signal?.aborted) return;
        const e = BatonError.from(err);
        if (!e.retryable && e.code !== Code.Unavailable && e.code !== Code.Unknown && e.code !== Code.Canceled) throw e;
        delayMs = Math.max(backoff.nextDelayMs(), e.retryAfterMs ?? 0);
      } finally {
        opts.signal?.removeEventListener("abort", onAbort);
        attempt.abort();
      }
      await sleep(delayMs, opts.signal);
    }
  }

  close(): void {
    this.#owned.close();
  }

  async #put(definition: { case: "yaml"; value: string } | { case: "workflow"; value: WorkflowInput }, opts?: CallOptions & { validateOnly?: boolean }) {
    const res = await call(() => this.rpc.putWorkflow({ definition, validateOnly: opts?.validateOnly ?? false }, opts));
    return { workflow: res.workflow!, created: res.created, changed: res.changed };
  }
}

async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw BatonError.from(err);
  }
}
