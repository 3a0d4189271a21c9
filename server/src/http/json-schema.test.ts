import { describe, expect, it } from "vitest";
import { loadDescriptors } from "./descriptors.js";
import { createSchemaWriter, type JsonSchema } from "./json-schema.js";

const descriptors = loadDescriptors();
const message = (typeName: string) => {
  const desc = descriptors.registry.getMessage(typeName);
  if (!desc) throw new Error(`no ${typeName}`);
  return desc;
};
const props = (schema: JsonSchema) => schema.properties as Record<string, JsonSchema>;

describe("descriptors", () => {
  it("carry the .proto comments", () => {
    const service = descriptors.registry.getService("baton.v1.TaskService")!;
    expect(descriptors.comment(service)).toMatch(/^TaskService: create, observe and run tasks/);
    expect(descriptors.comment(service.methods.find((m) => m.name === "CreateTask")!)).toMatch(/^Creates a task in PENDING\./);
    expect(descriptors.comment(message("baton.v1.CreateTaskRequest").field.queue!)).toBe("Required. 1..128 chars of [A-Za-z0-9-_.:/].");
    expect(descriptors.services.map((s) => s.typeName)).toEqual(expect.arrayContaining(["baton.v1.TaskService", "baton.v1.WorkerService"]));
  });
});

describe("createSchemaWriter", () => {
  it("writes the JSON mapping inline, with comments and Required fields", () => {
    const schema = createSchemaWriter(descriptors).message(message("baton.v1.CreateTaskRequest"));
    expect(schema.type).toBe("object");
    expect(schema.required).toEqual(["queue", "type"]);
    const p = props(schema);
    expect(p.idempotencyKey).toMatchObject({ type: "string", description: "At most 256 chars. See I1." });
    expect(p.priority).toMatchObject({ type: "integer", minimum: -2147483648, maximum: 2147483647 });
    expect(p.payload).toMatchObject({ type: "object" });
    expect(p.scheduledTime).toMatchObject({ type: "string", format: "date-time" });
    expect(p.labels).toMatchObject({ type: "object", additionalProperties: { type: "string" } });
    // Nested messages inline, with their Durations as strings.
    expect(props(p.retryPolicy!).initialBackoff).toMatchObject({ type: "string", pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$" });
    expect(props(p.retryPolicy!).nonRetryableErrorTypes).toMatchObject({ type: "array", items: { type: "string" } });
  });

  it("writes enums by name and 64-bit integers as integer-or-string", () => {
    const schema = createSchemaWriter(descriptors).message(message("baton.v1.ListTasksRequest"));
    expect(props(schema).states).toMatchObject({ type: "array", items: { type: "string", enum: expect.arrayContaining(["TASK_STATE_PENDING"]) } });
    const watch = createSchemaWriter(descriptors).message(message("baton.v1.WatchTasksRequest"));
    expect(props(watch).afterCursor).toMatchObject({ type: ["integer", "string"], pattern: "^-?[0-9]+$" });
  });

  it("writes $refs and collects the referenced types when asked to", () => {
    const writer = createSchemaWriter(descriptors, { ref: (n) => `#/defs/${n}` });
    const schema = writer.message(message("baton.v1.CreateTaskResponse"));
    expect(props(schema).task).toMatchObject({ $ref: "#/defs/baton.v1.Task" });
    expect(props(schema).contract).toMatchObject({ $ref: "#/defs/baton.v1.AgentContract" });
    expect(writer.referenced().map((d) => d.typeName).sort()).toEqual(["baton.v1.AgentContract", "baton.v1.Task"]);
  });

  it("leaves `required` out of response schemas when told", () => {
    const schema = createSchemaWriter(descriptors, { required: false }).message(message("baton.v1.CreateTaskRequest"));
    expect(schema.required).toBeUndefined();
  });
});
