-- Delivery of treatment-relation follow-ups (the outbox worker).

-- When the receiver answered 2xx (RFC 3339 UTC, fixed width); NULL until delivered.
ALTER TABLE followup_outbox ADD COLUMN delivered_at TEXT;

-- The head of each patient's queue: that patient's oldest pending follow-up, the only one
-- that may be delivered (in order per patient). One row per patient with pending follow-ups,
-- kept in the same transaction as every change to them, so the claim reads only the heads
-- that are due (an index range) however long the queues behind them are.
CREATE TABLE followup_head (
    patient_cpr     TEXT PRIMARY KEY,
    followup_id     INTEGER NOT NULL UNIQUE REFERENCES followup_outbox (id),
    -- Equal to the head follow-up's next_attempt_at (a claim's lease end while it is tried).
    next_attempt_at TEXT NOT NULL
);
CREATE INDEX followup_head_due ON followup_head (next_attempt_at, followup_id);

-- Finding a patient's next pending follow-up when the head settles.
CREATE INDEX followup_outbox_pending_patient ON followup_outbox (patient_cpr, id)
    WHERE state = 'pending';

-- The admin listing (by state, in commit order) and the depth counts per state.
CREATE INDEX followup_outbox_state ON followup_outbox (state, id);

-- Follow-ups committed before this migration.
INSERT INTO followup_head (patient_cpr, followup_id, next_attempt_at)
SELECT head.patient_cpr, head.id, head.next_attempt_at FROM followup_outbox AS head
WHERE head.state = 'pending' AND head.id = (
    SELECT MIN(older.id) FROM followup_outbox AS older
    WHERE older.patient_cpr = head.patient_cpr AND older.state = 'pending');
