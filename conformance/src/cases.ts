/**
 * Cases are data: YAML files under conformance/cases/, each one
 * baton.conformance.v1.Case in the protobuf JSON mapping. fromJson is the
 * schema check (unknown fields, wrong types and unknown oneof members are
 * errors); validateCase adds what the .proto cannot say.
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { create, fromJson, type JsonValue } from "@bufbuild/protobuf";
import { parse as parseYaml } from "yaml";
import {
  CaseSchema,
  WorkerSettingsSchema,
  type Case,
  type Check,
  type Match,
  type WorkerSettings,
} from "../../gen/ts/baton/conformance/v1/conformance_pb.js";
import { SERVER_DEFAULTS, type ServerConfig } from "./reference-server/server.js";

export const CASES_DIR = resolve(import.meta.dirname, "../cases");

export interface LoadedCase {
  /** e.g. `lease/heartbeat-before-expiry` */
  name: string;
  /** The YAML file. */
  file: string;
  spec: Case;
}

export class CaseError extends Error {
  override name = "CaseError";
}

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await yamlFiles(p)));
    else if (entry.name.endsWith(".yaml") || entry.name.endsWith(".yml")) out.push(p);
  }
  return out;
}

/** Every case under `dir`, sorted by name; throws CaseError listing every bad file. */
export async function loadCases(dir = CASES_DIR, knownRules?: ReadonlySet<string>): Promise<LoadedCase[]> {
  const files = (await yamlFiles(dir)).sort();
  const cases: LoadedCase[] = [];
  const problems: string[] = [];
  for (const file of files) {
    const name = relative(dir, file).split(sep).join("/").replace(/\.ya?ml$/, "");
    try {
      cases.push(parseCase(await readFile(file, "utf8"), name, file, knownRules));
    } catch (err) {
      problems.push(`${relative(process.cwd(), file)}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (problems.length) throw new CaseError(`invalid cases:\n  ${problems.join("\n  ")}`);
  cases.sort((a, b) => a.name.localeCompare(b.name));
  return cases;
}

export function parseCase(text: string, name: string, file: string, knownRules?: ReadonlySet<string>): LoadedCase {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new CaseError(`not YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new CaseError("a case is a YAML mapping");
  let spec: Case;
  try {
    spec = fromJson(CaseSchema, raw as JsonValue);
  } catch (err) {
    throw new CaseError(`does not match baton.conformance.v1.Case: ${err instanceof Error ? err.message : String(err)}`);
  }
  const problems = validateCase(spec, name, knownRules);
  if (problems.length) throw new CaseError(problems.join("; "));
  return { name, file, spec };
}

const RULE_ID = /^[A-Z]\d+$/;

/** What the schema cannot say about a case. */
export function validateCase(c: Case, name: string, knownRules?: ReadonlySet<string>): string[] {
  const p: string[] = [];
  if (c.name && c.name !== name) p.push(`name is "${c.name}" but the file says "${name}"`);
  if (!/^[a-z0-9-]+(\/[a-z0-9-]+)+$/.test(name)) p.push(`name "${name}" must be hierarchical: lower-case words with dashes, separated by /`);
  if (!c.description) p.push("description is required");
  if (c.rules.length === 0) p.push("rules: cite at least one rule");
  for (const r of c.rules) {
    if (!RULE_ID.test(r)) p.push(`rules: "${r}" is not a rule id like B1`);
    else if (knownRules && !knownRules.has(r)) p.push(`rules: ${r} is not a rule in docs/PROTOCOL.md`);
  }
  if (c.handlers.length === 0) p.push("handlers: the worker needs at least one handler");
  const types = new Set<string>();
  for (const h of c.handlers) {
    if (!h.taskType) p.push("handlers: task_type is required");
    if (types.has(h.taskType)) p.push(`handlers: ${h.taskType} twice`);
    types.add(h.taskType);
  }
  if (c.checks.length === 0) p.push("checks: at least one");
  c.steps.forEach((s, i) => {
    const at = `steps[${i}]`;
    const a = s.action;
    switch (a.case) {
      case undefined:
        p.push(`${at}: no action`);
        break;
      case "wait":
        checkMatch(a.value.until, `${at}.wait.until`, p);
        break;
      case "assign":
        if (a.value.tasks.length === 0) p.push(`${at}.assign: tasks is required`);
        if (!a.value.type) p.push(`${at}.assign: type is required`);
        break;
      case "cancel":
        if (!a.value.task) p.push(`${at}.cancel: task is required`);
        break;
      case "answer": {
        const v = a.value;
        const ways = [v.lose, v.delayMs > 0, v.reject !== ""].filter(Boolean).length;
        if (!v.task) p.push(`${at}.answer: task is required`);
        if (ways !== 1) p.push(`${at}.answer: set exactly one of lose, delay_ms, reject`);
        break;
      }
      case "revoke":
        if (!a.value) p.push(`${at}.revoke: a task name is required`);
        break;
      default:
        break;
    }
  });
  c.checks.forEach((ch, i) => validateCheck(ch, `checks[${i}]`, c.rules, p));
  for (const r of c.rules) if (!c.checks.some((ch) => ch.rule === r)) p.push(`rules: ${r} is cited but no check names it`);
  return p;
}

function checkMatch(m: Match | undefined, at: string, p: string[]): void {
  if (!m || m.kind.case === undefined) p.push(`${at}: a match (e.g. {result: {task: t1}}) is required`);
  else if (m.kind.value.lease && !m.kind.value.task) p.push(`${at}: lease needs task`);
}

function validateCheck(ch: Check, at: string, rules: string[], p: string[]): void {
  if (!ch.rule) p.push(`${at}: rule is required`);
  else if (!rules.includes(ch.rule)) p.push(`${at}: rule ${ch.rule} is not among the case's rules`);
  if (!ch.says) p.push(`${at}: says is required`);
  const c = ch.check;
  const win = (w: { after?: Match; before?: Match } | undefined, where: string) => {
    if (w?.after) checkMatch(w.after, `${where}.window.after`, p);
    if (w?.before) checkMatch(w.before, `${where}.window.before`, p);
  };
  switch (c.case) {
    case undefined:
      p.push(`${at}: no check`);
      break;
    case "count":
      checkMatch(c.value.match, `${at}.count.match`, p);
      win(c.value.window, `${at}.count`);
      break;
    case "order":
      checkMatch(c.value.first, `${at}.order.first`, p);
      checkMatch(c.value.later, `${at}.order.later`, p);
      break;
    case "within":
      checkMatch(c.value.after, `${at}.within.after`, p);
      checkMatch(c.value.expect, `${at}.within.expect`, p);
      if (c.value.maxMs <= 0) p.push(`${at}.within: max_ms is required`);
      break;
    case "heartbeats":
      win(c.value.window, `${at}.heartbeats`);
      break;
    case "leaseAlive":
    case "result":
    case "resend":
      if (!c.value.task) p.push(`${at}.${c.case}: task is required`);
      break;
    case "concurrency":
      if (c.value.max <= 0) p.push(`${at}.concurrency: max is required`);
      break;
    default:
      break;
  }
}

export const WORKER_DEFAULTS = {
  workerId: "conformance-worker",
  queues: ["conformance"],
  slots: 1,
  stopGraceMs: 2000,
};

export function resolveWorker(c: Case): WorkerSettings {
  const w = c.worker;
  return create(WorkerSettingsSchema, {
    workerId: w?.workerId || WORKER_DEFAULTS.workerId,
    instanceId: w?.instanceId ?? "",
    namespace: w?.namespace ?? "",
    queues: w?.queues.length ? w.queues : WORKER_DEFAULTS.queues,
    slots: w?.slots || WORKER_DEFAULTS.slots,
    stopGraceMs: w?.stopGraceMs || WORKER_DEFAULTS.stopGraceMs,
  });
}

export function resolveServer(c: Case): ServerConfig {
  const s = c.server;
  return {
    heartbeatIntervalMs: s?.heartbeatIntervalMs || SERVER_DEFAULTS.heartbeatIntervalMs,
    cancelGraceMs: s?.cancelGraceMs || SERVER_DEFAULTS.cancelGraceMs,
    features: s?.features.length ? s.features : SERVER_DEFAULTS.features,
    leaseTtlMs: s?.leaseTtlMs || SERVER_DEFAULTS.leaseTtlMs,
    welcomeDelayMs: s?.welcomeDelayMs || SERVER_DEFAULTS.welcomeDelayMs,
  };
}
