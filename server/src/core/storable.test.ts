import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CreateTaskRequestSchema } from "../../../gen/ts/baton/v1/task_service_pb.js";
import { storableJson, storableMessage, unstorableReason } from "./storable.js";

describe("storable values (S5)", () => {
  it("accepts well-formed text, paired surrogates and non-characters", () => {
    for (const s of ["", "plain", "😀", "\uFFFE\uFFFF", "\uFFFD", "\uD83D\uDE00 ok"]) expect(unstorableReason(s)).toBeUndefined();
  });

  it("refuses NUL and unpaired surrogates, saying where", () => {
    expect(unstorableReason("ab\u0000")).toMatch(/NUL.*character 2/);
    expect(unstorableReason("\uD800x")).toMatch(/U\+D800.*character 0/);
    expect(unstorableReason("x\uDC00")).toMatch(/U\+DC00.*character 1/);
    expect(unstorableReason("\uD800")).toBeDefined();
  });

  it("names JSON paths, keys included", () => {
    expect(storableJson("payload", { items: [1, "ok", { name: "\u0000" }], ["k\u0000"]: { v: "\uD800" } }).map((v) => v.field)).toEqual([
      "payload.items[2].name",
      'payload."k\\u0000"',
      'payload."k\\u0000".v',
    ]);
  });

  it("walks every string of a message: scalars, maps, Struct fields", () => {
    const m = create(CreateTaskRequestSchema, { queue: "q\u0000", labels: { a: "\u0000" }, payload: { x: ["\u0000"] } });
    expect(storableMessage(CreateTaskRequestSchema, m).map((v) => v.field)).toEqual(["queue", "payload.x[0]", 'labels["a"]']);
  });
});
