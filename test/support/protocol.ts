// Assertions and waits shared by the protocol tests in test/integration/.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { expect } from "vitest";
import { ErrorDetailSchema, type AgentContract, type ErrorDetail } from "../../gen/ts/baton/v1/contract_pb.js";
import type { TaskEvent } from "../../gen/ts/baton/v1/task_pb.js";
import type { TaskService, WatchTasksRequestSchema } from "../../gen/ts/baton/v1/task_service_pb.js";

export type TaskClient = Client<typeof TaskService>;

export interface BatonFailure {
  err: ConnectError;
  detail: ErrorDetail;
  /** The field paths named in detail.field_violations. */
  fields: string[];
}

/**
 * Awaits a call that must fail with `code` (and `reason`, when given), and checks
 * rule C2: the error carries exactly one ErrorDetail holding a contract.
 */
export async function expectBatonError(call: Promise<unknown>, code: Code, reason?: string): Promise<BatonFailure> {
  let caught: unknown;
  try {
    await call;
  } catch (e) {
    caught = e;
  }
  if (caught === undefined) throw new Error(`expected ${Code[code]}${reason ? ` ${reason}` : ""}, but the call succeeded`);
  const err = ConnectError.from(caught);
  expect(Code[err.code], err.message).toBe(Code[code]);
  const details = err.findDetails(ErrorDetailSchema);
  expect(details, "every error carries one ErrorDetail (C2)").toHaveLength(1);
  const detail = details[0]!;
  if (reason !== undefined) expect(detail.reason).toBe(reason);
  expect(detail.contract, "the ErrorDetail holds a contract (C2)").toBeDefined();
  expect(detail.contract!.recovery, "the contract has recovery guidance").toBeDefined();
  expect(detail.contract!.recovery!.guidance).not.toBe("");
  return { err, detail, fields: detail.fieldViolations.map((v) => v.field) };
}

/** INVALID_ARGUMENT / INVALID_FIELD naming every field in `fields` (S1, C2). */
export async function expectInvalid(call: Promise<unknown>, ...fields: string[]): Promise<BatonFailure> {
  const failure = await expectBatonError(call, Code.InvalidArgument, "INVALID_FIELD");
  for (const field of fields) expect(failure.fields).toContain(field);
  for (const v of failure.detail.fieldViolations) expect(v.description, `violation of ${v.field} says how to fix it`).not.toBe("");
  return failure;
}

/** The RPC names of a contract's next actions, e.g. ["Heartbeat", "CompleteTask"]. */
export function actionNames(contract: AgentContract | undefined): string[] {
  expect(contract, "every response carries a contract (C1)").toBeDefined();
  return contract!.nextActions.map((a) => {
    expect(a.rpc.startsWith("baton.v1.TaskService/")).toBe(true);
    expect(a.httpPath).toBe(`/${a.rpc}`);
    return a.rpc.slice("baton.v1.TaskService/".length);
  });
}

export function ms(t: Timestamp | undefined): number {
  expect(t).toBeDefined();
  return timestampMs(t!);
}

/**
 * Polls `probe` until it returns a value other than undefined, or fails after
 * `timeoutMs`. For waiting on a state change made by a background service.
 */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** An open WatchTasks stream that buffers events, so a test can await the next ones. */
export interface Watcher {
  events: TaskEvent[];
  /** Resolves once `count` events in total were received (fails after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<TaskEvent[]>;
  /** Resolves once the stream ended or failed, with the error if any. */
  ended: Promise<unknown>;
  close(): void;
}

export function watch(client: TaskClient, req: MessageInitShape<typeof WatchTasksRequestSchema>): Watcher {
  const abort = new AbortController();
  const events: TaskEvent[] = [];
  let notify = () => {};
  const ended = (async () => {
    try {
      for await (const msg of client.watchTasks(req, { signal: abort.signal })) {
        events.push(msg.event!);
        notify();
      }
      return undefined;
    } catch (err) {
      return abort.signal.aborted ? undefined : err;
    } finally {
      notify();
    }
  })();
  let done = false;
  void ended.then(() => (done = true));
  return {
    events,
    ended,
    async waitFor(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (events.length < count) {
        if (done) throw new Error(`watch stream ended after ${events.length} of ${count} events: ${String(await ended)}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for ${count} events; got ${events.length}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          notify = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return events.slice(0, count);
    },
    close: () => abort.abort(),
  };
}
