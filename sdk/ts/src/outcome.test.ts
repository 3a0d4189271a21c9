import { describe, expect, it } from "vitest";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { NonRetryableError, RetryableError } from "./errors.js";
import { completedResult, failedResult } from "./outcome.js";

function failure(err: unknown) {
  const r = failedResult("t", "l", err);
  if (r.outcome.case !== "failed") throw new Error("expected a failure");
  return r.outcome.value;
}

describe("handler outcomes as Results (R5)", () => {
  it("maps RetryableError with its type and retry-after", () => {
    const f = failure(new RetryableError("upstream 503", { type: "http_503", retryAfterMs: 1_500 }));
    expect(f.error).toMatchObject({ type: "http_503", message: "upstream 503", nonRetryable: false });
    expect(durationMs(f.retryAfter!)).toBe(1_500);
  });

  it("maps NonRetryableError as non_retryable", () => {
    const f = failure(new NonRetryableError("bad address", { type: "validation" }));
    expect(f.error).toMatchObject({ type: "validation", nonRetryable: true });
    expect(f.retryAfter).toBeUndefined();
  });

  it("maps any other Error as retryable, typed by its name, with the stack", () => {
    const f = failure(new TypeError("x is undefined"));
    expect(f.error).toMatchObject({ type: "TypeError", message: "x is undefined", nonRetryable: false });
    expect(String(f.error!.details!.stack)).toContain("TypeError");
  });

  it("maps a thrown non-Error", () => {
    expect(failure("boom").error).toMatchObject({ type: "Error", message: "boom" });
  });

  it("defaults the type to the error class's name", () => {
    expect(failure(new RetryableError("r")).error!.type).toBe("RetryableError");
    expect(failure(new NonRetryableError("n")).error!.type).toBe("NonRetryableError");
  });

  it("turns a handler's return value into a JSON object", () => {
    const at = new Date("2026-01-01T00:00:00Z");
    const r = completedResult("t", "l", { at, n: 1, skip: undefined });
    expect(r.outcome).toEqual({ case: "completed", value: { at: "2026-01-01T00:00:00.000Z", n: 1 } });
    expect(completedResult("t", "l", undefined).outcome.value).toEqual({});
    expect(completedResult("t", "l", 42).outcome.value).toEqual({ value: 42 });
  });

  it("fails non-retryably when the result cannot be JSON", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const r = completedResult("t", "l", cyclic);
    expect(r.outcome.case).toBe("failed");
    if (r.outcome.case === "failed") expect(r.outcome.value.error).toMatchObject({ type: "invalid_result", nonRetryable: true });
  });
});
