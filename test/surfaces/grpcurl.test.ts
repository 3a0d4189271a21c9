// grpcurl against the one port: server reflection (list, describe), health, a
// unary call with a JSON body and a server stream, all over cleartext HTTP/2.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBaton, type TestBaton } from "../support/baton.js";
import { ensureGrpcurl, parseJsonStream, run } from "./tools.js";

describe("grpcurl", () => {
  let baton: TestBaton;
  let grpcurl: string;
  let address: string;
  const call = (...args: string[]) => run(grpcurl, ["-plaintext", ...args]);

  beforeAll(async () => {
    // The first run builds grpcurl (about a minute on 2 cores); later runs reuse it.
    [grpcurl, baton] = await Promise.all([ensureGrpcurl(), startTestBaton("postgres")]);
    address = `127.0.0.1:${baton.server.port}`;
  }, 600_000);
  afterAll(async () => baton?.close());

  it("lists every service through reflection", async () => {
    const out = await call(address, "list");
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout.trim().split("\n")).toEqual(
      expect.arrayContaining([
        "baton.v1.TaskService",
        "baton.v1.WorkerService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
      ]),
    );
  });

  it("describes TaskService with the .proto comments", async () => {
    const out = await call(address, "describe", "baton.v1.TaskService");
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain("baton.v1.TaskService is a service:");
    expect(out.stdout).toContain("rpc CreateTask ( .baton.v1.CreateTaskRequest ) returns ( .baton.v1.CreateTaskResponse );");
    expect(out.stdout).toContain("rpc WatchTasks ( .baton.v1.WatchTasksRequest ) returns ( stream .baton.v1.WatchTasksResponse );");
    expect(out.stdout).toContain("// Creates a task in PENDING.");

    // A message that depends on google/protobuf imports resolves too.
    const msg = await call(address, "describe", "baton.v1.CreateTaskRequest");
    expect(msg.code, msg.stderr).toBe(0);
    expect(msg.stdout).toContain(".google.protobuf.Struct payload = 4;");
  });

  it("checks health", async () => {
    const out = await call(address, "grpc.health.v1.Health/Check");
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ status: "SERVING" });
  });

  it("creates a task with a unary call and watches it on a server stream", async () => {
    const created = await call("-d", JSON.stringify({ queue: "grpcurl", type: "demo", payload: { n: 1 } }), address, "baton.v1.TaskService/CreateTask");
    expect(created.code, created.stderr).toBe(0);
    const res = JSON.parse(created.stdout) as { task: { id: string; state: string }; created: boolean; contract: { state: string; nextActions: unknown[] } };
    expect(res.created).toBe(true);
    expect(res.task.state).toBe("TASK_STATE_PENDING");
    expect(res.contract.state).toBe("PENDING");
    expect(res.contract.nextActions.length).toBeGreaterThan(0);

    // From the oldest event, only this task. -max-time ends the stream: grpcurl sends it
    // as the call's deadline, so either end may stop first (exit 0, or DeadlineExceeded).
    const watch = await call("-max-time", "3", "-d", JSON.stringify({ taskId: res.task.id, afterCursor: "0" }), address, "baton.v1.TaskService/WatchTasks");
    if (watch.code !== 0) expect(watch.stderr).toContain("DeadlineExceeded");
    const events = parseJsonStream(watch.stdout) as { event: { type: string; task: { id: string } } }[];
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events[0]!.event).toMatchObject({ type: "TASK_EVENT_TYPE_CREATED", task: { id: res.task.id } });
  });
});
