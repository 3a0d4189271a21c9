/**
 * Recognises "the database is unreachable" among driver errors, so such failures
 * are answered UNAVAILABLE with a retry-after (rule S4) rather than INTERNAL.
 */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED", // nothing listens: Postgres is down or restarting
  "ECONNRESET", // the connection died mid-query
  "EPIPE", // wrote to a connection Postgres closed
  "ETIMEDOUT",
  "ENOTFOUND",
  "CONNECTION_CLOSED", // postgres.js: the server closed the connection
  "CONNECTION_ENDED", // postgres.js: the pool is shutting down
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

export function isStorageUnavailable(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== "string") return false;
  // SQLSTATE class 08 is connection exceptions; 57P01..57P03 are shutdown / not accepting connections.
  return CONNECTION_CODES.has(code) || code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03";
}
