-- Delivery of treatment-relation follow-ups (the outbox worker).

-- When the receiver answered 2xx (RFC 3339 UTC, fixed width); NULL until delivered.
ALTER TABLE followup_outbox ADD COLUMN delivered_at TEXT;

-- The head of each patient's queue: the claim looks up "is there an older pending follow-up
-- of this patient?" for every candidate; only pending rows matter, so the index holds only
-- those and stays as small as the backlog.
CREATE INDEX followup_outbox_pending_patient ON followup_outbox (patient_cpr, id)
    WHERE state = 'pending';

-- The admin listing (by state, in commit order) and the depth counts per state.
CREATE INDEX followup_outbox_state ON followup_outbox (state, id);
