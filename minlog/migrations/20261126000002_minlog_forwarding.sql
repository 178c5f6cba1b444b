-- Forwarding of MinLog records to an external MinLog endpoint (when configured): a cursor over
-- the append-only access_record table. Records are sent in id order, one at a time, so the
-- cursor alone says what has been delivered; a record the endpoint keeps refusing is written to
-- minlog_forward_dead after the configured attempts and the cursor moves past it.
CREATE TABLE minlog_forward_cursor (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    -- Distinguishes this store's records from another's at the receiver: event_id is
    -- "<store_id>:<record id>".
    store_id         TEXT NOT NULL,
    last_record_id   INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT
);

CREATE TABLE minlog_forward_dead (
    record_id  INTEGER PRIMARY KEY REFERENCES access_record (id),
    time       TEXT NOT NULL,
    error      TEXT NOT NULL
);
