-- Watch cursors without a sequencer (docs/ARCHITECTURE.md "Watch cursors").
--
-- Until now events were written with cursor NULL and a sequencer stamped them
-- after commit with an UPDATE: a second full row version per event, which cost
-- about a quarter of the database time of a task's life. Now a cursor is fixed
-- when the event is written:
--
--   cursor = (top-level transaction id << 24) + n,   n = 0, 1, 2, … within the transaction
--
-- and readers expose only cursors below (oldest running transaction id << 24)
-- (EventHorizon in store/events.ts). Every transaction with a smaller id has
-- ended, and every transaction still to write gets a larger one, so a reader
-- that has seen cursor C never later finds an event below C: resuming from a
-- cursor has no gaps, whatever the commit order. A transaction writes at most
-- 2^24 events. Transaction ids are 64-bit (xid8), so cursors never wrap.

CREATE OR REPLACE FUNCTION baton_event_cursor() RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  -- The ordinal lives in a transaction-local setting: it starts again at 0 in
  -- every transaction (a reverted setting reads as '').
  n bigint := coalesce(nullif(current_setting('baton.event_ordinal', true), ''), '0')::bigint;
BEGIN
  IF n >= 16777216 THEN
    RAISE EXCEPTION 'a transaction may write at most 16777216 events';
  END IF;
  PERFORM set_config('baton.event_ordinal', (n + 1)::text, true);
  RETURN (pg_current_xact_id()::text::bigint << 24) + n;
END $$;

-- Events written before this migration keep the sequencer's cursors (all far
-- below any transaction id << 24); the ones still waiting are stamped now.
UPDATE baton_task_events e SET cursor = s.cursor
FROM (SELECT id, nextval('baton_task_event_cursor') AS cursor FROM baton_task_events WHERE cursor IS NULL ORDER BY id) s
WHERE e.id = s.id;
UPDATE baton_workflow_run_events e SET cursor = s.cursor
FROM (SELECT id, nextval('baton_workflow_run_event_cursor') AS cursor FROM baton_workflow_run_events WHERE cursor IS NULL ORDER BY id) s
WHERE e.id = s.id;

ALTER TABLE baton_task_events ALTER COLUMN cursor SET DEFAULT baton_event_cursor();
ALTER TABLE baton_task_events ALTER COLUMN cursor SET NOT NULL;
ALTER TABLE baton_workflow_run_events ALTER COLUMN cursor SET DEFAULT baton_event_cursor();
ALTER TABLE baton_workflow_run_events ALTER COLUMN cursor SET NOT NULL;

DROP INDEX IF EXISTS baton_task_events_unsequenced;
DROP INDEX IF EXISTS baton_workflow_run_events_unsequenced;
DROP SEQUENCE IF EXISTS baton_task_event_cursor;
DROP SEQUENCE IF EXISTS baton_workflow_run_event_cursor;
