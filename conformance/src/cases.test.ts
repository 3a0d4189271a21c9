import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { CASES_DIR, loadCases, parseCase } from "./cases.js";

const root = resolve(import.meta.dirname, "../..");

/** The rule ids docs/PROTOCOL.md lists (`- **B1** — ...`). */
async function documentedRules(): Promise<Set<string>> {
  const doc = await readFile(resolve(root, "docs/PROTOCOL.md"), "utf8");
  return new Set([...doc.matchAll(/^- \*\*([A-Z]\d+)\*\*/gm)].map((m) => m[1]!));
}

const minimal = `
description: d
rules: [B1]
handlers: [{taskType: work}]
checks:
  - rule: B1
    says: s
    heartbeats: {}
`;

describe("conformance cases", () => {
  it("all load, validate and cite only rules that docs/PROTOCOL.md states", async () => {
    const rules = await documentedRules();
    const cases = await loadCases(CASES_DIR, rules);
    expect(cases.length).toBeGreaterThanOrEqual(20);
    for (const c of cases) {
      for (const r of c.spec.rules) expect(rules.has(r), `${c.name} cites ${r}, which docs/PROTOCOL.md does not state`).toBe(true);
      for (const ch of c.spec.checks) expect(rules.has(ch.rule), `${c.name}: a check names ${ch.rule}`).toBe(true);
    }
  });

  it("cover every area the suite is about", async () => {
    const cases = await loadCases();
    const groups = new Set(cases.map((c) => c.name.split("/")[0]));
    for (const g of ["hello", "slots", "heartbeat", "lease", "result", "failure", "cancel", "goaway", "drain", "reconnect"]) expect(groups).toContain(g);
    const cited = new Set(cases.flatMap((c) => c.spec.rules));
    for (const r of ["H1", "H2", "H3", "K3", "B1", "B2", "L2", "E1", "R1", "R3", "R4", "R5", "X2", "G1", "G2", "N1", "N2", "N3"]) expect(cited).toContain(r);
  });

  it("are all listed in docs/CONFORMANCE.md with their rules", async () => {
    const doc = await readFile(resolve(root, "docs/CONFORMANCE.md"), "utf8");
    for (const c of await loadCases()) {
      expect(doc, `docs/CONFORMANCE.md does not list ${c.name}`).toContain(`| \`${c.name}\` | ${c.spec.rules.join(", ")} |`);
    }
  });

  it("accepts a minimal case", () => {
    expect(parseCase(minimal, "area/minimal", "x.yaml").spec.rules).toEqual(["B1"]);
  });

  it("rejects what the schema does not know", () => {
    expect(() => parseCase(`${minimal}\nsurprise: 1\n`, "area/x", "x.yaml")).toThrow(/Case/);
    expect(() => parseCase(minimal.replace("heartbeats: {}", "heartbeats: {maxGap: 3}"), "area/x", "x.yaml")).toThrow(/maxGap/);
    expect(() => parseCase(minimal.replace("taskType: work", "task_type: work, sleep: 1"), "area/x", "x.yaml")).toThrow();
  });

  it("rejects a rule id that docs/PROTOCOL.md does not state", async () => {
    const rules = await documentedRules();
    const bad = minimal.replaceAll("B1", "B99");
    expect(() => parseCase(bad, "area/x", "x.yaml", rules)).toThrow(/B99 is not a rule in docs\/PROTOCOL.md/);
  });

  it("rejects checks on rules the case does not cite, and cited rules nothing checks", () => {
    expect(() => parseCase(minimal.replace("  - rule: B1", "  - rule: B2"), "area/x", "x.yaml")).toThrow(/B2 is not among the case's rules/);
    expect(() => parseCase(minimal.replace("rules: [B1]", "rules: [B1, X2]"), "area/x", "x.yaml")).toThrow(/X2 is cited but no check names it/);
  });

  it("rejects a name that is not hierarchical or does not match the file", () => {
    expect(() => parseCase(minimal, "flat", "x.yaml")).toThrow(/hierarchical/);
    expect(() => parseCase(`name: area/other\n${minimal}`, "area/x", "x.yaml")).toThrow(/name is "area\/other"/);
  });

  it("rejects ambiguous steps", () => {
    const withStep = (step: string) => minimal.replace("checks:", `steps:\n  - ${step}\nchecks:`);
    expect(() => parseCase(withStep("answer: {task: t1, lose: true, reject: LEASE_STALE}"), "area/x", "x.yaml")).toThrow(/exactly one/);
    expect(() => parseCase(withStep("wait: {}"), "area/x", "x.yaml")).toThrow(/a match/);
    expect(() => parseCase(withStep("assign: {tasks: [t1]}"), "area/x", "x.yaml")).toThrow(/type is required/);
  });
});
