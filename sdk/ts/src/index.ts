// The public API of @baton/sdk. Everything else in src/ is internal.
export { Client } from "./client.js";
export type {
  CallOptions,
  ClaimTasksInput,
  ClientOptions,
  CompleteTaskInput,
  CreatedTask,
  CreateTaskInput,
  FailTaskInput,
  HeartbeatResult,
  ListTasksInput,
} from "./client.js";
export type { WatchOptions, WatchTasksInput } from "./watch.js";
// Workflows: definitions (also as YAML), runs, approvals.
export { WorkflowClient } from "./workflow.js";
export type { PutWorkflowResult, StartRunInput, WorkflowInput } from "./workflow.js";
export type { HttpVersion, Protocol } from "./transport.js";

export { BatonError, Code, ErrorReason, NonRetryableError, reasonCodeOf, reasonName, RetryableError, TaskAbortedError } from "./errors.js";
export type { AbortCause, FieldViolation, HandlerErrorOptions } from "./errors.js";

export { Worker } from "./worker.js";
export type { StopOptions, WorkerEvents, WorkerOptions, WorkerTransport } from "./worker.js";
export type { Handler, TaskContext } from "./task-run.js";
export type { SignalOptions } from "./signals.js";

export { Backoff } from "./backoff.js";
export type { BackoffOptions } from "./backoff.js";
export { consoleLogger, silentLogger } from "./logger.js";
export type { Logger } from "./logger.js";
export { SDK_NAME, SDK_VERSION } from "./version.js";

// Protocol types and enums callers need to read tasks and events.
export { TaskEventType, TaskState, AttemptOutcome } from "../../../gen/ts/baton/v1/task_pb.js";
export type { Attempt, Lease, Task, TaskError, TaskEvent } from "../../../gen/ts/baton/v1/task_pb.js";
export type { AgentContract, ErrorDetail } from "../../../gen/ts/baton/v1/contract_pb.js";
export { RunEventType, RunState, StepState } from "../../../gen/ts/baton/v1/workflow_pb.js";
export type { Run, RunEvent, RunStep, Workflow } from "../../../gen/ts/baton/v1/workflow_pb.js";
// Duration and Timestamp helpers for CreateTaskInput's retry policy, timeouts and scheduled time.
export { durationFromMs, durationMs, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
