-- Workflows: definitions, runs, their steps and the run event outbox.
--
-- A run's rows change only under a lock on its baton_workflow_runs row
-- (SELECT ... FOR NO KEY UPDATE), taken after any task row the transaction
-- already holds: task transitions lock the task, then the run. Whoever holds a
-- run lock cancels other tasks with SKIP LOCKED only, never waiting on a task
-- row, so the two orders cannot deadlock; a task skipped that way is marked
-- cancel_pending and cancelled by the workflow sweeper.
--
-- Step tasks are ordinary baton_tasks rows (parent_id = run id, labels
-- baton.run / baton.workflow / baton.step); there is deliberately no foreign key
-- from steps to tasks, since its KEY SHARE locks would conflict with the task
-- row locks above.

CREATE TABLE IF NOT EXISTS baton_workflows (
  namespace         text NOT NULL,
  name              text NOT NULL,
  -- Increases on every change (rule D2).
  resource_version  bigint NOT NULL,
  labels            jsonb NOT NULL DEFAULT '{}',
  -- The WorkflowSpec as proto JSON, as put.
  spec              jsonb NOT NULL,
  -- sha256 of labels and spec: an unchanged put keeps the version.
  spec_hash         text NOT NULL,
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  PRIMARY KEY (namespace, name)
);

-- Versions come from one sequence, so a workflow deleted and put again never
-- reuses a version a client may still hold.
CREATE SEQUENCE IF NOT EXISTS baton_workflow_version;

CREATE TABLE IF NOT EXISTS baton_workflow_runs (
  id                uuid PRIMARY KEY,
  namespace         text NOT NULL,
  workflow          text NOT NULL,
  workflow_version  bigint NOT NULL,
  -- The definition the run follows (rule D3).
  spec              jsonb NOT NULL,
  input             jsonb NOT NULL,
  output            jsonb,
  state             text NOT NULL,
  terminal_reason   text NOT NULL DEFAULT '',
  idempotency_key   text,
  request_hash      text,
  labels            jsonb NOT NULL DEFAULT '{}',
  trace_id          text NOT NULL DEFAULT '',
  deadline_at       timestamptz,
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  ended_at          timestamptz,
  CONSTRAINT baton_workflow_runs_state_valid
    CHECK (state IN ('running', 'succeeded', 'failed', 'cancelled', 'timed_out')),
  CONSTRAINT baton_workflow_runs_ended_iff_terminal
    CHECK ((state = 'running') = (ended_at IS NULL))
);

CREATE UNIQUE INDEX IF NOT EXISTS baton_workflow_runs_idempotency
  ON baton_workflow_runs (namespace, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

CREATE INDEX IF NOT EXISTS baton_workflow_runs_listing
  ON baton_workflow_runs (namespace, id DESC);

-- The run timeout sweep (rule D12).
CREATE INDEX IF NOT EXISTS baton_workflow_runs_deadline
  ON baton_workflow_runs (deadline_at)
  WHERE state = 'running' AND deadline_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS baton_workflow_run_steps (
  run_id          uuid NOT NULL REFERENCES baton_workflow_runs (id) ON DELETE CASCADE,
  -- Position in the definition's steps.
  position        integer NOT NULL,
  name            text NOT NULL,
  state           text NOT NULL,
  task_id         uuid,
  -- The checkpoint: the task's result once the step succeeded (rule D7).
  output          jsonb,
  error           jsonb,
  reason          text NOT NULL DEFAULT '',
  join_state      jsonb,
  fallback_for    text NOT NULL DEFAULT '',
  approval        jsonb,
  -- The step's task must still be cancelled: it was locked when the run tried.
  cancel_pending  boolean NOT NULL DEFAULT false,
  started_at      timestamptz,
  ended_at        timestamptz,
  updated_at      timestamptz NOT NULL,
  PRIMARY KEY (run_id, name),
  CONSTRAINT baton_workflow_run_steps_state_valid
    CHECK (state IN ('waiting', 'waiting_approval', 'running', 'succeeded', 'failed', 'skipped', 'cancelled')),
  CONSTRAINT baton_workflow_run_steps_output_iff_succeeded
    CHECK ((state = 'succeeded') = (output IS NOT NULL))
);

-- Task → step, for the transition hook.
CREATE UNIQUE INDEX IF NOT EXISTS baton_workflow_run_steps_task
  ON baton_workflow_run_steps (task_id)
  WHERE task_id IS NOT NULL;

-- The sweeper's repair passes: running steps, and tasks still to cancel.
CREATE INDEX IF NOT EXISTS baton_workflow_run_steps_running
  ON baton_workflow_run_steps (task_id)
  WHERE state = 'running';
CREATE INDEX IF NOT EXISTS baton_workflow_run_steps_cancel_pending
  ON baton_workflow_run_steps (run_id)
  WHERE cancel_pending;

-- The run event outbox, sequenced like baton_task_events (see 001_tasks.sql):
-- rows are written with cursor NULL and stamped after commit, in order.
CREATE TABLE IF NOT EXISTS baton_workflow_run_events (
  id          bigserial PRIMARY KEY,
  cursor      bigint UNIQUE,
  namespace   text NOT NULL,
  run_id      uuid NOT NULL,
  workflow    text NOT NULL,
  type        text NOT NULL,
  step        text,
  -- {"run": <run row without spec>, "step": <step row> | null}
  snapshot    jsonb NOT NULL,
  created_at  timestamptz NOT NULL
);

CREATE INDEX IF NOT EXISTS baton_workflow_run_events_unsequenced
  ON baton_workflow_run_events (id)
  WHERE cursor IS NULL;

CREATE INDEX IF NOT EXISTS baton_workflow_run_events_run
  ON baton_workflow_run_events (run_id, cursor);

CREATE SEQUENCE IF NOT EXISTS baton_workflow_run_event_cursor;
