-- The registry's metadata store on PostgreSQL: the same tables, columns and meaning as the
-- SQLite schema in ../migrations (read its comments; the XML is the truth, every other column
-- is derived from it when the object is written), so that the one SQL of registry::engine
-- runs on both. Differences, and why:
--
-- - Every text column is COLLATE "C": comparison is by bytes, as in SQLite. The time columns
--   are compared with >= and < (DTM strings padded to 14 digits) and must not depend on the
--   database's locale; equality and the btree indexes behave the same everywhere, and ILIKE
--   (the author match, see postgres.rs) folds ASCII letters only, as SQLite's LIKE does.
-- - seq is an identity column (insertion order); version and size are BIGINT, read as i64.
--
-- Concurrency is not the schema's business: writes run SERIALIZABLE (see postgres.rs), so no
-- constraint here has to stand in for a check the registration rules make.

CREATE TABLE registry_object (
    -- Insertion order; results are returned in it.
    seq                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry_uuid           TEXT COLLATE "C" NOT NULL UNIQUE,
    kind                 TEXT COLLATE "C" NOT NULL
        CHECK (kind IN ('DocumentEntry', 'SubmissionSet', 'Folder', 'Association')),
    xml                  TEXT COLLATE "C" NOT NULL,
    patient_id           TEXT COLLATE "C",
    status               TEXT COLLATE "C" NOT NULL,
    object_type          TEXT COLLATE "C",
    unique_id            TEXT COLLATE "C",
    logical_id           TEXT COLLATE "C" NOT NULL,
    version              BIGINT NOT NULL,
    creation_time        TEXT COLLATE "C",
    service_start_time   TEXT COLLATE "C",
    service_stop_time    TEXT COLLATE "C",
    submission_time      TEXT COLLATE "C",
    last_update_time     TEXT COLLATE "C",
    repository_unique_id TEXT COLLATE "C",
    hash                 TEXT COLLATE "C",
    size                 BIGINT,
    source_id            TEXT COLLATE "C",
    association_type     TEXT COLLATE "C",
    source_object        TEXT COLLATE "C",
    target_object        TEXT COLLATE "C"
);

CREATE INDEX registry_object_patient ON registry_object (patient_id, kind, status);
CREATE INDEX registry_object_unique_id ON registry_object (unique_id);
CREATE INDEX registry_object_logical_id ON registry_object (logical_id, version);
CREATE INDEX registry_object_source ON registry_object (source_object, association_type);
CREATE INDEX registry_object_target ON registry_object (target_object, association_type);
CREATE INDEX registry_object_hash ON registry_object (hash);

CREATE TABLE object_code (
    object    TEXT COLLATE "C" NOT NULL REFERENCES registry_object (entry_uuid) ON DELETE CASCADE,
    attribute TEXT COLLATE "C" NOT NULL,
    code      TEXT COLLATE "C" NOT NULL,
    scheme    TEXT COLLATE "C" NOT NULL
);
CREATE INDEX object_code_lookup ON object_code (attribute, code, scheme);
CREATE INDEX object_code_object ON object_code (object);

CREATE TABLE object_author_person (
    object TEXT COLLATE "C" NOT NULL REFERENCES registry_object (entry_uuid) ON DELETE CASCADE,
    person TEXT COLLATE "C" NOT NULL
);
CREATE INDEX object_author_person_object ON object_author_person (object);

CREATE TABLE object_author_institution (
    object      TEXT COLLATE "C" NOT NULL REFERENCES registry_object (entry_uuid) ON DELETE CASCADE,
    institution TEXT COLLATE "C" NOT NULL
);
CREATE INDEX object_author_institution_object ON object_author_institution (object);

CREATE TABLE object_reference_id (
    object       TEXT COLLATE "C" NOT NULL REFERENCES registry_object (entry_uuid) ON DELETE CASCADE,
    reference_id TEXT COLLATE "C" NOT NULL
);
CREATE INDEX object_reference_id_lookup ON object_reference_id (reference_id);

CREATE TABLE known_patient (
    patient_id TEXT COLLATE "C" PRIMARY KEY,
    added_at   TEXT COLLATE "C" NOT NULL
);

-- Deleting an object cascades to its link rows, which the cascade finds by `object`; the other
-- link tables have that index above (the SQLite schema lacks this one).
CREATE INDEX object_reference_id_object ON object_reference_id (object);
