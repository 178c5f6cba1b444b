-- The consent directives on PostgreSQL: the same tables, columns and meaning as the SQLite
-- schema in ../migrations (read its comments), so that consent::store's SQL runs on both.
-- Every text column is COLLATE "C" (compared by bytes, as in SQLite: blocks are listed in
-- created_at order). This schema shares its _sqlx_migrations table with the registry's and
-- the audit store's; the versions here are the consent store's alone.
CREATE TABLE opt_out (
    patient_cpr TEXT COLLATE "C" PRIMARY KEY,
    since       TEXT COLLATE "C" NOT NULL
);

CREATE TABLE block (
    id          TEXT COLLATE "C" PRIMARY KEY,
    patient_cpr TEXT COLLATE "C" NOT NULL,
    body        TEXT COLLATE "C" NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL
);
CREATE INDEX block_patient ON block (patient_cpr, created_at, id);
