import { Code, ConnectError } from "@connectrpc/connect";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import { ErrorDetailSchema, ErrorReason, type AgentContract, type ErrorDetail } from "../../../gen/ts/baton/v1/contract_pb.js";
import type { JsonObject } from "@bufbuild/protobuf";

export { Code, ErrorReason };

export interface FieldViolation {
  /** The field's path in proto names, e.g. `retry_policy.multiplier`. */
  field: string;
  description: string;
}

/**
 * Codes worth retrying when the server sent no ErrorDetail (a proxy or the
 * network answered instead of Baton): they describe the path, not the request.
 */
const TRANSIENT_CODES = new Set<Code>([Code.Unavailable, Code.DeadlineExceeded, Code.ResourceExhausted, Code.Aborted]);

/**
 * Every error a Baton client call throws. Baton attaches an ErrorDetail to
 * every error (rule C2); this decodes it once so callers branch on `reason`
 * and `retryable` instead of parsing messages.
 */
export class BatonError extends Error {
  override readonly name = "BatonError";
  readonly code: Code;
  /**
   * The wire string, the name of an `ErrorReason` value such as `LEASE_STALE`;
   * derived from the code when the server sent none (see `reasonCode`).
   */
  readonly reason: string;
  /**
   * `reason` as an `ErrorReason` value; `ErrorReason.ERROR_REASON_UNSPECIFIED`
   * for a name this SDK's vocabulary does not know (a newer server).
   */
  readonly reasonCode: ErrorReason;
  readonly fieldViolations: FieldViolation[];
  /** The agent contract: state, next actions, recovery guidance. */
  readonly contract: AgentContract | undefined;
  /** C5: repeat the same request only when true. */
  readonly retryable: boolean;
  /** C5: the least wait before that repeat. */
  readonly retryAfterMs: number | undefined;
  /** The message without the `[code]` prefix Connect adds. */
  readonly rawMessage: string;
  override readonly cause: ConnectError;

  constructor(cause: ConnectError) {
    super(cause.message);
    this.cause = cause;
    this.code = cause.code;
    this.rawMessage = cause.rawMessage;
    const detail = cause.findDetails(ErrorDetailSchema)[0];
    this.reason = detail?.reason || codeReason(cause.code);
    this.reasonCode = reasonCodeOf(this.reason);
    this.fieldViolations = (detail?.fieldViolations ?? []).map((v) => ({ field: v.field, description: v.description }));
    this.contract = detail?.contract;
    const recovery = detail?.contract?.recovery;
    this.retryable = recovery ? recovery.retryable : TRANSIENT_CODES.has(cause.code);
    this.retryAfterMs = recovery?.retryAfter ? durationMs(recovery.retryAfter) : undefined;
  }

  /**
   * An error the SDK raises itself (e.g. a lost lease reported on the worker
   * stream), shaped like one the server would have sent.
   */
  static of(code: Code, reason: ErrorReason | string, message: string, detail?: ErrorDetail): BatonError {
    const name = typeof reason === "string" ? reason : reasonName(reason);
    const d = detail ?? create(ErrorDetailSchema, { reason: name, message });
    return new BatonError(new ConnectError(message, code, undefined, [{ desc: ErrorDetailSchema, value: d }]));
  }

  /** Wraps anything thrown by a Connect call; a BatonError passes through unchanged. */
  static from(err: unknown): BatonError {
    if (err instanceof BatonError) return err;
    return new BatonError(ConnectError.from(err));
  }
}

/** The wire string of an ErrorReason value: `ErrorReason.LEASE_STALE` → `LEASE_STALE`. */
export function reasonName(reason: ErrorReason): string {
  return ErrorReason[reason];
}

/** A wire string as an ErrorReason value; ERROR_REASON_UNSPECIFIED when unknown. */
export function reasonCodeOf(reason: string): ErrorReason {
  const value = (ErrorReason as unknown as Record<string, ErrorReason | string | undefined>)[reason];
  return typeof value === "number" ? value : ErrorReason.ERROR_REASON_UNSPECIFIED;
}

/**
 * The reason of an error without an ErrorDetail (a proxy or the network
 * answered): the ErrorReason values documented for those codes, and UNKNOWN
 * ("act on the gRPC code") for every other code.
 */
const CODE_REASONS = new Map<Code, ErrorReason>([
  [Code.Unavailable, ErrorReason.UNAVAILABLE],
  [Code.Canceled, ErrorReason.CANCELED],
  [Code.DeadlineExceeded, ErrorReason.DEADLINE_EXCEEDED],
  [Code.Internal, ErrorReason.INTERNAL],
  [Code.Unimplemented, ErrorReason.UNIMPLEMENTED],
]);

function codeReason(code: Code): string {
  return reasonName(CODE_REASONS.get(code) ?? ErrorReason.UNKNOWN);
}

export interface HandlerErrorOptions {
  /** Machine-readable error type, matched against `non_retryable_error_types`. Default: the error's name. */
  type?: string;
  details?: JsonObject;
  cause?: unknown;
}

/** Thrown by a handler: the attempt failed and another attempt may succeed. */
export class RetryableError extends Error {
  override name = "RetryableError";
  readonly type: string | undefined;
  readonly details: JsonObject | undefined;
  /** The least delay before the retry (T5). */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, opts: HandlerErrorOptions & { retryAfterMs?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.type = opts.type;
    this.details = opts.details;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** Thrown by a handler: retrying cannot help, so the task goes to DEAD_LETTER (R5, T6). */
export class NonRetryableError extends Error {
  override name = "NonRetryableError";
  readonly type: string | undefined;
  readonly details: JsonObject | undefined;

  constructor(message: string, opts: HandlerErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.type = opts.type;
    this.details = opts.details;
  }
}

/** Why a handler's `ctx.signal` was aborted. */
export type AbortCause =
  /** CancelTask was called: stop; a `cancelled` failure is reported for you (X2). */
  | "cancelled"
  /** The lease expired or went to another worker: stop; nothing is reported (B2, L4). */
  | "lease_lost"
  /** The worker is stopping and the grace period ran out: a `worker_shutdown` failure is reported. */
  | "shutdown";

/** The `reason` of an aborted `ctx.signal`. */
export class TaskAbortedError extends Error {
  override name = "TaskAbortedError";
  readonly why: AbortCause;

  constructor(why: AbortCause, message: string) {
    super(message);
    this.why = why;
  }
}
