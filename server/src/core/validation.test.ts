import { describe, expect, it } from "vitest";
import { formatMs, Violations } from "./validation.js";

function fields(fn: (v: Violations) => void): string[] {
  const v = new Violations();
  fn(v);
  return v.list.map((x) => x.field);
}

function deep(levels: number): Record<string, unknown> {
  let o: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < levels; i++) o = { a: o };
  return o;
}

describe("Violations (S1)", () => {
  it("starts empty and collects every problem", () => {
    const v = new Violations();
    expect(v.empty).toBe(true);
    v.name("queue", "", 128);
    v.intRange("priority", 5000, -1000, 1000);
    expect(v.empty).toBe(false);
    expect(v.list.map((x) => x.field)).toEqual(["queue", "priority"]);
    expect(v.list.every((x) => x.description.length > 0)).toBe(true);
  });

  it("checks names: required, bounded, safe characters", () => {
    for (const ok of ["q", "email.send", "a-b_c:d/e", "Q1", "0abc"]) expect(fields((v) => v.name("f", ok, 128)), ok).toEqual([]);
    for (const bad of ["", "a b", ".hidden", "-x", "é", "a*b", "x".repeat(129), "a\nb"]) {
      expect(fields((v) => v.name("f", bad, 128)), bad).toEqual(["f"]);
    }
    expect(fields((v) => v.name("f", "x".repeat(128), 128))).toEqual([]);
  });

  it("checks namespaces: empty means default, lower-case only", () => {
    expect(fields((v) => v.namespace("ns", "", 63))).toEqual([]);
    expect(fields((v) => v.namespace("ns", "tenant-a.prod_1", 63))).toEqual([]);
    for (const bad of ["Tenant", "a/b", "a:b", "_x", "x".repeat(64)]) expect(fields((v) => v.namespace("ns", bad, 63)), bad).toEqual(["ns"]);
  });

  it("checks task and lease ids as UUIDs", () => {
    const id = "0193b4c2-1f00-7000-8000-000000000001";
    expect(fields((v) => v.taskId("id", id))).toEqual([]);
    expect(fields((v) => v.taskId("id", id.toUpperCase()))).toEqual([]);
    expect(fields((v) => v.leaseId("lease_id", id))).toEqual([]);
    for (const bad of ["", "x", `${id}0`, id.replaceAll("-", ""), `{${id}}`, "0193b4c2-1f00-7000-8000-00000000000g"]) {
      expect(fields((v) => v.taskId("id", bad)), bad).toEqual(["id"]);
      expect(fields((v) => v.leaseId("lease_id", bad)), bad).toEqual(["lease_id"]);
    }
    const v = new Violations();
    v.taskId("id", "x".repeat(1000));
    expect(v.list[0]!.description.length).toBeLessThan(200);
  });

  it("checks integer and number ranges, refusing NaN and fractions", () => {
    expect(fields((v) => v.intRange("n", 1000, -1000, 1000))).toEqual([]);
    expect(fields((v) => v.intRange("n", -1000, -1000, 1000))).toEqual([]);
    for (const bad of [1001, -1001, 1.5, Number.NaN]) expect(fields((v) => v.intRange("n", bad, -1000, 1000)), String(bad)).toEqual(["n"]);
    expect(fields((v) => v.numberRange("x", 0.5, 0, 1))).toEqual([]);
    for (const bad of [-0.1, 1.1, Number.NaN, Number.POSITIVE_INFINITY]) expect(fields((v) => v.numberRange("x", bad, 0, 1))).toEqual(["x"]);
  });

  it("converts durations and checks their range and form", () => {
    const v = new Violations();
    expect(v.duration("d", undefined, 0, 10_000)).toBeUndefined();
    expect(v.duration("d", { seconds: 2n, nanos: 500_000_000 } as never, 0, 10_000)).toBe(2_500);
    expect(v.empty).toBe(true);
    expect(v.duration("d", { seconds: 11n, nanos: 0 } as never, 0, 10_000)).toBeUndefined();
    expect(v.duration("d", { seconds: 0n, nanos: 999_000_000 } as never, 1_000, 10_000)).toBeUndefined();
    expect(v.duration("d", { seconds: 1n, nanos: -1 } as never, 0, 10_000)).toBeUndefined();
    expect(v.duration("d", { seconds: 0n, nanos: 1_000_000_000 } as never, 0, 10_000)).toBeUndefined();
    expect(v.duration("d", { seconds: -1n, nanos: 0 } as never, 0, 10_000)).toBeUndefined();
    expect(v.list).toHaveLength(5);
    expect(v.list[0]!.description).toContain("11s");
  });

  it("converts timestamps and keeps them within 1970..9999", () => {
    const v = new Violations();
    expect(v.timestamp("t", undefined)).toBeUndefined();
    expect(v.timestamp("t", { seconds: 1_700_000_000n, nanos: 123_000_000 } as never)).toBe(1_700_000_000_123);
    expect(v.timestamp("t", { seconds: 253_402_300_799n, nanos: 0 } as never)).toBe(253_402_300_799_000);
    expect(v.empty).toBe(true);
    expect(v.timestamp("t", { seconds: 253_402_300_800n, nanos: 0 } as never)).toBeUndefined();
    expect(v.timestamp("t", { seconds: -1n, nanos: 0 } as never)).toBeUndefined();
    expect(v.timestamp("t", { seconds: 1n, nanos: -1 } as never)).toBeUndefined();
    expect(v.timestamp("t", { seconds: 1n, nanos: 1_000_000_000 } as never)).toBeUndefined();
    expect(v.list).toHaveLength(4);
  });

  it("bounds JSON objects by size and depth, and refuses NaN and Infinity", () => {
    expect(fields((v) => v.jsonObject("p", { a: [1, "x", null, true, { b: 2 }] }, 1024, 32))).toEqual([]);
    expect(fields((v) => v.jsonObject("p", undefined, 1024, 32))).toEqual([]);
    expect(fields((v) => v.jsonObject("p", { s: "x".repeat(2000) }, 1024, 32))).toEqual(["p"]);
    expect(fields((v) => v.jsonObject("p", deep(32) as never, 1 << 20, 32))).toEqual([]);
    expect(fields((v) => v.jsonObject("p", deep(33) as never, 1 << 20, 32))).toEqual(["p"]);
    // Arrays count as levels too.
    expect(fields((v) => v.jsonObject("p", { a: [[[[1]]]] }, 1024, 4))).toEqual(["p"]);
    expect(fields((v) => v.jsonObject("p", { a: Number.NaN }, 1024, 32))).toEqual(["p"]);
    expect(fields((v) => v.jsonObject("p", { a: [{ b: Number.NEGATIVE_INFINITY }] }, 1024, 32))).toEqual(["p"]);
    // Size is measured in UTF-8 bytes.
    expect(fields((v) => v.jsonObject("p", { s: "é".repeat(600) }, 1024, 32))).toEqual(["p"]);
  });

  it("returns the object it checked, or {} when it could not be walked", () => {
    const v = new Violations();
    const obj = { a: 1 };
    expect(v.jsonObject("p", obj, 1024, 32)).toBe(obj);
    expect(v.jsonObject("p", deep(40) as never, 1024, 32)).toEqual({});
  });

  it("checks labels: count, key length, value length", () => {
    expect(fields((v) => v.labels("labels", { a: "b" }, 64, 63, 256))).toEqual([]);
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]));
    expect(fields((v) => v.labels("labels", many, 64, 63, 256))).toEqual(["labels"]);
    expect(fields((v) => v.labels("labels", { "": "v" }, 64, 63, 256))).toEqual(['labels[""]']);
    expect(fields((v) => v.labels("labels", { ["k".repeat(64)]: "v" }, 64, 63, 256))).toHaveLength(1);
    expect(fields((v) => v.labels("labels", { k: "v".repeat(257) }, 64, 63, 256))).toEqual(['labels["k"]']);
  });

  it("checks maximum lengths", () => {
    expect(fields((v) => v.maxChars("s", "x".repeat(10), 10))).toEqual([]);
    expect(fields((v) => v.maxChars("s", "x".repeat(11), 10))).toEqual(["s"]);
  });
});

describe("formatMs", () => {
  it("uses the largest whole unit", () => {
    expect(formatMs(0)).toBe("0s");
    expect(formatMs(1_500)).toBe("1500ms");
    expect(formatMs(2_000)).toBe("2s");
    expect(formatMs(120_000)).toBe("2m");
    expect(formatMs(7_200_000)).toBe("2h");
    expect(formatMs(86_400_000)).toBe("24h");
  });
});
