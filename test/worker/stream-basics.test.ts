import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../../gen/ts/baton/v1/task_pb.js";
import { openRawSession as openSession } from "../support/raw-session.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";

describe.each(backends)("worker stream on %s", (backend) => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton(backend);
  });
  afterAll(async () => baton?.close());

  it("welcomes, assigns a created task at once, and acks its result", async () => {
    const s = openSession(baton.server.url);
    s.send({ case: "hello", value: { queues: ["stream"], workerId: "w", instanceId: "i1", slots: 2 } });
    const welcome = await s.next();
    expect(welcome.case).toBe("welcome");
    const { task } = await baton.tasks.createTask({ queue: "stream", type: "t", payload: { x: 1 } });
    const assign = await s.next();
    expect(assign.case).toBe("assign");
    if (assign.case !== "assign") return;
    expect(assign.value.task!.id).toBe(task!.id);
    const leaseId = assign.value.task!.lease!.leaseId;
    s.send({ case: "result", value: { taskId: task!.id, leaseId, outcome: { case: "completed", value: { ok: 1 } } } });
    const ack = await s.next();
    expect(ack.case).toBe("ack");
    if (ack.case === "ack") {
      expect(ack.value.accepted).toBe(true);
      expect(ack.value.taskState).toBe(TaskState.COMPLETED);
    }
    // R3: a resend of an accepted result is accepted again and changes nothing.
    s.send({ case: "result", value: { taskId: task!.id, leaseId, outcome: { case: "completed", value: { ok: 2 } } } });
    const again = await s.next();
    expect(again.case === "ack" && again.value.accepted).toBe(true);
    expect((await baton.tasks.getTask({ id: task!.id })).task!.result).toEqual({ ok: 1 });
    s.close();
  });

  it("rejects a session whose first message is not Hello", async () => {
    const s = openSession(baton.server.url);
    s.send({ case: "drain", value: {} });
    await expect(s.next()).rejects.toThrow(/Hello/);
    s.close();
  });

  it("pushes Cancel at once when a running task is cancelled", async () => {
    const s = openSession(baton.server.url);
    s.send({ case: "hello", value: { queues: ["cancel-push"], workerId: "w", instanceId: "i2", slots: 1 } });
    expect((await s.next()).case).toBe("welcome");
    const { task } = await baton.tasks.createTask({ queue: "cancel-push", type: "t" });
    const assign = await s.next();
    expect(assign.case).toBe("assign");
    await baton.tasks.cancelTask({ id: task!.id, reason: "no longer needed" });
    const cancel = await s.next();
    expect(cancel.case).toBe("cancel");
    if (cancel.case === "cancel") {
      expect(cancel.value.taskId).toBe(task!.id);
      expect(cancel.value.leaseLost).toBe(false);
    }
    s.close();
  });
});
