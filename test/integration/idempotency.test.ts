// Idempotent creation (I1) and all-or-none batches.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../../gen/ts/baton/v1/task_pb.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";
import { actionNames, expectBatonError } from "../support/protocol.js";

describe.each(backends)("idempotency on %s", (backend) => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton(backend);
  });
  afterAll(async () => baton?.close());

  async function count(queue: string, namespace = ""): Promise<number> {
    const res = await baton.tasks.listTasks({ namespace, queue, pageSize: 500 });
    return res.tasks.length;
  }

  it("returns the original task with created=false for the same key and body", async () => {
    const req = { queue: "id-same", type: "charge", payload: { order: 42, amount: { cents: 999 } }, idempotencyKey: "order-42" };
    const first = await baton.tasks.createTask(req);
    expect(first.created).toBe(true);
    const again = await baton.tasks.createTask(req);
    expect(again.created).toBe(false);
    expect(again.task!.id).toBe(first.task!.id);
    expect(again.task!.idempotencyKey).toBe("order-42");
    expect(again.contract!.resource).toBe(`task/${first.task!.id}`);
    // Key order inside the payload is not part of the body's identity.
    const reordered = await baton.tasks.createTask({ ...req, payload: { amount: { cents: 999 }, order: 42 } });
    expect(reordered.created).toBe(false);
    expect(reordered.task!.id).toBe(first.task!.id);
    // Nor is spelling out the default namespace.
    const explicit = await baton.tasks.createTask({ ...req, namespace: "default" });
    expect(explicit.created).toBe(false);
    expect(explicit.task!.id).toBe(first.task!.id);
    expect(await count("id-same")).toBe(1);
  });

  it("returns the task as it is now on a replay, e.g. after it completed", async () => {
    const req = { queue: "id-later", type: "t", idempotencyKey: "k-later" };
    const { task } = await baton.tasks.createTask(req);
    const [claimed] = (await baton.tasks.claimTasks({ queue: "id-later", workerId: "w" })).tasks;
    await baton.tasks.completeTask({ taskId: task!.id, leaseId: claimed!.lease!.leaseId, result: { done: 1 } });
    const again = await baton.tasks.createTask(req);
    expect(again.created).toBe(false);
    expect(again.task!.state).toBe(TaskState.COMPLETED);
    expect(again.task!.result).toEqual({ done: 1 });
  });

  it("fails ALREADY_EXISTS / IDEMPOTENCY_KEY_REUSED for the same key with another body, changing nothing", async () => {
    const first = await baton.tasks.createTask({ queue: "id-reuse", type: "charge", payload: { order: 1 }, idempotencyKey: "reused" });
    for (const other of [
      { queue: "id-reuse", type: "charge", payload: { order: 2 } },
      { queue: "id-reuse", type: "refund", payload: { order: 1 } },
      { queue: "id-reuse", type: "charge", payload: { order: 1 }, priority: 5 },
    ]) {
      const f = await expectBatonError(baton.tasks.createTask({ ...other, idempotencyKey: "reused" }), Code.AlreadyExists, "IDEMPOTENCY_KEY_REUSED");
      expect(f.fields).toEqual(["idempotency_key"]);
      expect(f.detail.contract!.resource).toBe(`task/${first.task!.id}`);
      expect(actionNames(f.detail.contract)).toContain("GetTask");
      expect(f.detail.contract!.recovery!.retryable).toBe(false);
    }
    expect(await count("id-reuse")).toBe(1);
    const got = (await baton.tasks.getTask({ id: first.task!.id })).task!;
    expect(got.payload).toEqual({ order: 1 });
    expect(got.type).toBe("charge");
  });

  it("scopes keys to a namespace", async () => {
    const a = await baton.tasks.createTask({ namespace: "tenant-a", queue: "id-ns", type: "t", idempotencyKey: "shared" });
    const b = await baton.tasks.createTask({ namespace: "tenant-b", queue: "id-ns", type: "t", idempotencyKey: "shared" });
    expect(a.created).toBe(true);
    expect(b.created).toBe(true);
    expect(b.task!.id).not.toBe(a.task!.id);
  });

  it("creates exactly one task for 20 concurrent creates with one key", async () => {
    const req = { queue: "id-race", type: "t", payload: { x: 1 }, idempotencyKey: "race-key" };
    const results = await Promise.all(Array.from({ length: 20 }, () => baton.tasks.createTask(req)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.task!.id)).size).toBe(1);
    expect(await count("id-race")).toBe(1);
    const events = await baton.server.engine.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM baton_task_events WHERE task_id = ${results[0]!.task!.id} AND type = 'created'`;
    expect(events[0]!.n).toBe(1);
  });

  it("creates a batch all or none: one reused key creates nothing", async () => {
    await baton.tasks.createTask({ queue: "id-batch", type: "t", payload: { v: 1 }, idempotencyKey: "batch-taken" });
    expect(await count("id-batch")).toBe(1);
    const f = await expectBatonError(
      baton.tasks.batchCreateTasks({
        requests: [
          { queue: "id-batch", type: "t", payload: { v: 10 } },
          { queue: "id-batch", type: "t", payload: { v: 11 }, idempotencyKey: "batch-new" },
          { queue: "id-batch", type: "t", payload: { v: 2 }, idempotencyKey: "batch-taken" },
          { queue: "id-batch", type: "t", payload: { v: 12 } },
        ],
      }),
      Code.AlreadyExists,
      "IDEMPOTENCY_KEY_REUSED",
    );
    expect(f.fields).toEqual(["requests[2].idempotency_key"]);
    expect(await count("id-batch")).toBe(1);
    // batch-new was not taken by the failed batch: it creates a task now.
    const fresh = await baton.tasks.createTask({ queue: "id-batch", type: "t", payload: { v: 99 }, idempotencyKey: "batch-new" });
    expect(fresh.created).toBe(true);
  });

  it("returns replayed tasks in place within a batch that creates the others", async () => {
    const original = await baton.tasks.createTask({ queue: "id-batch-replay", type: "t", payload: { v: 1 }, idempotencyKey: "replay-1" });
    const res = await baton.tasks.batchCreateTasks({
      requests: [
        { queue: "id-batch-replay", type: "t", payload: { v: 0 } },
        { queue: "id-batch-replay", type: "t", payload: { v: 1 }, idempotencyKey: "replay-1" },
        { queue: "id-batch-replay", type: "t", payload: { v: 2 }, idempotencyKey: "replay-2" },
      ],
    });
    expect(res.tasks).toHaveLength(3);
    expect(res.tasks[1]!.id).toBe(original.task!.id);
    expect(res.tasks.map((t) => t.payload)).toEqual([{ v: 0 }, { v: 1 }, { v: 2 }]);
    expect(res.contract!.recovery!.guidance).toContain("2 created");
    expect(await count("id-batch-replay")).toBe(3);
    // Replaying the whole batch creates nothing more... except the task without a key.
    const again = await baton.tasks.batchCreateTasks({
      requests: [{ queue: "id-batch-replay", type: "t", payload: { v: 2 }, idempotencyKey: "replay-2" }],
    });
    expect(again.tasks[0]!.id).toBe(res.tasks[2]!.id);
    expect(await count("id-batch-replay")).toBe(3);
  });

  it("treats one key twice in a batch like two creates: the same body gives one task, another body fails the batch", async () => {
    const same = await baton.tasks.batchCreateTasks({
      requests: [
        { queue: "id-batch-dup", type: "t", payload: { v: 1 }, idempotencyKey: "dup" },
        { queue: "id-batch-dup", type: "t", payload: { v: 1 }, idempotencyKey: "dup" },
      ],
    });
    expect(same.tasks[0]!.id).toBe(same.tasks[1]!.id);
    expect(await count("id-batch-dup")).toBe(1);

    await expectBatonError(
      baton.tasks.batchCreateTasks({
        requests: [
          { queue: "id-batch-dup", type: "t", payload: { v: 1 }, idempotencyKey: "dup2" },
          { queue: "id-batch-dup", type: "t", payload: { v: 2 }, idempotencyKey: "dup2" },
        ],
      }),
      Code.AlreadyExists,
      "IDEMPOTENCY_KEY_REUSED",
    );
    expect(await count("id-batch-dup")).toBe(1);
  });
});
