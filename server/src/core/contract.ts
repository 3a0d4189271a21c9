import { create } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import {
  AgentContractSchema,
  NextActionSchema,
  RecoverySchema,
  type AgentContract,
  type NextAction,
} from "../../../gen/ts/baton/v1/contract_pb.js";
import { TaskState, type Task } from "../../../gen/ts/baton/v1/task_pb.js";
import { TaskService } from "../../../gen/ts/baton/v1/task_service_pb.js";

/** Who receives a response decides which next actions are valid for them (C3). */
export type Audience = "producer" | "worker";

type TaskMethod = keyof typeof TaskService.method;

/** A NextAction for a TaskService method, with its RPC name and Connect path. */
export function taskAction(method: TaskMethod, purpose: string, deadline?: Timestamp): NextAction {
  const name = TaskService.method[method].name;
  return create(NextActionSchema, {
    rpc: `${TaskService.typeName}/${name}`,
    httpPath: `/${TaskService.typeName}/${name}`,
    purpose,
    deadline,
  });
}

/** What a task's contract depends on: an Ack builds it from a stored row without converting the whole task. */
export type ContractSubject = Pick<Task, "id" | "state" | "queue" | "lease" | "cancelRequested" | "terminalReason">;

/** The contract of a response about one task (C1, C3). */
export function taskContract(task: ContractSubject, audience: Audience): AgentContract {
  return create(AgentContractSchema, {
    resource: `task/${task.id}`,
    state: TaskState[task.state],
    nextActions: nextActionsFor(task, audience),
    recovery: create(RecoverySchema, { retryable: false, guidance: guidanceFor(task, audience) }),
  });
}

/** The contract of a response about many tasks or none (lists, batches, empty claims). */
export function listContract(nextActions: NextAction[], guidance: string): AgentContract {
  return create(AgentContractSchema, {
    nextActions,
    recovery: create(RecoverySchema, { retryable: false, guidance }),
  });
}

// Actions without a deadline are the same in every response: built once and shared
// (responses are only encoded, never changed, after they are built).
const watch = taskAction("watchTasks", "stream this task's state changes (filter by task_id)");
const get = taskAction("getTask", "read the task's state, result and attempt history");
const cancelRunning = taskAction("cancelTask", "ask the worker to stop (delivered on its next heartbeat)");
const requeue = taskAction("requeueTask", "move it back to PENDING with a fresh attempt budget after fixing the cause");

function nextActionsFor(task: ContractSubject, audience: Audience): NextAction[] {
  switch (task.state) {
    case TaskState.PENDING:
      return [
        get,
        watch,
        taskAction("cancelTask", "cancel the task before a worker claims it"),
        taskAction("claimTasks", `claim it as a worker from queue ${task.queue}`),
      ];
    case TaskState.CLAIMED: {
      const deadline = task.lease?.expireTime;
      if (audience === "worker") {
        if (task.cancelRequested) {
          return [taskAction("failTask", "stop the handler and report the cancellation (W2)", deadline)];
        }
        return [
          taskAction("heartbeat", "renew the lease before it expires (L2)", deadline),
          taskAction("completeTask", "report the result", deadline),
          taskAction("failTask", "report a failure (retryable unless error.non_retryable)", deadline),
        ];
      }
      return [get, watch, cancelRunning];
    }
    case TaskState.DEAD_LETTER:
      return [get, requeue];
    default:
      return [get];
  }
}

function guidanceFor(task: ContractSubject, audience: Audience): string {
  switch (task.state) {
    case TaskState.PENDING:
      return "waiting for a worker; watch or poll GetTask for the outcome";
    case TaskState.CLAIMED:
      if (audience === "worker") {
        return task.cancelRequested
          ? "cancellation was requested: stop work and call FailTask"
          : "you hold the lease: heartbeat before lease.expire_time, then CompleteTask or FailTask with this lease_id";
      }
      return "a worker is running it; watch or poll GetTask for the outcome";
    case TaskState.COMPLETED:
      return "done: the result is in task.result";
    case TaskState.DEAD_LETTER:
      return `failed for good: ${task.terminalReason}; fix the cause, then RequeueTask`;
    case TaskState.CANCELLED:
      return `cancelled: ${task.terminalReason}`;
    default:
      return "";
  }
}
