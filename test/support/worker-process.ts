// A TS SDK worker in its own process, so tests can kill -9 it mid-task.
//   tsx test/support/worker-process.ts <baseUrl> <queue>
// Handlers: "hang" never finishes; anything else completes at once. Prints
// "started <taskId> <leaseId>" when a handler starts.
import { Worker, silentLogger } from "../../sdk/ts/src/index.js";

const [baseUrl, queue] = process.argv.slice(2);
const worker = new Worker({ baseUrl: baseUrl!, queues: [queue!], workerId: "worker-process", slots: 4, logger: silentLogger });
const announce = (task: { id: string; lease?: { leaseId: string } }) => console.log(`started ${task.id} ${task.lease?.leaseId ?? ""}`);
worker.handle("hang", async (task, ctx) => {
  announce(task);
  await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
});
worker.handle("quick", (task) => {
  announce(task);
  return { by: process.pid };
});
worker.on("connected", () => console.log("connected"));
await worker.run();
