import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseRules, readRules, renderProtocolDoc, RULE_GROUPS } from "./rules.js";

const root = resolve(import.meta.dirname, "../..");

describe("protocol rules", () => {
  it("parses a rule with continuation lines and stops at the next non-rule line", () => {
    const rules = parseRules(
      ["// L1: A worker MUST heartbeat", "//     before expiry.", "// Not a rule.", "// L2: Second."].join("\n"),
      "x.proto",
    );
    expect(rules).toEqual([
      { id: "L1", text: "A worker MUST heartbeat before expiry.", file: "x.proto" },
      { id: "L2", text: "Second.", file: "x.proto" },
    ]);
  });

  it("keeps docs/PROTOCOL.md in sync with the .proto files (run `npm run protocol-doc`)", async () => {
    const rules = await readRules(resolve(root, "proto/baton/v1"));
    const doc = await readFile(resolve(root, "docs/PROTOCOL.md"), "utf8");
    const inDoc = [...doc.matchAll(/^- \*\*([A-Z]\d+)\*\*/gm)].map((m) => m[1]).sort();
    expect(inDoc).toEqual(rules.map((r) => r.id).sort());
    expect(doc).toBe(renderProtocolDoc(rules));
  });

  it("states at least 40 rules, each in a known group", async () => {
    const rules = await readRules(resolve(root, "proto/baton/v1"));
    expect(rules.length).toBeGreaterThanOrEqual(40);
    for (const r of rules) expect(RULE_GROUPS.map((g) => g.prefix)).toContain(r.id[0]);
  });
});
