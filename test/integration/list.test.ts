// ListTasks: filters, newest-first order and page tokens.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../../gen/ts/baton/v1/task_pb.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";
import { actionNames, expectInvalid } from "../support/protocol.js";

describe.each(backends)("ListTasks on %s", (backend) => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton(backend);
  });
  afterAll(async () => baton?.close());

  it("pages through 120 tasks with page_size 50, giving every task exactly once, newest first", async () => {
    const created = await baton.tasks.batchCreateTasks({
      requests: Array.from({ length: 120 }, (_, i) => ({ namespace: "list-paging", queue: "q", type: "t", payload: { i } })),
    });
    const ids = created.tasks.map((t) => t.id);
    expect(new Set(ids).size).toBe(120);

    const seen: string[] = [];
    const pageSizes: number[] = [];
    let token = "";
    for (let page = 0; page < 10; page++) {
      const res = await baton.tasks.listTasks({ namespace: "list-paging", pageSize: 50, pageToken: token });
      pageSizes.push(res.tasks.length);
      seen.push(...res.tasks.map((t) => t.id));
      for (const t of res.tasks) expect(t.attempts).toHaveLength(0);
      token = res.nextPageToken;
      if (token === "") {
        expect(actionNames(res.contract)).not.toContain("ListTasks");
        break;
      }
      expect(actionNames(res.contract)).toContain("ListTasks");
    }
    expect(pageSizes).toEqual([50, 50, 20]);
    expect(token).toBe("");
    expect(seen).toHaveLength(120);
    expect(new Set(seen)).toEqual(new Set(ids));
    // Newest first: ids are UUIDv7, created in request order within the batch.
    expect(seen).toEqual([...seen].sort().reverse());
  });

  it("ends with an empty token when the last page is exactly full", async () => {
    await baton.tasks.batchCreateTasks({
      requests: Array.from({ length: 10 }, () => ({ namespace: "list-exact", queue: "q", type: "t" })),
    });
    const first = await baton.tasks.listTasks({ namespace: "list-exact", pageSize: 10 });
    expect(first.tasks).toHaveLength(10);
    expect(first.nextPageToken).toBe("");
  });

  it("does not skip or repeat tasks created while paging", async () => {
    const ns = "list-live";
    const initial = await baton.tasks.batchCreateTasks({ requests: Array.from({ length: 30 }, () => ({ namespace: ns, queue: "q", type: "t" })) });
    const first = await baton.tasks.listTasks({ namespace: ns, pageSize: 10 });
    await baton.tasks.batchCreateTasks({ requests: Array.from({ length: 5 }, () => ({ namespace: ns, queue: "q", type: "t" })) });
    const seen = first.tasks.map((t) => t.id);
    let token = first.nextPageToken;
    while (token !== "") {
      const res = await baton.tasks.listTasks({ namespace: ns, pageSize: 10, pageToken: token });
      seen.push(...res.tasks.map((t) => t.id));
      token = res.nextPageToken;
    }
    expect(seen.sort()).toEqual(initial.tasks.map((t) => t.id).sort());
  });

  it("filters by namespace, queue, type and states", async () => {
    const ns = "list-filters";
    const res = await baton.tasks.batchCreateTasks({
      requests: [
        { namespace: ns, queue: "alpha", type: "email" },
        { namespace: ns, queue: "alpha", type: "sms" },
        { namespace: ns, queue: "beta", type: "email" },
        { namespace: ns, queue: "beta", type: "email" },
        { namespace: "list-filters-other", queue: "alpha", type: "email" },
      ],
    });
    const [alphaEmail, alphaSms, beta1, beta2] = res.tasks.map((t) => t.id);
    // Move some tasks to other states: beta1 CLAIMED, beta2 CANCELLED, alphaSms COMPLETED.
    const claimedBeta = await baton.tasks.claimTasks({ namespace: ns, queue: "beta", workerId: "w" });
    expect(claimedBeta.tasks.map((t) => t.id)).toEqual([beta1]);
    await baton.tasks.cancelTask({ id: beta2! });
    const sms = await baton.tasks.claimTasks({ namespace: ns, queue: "alpha", types: ["sms"], workerId: "w" });
    await baton.tasks.completeTask({ taskId: alphaSms!, leaseId: sms.tasks[0]!.lease!.leaseId });

    const ids = async (filter: Parameters<typeof baton.tasks.listTasks>[0]) =>
      (await baton.tasks.listTasks({ namespace: ns, ...filter })).tasks.map((t) => t.id).sort();
    const sorted = (...xs: (string | undefined)[]) => (xs as string[]).sort();

    expect(await ids({})).toEqual(sorted(alphaEmail, alphaSms, beta1, beta2));
    expect(await ids({ queue: "alpha" })).toEqual(sorted(alphaEmail, alphaSms));
    expect(await ids({ type: "email" })).toEqual(sorted(alphaEmail, beta1, beta2));
    expect(await ids({ queue: "beta", type: "email" })).toEqual(sorted(beta1, beta2));
    expect(await ids({ states: [TaskState.PENDING] })).toEqual(sorted(alphaEmail));
    expect(await ids({ states: [TaskState.CLAIMED, TaskState.CANCELLED] })).toEqual(sorted(beta1, beta2));
    expect(await ids({ states: [TaskState.COMPLETED], queue: "alpha" })).toEqual(sorted(alphaSms));
    expect(await ids({ states: [TaskState.DEAD_LETTER] })).toEqual([]);
    expect(await ids({ queue: "gamma" })).toEqual([]);
    // The other namespace holds only its own task.
    const other = await baton.tasks.listTasks({ namespace: "list-filters-other" });
    expect(other.tasks).toHaveLength(1);
    expect(other.tasks[0]!.namespace).toBe("list-filters-other");
    // Each listed task carries its state and, while claimed, its lease.
    const listed = (await baton.tasks.listTasks({ namespace: ns, states: [TaskState.CLAIMED] })).tasks[0]!;
    expect(listed.state).toBe(TaskState.CLAIMED);
    expect(listed.lease!.workerId).toBe("w");
  });

  it("pages with filters, and refuses a token reused with other filters (INVALID_ARGUMENT on page_token)", async () => {
    const ns = "list-token";
    await baton.tasks.batchCreateTasks({
      requests: Array.from({ length: 12 }, (_, i) => ({ namespace: ns, queue: i % 2 === 0 ? "even" : "odd", type: "t" })),
    });
    const first = await baton.tasks.listTasks({ namespace: ns, queue: "even", pageSize: 4 });
    expect(first.tasks).toHaveLength(4);
    expect(first.nextPageToken).not.toBe("");
    const second = await baton.tasks.listTasks({ namespace: ns, queue: "even", pageSize: 4, pageToken: first.nextPageToken });
    expect(second.tasks).toHaveLength(2);
    expect(second.tasks.every((t) => t.queue === "even")).toBe(true);
    // The page size may change between pages; the filters may not.
    const resized = await baton.tasks.listTasks({ namespace: ns, queue: "even", pageSize: 10, pageToken: first.nextPageToken });
    expect(resized.tasks.map((t) => t.id)).toEqual(second.tasks.map((t) => t.id));

    for (const changed of [
      { namespace: ns, queue: "odd" },
      { namespace: ns },
      { namespace: ns, queue: "even", type: "other" },
      { namespace: ns, queue: "even", states: [TaskState.PENDING] },
      { namespace: "list-token-2", queue: "even" },
    ]) {
      const f = await expectInvalid(baton.tasks.listTasks({ ...changed, pageSize: 4, pageToken: first.nextPageToken }), "page_token");
      expect(f.fields).toEqual(["page_token"]);
    }
    await expectInvalid(baton.tasks.listTasks({ namespace: ns, pageToken: "not-a-token" }), "page_token");
    await expectInvalid(baton.tasks.listTasks({ namespace: ns, pageToken: Buffer.from("[1,2]").toString("base64url") }), "page_token");
  });
});
