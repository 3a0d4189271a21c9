/**
 * The task operations as tools, for agents: GET /v1/tool serves them as an
 * MCP-compatible manifest (the shape of MCP's tools/list result), and the MCP
 * endpoint (mcp.ts) serves the same tools. Names, descriptions and JSON
 * Schemas come from the protobuf descriptors; only the choice of operations and
 * their behaviour hints are listed here.
 */
import type { DescMethodUnary } from "@bufbuild/protobuf";
import { TaskService } from "../../../gen/ts/baton/v1/task_service_pb.js";
import { methodPath, type Descriptors } from "./descriptors.js";
import { createSchemaWriter, type JsonSchema } from "./json-schema.js";
import { baseUrlOf, sendJson, type RouteHandler } from "./router.js";

type TaskMethod = keyof typeof TaskService.method;

interface Hints {
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

/** The operations offered as tools, in the order an agent meets them, with MCP's behaviour hints. */
const TOOL_METHODS: [TaskMethod, Hints][] = [
  ["createTask", { destructiveHint: false, idempotentHint: false }],
  ["claimTasks", { destructiveHint: false, idempotentHint: false }],
  ["heartbeat", { destructiveHint: false, idempotentHint: true }],
  ["completeTask", { destructiveHint: false, idempotentHint: true }],
  ["failTask", { destructiveHint: false, idempotentHint: true }],
  ["getTask", { readOnlyHint: true }],
  ["listTasks", { readOnlyHint: true }],
  ["cancelTask", { destructiveHint: true, idempotentHint: true }],
  ["requeueTask", { destructiveHint: false, idempotentHint: false }],
];

/** A tool as MCP's tools/list describes it. */
export interface McpTool {
  name: string;
  title: string;
  description: string;
  inputSchema: JsonSchema & { type: "object" };
  outputSchema: JsonSchema & { type: "object" };
  annotations: Hints & { title: string };
  _meta: Record<string, string>;
}

export interface ToolDefinition {
  tool: McpTool;
  /** The generated method the tool calls. */
  method: DescMethodUnary;
}

export function createTools(descriptors: Descriptors): ToolDefinition[] {
  const service = descriptors.registry.getService(TaskService.typeName);
  if (!service) throw new Error(`${TaskService.typeName} is missing from the descriptors`);
  const inputs = createSchemaWriter(descriptors);
  const outputs = createSchemaWriter(descriptors, { required: false });
  return TOOL_METHODS.map(([local, hints]) => {
    const method = TaskService.method[local] as DescMethodUnary;
    const described = service.methods.find((m) => m.name === method.name);
    if (!described) throw new Error(`${TaskService.typeName}/${method.name} is missing from the descriptors`);
    const title = method.name.replace(/([a-z])([A-Z])/g, "$1 $2");
    const rpc = `${TaskService.typeName}/${method.name}`;
    return {
      method,
      tool: {
        name: toolName(method.name),
        title,
        description: [
          descriptors.comment(described),
          `Calls ${rpc} (Connect JSON: POST ${methodPath(method)}). The result carries \`contract\`: the state after the call, the next actions valid now (with deadlines) and recovery guidance.`,
        ]
          .filter((s) => s !== "")
          .join("\n\n"),
        inputSchema: { ...inputs.message(described.input), type: "object" },
        outputSchema: { ...outputs.message(described.output), type: "object" },
        annotations: { title, ...hints, openWorldHint: false },
        _meta: { "baton/rpc": rpc, "baton/httpPath": methodPath(method) },
      },
    };
  });
}

/** CreateTask -> create_task */
export function toolName(methodName: string): string {
  return methodName.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

/** GET /v1/tool */
export function createToolManifestHandler(tools: ToolDefinition[]): RouteHandler {
  return (req, res) => {
    const base = baseUrlOf(req);
    sendJson(res, 200, {
      name: "baton",
      description: "Baton's task operations as tools. The same tools are served over MCP (streamable HTTP) at `mcp.url`; outside MCP, call each tool's `_meta[\"baton/httpPath\"]` with its arguments as a Connect JSON POST.",
      mcp: { url: `${base}/mcp`, transport: "streamable-http" },
      tools: tools.map((t) => t.tool),
    });
  };
}
