/**
 * The wire side of a worker session: turns what the engine sends a session into
 * the protocol's server messages. The engine assigns rows; the Task message is
 * built here, beside the other row converters, with the lease id: an Assign
 * goes to the lease's holder (L5).
 */
import { create } from "@bufbuild/protobuf";
import { AssignSchema } from "../../../gen/ts/baton/v1/worker_pb.js";
import type { ServerMessage, SessionMessage } from "../engine/worker-session.js";
import { taskFromRow } from "./task-message.js";

export function serverMessage(m: SessionMessage): ServerMessage {
  if (m.case === "assignRow") return { case: "assign", value: create(AssignSchema, { task: taskFromRow(m.value, [], { forLeaseHolder: true }) }) };
  return m;
}
