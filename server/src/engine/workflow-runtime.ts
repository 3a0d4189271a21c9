/**
 * The workflow background services of one replica: the WatchRun hub and the
 * workflow sweeper (the run event sequencer is the Engine's, started with it). server.ts starts them beside the
 * task services.
 */
import type { Engine } from "./engine.js";
import { createWatchHub, type WatchHub } from "./watch-hub.js";
import { RUN_EVENTS_SEQUENCED_SUBJECT } from "./event-sequencer.js";
import { startWorkflowSweeper } from "./workflow-sweeper.js";

export interface Workflows {
  /** Wakes WatchRun streams when run events were sequenced. */
  hub: WatchHub;
  /** Ends WatchRun streams and stops the background services. */
  stop(): Promise<void>;
}

export function startWorkflows(engine: Engine, opts: { sweepIntervalMs: number }): Workflows {
  const hub = createWatchHub(engine.bus, RUN_EVENTS_SEQUENCED_SUBJECT);
  const sweeper = startWorkflowSweeper(engine, opts.sweepIntervalMs);
  return {
    hub,
    async stop() {
      hub.close();
      await sweeper.stop();
    },
  };
}
