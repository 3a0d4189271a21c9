import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { Client as RpcClient } from "@connectrpc/connect";
import type { Hello, LeaseRef, Result } from "../../../gen/ts/baton/v1/worker_pb.js";
import { ConnectRequestSchema, type ConnectRequest, type WorkerService } from "../../../gen/ts/baton/v1/worker_service_pb.js";
import type { ServerMessage, WorkerLink } from "./link.js";
import { AsyncQueue } from "./queue.js";

/** WorkerService.Connect: one bidirectional HTTP/2 stream carries the whole session. */
export class ConnectLink implements WorkerLink {
  readonly kind = "connect";
  readonly #rpc: RpcClient<typeof WorkerService>;
  readonly #requests = new AsyncQueue<ConnectRequest>();
  readonly #abort = new AbortController();

  constructor(rpc: RpcClient<typeof WorkerService>) {
    this.#rpc = rpc;
  }

  async *open(hello: Hello): AsyncGenerator<ServerMessage> {
    this.#send({ case: "hello", value: hello });
    try {
      for await (const res of this.#rpc.connect(this.#requests, { signal: this.#abort.signal })) {
        if (res.message.case !== undefined) yield res.message;
      }
    } finally {
      // The response side is done: stop feeding a request stream nobody reads.
      this.#requests.close();
      this.#abort.abort();
    }
  }

  heartbeat(leases: LeaseRef[]): boolean {
    return this.#send({ case: "heartbeat", value: { leases } });
  }

  result(result: Result): boolean {
    return this.#send({ case: "result", value: result });
  }

  extendLease(taskId: string, leaseId: string, extendByMs: number): boolean {
    return this.#send({ case: "extendLease", value: { taskId, leaseId, extendBy: durationFromMs(extendByMs) } });
  }

  drain(): void {
    this.#send({ case: "drain", value: {} });
  }

  close(): void {
    this.#requests.close();
  }

  abort(): void {
    this.#requests.close();
    this.#abort.abort();
  }

  #send(message: MessageInitShape<typeof ConnectRequestSchema>["message"]): boolean {
    return this.#requests.push(create(ConnectRequestSchema, { message }));
  }
}
