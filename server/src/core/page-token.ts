import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Page tokens are opaque to clients: base64url of the last id seen, a hash of
 * the filter (a token used with other filters is refused instead of giving a
 * wrong page) and an HMAC over both. Only a token this server's replicas made
 * decodes, so nothing a client invents reaches SQL.
 *
 * The key is shared by all replicas (server.ts loads it from baton_server_keys
 * at start-up); until then, e.g. in unit tests, it is random per process.
 */
export interface PageCursor {
  afterId: string;
  filterHash: string;
}

const MAC_BYTES = 16;
let key: Buffer = randomBytes(32);

/** Sets the HMAC key: the one every replica shares. */
export function setPageTokenKey(k: Buffer): void {
  key = k;
}

function mac(afterId: string, filterHash: string): Buffer {
  return createHmac("sha256", key).update(JSON.stringify([afterId, filterHash])).digest().subarray(0, MAC_BYTES);
}

export function encodePageToken(cursor: PageCursor): string {
  const tag = mac(cursor.afterId, cursor.filterHash).toString("base64url");
  return Buffer.from(JSON.stringify([cursor.afterId, cursor.filterHash, tag])).toString("base64url");
}

/** Undefined when the token is not one this server made (or was altered). */
export function decodePageToken(token: string): PageCursor | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (!Array.isArray(parsed) || parsed.length !== 3 || !parsed.every((p) => typeof p === "string")) return undefined;
    const [afterId, filterHash, tag] = parsed as [string, string, string];
    const given = Buffer.from(tag, "base64url");
    if (given.length !== MAC_BYTES || !timingSafeEqual(given, mac(afterId, filterHash))) return undefined;
    return { afterId, filterHash };
  } catch {
    // fall through: any unparsable token is simply not ours
  }
  return undefined;
}
