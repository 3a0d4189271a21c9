/**
 * The logger of one RPC, carried in Connect's context values. http's request-log
 * interceptor sets it; api's handlers and error mapping read it. It lives here,
 * apart from both, so api never imports http.
 *
 * Context values, not an AsyncLocalStorage: on Node 20 one AsyncLocalStorage
 * turns on promise hooks for the whole process, which cost ~9% of the server's
 * CPU per task in `npm run bench` (every await pays for them).
 */
import { createContextKey, type ContextValues } from "@connectrpc/connect";
import type { Logger } from "pino";

const callLogKey = createContextKey<Logger | undefined>(undefined, { description: "the logger of one RPC" });

/** The logger of the call `values` belong to (its lines carry the request id and procedure), else `fallback`. */
export function callLog(values: ContextValues, fallback: Logger): Logger {
  return values.get(callLogKey) ?? fallback;
}

export function setCallLog(values: ContextValues, log: Logger): void {
  values.set(callLogKey, log);
}
