/**
 * baton-conformance: runs the worker conformance suite against an adapter.
 *
 *   npx baton-conformance --worker "npx tsx sdk/ts/conformance/adapter.ts"
 *   npx tsx conformance/src/cli.ts --worker "<command>" --run 'lease/' --trace
 *
 * Exits 0 when every case passed (known-failing ones aside), 1 otherwise, 2 on
 * bad usage or invalid cases. The last line of output is `N passed, N failed`.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { processLauncher } from "./adapter.js";
import { CASES_DIR, CaseError, loadCases } from "./cases.js";
import { closingLine, formatResult, junitXml, readKnownFailing, tally, type KnownFailing } from "./report.js";
import { readRules } from "./rules.js";
import { runSuite } from "./runner.js";

const PROTO_RULES_DIR = resolve(import.meta.dirname, "../../proto/baton/v1");

function regex(value: string): RegExp {
  try {
    return new RegExp(value);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("must be a positive number");
  return n;
}

const program = new Command()
  .name("baton-conformance")
  .description("Run Baton's worker conformance suite against a worker adapter (docs/CONFORMANCE.md).")
  .option("--worker <command>", "the adapter command, run through the shell once per case")
  .option("--cases <dir>", "the case directory", CASES_DIR)
  .option("--run <regex>", "only cases whose name matches", regex)
  .option("--skip <regex>", "leave out cases whose name matches", regex)
  .option("--known-failing <file>", "case names expected to fail, one per line (# comments); a listed case that passes fails the run")
  .option("--trace", "print the recorded trace (and the adapter's stderr) of failing cases")
  .option("--trace-all", "print the trace of every case, passing ones too")
  .option("--junit <file>", "write a JUnit XML report")
  .option("--parallel <n>", "cases run at once", positive, 3)
  .option("--time-scale <x>", "multiply the runner's waits and time limits (slow machines)", positive, 1)
  .option("--list", "list the cases (after --run/--skip) and exit")
  .showHelpAfterError();

program.parse();
const opts = program.opts<{
  worker?: string;
  cases: string;
  run?: RegExp;
  skip?: RegExp;
  knownFailing?: string;
  trace?: boolean;
  traceAll?: boolean;
  junit?: string;
  parallel: number;
  timeScale: number;
  list?: boolean;
}>();

async function main(): Promise<number> {
  const knownRules = existsSync(PROTO_RULES_DIR) ? new Set((await readRules(PROTO_RULES_DIR)).map((r) => r.id)) : undefined;
  let cases;
  try {
    cases = await loadCases(resolve(opts.cases), knownRules);
  } catch (err) {
    if (err instanceof CaseError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  cases = cases.filter((c) => (!opts.run || opts.run.test(c.name)) && (!opts.skip || !opts.skip.test(c.name)));
  if (opts.list) {
    for (const c of cases) console.log(`${c.name}  [${c.spec.rules.join(", ")}]`);
    console.log(`${cases.length} cases`);
    return 0;
  }
  if (!opts.worker) {
    console.error("baton-conformance: --worker <command> is required");
    return 2;
  }
  let known: KnownFailing = new Map();
  if (opts.knownFailing) {
    try {
      known = readKnownFailing(opts.knownFailing);
    } catch (err) {
      console.error(`baton-conformance: cannot read --known-failing ${opts.knownFailing}: ${err instanceof Error ? err.message : String(err)}`);
      return 2;
    }
    const names = new Set(cases.map((c) => c.name));
    const all = new Set((await loadCases(resolve(opts.cases), knownRules)).map((c) => c.name));
    for (const name of known.keys()) {
      if (!all.has(name)) console.warn(`warning: ${opts.knownFailing} lists "${name}", which is not a case`);
      else if (!names.has(name)) known.delete(name);
    }
  }

  console.log(`baton-conformance: ${cases.length} cases against: ${opts.worker}`);
  const results = await runSuite(cases, processLauncher(opts.worker), {
    parallel: opts.parallel,
    timeScale: opts.timeScale,
    onResult: (r) => console.log(formatResult(r, known, { trace: opts.trace, traceAll: opts.traceAll })),
  });
  if (opts.junit) {
    await mkdir(dirname(resolve(opts.junit)), { recursive: true });
    await writeFile(opts.junit, junitXml(results, known));
  }
  const t = tally(results, known);
  if (t.knownFailing > 0) console.log(`(${t.knownFailing} known failing, listed in ${opts.knownFailing}; not counted)`);
  console.log(closingLine(t));
  return t.failed > 0 ? 1 : 0;
}

const code = await main().catch((err: unknown) => {
  console.error(err);
  return 2;
});
// Every case has closed its server and its adapter; exit now rather than wait
// for connections a misbehaving adapter may have left half-open.
process.exit(code);
