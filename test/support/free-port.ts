import { createServer } from "node:net";

/**
 * Asks the kernel for an unused loopback port. The port is released before we
 * return, so another process can grab it before our server binds it: callers
 * that can pick a new port retry on "address in use" rather than trusting this.
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("could not read the port of a loopback listener"));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}
