import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { LeaseSchema, TaskSchema, TaskState, type Task } from "../../../gen/ts/baton/v1/task_pb.js";
import { listContract, taskAction, taskContract, type Audience } from "./contract.js";

const expire = timestampFromMs(1_700_000_030_000);

function task(state: TaskState, extra: { cancelRequested?: boolean } = {}): Task {
  return create(TaskSchema, {
    id: "0193b4c2-1f00-7000-8000-000000000001",
    queue: "q",
    state,
    lease: state === TaskState.CLAIMED ? create(LeaseSchema, { leaseId: "l", expireTime: expire }) : undefined,
    terminalReason: state === TaskState.DEAD_LETTER ? "all 3 attempts failed" : "",
    ...extra,
  });
}

function names(t: Task, audience: Audience): string[] {
  return taskContract(t, audience).nextActions.map((a) => a.rpc.replace("baton.v1.TaskService/", ""));
}

describe("taskAction", () => {
  it("names the RPC and its Connect path", () => {
    const a = taskAction("completeTask", "report the result", expire);
    expect(a.rpc).toBe("baton.v1.TaskService/CompleteTask");
    expect(a.httpPath).toBe("/baton.v1.TaskService/CompleteTask");
    expect(a.purpose).toBe("report the result");
    expect(a.deadline).toEqual(expire);
    expect(taskAction("getTask", "read").deadline).toBeUndefined();
  });
});

describe("taskContract (C1, C3, C4)", () => {
  it("names the resource and state", () => {
    const c = taskContract(task(TaskState.PENDING), "producer");
    expect(c.resource).toBe("task/0193b4c2-1f00-7000-8000-000000000001");
    expect(c.state).toBe("PENDING");
    expect(c.recovery!.retryable).toBe(false);
    expect(c.recovery!.guidance).not.toBe("");
  });

  it("offers a PENDING task's producer read, watch and cancel", () => {
    expect(names(task(TaskState.PENDING), "producer")).toEqual(expect.arrayContaining(["GetTask", "WatchTasks", "CancelTask"]));
    expect(names(task(TaskState.PENDING), "producer")).not.toContain("RequeueTask");
  });

  it("offers the lease holder heartbeat, complete and fail, each due at the lease's expire_time", () => {
    const c = taskContract(task(TaskState.CLAIMED), "worker");
    expect(c.nextActions.map((a) => a.rpc.split("/")[1])).toEqual(["Heartbeat", "CompleteTask", "FailTask"]);
    for (const a of c.nextActions) expect(a.deadline).toEqual(expire);
  });

  it("tells a worker whose task was cancelled only to fail it (W2)", () => {
    const t = task(TaskState.CLAIMED, { cancelRequested: true });
    expect(names(t, "worker")).toEqual(["FailTask"]);
    expect(taskContract(t, "worker").nextActions[0]!.deadline).toEqual(expire);
    expect(taskContract(t, "worker").recovery!.guidance).toContain("FailTask");
  });

  it("never offers a producer the worker's lease calls", () => {
    const n = names(task(TaskState.CLAIMED), "producer");
    expect(n).toContain("CancelTask");
    for (const lease of ["Heartbeat", "CompleteTask", "FailTask"]) expect(n).not.toContain(lease);
  });

  it("offers RequeueTask only for DEAD_LETTER", () => {
    expect(names(task(TaskState.DEAD_LETTER), "producer")).toEqual(["GetTask", "RequeueTask"]);
    expect(taskContract(task(TaskState.DEAD_LETTER), "producer").recovery!.guidance).toContain("all 3 attempts failed");
    for (const s of [TaskState.PENDING, TaskState.CLAIMED, TaskState.COMPLETED, TaskState.CANCELLED]) {
      expect(names(task(s), "producer")).not.toContain("RequeueTask");
    }
  });

  it("offers only GetTask once a task is COMPLETED or CANCELLED", () => {
    for (const audience of ["producer", "worker"] as const) {
      expect(names(task(TaskState.COMPLETED), audience)).toEqual(["GetTask"]);
      expect(names(task(TaskState.CANCELLED), audience)).toEqual(["GetTask"]);
    }
  });
});

describe("listContract", () => {
  it("has no resource or state, and carries the given actions and guidance", () => {
    const c = listContract([taskAction("getTask", "read one")], "this is the last page");
    expect(c.resource).toBe("");
    expect(c.state).toBe("");
    expect(c.nextActions.map((a) => a.rpc)).toEqual(["baton.v1.TaskService/GetTask"]);
    expect(c.recovery!.guidance).toBe("this is the last page");
  });
});
