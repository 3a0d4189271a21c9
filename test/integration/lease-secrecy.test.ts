// L5: a lease id is the secret half of the fencing token (L1). Only the worker
// holding the lease may ever receive it (ClaimTasks, Assign, its own Acks);
// every other read path — GetTask, ListTasks, WatchTasks (replay and live),
// CreateTask's idempotent replay, CancelTask, workflow runs, the worker
// registry, MCP tools — and the server's log lines must not carry it, or any
// reader could heartbeat, complete or fail a task another worker runs.
// Each read is checked on the bytes that cross the wire: Connect JSON (raw
// fetch, or the message as the client decoded it), gRPC binary (the decoded
// message re-encoded with toBinary, byte-for-byte what protobuf sends).
import { create, toBinary, toJsonString, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskEventType, TaskState } from "../../gen/ts/baton/v1/task_pb.js";
import {
  CreateTaskResponseSchema,
  GetTaskResponseSchema,
  ListTasksResponseSchema,
  TaskService,
  WatchTasksResponseSchema,
} from "../../gen/ts/baton/v1/task_service_pb.js";
import { GetWorkerResponseSchema, ListWorkersResponseSchema, WorkerService } from "../../gen/ts/baton/v1/worker_service_pb.js";
import { RunEventType } from "../../gen/ts/baton/v1/workflow_pb.js";
import { GetRunResponseSchema, ListRunsResponseSchema, WatchRunResponseSchema, WorkflowService } from "../../gen/ts/baton/v1/workflow_service_pb.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";
import { eventually, watch, type TaskClient, type Watcher } from "../support/protocol.js";
import { openRawSession, type RawSession } from "../support/raw-session.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const WORKFLOW = `kind: Workflow
metadata: {name: leak-flow}
spec:
  steps:
    - {name: only, task_type: leak.step, queue: leak-wf}
`;

describe.each(backends)("lease ids reach only their holder on %s (L5)", (backend) => {
  let baton: TestBaton;
  let logText = "";
  let grpcTasks: TaskClient;
  let grpcWorkers: Client<typeof WorkerService>;
  let jsonWorkers: Client<typeof WorkerService>;
  let workflows: Client<typeof WorkflowService>;
  let session: RawSession | undefined;
  let live: Watcher[] = [];

  beforeAll(async () => {
    // Every line at debug and above, so a lease id logged at any level is caught.
    const log = pino({ level: "debug" }, { write: (line: string) => void (logText += line) });
    baton = await startTestBaton(backend, { log });
    const grpc = createGrpcTransport({ baseUrl: baton.server.url });
    grpcTasks = createClient(TaskService, grpc);
    grpcWorkers = createClient(WorkerService, grpc);
    const json = createConnectTransport({ baseUrl: baton.server.url, httpVersion: "1.1" });
    jsonWorkers = createClient(WorkerService, json);
    workflows = createClient(WorkflowService, json);
  }, 180_000);
  afterAll(async () => {
    session?.close();
    for (const w of live) w.close();
    await baton?.close();
  });

  /** A Connect JSON unary call by raw fetch: the exact response body. */
  async function connectJson(service: string, method: string, body: object): Promise<string> {
    const res = await fetch(`${baton.server.url}/${service}/${method}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    return text;
  }

  /** An MCP tools/call over POST /mcp (stateless JSON-RPC): the exact response body. */
  async function mcpCall(name: string, args: object): Promise<string> {
    const res = await fetch(`${baton.server.url}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name, arguments: args } }),
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(JSON.parse(text).result?.isError, text).toBeFalsy();
    return text;
  }

  const wire = <D extends DescMessage>(schema: D, msg: MessageShape<D>) => ({
    json: toJsonString(schema, msg),
    binary: Buffer.from(toBinary(schema, msg)).toString("latin1"),
  });

  /** Fails naming the read path when any lease id appears in `text` (JSON text, or binary as latin1). */
  function expectNoLease(path: string, text: string, leases: string[]) {
    for (const lease of leases) expect(text.includes(lease), `${path} carries lease id ${lease}`).toBe(false);
  }

  it("ClaimTasks and Assign carry the lease id; no other response, watch event, MCP result or log line does", async () => {
    // Live watches from "now", on both wire formats, before anything happens.
    const liveJson = watch(baton.tasks, {});
    const liveGrpc = watch(grpcTasks, {});
    live = [liveJson, liveGrpc];
    await Promise.all([baton.tasks.listTasks({}), grpcTasks.listTasks({})]);

    // A: claimed by a unary ClaimTasks; its response is to the holder and carries the lease id.
    const a = (await baton.tasks.createTask({ queue: "leak-unary", type: "leak.a", idempotencyKey: "leak-a" })).task!;
    const claimA = await baton.tasks.claimTasks({ queue: "leak-unary", workerId: "unary-worker" });
    expect(claimA.tasks.map((t) => t.id)).toEqual([a.id]);
    const leaseA = claimA.tasks[0]!.lease!.leaseId;
    expect(leaseA).toMatch(UUID);

    // B: assigned over a worker stream; the Assign is to the holder and carries the lease id.
    session = openRawSession(baton.server.url);
    session.send({ case: "hello", value: { queues: ["leak-stream"], workerId: "stream-worker", instanceId: "leak-i", slots: 1 } });
    const welcome = await session.nextOf("welcome");
    const b = (await baton.tasks.createTask({ queue: "leak-stream", type: "leak.b" })).task!;
    const assignB = await session.nextOf("assign");
    expect(assignB.task!.id).toBe(b.id);
    const leaseB = assignB.task!.lease!.leaseId;
    expect(leaseB).toMatch(UUID);

    // C: a workflow step's task, claimed by a unary ClaimTasks.
    await workflows.putWorkflow({ definition: { case: "yaml", value: WORKFLOW } });
    const run = (await workflows.startRun({ workflow: "leak-flow", input: { n: 1 } })).run!;
    const claimC = await eventually(async () => {
      const r = await baton.tasks.claimTasks({ queue: "leak-wf", workerId: "wf-worker" });
      return r.tasks.length > 0 ? r : undefined;
    }, "the workflow step's task to be claimable");
    const c = claimC.tasks[0]!;
    const leaseC = c.lease!.leaseId;
    expect(leaseC).toMatch(UUID);

    // D: claimed, then cancelled by someone else: CancelTask answers the canceller, not the holder.
    await baton.tasks.createTask({ queue: "leak-cancel", type: "leak.d" });
    const d = (await grpcTasks.claimTasks({ queue: "leak-cancel", workerId: "cancel-worker" })).tasks[0]!;
    const leaseD = d.lease!.leaseId;
    expect(leaseD).toMatch(UUID);

    const leases = [leaseA, leaseB, leaseC, leaseD];
    const ids = [a.id, b.id, c.id, d.id];

    // CancelTask on a running task: the task stays CLAIMED (cancel requested) with its lease.
    const cancelled = await connectJson("baton.v1.TaskService", "CancelTask", { id: d.id, reason: "leak test" });
    expectNoLease("CancelTask (Connect JSON)", cancelled, leases);
    expect(JSON.parse(cancelled).task.lease.workerId).toBe("cancel-worker");

    // GetTask: Connect JSON raw and gRPC binary; the rest of the lease is still shown.
    for (const id of ids) {
      const text = await connectJson("baton.v1.TaskService", "GetTask", { id });
      expectNoLease(`GetTask ${id} (Connect JSON)`, text, leases);
      const lease = JSON.parse(text).task.lease;
      expect(lease.workerId, text).toBeTruthy();
      expect(lease.expireTime, text).toBeTruthy();
      expect(lease.leaseId ?? "", text).toBe("");
      const got = await grpcTasks.getTask({ id });
      expect(got.task!.state).toBe(TaskState.CLAIMED);
      expect(got.task!.lease!.leaseId).toBe("");
      const w = wire(GetTaskResponseSchema, got);
      expectNoLease(`GetTask ${id} (gRPC)`, w.binary, leases);
    }

    // ListTasks without and with every filter.
    const filters: object[] = [
      {},
      { namespace: "default" },
      { queue: "leak-unary" },
      { queue: "leak-stream", type: "leak.b" },
      { states: ["TASK_STATE_CLAIMED"] },
      { queue: "leak-wf", states: ["TASK_STATE_CLAIMED"] },
      { pageSize: 1 },
    ];
    for (const f of filters) {
      const text = await connectJson("baton.v1.TaskService", "ListTasks", f);
      expectNoLease(`ListTasks ${JSON.stringify(f)} (Connect JSON)`, text, leases);
      expect(JSON.parse(text).tasks.length, text).toBeGreaterThan(0);
    }
    const listed = await grpcTasks.listTasks({ states: [TaskState.CLAIMED] });
    expect(listed.tasks.map((t) => t.id).sort()).toEqual([...ids].sort());
    expectNoLease("ListTasks (gRPC)", wire(ListTasksResponseSchema, listed).binary, leases);

    // CreateTask replayed by its idempotency key returns the running task to the producer.
    const replayed = await grpcTasks.createTask({ queue: "leak-unary", type: "leak.a", idempotencyKey: "leak-a" });
    expect(replayed.created).toBe(false);
    expectNoLease("CreateTask replay (gRPC)", wire(CreateTaskResponseSchema, replayed).binary, leases);
    expectNoLease("CreateTask replay (Connect JSON)", await connectJson("baton.v1.TaskService", "CreateTask", { queue: "leak-unary", type: "leak.a", idempotencyKey: "leak-a" }), leases);

    // WatchTasks replayed from cursor 0 and live, on both wire formats: every CLAIMED snapshot is redacted.
    const claimedAll = (w: Watcher) =>
      ids.every((id) => w.events.some((e) => e.type === TaskEventType.CLAIMED && e.task?.id === id)) ? w.events : undefined;
    const replayJson = watch(baton.tasks, { afterCursor: 0n });
    const replayGrpc = watch(grpcTasks, { afterCursor: 0n });
    live.push(replayJson, replayGrpc);
    for (const [name, w] of [["replay JSON", replayJson], ["replay gRPC", replayGrpc], ["live JSON", liveJson], ["live gRPC", liveGrpc]] as const) {
      const events = await eventually(async () => claimedAll(w), `WatchTasks ${name} to deliver every CLAIMED event`);
      for (const event of events) {
        const bytes = wire(WatchTasksResponseSchema, create(WatchTasksResponseSchema, { event }));
        expectNoLease(`WatchTasks ${name} cursor ${event.cursor}`, bytes.json + bytes.binary, leases);
      }
    }

    // Workflow reads: GetRun, ListRuns, WatchRun (replay).
    const gotRun = await workflows.getRun({ id: run.id });
    expectNoLease("GetRun", wire(GetRunResponseSchema, gotRun).json, leases);
    expectNoLease("GetRun (Connect JSON)", await connectJson("baton.v1.WorkflowService", "GetRun", { id: run.id }), leases);
    expectNoLease("ListRuns", wire(ListRunsResponseSchema, await workflows.listRuns({})).binary, leases);
    const runAbort = new AbortController();
    for await (const r of workflows.watchRun({ runId: run.id, afterCursor: 0n }, { signal: runAbort.signal })) {
      const bytes = wire(WatchRunResponseSchema, r);
      expectNoLease("WatchRun", bytes.json + bytes.binary, leases);
      if (r.event?.type === RunEventType.STEP_STARTED) break;
    }

    // The worker registry.
    for (const workers of [jsonWorkers, grpcWorkers]) {
      const one = await workers.getWorker({ sessionId: welcome.sessionId });
      const all = await workers.listWorkers({});
      expect(all.workers.map((w) => w.sessionId)).toContain(welcome.sessionId);
      expectNoLease("GetWorker", wire(GetWorkerResponseSchema, one).json + wire(GetWorkerResponseSchema, one).binary, leases);
      expectNoLease("ListWorkers", wire(ListWorkersResponseSchema, all).json + wire(ListWorkersResponseSchema, all).binary, leases);
    }
    expectNoLease("ListWorkers (Connect JSON)", await connectJson("baton.v1.WorkerService", "ListWorkers", {}), leases);

    // MCP tools, called in-process by the endpoint.
    for (const id of ids) expectNoLease(`MCP get_task ${id}`, await mcpCall("get_task", { id }), leases);
    for (const args of [{}, { queue: "leak-wf" }, { states: ["TASK_STATE_CLAIMED"] }]) {
      expectNoLease(`MCP list_tasks ${JSON.stringify(args)}`, await mcpCall("list_tasks", args), leases);
    }

    // The holders can still use their leases: Heartbeat and CompleteTask with A's,
    // Result over the stream with B's (its Ack names the lease, to its holder).
    const hb = await baton.tasks.heartbeat({ taskId: a.id, leaseId: leaseA });
    expect(hb.leaseExpireTime).toBeDefined();
    const doneA = await baton.tasks.completeTask({ taskId: a.id, leaseId: leaseA, result: { ok: true } });
    expect(doneA.task!.state).toBe(TaskState.COMPLETED);
    session.send({ case: "result", value: { taskId: b.id, leaseId: leaseB, outcome: { case: "completed", value: { ok: true } } } });
    const ack = await session.nextOf("ack");
    expect(ack.accepted).toBe(true);
    expect(ack.leaseId).toBe(leaseB);
    const doneC = await grpcTasks.completeTask({ taskId: c.id, leaseId: leaseC, result: { ok: true } });
    expect(doneC.task!.state).toBe(TaskState.COMPLETED);
    const failedD = await grpcTasks.failTask({ taskId: d.id, leaseId: leaseD, error: { type: "cancelled" } });
    expect(failedD.task!.state).toBe(TaskState.CANCELLED);

    // Nothing above wrote a lease id to the log.
    expect(logText).toContain('"msg":"rpc"');
    expectNoLease("the server log", logText, leases);
  }, 120_000);
});
