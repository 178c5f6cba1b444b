-- As ../migrations/20261128000001_outbox_unused_due_index.sql: no query reads
-- followup_outbox_due (claims read followup_head_due), and without it a claim's change of
-- next_attempt_at touches no indexed column, so PostgreSQL can update the row in place (HOT).
DROP INDEX IF EXISTS followup_outbox_due;
