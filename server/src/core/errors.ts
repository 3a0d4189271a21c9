import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  AgentContractSchema,
  ErrorDetailSchema,
  FieldViolationSchema,
  RecoverySchema,
  type AgentContract,
  type NextAction,
} from "../../../gen/ts/baton/v1/contract_pb.js";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { FieldViolation } from "./validation.js";

/**
 * Every Baton error: a Connect code plus an ErrorDetail carrying the reason,
 * the bad fields and the agent contract (rule C2).
 */
export interface ErrorSpec {
  code: Code;
  reason: string;
  message: string;
  violations?: FieldViolation[];
  resource?: string;
  state?: string;
  nextActions?: NextAction[];
  retryable?: boolean;
  retryAfterMs?: number;
  guidance: string;
}

export function batonError(spec: ErrorSpec): ConnectError {
  const contract: AgentContract = create(AgentContractSchema, {
    resource: spec.resource ?? "",
    state: spec.state ?? "",
    nextActions: spec.nextActions ?? [],
    recovery: create(RecoverySchema, {
      retryable: spec.retryable ?? false,
      retryAfter: spec.retryAfterMs === undefined ? undefined : durationFromMs(spec.retryAfterMs),
      guidance: spec.guidance,
    }),
  });
  const detail = create(ErrorDetailSchema, {
    reason: spec.reason,
    message: spec.message,
    fieldViolations: (spec.violations ?? []).map((v) => create(FieldViolationSchema, v)),
    contract,
  });
  return new ConnectError(spec.message, spec.code, undefined, [{ desc: ErrorDetailSchema, value: detail }]);
}

/** S1: all field problems at once. */
export function invalidArgument(violations: FieldViolation[], retry: NextAction): ConnectError {
  const summary = violations
    .slice(0, 5)
    .map((v) => `${v.field} ${v.description}`)
    .join("; ");
  const more = violations.length > 5 ? ` (and ${violations.length - 5} more)` : "";
  return batonError({
    code: Code.InvalidArgument,
    reason: "INVALID_FIELD",
    message: `invalid request: ${summary}${more}`,
    violations,
    nextActions: [retry],
    guidance: "fix the listed fields and send the request again; nothing was changed",
  });
}

/** S2. */
export function taskNotFound(id: string, next: NextAction[]): ConnectError {
  return batonError({
    code: Code.NotFound,
    reason: "TASK_NOT_FOUND",
    message: `task ${id} does not exist`,
    resource: `task/${id}`,
    nextActions: next,
    guidance: "check the id (ids come from CreateTask or ListTasks); retrying the same id will not help",
  });
}

/** L1/L4: the caller's lease is not the task's current lease. */
export function leaseStale(id: string, state: string, next: NextAction[]): ConnectError {
  return batonError({
    code: Code.FailedPrecondition,
    reason: "LEASE_STALE",
    message: `lease is not the current lease of task ${id}: it expired, or the task was reclaimed or finished`,
    resource: `task/${id}`,
    state,
    nextActions: next,
    guidance: "stop working on this task and do not retry: another worker may own it now (L4)",
  });
}

/** S3. */
export function invalidState(id: string, state: string, message: string, next: NextAction[]): ConnectError {
  return batonError({
    code: Code.FailedPrecondition,
    reason: "INVALID_STATE",
    message,
    resource: `task/${id}`,
    state,
    nextActions: next,
    guidance: "the call is not valid in the task's current state; read the task and pick a listed next action",
  });
}

/** S4: storage is down; the caller should back off and retry. */
export function unavailable(cause: string, retryAfterMs: number): ConnectError {
  return batonError({
    code: Code.Unavailable,
    reason: "STORAGE_UNAVAILABLE",
    message: `storage is unavailable: ${cause}`,
    retryable: true,
    retryAfterMs,
    guidance: "retry the same request after retry_after; requests with an idempotency key are safe to resend",
  });
}

