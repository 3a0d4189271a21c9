/**
 * GET /v1/schema: an OpenAPI 3.1 description of the Connect JSON API, built
 * from the protobuf descriptors when the server starts (never written by hand).
 * Each unary RPC is a POST to /<package.Service>/<Method> with the request and
 * response messages as JSON; every error is Connect's JSON error whose details
 * hold a baton.v1.ErrorDetail (readable in `debug`).
 */
import type { DescEnum, DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { codeToHttpStatus, codeToString } from "@connectrpc/connect/protocol-connect";
import { SERVER_VERSION } from "../version.js";
import { methodPath, type Descriptors } from "./descriptors.js";
import { createSchemaWriter, type JsonSchema } from "./json-schema.js";
import { baseUrlOf, sendJson, type RouteHandler } from "./router.js";

const ERROR_DETAIL = "baton.v1.ErrorDetail";
const CONNECT_ERROR = "connect.Error";
const ref = (name: string) => `#/components/schemas/${name}`;

export type OpenApiDocument = {
  openapi: string;
  paths: Record<string, unknown>;
  components: { schemas: Record<string, JsonSchema>; responses: Record<string, unknown> };
} & Record<string, unknown>;

/** `services`: the Baton services this server serves (their descriptors, with comments). */
export function createOpenApiDocument(descriptors: Descriptors, services: DescService[]): OpenApiDocument {
  const writer = createSchemaWriter(descriptors, { ref });
  const paths: Record<string, unknown> = {};
  const roots = new Map<string, DescMessage>();
  const streaming: { rpc: string; kind: string; request: string; response: string }[] = [];
  const errorResponses = createErrorResponses();

  for (const service of services) {
    for (const method of service.methods) {
      if (method.methodKind !== "unary") {
        streaming.push({ rpc: `${service.typeName}/${method.name}`, kind: method.methodKind, request: method.input.typeName, response: method.output.typeName });
        continue;
      }
      roots.set(method.input.typeName, method.input);
      roots.set(method.output.typeName, method.output);
      paths[methodPath(method)] = { post: operation(descriptors, method, Object.keys(errorResponses.byStatus)) };
    }
  }
  // Error details are not referenced by any RPC's messages: add them explicitly.
  const errorDetail = descriptors.registry.getMessage(ERROR_DETAIL);
  if (!errorDetail) throw new Error(`${ERROR_DETAIL} is missing from the descriptors`);
  roots.set(errorDetail.typeName, errorDetail);

  // Components: the RPCs' messages and every message and enum they reach, until no new reference appears.
  const schemas: Record<string, JsonSchema> = {};
  for (let pending: (DescMessage | DescEnum)[] = [...roots.values()]; pending.length > 0; pending = writer.referenced().filter((d) => !(d.typeName in schemas))) {
    for (const desc of pending) schemas[desc.typeName] = desc.kind === "message" ? writer.message(desc) : writer.enumeration(desc);
  }
  schemas[CONNECT_ERROR] = errorResponses.schema;

  return {
    openapi: "3.1.0",
    info: {
      title: "Baton Connect JSON API",
      version: SERVER_VERSION,
      description: [
        "Every unary RPC of Baton's protocol (proto/baton/v1) as a JSON POST in the Connect protocol. Generated from the protobuf descriptors; field names are the lowerCamel JSON names (the proto names are accepted too).",
        "Every response carries `contract` (the agent contract: state, next actions, recovery). Every error is a Connect error whose `details` hold a `baton.v1.ErrorDetail`, readable as JSON in `details[].debug`.",
        `Streaming RPCs need the Connect streaming or gRPC protocol (see x-baton-streaming-rpcs): ${streaming.map((s) => s.rpc).join(", ")}.`,
      ].join("\n\n"),
    },
    tags: services.map((s) => ({ name: s.typeName, description: descriptors.comment(s) })),
    paths,
    components: { schemas, responses: errorResponses.responses },
    "x-baton-streaming-rpcs": streaming,
  };
}

function operation(descriptors: Descriptors, method: DescMethod, errorStatuses: string[]) {
  const comment = descriptors.comment(method);
  const responses: Record<string, unknown> = {
    "200": {
      description: `${method.output.name}: the result, with its agent contract.`,
      content: { "application/json": { schema: { $ref: ref(method.output.typeName) } } },
    },
  };
  for (const status of errorStatuses) responses[status] = { $ref: `#/components/responses/error${status}` };
  return {
    operationId: `${method.parent.name}_${method.name}`,
    tags: [method.parent.typeName],
    summary: firstSentence(comment) || `${method.parent.name}.${method.name}`,
    description: comment,
    parameters: [
      { name: "Connect-Protocol-Version", in: "header", required: false, schema: { type: "string", const: "1" }, description: "The Connect protocol version; optional here." },
      { name: "Connect-Timeout-Ms", in: "header", required: false, schema: { type: "string", pattern: "^[0-9]{1,10}$" }, description: "A deadline for the call, in milliseconds." },
    ],
    requestBody: { required: true, content: { "application/json": { schema: { $ref: ref(method.input.typeName) } } } },
    responses,
  };
}

/** HTTP statuses the server answers outside Connect's code-to-status mapping. */
const TRANSPORT_STATUSES: Record<string, string> = {
  "405": "Method not allowed: RPCs are called with POST.",
  "408": "The request's headers or body did not arrive in time (10s); the connection is closed.",
  "415": "Unsupported media type: the request had no content type, or one the server does not speak; send `application/json` (reason UNSUPPORTED_MEDIA_TYPE).",
};

/** Connect's JSON error, and one response per HTTP status that Connect maps codes to. */
function createErrorResponses() {
  const codes = Object.values(Code).filter((c): c is Code => typeof c === "number");
  const byStatus: Record<string, string[]> = {};
  for (const code of codes) (byStatus[String(codeToHttpStatus(code))] ??= []).push(codeToString(code));
  const schema: JsonSchema = {
    type: "object",
    description: "A Connect error. Baton attaches one baton.v1.ErrorDetail to every error (rule C2).",
    required: ["code"],
    properties: {
      code: { type: "string", enum: codes.map(codeToString) },
      message: { type: "string" },
      details: {
        type: "array",
        items: {
          type: "object",
          required: ["type", "value"],
          properties: {
            type: { type: "string", description: `The detail's message type, e.g. ${ERROR_DETAIL}.` },
            value: { type: "string", contentEncoding: "base64", description: "The detail as binary protobuf, base64." },
            debug: { $ref: ref(ERROR_DETAIL), description: "The same detail as JSON." },
          },
        },
      },
    },
  };
  const responses = Object.fromEntries(
    Object.entries(byStatus).map(([status, names]) => [
      `error${status}`,
      { description: `A Connect error with code ${names.join(" or ")}.`, content: { "application/json": { schema: { $ref: ref(CONNECT_ERROR) } } } },
    ]),
  );
  // Answered before any code is chosen, by the HTTP layer: listed so the document
  // names every status a client can get.
  for (const [status, description] of Object.entries(TRANSPORT_STATUSES)) {
    byStatus[status] ??= [];
    responses[`error${status}`] = { description, content: { "application/json": { schema: { $ref: ref(CONNECT_ERROR) } } } };
  }
  return { schema, responses, byStatus };
}

function firstSentence(text: string): string {
  const first = text.split("\n\n", 1)[0]?.replace(/\s+/g, " ").trim() ?? "";
  const end = first.search(/\.(\s|$)/);
  return end >= 0 ? first.slice(0, end + 1) : first;
}

/** Serves the document, built on first use, with `servers` set to the address the caller used. */
export function createOpenApiHandler(build: () => OpenApiDocument): RouteHandler {
  let doc: OpenApiDocument | undefined;
  return (req, res) => {
    doc ??= build();
    sendJson(res, 200, { ...doc, servers: [{ url: baseUrlOf(req), description: "this server" }] });
  };
}
