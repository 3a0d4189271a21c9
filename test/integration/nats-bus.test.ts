// The NATS bus delivers a replica's own hints in-process (no round trip through
// nats-server, no echo) and everyone else's over NATS, each exactly once.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Bus } from "../../server/src/bus/bus.js";
import { createNatsBus } from "../../server/src/bus/nats-bus.js";

const text = (s: string) => new TextEncoder().encode(s);

/** Every message `bus` gets on `subject`, and a promise for the first `count`. */
function collect(bus: Bus, subject: string, count: number) {
  const got: string[] = [];
  let resolve!: (v: string[]) => void;
  const done = new Promise<string[]>((r) => (resolve = r));
  const unsubscribe = bus.subscribe(subject, (data) => {
    got.push(new TextDecoder().decode(data));
    if (got.length === count) resolve([...got]);
  });
  return { got, done, unsubscribe };
}

/**
 * Resolves once a message from `from` reached `to` through nats-server: `to`'s
 * earlier subscriptions are then registered there (NATS keeps one connection's
 * protocol messages in order).
 */
async function connected(from: Bus, to: Bus, subject: string): Promise<void> {
  const probe = collect(to, `${subject}.probe`, 1);
  const timer = setInterval(() => from.publish(`${subject}.probe`), 20);
  await probe.done;
  clearInterval(timer);
  probe.unsubscribe();
}

describe("NATS bus", () => {
  let a: Bus;
  let b: Bus;
  beforeAll(async () => {
    const log = pino({ level: "silent" });
    [a, b] = await Promise.all([createNatsBus(inject("natsUrl"), log), createNatsBus(inject("natsUrl"), log)]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it("hands a replica's own message to its subscribers at once, and to other replicas once", async () => {
    const subject = `test.bus.${process.pid}`;
    const onA = collect(a, subject, 2);
    const onB = collect(b, subject, 2);
    await connected(a, b, subject);
    await connected(b, a, subject);

    a.publish(subject, text("from a"));
    // In-process delivery is a microtask: it is there before any socket could answer.
    await Promise.resolve();
    expect(onA.got).toEqual(["from a"]);

    b.publish(subject, text("from b"));
    expect(await onA.done).toEqual(["from a", "from b"]);
    // b hears its own at once and a's over NATS, in whichever order they came.
    expect((await onB.done).sort()).toEqual(["from a", "from b"]);

    // One more round trip each way: nothing was echoed back or delivered twice meanwhile.
    await connected(a, b, `${subject}.after`);
    await connected(b, a, `${subject}.after`);
    expect(onA.got).toHaveLength(2);
    expect(onB.got).toHaveLength(2);
    onA.unsubscribe();
    onB.unsubscribe();
  });
});
