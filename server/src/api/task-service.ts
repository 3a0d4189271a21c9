/**
 * TaskService: validates each request (S1), calls the engine, and answers with
 * the task and its agent contract (C1). No rules live here.
 */
import { create, toJson } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  BatchCreateTasksResponseSchema,
  CancelTaskResponseSchema,
  ClaimTasksResponseSchema,
  CompleteTaskResponseSchema,
  CreateTaskRequestSchema,
  CreateTaskResponseSchema,
  FailTaskResponseSchema,
  GetTaskResponseSchema,
  HeartbeatResponseSchema,
  ListTasksResponseSchema,
  RequeueTaskResponseSchema,
  TaskService,
  type CreateTaskRequest,
} from "../../../gen/ts/baton/v1/task_service_pb.js";
import { TaskState } from "../../../gen/ts/baton/v1/task_pb.js";
import { listContract, taskAction, taskContract } from "../core/contract.js";
import { DEFAULT_NAMESPACE, limits } from "../core/defaults.js";
import { invalidArgument } from "../core/errors.js";
import { decodePageToken, encodePageToken } from "../core/page-token.js";
import { requestHash } from "../core/request-hash.js";
import { taskSpecFromRequest } from "../core/task-spec.js";
import { Violations } from "../core/validation.js";
import { cancel, requeue } from "../engine/cancel-requeue.js";
import { claimTasks } from "../engine/claim-tasks.js";
import { createTasks, type CreateInput } from "../engine/create-tasks.js";
import type { Engine } from "../engine/engine.js";
import { complete, fail, heartbeat } from "../engine/lease-calls.js";
import { getTask, listTasks } from "../engine/read-tasks.js";
import type { TaskStateName } from "../core/task-row.js";
import { stateNameOf, taskFromRow } from "./task-message.js";
import { watchTasks } from "./watch-tasks.js";
import type { WatchHub } from "../engine/watch-hub.js";
import type { Dispatcher } from "../engine/dispatcher.js";
import { callEngine } from "./call-engine.js";

type Method = keyof typeof TaskService.method;

function check(v: Violations, method: Method): void {
  if (!v.empty) throw invalidArgument(v.list, taskAction(method, "send the request again with the listed fields fixed"));
}

function createInput(req: CreateTaskRequest, v: Violations, prefix = ""): CreateInput {
  const spec = taskSpecFromRequest(req, v, prefix);
  // toJson throws on values validation refuses (a timestamp past 9999, a malformed
  // duration), so only a valid request is hashed; an invalid one is never stored (S1).
  if (!v.empty) return { spec, requestHash: "" };
  const body = toJson(CreateTaskRequestSchema, { ...req, namespace: spec.namespace });
  return { spec, requestHash: requestHash(body) };
}

/** `dispatcher` frees the slot of a Listen session whose worker reports through these unary calls (F1). */
export function createTaskService(engine: Engine, hub: WatchHub, dispatcher?: Dispatcher): ServiceImpl<typeof TaskService> {
  return {
    async createTask(req) {
      const v = new Violations();
      const input = createInput(req, v);
      check(v, "createTask");
      const [outcome] = await createTasks(engine, [input]);
      const task = taskFromRow(outcome!.row);
      return create(CreateTaskResponseSchema, { task, created: outcome!.created, contract: taskContract(task, "producer") });
    },

    async batchCreateTasks(req) {
      const v = new Violations();
      if (req.requests.length === 0 || req.requests.length > limits.batchCreateMax) {
        v.add("requests", `must hold 1..${limits.batchCreateMax} tasks; got ${req.requests.length}`);
      }
      const inputs = req.requests.slice(0, limits.batchCreateMax).map((r, i) => createInput(r, v, `requests[${i}].`));
      check(v, "batchCreateTasks");
      const outcomes = await createTasks(engine, inputs);
      return create(BatchCreateTasksResponseSchema, {
        tasks: outcomes.map((o) => taskFromRow(o.row)),
        contract: listContract(
          [taskAction("getTask", "read one task's state"), taskAction("watchTasks", "stream the tasks' state changes")],
          `${outcomes.filter((o) => o.created).length} created, ${outcomes.filter((o) => !o.created).length} returned by idempotency key`,
        ),
      });
    },

    async getTask(req) {
      const v = new Violations();
      v.taskId("id", req.id);
      check(v, "getTask");
      const { row, attempts } = await getTask(engine, req.id);
      const task = taskFromRow(row, attempts);
      return create(GetTaskResponseSchema, { task, contract: taskContract(task, "producer") });
    },

    async listTasks(req) {
      const v = new Violations();
      v.namespace("namespace", req.namespace, limits.namespaceMaxChars);
      if (req.queue !== "") v.name("queue", req.queue, limits.nameMaxChars);
      if (req.type !== "") v.name("type", req.type, limits.nameMaxChars);
      const states: TaskStateName[] = [];
      req.states.forEach((s, i) => {
        const name = stateNameOf[s];
        if (name) states.push(name);
        else v.add(`states[${i}]`, `must be one of PENDING, CLAIMED, COMPLETED, DEAD_LETTER, CANCELLED; got ${TaskState[s] ?? s}`);
      });
      const pageSize = req.pageSize === 0 ? limits.pageSizeDefault : req.pageSize;
      v.intRange("page_size", pageSize, 1, limits.pageSizeMax);
      const filterHash = requestHash([req.namespace || DEFAULT_NAMESPACE, req.queue, req.type, [...states].sort()]).slice(0, 16);
      let afterId: string | null = null;
      if (req.pageToken !== "") {
        const cursor = decodePageToken(req.pageToken);
        if (!cursor) v.add("page_token", "is not a token from ListTasks: pass next_page_token unchanged, or leave it empty for the first page");
        else if (cursor.filterHash !== filterHash) v.add("page_token", "was made for other filters: keep namespace, queue, type and states the same while paging");
        else afterId = cursor.afterId;
      }
      check(v, "listTasks");
      const rows = await listTasks(engine, {
        namespace: req.namespace || DEFAULT_NAMESPACE,
        queue: req.queue,
        type: req.type,
        states,
        afterId,
        limit: pageSize + 1,
      });
      const page = rows.slice(0, pageSize);
      const last = page[page.length - 1];
      const nextPageToken = rows.length > pageSize && last ? encodePageToken({ afterId: last.id, filterHash }) : "";
      return create(ListTasksResponseSchema, {
        tasks: page.map((r) => taskFromRow(r)),
        nextPageToken,
        contract: listContract(
          nextPageToken
            ? [taskAction("listTasks", "fetch the next page with page_token = next_page_token"), taskAction("getTask", "read one task with its history")]
            : [taskAction("getTask", "read one task with its history")],
          nextPageToken ? "more tasks match: page on" : "this is the last page",
        ),
      });
    },

    async cancelTask(req) {
      const v = new Violations();
      v.taskId("id", req.id);
      v.maxChars("reason", req.reason, limits.reasonMaxChars);
      check(v, "cancelTask");
      const task = taskFromRow(await cancel(engine, req.id, req.reason));
      return create(CancelTaskResponseSchema, { task, contract: taskContract(task, "producer") });
    },

    async requeueTask(req) {
      const v = new Violations();
      v.taskId("id", req.id);
      const at = v.timestamp("scheduled_time", req.scheduledTime);
      check(v, "requeueTask");
      const task = taskFromRow(await requeue(engine, req.id, at === undefined ? null : new Date(at)));
      return create(RequeueTaskResponseSchema, { task, contract: taskContract(task, "producer") });
    },

    async claimTasks(req, ctx) {
      const v = new Violations();
      v.namespace("namespace", req.namespace, limits.namespaceMaxChars);
      v.name("queue", req.queue, limits.nameMaxChars);
      req.types.forEach((t, i) => v.name(`types[${i}]`, t, limits.nameMaxChars));
      v.name("worker_id", req.workerId, limits.nameMaxChars);
      const maxTasks = req.maxTasks === 0 ? 1 : req.maxTasks;
      v.intRange("max_tasks", maxTasks, 1, limits.claimMaxTasks);
      // A wait beyond the cap is shortened, not refused: long-poll clients often ask for "as long as you allow".
      const waitMs = v.cappedDuration("wait", req.wait, limits.claimWaitMaxMs) ?? 0;
      check(v, "claimTasks");
      const rows = await claimTasks(
        engine,
        { namespace: req.namespace || DEFAULT_NAMESPACE, queue: req.queue, types: req.types, workerId: req.workerId, limit: maxTasks },
        waitMs,
        ctx.signal,
      );
      // The caller now holds these leases: the only unary response that carries lease ids (L5).
      const tasks = rows.map((r) => taskFromRow(r, [], { forLeaseHolder: true }));
      const first = tasks[0];
      return create(ClaimTasksResponseSchema, {
        tasks,
        contract:
          tasks.length === 1 && first
            ? taskContract(first, "worker")
            : listContract(
                tasks.length === 0
                  ? [taskAction("claimTasks", "nothing was claimable: call again (with wait set to long-poll)")]
                  : [
                      taskAction("heartbeat", "renew each lease before its lease.expire_time (L2)"),
                      taskAction("completeTask", "report each result with its lease_id"),
                      taskAction("failTask", "report each failure with its lease_id"),
                    ],
                tasks.length === 0 ? "no task was claimable within wait" : "you hold a lease on each returned task",
              ),
      });
    },

    async heartbeat(req) {
      const v = new Violations();
      v.taskId("task_id", req.taskId);
      v.leaseId("lease_id", req.leaseId);
      check(v, "heartbeat");
      const renewed = await heartbeat(engine, req.taskId, req.leaseId);
      const deadline = timestampFromDate(renewed.lease_expires_at);
      return create(HeartbeatResponseSchema, {
        leaseExpireTime: deadline,
        cancelRequested: renewed.cancel_requested,
        contract: {
          resource: `task/${req.taskId}`,
          state: "CLAIMED",
          nextActions: renewed.cancel_requested
            ? [taskAction("failTask", "cancellation was requested: stop the handler and call FailTask (W2)", deadline)]
            : [
                taskAction("heartbeat", "renew the lease again before it expires (L2)", deadline),
                taskAction("completeTask", "report the result", deadline),
                taskAction("failTask", "report a failure", deadline),
              ],
          recovery: { retryable: false, guidance: renewed.cancel_requested ? "stop work: the task was cancelled" : "keep working; heartbeat before lease_expire_time" },
        },
      });
    },

    async completeTask(req) {
      const v = new Violations();
      v.taskId("task_id", req.taskId);
      v.leaseId("lease_id", req.leaseId);
      const result = v.jsonObject("result", req.result, limits.jsonMaxBytes, limits.jsonMaxDepth);
      check(v, "completeTask");
      const task = taskFromRow(await complete(engine, req.taskId, req.leaseId, result));
      dispatcher?.leaseEnded(req.taskId);
      return create(CompleteTaskResponseSchema, { task, contract: taskContract(task, "worker") });
    },

    async failTask(req) {
      const v = new Violations();
      v.taskId("task_id", req.taskId);
      v.leaseId("lease_id", req.leaseId);
      const error = req.error;
      if (!error) v.add("error", "is required: describe the failure with at least error.type");
      else {
        if (error.type === "") v.add("error.type", "is required: a short machine-readable type such as http_503");
        v.maxChars("error.type", error.type, limits.errorTypeMaxChars);
        v.maxChars("error.message", error.message, limits.errorMessageMaxChars);
        v.jsonObject("error.details", error.details, limits.jsonMaxBytes, limits.jsonMaxDepth);
      }
      const retryAfterMs = v.duration("retry_after", req.retryAfter, 0, limits.retryAfterMaxMs) ?? 0;
      check(v, "failTask");
      const stored = { type: error!.type, message: error!.message, nonRetryable: error!.nonRetryable, details: error!.details };
      const task = taskFromRow(await fail(engine, req.taskId, req.leaseId, stored, retryAfterMs));
      dispatcher?.leaseEnded(req.taskId);
      return create(FailTaskResponseSchema, { task, contract: taskContract(task, "worker") });
    },

    watchTasks(req, ctx) {
      return watchTasks(callEngine(engine, ctx), hub, req, ctx.signal, ctx.responseHeader);
    },
  };
}
