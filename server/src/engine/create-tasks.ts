import { ErrorReason } from "../../../gen/ts/baton/v1/contract_pb.js";
import { v7 as uuidv7 } from "uuid";
import { batonError } from "../core/errors.js";
import { taskAction } from "../core/contract.js";
import type { TaskSpec } from "../core/task-spec.js";
import { taskGetByIdempotencyKeys, taskInsertMany } from "../store/tasks.js";
import type { TaskRow } from "../core/task-row.js";
import type { Queryable } from "../store/database.js";
import { announce, type Engine } from "./engine.js";

export interface CreateInput {
  spec: TaskSpec;
  /** Fingerprint of the request body (rule I1). */
  requestHash: string;
}

export interface CreateOutcome {
  row: TaskRow;
  /** False for an idempotent replay. */
  created: boolean;
}

/**
 * Creates tasks in one transaction: all or none. A request whose idempotency key
 * exists returns the stored task when the body matches and fails the whole
 * batch with ALREADY_EXISTS when it does not (I1).
 */
export async function createTasks(engine: Engine, inputs: CreateInput[]): Promise<CreateOutcome[]> {
  // Without idempotency keys the insert is the only statement, atomic on its own:
  // no BEGIN/COMMIT round trips around it.
  const keyed = inputs.some((i) => i.spec.idempotencyKey !== null);
  const transaction = <T>(body: (tx: Queryable) => Promise<T>): Promise<T> =>
    keyed ? (engine.sql.begin(body) as Promise<T>) : body(engine.sql);
  const outcomes = await transaction(async (tx) => {
    const fresh = inputs.map((i) => ({ ...i.spec, id: uuidv7(), requestHash: i.requestHash }));
    const inserted = await taskInsertMany(tx, fresh);
    const byId = new Map(inserted.map((r) => [r.id, r]));
    const missing = fresh.filter((t) => !byId.has(t.id));
    const existing = new Map<string, TaskRow>();
    for (const namespace of new Set(missing.map((t) => t.namespace))) {
      const keys = missing.filter((t) => t.namespace === namespace).map((t) => t.idempotencyKey as string);
      for (const row of await taskGetByIdempotencyKeys(tx, namespace, keys)) {
        existing.set(`${namespace}\u0000${row.idempotency_key}`, row);
      }
    }
    return fresh.map((t, index): CreateOutcome => {
      const row = byId.get(t.id);
      if (row) return { row, created: true };
      const prior = existing.get(`${t.namespace}\u0000${t.idempotencyKey}`);
      if (!prior) throw new Error(`task with idempotency key ${t.idempotencyKey} was neither inserted nor found`);
      if (prior.request_hash !== t.requestHash) throw idempotencyKeyReused(prior, inputs.length > 1 ? index : undefined);
      return { row: prior, created: false };
    });
  });
  if (outcomes.some((o) => o.created)) announce(engine, outcomes.filter((o) => o.created).map((o) => o.row));
  engine.metrics?.created(outcomes.filter((o) => o.created).map((o) => o.row));
  return outcomes;
}

function idempotencyKeyReused(prior: TaskRow, index: number | undefined) {
  const field = index === undefined ? "idempotency_key" : `requests[${index}].idempotency_key`;
  return batonError({
    reason: ErrorReason.IDEMPOTENCY_KEY_REUSED,
    message: `idempotency key ${JSON.stringify(prior.idempotency_key)} was already used for task ${prior.id} with a different request body`,
    violations: [{ field, description: "was used before with a different body: use a new key for a different task" }],
    resource: `task/${prior.id}`,
    state: prior.state.toUpperCase(),
    nextActions: [taskAction("getTask", `read the task created with this key: ${prior.id}`)],
    guidance: "a key identifies one request: resend the original body to get the original task, or use a new key",
  });
}
