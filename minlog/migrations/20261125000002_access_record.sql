-- MinLog: one row per access that concerns a patient (query, retrieval, registration, update,
-- delete), including withheld and refused ones. Append-only.
CREATE TABLE access_record (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    -- RFC 3339 UTC with fixed precision, so text order is time order.
    time              TEXT NOT NULL,
    patient_cpr       TEXT NOT NULL,
    user_cpr          TEXT,
    user_name         TEXT,
    user_role         TEXT NOT NULL,
    organisation_sor  TEXT,
    organisation_cvr  TEXT,
    organisation_name TEXT,
    it_system         TEXT,
    on_behalf_of      TEXT,
    action            TEXT NOT NULL CHECK (action IN ('query', 'retrieve', 'register', 'update', 'delete')),
    -- JSON array of document uniqueIds.
    documents         TEXT NOT NULL,
    override_reason   TEXT,
    outcome           TEXT NOT NULL CHECK (outcome IN ('allowed', 'filtered', 'rejected'))
);
CREATE INDEX access_record_patient ON access_record (patient_cpr, id);
CREATE INDEX access_record_on_behalf_of ON access_record (on_behalf_of, id);

-- Treatment-relation follow-ups waiting for delivery to BRS, committed in the same transaction
-- as the access record they follow up. Delivered at least once, in order per patient.
CREATE TABLE followup_outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id         TEXT NOT NULL UNIQUE,
    access_record_id INTEGER NOT NULL REFERENCES access_record (id),
    patient_cpr      TEXT NOT NULL,
    -- The JSON body POSTed to the BRS URL (INTERFACE.md).
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT
);
CREATE INDEX followup_outbox_due ON followup_outbox (state, next_attempt_at);
CREATE INDEX followup_outbox_patient ON followup_outbox (patient_cpr, id);
