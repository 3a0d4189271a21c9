// A Result that cannot be applied is refused by its
// Ack and the session goes on (R2, R6), and a task whose lease a silent worker
// let expire is pushed at once to a healthy session on the same queue.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorReason } from "../../gen/ts/baton/v1/contract_pb.js";
import { TaskState } from "../../gen/ts/baton/v1/task_pb.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";
import { ms } from "../support/protocol.js";
import { openRawSession, type RawSession } from "../support/raw-session.js";

describe.each(backends)("refused results on %s", (backend) => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton(backend);
  });
  afterAll(async () => baton?.close());

  async function connect(queue: string, instanceId: string, slots: number): Promise<RawSession> {
    const s = openRawSession(baton.server.url);
    s.send({ case: "hello", value: { queues: [queue], workerId: instanceId, instanceId, slots } });
    await s.nextOf("welcome");
    return s;
  }

  it("acks a Result holding a value Postgres cannot store with INVALID_FIELD, and keeps serving the session", async () => {
    const s = await connect("rr-nul", "rr-1", 3);
    await baton.tasks.createTask({ queue: "rr-nul", type: "t" });
    await baton.tasks.createTask({ queue: "rr-nul", type: "t" });
    const a = (await s.nextOf("assign")).task!;
    const b = (await s.nextOf("assign")).task!;

    s.send({ case: "result", value: { taskId: a.id, leaseId: a.lease!.leaseId, outcome: { case: "completed", value: { items: [{ name: "x\u0000y" }] } } } });
    const refused = await s.nextOf("ack", 5_000);
    expect(refused.taskId).toBe(a.id);
    expect(refused.accepted).toBe(false);
    expect(refused.error!.reason).toBe(ErrorReason[ErrorReason.INVALID_FIELD]);
    expect(refused.error!.fieldViolations.map((v) => v.field)).toEqual(["result.completed.items[0].name"]);

    // A NUL in a failure's message or in a key of its details is refused the same way.
    // (A lone surrogate cannot cross binary protobuf: UTF-8 encoding turns it into U+FFFD.)
    const failed = { type: "e", message: "bad\u0000", details: { "k\u0000": 1 } };
    s.send({ case: "result", value: { taskId: a.id, leaseId: a.lease!.leaseId, outcome: { case: "failed", value: { error: failed } } } });
    const refused2 = await s.nextOf("ack", 5_000);
    expect(refused2.accepted).toBe(false);
    expect(refused2.error!.fieldViolations.map((v) => v.field)).toEqual(["result.failed.error.message", 'result.failed.error.details."k\\u0000"']);

    // The stream still serves: the other lease's Result is applied and acked...
    s.send({ case: "result", value: { taskId: b.id, leaseId: b.lease!.leaseId, outcome: { case: "completed", value: { ok: 1 } } } });
    const accepted = await s.nextOf("ack", 5_000);
    expect(accepted).toMatchObject({ taskId: b.id, accepted: true, taskState: TaskState.COMPLETED });
    // ...the refused one still holds its lease and can be completed properly...
    s.send({ case: "result", value: { taskId: a.id, leaseId: a.lease!.leaseId, outcome: { case: "completed", value: { ok: 2 } } } });
    expect(await s.nextOf("ack", 5_000)).toMatchObject({ taskId: a.id, accepted: true });
    expect((await baton.tasks.getTask({ id: a.id })).task!.result).toEqual({ ok: 2 });
    // ...and the dispatcher keeps assigning to it.
    const { task: c } = await baton.tasks.createTask({ queue: "rr-nul", type: "t" });
    expect((await s.nextOf("assign", 5_000)).task!.id).toBe(c!.id);
    s.close();
  });

  it("pushes a task whose lease a silent worker let expire to the healthy session within a second of expiry", async () => {
    const queue = "rr-expiry";
    const noBackoff = { initialBackoff: { seconds: 0n }, jitter: 0 };
    const timeouts = { heartbeatTimeout: { seconds: 2n } };
    // The silent worker gets the task first...
    const silent = await connect(queue, "rr-silent", 2);
    const { task } = await baton.tasks.createTask({ queue, type: "t", timeouts, retryPolicy: noBackoff });
    const first = (await silent.nextOf("assign")).task!;
    expect(first.id).toBe(task!.id);
    // ...and sends a Result the server cannot apply, then nothing more.
    silent.send({ case: "result", value: { taskId: first.id, leaseId: first.lease!.leaseId, outcome: { case: "completed", value: { v: "\u0000" } } } });

    // The healthy worker heartbeats as an SDK does. Its first (empty) dispatch
    // makes it the more recently served of the two, so round-robin alone would
    // offer the expired task to the silent session first.
    const healthy = await connect(queue, "rr-healthy", 5);
    const beat = setInterval(() => healthy.send({ case: "heartbeat", value: {} }), 300);
    try {
      const expireMs = ms(first.lease!.expireTime);
      const again = (await healthy.nextOf("assign", expireMs - Date.now() + 5_000)).task!;
      expect(again.id).toBe(task!.id);
      expect(again.attempt).toBe(2);
      expect(Date.now() - expireMs).toBeLessThan(1_000);
    } finally {
      clearInterval(beat);
      silent.close();
      healthy.close();
    }
  }, 20_000);
});
