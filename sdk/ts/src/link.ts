import type { Hello, LeaseRef, Result } from "../../../gen/ts/baton/v1/worker_pb.js";
import type { ConnectResponse } from "../../../gen/ts/baton/v1/worker_service_pb.js";

/** Welcome, Assign, Cancel, Ack or GoAway, whichever stream carried it. */
export type ServerMessage = Exclude<ConnectResponse["message"], { case: undefined }>;

/**
 * One worker session's wire: the bidi Connect stream, or Listen plus unary
 * TaskService calls (F1). Listen answers its unary calls with the messages the
 * stream would have carried (Ack, Cancel), so the session logic above is the
 * same for both.
 *
 * The send methods return false when the wire is closed; nothing is queued
 * for a later wire (the outbox does that for results).
 */
export interface WorkerLink {
  readonly kind: "connect" | "listen";
  /** Sends Hello and yields what the server sends until the stream ends (returns) or breaks (throws). */
  open(hello: Hello): AsyncIterable<ServerMessage>;
  heartbeat(leases: LeaseRef[]): boolean | Promise<boolean>;
  result(result: Result): boolean;
  extendLease(taskId: string, leaseId: string, extendByMs: number): boolean;
  /** No more Assigns (G2); results and heartbeats go on. */
  drain(): void;
  /** Ends the session politely: the server sees the stream end. */
  close(): void;
  /** Ends the session at once, dropping whatever is in flight. */
  abort(): void;
}
