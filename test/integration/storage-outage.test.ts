// S4: while the database is unreachable, calls are answered UNAVAILABLE with
// recovery.retryable and a retry_after, and work again once it is back.
//
// Postgres only: the embedded database runs inside the server process, so it
// cannot become unreachable while the server runs. This file stops a private
// Postgres of its own, never the shared one.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../../gen/ts/baton/v1/task_pb.js";
import { startTestBaton, type TestBaton } from "../support/baton.js";
import { startPostgres, type PostgresServer } from "../support/postgres.js";
import { eventually, expectBatonError } from "../support/protocol.js";

describe("storage outage on postgres", () => {
  let pg: PostgresServer;
  let baton: TestBaton;
  beforeAll(async () => {
    pg = await startPostgres();
    baton = await startTestBaton("postgres", { databaseUrl: pg.url });
  });
  afterAll(async () => {
    await baton?.close();
    await pg?.destroy();
  });

  it("answers UNAVAILABLE, retryable with retry_after, while Postgres is down, and recovers after", async () => {
    const { task } = await baton.tasks.createTask({ queue: "outage", type: "t" });
    await pg.stop();

    for (const call of [
      () => baton.tasks.createTask({ queue: "outage", type: "t" }),
      () => baton.tasks.getTask({ id: task!.id }),
      () => baton.tasks.listTasks({}),
      () => baton.tasks.claimTasks({ queue: "outage", workerId: "w" }),
    ]) {
      const f = await expectBatonError(call(), Code.Unavailable, "STORAGE_UNAVAILABLE");
      const recovery = f.detail.contract!.recovery!;
      expect(recovery.retryable).toBe(true);
      expect(recovery.retryAfter).toBeDefined();
      expect(Number(recovery.retryAfter!.seconds) * 1000 + recovery.retryAfter!.nanos / 1e6).toBeGreaterThan(0);
    }

    await pg.start();
    // The pool reconnects on its own; retrying as the contract says succeeds.
    const again = await eventually(
      () => baton.tasks.getTask({ id: task!.id }).then((r) => r.task, () => undefined),
      "Baton to reach Postgres again",
      20_000,
      200,
    );
    expect(again.state).toBe(TaskState.PENDING);
    const claimed = await baton.tasks.claimTasks({ queue: "outage", workerId: "w" });
    expect(claimed.tasks.map((t) => t.id)).toEqual([task!.id]);
  });
});
