import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CreateTaskRequestSchema } from "../../../gen/ts/baton/v1/task_service_pb.js";
import { taskSpecFromRequest } from "./task-spec.js";
import { Violations } from "./validation.js";

function spec(init: MessageInitShape<typeof CreateTaskRequestSchema>, prefix = "") {
  const v = new Violations();
  const s = taskSpecFromRequest(create(CreateTaskRequestSchema, init), v, prefix);
  return { spec: s, fields: v.list.map((x) => x.field) };
}

describe("taskSpecFromRequest", () => {
  it("applies every default of the protocol", () => {
    const { spec: s, fields } = spec({ queue: "q", type: "t" });
    expect(fields).toEqual([]);
    expect(s).toEqual({
      namespace: "default",
      queue: "q",
      type: "t",
      payload: {},
      priority: 0,
      maxAttempts: 3,
      retryPolicy: { initialBackoffMs: 1_000, multiplier: 2, maxBackoffMs: 300_000, jitter: 0.2, nonRetryableErrorTypes: [] },
      scheduleToStartMs: null,
      startToCloseMs: 3_600_000,
      heartbeatMs: 30_000,
      scheduledAtMs: null,
      idempotencyKey: null,
      labels: {},
      traceId: "",
      parentId: "",
    });
  });

  it("keeps given values", () => {
    const { spec: s, fields } = spec({
      namespace: "tenant-a",
      queue: "q",
      type: "t",
      payload: { a: [1, 2] },
      priority: -7,
      maxAttempts: 10,
      retryPolicy: { initialBackoff: { seconds: 2n }, multiplier: 3, maxBackoff: { seconds: 60n }, jitter: 0.5, nonRetryableErrorTypes: ["x"] },
      timeouts: { scheduleToStartTimeout: { seconds: 5n }, startToCloseTimeout: { seconds: 120n }, heartbeatTimeout: { seconds: 10n } },
      scheduledTime: { seconds: 1_700_000_000n },
      idempotencyKey: "k",
      labels: { team: "a" },
      traceId: "tr",
      parentId: "pa",
    });
    expect(fields).toEqual([]);
    expect(s).toMatchObject({
      namespace: "tenant-a",
      payload: { a: [1, 2] },
      priority: -7,
      maxAttempts: 10,
      retryPolicy: { initialBackoffMs: 2_000, multiplier: 3, maxBackoffMs: 60_000, jitter: 0.5, nonRetryableErrorTypes: ["x"] },
      scheduleToStartMs: 5_000,
      startToCloseMs: 120_000,
      heartbeatMs: 10_000,
      scheduledAtMs: 1_700_000_000_000,
      idempotencyKey: "k",
      labels: { team: "a" },
      traceId: "tr",
      parentId: "pa",
    });
  });

  it("defaults the heartbeat timeout to at most the start-to-close timeout", () => {
    expect(spec({ queue: "q", type: "t", timeouts: { startToCloseTimeout: { seconds: 5n } } }).spec.heartbeatMs).toBe(5_000);
  });

  it("raises the default max_backoff to a larger initial_backoff", () => {
    const { spec: s, fields } = spec({ queue: "q", type: "t", retryPolicy: { initialBackoff: { seconds: 3600n } } });
    expect(fields).toEqual([]);
    expect(s.retryPolicy.maxBackoffMs).toBe(3_600_000);
  });

  it("takes the default multiplier for an unset (0) multiplier", () => {
    expect(spec({ queue: "q", type: "t", retryPolicy: { jitter: 0.1 } }).spec.retryPolicy.multiplier).toBe(2);
  });

  it("reports every invalid field at once", () => {
    const { fields } = spec({
      namespace: "Bad",
      queue: "",
      type: "a b",
      priority: 1001,
      maxAttempts: 1001,
      retryPolicy: {
        initialBackoff: { seconds: 7200n },
        maxBackoff: { seconds: 100_000n },
        multiplier: 11,
        jitter: 2,
        nonRetryableErrorTypes: [""],
      },
      timeouts: { scheduleToStartTimeout: { nanos: 1 }, startToCloseTimeout: { seconds: 0n, nanos: 500 }, heartbeatTimeout: { seconds: 4000n } },
      scheduledTime: { seconds: -5n },
      idempotencyKey: "k".repeat(257),
      labels: { "": "v" },
      traceId: "t".repeat(129),
      parentId: "p".repeat(129),
    });
    expect(fields.sort()).toEqual(
      [
        "namespace",
        "queue",
        "type",
        "priority",
        "max_attempts",
        "retry_policy.initial_backoff",
        "retry_policy.max_backoff",
        "retry_policy.multiplier",
        "retry_policy.jitter",
        "retry_policy.non_retryable_error_types[0]",
        "timeouts.schedule_to_start_timeout",
        "timeouts.start_to_close_timeout",
        "timeouts.heartbeat_timeout",
        "scheduled_time",
        "idempotency_key",
        'labels[""]',
        "trace_id",
        "parent_id",
      ].sort(),
    );
  });

  it("refuses max_backoff below initial_backoff", () => {
    const { fields } = spec({ queue: "q", type: "t", retryPolicy: { initialBackoff: { seconds: 10n }, maxBackoff: { seconds: 5n } } });
    expect(fields).toEqual(["retry_policy.max_backoff"]);
  });

  it("refuses more than 64 non-retryable error types", () => {
    const { fields } = spec({ queue: "q", type: "t", retryPolicy: { nonRetryableErrorTypes: Array.from({ length: 65 }, (_, i) => `e${i}`) } });
    expect(fields).toEqual(["retry_policy.non_retryable_error_types"]);
  });

  it("prefixes field paths, to locate a request inside a batch", () => {
    expect(spec({ queue: "", type: "t", priority: 5000 }, "requests[3].").fields).toEqual(["requests[3].queue", "requests[3].priority"]);
  });
});
