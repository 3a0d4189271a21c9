/**
 * A Model Context Protocol endpoint at /mcp (streamable HTTP, stateless: any
 * replica answers any request, with plain JSON responses). Its tools are the
 * task operations of tool-manifest.ts; each call goes through the same
 * TaskService handlers, validation and error mapping as an RPC, and its result
 * is the RPC's JSON response, agent contract included. Errors come back as tool
 * errors (isError) carrying the baton.v1.ErrorDetail: reason, field
 * violations and the contract's recovery guidance.
 */
import { ErrorReason } from "../../../gen/ts/baton/v1/contract_pb.js";
import { reasonName } from "../core/error-reasons.js";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { ConnectError, type Transport } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "pino";
import { ErrorDetailSchema } from "../../../gen/ts/baton/v1/contract_pb.js";
import { SERVER_VERSION } from "../version.js";
import type { RouteHandler } from "./router.js";
import type { ToolDefinition } from "./tool-manifest.js";

const INSTRUCTIONS = `Baton runs tasks for fleets of workers and agents.
Producers: create_task, then get_task / list_tasks to follow it; cancel_task stops it; requeue_task revives a DEAD_LETTER task.
Workers: claim_tasks (set wait, e.g. "10s", to long-poll) returns tasks with a lease; call heartbeat before lease.expireTime, then complete_task with a result or fail_task with an error, always passing the task id and lease id.
Every result carries \`contract\`: the state after the call, the next actions valid now (with deadlines) and, on errors, whether and when to retry.`;

export interface McpOptions {
  tools: ToolDefinition[];
  /** Calls TaskService in process (a router transport over the same handlers). */
  transport: Transport;
  log: Logger;
}

/** POST /mcp. The endpoint keeps no sessions, so it has no GET stream and no DELETE: the router answers those 405. */
export function createMcpHandler(opts: McpOptions): RouteHandler {
  const byName = new Map(opts.tools.map((t) => [t.tool.name, t]));
  const byRpc = new Map(opts.tools.map((t) => [t.tool._meta["baton/rpc"], t.tool.name]));

  const call = async (name: string, args: Record<string, unknown> | undefined, signal: AbortSignal, requestId: string): Promise<CallToolResult> => {
    const def = byName.get(name);
    if (!def) return toolError({ reason: reasonName(ErrorReason.UNKNOWN_TOOL), message: `no tool named ${name}; tools: ${[...byName.keys()].join(", ")}` });
    let input;
    try {
      input = fromJson(def.method.input, (args ?? {}) as JsonValue);
    } catch (err) {
      return toolError({
        // The arguments did not decode into the tool's request message.
        reason: reasonName(ErrorReason.MALFORMED_REQUEST),
        message: `the arguments do not match ${def.method.input.typeName}: ${(err as Error).message}`,
        contract: { recovery: { retryable: false, guidance: "fix the arguments to match the tool's inputSchema and call again" } },
      });
    }
    try {
      const res = await opts.transport.unary(def.method, signal, undefined, { "x-request-id": requestId }, input);
      const json = toJson(def.method.output, res.message) as Record<string, unknown>;
      const hint = nextToolsHint(json, byRpc);
      return {
        content: [{ type: "text", text: JSON.stringify(json) }, ...(hint ? [{ type: "text" as const, text: hint }] : [])],
        structuredContent: json,
      };
    } catch (err) {
      const ce = ConnectError.from(err);
      const detail = ce.findDetails(ErrorDetailSchema)[0];
      return toolError({ code: codeToString(ce.code), ...(detail ? (toJson(ErrorDetailSchema, detail) as Record<string, unknown>) : { message: ce.rawMessage }) });
    }
  };

  return async (req, res) => {
    const requestId = String(res.getHeader("x-request-id") ?? "");
    const server = new Server({ name: "baton", version: SERVER_VERSION }, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: opts.tools.map((t) => t.tool) }));
    server.setRequestHandler(CallToolRequestSchema, (request, extra) => call(request.params.name, request.params.arguments, extra.signal, requestId));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    transport.onerror = (err) => {
      // A client offering a protocol version newer than the SDK's is answered 400
      // with the supported versions and falls back: negotiation, not a fault.
      if (/Unsupported protocol version/.test(err.message)) opts.log.debug({ requestId, message: err.message }, "mcp: protocol version not supported; client told the supported ones");
      else opts.log.warn({ err, requestId }, "mcp transport error");
    };
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req as IncomingMessage, res as ServerResponse);
  };
}

function toolError(error: Record<string, unknown>): CallToolResult {
  return { isError: true, content: [{ type: "text", text: JSON.stringify({ error }) }] };
}

/** "Next: heartbeat (before ...), complete_task, ..." from the contract's next actions that are tools. */
function nextToolsHint(json: Record<string, unknown>, byRpc: Map<string, string>): string {
  const contract = json.contract as { nextActions?: { rpc?: string; purpose?: string; deadline?: string }[] } | undefined;
  const steps = (contract?.nextActions ?? []).flatMap((a) => {
    const tool = a.rpc ? byRpc.get(a.rpc) : undefined;
    return tool ? [`- ${tool}: ${a.purpose ?? ""}${a.deadline ? ` (before ${a.deadline})` : ""}`] : [];
  });
  return steps.length > 0 ? `Next steps as tools:\n${steps.join("\n")}` : "";
}
