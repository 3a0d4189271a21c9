import { create, toBinary } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorDetailSchema, ErrorReason, type ErrorDetail } from "../../../gen/ts/baton/v1/contract_pb.js";
import { TaskService } from "../../../gen/ts/baton/v1/task_service_pb.js";
import { Client } from "./client.js";
import { BatonError, reasonCodeOf, reasonName } from "./errors.js";

function detail(): ErrorDetail {
  return create(ErrorDetailSchema, {
    reason: reasonName(ErrorReason.INVALID_FIELD),
    message: "invalid request: queue is required",
    fieldViolations: [
      { field: "queue", description: "is required" },
      { field: "retry_policy.multiplier", description: "must be between 1 and 10; got 0.5" },
    ],
    contract: {
      resource: "task/abc",
      state: "PENDING",
      recovery: { retryable: true, retryAfter: durationFromMs(2_500), guidance: "fix the fields" },
    },
  });
}

describe("BatonError", () => {
  it("decodes the ErrorDetail of a ConnectError", () => {
    const e = BatonError.from(new ConnectError("bad", Code.InvalidArgument, undefined, [{ desc: ErrorDetailSchema, value: detail() }]));
    expect(e).toBeInstanceOf(BatonError);
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe(Code.InvalidArgument);
    expect(e.reason).toBe("INVALID_FIELD"); // the wire string itself
    expect(e.reasonCode).toBe(ErrorReason.INVALID_FIELD);
    expect(e.fieldViolations).toEqual([
      { field: "queue", description: "is required" },
      { field: "retry_policy.multiplier", description: "must be between 1 and 10; got 0.5" },
    ]);
    expect(e.contract?.resource).toBe("task/abc");
    expect(e.retryable).toBe(true);
    expect(e.retryAfterMs).toBe(2_500);
    expect(e.rawMessage).toBe("bad");
    expect(e.cause).toBeInstanceOf(ConnectError);
  });

  it("decodes a detail as it arrives off the wire (type name + bytes)", () => {
    const wire = new ConnectError("stale", Code.FailedPrecondition);
    wire.details.push({
      type: "baton.v1.ErrorDetail",
      value: toBinary(ErrorDetailSchema, create(ErrorDetailSchema, { reason: reasonName(ErrorReason.LEASE_STALE), contract: { recovery: { retryable: false } } })),
    });
    const e = BatonError.from(wire);
    expect(e.reasonCode).toBe(ErrorReason.LEASE_STALE);
    expect(e.retryable).toBe(false);
    expect(e.retryAfterMs).toBeUndefined();
  });

  it("falls back to the code when no detail came (a proxy answered)", () => {
    const down = BatonError.from(new ConnectError("upstream connect error", Code.Unavailable));
    expect(down.reasonCode).toBe(ErrorReason.UNAVAILABLE);
    expect(down.reason).toBe(reasonName(ErrorReason.UNAVAILABLE));
    expect(down.retryable).toBe(true);
    // Codes the vocabulary has no client-side reason for are UNKNOWN: act on the code.
    const invalid = BatonError.from(new ConnectError("nope", Code.InvalidArgument));
    expect(invalid.reasonCode).toBe(ErrorReason.UNKNOWN);
    expect(invalid.retryable).toBe(false);
    expect(BatonError.from(new ConnectError("x", Code.FailedPrecondition)).reasonCode).toBe(ErrorReason.UNKNOWN);
    expect(BatonError.from(new ConnectError("x", Code.DeadlineExceeded)).reasonCode).toBe(ErrorReason.DEADLINE_EXCEEDED);
    expect(BatonError.from(new ConnectError("x", Code.Unimplemented)).reasonCode).toBe(ErrorReason.UNIMPLEMENTED);
    expect(invalid.fieldViolations).toEqual([]);
    expect(invalid.contract).toBeUndefined();
  });

  it("keeps a reason newer than the vocabulary as its wire string", () => {
    const e = BatonError.of(Code.Aborted, "SOMETHING_NEWER", "x");
    expect(e.reason).toBe("SOMETHING_NEWER");
    expect(e.reasonCode).toBe(ErrorReason.ERROR_REASON_UNSPECIFIED);
    expect(reasonCodeOf("LEASE_STALE")).toBe(ErrorReason.LEASE_STALE);
    const own = BatonError.of(Code.FailedPrecondition, ErrorReason.LEASE_STALE, "lost");
    expect(own.reason).toBe("LEASE_STALE");
    expect(own.reasonCode).toBe(ErrorReason.LEASE_STALE);
  });

  it("wraps anything thrown, and passes a BatonError through", () => {
    const e = BatonError.from(new Error("socket hang up"));
    expect(e.code).toBe(Code.Unknown);
    expect(BatonError.from(e)).toBe(e);
  });

  it("is what every Client method throws", async () => {
    const transport = createRouterTransport(({ service }) =>
      service(TaskService, {
        getTask() {
          throw new ConnectError("task x does not exist", Code.NotFound, undefined, [
            { desc: ErrorDetailSchema, value: create(ErrorDetailSchema, { reason: reasonName(ErrorReason.TASK_NOT_FOUND), message: "task x does not exist" }) },
          ]);
        },
        createTask() {
          throw new ConnectError("bad", Code.InvalidArgument, undefined, [{ desc: ErrorDetailSchema, value: detail() }]);
        },
        listTasks() {
          throw new ConnectError("db down", Code.Unavailable);
        },
      }),
    );
    const client = new Client({ baseUrl: "http://unused", transport });
    const notFound = await client.getTask("x").catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(BatonError);
    expect((notFound as BatonError).reasonCode).toBe(ErrorReason.TASK_NOT_FOUND);
    const invalid = await client.createTask({ queue: "" }).catch((e: unknown) => e);
    expect((invalid as BatonError).fieldViolations.map((v) => v.field)).toEqual(["queue", "retry_policy.multiplier"]);
    const listing = (async () => {
      for await (const _ of client.listTasks({ queue: "q" })) void _;
    })();
    await expect(listing).rejects.toBeInstanceOf(BatonError);
  });
});
