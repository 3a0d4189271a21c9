import { describe, expect, it } from "vitest";
import { decodePageToken, encodePageToken, setPageTokenKey } from "./page-token.js";

describe("page tokens", () => {
  it("round-trips a cursor", () => {
    const cursor = { afterId: "0193b4c2-1f00-7000-8000-000000000001", filterHash: "abcdef0123456789" };
    const token = encodePageToken(cursor);
    expect(decodePageToken(token)).toEqual(cursor);
  });

  it("is URL-safe and opaque", () => {
    const token = encodePageToken({ afterId: "x".repeat(40), filterHash: "?/+=" });
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(token).not.toContain("x".repeat(10));
  });

  it("rejects a token whose contents were changed, or made with another key", () => {
    const token = encodePageToken({ afterId: "0193b4c2-1f00-7000-8000-000000000001", filterHash: "abcdef0123456789" });
    const [, hash, tag] = JSON.parse(Buffer.from(token, "base64url").toString()) as string[];
    const forged = Buffer.from(JSON.stringify(["not-a-uuid", hash, tag])).toString("base64url");
    expect(decodePageToken(forged)).toBeUndefined();
    expect(decodePageToken(Buffer.from(JSON.stringify(["not-a-uuid", hash])).toString("base64url"))).toBeUndefined();
    setPageTokenKey(Buffer.alloc(32, 7));
    expect(decodePageToken(token)).toBeUndefined();
  });

  it("rejects anything it did not make", () => {
    for (const bad of ["", "not a token", "%%%", Buffer.from("{}").toString("base64url"), Buffer.from("[1,2]").toString("base64url"),
      Buffer.from('["a"]').toString("base64url"), Buffer.from('["a","b","c"]').toString("base64url"), Buffer.from("null").toString("base64url")]) {
      expect(decodePageToken(bad), bad).toBeUndefined();
    }
  });
});
