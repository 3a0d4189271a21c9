import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";

type Handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;

export interface OnePortServer {
  port: number;
  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then closes what is left. */
  close(graceMs: number): Promise<void>;
}

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0");

/**
 * Bounds that keep slow or idle clients from holding resources others need:
 * a connection must send its first bytes within 10s, an HTTP/1.1 request its
 * complete headers within 10s (else 408), and one HTTP/2 connection may hold at
 * most 1,000 streams at once (more are refused with REFUSED_STREAM). Long-lived streams
 * (worker sessions, WatchTasks) have no overall request timeout.
 */
export interface ConnectionLimits {
  firstByteTimeoutMs: number;
  headersTimeoutMs: number;
  maxStreamsPerConnection: number;
}
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { firstByteTimeoutMs: 10_000, headersTimeoutMs: 10_000, maxStreamsPerConnection: 1_000 };

/**
 * One port for HTTP/1.1 and cleartext HTTP/2 (gRPC needs h2c; curl and browsers
 * speak HTTP/1.1). Node's servers speak one each, so a plain TCP server peeks at
 * the first bytes of each connection and hands it to the matching one.
 */
export async function listenOnePort(handler: Handler, port: number, host: string, limits: Partial<ConnectionLimits> = {}): Promise<OnePortServer> {
  const { firstByteTimeoutMs, headersTimeoutMs, maxStreamsPerConnection } = { ...DEFAULT_CONNECTION_LIMITS, ...limits };
  // Long-lived streams (Connect, WatchTasks) must not be cut by Node's default request timeout.
  const h1 = http.createServer({ requestTimeout: 0, headersTimeout: headersTimeoutMs, connectionsCheckingInterval: Math.min(1_000, Math.max(50, headersTimeoutMs / 4)) }, handler as http.RequestListener);
  h1.keepAliveTimeout = 65_000;
  // http1 never listens itself (the TCP server below does), and Node only starts the
  // connection tracking that enforces headersTimeout on 'listening': start it here.
  h1.emit("listening");
  const h2 = http2.createServer(
    { settings: { maxConcurrentStreams: maxStreamsPerConnection } },
    handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  );
  const sockets = new Set<net.Socket>();
  const h2Sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  // HTTP/1.1 requests in flight per socket. http1 never listens itself, so its own
  // connection tracking (closeIdleConnections) is never set up: idle keep-alive
  // connections would hold close() open for the whole grace period.
  const h1InFlight = new Map<net.Socket, number>();
  let closing = false;
  h1.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    h1InFlight.set(socket, (h1InFlight.get(socket) ?? 0) + 1);
    res.once("close", () => {
      const left = (h1InFlight.get(socket) ?? 1) - 1;
      if (left > 0) return void h1InFlight.set(socket, left);
      h1InFlight.delete(socket);
      if (closing) socket.end(); // its last request is done: close instead of keeping it alive
    });
  });
  h2.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });

  // noDelay, as http.createServer and http2.createServer set for the connections
  // they accept themselves: small RPC writes are not held back for an ACK.
  const tcp = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => {
      sockets.delete(socket);
      h2Sockets.delete(socket);
    });
    socket.on("error", () => socket.destroy());
    // A connection that never says a word is dropped; from the first byte on, http1/http2 time it.
    socket.setTimeout(firstByteTimeoutMs, () => socket.destroy());
    socket.once("data", (first: Buffer) => {
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(first);
      const n = Math.min(first.length, H2_PREFACE.length);
      if (first.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) {
        // http2 takes over the paused socket and reads the unshifted bytes itself;
        // resuming would flow them out to no listener and break the session.
        h2Sockets.add(socket);
        h2.emit("connection", socket);
      } else {
        // http1 listens for 'data': it needs the socket flowing again.
        h1.emit("connection", socket);
        socket.resume();
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(port, host, () => resolve());
  });
  const address = tcp.address() as net.AddressInfo;

  return {
    port: address.port,
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      closing = true;
      for (const s of sessions) s.close(); // GOAWAY: no new streams, running ones finish
      // Idle HTTP/1.1 connections (and ones that never sent a byte) go now; busy ones after their request.
      for (const s of sockets) if (!h2Sockets.has(s) && !h1InFlight.has(s)) s.destroy();
      const timer = setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, graceMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
      h1.close(); // stops the connection-tracking interval
    },
  };
}
