// The chaos run: two Baton replicas over a real Postgres and a real nats-server,
// a fleet of TS, Python and Go worker processes behind a TCP load balancer, a
// paced workload, a resuming watcher, and a fault injector on a seeded schedule.
// Afterwards checker.ts judges what Postgres and the workers' logs say happened.
//
// Used by test/chaos/chaos.test.ts (the short run inside `npm test`) and
// test/chaos/run.ts (`npm run chaos`, the long one).
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import postgres from "postgres";
import { ErrorDetailSchema } from "../../gen/ts/baton/v1/contract_pb.js";
import { TaskState } from "../../gen/ts/baton/v1/task_pb.js";
import { TaskService } from "../../gen/ts/baton/v1/task_service_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CreateTaskRequestSchema } from "../../gen/ts/baton/v1/task_service_pb.js";
import { startNats, type NatsServer } from "../support/nats.js";
import { startPostgres, type PostgresServer } from "../support/postgres.js";
import { startReplica, type Replica } from "../support/replica.js";
import { checkInvariants, type CheckResult } from "./checker.js";
import { availableLangs, Fleet, type WorkerSlot } from "./fleet.js";
import { startProxy, type Proxy } from "./proxy.js";
import { Rng } from "./rng.js";
import { ResumingWatcher } from "./watcher.js";
import { inFlight, readWorkerLogs, type Lang } from "./worker-log.js";

export const FAULT_KINDS = ["kill-worker", "stop-worker", "kill-replica", "restart-postgres", "restart-nats", "drop-streams"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ChaosOptions {
  seed: number;
  /** Workload tasks (probes come on top). */
  tasks: number;
  fleet: Record<Lang, number>;
  /** Slots per worker process. */
  slots?: number;
  /** Task creation is spread over this long. */
  createOverMs: number;
  /** "each-once": every fault kind once, in a seeded order. A number: that many rounds of every kind. */
  faults: "each-once" | number;
  /** Pause between faults, [min, max] ms. */
  gapMs: [number, number];
  /** Handler durations, [min, max] ms; `slowShare` of tasks take `slowMs` instead. */
  handlerMs: [number, number];
  slowShare?: number;
  slowMs?: [number, number];
  /** Share of tasks whose first attempt fails (a retryable error). */
  failShare?: number;
  /** The tasks' heartbeat timeout: how soon a silent worker's lease expires. */
  heartbeatTimeoutS?: number;
  /** The whole run must end within this long. */
  deadlineMs: number;
  /** Where logs go; default a temp dir, removed after a clean run unless keepLogs. */
  dir?: string;
  keepLogs?: boolean;
  progress?: (line: string) => void;
}

export interface FaultRecord {
  kind: FaultKind;
  /** ms since the run started. */
  at: number;
  target: string;
  note: string;
  /** Injection until the fault was undone (process restarted, server back, SIGCONT). */
  downMs: number;
  /** Undone until a fresh high-priority probe task completed end to end. */
  recoveryMs: number;
  /** For worker faults: until every task the victim held was terminal again (includes waiting in the queue). */
  orphansMs?: number;
  /** For worker faults: until Postgres had ended the victim's last lease (expiry detected by the sweeper). */
  leasesReleasedMs?: number;
  orphans?: number;
}

export interface OutageAnswer {
  replica: string;
  code: string;
  reason: string;
  retryAfterMs: number | undefined;
  ms: number;
}

export interface ChaosReport {
  seed: number;
  options: Omit<ChaosOptions, "progress">;
  dir: string;
  durationMs: number;
  workloadMs: number;
  langs: Record<string, number>;
  faults: FaultRecord[];
  outageAnswers: OutageAnswer[];
  createRetries: number;
  watcher: { streams: number; broken: number; events: number };
  unexpectedExits: string[];
  notes: string[];
  /** Histories of probes and orphaned tasks that took long to finish. */
  slow: string[];
  check: CheckResult;
  violations: string[];
}

const QUEUE = "chaos";
const REPLICA_ENV = {
  BATON_SWEEP_INTERVAL_MS: "200",
  BATON_WORKER_HEARTBEAT_INTERVAL_MS: "500",
  BATON_DISPATCH_TICK_MS: "250",
};

type TaskClient = Client<typeof TaskService>;
type CreateInput = MessageInitShape<typeof CreateTaskRequestSchema>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One scheduled fault and its seeded parameters. */
export interface FaultStep {
  kind: FaultKind;
  /** Pause before it. */
  gapMs: number;
  /** How long a killed replica or a stopped server stays down. */
  pauseMs: number;
  /** kill -9 rather than a clean stop (Postgres, NATS). */
  crash: boolean;
  /** Which replica (0 or 1). */
  replica: number;
  /** Share of connections dropped. */
  fraction: number;
}

export function faultPlan(opts: Pick<ChaosOptions, "faults" | "gapMs">, rng: Rng): FaultStep[] {
  const rounds = opts.faults === "each-once" ? 1 : opts.faults;
  const kinds = Array.from({ length: rounds }, () => rng.shuffle(FAULT_KINDS)).flat();
  return kinds.map((kind) => ({
    kind,
    gapMs: rng.int(...opts.gapMs),
    pauseMs: rng.int(300, 2_000),
    crash: rng.chance(0.5),
    replica: rng.int(0, 1),
    fraction: 0.5 + rng.next() / 2,
  }));
}

interface ReplicaSlot {
  name: string;
  port: number;
  replica?: Replica;
  expectingExit: boolean;
  client: TaskClient;
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const rel = () => Date.now() - started;
  // Separate streams, so the workload and the fault schedule replay exactly for a
  // seed; only the choice of victim worker depends on timing (who is busy).
  const planRng = new Rng(opts.seed);
  const workRng = new Rng(opts.seed ^ 0x5eed);
  const rng = new Rng(opts.seed ^ 0x7a11);
  const say = (line: string) => opts.progress?.(`[chaos +${(rel() / 1000).toFixed(1)}s] ${line}`);
  const plan = faultPlan(opts, planRng);
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "baton-chaos-"));
  mkdirSync(dir, { recursive: true });
  const hbS = opts.heartbeatTimeoutS ?? 2;
  const unexpectedExits: string[] = [];
  const notes: string[] = [];
  const faults: FaultRecord[] = [];
  const outageAnswers: OutageAnswer[] = [];
  const createdIds: string[] = [];
  const probeRecords: { fault: string; taskId: string; createdMs: number; completedMs: number }[] = [];
  const orphanRecords: { fault: string; taskIds: string[]; ms: number }[] = [];
  const leaseRecords: { record: FaultRecord; leases: string[]; t0: number }[] = [];
  let createRetries = 0;
  const deadline = started + opts.deadlineMs;

  let pg: PostgresServer | undefined;
  let nats: NatsServer | undefined;
  let proxy: Proxy | undefined;
  let sql: postgres.Sql | undefined;
  let fleet: Fleet | undefined;
  let watcher: ResumingWatcher | undefined;
  const replicas: ReplicaSlot[] = [];
  let clean = false;

  try {
    // --- the stack -----------------------------------------------------------------------
    [pg, nats] = await Promise.all([startPostgres(), startNats({ jetstream: false })]);
    const databaseUrl = await pg.createDatabase("baton_chaos");
    sql = postgres(databaseUrl, { max: 2, onnotice: () => {}, connect_timeout: 5, backoff: () => 0.1 });
    const natsUrl = nats.url;
    const launch = async (slot: ReplicaSlot) => {
      const replica = await startReplica({
        databaseUrl,
        natsUrl,
        port: slot.port,
        env: REPLICA_ENV,
        onLine: (line) => appendFileSync(join(dir, `replica-${slot.name}.log`), `${line}\n`),
      });
      slot.port = replica.port;
      slot.replica = replica;
      slot.expectingExit = false;
      replica.process.once("exit", (code, signal) => {
        if (!slot.expectingExit) {
          unexpectedExits.push(`replica ${slot.name} exited (${code ?? signal}) at +${rel()}ms`);
          say(`!! replica ${slot.name} exited on its own (${code ?? signal})`);
        }
      });
      slot.client = createClient(TaskService, createConnectTransport({ baseUrl: replica.url, httpVersion: "1.1" }));
    };
    for (const name of ["a", "b"]) {
      const slot: ReplicaSlot = { name, port: 0, expectingExit: false, client: undefined as unknown as TaskClient };
      replicas.push(slot);
      await launch(slot); // one at a time: the first applies the migrations
    }
    proxy = await startProxy(() => replicas.map((r) => r.port));
    const lb = createClient(TaskService, createConnectTransport({ baseUrl: proxy.url, httpVersion: "1.1" }));
    say(`replicas on ${replicas.map((r) => r.port).join(", ")}, load balancer on ${proxy.port}; logs in ${dir}`);

    // --- the fleet -------------------------------------------------------------------------
    const langs = await availableLangs();
    const counts: Record<string, number> = {};
    fleet = new Fleet({
      url: proxy.url,
      queue: QUEUE,
      slots: opts.slots ?? 4,
      dir,
      onUnexpectedExit: (slot, code, signal) => {
        unexpectedExits.push(`worker ${slot.id} (${slot.lang}) exited (${code ?? signal}) at +${rel()}ms`);
        say(`!! worker ${slot.id} exited on its own (${code ?? signal})`);
      },
    });
    if (opts.fleet.go > 0 && langs.has("go")) {
      try {
        await fleet.buildGo();
      } catch (err) {
        langs.delete("go");
        notes.push(`Go workers replaced by TS ones: the Go worker does not build (${String(err).split("\n").slice(0, 3).join(" ")})`);
      }
    }
    for (const lang of ["ts", "python", "go"] as Lang[]) {
      for (let i = 1; i <= opts.fleet[lang]; i++) {
        // A language whose toolchain is missing is replaced by TS workers, so the fleet keeps its size.
        const use = langs.has(lang) ? lang : "ts";
        if (use !== lang && i === 1 && !notes.some((n) => n.includes(lang === "go" ? "Go" : "Python"))) notes.push(`${lang} workers replaced by TS ones: ${lang} is not available here`);
        counts[use] = (counts[use] ?? 0) + 1;
        fleet.add(`${use}-${counts[use]}`, use);
      }
    }
    // A few at a time: 20 interpreters starting at once on 2 cores time each other out.
    for (let i = 0; i < fleet.slots.length; i += 4) await Promise.all(fleet.slots.slice(i, i + 4).map((s) => fleet!.start(s)));
    say(`fleet connected: ${Object.entries(counts).map(([l, n]) => `${n} ${l}`).join(", ")}`);

    watcher = new ResumingWatcher(proxy.url, QUEUE, new Rng(opts.seed ^ 0xa7c4), 4_000);
    watcher.start();

    // --- helpers ---------------------------------------------------------------------------
    /** Retries a call until it succeeds (idempotency keys make retried creates safe). */
    const retrying = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
      for (let n = 0; ; n++) {
        try {
          return await call();
        } catch (err) {
          if (n > 0 && n % 50 === 0) say(`${what}: still failing after ${n} tries: ${String(err)}`);
          if (Date.now() > deadline) throw new Error(`${what} kept failing until the deadline: ${String(err)}`, { cause: err });
          createRetries++;
          await sleep(100);
        }
      }
    };
    const taskRequest = (key: string, ms: number, failAttempts: number, priority = 0): CreateInput => ({
      queue: QUEUE,
      type: "chaos.work",
      payload: { ms, failAttempts },
      idempotencyKey: key,
      priority,
      maxAttempts: 100,
      timeouts: { heartbeatTimeout: { seconds: BigInt(hbS) } },
      retryPolicy: { initialBackoff: { nanos: 100_000_000 }, maxBackoff: { seconds: 1n }, jitter: 0 },
    });
    let probes = 0;
    /** A high-priority task created now; resolves when it completed (the system works end to end). */
    const probe = async (fault: string): Promise<number> => {
      const key = `probe-${++probes}`;
      const t0 = Date.now();
      const res = await retrying("create a probe", () => lb.createTask(taskRequest(key, 0, 0, 1000), { timeoutMs: 5_000 }));
      createdIds.push(res.task!.id);
      const record = { fault, taskId: res.task!.id, createdMs: Date.now() - t0, completedMs: -1 };
      probeRecords.push(record);
      for (;;) {
        if (Date.now() > deadline) throw new Error(`probe ${key} did not complete before the deadline`);
        try {
          const t = await lb.getTask({ id: res.task!.id }, { timeoutMs: 2_000 });
          if (t.task?.state === TaskState.COMPLETED) {
            record.completedMs = Date.now() - t0;
            return Date.now();
          }
        } catch {
          // an outage or a dropped connection: ask again
        }
        await sleep(25);
      }
    };
    /** Polls until none of `ids` is left unfinished; returns how long that took. */
    const untilTerminal = async (ids: string[], t0: number): Promise<number> => {
      if (ids.length === 0) return 0;
      for (;;) {
        if (Date.now() > deadline) throw new Error(`tasks ${ids.slice(0, 3).join(", ")} did not finish before the deadline`);
        try {
          const [{ n }] = await sql!<{ n: number }[]>`
            SELECT count(*)::int AS n FROM baton_tasks WHERE id = ANY(${ids}::uuid[]) AND state NOT IN ('completed', 'dead_letter', 'cancelled')`;
          if (n === 0) return Date.now() - t0;
        } catch {
          // Postgres restarting
        }
        await sleep(50);
      }
    };
    /** A running worker, preferably one in the middle of tasks. */
    const pickWorker = async (): Promise<{ slot: WorkerSlot; held: { task: string; lease: string }[] }> => {
      for (let i = 0; i < 50; i++) {
        const busy = fleet!.slots.filter((s) => s.pid !== undefined && inFlight(s.log()).length > 0);
        if (busy.length > 0) {
          const slot = rng.pick(busy);
          return { slot, held: inFlight(slot.log()) };
        }
        await sleep(100);
      }
      const slot = rng.pick(fleet!.slots.filter((s) => s.pid !== undefined));
      return { slot, held: inFlight(slot.log()) };
    };
    /** While Postgres is down: each replica must answer at once, UNAVAILABLE with a retry-after. */
    const sampleOutage = async () => {
      await Promise.all(
        replicas.map(async (r) => {
          const t0 = Date.now();
          try {
            await r.client.getTask({ id: createdIds[0] ?? "00000000-0000-7000-8000-000000000000" }, { timeoutMs: 5_000 });
            outageAnswers.push({ replica: r.name, code: "OK", reason: "", retryAfterMs: undefined, ms: Date.now() - t0 });
          } catch (err) {
            const e = ConnectError.from(err);
            const d = e.findDetails(ErrorDetailSchema)[0];
            const ra = d?.contract?.recovery?.retryAfter;
            outageAnswers.push({
              replica: r.name,
              code: Code[e.code],
              reason: d?.reason ?? "(no ErrorDetail)",
              retryAfterMs: ra ? Number(ra.seconds) * 1000 + ra.nanos / 1e6 : undefined,
              ms: Date.now() - t0,
            });
          }
        }),
      );
    };

    // --- faults ------------------------------------------------------------------------------
    const inject = async (step: FaultStep): Promise<FaultRecord> => {
      const { kind } = step;
      let at = rel();
      let t0 = Date.now();
      let target = "";
      let note = "";
      let downMs = 0;
      let orphanIds: string[] = [];
      let victimLeases: string[] = [];
      switch (kind) {
        case "kill-worker": {
          const { slot, held } = await pickWorker();
          [at, t0] = [rel(), Date.now()];
          target = slot.id;
          orphanIds = held.map((h) => h.task);
          victimLeases = held.map((h) => h.lease);
          await fleet!.kill(slot);
          note = `kill -9 with ${held.length} tasks running`;
          await sleep(300);
          await fleet!.start(slot);
          downMs = Date.now() - t0;
          break;
        }
        case "stop-worker": {
          const { slot, held } = await pickWorker();
          [at, t0] = [rel(), Date.now()];
          target = slot.id;
          orphanIds = held.map((h) => h.task);
          victimLeases = held.map((h) => h.lease);
          fleet!.signal(slot, "SIGSTOP");
          // Past its lease: every lease it held must have been taken from it.
          const leases = held.map((h) => h.lease);
          for (;;) {
            if (Date.now() > deadline) break;
            try {
              const [{ n }] = await sql!<{ n: number }[]>`
                SELECT count(*)::int AS n FROM baton_tasks WHERE lease_id = ANY(${leases}::uuid[]) AND state = 'claimed'`;
              if (n === 0) break;
            } catch {
              // keep waiting
            }
            await sleep(100);
          }
          await sleep(Math.max(0, hbS * 1000 + 500 - (Date.now() - t0)));
          fleet!.signal(slot, "SIGCONT");
          downMs = Date.now() - t0;
          note = `SIGSTOP for ${downMs}ms with ${held.length} tasks running, then SIGCONT (a zombie)`;
          break;
        }
        case "kill-replica": {
          const slot = replicas[step.replica]!;
          target = `replica ${slot.name}`;
          slot.expectingExit = true;
          await slot.replica!.kill();
          await sleep(step.pauseMs);
          for (let n = 0; ; n++) {
            try {
              await launch(slot);
              break;
            } catch (err) {
              if (n >= 10) throw err;
              await sleep(500);
            }
          }
          downMs = Date.now() - t0;
          note = `kill -9, restarted on port ${slot.port}`;
          break;
        }
        case "restart-postgres": {
          const crash = step.crash;
          target = "postgres";
          if (crash) await pg!.kill();
          else await pg!.stop();
          await sampleOutage();
          await sleep(step.pauseMs);
          await sampleOutage();
          await pg!.start();
          downMs = Date.now() - t0;
          note = crash ? "SIGKILL (crash recovery on start)" : "fast shutdown";
          break;
        }
        case "restart-nats": {
          const crash = step.crash;
          target = "nats-server";
          if (crash) await nats!.kill();
          else await nats!.stop();
          await sleep(step.pauseMs);
          await nats!.start();
          downMs = Date.now() - t0;
          note = crash ? "SIGKILL" : "graceful stop";
          break;
        }
        case "drop-streams": {
          const fraction = step.fraction;
          target = "load balancer";
          const dropped = proxy!.drop(fraction, rng);
          note = `reset ${dropped} connections (${Math.round(fraction * 100)}%)`;
          break;
        }
      }
      const undone = Date.now();
      const [orphansMs, probeDone] = await Promise.all([untilTerminal(orphanIds, t0), probe(`${kind} ${target}`)]);
      if (orphanIds.length > 0) orphanRecords.push({ fault: `${kind} ${target}`, taskIds: orphanIds, ms: orphansMs });
      const record: FaultRecord = {
        kind,
        at,
        target,
        note,
        downMs,
        recoveryMs: probeDone - undone,
        ...(orphanIds.length > 0 ? { orphans: orphanIds.length, orphansMs } : {}),
      };
      if (victimLeases.length > 0) leaseRecords.push({ record, leases: victimLeases, t0 });
      // The probe may finish before the orphans: recovery is when the probe completed.
      say(`${kind} ${target}: ${note}; down ${downMs}ms, probe ok after ${record.recoveryMs}ms${orphanIds.length ? `, ${orphanIds.length} orphaned tasks done after ${orphansMs}ms` : ""}`);
      return record;
    };

    // --- the run -------------------------------------------------------------------------------
    const specs = Array.from({ length: opts.tasks }, (_, i) => {
      const slow = workRng.chance(opts.slowShare ?? 0);
      const [lo, hi] = slow ? (opts.slowMs ?? [1_000, 2_000]) : opts.handlerMs;
      return taskRequest(`chaos-${i}`, workRng.int(lo, hi), workRng.chance(opts.failShare ?? 0) ? 1 : 0);
    });
    let created = 0;
    const workloadStart = Date.now();
    const creating = (async () => {
      const batch = 50;
      const batches = Math.ceil(specs.length / batch);
      for (let b = 0; b < batches; b++) {
        const requests = specs.slice(b * batch, (b + 1) * batch);
        const res = await retrying("create tasks", () => lb.batchCreateTasks({ requests }, { timeoutMs: 10_000 }));
        createdIds.push(...res.tasks.map((t) => t.id));
        created += res.tasks.length;
        const due = workloadStart + ((b + 1) * opts.createOverMs) / batches;
        if (due > Date.now()) await sleep(due - Date.now());
      }
      say(`created ${created} tasks`);
    })();

    for (const step of plan) {
      await sleep(step.gapMs);
      faults.push(await inject(step));
    }
    await creating;

    // Everything must finish now that the faults are over.
    for (;;) {
      if (Date.now() > deadline) break;
      try {
        const [{ n }] = await sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM baton_tasks WHERE queue = ${QUEUE} AND state NOT IN ('completed', 'dead_letter', 'cancelled')`;
        if (n === 0) break;
      } catch {
        // keep polling
      }
      await sleep(200);
    }
    const workloadMs = Date.now() - workloadStart;
    say(`workload finished in ${workloadMs}ms`);

    // The watcher must catch up with every sequenced event before it stops.
    for (;;) {
      const [{ max, unsequenced }] = await sql<{ max: string | null; unsequenced: number }[]>`
        SELECT max(cursor)::text AS max, count(*) FILTER (WHERE cursor IS NULL)::int AS unsequenced
        FROM baton_task_events WHERE queue = ${QUEUE}`;
      if (unsequenced === 0 && watcher.last >= BigInt(max ?? "0")) break;
      if (Date.now() > deadline) break;
      await sleep(100);
    }
    await watcher.stop();
    await fleet.killAll();

    // How soon Baton took the leases of a dead or frozen worker back (heartbeat timeout + sweep).
    for (const { record, leases, t0 } of leaseRecords) {
      const [r] = await sql<{ ended: number | null; running: number }[]>`
        SELECT max(extract(epoch FROM ended_at) * 1000)::float8 AS ended, count(*) FILTER (WHERE outcome <> 'lease_expired')::int AS running
        FROM baton_task_attempts WHERE lease_id = ANY(${leases}::uuid[])`;
      // Only when every lease really expired (a handler may have finished just before the signal).
      if (r?.ended && r.running === 0) record.leasesReleasedMs = Math.round(r.ended - t0);
    }

    // Why was a recovery slow? The history of slow probes and orphans, for the report.
    const slow: string[] = [];
    const history = async (what: string, id: string, sinceMs: number) => {
      const attempts = await sql!<{ attempt: number; worker_id: string; outcome: string; started: number; ended: number | null }[]>`
        SELECT attempt, worker_id, outcome, (extract(epoch FROM started_at) * 1000)::float8 AS started,
               (extract(epoch FROM ended_at) * 1000)::float8 AS ended
        FROM baton_task_attempts WHERE task_id = ${id} ORDER BY attempt`;
      const [task] = await sql!<{ created: number }[]>`SELECT (extract(epoch FROM created_at) * 1000)::float8 AS created FROM baton_tasks WHERE id = ${id}`;
      const at = (ms: number | null) => (ms === null ? "-" : `+${Math.round(ms - (task?.created ?? 0))}ms`);
      slow.push(
        `${what} (${sinceMs}ms): task ${id} created, then ` +
          attempts.map((a) => `#${a.attempt} ${a.worker_id} ${at(a.started)}..${at(a.ended)} ${a.outcome}`).join("; "),
      );
    };
    for (const p of probeRecords) if (p.completedMs > 3_000) await history(`slow probe after ${p.fault}`, p.taskId, p.completedMs);
    for (const o of orphanRecords) {
      if (o.ms > hbS * 1000 + 5_000) for (const id of o.taskIds) await history(`slow orphan of ${o.fault}`, id, o.ms);
    }

    const check = await checkInvariants({
      sql,
      queue: QUEUE,
      createdIds,
      logs: readWorkerLogs(dir),
      watched: watcher.events,
      watchOutOfOrder: watcher.outOfOrder,
    });
    const violations = [...check.violations];
    for (const e of unexpectedExits) violations.push(`crash: ${e}`);
    for (const a of outageAnswers) {
      if (a.code !== "Unavailable" || a.reason !== "STORAGE_UNAVAILABLE" || !a.retryAfterMs) {
        violations.push(`outage answer: replica ${a.replica} answered ${a.code} ${a.reason} while Postgres was down`);
      }
      if (a.ms > 3_000) violations.push(`outage answer: replica ${a.replica} took ${a.ms}ms to answer while Postgres was down`);
    }
    const seenKinds = new Set(faults.map((f) => f.kind));
    for (const k of FAULT_KINDS) if (!seenKinds.has(k)) violations.push(`fault ${k} was never injected`);

    const report: ChaosReport = {
      seed: opts.seed,
      options: { ...opts, progress: undefined } as Omit<ChaosOptions, "progress">,
      dir,
      durationMs: rel(),
      workloadMs,
      langs: counts,
      faults,
      outageAnswers,
      createRetries,
      watcher: { streams: watcher.streams, broken: watcher.broken, events: watcher.events.length },
      unexpectedExits,
      notes,
      slow,
      check,
      violations,
    };
    clean = violations.length === 0;
    return report;
  } finally {
    await watcher?.stop().catch(() => {});
    await fleet?.killAll().catch(() => {});
    for (const r of replicas) {
      r.expectingExit = true;
      await r.replica?.stop().catch(() => {});
    }
    await proxy?.close().catch(() => {});
    await sql?.end({ timeout: 1 }).catch(() => {});
    await Promise.allSettled([pg?.destroy(), nats?.destroy()]);
    if (clean && !opts.keepLogs && !opts.dir) rmSync(dir, { recursive: true, force: true });
  }
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** The human-readable report. */
export function formatReport(r: ChaosReport): string {
  const s = r.check.stats;
  const lines: string[] = [];
  lines.push(`== chaos report (seed ${r.seed}) ==`);
  lines.push(`run ${(r.durationMs / 1000).toFixed(1)}s, workload ${(r.workloadMs / 1000).toFixed(1)}s; logs: ${r.dir}`);
  lines.push(`fleet: ${Object.entries(r.langs).map(([l, n]) => `${n} ${l}`).join(", ")}; 2 replicas, Postgres, nats-server`);
  lines.push(`tasks: ${s.tasks} (${Object.entries(s.byState).map(([k, n]) => `${n} ${k}`).join(", ")})`);
  lines.push(`attempts: ${s.attempts} (${Object.entries(s.attemptOutcomes).map(([k, n]) => `${n} ${k}`).join(", ")})`);
  lines.push(`handler executions: ${s.executions} (${Object.entries(s.executionsByLang).map(([k, n]) => `${n} ${k}`).join(", ")})`);
  lines.push(
    `lease lost under a running handler: ${s.leaseLostExecutions}; stale results refused: ${Object.entries(s.staleResultsRejected).map(([k, n]) => `${n} ${k}`).join(", ") || "0"}; ` +
      `dropped by the SDK (told of the loss): ${s.staleResultsDropped}; cut off (killed): ${s.unfinishedExecutions}`,
  );
  lines.push(`accepted results resent and accepted again (R3/W3): ${s.resentAccepted}; completions whose Ack never reached the worker: ${s.completedWithoutAck}`);
  lines.push(`events: ${s.events} stored, ${s.watchedEvents} watched over ${r.watcher.streams} streams (${r.watcher.broken} broken by faults)`);
  lines.push(`create retries (UNAVAILABLE, dropped connections): ${r.createRetries}`);
  const byKind = new Map<string, FaultRecord[]>();
  for (const f of r.faults) byKind.set(f.kind, [...(byKind.get(f.kind) ?? []), f]);
  lines.push(`faults injected: ${r.faults.length}`);
  lines.push(`  (ms, median/max) down = injected until undone; probe = undone until a new top-priority task completed;`);
  lines.push(`  leases back = injected until the victim's leases were expired; orphans = injected until its tasks were done`);
  lines.push(`  kind               n   down          probe         leases back   orphans`);
  const cell = (xs: number[]) => (xs.length ? `${pct(xs, 50)}/${Math.max(...xs)}` : "-").padEnd(13);
  for (const [kind, fs] of byKind) {
    const pick = (f: (x: FaultRecord) => number | undefined) => fs.map(f).filter((x): x is number => x !== undefined);
    lines.push(
      `  ${kind.padEnd(18)} ${String(fs.length).padStart(2)}   ${cell(pick((f) => f.downMs))} ${cell(pick((f) => f.recoveryMs))} ${cell(pick((f) => f.leasesReleasedMs))} ${cell(pick((f) => f.orphansMs))}`,
    );
  }
  if (r.outageAnswers.length > 0) {
    const ms = r.outageAnswers.map((a) => a.ms);
    const kinds = new Set(r.outageAnswers.map((a) => `${a.code}/${a.reason}/retry_after ${a.retryAfterMs}ms`));
    lines.push(`answers while Postgres was down: ${r.outageAnswers.length}, ${[...kinds].join("; ")}, within ${Math.max(...ms)}ms`);
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  if (r.slow.length > 0) lines.push("slow recoveries:");
  for (const n of r.slow) lines.push(`  ${n}`);
  lines.push(r.violations.length === 0 ? "invariants: all hold" : `VIOLATIONS (${r.violations.length}):`);
  for (const v of r.violations) lines.push(`  - ${v}`);
  return lines.join("\n");
}
