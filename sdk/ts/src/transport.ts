import type { Transport } from "@connectrpc/connect";
import {
  Http2SessionManager,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  type Http2SessionOptions,
} from "@connectrpc/connect-node";

/** The wire protocol of a Client. */
export type Protocol = "connect" | "grpc" | "grpc-web";
export type HttpVersion = "1.1" | "2";

export interface TransportOptions {
  baseUrl: string;
  /** A protocol name, or a ready Connect Transport (e.g. createRouterTransport in tests). */
  transport?: Protocol | Transport;
  /** Default "2" for gRPC (it requires HTTP/2), "1.1" otherwise (works through any proxy). */
  httpVersion?: HttpVersion;
  /** HTTP/2 keepalive; a worker's long stream needs it to notice a peer that vanished. */
  http2?: Http2SessionOptions;
}

export interface OwnedTransport {
  transport: Transport;
  /** Closes the HTTP/2 connection this transport opened, if any. */
  close(): void;
}

export function openTransport(opts: TransportOptions): OwnedTransport {
  const given = opts.transport ?? "connect";
  if (typeof given !== "string") return { transport: given, close: () => {} };
  const httpVersion = opts.httpVersion ?? (given === "grpc" ? "2" : "1.1");
  if (given === "grpc" && httpVersion !== "2") throw new Error('gRPC needs HTTP/2: use httpVersion "2" or another transport');
  const baseUrl = opts.baseUrl;
  if (httpVersion === "1.1") {
    const transport =
      given === "grpc-web"
        ? createGrpcWebTransport({ baseUrl, httpVersion })
        : createConnectTransport({ baseUrl, httpVersion });
    return { transport, close: () => {} };
  }
  // An explicit manager, so closing the client closes its connection instead of
  // leaving it to the idle timeout.
  const sessionManager = new Http2SessionManager(baseUrl, opts.http2);
  const common = { baseUrl, httpVersion, sessionManager } as const;
  const transport =
    given === "grpc" ? createGrpcTransport(common)
    : given === "grpc-web" ? createGrpcWebTransport(common)
    : createConnectTransport(common);
  return { transport, close: () => sessionManager.abort() };
}
