-- One forwarder at a time: the instance whose forwarder holds the cursor, and until when
-- (RFC 3339 UTC, fixed width). Only the holder moves the cursor; another takes it over when
-- the holder releases it or its lease ends (see minlog::forward).
ALTER TABLE minlog_forward_cursor ADD COLUMN holder TEXT;
ALTER TABLE minlog_forward_cursor ADD COLUMN lease_until TEXT;
