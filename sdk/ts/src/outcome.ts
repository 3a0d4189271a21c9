import { create, type JsonObject } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { ResultSchema, type Result } from "../../../gen/ts/baton/v1/worker_pb.js";
import { NonRetryableError, RetryableError } from "./errors.js";

/** Server limits on TaskError (see server/src/core/defaults.ts); longer values would get the Result refused. */
const TYPE_MAX_CHARS = 256;
const MESSAGE_MAX_CHARS = 16 * 1024;
const STACK_MAX_CHARS = 8 * 1024;

export interface FailureSpec {
  type: string;
  message: string;
  nonRetryable?: boolean;
  retryAfterMs?: number;
  details?: JsonObject;
}

export function failureResult(taskId: string, leaseId: string, f: FailureSpec): Result {
  return create(ResultSchema, {
    taskId,
    leaseId,
    outcome: {
      case: "failed",
      value: {
        error: {
          type: f.type.slice(0, TYPE_MAX_CHARS) || "Error",
          message: f.message.slice(0, MESSAGE_MAX_CHARS),
          nonRetryable: f.nonRetryable ?? false,
          details: f.details,
        },
        retryAfter: f.retryAfterMs && f.retryAfterMs > 0 ? durationFromMs(Math.round(f.retryAfterMs)) : undefined,
      },
    },
  });
}

/**
 * A handler's return value as the Result's JSON object. A JSON round trip
 * gives exactly what a caller will read back (Dates become strings, undefined
 * fields vanish); a value that is not an object is wrapped as `{ value }`
 * rather than failing an attempt whose work is done.
 */
export function completedResult(taskId: string, leaseId: string, value: unknown): Result {
  let json: unknown;
  try {
    json = value === undefined ? {} : JSON.parse(JSON.stringify(value) ?? "null");
  } catch (err) {
    return failureResult(taskId, leaseId, {
      type: "invalid_result",
      message: `the handler's result is not JSON: ${(err as Error).message}`,
      nonRetryable: true,
    });
  }
  const object = json !== null && typeof json === "object" && !Array.isArray(json) ? (json as JsonObject) : { value: json as JsonObject[string] };
  return create(ResultSchema, { taskId, leaseId, outcome: { case: "completed", value: object } });
}

/** R5: what a handler threw, as a failure; any error that is not NonRetryableError may be retried. */
export function failedResult(taskId: string, leaseId: string, err: unknown): Result {
  if (err instanceof NonRetryableError) {
    return failureResult(taskId, leaseId, { type: err.type ?? err.name, message: err.message, nonRetryable: true, details: err.details });
  }
  if (err instanceof RetryableError) {
    return failureResult(taskId, leaseId, { type: err.type ?? err.name, message: err.message, retryAfterMs: err.retryAfterMs, details: err.details });
  }
  if (err instanceof Error) {
    return failureResult(taskId, leaseId, {
      type: err.name,
      message: err.message,
      details: err.stack ? { stack: err.stack.slice(0, STACK_MAX_CHARS) } : undefined,
    });
  }
  return failureResult(taskId, leaseId, { type: "Error", message: String(err) });
}
