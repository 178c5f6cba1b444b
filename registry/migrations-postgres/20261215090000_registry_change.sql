-- The change log: see ../migrations/20261215090000_registry_change.sql for its meaning.
--
-- seq order must be commit order, which an identity column alone does not give when writers
-- run concurrently (a transaction may draw 7, another 8 and commit first: a reader would see 8,
-- move past it and never see 7). The engine therefore takes a transaction-scoped advisory lock
-- (engine::CHANGE_LOG_LOCK) just before it inserts its change rows, at the end of the write:
-- the next writer draws its numbers only after this one has committed and released the lock.
-- Only that short tail of each write is serialised, not the write itself.
CREATE TABLE registry_change (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry_uuid TEXT COLLATE "C" NOT NULL,
    changed_at BIGINT NOT NULL
);
