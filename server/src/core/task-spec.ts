import type { JsonObject } from "@bufbuild/protobuf";
import type { CreateTaskRequest } from "../../../gen/ts/baton/v1/task_service_pb.js";
import { DEFAULT_NAMESPACE, limits, taskDefaults } from "./defaults.js";
import type { RetryPolicy } from "./failure-rules.js";
import { Violations } from "./validation.js";

/** A validated CreateTaskRequest with every default applied: what the store inserts. */
export interface TaskSpec {
  namespace: string;
  queue: string;
  type: string;
  payload: JsonObject;
  priority: number;
  maxAttempts: number;
  retryPolicy: RetryPolicy;
  scheduleToStartMs: number | null;
  startToCloseMs: number;
  heartbeatMs: number;
  /** Null: now, by the database clock. */
  scheduledAtMs: number | null;
  idempotencyKey: string | null;
  labels: Record<string, string>;
  traceId: string;
  parentId: string;
}

/** Validates one create request (S1); `prefix` locates it inside a batch. */
export function taskSpecFromRequest(req: CreateTaskRequest, v: Violations, prefix = ""): TaskSpec {
  const f = (name: string) => prefix + name;
  v.namespace(f("namespace"), req.namespace, limits.namespaceMaxChars);
  v.name(f("queue"), req.queue, limits.nameMaxChars);
  v.name(f("type"), req.type, limits.nameMaxChars);
  const payload = v.jsonObject(f("payload"), req.payload, limits.jsonMaxBytes, limits.jsonMaxDepth);
  v.intRange(f("priority"), req.priority, -limits.priorityAbs, limits.priorityAbs);
  const maxAttempts = req.maxAttempts === 0 ? taskDefaults.maxAttempts : req.maxAttempts;
  v.intRange(f("max_attempts"), maxAttempts, 1, limits.maxAttempts);

  const rp = req.retryPolicy;
  const initialBackoffMs =
    v.duration(f("retry_policy.initial_backoff"), rp?.initialBackoff, 0, limits.initialBackoffMaxMs) ?? taskDefaults.initialBackoffMs;
  const maxBackoffMs =
    v.duration(f("retry_policy.max_backoff"), rp?.maxBackoff, 0, limits.maxBackoffMaxMs) ??
    Math.max(taskDefaults.maxBackoffMs, initialBackoffMs);
  if (maxBackoffMs < initialBackoffMs) {
    v.add(f("retry_policy.max_backoff"), "must be at least retry_policy.initial_backoff");
  }
  const multiplier = rp === undefined || rp.multiplier === 0 ? taskDefaults.multiplier : rp.multiplier;
  v.numberRange(f("retry_policy.multiplier"), multiplier, 1, limits.multiplierMax);
  const jitter = rp?.jitter ?? taskDefaults.jitter;
  v.numberRange(f("retry_policy.jitter"), jitter, 0, 1);
  const nonRetryableErrorTypes = rp?.nonRetryableErrorTypes ?? [];
  if (nonRetryableErrorTypes.length > limits.nonRetryableTypesMax) {
    v.add(f("retry_policy.non_retryable_error_types"), `must have at most ${limits.nonRetryableTypesMax} entries`);
  }
  nonRetryableErrorTypes.forEach((t, i) => {
    if (t === "" || t.length > limits.errorTypeMaxChars) {
      v.add(f(`retry_policy.non_retryable_error_types[${i}]`), `must be 1..${limits.errorTypeMaxChars} characters`);
    }
  });

  const t = req.timeouts;
  const scheduleToStartMs =
    v.duration(f("timeouts.schedule_to_start_timeout"), t?.scheduleToStartTimeout, 1_000, limits.scheduleToStartMaxMs) ?? null;
  const startToCloseMs =
    v.duration(f("timeouts.start_to_close_timeout"), t?.startToCloseTimeout, limits.startToCloseMinMs, limits.startToCloseMaxMs) ??
    taskDefaults.startToCloseMs;
  const heartbeatMs =
    v.duration(f("timeouts.heartbeat_timeout"), t?.heartbeatTimeout, limits.heartbeatMinMs, limits.heartbeatMaxMs) ??
    Math.min(taskDefaults.heartbeatMs, startToCloseMs);

  const scheduledAtMs = v.timestamp(f("scheduled_time"), req.scheduledTime) ?? null;
  v.maxChars(f("idempotency_key"), req.idempotencyKey, limits.idempotencyKeyMaxChars);
  v.labels(f("labels"), req.labels, limits.labelsMax, limits.labelKeyMaxChars, limits.labelValueMaxChars);
  v.maxChars(f("trace_id"), req.traceId, limits.traceIdMaxChars);
  v.maxChars(f("parent_id"), req.parentId, limits.traceIdMaxChars);

  return {
    namespace: req.namespace || DEFAULT_NAMESPACE,
    queue: req.queue,
    type: req.type,
    payload,
    priority: req.priority,
    maxAttempts,
    retryPolicy: { initialBackoffMs, multiplier, maxBackoffMs, jitter, nonRetryableErrorTypes },
    scheduleToStartMs,
    startToCloseMs,
    heartbeatMs,
    scheduledAtMs,
    idempotencyKey: req.idempotencyKey === "" ? null : req.idempotencyKey,
    labels: { ...req.labels },
    traceId: req.traceId,
    parentId: req.parentId,
  };
}
