// S4: while the database is unreachable, calls are answered UNAVAILABLE with
// recovery.retryable and a retry_after, and work again once it is back.
//
// Postgres only: the embedded database runs inside the server process, so it
// cannot become unreachable while the server runs. This file stops a private
// Postgres of its own, never the shared one, and runs Baton as its own process
// (`baton serve`, as deployed), whose driver crash guard is part of what is tested.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../../gen/ts/baton/v1/task_pb.js";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { TaskService } from "../../gen/ts/baton/v1/task_service_pb.js";
import { startReplica, type Replica } from "../support/replica.js";
import { startPostgres, type PostgresServer } from "../support/postgres.js";
import { eventually, expectBatonError } from "../support/protocol.js";

describe("storage outage on postgres", () => {
  let pg: PostgresServer;
  let replica: Replica;
  let baton: { tasks: Client<typeof TaskService> };
  beforeAll(async () => {
    pg = await startPostgres();
    replica = await startReplica({ databaseUrl: pg.url });
    baton = { tasks: createClient(TaskService, createConnectTransport({ baseUrl: replica.url, httpVersion: "1.1" })) };
  });
  afterAll(async () => {
    await replica?.stop();
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
    // The server process lived through the outage.
    expect(replica.process.exitCode).toBeNull();
  });
});
