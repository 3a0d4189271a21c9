/**
 * Baton's protobuf descriptors with their comments, for the surfaces that
 * describe the API at run time (reflection, /v1/schema, /v1/tool, MCP).
 *
 * The generated code in gen/ts embeds descriptors without comments, so
 * scripts/generate.sh also writes gen/descriptors/baton.binpb: a
 * FileDescriptorSet of proto/ and its imports with source info (`buf build`).
 */
import { readFileSync } from "node:fs";
import { createFileRegistry, fromBinary, type DescEnum, type DescField, type DescFile, type DescMessage, type DescMethod, type DescService, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

const DESCRIPTOR_SET = new URL("../../../gen/descriptors/baton.binpb", import.meta.url);

export interface Descriptors {
  registry: FileRegistry;
  /** The leading comment of an element, trimmed; "" when it has none. */
  comment(desc: DescMessage | DescField | DescEnum | DescService | DescMethod): string;
  /** Baton's own services (package baton.*), in file order. */
  services: DescService[];
}

let loaded: Descriptors | undefined;

/** Reads gen/descriptors/baton.binpb once per process. */
export function loadDescriptors(): Descriptors {
  loaded ??= createDescriptors(createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(DESCRIPTOR_SET))));
  return loaded;
}

function createDescriptors(registry: FileRegistry): Descriptors {
  const commentsByFile = new Map<DescFile, Map<string, string>>();
  const commentsOf = (file: DescFile) => {
    let byPath = commentsByFile.get(file);
    if (!byPath) {
      byPath = new Map();
      for (const loc of file.proto.sourceCodeInfo?.location ?? []) {
        if (loc.leadingComments) byPath.set(loc.path.join("."), tidyComment(loc.leadingComments));
      }
      commentsByFile.set(file, byPath);
    }
    return byPath;
  };
  const services: DescService[] = [];
  for (const file of registry.files) {
    if (file.proto.package.startsWith("baton.")) services.push(...file.services);
  }
  return {
    registry,
    services,
    comment: (desc) => commentsOf(fileOf(desc)).get(pathOf(desc).join(".")) ?? "",
  };
}

/** Drops the space after `//` and surrounding blank lines; keeps paragraphs. */
function tidyComment(raw: string): string {
  return raw
    .split("\n")
    .map((line) => line.replace(/^ /, "").trimEnd())
    .join("\n")
    .trim();
}

function fileOf(desc: DescMessage | DescField | DescEnum | DescService | DescMethod): DescFile {
  switch (desc.kind) {
    case "field":
      return desc.parent.file;
    case "rpc":
      return desc.parent.file;
    default:
      return desc.file;
  }
}

// Source-info paths: field numbers of FileDescriptorProto, DescriptorProto, ...
const FILE_MESSAGE = 4;
const FILE_ENUM = 5;
const FILE_SERVICE = 6;
const MESSAGE_FIELD = 2;
const MESSAGE_NESTED = 3;
const MESSAGE_ENUM = 4;
const SERVICE_METHOD = 2;

function pathOf(desc: DescMessage | DescField | DescEnum | DescService | DescMethod): number[] {
  switch (desc.kind) {
    case "message":
      return desc.parent
        ? [...pathOf(desc.parent), MESSAGE_NESTED, desc.parent.proto.nestedType.indexOf(desc.proto)]
        : [FILE_MESSAGE, desc.file.proto.messageType.indexOf(desc.proto)];
    case "enum":
      return desc.parent
        ? [...pathOf(desc.parent), MESSAGE_ENUM, desc.parent.proto.enumType.indexOf(desc.proto)]
        : [FILE_ENUM, desc.file.proto.enumType.indexOf(desc.proto)];
    case "field":
      return [...pathOf(desc.parent), MESSAGE_FIELD, desc.parent.proto.field.indexOf(desc.proto)];
    case "service":
      return [FILE_SERVICE, desc.file.proto.service.indexOf(desc.proto)];
    case "rpc":
      return [...pathOf(desc.parent), SERVICE_METHOD, desc.parent.proto.method.indexOf(desc.proto)];
  }
}

/** `/baton.v1.TaskService/CreateTask`: the Connect (and gRPC) path of a method. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}
