/**
 * The plain HTTP routes beside the RPCs (discovery documents, MCP, metrics,
 * probes): the Connect adapter hands every request that is not an RPC to this
 * router as its `fallback`.
 */
import { randomUUID } from "node:crypto";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import type { Logger } from "pino";

/** Node's request handler for HTTP/1.1 and HTTP/2 alike, as the Connect adapter's `fallback` takes it. */
export type NodeHandlerFn = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
export type NodeServerRequest = Parameters<NodeHandlerFn>[0];
export type NodeServerResponse = Parameters<NodeHandlerFn>[1];

export type RouteHandler = (req: NodeServerRequest, res: NodeServerResponse) => void | Promise<void>;

export interface Route {
  path: string;
  /** Methods served; GET routes answer HEAD too. */
  methods: readonly ("GET" | "POST" | "DELETE")[];
  handle: RouteHandler;
}

export function createHttpRouter(routes: readonly Route[], log: Logger): NodeHandlerFn {
  const byPath = new Map(routes.map((r) => [r.path, r]));
  return (req, res) => {
    const requestId = requestIdOf(req.headers["x-request-id"]);
    res.setHeader("x-request-id", requestId);
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    const method = req.method ?? "GET";
    const route = byPath.get(path);
    if (!route) {
      sendJson(res, 404, {
        error: "not_found",
        message: `nothing at ${method} ${path}; RPCs are POSTs to /<package.Service>/<Method>`,
        discovery: "/.well-known/agent.json",
      });
      return;
    }
    const allowed: string[] = route.methods.includes("GET") ? [...route.methods, "HEAD"] : [...route.methods];
    if (!allowed.includes(method)) {
      res.setHeader("allow", allowed.join(", "));
      sendJson(res, 405, { error: "method_not_allowed", message: `${path} takes ${allowed.join(", ")}` });
      return;
    }
    const startedMs = performance.now();
    Promise.resolve()
      .then(() => route.handle(req, res))
      .then(
        () => log.debug({ requestId, method, path, status: res.statusCode, durationMs: Math.round(performance.now() - startedMs) }, "http"),
        (err: unknown) => {
          log.error({ err, requestId, method, path }, "http route failed");
          if (!res.headersSent) sendJson(res, 500, { error: "internal", message: "internal error; it was logged", requestId });
          else res.end();
        },
      );
  };
}

/** A caller's `x-request-id` when it is a sane token, else a fresh UUID. */
export function requestIdOf(header: string | string[] | null | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && /^[\w.:-]{1,128}$/.test(value) ? value : randomUUID();
}

export function sendJson(res: NodeServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers });
  res.end(`${text}\n`);
}

/** `http://host:port` as the caller reached us (Host header), for absolute links. */
export function baseUrlOf(req: NodeServerRequest): string {
  const host = ("authority" in req && typeof req.authority === "string" && req.authority) || req.headers.host || "localhost";
  return `http://${host}`;
}
