import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
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
import { ErrorReason } from "../../../gen/ts/baton/v1/contract_pb.js";
import { reasonName, reasonRule, type ServerReason } from "./error-reasons.js";

export { ErrorReason };

/**
 * Every Baton error: an ErrorDetail carrying the reason, the bad fields and the
 * agent contract (rule C2), under the Connect code the reason implies
 * (error-reasons.ts); `retryable` defaults to the reason's.
 */
export interface ErrorSpec {
  reason: ServerReason;
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
  const rule = reasonRule(spec.reason);
  const contract: AgentContract = create(AgentContractSchema, {
    resource: spec.resource ?? "",
    state: spec.state ?? "",
    nextActions: spec.nextActions ?? [],
    recovery: create(RecoverySchema, {
      retryable: spec.retryable ?? rule.retryable,
      retryAfter: spec.retryAfterMs === undefined ? undefined : durationFromMs(spec.retryAfterMs),
      guidance: spec.guidance,
    }),
  });
  const detail = create(ErrorDetailSchema, {
    reason: reasonName(spec.reason),
    message: spec.message,
    fieldViolations: (spec.violations ?? []).map((v) => create(FieldViolationSchema, v)),
    contract,
  });
  return new ConnectError(spec.message, rule.code, undefined, [{ desc: ErrorDetailSchema, value: detail }]);
}

/** S1: all field problems at once. */
export function invalidArgument(violations: FieldViolation[], retry: NextAction): ConnectError {
  const summary = violations
    .slice(0, 5)
    .map((v) => `${v.field} ${v.description}`)
    .join("; ");
  const more = violations.length > 5 ? ` (and ${violations.length - 5} more)` : "";
  return batonError({
    reason: ErrorReason.INVALID_FIELD,
    message: `invalid request: ${summary}${more}`,
    violations,
    nextActions: [retry],
    guidance: "fix the listed fields and send the request again; nothing was changed",
  });
}

/** S2. */
export function taskNotFound(id: string, next: NextAction[]): ConnectError {
  return batonError({
    reason: ErrorReason.TASK_NOT_FOUND,
    message: `task ${id} does not exist`,
    resource: `task/${id}`,
    nextActions: next,
    guidance: "check the id (ids come from CreateTask or ListTasks); retrying the same id will not help",
  });
}

/** L1/L4: the caller's lease is not the task's current lease. */
export function leaseStale(id: string, state: string, next: NextAction[]): ConnectError {
  return batonError({
    reason: ErrorReason.LEASE_STALE,
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
    reason: ErrorReason.INVALID_STATE,
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
    reason: ErrorReason.STORAGE_UNAVAILABLE,
    message: `storage is unavailable: ${cause}`,
    retryable: true,
    retryAfterMs,
    guidance: "retry the same request after retry_after; requests with an idempotency key are safe to resend",
  });
}


/** An unexpected failure, already logged by the caller with the call's request id. */
export function internalError(): ConnectError {
  return batonError({
    reason: ErrorReason.INTERNAL,
    message: "internal error; it was logged",
    retryable: true,
    retryAfterMs: 1_000,
    guidance: "retry once; if it persists, report it with the time of the call",
  });
}
