-- The registry's metadata store: one row per registry object (DocumentEntry, SubmissionSet,
-- Folder, Association) with its canonical ebRIM XML, plus the columns and link tables the
-- stored queries filter on. The XML is the truth; every other column is derived from it when
-- the object is written and is rewritten whenever the XML is.
--
-- Times (creation_time, service_*_time, submission_time, last_update_time) are DTM strings
-- right-padded with '0' to 14 digits (YYYYMMDDhhmmss), so that string order is time order.
-- Portable SQL only (SQLite now, PostgreSQL later): no JSON, no partial indexes.

CREATE TABLE registry_object (
    -- Insertion order; results are returned in it.
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_uuid           TEXT NOT NULL UNIQUE,
    kind                 TEXT NOT NULL
        CHECK (kind IN ('DocumentEntry', 'SubmissionSet', 'Folder', 'Association')),
    xml                  TEXT NOT NULL,
    patient_id           TEXT,
    status               TEXT NOT NULL,
    object_type          TEXT,
    unique_id            TEXT,
    logical_id           TEXT NOT NULL,
    version              INTEGER NOT NULL,
    creation_time        TEXT,
    service_start_time   TEXT,
    service_stop_time    TEXT,
    submission_time      TEXT,
    last_update_time     TEXT,
    repository_unique_id TEXT,
    hash                 TEXT,
    size                 INTEGER,
    source_id            TEXT,
    association_type     TEXT,
    source_object        TEXT,
    target_object        TEXT
);

CREATE INDEX registry_object_patient ON registry_object (patient_id, kind, status);
CREATE INDEX registry_object_unique_id ON registry_object (unique_id);
CREATE INDEX registry_object_logical_id ON registry_object (logical_id, version);
CREATE INDEX registry_object_source ON registry_object (source_object, association_type);
CREATE INDEX registry_object_target ON registry_object (target_object, association_type);

-- Multi-valued codes: attribute is the XDS attribute name (classCode, typeCode, formatCode,
-- practiceSettingCode, healthcareFacilityTypeCode, eventCodeList, confidentialityCode,
-- codeList for folders, contentTypeCode for submission sets).
CREATE TABLE object_code (
    object    TEXT NOT NULL REFERENCES registry_object (entry_uuid) ON DELETE CASCADE,
    attribute TEXT NOT NULL,
    code      TEXT NOT NULL,
    scheme    TEXT NOT NULL
);
CREATE INDEX object_code_lookup ON object_code (attribute, code, scheme);
CREATE INDEX object_code_object ON object_code (object);

-- authorPerson values (XCN) of every author of the object.
CREATE TABLE object_author_person (
    object TEXT NOT NULL REFERENCES registry_object (entry_uuid) ON DELETE CASCADE,
    person TEXT NOT NULL
);
CREATE INDEX object_author_person_object ON object_author_person (object);

-- authorInstitution values (XON) of every author of the object.
CREATE TABLE object_author_institution (
    object      TEXT NOT NULL REFERENCES registry_object (entry_uuid) ON DELETE CASCADE,
    institution TEXT NOT NULL
);
CREATE INDEX object_author_institution_object ON object_author_institution (object);

-- DocumentEntry.referenceIdList values (CXi).
CREATE TABLE object_reference_id (
    object       TEXT NOT NULL REFERENCES registry_object (entry_uuid) ON DELETE CASCADE,
    reference_id TEXT NOT NULL
);
CREATE INDEX object_reference_id_lookup ON object_reference_id (reference_id);

-- Patients fed through the admin API, for patient_policy = "known".
CREATE TABLE known_patient (
    patient_id TEXT PRIMARY KEY,
    added_at   TEXT NOT NULL
);
