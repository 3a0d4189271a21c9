/**
 * One port for cleartext HTTP/2 (gRPC, Connect over h2c) and HTTP/1.1
 * (Connect, gRPC-Web): a TCP server peeks at each connection's first bytes
 * and hands it to the matching Node server. Every socket is tracked, so a
 * script can cut all connections at once, like a killed server.
 */
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";

type Handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0");

export interface Listening {
  url: string;
  /** Resets every open connection. */
  resetAll(): void;
  /** Stops listening and resets every connection. */
  close(): Promise<void>;
}

export async function listen(handler: Handler, host = "127.0.0.1"): Promise<Listening> {
  const h1 = http.createServer(handler as http.RequestListener);
  h1.requestTimeout = 0;
  const h2 = http2.createServer({}, handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    session.on("error", () => session.destroy());
  });
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.once("data", (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      const n = Math.min(first.length, H2_PREFACE.length);
      if (first.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) {
        h2.emit("connection", socket);
      } else {
        h1.emit("connection", socket);
        socket.resume();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(0, host, () => resolve());
  });
  const { port } = tcp.address() as net.AddressInfo;
  const resetAll = () => {
    for (const s of sockets) s.resetAndDestroy();
    for (const s of sessions) s.destroy();
  };
  return {
    url: `http://${host}:${port}`,
    resetAll,
    close: () =>
      new Promise<void>((resolve) => {
        tcp.close(() => resolve());
        resetAll();
      }),
  };
}
