// The server's error vocabulary is closed: whatever batonError is given, and
// whatever Connect code reaches the edge without a detail, the reason sent is
// an ErrorReason a client can switch on, with the code the enum documents.
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorDetailSchema, ErrorReason } from "../../../gen/ts/baton/v1/contract_pb.js";
import { batonError } from "./errors.js";
import { reasonForCode, reasonName, reasonRule, type ServerReason } from "./error-reasons.js";

const CLIENT_ONLY = new Set<ErrorReason>([ErrorReason.ERROR_REASON_UNSPECIFIED, ErrorReason.UNAVAILABLE, ErrorReason.UNKNOWN, ErrorReason.RESULT_REFUSED]);
const enumNames = new Set(Object.values(ErrorReason).filter((v): v is string => typeof v === "string"));
const serverReasons = Object.values(ErrorReason).filter((v): v is ServerReason => typeof v === "number" && !CLIENT_ONLY.has(v));
const codes = Object.values(Code).filter((v): v is Code => typeof v === "number");

function sentReason(err: ConnectError): string {
  return err.findDetails(ErrorDetailSchema)[0]!.reason;
}

describe("error reasons", () => {
  it("maps every Connect code to a server reason in the enum that keeps the code, or to none", () => {
    for (const code of codes) {
      const reason = reasonForCode(code);
      if (reason === undefined) continue; // the error goes out without a detail, its code unchanged
      expect(CLIENT_ONLY.has(reason), `${Code[code]} -> ${ErrorReason[reason]}`).toBe(false);
      expect(reasonRule(reason).code).toBe(code);
      expect(enumNames.has(sentReason(batonError({ reason, message: "m", guidance: "g" })))).toBe(true);
    }
  });

  it("sends each server reason by its enum name, under the code its rule gives", () => {
    for (const reason of serverReasons) {
      const err = batonError({ reason, message: "m", guidance: "g" });
      expect(sentReason(err)).toBe(ErrorReason[reason]);
      expect(reasonName(reason)).toBe(ErrorReason[reason]);
      expect(err.code).toBe(reasonRule(reason).code);
    }
  });

  it("keeps the code a Connect error without a detail had, where a reason names it", () => {
    for (const code of [Code.Canceled, Code.DeadlineExceeded, Code.Unimplemented, Code.Internal, Code.InvalidArgument, Code.ResourceExhausted, Code.Unavailable]) {
      expect(reasonRule(reasonForCode(code)!).code).toBe(code);
    }
  });

  it("refuses, at compile time, a string or a client-only reason", () => {
    // Checked by tsc (npm test's typecheck), never run: an unused @ts-expect-error fails it.
    const compileOnly = () => {
      // @ts-expect-error reasons are ErrorReason values, not strings
      batonError({ reason: "LEASE_STALE", message: "m", guidance: "g" });
      // @ts-expect-error UNKNOWN is produced by clients only
      batonError({ reason: ErrorReason.UNKNOWN, message: "m", guidance: "g" });
    };
    expect(typeof compileOnly).toBe("function");
  });
});
