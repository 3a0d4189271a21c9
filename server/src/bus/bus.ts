/**
 * The bus carries hints, never truth: wake-ups ("a task may be claimable in this
 * queue") and fan-out ("new events were sequenced"). Receivers always go back to
 * Postgres, so a lost message can delay work but never lose or duplicate it.
 */
export interface Bus {
  publish(subject: string, data?: Uint8Array): void;
  /** Calls `onMessage` for each message on exactly `subject`; returns an unsubscribe function. */
  subscribe(subject: string, onMessage: (data: Uint8Array) => void): () => void;
  close(): Promise<void>;
}
