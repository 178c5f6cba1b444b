-- The change log: one row per DocumentEntry written by a registration, an update (new version,
-- status change, deprecation) or a delete, in the same transaction as the write. Consumers
-- (the full-text index) remember the last seq they applied and read what came after it.
--
-- Append-only. seq order is commit order: SQLite has one writer connection, so rows are
-- numbered in the order their transactions commit. A gap (a rolled-back write) is harmless.
-- changed_at is Unix milliseconds, for the consumers' lag age.
CREATE TABLE registry_change (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_uuid TEXT NOT NULL,
    changed_at INTEGER NOT NULL
);
