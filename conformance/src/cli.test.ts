// The CLI end to end, with the broken worker as the adapter: the closing line,
// exit codes, --known-failing in both directions, --run/--skip and --junit.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { junitXml, parseKnownFailing, tally, verdict } from "./report.js";
import type { CaseResult } from "./runner.js";

const root = resolve(import.meta.dirname, "../..");
const CLI = ["--import", "tsx", "conformance/src/cli.ts"];
const BROKEN = "node --import tsx conformance/broken-worker/worker.ts";

function cli(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile("node", [...CLI, ...args], { cwd: root, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      done({ code, out: `${stdout}${stderr}` });
    });
  });
}

const lastLine = (out: string) => out.trimEnd().split("\n").at(-1);

describe("baton-conformance", { timeout: 120_000 }, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "baton-conformance-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("fails a run with a failing case, closes with `N passed, N failed`, writes JUnit", async () => {
    const junit = join(dir, "junit.xml");
    const { code, out } = await cli(["--worker", `${BROKEN} --no-backoff`, "--run", "^(reconnect/after-drop|failure/retryable)$", "--junit", junit, "--trace"]);
    expect(lastLine(out)).toBe("1 passed, 1 failed");
    expect(code).toBe(1);
    expect(out).toMatch(/^FAIL  reconnect\/after-drop .*\[N1\]$/m);
    expect(out).toMatch(/\[N1\] each reconnect waits at least 100ms: reconnect #1 came \d+ms after/);
    expect(out).toMatch(/trace:\n/);
    expect(out).toMatch(/s1 worker → stream_open/);
    const xml = await readFile(junit, "utf8");
    expect(xml).toMatch(/<testsuite name="baton-conformance" tests="2" failures="1"/);
    expect(xml).toMatch(/<testcase classname="reconnect" name="reconnect\/after-drop"[^>]*>\s*<failure message=/);
  });

  it("--known-failing: a listed failure does not fail the run; a listed case that passes does", async () => {
    const known = join(dir, "known.txt");
    await writeFile(known, "# known failures\nreconnect/after-drop  # this worker reconnects at once\n");
    const ok = await cli(["--worker", `${BROKEN} --no-backoff`, "--run", "^(reconnect/after-drop|failure/retryable)$", "--known-failing", known]);
    expect(ok.out).toMatch(/^XFAIL reconnect\/after-drop/m);
    expect(lastLine(ok.out)).toBe("1 passed, 0 failed");
    expect(ok.code).toBe(0);

    const fixed = await cli(["--worker", BROKEN, "--run", "^reconnect/after-drop$", "--known-failing", known]);
    expect(fixed.out).toMatch(/^XPASS reconnect\/after-drop/m);
    expect(lastLine(fixed.out)).toBe("0 passed, 1 failed");
    expect(fixed.code).toBe(1);
  });

  it("--skip and --list", async () => {
    const { code, out } = await cli(["--list", "--run", "^reconnect/", "--skip", "backoff"]);
    expect(code).toBe(0);
    expect(out).toMatch(/^reconnect\/after-drop {2}\[N1\]$/m);
    expect(out).not.toMatch(/reconnect\/backoff/);
  });

  it("a worker command that does not exist fails every case", async () => {
    const { code, out } = await cli(["--worker", "/nonexistent/adapter", "--run", "^failure/retryable$", "--time-scale", "0.2"]);
    expect(code).toBe(1);
    expect(lastLine(out)).toBe("0 passed, 1 failed");
  });
});

describe("report", () => {
  const result = (name: string, passed: boolean): CaseResult => ({ name, rules: ["B1"], passed, failures: passed ? [] : ["[B1] x: y"], durationMs: 10, trace: [], stderr: "" });

  it("reads known-failing lists with comments", () => {
    const k = parseKnownFailing("# header\n\na/b   # why not\nc/d\n");
    expect([...k]).toEqual([
      ["a/b", "why not"],
      ["c/d", ""],
    ]);
  });

  it("counts known failures in neither column and unexpected passes as failures", () => {
    const known = parseKnownFailing("a/known\na/fixed\n");
    const results = [result("a/pass", true), result("a/fail", false), result("a/known", false), result("a/fixed", true)];
    expect(results.map((r) => verdict(r, known))).toEqual(["pass", "fail", "known-failing", "unexpected-pass"]);
    expect(tally(results, known)).toEqual({ passed: 1, failed: 2, knownFailing: 1 });
    const xml = junitXml(results, known);
    expect(xml).toMatch(/tests="4" failures="2" errors="0" skipped="1"/);
    expect(xml).toMatch(/<skipped message="known failing: "\/>/);
  });
});
