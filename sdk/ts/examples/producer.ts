/**
 * Creates a few tasks, then follows them to their end with watchTasks.
 *
 *   BATON_URL=http://127.0.0.1:7233 npx tsx sdk/ts/examples/producer.ts
 */
import { BatonError, Client, TaskEventType, TaskState, durationFromMs } from "@baton/sdk";

const client = new Client({ baseUrl: process.env.BATON_URL ?? "http://127.0.0.1:7233" });
const run = Date.now().toString(36);

// The idempotency key makes a retried create safe: the same key returns the same task.
const { task: email, created } = await client.createTask({
  queue: "examples",
  type: "email.send",
  payload: { to: "ada@example.com" },
  idempotencyKey: `welcome-ada-${run}`,
  retryPolicy: { initialBackoff: durationFromMs(500), maxBackoff: durationFromMs(5_000) },
});
console.log(`email task ${email.id} (created: ${created})`);

const [report, bad] = await client.batchCreateTasks([
  { queue: "examples", type: "report.build", payload: { pages: 6 } },
  { queue: "examples", type: "email.send", payload: { to: "nobody" } },
]);
const waiting = new Set([email.id, report!.id, bad!.id]);

// Events after cursor 0: nothing that happened before the watch started is missed.
const stop = new AbortController();
for await (const event of client.watchTasks({ queue: "examples", afterCursor: 0n }, { signal: stop.signal })) {
  const task = event.task!;
  if (!waiting.has(task.id)) continue;
  console.log(`${TaskEventType[event.type]} ${task.type} ${task.id}`);
  if (task.state === TaskState.COMPLETED || task.state === TaskState.DEAD_LETTER || task.state === TaskState.CANCELLED) {
    waiting.delete(task.id);
    if (waiting.size === 0) stop.abort();
  }
}

for (const id of [email.id, report!.id, bad!.id]) {
  const t = await client.getTask(id);
  console.log(`${t.type}: ${TaskState[t.state]}`, t.result ?? t.lastError?.message);
}

try {
  await client.requeueTask(email.id);
} catch (err) {
  // Every client error is a BatonError with a machine-readable reason.
  if (err instanceof BatonError) console.log(`requeue refused: ${err.reason} (retryable: ${err.retryable})`);
  else throw err;
}

let count = 0;
for await (const _ of client.listTasks({ queue: "examples" })) count++;
console.log(`${count} tasks in the queue's history`);
client.close();
