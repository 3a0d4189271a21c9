import { describe, expect, it } from "vitest";
import { conditionHolds, jsonEqual, parsePath, parseSelector, valueAt, type ConditionDef } from "./workflow-path.js";

describe("workflow paths, selectors and conditions", () => {
  it("parses paths and refuses anything else", () => {
    expect(parsePath("$")).toEqual([]);
    expect(parsePath("$.a.b_c[2].d-e")).toEqual(["a", "b_c", 2, "d-e"]);
    expect(parsePath('$["odd key"].x')).toEqual(["odd key", "x"]);
    for (const bad of ["a.b", "$.", "$..a", "$.a[", "$.a[x]", "$.a b", "$[-1]", "$.a.constructor()"]) {
      expect(parsePath(bad), bad).toHaveProperty("error");
    }
  });

  it("reads values without touching prototypes", () => {
    const v = { a: [{ b: 1 }, { b: null }], s: "x" };
    expect(valueAt(v, ["a", 0, "b"])).toBe(1);
    expect(valueAt(v, ["a", 1, "b"])).toBeNull();
    expect(valueAt(v, ["a", 5, "b"])).toBeUndefined();
    expect(valueAt(v, ["s", "length"])).toBeUndefined();
    expect(valueAt(v, ["constructor"])).toBeUndefined();
    expect(valueAt(v, ["a", "0"])).toBeUndefined();
  });

  it("parses selectors of the run input and of step outputs", () => {
    expect(parseSelector("$.input")).toEqual({ source: "input", path: [] });
    expect(parseSelector("$.input.order.id")).toEqual({ source: "input", path: ["order", "id"] });
    expect(parseSelector("$.steps.fetch.output.items[0]")).toEqual({ source: "step", step: "fetch", path: ["items", 0] });
    expect(parseSelector("$.steps.fetch")).toHaveProperty("error");
    expect(parseSelector("$.env.HOME")).toHaveProperty("error");
  });

  it("evaluates conditions by JSON value", () => {
    const c = (op: ConditionDef["op"], value?: ConditionDef["value"], path: (string | number)[] = ["s"]): ConditionDef => ({ pathText: "", path, op, value });
    const out = { s: "ok", n: 2, o: { a: 1, b: [1, 2] }, z: null };
    expect(conditionHolds(c("equals", "ok"), out)).toBe(true);
    expect(conditionHolds(c("equals", 2, ["n"]), out)).toBe(true);
    expect(conditionHolds(c("equals", { b: [1, 2], a: 1 }, ["o"]), out)).toBe(true);
    expect(conditionHolds(c("equals", "ok", ["missing"]), out)).toBe(false);
    expect(conditionHolds(c("not_equals", "ok", ["missing"]), out)).toBe(true);
    expect(conditionHolds(c("in", ["a", "ok"]), out)).toBe(true);
    expect(conditionHolds(c("not_in", ["a", "ok"]), out)).toBe(false);
    expect(conditionHolds(c("exists", undefined, ["z"]), out)).toBe(false);
    expect(conditionHolds(c("not_exists", undefined, ["z"]), out)).toBe(true);
    expect(conditionHolds(c("exists", undefined, ["o", "b", 1]), out)).toBe(true);
    expect(jsonEqual([1, { a: null }], [1, { a: null }])).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
  });
});
