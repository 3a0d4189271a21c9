/**
 * Defaults and limits of the task protocol. The .proto comments state the same
 * numbers; change both together.
 */
export const DEFAULT_NAMESPACE = "default";

export const taskDefaults = {
  maxAttempts: 3,
  priority: 0,
  initialBackoffMs: 1_000,
  multiplier: 2,
  maxBackoffMs: 5 * 60_000,
  jitter: 0.2,
  startToCloseMs: 60 * 60_000,
  heartbeatMs: 30_000,
} as const;

export const limits = {
  nameMaxChars: 128,
  namespaceMaxChars: 63,
  idempotencyKeyMaxChars: 256,
  traceIdMaxChars: 128,
  reasonMaxChars: 1024,
  labelsMax: 64,
  labelKeyMaxChars: 63,
  labelValueMaxChars: 256,
  jsonMaxBytes: 1024 * 1024,
  // A payload must stay decodable wherever it is sent back: protobuf decoders stop at
  // 100 nested messages (protobuf-es, Python), each JSON level costs two (Struct and
  // Value), and a response wraps the payload in up to 4 more (e.g. WatchTasksResponse,
  // TaskEvent, Task). 32 levels keeps every response under 70.
  jsonMaxDepth: 32,
  priorityAbs: 1000,
  maxAttempts: 1000,
  initialBackoffMaxMs: 60 * 60_000,
  maxBackoffMaxMs: 24 * 60 * 60_000,
  multiplierMax: 10,
  startToCloseMinMs: 1_000,
  startToCloseMaxMs: 7 * 24 * 60 * 60_000,
  heartbeatMinMs: 1_000,
  heartbeatMaxMs: 60 * 60_000,
  scheduleToStartMaxMs: 365 * 24 * 60 * 60_000,
  retryAfterMaxMs: 24 * 60 * 60_000,
  batchCreateMax: 500,
  pageSizeDefault: 50,
  pageSizeMax: 500,
  claimMaxTasks: 100,
  claimWaitMaxMs: 30_000,
  errorTypeMaxChars: 256,
  errorMessageMaxChars: 16 * 1024,
  nonRetryableTypesMax: 64,
} as const;
