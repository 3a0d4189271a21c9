// A TCP load balancer on loopback in front of the replicas, as a deployment
// would have one. Every worker and the watcher connect through it, which gives
// the chaos run two things: a dead replica costs a reconnect (new connections go
// to the replicas that accept them), and `drop()` cuts worker streams mid-flight
// with a TCP reset, the way a flaky network or a restarted LB would.
import * as net from "node:net";
import type { Rng } from "./rng.js";

export interface Proxy {
  readonly port: number;
  readonly url: string;
  /** Open client connections. */
  readonly connections: number;
  /** Resets a share of the open connections (both sides); returns how many. */
  drop(fraction: number, rng: Rng): number;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream?: net.Socket;
}

/** `upstreams()` is asked on every new connection: the ports of the replicas, tried round robin. */
export async function startProxy(upstreams: () => number[]): Promise<Proxy> {
  const pairs = new Set<Pair>();
  let next = 0;

  const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (client) => {
    const pair: Pair = { client };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      pair.upstream?.destroy();
    };
    client.on("error", end);
    client.on("close", end);
    const ports = upstreams();
    const tryConnect = (left: number) => {
      if (left === 0 || client.destroyed) {
        end();
        return;
      }
      const port = ports[next++ % ports.length]!;
      const upstream = net.connect({ host: "127.0.0.1", port, noDelay: true });
      const refused = () => {
        upstream.destroy();
        tryConnect(left - 1);
      };
      upstream.once("error", refused);
      upstream.once("connect", () => {
        upstream.off("error", refused);
        if (client.destroyed) {
          upstream.destroy();
          return;
        }
        pair.upstream = upstream;
        upstream.on("error", end);
        upstream.on("close", end);
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryConnect(Math.max(ports.length, 1));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return pairs.size;
    },
    drop(fraction, rng) {
      let dropped = 0;
      for (const pair of [...pairs]) {
        if (!rng.chance(fraction)) continue;
        dropped++;
        pairs.delete(pair);
        pair.client.resetAndDestroy();
        pair.upstream?.resetAndDestroy();
      }
      return dropped;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream?.destroy();
      }
      pairs.clear();
      await closed;
    },
  };
}
