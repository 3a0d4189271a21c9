import { describe, expect, it } from "vitest";
import { requestHash } from "./request-hash.js";

describe("requestHash (I1)", () => {
  it("is a sha256 hex digest", () => {
    expect(requestHash({ a: 1 })).toMatch(/^[0-9a-f]{64}$/);
  });

  it("ignores object key order at every depth", () => {
    expect(requestHash({ a: 1, b: { c: [1, { d: 2, e: 3 }], f: null } })).toBe(requestHash({ b: { f: null, c: [1, { e: 3, d: 2 }] }, a: 1 }));
  });

  it("tells different bodies apart", () => {
    const h = requestHash({ queue: "q", payload: { n: 1 } });
    expect(requestHash({ queue: "q", payload: { n: 2 } })).not.toBe(h);
    expect(requestHash({ queue: "q", payload: { n: "1" } })).not.toBe(h);
    expect(requestHash({ queue: "q", payload: { n: 1 }, priority: 1 })).not.toBe(h);
    // Array order matters.
    expect(requestHash([1, 2])).not.toBe(requestHash([2, 1]));
  });

  it("does not confuse a key with a value that looks like JSON", () => {
    expect(requestHash({ a: "b,c:d" })).not.toBe(requestHash({ a: "b", c: "d" }));
    expect(requestHash({ 'a":"b': 1 })).not.toBe(requestHash({ a: "b" }));
  });

  it("accepts primitives and undefined", () => {
    expect(requestHash(undefined)).toBe(requestHash(null));
    expect(requestHash("x")).not.toBe(requestHash("y"));
  });
});
