import type { SessionSpec } from "../core/hello.js";
import type { ConnectResponse } from "../../../gen/ts/baton/v1/worker_service_pb.js";
import type { GoAway } from "../../../gen/ts/baton/v1/worker_pb.js";
import type { TaskRow } from "../core/task-row.js";

/** A message from server to worker, whichever stream carries it. */
export type ServerMessage = ConnectResponse["message"];

/**
 * What the engine sends a session: the protocol's messages, except that an
 * assignment carries the claimed row. The transport (api/worker-stream.ts)
 * turns it into an Assign with the row converters, which live on the wire side.
 */
export type SessionMessage = Exclude<ServerMessage, { case: "assign" }> | { case: "assignRow"; value: TaskRow };

export type SessionTransport = "CONNECT" | "LISTEN";

/**
 * One worker stream on this replica: its capacity and the leases it holds.
 * Capacity is `slots - held - claiming` (K1): `claiming` counts claims in flight,
 * so two queues' dispatch loops can never over-fill one session.
 */
export class WorkerSession {
  /** taskId -> leaseId of every lease this session holds. */
  readonly held = new Map<string, string>();
  slots: number;
  draining = false;
  claiming = 0;
  closed = false;
  lastHeartbeatMs = Date.now();
  /** Round-robin position among sessions of a queue, for fair dispatch. */
  lastAssignedMs = 0;

  constructor(
    readonly id: string,
    readonly spec: SessionSpec,
    readonly transport: SessionTransport,
    readonly connectedAtMs: number,
    private readonly sendFn: (m: SessionMessage) => boolean,
    /** Ends the server's side of the stream after what was already sent. */
    private readonly endFn: () => void = () => {},
  ) {
    this.slots = spec.slots;
  }

  get free(): number {
    if (this.draining || this.closed) return 0;
    return Math.max(0, this.slots - this.held.size - this.claiming);
  }

  /** A stable key of the task-type filter: sessions with equal keys see the same claimable tasks. */
  get typesKey(): string {
    return this.spec.taskTypes.join("\u0000");
  }

  send(message: SessionMessage): boolean {
    if (this.closed) return false;
    return this.sendFn(message);
  }

  /** Set once GoAway was sent: the stream ends as soon as the session holds no lease. */
  goneAway = false;

  /**
   * GoAway (G1, B3). With `endNow` the stream ends at once (a dead session);
   * otherwise it ends when the running tasks' results are in (`endIfIdle`), or
   * when the server's shutdown grace cuts it. Either way the worker reconnects
   * and its leases live on (N3).
   */
  goAway(goAway: GoAway, endNow: boolean): void {
    this.send({ case: "goAway", value: goAway });
    this.draining = true;
    this.goneAway = true;
    if (endNow) this.endFn();
    else this.endIfIdle();
  }

  endIfIdle(): void {
    if (this.goneAway && this.held.size === 0) this.endFn();
  }
}
