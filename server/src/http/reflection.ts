/**
 * gRPC server reflection, v1 and v1alpha (`grpcurl list`, `grpcurl describe`,
 * Postman, grpcui): answers from Baton's descriptors with their comments
 * (gen/descriptors) and the generated descriptors of the gRPC services the
 * server adds (health, reflection). connect-es ships no reflection service.
 *
 * Like grpc-go, a file request is answered with the file and those of its
 * transitive imports not yet sent on this stream.
 */
import { create, toBinary, type DescFile, type DescMessage } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import * as v1 from "../../../gen/ts/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../../gen/ts/grpc/reflection/v1alpha/reflection_pb.js";

/** gRPC status NOT_FOUND, as ErrorResponse.error_code wants it. */
const NOT_FOUND = 5;
/** gRPC status INVALID_ARGUMENT. */
const INVALID_ARGUMENT = 3;

export interface ReflectionIndex {
  /** Full names of the services the server serves. */
  services(): string[];
  fileByName(name: string): DescFile | undefined;
  fileContainingSymbol(symbol: string): DescFile | undefined;
  fileContainingExtension(typeName: string, number: number): DescFile | undefined;
  /** Extension numbers of a message; undefined for an unknown message. */
  extensionNumbers(typeName: string): number[] | undefined;
  /** The serialized FileDescriptorProto of a file. */
  encode(file: DescFile): Uint8Array;
}

/** Indexes every symbol of `files` (and of their imports). */
export function createReflectionIndex(files: Iterable<DescFile>, services: () => string[]): ReflectionIndex {
  const byName = new Map<string, DescFile>();
  const bySymbol = new Map<string, DescFile>();
  const messages = new Map<string, DescMessage>();
  const encoded = new Map<DescFile, Uint8Array>();
  const extensions: { extendee: string; number: number; file: DescFile }[] = [];

  const addMessage = (file: DescFile, m: DescMessage) => {
    bySymbol.set(m.typeName, file);
    messages.set(m.typeName, m);
    for (const f of m.fields) bySymbol.set(`${m.typeName}.${f.name}`, file);
    for (const o of m.oneofs) bySymbol.set(`${m.typeName}.${o.name}`, file);
    for (const e of m.nestedEnums) bySymbol.set(e.typeName, file);
    for (const x of m.nestedExtensions) {
      bySymbol.set(x.typeName, file);
      extensions.push({ extendee: x.extendee.typeName, number: x.number, file });
    }
    for (const n of m.nestedMessages) addMessage(file, n);
  };
  const addFile = (file: DescFile) => {
    if (byName.has(file.proto.name)) return;
    byName.set(file.proto.name, file);
    for (const dep of file.dependencies) addFile(dep);
    for (const m of file.messages) addMessage(file, m);
    for (const e of file.enums) bySymbol.set(e.typeName, file);
    for (const x of file.extensions) {
      bySymbol.set(x.typeName, file);
      extensions.push({ extendee: x.extendee.typeName, number: x.number, file });
    }
    for (const s of file.services) {
      bySymbol.set(s.typeName, file);
      for (const m of s.methods) bySymbol.set(`${s.typeName}.${m.name}`, file);
    }
  };
  for (const file of files) addFile(file);

  return {
    services,
    fileByName: (name) => byName.get(name),
    fileContainingSymbol: (symbol) => bySymbol.get(symbol.replace(/^\./, "")),
    fileContainingExtension: (typeName, number) => extensions.find((x) => x.extendee === typeName && x.number === number)?.file,
    extensionNumbers: (typeName) => (messages.has(typeName) ? extensions.filter((x) => x.extendee === typeName).map((x) => x.number) : undefined),
    encode(file) {
      let bytes = encoded.get(file);
      if (!bytes) {
        // Embedded (generated) descriptors drop `dependency`; put it back from the resolved imports.
        const proto = file.proto.dependency.length === file.dependencies.length ? file.proto : { ...file.proto, dependency: file.dependencies.map((d) => d.proto.name) };
        bytes = toBinary(FileDescriptorProtoSchema, proto);
        encoded.set(file, bytes);
      }
      return bytes;
    },
  };
}

type Request = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;
/** The response of either version, as a plain init object (both versions have the same shape). */
type Answer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

function answer(index: ReflectionIndex, req: Request, sent: Set<string>): Answer {
  const files = (file: DescFile | undefined, what: string): Answer => {
    if (!file) return { case: "errorResponse", value: { errorCode: NOT_FOUND, errorMessage: `${what} not found` } };
    const out: Uint8Array[] = [];
    const queue = [file];
    const seen = new Set<string>();
    for (let f = queue.shift(); f; f = queue.shift()) {
      if (seen.has(f.proto.name)) continue;
      seen.add(f.proto.name);
      if (f === file || !sent.has(f.proto.name)) {
        out.push(index.encode(f));
        sent.add(f.proto.name);
      }
      queue.push(...f.dependencies);
    }
    return { case: "fileDescriptorResponse", value: { fileDescriptorProto: out } };
  };
  const r = req.messageRequest;
  switch (r.case) {
    case "listServices":
      return { case: "listServicesResponse", value: { service: index.services().map((name) => ({ name })) } };
    case "fileByFilename":
      return files(index.fileByName(r.value), `file ${r.value}`);
    case "fileContainingSymbol":
      return files(index.fileContainingSymbol(r.value), `symbol ${r.value}`);
    case "fileContainingExtension":
      return files(index.fileContainingExtension(r.value.containingType, r.value.extensionNumber), `extension ${r.value.extensionNumber} of ${r.value.containingType}`);
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbers(r.value);
      if (!numbers) return { case: "errorResponse", value: { errorCode: NOT_FOUND, errorMessage: `message ${r.value} not found` } };
      return { case: "allExtensionNumbersResponse", value: { baseTypeName: r.value, extensionNumber: numbers } };
    }
    default:
      return { case: "errorResponse", value: { errorCode: INVALID_ARGUMENT, errorMessage: "the request names no message_request" } };
  }
}

/** grpc.reflection.v1.ServerReflection */
export function createReflectionV1(index: ReflectionIndex): ServiceImpl<typeof v1.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      const sent = new Set<string>();
      for await (const req of requests) {
        yield create(v1.ServerReflectionResponseSchema, {
          validHost: req.host,
          originalRequest: req,
          messageResponse: answer(index, req, sent),
        });
      }
    },
  };
}

/** grpc.reflection.v1alpha.ServerReflection: the same answers, for older clients. */
export function createReflectionV1alpha(index: ReflectionIndex): ServiceImpl<typeof v1alpha.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      const sent = new Set<string>();
      for await (const req of requests) {
        yield create(v1alpha.ServerReflectionResponseSchema, {
          validHost: req.host,
          originalRequest: req,
          messageResponse: answer(index, req, sent),
        });
      }
    },
  };
}

/** The generated descriptors of the gRPC services the server adds to Baton's own. */
export const grpcReflectionFiles: DescFile[] = [v1.file_grpc_reflection_v1_reflection, v1alpha.file_grpc_reflection_v1alpha_reflection];
