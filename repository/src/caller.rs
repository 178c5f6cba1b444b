//! The caller's ID card as the repository passes it on.
//!
//! The repository decides nothing about identity (the edge verified the card before any call
//! got here), but it talks to other services on the caller's behalf: in `--role repository` it
//! asks the registry for a DocumentEntry *with the caller's card*, so that the registry applies
//! the citizen's consent filter and writes MinLog for that caller; and it carries the caller
//! along when it registers (ITI-42) or forwards a retrieval (ITI-43) with its own system card.
//! [`CallerCard`] is that card, opaque here.
//!
//! Invariant: a `CallerCard` holds the exact signed card a request arrived with (as a
//! self-contained `wsse:Security` element), never one assembled from a verified `Caller`: the
//! receiver verifies the same signature the edge verified.

use std::fmt;
use std::sync::Arc;

/// The caller's `wsse:Security` header, self-contained (the namespace declarations it inherited
/// from the envelope added to its start tag), exactly as the edge verified it.
#[derive(Clone, PartialEq, Eq)]
pub struct CallerCard(Arc<str>);

impl CallerCard {
    /// Wraps a `wsse:Security` element the edge has verified.
    pub fn new(security_header: impl Into<Arc<str>>) -> CallerCard {
        CallerCard(security_header.into())
    }

    /// The `wsse:Security` element, to be put into an outgoing `soap:Header` as it is.
    pub fn security_header(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CallerCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A card is a credential: never in logs.
        f.debug_struct("CallerCard")
            .field("bytes", &self.0.len())
            .finish_non_exhaustive()
    }
}
