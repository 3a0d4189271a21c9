import { reasonForCode } from "../core/error-reasons.js";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { ErrorDetailSchema } from "../../../gen/ts/baton/v1/contract_pb.js";
import { batonError, internalError, unavailable } from "../core/errors.js";
import { callLog } from "../observe/call-log.js";
import { isStorageUnavailable } from "../store/storage-errors.js";

/** The retry delay suggested while storage is unreachable. */
export const STORAGE_RETRY_AFTER_MS = 2_000;

/**
 * Gives every error leaving a unary handler a code and a contract (rule C2):
 * storage outages become UNAVAILABLE with retry-after, unexpected errors become
 * INTERNAL (logged with the request's procedure), Baton errors pass unchanged.
 */
export function createErrorInterceptor(log: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      throw toBatonError(err, req.method.name, callLog(req.contextValues, log));
    }
  };
}

export function toBatonError(err: unknown, procedure: string, log: Logger): ConnectError {
  if (err instanceof ConnectError) {
    if (err.findDetails(ErrorDetailSchema).length > 0) return err;
    // protobuf-es reports an undecodable binary message as INTERNAL; the bytes came from the client.
    const code = err.code === Code.Internal && /^parse binary/.test(err.rawMessage) ? Code.InvalidArgument : err.code;
    // Our own errors all carry a detail: one without comes from Connect, and its code names the reason.
    const reason = reasonForCode(code);
    if (reason === undefined) return err;
    return batonError({
      reason,
      message: err.rawMessage,
      guidance:
        code === Code.InvalidArgument
          ? "the request could not be decoded: check the JSON or binary encoding against the schema at /v1/schema"
          : "see the message",
    });
  }
  if (isStorageUnavailable(err)) {
    log.warn({ err, procedure }, "storage unavailable");
    return unavailable((err as Error).message, STORAGE_RETRY_AFTER_MS);
  }
  log.error({ err, procedure }, "unexpected error");
  return internalError();
}
