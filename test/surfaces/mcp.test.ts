// The MCP endpoint, driven by the official MCP TypeScript client alone: list the
// tools, then take a task from creation to completion, reading each next step
// from the agent contract in the results.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBaton, type TestBaton } from "../support/baton.js";
import { ErrorReason } from "../../gen/ts/baton/v1/contract_pb.js";

interface Contract {
  resource?: string;
  state?: string;
  nextActions?: { rpc: string; httpPath: string; purpose: string; deadline?: string }[];
  recovery?: { retryable?: boolean; guidance?: string };
}
interface TaskJson {
  id: string;
  state: string;
  lease?: { leaseId: string; expireTime: string };
  result?: unknown;
}

describe("MCP endpoint", () => {
  let baton: TestBaton;
  let client: Client;

  beforeAll(async () => {
    baton = await startTestBaton("postgres");
    client = new Client({ name: "baton-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${baton.server.url}/mcp`)));
  });
  afterAll(async () => {
    await client?.close();
    await baton?.close();
  });

  const callTool = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as CallToolResult;
  const ok = async (name: string, args: Record<string, unknown>) => {
    const result = await callTool(name, args);
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    // The text content is the same JSON as structuredContent (for clients that only read text).
    const first = result.content[0];
    expect(first?.type).toBe("text");
    expect(JSON.parse((first as { text: string }).text)).toEqual(result.structuredContent);
    return result.structuredContent as { task?: TaskJson; tasks?: TaskJson[]; contract: Contract; cancelRequested?: boolean };
  };
  const nextRpcs = (c: Contract) => (c.nextActions ?? []).map((a) => a.rpc.split("/")[1]);

  it("announces itself and lists the task tools with JSON Schemas", async () => {
    expect(client.getServerVersion()?.name).toBe("baton");
    expect(client.getInstructions()).toContain("claim_tasks");
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual([
      "create_task",
      "claim_tasks",
      "heartbeat",
      "complete_task",
      "fail_task",
      "get_task",
      "list_tasks",
      "cancel_task",
      "requeue_task",
    ]);
    const create = tools.find((t) => t.name === "create_task")!;
    expect(create.description).toContain("Creates a task in PENDING.");
    expect(create.inputSchema.required).toEqual(["queue", "type"]);
    expect(create.inputSchema.properties).toHaveProperty("idempotencyKey");
    expect(create.outputSchema?.properties).toHaveProperty("contract");
    expect(tools.find((t) => t.name === "get_task")!.annotations?.readOnlyHint).toBe(true);
  });

  it("drives a task from creation to completion through MCP alone", async () => {
    const created = await ok("create_task", { queue: "mcp", type: "summarize", payload: { doc: "a.txt" } });
    const id = created.task!.id;
    expect(created.contract).toMatchObject({ resource: `task/${id}`, state: "PENDING" });
    expect(nextRpcs(created.contract)).toContain("ClaimTasks");

    const claimed = await ok("claim_tasks", { queue: "mcp", workerId: "mcp-agent", wait: "5s" });
    expect(claimed.tasks!.map((t) => t.id)).toEqual([id]);
    const leaseId = claimed.tasks![0]!.lease!.leaseId;
    expect(claimed.contract.state).toBe("CLAIMED");
    expect(nextRpcs(claimed.contract)).toEqual(expect.arrayContaining(["Heartbeat", "CompleteTask", "FailTask"]));

    const beat = await ok("heartbeat", { taskId: id, leaseId });
    expect(beat.cancelRequested).toBeFalsy();
    expect(beat.contract.nextActions!.find((a) => a.rpc.endsWith("/Heartbeat"))?.deadline).toBeTruthy();

    const done = await ok("complete_task", { taskId: id, leaseId, result: { summary: "short" } });
    expect(done.task!.state).toBe("TASK_STATE_COMPLETED");
    expect(done.contract.state).toBe("COMPLETED");

    const got = await ok("get_task", { id });
    expect(got.task).toMatchObject({ id, state: "TASK_STATE_COMPLETED", result: { summary: "short" } });
    const listed = await ok("list_tasks", { queue: "mcp" });
    expect(listed.tasks!.map((t) => t.id)).toContain(id);
  });

  it("answers a refused call with a tool error carrying the ErrorDetail and its contract", async () => {
    const created = await ok("create_task", { queue: "mcp-errors", type: "t" });
    const claimed = await ok("claim_tasks", { queue: "mcp-errors", workerId: "w" });
    const id = created.task!.id;
    const leaseId = claimed.tasks![0]!.lease!.leaseId;
    await ok("complete_task", { taskId: id, leaseId, result: {} });

    const again = await callTool("fail_task", { taskId: id, leaseId, error: { type: "late" } });
    expect(again.isError).toBe(true);
    const { error } = JSON.parse((again.content[0] as { text: string }).text) as { error: { code: string; reason: string; contract: Contract } };
    expect(error.code).toBe("failed_precondition");
    expect(error.reason).toBe("LEASE_STALE");
    expect(error.contract.recovery?.guidance).toBeTruthy();

    const invalid = await callTool("create_task", { queue: "", type: "t", priority: 5000 });
    expect(invalid.isError).toBe(true);
    const body = JSON.parse((invalid.content[0] as { text: string }).text) as { error: { reason: string; fieldViolations: { field: string }[] } };
    expect(body.error.reason).toBe("INVALID_FIELD");
    expect(body.error.fieldViolations.map((v) => v.field)).toEqual(expect.arrayContaining(["queue", "priority"]));

    const wrongType = await callTool("get_task", { id: 42 });
    expect(wrongType.isError).toBe(true);
    expect((wrongType.content[0] as { text: string }).text).toContain("MALFORMED_REQUEST");
  });

  it("refuses values Postgres cannot store in tool arguments as INVALID_FIELD naming them (S5), creating nothing", async () => {
    const before = (await baton.tasks.listTasks({ queue: "mcp-s5" })).tasks.length;
    const refused = await callTool("create_task", { queue: "mcp-s5", type: "t", payload: { items: [{ name: "a\u0000" }], "k\u0000": 1 }, labels: { k: "\u0000" } });
    expect(refused.isError).toBe(true);
    const body = JSON.parse((refused.content[0] as { text: string }).text) as { error: { code: string; reason: string; fieldViolations: { field: string }[] } };
    expect(body.error.code).toBe("invalid_argument");
    expect(body.error.reason).toBe(ErrorReason[ErrorReason.INVALID_FIELD]);
    expect(body.error.fieldViolations.map((v) => v.field)).toEqual(expect.arrayContaining(["payload.items[0].name", 'payload."k\\u0000"', 'labels["k"]']));
    expect((await baton.tasks.listTasks({ queue: "mcp-s5" })).tasks).toHaveLength(before);
  });

  it("cancels and requeues through MCP", async () => {
    const pending = await ok("create_task", { queue: "mcp-admin", type: "t" });
    const cancelled = await ok("cancel_task", { id: pending.task!.id, reason: "not needed" });
    expect(cancelled.task!.state).toBe("TASK_STATE_CANCELLED");

    const doomed = await ok("create_task", { queue: "mcp-admin", type: "t", maxAttempts: 1 });
    const claimed = await ok("claim_tasks", { queue: "mcp-admin", workerId: "w" });
    const failed = await ok("fail_task", { taskId: doomed.task!.id, leaseId: claimed.tasks![0]!.lease!.leaseId, error: { type: "boom", nonRetryable: true } });
    expect(failed.task!.state).toBe("TASK_STATE_DEAD_LETTER");
    const requeued = await ok("requeue_task", { id: doomed.task!.id });
    expect(requeued.task!.state).toBe("TASK_STATE_PENDING");
  });
});
