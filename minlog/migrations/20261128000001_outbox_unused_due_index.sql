-- followup_outbox_due (state, next_attempt_at) served the claim before followup_head existed;
-- no query reads it since (claims read followup_head_due), but every claim and settle of
-- BRS delivery still rewrote it. Dropping it makes each of those one index write cheaper.
DROP INDEX IF EXISTS followup_outbox_due;
