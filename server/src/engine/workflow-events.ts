/**
 * The run event announcer: tells every replica's WatchRun hub (over the bus)
 * up to which cursor run events have settled, as the task event announcer does
 * (see docs/ARCHITECTURE.md "Watch cursors without gaps"). Poked after commits
 * that wrote run events, and once per interval.
 */
import { runEventMaxCursor } from "../store/workflows.js";
import { startEventAnnouncer, type EventAnnouncer } from "./event-announcer.js";
import type { Engine } from "./engine.js";

/** Run events settled; the payload is the highest settled cursor as decimal text. */
export const RUN_EVENTS_SEQUENCED_SUBJECT = "baton.workflow.run-events.sequenced";

/** Each server's engine has one announcer; code that wrote run events pokes it through here. */
const announcers = new WeakMap<Engine, EventAnnouncer>();

export function pokeRunEvents(engine: Engine): void {
  announcers.get(engine)?.poke();
}

export function startRunEventAnnouncer(engine: Engine, intervalMs: number): EventAnnouncer {
  const announcer = startEventAnnouncer(engine, { maxSettled: runEventMaxCursor, subject: RUN_EVENTS_SEQUENCED_SUBJECT, intervalMs });
  announcers.set(engine, announcer);
  return {
    poke: announcer.poke,
    async stop() {
      if (announcers.get(engine) === announcer) announcers.delete(engine);
      await announcer.stop();
    },
  };
}
