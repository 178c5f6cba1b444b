//! The change log: which DocumentEntries every registration, update and delete wrote, in
//! commit order, for consumers that keep a derived copy in step (the full-text index).
//!
//! Each write appends one row per DocumentEntry it inserted, rewrote (status change,
//! deprecation) or deleted, in its own transaction: a change is logged if and only if the write
//! committed. Rows are numbered by `seq` in commit order (see the migrations for how each
//! backend guarantees that), so a consumer that has applied everything up to a seq never has to
//! look before it again. A change names the object only; the consumer reads its current state
//! (or its absence), so applying a change twice, or a later state early, is harmless.
//!
//! Invariant: append-only; nothing here writes.

/// One row of the change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Position in commit order; strictly increasing, with gaps.
    pub seq: i64,
    /// The DocumentEntry (or, for a deprecation, possibly another object) written.
    pub entry_uuid: String,
    /// When the write happened, Unix milliseconds.
    pub changed_at_ms: i64,
}

/// What a consumer at some seq has not applied yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChangeBacklog {
    /// Changes after the consumer's seq.
    pub pending: u64,
    /// The oldest of them, Unix milliseconds.
    pub oldest_changed_at_ms: Option<i64>,
    /// The last seq in the log (0 when empty).
    pub last_seq: i64,
}

/// Now as Unix milliseconds (0 before 1970, which a clock set that far wrong deserves).
pub fn unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
