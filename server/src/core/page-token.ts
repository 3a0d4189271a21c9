/**
 * Page tokens are opaque to clients: base64url of the last id seen and a hash of
 * the filter, so a token used with other filters is refused instead of giving
 * a wrong page.
 */
export interface PageCursor {
  afterId: string;
  filterHash: string;
}

export function encodePageToken(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify([cursor.afterId, cursor.filterHash])).toString("base64url");
}

/** Undefined when the token is not one this server made. */
export function decodePageToken(token: string): PageCursor | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === "string" && typeof parsed[1] === "string") {
      return { afterId: parsed[0], filterHash: parsed[1] };
    }
  } catch {
    // fall through: any unparsable token is simply not ours
  }
  return undefined;
}
