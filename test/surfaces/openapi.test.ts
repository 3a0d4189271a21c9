// GET /v1/schema: a valid OpenAPI 3.1 document, generated from the descriptors,
// with every unary RPC as a POST and Connect's error (with ErrorDetail) documented.
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskService } from "../../gen/ts/baton/v1/task_service_pb.js";
import { WorkerService } from "../../gen/ts/baton/v1/worker_service_pb.js";
import { startTestBaton, type TestBaton } from "../support/baton.js";

type Doc = {
  openapi: string;
  servers: { url: string }[];
  paths: Record<string, { post?: Operation }>;
  components: { schemas: Record<string, Schema>; responses: Record<string, { content: Record<string, { schema: Schema }> }> };
  "x-baton-streaming-rpcs": { rpc: string }[];
};
type Operation = {
  operationId: string;
  description: string;
  requestBody: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: Schema }> }>;
};
type Schema = { $ref?: string; properties?: Record<string, Schema>; items?: Schema; required?: string[]; type?: unknown; enum?: string[] };

describe("OpenAPI at /v1/schema", () => {
  let baton: TestBaton;
  let doc: Doc;

  beforeAll(async () => {
    baton = await startTestBaton("postgres");
    const res = await fetch(`${baton.server.url}/v1/schema`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    doc = (await res.json()) as Doc;
  });
  afterAll(async () => baton?.close());

  it("is a valid OpenAPI 3.1 document", async () => {
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Parameters<Validator["validate"]>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    expect(doc.servers[0]!.url).toBe(baton.server.url);
  });

  it("has every unary RPC as a POST with its request and response messages", () => {
    const unary = [TaskService, WorkerService].flatMap((s) => s.methods.filter((m) => m.methodKind === "unary").map((m) => ({ s, m })));
    expect(unary.length).toBeGreaterThanOrEqual(12);
    for (const { s, m } of unary) {
      const op = doc.paths[`/${s.typeName}/${m.name}`]?.post;
      expect(op, `${s.typeName}/${m.name}`).toBeDefined();
      expect(op!.requestBody.content["application/json"]!.schema.$ref).toBe(`#/components/schemas/${m.input.typeName}`);
      expect(op!.responses["200"]!.content!["application/json"]!.schema.$ref).toBe(`#/components/schemas/${m.output.typeName}`);
      expect(doc.components.schemas[m.input.typeName], m.input.typeName).toBeDefined();
      expect(doc.components.schemas[m.output.typeName], m.output.typeName).toBeDefined();
    }
    // Only unary RPCs of served Baton services are paths; the streams are listed apart.
    for (const path of Object.keys(doc.paths)) expect(path).toMatch(/^\/baton\.v1\.\w+Service\/\w+$/);
    const streams = [TaskService, WorkerService].flatMap((s) => s.methods.filter((m) => m.methodKind !== "unary").map((m) => `/${s.typeName}/${m.name}`));
    for (const path of streams) expect(doc.paths[path], path).toBeUndefined();
    expect(doc["x-baton-streaming-rpcs"].map((s) => s.rpc)).toEqual(
      expect.arrayContaining(["baton.v1.TaskService/WatchTasks", "baton.v1.WorkerService/Connect", "baton.v1.WorkerService/Listen"]),
    );
  });

  it("derives schemas from the descriptors: JSON names, comments, required fields, enums", () => {
    const create = doc.components.schemas["baton.v1.CreateTaskRequest"]!;
    expect(create.required).toEqual(["queue", "type"]);
    expect(Object.keys(create.properties!)).toEqual(expect.arrayContaining(["idempotencyKey", "maxAttempts", "retryPolicy", "scheduledTime"]));
    expect(create.properties!.scheduledTime).toMatchObject({ type: "string", format: "date-time" });
    expect(create.properties!.retryPolicy!.$ref).toBe("#/components/schemas/baton.v1.RetryPolicy");
    expect(doc.components.schemas["baton.v1.TaskState"]!.enum).toContain("TASK_STATE_PENDING");
    expect(doc.paths["/baton.v1.TaskService/CreateTask"]!.post!.description).toContain("idempotency_key");
  });

  it("documents errors as Connect errors carrying baton.v1.ErrorDetail", () => {
    const op = doc.paths["/baton.v1.TaskService/CompleteTask"]!.post!;
    for (const status of ["400", "404", "409", "503"]) expect(op.responses[status]!.$ref).toBe(`#/components/responses/error${status}`);
    const error = doc.components.responses.error400!.content["application/json"]!.schema;
    expect(error.$ref).toBe("#/components/schemas/connect.Error");
    const detail = doc.components.schemas["connect.Error"]!.properties!.details!.items!.properties!.debug!;
    expect(detail.$ref).toBe("#/components/schemas/baton.v1.ErrorDetail");
    expect(Object.keys(doc.components.schemas["baton.v1.ErrorDetail"]!.properties!)).toEqual(["reason", "message", "fieldViolations", "contract"]);
  });

  it("lists every status the server answers, transport-level refusals included", async () => {
    const op = doc.paths["/baton.v1.TaskService/GetTask"]!.post!;
    const url = `${baton.server.url}/baton.v1.TaskService/GetTask`;
    const answers = [
      await fetch(url, { method: "POST" }), // no body and no content type
      await fetch(url, { method: "POST", headers: { "content-type": "text/plain" }, body: "hi" }),
      await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{" }),
    ];
    for (const res of answers) {
      await res.arrayBuffer();
      expect(Object.keys(op.responses), `HTTP ${res.status}`).toContain(String(res.status));
    }
  });

  it("describes what the server actually answers", async () => {
    const res = await fetch(`${baton.server.url}/baton.v1.TaskService/GetTask`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "not-a-uuid" }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; details: { type: string; debug: { reason: string; contract: unknown } }[] };
    const codes = doc.components.schemas["connect.Error"]!.properties!.code!.enum!;
    expect(codes).toContain(body.code);
    expect(body.details[0]!.type).toBe("baton.v1.ErrorDetail");
    expect(body.details[0]!.debug.reason).toBe("INVALID_FIELD");
  });
});
