// One port, every wire protocol: gRPC (h2c), Connect over HTTP/1.1 with JSON,
// gRPC-Web, and a plain JSON POST as curl sends it.
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorDetailSchema } from "../../gen/ts/baton/v1/contract_pb.js";
import { TaskEventType, TaskState } from "../../gen/ts/baton/v1/task_pb.js";
import { TaskService } from "../../gen/ts/baton/v1/task_service_pb.js";
import { queueReadySubject } from "../../server/src/bus/subjects.js";
import { backends, startTestBaton, type TestBaton } from "../support/baton.js";
import { actionNames, expectBatonError, expectInvalid, watch } from "../support/protocol.js";

describe.each(backends)("wire protocols on %s", (backend) => {
  let baton: TestBaton;
  beforeAll(async () => {
    baton = await startTestBaton(backend);
  });
  afterAll(async () => baton?.close());

  const transports: Record<string, () => Transport> = {
    "gRPC (h2c)": () => createGrpcTransport({ baseUrl: baton.server.url }),
    "Connect JSON over HTTP/1.1": () => createConnectTransport({ baseUrl: baton.server.url, httpVersion: "1.1", useBinaryFormat: false }),
    "Connect binary over HTTP/2": () => createConnectTransport({ baseUrl: baton.server.url, httpVersion: "2" }),
    "gRPC-Web over HTTP/1.1": () => createGrpcWebTransport({ baseUrl: baton.server.url, httpVersion: "1.1" }),
    "gRPC-Web over HTTP/2": () => createGrpcWebTransport({ baseUrl: baton.server.url, httpVersion: "2" }),
  };

  it("serves the whole lifecycle, errors with details and WatchTasks over every protocol on one port", async () => {
    for (const [name, make] of Object.entries(transports)) {
      const client = createClient(TaskService, make());
      const queue = `proto-${name.replace(/[^a-zA-Z0-9]+/g, "-").toLowerCase()}`;
      const w = watch(client, { queue, afterCursor: 0n });
      try {
        const created = await client.createTask({ queue, type: "t", payload: { via: name, nested: { list: [1, "two", null, true] } } });
        expect(created.created, name).toBe(true);
        expect(created.task!.payload, name).toEqual({ via: name, nested: { list: [1, "two", null, true] } });
        expect(created.contract!.state, name).toBe("PENDING");

        const claim = await client.claimTasks({ queue, workerId: "w", wait: { seconds: 1n } });
        const leaseId = claim.tasks[0]!.lease!.leaseId;
        expect(actionNames(claim.contract), name).toEqual(["Heartbeat", "CompleteTask", "FailTask"]);
        const hb = await client.heartbeat({ taskId: created.task!.id, leaseId });
        expect(hb.leaseExpireTime, name).toBeDefined();
        const done = await client.completeTask({ taskId: created.task!.id, leaseId, result: { ok: true } });
        expect(done.task!.state, name).toBe(TaskState.COMPLETED);
        const got = await client.getTask({ id: created.task!.id });
        expect(got.task!.result, name).toEqual({ ok: true });
        expect(got.task!.attempts, name).toHaveLength(1);

        // Errors keep their code and ErrorDetail (C2) on every protocol.
        const f = await expectInvalid(client.getTask({ id: "nope" }), "id");
        expect(f.fields, name).toEqual(["id"]);
        await expectBatonError(client.heartbeat({ taskId: created.task!.id, leaseId }), Code.FailedPrecondition, "LEASE_STALE");

        // Server streaming works too.
        const events = await w.waitFor(3);
        expect(events.map((e) => e.type), name).toEqual([TaskEventType.CREATED, TaskEventType.CLAIMED, TaskEventType.COMPLETED]);
      } finally {
        w.close();
        await w.ended;
      }
    }
  });

  it("accepts a plain JSON POST (what curl sends) and answers JSON with the contract", async () => {
    const res = await fetch(`${baton.server.url}/baton.v1.TaskService/CreateTask`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        queue: "proto-curl",
        type: "email.send",
        payload: { to: "x@example.com" },
        priority: 7,
        timeouts: { heartbeat_timeout: "15s" },
        labels: { source: "curl" },
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await res.json()) as {
      task: { id: string; state: string; priority: number; payload: unknown; timeouts: { heartbeatTimeout: string }; labels: unknown };
      created: boolean;
      contract: { resource: string; state: string; nextActions: { rpc: string; httpPath: string }[] };
    };
    expect(body.created).toBe(true);
    expect(body.task.state).toBe("TASK_STATE_PENDING");
    expect(body.task.priority).toBe(7);
    expect(body.task.payload).toEqual({ to: "x@example.com" });
    expect(body.task.timeouts.heartbeatTimeout).toBe("15s");
    expect(body.task.labels).toEqual({ source: "curl" });
    expect(body.contract.resource).toBe(`task/${body.task.id}`);
    expect(body.contract.state).toBe("PENDING");
    // Every next action names a path the same curl can POST to.
    for (const a of body.contract.nextActions) expect(a.httpPath).toBe(`/${a.rpc}`);

    // The task is real: the binary client sees it.
    const got = await baton.tasks.getTask({ id: body.task.id });
    expect(got.task!.type).toBe("email.send");

    // A following GetTask by curl, using the contract's http_path.
    const getPath = body.contract.nextActions.find((a) => a.rpc.endsWith("/GetTask"))!.httpPath;
    const read = await fetch(`${baton.server.url}${getPath}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ id: body.task.id }),
    });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { task: { id: string } }).task.id).toBe(body.task.id);
  });

  it("answers a bad JSON POST with a Connect error carrying the ErrorDetail", async () => {
    const res = await fetch(`${baton.server.url}/baton.v1.TaskService/CreateTask`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ queue: "", type: "t", priority: 5000 }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; message: string; details: { type: string; value: string }[] };
    expect(body.code).toBe("invalid_argument");
    expect(body.message).toContain("queue");
    expect(body.details.map((d) => d.type)).toEqual(["baton.v1.ErrorDetail"]);
    // And the same error decodes through a client.
    const err = ConnectError.from(
      await createClient(TaskService, createConnectTransport({ baseUrl: baton.server.url, httpVersion: "1.1", useBinaryFormat: false }))
        .createTask({ queue: "", type: "t", priority: 5000 })
        .catch((e: unknown) => e),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.findDetails(ErrorDetailSchema)[0]!.fieldViolations.map((v) => v.field).sort()).toEqual(["priority", "queue"]);
  });

  async function postGarbled() {
    const garbled = await fetch(`${baton.server.url}/baton.v1.TaskService/CreateTask`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{not json",
    });
    return { status: garbled.status, body: (await garbled.json()) as { code: string; details?: { type: string }[] } };
  }

  it("answers an undecodable JSON body INVALID_ARGUMENT", async () => {
    const { status, body } = await postGarbled();
    expect(status).toBe(400);
    expect(body.code).toBe("invalid_argument");
  });

  // Connect decodes the request before any interceptor runs; the protocol-error
  // wrapper (server/src/http/protocol-errors.ts) gives decode errors their ErrorDetail.
  it("gives an undecodable JSON body an ErrorDetail with a contract too (C2)", async () => {
    const { body } = await postGarbled();
    expect((body.details ?? []).map((d) => d.type)).toEqual(["baton.v1.ErrorDetail"]);
  });

  it("shuts down without waiting out the grace period for idle connections, letting in-flight calls finish", async () => {
    // A server of its own: closing it must not disturb the others' tests.
    const other = await startTestBaton(backend);
    let closed = false;
    try {
      const grpc = createClient(TaskService, createGrpcTransport({ baseUrl: other.server.url }));
      await grpc.createTask({ queue: "proto-close", type: "t" }); // leaves an idle HTTP/2 session
      await other.tasks.getTask({ id: (await other.tasks.createTask({ queue: "proto-close", type: "t" })).task!.id }); // an idle keep-alive socket
      // A long-poll claim subscribes to its queue's wake-ups on arrival: that tells us it is in flight.
      const bus = other.server.engine.bus;
      const subscribe = bus.subscribe.bind(bus);
      const arrived = new Promise<void>((resolve) => {
        bus.subscribe = (subject, onMessage) => {
          if (subject === queueReadySubject("default", "proto-close-empty")) resolve();
          return subscribe(subject, onMessage);
        };
      });
      const inFlight = other.tasks.claimTasks({ queue: "proto-close-empty", workerId: "w", wait: { nanos: 200_000_000 } });
      await arrived;
      const started = Date.now();
      await other.close();
      closed = true;
      const took = Date.now() - started;
      // The in-flight call got its answer rather than a cut connection...
      expect((await inFlight).tasks).toEqual([]);
      // ...and close did not sit out the 1s grace period on the idle connections.
      expect(took).toBeLessThan(900);
    } finally {
      if (!closed) await other.close();
    }
  });
});
