-- The write gate: a table that holds no rows and is only ever locked (engine::Backend::write_gate).
--
-- Every registry write transaction locks it first, before its snapshot is taken (LOCK TABLE
-- takes none): in ROW SHARE mode normally, so writes run concurrently, and in EXCLUSIVE mode
-- once it has lost to concurrent writers a few times (SQLSTATE 40001), so that attempt runs
-- alone among the writers of every instance and cannot lose again. EXCLUSIVE waits for the
-- ROW SHARE holders to finish, and PostgreSQL queues later ROW SHARE requests behind a waiting
-- EXCLUSIVE one, so the loser is not starved. Plain reads (ACCESS SHARE) are never blocked.
CREATE TABLE registry_write_gate (
    unused BOOLEAN
);
