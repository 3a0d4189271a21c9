// Server reflection (v1 and v1alpha) and grpc.health.v1 over gRPC, with a
// Connect client: the answers grpcurl relies on, checked field by field.
import { create, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as v1 from "../../gen/ts/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/ts/grpc/reflection/v1alpha/reflection_pb.js";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/ts/health/v1/health_pb.js";
import { startTestBaton, type TestBaton } from "../support/baton.js";

describe("gRPC reflection and health", () => {
  let baton: TestBaton;
  let transport: ReturnType<typeof createGrpcTransport>;

  beforeAll(async () => {
    baton = await startTestBaton("postgres");
    transport = createGrpcTransport({ baseUrl: baton.server.url });
  });
  afterAll(async () => baton?.close());

  /** Sends the requests on one stream and returns the answers in order. */
  async function reflect(version: typeof v1 | typeof v1alpha, requests: v1.ServerReflectionRequest["messageRequest"][]) {
    const client = createClient(version.ServerReflection, transport);
    async function* send() {
      for (const messageRequest of requests) yield create(version.ServerReflectionRequestSchema, { host: "test", messageRequest } as never);
    }
    const answers = [];
    for await (const res of client.serverReflectionInfo(send())) answers.push(res);
    return answers;
  }
  const names = (files: Uint8Array[]) => files.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);

  for (const [label, version] of [["v1", v1], ["v1alpha", v1alpha]] as const) {
    it(`${label}: lists services and answers files by symbol and name, with imports sent once per stream`, async () => {
      const [list, bySymbol, byMethod, byName, missing] = await reflect(version, [
        { case: "listServices", value: "" },
        { case: "fileContainingSymbol", value: "baton.v1.TaskService" },
        { case: "fileContainingSymbol", value: "baton.v1.TaskService.CreateTask" },
        { case: "fileByFilename", value: "baton/v1/task.proto" },
        { case: "fileContainingSymbol", value: "baton.v1.NoSuchThing" },
      ]);
      expect(list!.validHost).toBe("test");
      expect(list!.messageResponse.case).toBe("listServicesResponse");
      const services = list!.messageResponse.value as { service: { name: string }[] };
      expect(services.service.map((s) => s.name)).toEqual(
        expect.arrayContaining([
          "baton.v1.TaskService",
          "baton.v1.WorkerService",
          "grpc.health.v1.Health",
          "grpc.reflection.v1.ServerReflection",
          "grpc.reflection.v1alpha.ServerReflection",
        ]),
      );

      const first = bySymbol!.messageResponse.value as { fileDescriptorProto: Uint8Array[] };
      const sent = names(first.fileDescriptorProto);
      expect(sent[0]).toBe("baton/v1/task_service.proto");
      expect(sent).toEqual(expect.arrayContaining(["baton/v1/task.proto", "baton/v1/contract.proto", "google/protobuf/struct.proto", "google/protobuf/timestamp.proto"]));
      // Comments travel with the descriptors (grpcurl describe shows them).
      const service = fromBinary(FileDescriptorProtoSchema, first.fileDescriptorProto[0]!);
      expect(service.sourceCodeInfo?.location.some((l) => l.leadingComments.includes("Creates a task in PENDING."))).toBe(true);
      expect(service.dependency).toContain("baton/v1/task.proto");

      // The same file again on this stream: only the file itself, its imports were sent.
      expect(names((byMethod!.messageResponse.value as { fileDescriptorProto: Uint8Array[] }).fileDescriptorProto)).toEqual(["baton/v1/task_service.proto"]);
      expect(names((byName!.messageResponse.value as { fileDescriptorProto: Uint8Array[] }).fileDescriptorProto)).toEqual(["baton/v1/task.proto"]);
      expect(missing!.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: Code.NotFound } });
      expect(missing!.originalRequest?.messageRequest).toMatchObject({ case: "fileContainingSymbol", value: "baton.v1.NoSuchThing" });
    });
  }

  it("serves the descriptors of the gRPC services it adds", async () => {
    const [health, reflection, extensions] = await reflect(v1, [
      { case: "fileContainingSymbol", value: "grpc.health.v1.Health" },
      { case: "fileContainingSymbol", value: "grpc.reflection.v1alpha.ServerReflectionRequest" },
      { case: "allExtensionNumbersOfType", value: "baton.v1.Task" },
    ]);
    expect(names((health!.messageResponse.value as { fileDescriptorProto: Uint8Array[] }).fileDescriptorProto)).toEqual(["health/v1/health.proto"]);
    expect(names((reflection!.messageResponse.value as { fileDescriptorProto: Uint8Array[] }).fileDescriptorProto)).toEqual(["grpc/reflection/v1alpha/reflection.proto"]);
    expect(extensions!.messageResponse).toMatchObject({ case: "allExtensionNumbersResponse", value: { baseTypeName: "baton.v1.Task", extensionNumber: [] } });
  });

  it("answers health Check, Watch and List", async () => {
    const health = createClient(Health, transport);
    expect((await health.check({})).status).toBe(Status.SERVING);
    expect((await health.check({ service: "baton.v1.TaskService" })).status).toBe(Status.SERVING);
    await expect(health.check({ service: "nope.Service" })).rejects.toSatisfy((e) => ConnectError.from(e).code === Code.NotFound);

    // Watch sends the current status at once and then only changes: read the first, then hang up.
    const first = async <T>(stream: AsyncIterable<T>): Promise<T | undefined> => {
      for await (const item of stream) return item;
      return undefined;
    };
    expect((await first(health.watch({ service: "baton.v1.WorkerService" })))?.status).toBe(Status.SERVING);
    expect((await first(health.watch({ service: "nope.Service" })))?.status).toBe(Status.SERVICE_UNKNOWN);

    const list = await health.list({});
    expect(Object.keys(list.statuses)).toEqual(expect.arrayContaining(["", "baton.v1.TaskService", "baton.v1.WorkerService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"]));
    expect(Object.values(list.statuses).every((s) => s.status === Status.SERVING)).toBe(true);
  });
});
