-- Tasks, their attempt history and the event outbox.
--
-- Lifecycle (enforced by the CHECK constraints below and by server/src/core/failure-rules.ts and the engine's lease calls):
--   pending      created, retried or requeued; claimable once scheduled_at has passed.
--                In: CreateTask, a retryable failure, lease expiry, RequeueTask.
--                Out: claim -> claimed; CancelTask -> cancelled; schedule-to-start timeout -> dead_letter.
--   claimed      held by one worker under a lease (lease_* columns set, and only then).
--                Out: CompleteTask -> completed; FailTask / lease expiry -> pending | dead_letter | cancelled.
--   completed    terminal; result set.
--   dead_letter  kept until RequeueTask moves it back to pending.
--   cancelled    terminal.

CREATE TABLE IF NOT EXISTS baton_tasks (
  id                     uuid PRIMARY KEY,
  namespace              text NOT NULL,
  queue                  text NOT NULL,
  type                   text NOT NULL,
  payload                jsonb NOT NULL,
  priority               integer NOT NULL DEFAULT 0,
  state                  text NOT NULL,
  -- Every claim increments attempt; it never decreases and is half the fencing token.
  attempt                integer NOT NULL DEFAULT 0,
  -- attempt as it was at the last requeue: max_attempts counts from here.
  attempt_base           integer NOT NULL DEFAULT 0,
  max_attempts           integer NOT NULL,
  retry_policy           jsonb NOT NULL,
  schedule_to_start_ms   bigint,
  start_to_close_ms      bigint NOT NULL,
  heartbeat_ms           bigint NOT NULL,
  scheduled_at           timestamptz NOT NULL,
  lease_id               uuid,
  lease_worker_id        text,
  lease_started_at       timestamptz,
  lease_expires_at       timestamptz,
  result                 jsonb,
  last_error             jsonb,
  idempotency_key        text,
  -- sha256 of the creating request, to tell a replay from a reused key.
  request_hash           text,
  labels                 jsonb NOT NULL DEFAULT '{}',
  trace_id               text NOT NULL DEFAULT '',
  parent_id              text NOT NULL DEFAULT '',
  cancel_requested       boolean NOT NULL DEFAULT false,
  terminal_reason        text NOT NULL DEFAULT '',
  created_at             timestamptz NOT NULL,
  updated_at             timestamptz NOT NULL,
  CONSTRAINT baton_tasks_state_valid
    CHECK (state IN ('pending', 'claimed', 'completed', 'dead_letter', 'cancelled')),
  CONSTRAINT baton_tasks_lease_iff_claimed
    CHECK ((state = 'claimed') = (lease_id IS NOT NULL AND lease_expires_at IS NOT NULL)),
  CONSTRAINT baton_tasks_result_iff_completed
    CHECK ((state = 'completed') = (result IS NOT NULL))
);

-- The claim query's index: only pending rows, in claim order.
CREATE INDEX IF NOT EXISTS baton_tasks_claimable
  ON baton_tasks (namespace, queue, priority DESC, scheduled_at, id)
  WHERE state = 'pending';

-- The lease sweeper's index.
CREATE INDEX IF NOT EXISTS baton_tasks_lease_expiry
  ON baton_tasks (lease_expires_at)
  WHERE state = 'claimed';

-- The schedule-to-start sweeper's index.
CREATE INDEX IF NOT EXISTS baton_tasks_schedule_to_start
  ON baton_tasks (scheduled_at)
  WHERE state = 'pending' AND schedule_to_start_ms IS NOT NULL;

CREATE INDEX IF NOT EXISTS baton_tasks_listing
  ON baton_tasks (namespace, id DESC);

CREATE UNIQUE INDEX IF NOT EXISTS baton_tasks_idempotency
  ON baton_tasks (namespace, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

CREATE TABLE IF NOT EXISTS baton_task_attempts (
  task_id      uuid NOT NULL REFERENCES baton_tasks (id) ON DELETE CASCADE,
  attempt      integer NOT NULL,
  worker_id    text NOT NULL,
  lease_id     uuid NOT NULL,
  started_at   timestamptz NOT NULL,
  ended_at     timestamptz,
  outcome      text NOT NULL,
  error        jsonb,
  PRIMARY KEY (task_id, attempt),
  CONSTRAINT baton_task_attempts_outcome_valid
    CHECK (outcome IN ('running', 'completed', 'failed', 'lease_expired', 'timed_out', 'cancelled'))
);

-- The outbox. Writers insert rows with cursor NULL in the same transaction as the
-- change. One sequencer at a time (advisory lock) stamps committed rows with
-- increasing cursors, so a watcher that has seen cursor N never later finds a
-- row below N: resuming from a cursor has no gaps, whatever the commit order.
CREATE TABLE IF NOT EXISTS baton_task_events (
  id         bigserial PRIMARY KEY,
  cursor     bigint UNIQUE,
  namespace  text NOT NULL,
  task_id    uuid NOT NULL,
  queue      text NOT NULL,
  task_type  text NOT NULL,
  type       text NOT NULL,
  snapshot   jsonb NOT NULL,
  created_at timestamptz NOT NULL
);

CREATE INDEX IF NOT EXISTS baton_task_events_unsequenced
  ON baton_task_events (id)
  WHERE cursor IS NULL;

CREATE SEQUENCE IF NOT EXISTS baton_task_event_cursor;
