/**
 * Subject names. Queue and namespace names may contain '.', which NATS reads as
 * a token separator, so it is escaped ('%' never occurs in a valid name).
 */
function token(name: string): string {
  return name.replaceAll(".", "%2E");
}

/** A task became claimable (created, retry due, lease expired, requeued). */
export function queueReadySubject(namespace: string, queue: string): string {
  return `baton.${token(namespace)}.queue.${token(queue)}.ready`;
}

/** New outbox events were sequenced; the payload is the highest cursor as decimal text. */
export const EVENTS_SEQUENCED_SUBJECT = "baton.events.sequenced";

