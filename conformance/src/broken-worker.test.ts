// The suite tests itself: the deliberately breakable worker passes every case
// without flags, and with each flag fails exactly the cases that check the rule
// the flag breaks. The worker runs in-process (the adapter protocol over
// in-memory pipes) so the six full runs stay quick.
import { PassThrough } from "node:stream";
import { resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { FLAG_NAMES, runBrokenWorker, type BrokenFlags } from "../broken-worker/worker.js";
import type { AdapterLauncher } from "./adapter.js";
import { loadCases, type LoadedCase } from "./cases.js";
import { readRules } from "./rules.js";
import { runSuite, type CaseResult } from "./runner.js";

const root = resolve(import.meta.dirname, "../..");

function inProcess(flags: BrokenFlags): AdapterLauncher {
  return () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const exited = runBrokenWorker(input, output, flags).then(
      () => ({ code: 0, signal: null }),
      () => ({ code: 1, signal: null }),
    );
    void exited.then(() => output.end());
    return { input, output, exited, kill: () => input.destroy(), stderr: () => "" };
  };
}

const NONE: BrokenFlags = { neverHeartbeat: false, completeAfterCancel: false, noBackoff: false, exceedSlots: false, staleResend: false };

/** Each flag, the rules it breaks, and the cases that must fail because of it. */
const EXPECTED: { flag: keyof BrokenFlags; rules: string[]; failing: string[] }[] = [
  {
    flag: "neverHeartbeat",
    rules: ["B1", "L2"],
    failing: [
      "goaway/running-task-finishes",
      "heartbeat/idle",
      "heartbeat/interval-while-running",
      "heartbeat/lists-every-running-lease",
      "lease/heartbeat-before-expiry",
      "lease/stale-heartbeat-lease-lost",
      "reconnect/resume-lease",
    ],
  },
  {
    flag: "completeAfterCancel",
    rules: ["B2", "X2"],
    failing: [
      "cancel/completion-crosses-cancel",
      "cancel/handler-ignores-cancel",
      "cancel/queued-task",
      "cancel/report-within-grace",
      "lease/lost-lease-ignored-by-handler",
      "lease/lost-lease-stops-handler",
      "lease/stale-heartbeat-lease-lost",
      "result/lease-lost-while-unacked",
      "result/new-lease-after-reassign",
    ],
  },
  { flag: "noBackoff", rules: ["N1"], failing: ["reconnect/after-drop", "reconnect/backoff"] },
  { flag: "exceedSlots", rules: ["K3"], failing: ["cancel/queued-task", "slots/never-exceed-slots"] },
  { flag: "staleResend", rules: ["R4"], failing: ["result/refused-result-not-resent"] },
];

const failed = (results: CaseResult[]) => results.filter((r) => !r.passed).map((r) => r.name).sort();

function explain(results: CaseResult[]): string {
  return results
    .filter((r) => !r.passed)
    .map((r) => `${r.name}:\n  ${r.failures.join("\n  ")}`)
    .join("\n");
}

// Timing checks on a loaded machine can flake once; a real mismatch fails twice.
describe("the broken worker", { timeout: 240_000, retry: 1 }, () => {
  let cases: LoadedCase[];
  beforeAll(async () => {
    cases = await loadCases(undefined, new Set((await readRules(resolve(root, "proto/baton/v1"))).map((r) => r.id)));
  });

  it("passes every case without flags", async () => {
    const results = await runSuite(cases, inProcess(NONE), { parallel: 6 });
    expect(failed(results), explain(results)).toEqual([]);
  });

  for (const { flag, rules, failing } of EXPECTED) {
    it(`${FLAG_NAMES[flag]} fails exactly the cases that check ${rules.join(" or ")}`, async () => {
      const byName = new Map(cases.map((c) => [c.name, c]));
      for (const name of failing) {
        expect(byName.has(name), `${name} is not a case`).toBe(true);
        // Each expected failure is a case about a rule the flag breaks.
        expect(byName.get(name)!.spec.rules.some((r) => rules.includes(r)), `${name} cites none of ${rules.join(", ")}`).toBe(true);
      }
      const results = await runSuite(cases, inProcess({ ...NONE, [flag]: true }), { parallel: 6 });
      expect(failed(results), explain(results)).toEqual([...failing].sort());
      // ...and fails them on checks of those rules.
      for (const r of results.filter((x) => !x.passed)) {
        const onRule = r.failures.some((f) => rules.some((rule) => f.startsWith(`[${rule}]`)) || f.startsWith("step "));
        expect(onRule, `${r.name} failed, but not on ${rules.join("/")}:\n  ${r.failures.join("\n  ")}`).toBe(true);
      }
    });
  }
});
