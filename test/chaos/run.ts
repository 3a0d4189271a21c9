// `npm run chaos`: the long chaos run (not part of `npm test`).
//
//   npm run chaos -- [--seed N] [--tasks 10000] [--ts 12] [--python 4] [--go 4] [--rounds 3] [--keep-logs]
//
// Prints progress and the report; exits 1 when an invariant was violated. The
// report and the logs (worker execution logs, replica logs) stay in the printed
// directory when something failed or with --keep-logs. See docs/RELIABILITY.md.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { formatReport, runChaos } from "./harness.js";

const { values } = parseArgs({
  options: {
    seed: { type: "string" },
    tasks: { type: "string", default: "10000" },
    ts: { type: "string", default: "12" },
    python: { type: "string", default: "4" },
    go: { type: "string", default: "4" },
    rounds: { type: "string", default: "3" },
    "create-over": { type: "string", default: "90" },
    "keep-logs": { type: "boolean", default: false },
  },
});
const seed = values.seed ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const tasks = Number(values.tasks);
console.log(`chaos: seed ${seed} (replay with --seed ${seed})`);
const report = await runChaos({
  seed,
  tasks,
  fleet: { ts: Number(values.ts), python: Number(values.python), go: Number(values.go) },
  slots: 4,
  createOverMs: Number(values["create-over"]) * 1000,
  faults: Number(values.rounds),
  gapMs: [1_000, 4_000],
  handlerMs: [20, 400],
  slowShare: 0.03,
  slowMs: [1_000, 3_000],
  failShare: 0.05,
  heartbeatTimeoutS: 2,
  deadlineMs: 20 * 60_000,
  keepLogs: values["keep-logs"],
  progress: (line) => console.log(line),
});
console.log(formatReport(report));
if (report.violations.length > 0 || values["keep-logs"]) {
  writeFileSync(join(report.dir, "report.json"), JSON.stringify(report, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2));
  console.log(`report and logs: ${report.dir}`);
}
process.exit(report.violations.length > 0 ? 1 : 0);
