import { describe, expect, it } from "vitest";
import { decodePageToken, encodePageToken } from "./page-token.js";

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

  it("rejects anything it did not make", () => {
    for (const bad of ["", "not a token", "%%%", Buffer.from("{}").toString("base64url"), Buffer.from("[1,2]").toString("base64url"),
      Buffer.from('["a"]').toString("base64url"), Buffer.from('["a","b","c"]').toString("base64url"), Buffer.from("null").toString("base64url")]) {
      expect(decodePageToken(bad), bad).toBeUndefined();
    }
  });
});
