-- The audit store on PostgreSQL: the same tables, columns and meaning as the SQLite schema in
-- ../migrations (read its comments), as they stand after all of its migrations, so that the
-- one SQL of minlog's engine runs on both. Differences, and why:
--
-- - Every text column is COLLATE "C": comparison is by bytes, as in SQLite. Times are
--   fixed-width RFC 3339 strings compared as text (time order is text order), which must not
--   depend on the database's locale.
-- - Ids are identity columns, read as i64 (BIGINT); they are taken at insert, and commit order
--   may differ between instances: the forwarder waits for that (minlog::backend).
-- - This schema shares its _sqlx_migrations table with the registry's and the consent store's;
--   the versions here are the audit store's alone.

CREATE TABLE rejected_attempt (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time             TEXT COLLATE "C" NOT NULL,
    remote_address   TEXT COLLATE "C",
    claimed_subject  TEXT COLLATE "C",
    transaction_name TEXT COLLATE "C",
    fault_code       TEXT COLLATE "C" NOT NULL,
    reason           TEXT COLLATE "C" NOT NULL
);
CREATE INDEX rejected_attempt_time ON rejected_attempt (time);

CREATE TABLE access_record (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time              TEXT COLLATE "C" NOT NULL,
    patient_cpr       TEXT COLLATE "C" NOT NULL,
    user_cpr          TEXT COLLATE "C",
    user_name         TEXT COLLATE "C",
    user_role         TEXT COLLATE "C" NOT NULL,
    organisation_sor  TEXT COLLATE "C",
    organisation_cvr  TEXT COLLATE "C",
    organisation_name TEXT COLLATE "C",
    it_system         TEXT COLLATE "C",
    on_behalf_of      TEXT COLLATE "C",
    action            TEXT COLLATE "C" NOT NULL
        CHECK (action IN ('query', 'retrieve', 'register', 'update', 'delete')),
    documents         TEXT COLLATE "C" NOT NULL,
    override_reason   TEXT COLLATE "C",
    outcome           TEXT COLLATE "C" NOT NULL
        CHECK (outcome IN ('allowed', 'filtered', 'rejected'))
);
CREATE INDEX access_record_patient ON access_record (patient_cpr, id);
CREATE INDEX access_record_on_behalf_of ON access_record (on_behalf_of, id);

CREATE TABLE followup_outbox (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id         TEXT COLLATE "C" NOT NULL UNIQUE,
    access_record_id BIGINT NOT NULL REFERENCES access_record (id),
    patient_cpr      TEXT COLLATE "C" NOT NULL,
    payload          TEXT COLLATE "C" NOT NULL,
    state            TEXT COLLATE "C" NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  TEXT COLLATE "C" NOT NULL,
    last_error       TEXT COLLATE "C",
    delivered_at     TEXT COLLATE "C"
);
CREATE INDEX followup_outbox_due ON followup_outbox (state, next_attempt_at);
CREATE INDEX followup_outbox_patient ON followup_outbox (patient_cpr, id);
CREATE INDEX followup_outbox_pending_patient ON followup_outbox (patient_cpr, id)
    WHERE state = 'pending';
CREATE INDEX followup_outbox_state ON followup_outbox (state, id);
CREATE INDEX followup_outbox_access_record ON followup_outbox (access_record_id);

-- Each patient's oldest pending follow-up (the only claimable one); see minlog::outbox.
CREATE TABLE followup_head (
    patient_cpr     TEXT COLLATE "C" PRIMARY KEY,
    followup_id     BIGINT NOT NULL UNIQUE REFERENCES followup_outbox (id),
    next_attempt_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX followup_head_due ON followup_head (next_attempt_at, followup_id);

CREATE TABLE minlog_forward_cursor (
    id               BIGINT PRIMARY KEY CHECK (id = 1),
    store_id         TEXT COLLATE "C" NOT NULL,
    last_record_id   BIGINT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  TEXT COLLATE "C" NOT NULL,
    last_error       TEXT COLLATE "C",
    holder           TEXT COLLATE "C",
    lease_until      TEXT COLLATE "C"
);

CREATE TABLE minlog_forward_dead (
    record_id  BIGINT PRIMARY KEY REFERENCES access_record (id),
    time       TEXT COLLATE "C" NOT NULL,
    error      TEXT COLLATE "C" NOT NULL
);
