// Bad input (S1, C2): every TaskService RPC refuses invalid requests with
// INVALID_ARGUMENT, one FieldViolation per bad field, a contract, and no change.
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromBinary } from "@bufbuild/protobuf";
import { ErrorDetailSchema, ErrorReason } from "../../gen/ts/baton/v1/contract_pb.js";
import { TaskState, type Task } from "../../gen/ts/baton/v1/task_pb.js";
import { TaskService } from "../../gen/ts/baton/v1/task_service_pb.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";
import { actionNames, expectInvalid } from "../support/protocol.js";

const MiB = 1024 * 1024;
const hugePayload = () => ({ blob: "x".repeat(MiB + 10) });
function deepPayload(levels: number) {
  let o: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < levels; i++) o = { a: o };
  return o as never;
}
const VALID_UUID = "0193b4c2-1f00-7000-8000-000000000001";
const NS = "bad-input";

describe.each(backends)("bad input on %s", (backend) => {
  let baton: TestBaton;
  /** Tasks in known states; every test checks they did not change. */
  let pending: Task;
  let claimed: Task;
  let dead: Task;

  beforeAll(async () => {
    baton = await startTestBaton(backend);
    pending = (await baton.tasks.createTask({ namespace: NS, queue: "pending", type: "t" })).task!;
    await baton.tasks.createTask({ namespace: NS, queue: "claimed", type: "t", timeouts: { heartbeatTimeout: { seconds: 600n } } });
    claimed = (await baton.tasks.claimTasks({ namespace: NS, queue: "claimed", workerId: "w" })).tasks[0]!;
    await baton.tasks.createTask({ namespace: NS, queue: "dead", type: "t" });
    const d = (await baton.tasks.claimTasks({ namespace: NS, queue: "dead", workerId: "w" })).tasks[0]!;
    dead = (await baton.tasks.failTask({ taskId: d.id, leaseId: d.lease!.leaseId, error: { type: "x", nonRetryable: true } })).task!;
  });
  afterAll(async () => baton?.close());

  function jsonClient() {
    return createClient(TaskService, createConnectTransport({ baseUrl: baton.server.url, httpVersion: "1.1", useBinaryFormat: false }));
  }

  async function everything() {
    const list = await baton.tasks.listTasks({ namespace: NS, pageSize: 500 });
    return list.tasks.map((t) => ({
      id: t.id,
      state: t.state,
      attempt: t.attempt,
      updateTime: t.updateTime,
      lease: t.lease && { id: t.lease.leaseId, expire: t.lease.expireTime },
      cancelRequested: t.cancelRequested,
    }));
  }

  /** Runs a bad call and checks S1: INVALID_ARGUMENT naming `fields`, a retry action, and nothing changed. */
  async function refused(call: () => Promise<unknown>, rpc: string, ...fields: string[]) {
    const before = await everything();
    const f = await expectInvalid(call(), ...fields);
    expect(actionNames(f.detail.contract)).toEqual([rpc]);
    expect(await everything()).toEqual(before);
    return f;
  }

  describe("CreateTask", () => {
    it("reports every bad field at once", async () => {
      const f = await refused(
        () => baton.tasks.createTask({ namespace: "Bad NS", queue: "", type: "has space", priority: 5000, maxAttempts: 1001 }),
        "CreateTask",
        "namespace",
        "queue",
        "type",
        "priority",
        "max_attempts",
      );
      expect(f.fields).toHaveLength(5);
      expect(f.detail.fieldViolations.find((v) => v.field === "priority")!.description).toContain("5000");
    });

    it("refuses out-of-range numbers", async () => {
      await refused(() => baton.tasks.createTask({ namespace: NS, queue: "q", type: "t", priority: -1001 }), "CreateTask", "priority");
      await refused(() => baton.tasks.createTask({ namespace: NS, queue: "q", type: "t", maxAttempts: -1 }), "CreateTask", "max_attempts");
      await refused(
        () => baton.tasks.createTask({ namespace: NS, queue: "q", type: "t", retryPolicy: { multiplier: 0.5, jitter: 1.5 } }),
        "CreateTask",
        "retry_policy.multiplier",
        "retry_policy.jitter",
      );
      await refused(
        () => baton.tasks.createTask({ namespace: NS, queue: "q", type: "t", retryPolicy: { multiplier: 11, jitter: Number.NaN } }),
        "CreateTask",
        "retry_policy.multiplier",
        "retry_policy.jitter",
      );
    });

    it("refuses an oversize payload (> 1 MiB)", async () => {
      const f = await refused(() => baton.tasks.createTask({ namespace: NS, queue: "q", type: "t", payload: hugePayload() }), "CreateTask", "payload");
      expect(f.fields).toEqual(["payload"]);
    });

    it("refuses a payload holding a number JSON cannot carry (NaN, Infinity)", async () => {
      await refused(() => baton.tasks.createTask({ namespace: NS, queue: "q", type: "t", payload: { x: Number.NaN } }), "CreateTask", "payload");
      await refused(
        () => baton.tasks.createTask({ namespace: NS, queue: "q", type: "t", payload: { x: [Number.POSITIVE_INFINITY] } }),
        "CreateTask",
        "payload",
      );
    });

    it("refuses a payload nested too deep", async () => {
      // The same answer over binary and over JSON.
      await refused(() => baton.tasks.createTask({ namespace: NS, queue: "q", type: "t", payload: deepPayload(40) }), "CreateTask", "payload");
      await refused(() => jsonClient().createTask({ namespace: NS, queue: "q", type: "t", payload: deepPayload(40) }), "CreateTask", "payload");
      // 30 levels is within the limit, and the task stays readable by a binary client.
      const ok = await baton.tasks.createTask({ namespace: "bad-input-ok", queue: "q", type: "t", payload: deepPayload(30) });
      expect(ok.created).toBe(true);
      expect((await baton.tasks.getTask({ id: ok.task!.id })).task!.payload).toEqual(deepPayload(30));
    });

    // A request nested past protobuf-es's recursion limit (100 messages, ~49 JSON
    // levels) fails to decode before any Baton code runs; the protocol-error wrapper
    // (server/src/http/protocol-errors.ts) still answers S1/C2: INVALID_ARGUMENT,
    // an ErrorDetail with a contract, and the field that failed to decode.
    it("refuses a binary payload nested past the decoder's limit as INVALID_ARGUMENT on payload", async () => {
      await refused(() => baton.tasks.createTask({ namespace: NS, queue: "q", type: "t", payload: deepPayload(100) }), "CreateTask", "payload");
    });
    it("refuses a JSON payload nested past the decoder's limit with an ErrorDetail on payload", async () => {
      await refused(() => jsonClient().createTask({ namespace: NS, queue: "q", type: "t", payload: deepPayload(100) }), "CreateTask", "payload");
    });
    it("names the bad request of a batch that fails to decode", async () => {
      const f = await refused(
        () =>
          baton.tasks.batchCreateTasks({
            requests: [
              { namespace: NS, queue: "good", type: "t" },
              { namespace: NS, queue: "good", type: "t", payload: deepPayload(100) },
            ],
          }),
        "BatchCreateTasks",
        "requests[1].payload",
      );
      expect(f.fields).toEqual(["requests[1].payload"]);
    });

    it("refuses bad durations", async () => {
      await refused(
        () =>
          baton.tasks.createTask({
            namespace: NS,
            queue: "q",
            type: "t",
            timeouts: {
              heartbeatTimeout: { nanos: 500_000_000 }, // below 1s
              startToCloseTimeout: { seconds: 8n * 86_400n }, // above 7d
              scheduleToStartTimeout: { seconds: 1n, nanos: -1 }, // signs disagree
            },
            retryPolicy: { initialBackoff: { seconds: -1n }, maxBackoff: { seconds: 0n, nanos: 1_000_000_000 } },
          }),
        "CreateTask",
        "timeouts.heartbeat_timeout",
        "timeouts.start_to_close_timeout",
        "timeouts.schedule_to_start_timeout",
        "retry_policy.initial_backoff",
        "retry_policy.max_backoff",
      );
      await refused(
        () =>
          baton.tasks.createTask({
            namespace: NS,
            queue: "q",
            type: "t",
            retryPolicy: { initialBackoff: { seconds: 60n }, maxBackoff: { seconds: 10n } },
          }),
        "CreateTask",
        "retry_policy.max_backoff",
      );
    });

    it("refuses a scheduled_time outside 1970..9999", async () => {
      await refused(
        () => baton.tasks.createTask({ namespace: NS, queue: "q", type: "t", scheduledTime: { seconds: 253_402_300_800n } }),
        "CreateTask",
        "scheduled_time",
      );
      await refused(
        () => baton.tasks.createTask({ namespace: NS, queue: "q", type: "t", scheduledTime: { seconds: -1n } }),
        "CreateTask",
        "scheduled_time",
      );
    });

    it("refuses oversize strings, labels and error-type lists", async () => {
      const labels: Record<string, string> = {};
      for (let i = 0; i < 65; i++) labels[`k${i}`] = "v";
      await refused(
        () =>
          baton.tasks.createTask({
            namespace: NS,
            queue: "q".repeat(129),
            type: "t",
            idempotencyKey: "k".repeat(257),
            traceId: "t".repeat(129),
            parentId: "p".repeat(129),
            labels,
            retryPolicy: { nonRetryableErrorTypes: ["ok", ""] },
          }),
        "CreateTask",
        "queue",
        "idempotency_key",
        "trace_id",
        "parent_id",
        "labels",
        "retry_policy.non_retryable_error_types[1]",
      );
      const f = await refused(
        () => baton.tasks.createTask({ namespace: NS, queue: "q", type: "t", labels: { ["k".repeat(64)]: "v", ok: "v".repeat(257) } }),
        "CreateTask",
      );
      expect(f.fields).toHaveLength(2);
      expect(f.fields.every((field) => field.startsWith("labels["))).toBe(true);
    });
  });

  describe("values Postgres cannot store (S5)", () => {
    const NUL = "a\u0000b";
    const LONE = "\ud800x";
    it("refuses NUL anywhere in CreateTask's strings and payload, keys included, on binary and JSON", async () => {
      for (const client of [baton.tasks, jsonClient()]) {
        await refused(() => client.createTask({ namespace: NS, queue: "s6", type: "t", payload: { items: [{}, {}, { name: NUL }] } }), "CreateTask", "payload.items[2].name");
        await refused(() => client.createTask({ namespace: NS, queue: "s6", type: "t", payload: { [NUL]: 1 } }), "CreateTask", 'payload."a\\u0000b"');
        await refused(
          () => client.createTask({ namespace: NS, queue: "s6", type: "t", idempotencyKey: NUL, labels: { k: NUL }, traceId: NUL, parentId: NUL }),
          "CreateTask",
          "idempotency_key",
          'labels["k"]',
          "trace_id",
          "parent_id",
        );
        await refused(() => client.createTask({ namespace: NS, queue: "s6", type: "t", labels: { [NUL]: "v" } }), "CreateTask", 'labels["a\\u0000b"]');
      }
    });

    it("refuses a lone UTF-16 surrogate in a JSON payload", async () => {
      await refused(() => jsonClient().createTask({ namespace: NS, queue: "s6", type: "t", payload: { s: LONE } }), "CreateTask", "payload.s");
      await refused(() => jsonClient().createTask({ namespace: NS, queue: "s6", type: "t", payload: { ["\udc00"]: 1 } }), "CreateTask", 'payload."\\udc00"');
    });

    it("refuses NUL in BatchCreateTasks, CompleteTask, FailTask and CancelTask, leaving the tasks as they were", async () => {
      await refused(() => baton.tasks.batchCreateTasks({ requests: [{ namespace: NS, queue: "s6", type: "t", payload: { ok: NUL } }] }), "BatchCreateTasks", "requests[0].payload.ok");
      await refused(() => baton.tasks.completeTask({ taskId: claimed.id, leaseId: claimed.lease!.leaseId, result: { r: NUL } }), "CompleteTask", "result.r");
      await refused(
        () => baton.tasks.failTask({ taskId: claimed.id, leaseId: claimed.lease!.leaseId, error: { type: NUL, message: NUL, details: { d: NUL } } }),
        "FailTask",
        "error.type",
        "error.message",
        "error.details.d",
      );
      await refused(() => jsonClient().completeTask({ taskId: claimed.id, leaseId: claimed.lease!.leaseId, result: { r: LONE } }), "CompleteTask", "result.r");
      await refused(() => baton.tasks.cancelTask({ id: claimed.id, reason: NUL }), "CancelTask", "reason");
      expect((await baton.tasks.getTask({ id: claimed.id })).task!.state).toBe(TaskState.CLAIMED);
    });
  });

  describe("BatchCreateTasks", () => {
    it("refuses an empty batch and one over 500", async () => {
      await refused(() => baton.tasks.batchCreateTasks({ requests: [] }), "BatchCreateTasks", "requests");
      const many = Array.from({ length: 501 }, () => ({ namespace: NS, queue: "q", type: "t" }));
      await refused(() => baton.tasks.batchCreateTasks({ requests: many }), "BatchCreateTasks", "requests");
    });

    it("locates each bad request in the batch and creates none of the good ones", async () => {
      const f = await refused(
        () =>
          baton.tasks.batchCreateTasks({
            requests: [
              { namespace: NS, queue: "good", type: "t" },
              { namespace: NS, queue: "", type: "t" },
              { namespace: NS, queue: "good", type: "t", payload: hugePayload() },
              { namespace: NS, queue: "good", type: "t", timeouts: { heartbeatTimeout: { seconds: 7200n } } },
            ],
          }),
        "BatchCreateTasks",
        "requests[1].queue",
        "requests[2].payload",
        "requests[3].timeouts.heartbeat_timeout",
      );
      expect(f.fields).toHaveLength(3);
    });
  });

  describe("GetTask", () => {
    it("refuses a missing or malformed id", async () => {
      await refused(() => baton.tasks.getTask({ id: "" }), "GetTask", "id");
      await refused(() => baton.tasks.getTask({ id: "123" }), "GetTask", "id");
      await refused(() => baton.tasks.getTask({ id: `${pending.id}x` }), "GetTask", "id");
      await refused(() => baton.tasks.getTask({ id: "'; DROP TABLE baton_tasks; --" }), "GetTask", "id");
    });
  });

  describe("ListTasks", () => {
    it("refuses an unknown enum state", async () => {
      await refused(() => baton.tasks.listTasks({ namespace: NS, states: [99 as TaskState] }), "ListTasks", "states[0]");
      await refused(
        () => baton.tasks.listTasks({ namespace: NS, states: [TaskState.PENDING, TaskState.UNSPECIFIED] }),
        "ListTasks",
        "states[1]",
      );
    });

    it("refuses an unknown enum name or field name in JSON instead of ignoring it", async () => {
      const post = async (body: unknown) => {
        const res = await fetch(`${baton.server.url}/baton.v1.TaskService/ListTasks`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        const json = (await res.json()) as { code: string; details?: { type: string; value: string }[] };
        const detail = json.details?.find((d) => d.type === ErrorDetailSchema.typeName);
        return { status: res.status, code: json.code, detail: detail && fromBinary(ErrorDetailSchema, Buffer.from(detail.value, "base64")) };
      };
      for (const [body, field] of [
        [{ namespace: NS, states: ["BOGUS"] }, "states[0]"],
        [{ namespace: NS, states: ["TASK_STATE_PENDING", "PENDING_TYPO"] }, "states[1]"],
        [{ namespace: NS, stat: ["TASK_STATE_PENDING"] }, "stat"],
      ] as const) {
        const before = await everything();
        const r = await post(body);
        expect(r.status).toBe(400);
        expect(r.code).toBe("invalid_argument");
        expect(r.detail!.reason).toBe(ErrorReason[ErrorReason.INVALID_FIELD]);
        expect(r.detail!.fieldViolations.map((v) => v.field)).toEqual([field]);
        expect(await everything()).toEqual(before);
      }
    });

    it("refuses a forged page token (valid filter hash, cursor not a UUID) before any SQL", async () => {
      const first = await baton.tasks.listTasks({ namespace: NS, pageSize: 1 });
      expect(first.nextPageToken).not.toBe("");
      // Keep everything the server put in the token but the cursor.
      const parts = JSON.parse(Buffer.from(first.nextPageToken, "base64url").toString("utf8")) as string[];
      for (const cursor of ["not-a-uuid", "00000000-0000-0000-0000-000000000000"]) {
        const forged = Buffer.from(JSON.stringify([cursor, ...parts.slice(1)])).toString("base64url");
        await refused(() => baton.tasks.listTasks({ namespace: NS, pageSize: 1, pageToken: forged }), "ListTasks", "page_token");
      }
      // The real token still pages.
      expect((await baton.tasks.listTasks({ namespace: NS, pageSize: 1, pageToken: first.nextPageToken })).tasks).toHaveLength(1);
    });

    it("refuses bad page sizes and names", async () => {
      await refused(() => baton.tasks.listTasks({ namespace: NS, pageSize: 501 }), "ListTasks", "page_size");
      await refused(() => baton.tasks.listTasks({ namespace: NS, pageSize: -1 }), "ListTasks", "page_size");
      await refused(() => baton.tasks.listTasks({ namespace: "UPPER", queue: "a b", type: "#" }), "ListTasks", "namespace", "queue", "type");
    });
  });

  describe("CancelTask", () => {
    it("refuses a bad id and an oversize reason, leaving the task as it was", async () => {
      await refused(() => baton.tasks.cancelTask({ id: "nope" }), "CancelTask", "id");
      await refused(() => baton.tasks.cancelTask({ id: pending.id, reason: "r".repeat(1025) }), "CancelTask", "reason");
      await refused(() => baton.tasks.cancelTask({ id: claimed.id, reason: "r".repeat(1025) }), "CancelTask", "reason");
      const after = (await baton.tasks.getTask({ id: claimed.id })).task!;
      expect(after.cancelRequested).toBe(false);
    });
  });

  describe("RequeueTask", () => {
    it("refuses a bad id and a bad scheduled_time, leaving the task DEAD_LETTER", async () => {
      await refused(() => baton.tasks.requeueTask({ id: "" }), "RequeueTask", "id");
      await refused(
        () => baton.tasks.requeueTask({ id: dead.id, scheduledTime: { seconds: 1n, nanos: 1_000_000_000 } }),
        "RequeueTask",
        "scheduled_time",
      );
      expect((await baton.tasks.getTask({ id: dead.id })).task!.state).toBe(TaskState.DEAD_LETTER);
    });
  });

  describe("ClaimTasks", () => {
    it("refuses missing queue and worker_id, bad types, max_tasks and wait, claiming nothing", async () => {
      await refused(() => baton.tasks.claimTasks({ namespace: NS }), "ClaimTasks", "queue", "worker_id");
      await refused(
        () => baton.tasks.claimTasks({ namespace: NS, queue: "pending", workerId: "w", maxTasks: 101, types: ["ok", ""] }),
        "ClaimTasks",
        "max_tasks",
        "types[1]",
      );
      await refused(() => baton.tasks.claimTasks({ namespace: NS, queue: "pending", workerId: "w", maxTasks: -1 }), "ClaimTasks", "max_tasks");
      const negativeWait = await refused(
        () => baton.tasks.claimTasks({ namespace: NS, queue: "pending", workerId: "w", wait: { seconds: -1n } }),
        "ClaimTasks",
        "wait",
      );
      // The message states the documented range (0..30s, longer capped), not an internal bound.
      expect(negativeWait.detail.fieldViolations.find((v) => v.field === "wait")!.description).toBe(
        "must be between 0s and 30s (longer is capped at 30s); got -1s",
      );
      await refused(
        () => baton.tasks.claimTasks({ namespace: NS, queue: "pending", workerId: "w".repeat(129) }),
        "ClaimTasks",
        "worker_id",
      );
      expect((await baton.tasks.getTask({ id: pending.id })).task!.state).toBe(TaskState.PENDING);
    });
  });

  describe("Heartbeat", () => {
    it("refuses a missing or malformed task_id and lease_id, leaving the lease as it was", async () => {
      await refused(() => baton.tasks.heartbeat({}), "Heartbeat", "task_id", "lease_id");
      await refused(() => baton.tasks.heartbeat({ taskId: claimed.id, leaseId: "lease-1" }), "Heartbeat", "lease_id");
      await refused(() => baton.tasks.heartbeat({ taskId: "task-1", leaseId: claimed.lease!.leaseId }), "Heartbeat", "task_id");
    });
  });

  describe("CompleteTask", () => {
    it("refuses an oversize or too deep result, leaving the task CLAIMED", async () => {
      const leaseId = claimed.lease!.leaseId;
      await refused(() => baton.tasks.completeTask({ taskId: claimed.id, leaseId, result: hugePayload() }), "CompleteTask", "result");
      await refused(() => baton.tasks.completeTask({ taskId: claimed.id, leaseId, result: deepPayload(40) }), "CompleteTask", "result");
      await refused(() => baton.tasks.completeTask({ taskId: claimed.id, leaseId, result: { x: Number.NaN } }), "CompleteTask", "result");
      await refused(() => baton.tasks.completeTask({ taskId: claimed.id, leaseId: "" }), "CompleteTask", "lease_id");
      await refused(() => baton.tasks.completeTask({ taskId: VALID_UUID.slice(1), leaseId }), "CompleteTask", "task_id");
      expect((await baton.tasks.getTask({ id: claimed.id })).task!.state).toBe(TaskState.CLAIMED);
    });
  });

  describe("FailTask", () => {
    it("refuses a missing error, a missing error.type, oversize fields and a bad retry_after, leaving the task CLAIMED", async () => {
      const base = { taskId: claimed.id, leaseId: claimed.lease!.leaseId };
      await refused(() => baton.tasks.failTask(base), "FailTask", "error");
      await refused(() => baton.tasks.failTask({ ...base, error: { message: "no type" } }), "FailTask", "error.type");
      await refused(
        () => baton.tasks.failTask({ ...base, error: { type: "e".repeat(257), message: "m".repeat(16 * 1024 + 1), details: hugePayload() } }),
        "FailTask",
        "error.type",
        "error.message",
        "error.details",
      );
      await refused(() => baton.tasks.failTask({ ...base, error: { type: "x" }, retryAfter: { seconds: -5n } }), "FailTask", "retry_after");
      await refused(
        () => baton.tasks.failTask({ ...base, error: { type: "x" }, retryAfter: { seconds: 86_401n } }),
        "FailTask",
        "retry_after",
      );
      await refused(() => baton.tasks.failTask({ taskId: "x", leaseId: "y", error: { type: "x" } }), "FailTask", "task_id", "lease_id");
      expect((await baton.tasks.getTask({ id: claimed.id })).task!.state).toBe(TaskState.CLAIMED);
    });
  });

  describe("WatchTasks", () => {
    async function drain(req: Parameters<typeof baton.tasks.watchTasks>[0]) {
      for await (const _ of baton.tasks.watchTasks(req, { timeoutMs: 5_000 })) {
        throw new Error("a bad WatchTasks request streamed an event");
      }
    }

    it("fails the stream with INVALID_ARGUMENT naming the fields", async () => {
      await refused(() => drain({ taskId: "not-a-uuid" }), "WatchTasks", "task_id");
      await refused(() => drain({ namespace: NS, afterCursor: -1n }), "WatchTasks", "after_cursor");
      await refused(() => drain({ namespace: "BAD", queue: "a b", type: "" }), "WatchTasks", "namespace", "queue");
    });
  });
});
