-- Every request turned away at the door (no card, bad signature, expired, untrusted issuer,
-- role not allowed, a citizen asking for another person): exactly one row per attempt.
CREATE TABLE rejected_attempt (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    -- RFC 3339 UTC with fixed precision, so text order is time order.
    time            TEXT NOT NULL,
    remote_address  TEXT,
    -- The card's claimed subject (CPR or CVR) when the card could be read at all; never trusted.
    claimed_subject TEXT,
    -- wsa:Action or the JSON API route the attempt was for.
    transaction_name TEXT,
    -- The WS-Security fault subcode answered, e.g. wsse:FailedAuthentication.
    fault_code      TEXT NOT NULL,
    reason          TEXT NOT NULL
);
CREATE INDEX rejected_attempt_time ON rejected_attempt (time);
