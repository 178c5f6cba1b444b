-- The citizen's consent directives. A change takes effect for the next request: readers query
-- these tables on every decision, nothing caches them.
CREATE TABLE opt_out (
    patient_cpr TEXT PRIMARY KEY,
    -- RFC 3339 UTC.
    since       TEXT NOT NULL
);

CREATE TABLE block (
    id          TEXT PRIMARY KEY,
    patient_cpr TEXT NOT NULL,
    -- The block in its checked JSON form (consent::Block), re-checked when loaded.
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX block_patient ON block (patient_cpr);
