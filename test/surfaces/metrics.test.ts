// GET /metrics: Prometheus text that parses, with counters that move when tasks
// are claimed, completed, failed, retried, dead-lettered and expire.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (0.0.4) strictly: any line it does not know fails the test. */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][\w:]*) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === "TYPE") {
        expect(["counter", "gauge", "histogram", "summary", "untyped"]).toContain(meta[3]);
        types.set(meta[2]!, meta[3]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)",?/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    const value = m[3] === "+Inf" ? Infinity : Number(m[3]);
    if (Number.isNaN(value)) throw new Error(`bad value in ${line}`);
    const family = m[1]!.replace(/_(bucket|sum|count)$/, "");
    expect(types.has(m[1]!) || types.get(family) === "histogram", `sample ${m[1]} has no TYPE`).toBe(true);
    samples.push({ name: m[1]!, labels, value });
  }
  return samples;
}

describe.each(backends)("metrics on %s", (backend) => {
  let baton: TestBaton;
  const scrape = async () => {
    const res = await fetch(`${baton.server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    return parseMetrics(await res.text());
  };
  const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);

  beforeAll(async () => {
    baton = await startTestBaton(backend, { sweepIntervalMs: 100 });
  });
  afterAll(async () => baton?.close());

  it("parses and names every family", async () => {
    const names = new Set((await scrape()).map((s) => s.name));
    for (const name of ["baton_build_info", "baton_workers_connected"]) expect(names).toContain(name);
  });

  it("moves the counters and histograms when a task completes", async () => {
    const queue = `metrics-${backend}`;
    const q = { queue };
    const before = await scrape();
    const { task } = await baton.tasks.createTask({ queue, type: "t" });
    const claim = await baton.tasks.claimTasks({ queue, workerId: "w" });
    await baton.tasks.completeTask({ taskId: task!.id, leaseId: claim.tasks[0]!.lease!.leaseId, result: { ok: true } });
    // The task gauge is cached for about a second.
    await new Promise((r) => setTimeout(r, 1_100));
    const after = await scrape();

    const delta = (name: string, labels: Record<string, string> = q) => value(after, name, labels) - value(before, name, labels);
    expect(delta("baton_tasks_created_total")).toBe(1);
    expect(delta("baton_tasks_claimed_total")).toBe(1);
    expect(delta("baton_tasks_completed_total")).toBe(1);
    expect(delta("baton_task_create_to_start_seconds_count")).toBe(1);
    expect(delta("baton_task_run_seconds_count", { queue, outcome: "completed" })).toBe(1);
    expect(value(after, "baton_tasks", { queue, state: "completed" })).toBe(1);
    expect(value(after, "baton_tasks", { queue, state: "pending" })).toBe(0);
    expect(delta("baton_rpc_requests_total", { procedure: "baton.v1.TaskService/CompleteTask", code: "ok" })).toBe(1);
  });

  it("counts failures, retries, dead letters and lease expiries", async () => {
    const queue = `metrics-fail-${backend}`;
    const q = { queue };
    const before = await scrape();

    // A retryable failure, then a fatal one: one retry, one dead letter.
    const { task } = await baton.tasks.createTask({ queue, type: "t", retryPolicy: { initialBackoff: { seconds: 0n } } });
    let lease = (await baton.tasks.claimTasks({ queue, workerId: "w" })).tasks[0]!.lease!;
    await baton.tasks.failTask({ taskId: task!.id, leaseId: lease.leaseId, error: { type: "flaky" } });
    lease = (await baton.tasks.claimTasks({ queue, workerId: "w", wait: { seconds: 5n } })).tasks[0]!.lease!;
    await baton.tasks.failTask({ taskId: task!.id, leaseId: lease.leaseId, error: { type: "fatal", nonRetryable: true } });

    // A lease that runs out without a heartbeat.
    await baton.tasks.createTask({ queue, type: "t", timeouts: { heartbeatTimeout: { seconds: 1n } } });
    await baton.tasks.claimTasks({ queue, workerId: "w", types: ["t"] });
    let after = await scrape();
    for (let i = 0; i < 50 && value(after, "baton_lease_expiries_total", q) === value(before, "baton_lease_expiries_total", q); i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await scrape();
    }

    const delta = (name: string, labels: Record<string, string> = q) => value(after, name, labels) - value(before, name, labels);
    expect(delta("baton_tasks_failed_total")).toBe(2);
    expect(delta("baton_task_retries_total")).toBeGreaterThanOrEqual(2); // the flaky failure and the expired lease
    expect(delta("baton_tasks_dead_lettered_total", { queue, cause: "failed" })).toBe(1);
    expect(delta("baton_lease_expiries_total", { queue, reason: "lease_expired" })).toBe(1);
    expect(delta("baton_task_run_seconds_count", { queue, outcome: "lease_expired" })).toBe(1);
  });
});
