/**
 * What the runner prints and writes: one line per case, the failures and
 * (with --trace) the trace of failing cases, a JUnit XML file, and the
 * closing `N passed, N failed` line.
 */
import { readFileSync } from "node:fs";
import type { CaseResult } from "./runner.js";
import { formatEntry } from "./trace.js";

/** Case name → why it is expected to fail. */
export type KnownFailing = Map<string, string>;

/** One case name per line; `#` starts a comment (the reason, by convention). */
export function parseKnownFailing(text: string): KnownFailing {
  const known: KnownFailing = new Map();
  for (const line of text.split("\n")) {
    const hash = line.indexOf("#");
    const name = (hash >= 0 ? line.slice(0, hash) : line).trim();
    if (!name) continue;
    known.set(name, hash >= 0 ? line.slice(hash + 1).trim() : "");
  }
  return known;
}

export function readKnownFailing(file: string): KnownFailing {
  return parseKnownFailing(readFileSync(file, "utf8"));
}

export type Verdict = "pass" | "fail" | "known-failing" | "unexpected-pass";

export function verdict(r: CaseResult, known: KnownFailing): Verdict {
  const listed = known.has(r.name);
  if (r.passed) return listed ? "unexpected-pass" : "pass";
  return listed ? "known-failing" : "fail";
}

export interface Tally {
  passed: number;
  failed: number;
  knownFailing: number;
}

export function tally(results: CaseResult[], known: KnownFailing): Tally {
  const t: Tally = { passed: 0, failed: 0, knownFailing: 0 };
  for (const r of results) {
    const v = verdict(r, known);
    if (v === "pass") t.passed++;
    else if (v === "known-failing") t.knownFailing++;
    else t.failed++;
  }
  return t;
}

/** The closing line, exactly. */
export function closingLine(t: Tally): string {
  return `${t.passed} passed, ${t.failed} failed`;
}

const LABEL: Record<Verdict, string> = {
  pass: "PASS ",
  fail: "FAIL ",
  "known-failing": "XFAIL",
  "unexpected-pass": "XPASS",
};

export function formatResult(r: CaseResult, known: KnownFailing, opts: { trace?: boolean; traceAll?: boolean } = {}): string {
  const v = verdict(r, known);
  const lines = [`${LABEL[v]} ${r.name} (${(r.durationMs / 1000).toFixed(1)}s) [${r.rules.join(", ")}]`];
  if (v === "unexpected-pass") lines.push(`      listed as known failing${known.get(r.name) ? ` (${known.get(r.name)})` : ""} but passed: remove it from the list`);
  if (v === "known-failing" && known.get(r.name)) lines.push(`      known failing: ${known.get(r.name)}`);
  if (!r.passed) for (const f of r.failures) lines.push(`      ${f}`);
  if (opts.traceAll || (opts.trace && !r.passed && v !== "known-failing")) {
    lines.push("      trace:");
    for (const e of r.trace) lines.push(`        ${formatEntry(e)}`);
    const err = r.stderr.trim();
    if (err) {
      lines.push("      adapter stderr (last lines):");
      for (const l of err.split("\n").slice(-40)) lines.push(`        ${l}`);
    }
  }
  return lines.join("\n");
}

function xml(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function junitXml(results: CaseResult[], known: KnownFailing, suiteName = "baton-conformance"): string {
  const t = tally(results, known);
  const total = results.reduce((s, r) => s + r.durationMs, 0) / 1000;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xml(suiteName)}" tests="${results.length}" failures="${t.failed}" skipped="${t.knownFailing}" time="${total.toFixed(3)}">`,
    `  <testsuite name="${xml(suiteName)}" tests="${results.length}" failures="${t.failed}" errors="0" skipped="${t.knownFailing}" time="${total.toFixed(3)}">`,
  ];
  for (const r of results) {
    const group = r.name.includes("/") ? r.name.slice(0, r.name.lastIndexOf("/")) : r.name;
    const open = `    <testcase classname="${xml(group)}" name="${xml(r.name)}" time="${(r.durationMs / 1000).toFixed(3)}">`;
    const v = verdict(r, known);
    if (v === "pass") {
      out.push(open.replace(/>$/, "/>"));
      continue;
    }
    out.push(open);
    if (v === "known-failing") {
      out.push(`      <skipped message="${xml(`known failing: ${known.get(r.name) ?? ""}`)}"/>`);
    } else if (v === "unexpected-pass") {
      out.push(`      <failure message="listed as known failing but passed">${xml(known.get(r.name) ?? "")}</failure>`);
    } else {
      const body = [...r.failures, "", "trace:", ...r.trace.map(formatEntry)].join("\n");
      out.push(`      <failure message="${xml(r.failures[0] ?? "failed")}">${xml(body)}</failure>`);
      if (r.stderr.trim()) out.push(`      <system-err>${xml(r.stderr.trim().split("\n").slice(-100).join("\n"))}</system-err>`);
    }
    out.push("    </testcase>");
  }
  out.push("  </testsuite>", "</testsuites>", "");
  return out.join("\n");
}
