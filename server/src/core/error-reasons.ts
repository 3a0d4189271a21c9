/**
 * The closed error vocabulary: every ErrorDetail.reason the server sends is an
 * ErrorReason (proto/baton/v1/contract.proto), and this table is the only place
 * that pairs a reason with its Connect code and whether retrying may help, as the
 * enum's comments state them. batonError (errors.ts) takes a reason and looks the
 * code up here, so a reason can never travel with the wrong code.
 */
import { Code } from "@connectrpc/connect";
import { ErrorReason } from "../../../gen/ts/baton/v1/contract_pb.js";

/** Reasons only clients produce (no answer, no detail, a refused Ack), and the zero value. */
type ClientOnlyReason = ErrorReason.ERROR_REASON_UNSPECIFIED | ErrorReason.UNAVAILABLE | ErrorReason.UNKNOWN | ErrorReason.RESULT_REFUSED;

/** A reason the server may send. A new enum value fails to compile until the table below names it. */
export type ServerReason = Exclude<ErrorReason, ClientOnlyReason>;

export interface ReasonRule {
  code: Code;
  retryable: boolean;
}

const RULES: Record<ServerReason, ReasonRule> = {
  [ErrorReason.INVALID_FIELD]: { code: Code.InvalidArgument, retryable: false },
  [ErrorReason.MALFORMED_REQUEST]: { code: Code.InvalidArgument, retryable: false },
  [ErrorReason.MESSAGE_TOO_LARGE]: { code: Code.ResourceExhausted, retryable: false },
  [ErrorReason.TASK_NOT_FOUND]: { code: Code.NotFound, retryable: false },
  [ErrorReason.LEASE_STALE]: { code: Code.FailedPrecondition, retryable: false },
  [ErrorReason.CANCEL_REQUESTED]: { code: Code.FailedPrecondition, retryable: false },
  [ErrorReason.INVALID_STATE]: { code: Code.FailedPrecondition, retryable: false },
  [ErrorReason.IDEMPOTENCY_KEY_REUSED]: { code: Code.AlreadyExists, retryable: false },
  [ErrorReason.STORAGE_UNAVAILABLE]: { code: Code.Unavailable, retryable: true },
  [ErrorReason.WORKFLOW_NOT_FOUND]: { code: Code.NotFound, retryable: false },
  [ErrorReason.RUN_NOT_FOUND]: { code: Code.NotFound, retryable: false },
  [ErrorReason.STEP_NOT_FOUND]: { code: Code.NotFound, retryable: false },
  [ErrorReason.WORKER_NOT_FOUND]: { code: Code.NotFound, retryable: false },
  [ErrorReason.RESOURCE_VERSION_STALE]: { code: Code.Aborted, retryable: true },
  // An MCP tool error, not an RPC: the code is what the tool result would have been over Connect.
  [ErrorReason.UNKNOWN_TOOL]: { code: Code.InvalidArgument, retryable: false },
  [ErrorReason.INTERNAL]: { code: Code.Internal, retryable: true },
  [ErrorReason.UNIMPLEMENTED]: { code: Code.Unimplemented, retryable: false },
  [ErrorReason.CANCELED]: { code: Code.Canceled, retryable: false },
  [ErrorReason.DEADLINE_EXCEEDED]: { code: Code.DeadlineExceeded, retryable: true },
  [ErrorReason.UNSUPPORTED_MEDIA_TYPE]: { code: Code.InvalidArgument, retryable: false },
  [ErrorReason.PROTOCOL_VIOLATION]: { code: Code.FailedPrecondition, retryable: false },
};

export function reasonRule(reason: ServerReason): ReasonRule {
  return RULES[reason];
}

/** The reason's wire text, e.g. "LEASE_STALE". */
export function reasonName(reason: ServerReason): string {
  return ErrorReason[reason];
}

/**
 * The reason for an error that reached the edge without a detail (Connect's own
 * errors: cancelled calls, deadlines, unknown procedures, undecodable bodies),
 * by its code; always one whose rule keeps that code. A code no reason names
 * (e.g. gRPC health's NOT_FOUND for an unknown service) gets none: the error
 * goes out as it is, without a detail, which clients read as UNKNOWN ("act on
 * the code"), rather than under a reason that would change its code.
 */
const BY_CODE: Record<Code, ServerReason | undefined> = {
  [Code.Canceled]: ErrorReason.CANCELED,
  [Code.Unknown]: undefined,
  [Code.InvalidArgument]: ErrorReason.MALFORMED_REQUEST, // our own INVALID_FIELD errors carry a detail
  [Code.DeadlineExceeded]: ErrorReason.DEADLINE_EXCEEDED,
  [Code.NotFound]: undefined,
  [Code.AlreadyExists]: undefined,
  [Code.PermissionDenied]: undefined,
  [Code.ResourceExhausted]: ErrorReason.MESSAGE_TOO_LARGE,
  [Code.FailedPrecondition]: ErrorReason.PROTOCOL_VIOLATION,
  [Code.Aborted]: undefined,
  [Code.OutOfRange]: undefined,
  [Code.Unimplemented]: ErrorReason.UNIMPLEMENTED,
  [Code.Internal]: ErrorReason.INTERNAL,
  [Code.Unavailable]: ErrorReason.STORAGE_UNAVAILABLE,
  [Code.DataLoss]: undefined,
  [Code.Unauthenticated]: undefined,
};

export function reasonForCode(code: Code): ServerReason | undefined {
  return BY_CODE[code];
}
