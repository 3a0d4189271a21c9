// A worker session driven message by message: what an SDK does, without one,
// so tests can break the protocol on purpose and see exactly what the server sends.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { ConnectRequestSchema, WorkerService, type ConnectRequest, type ConnectResponse } from "../../gen/ts/baton/v1/worker_service_pb.js";
import { Channel } from "../../server/src/lib/channel.js";

export type ServerMessage = ConnectResponse["message"];

export interface RawSession {
  send(m: MessageInitShape<typeof ConnectRequestSchema>["message"]): void;
  /** The next server message; rejects after `timeoutMs` or when the stream ends. */
  next(timeoutMs?: number): Promise<ServerMessage>;
  /** Skips messages until one of `kind` arrives. */
  nextOf<K extends NonNullable<ServerMessage["case"]>>(kind: K, timeoutMs?: number): Promise<Extract<ServerMessage, { case: K }>["value"]>;
  /** Drops the connection without a word, like a killed process. */
  close(): void;
}

/** The protocol a raw session speaks: gRPC unless a test asks for Connect (over HTTP/2, binary or JSON). */
export type RawProtocol = "grpc" | "connect-binary" | "connect-json";

export function openRawSession(baseUrl: string, protocol: RawProtocol = "grpc"): RawSession {
  const transport =
    protocol === "grpc" ? createGrpcTransport({ baseUrl }) : createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: protocol === "connect-binary" });
  const client = createClient(WorkerService, transport);
  const requests = new Channel<ConnectRequest>();
  const abort = new AbortController();
  // Read everything into a buffer in the background, so a wait that times out
  // never swallows the message that arrives after it.
  const buffer: ServerMessage[] = [];
  let ended: Error | undefined;
  let notify = () => {};
  void (async () => {
    try {
      for await (const r of client.connect(requests, { signal: abort.signal })) {
        buffer.push(r.message);
        notify();
      }
      ended = new Error("stream ended");
    } catch (err) {
      ended = err instanceof Error ? err : new Error(String(err));
    }
    notify();
  })();
  const next = async (timeoutMs = 10_000): Promise<ServerMessage> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = buffer.shift();
      if (m !== undefined) return m;
      if (ended) throw ended;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no server message within ${timeoutMs}ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        notify = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };
  return {
    send: (m) => requests.push(create(ConnectRequestSchema, { message: m })),
    next,
    async nextOf(kind, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = await next(Math.max(1, deadline - Date.now()));
        if (m.case === kind) return m.value as never;
      }
    },
    close() {
      requests.close();
      abort.abort();
    },
  };
}
