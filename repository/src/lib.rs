//! The XDS.b document repository.
//!
//! Will own (repository issue): ITI-41 ingest that streams each document to a temporary file
//! while hashing it, registers it through ITI-42 and only then makes it visible; ITI-43
//! retrieval streamed from content-addressed storage, forwarding to configured decentral
//! repositories; collection of orphaned temporary files at start.
//!
//! Invariant: a document is acknowledged only after its bytes are durable and its metadata is
//! registered; metadata never points at missing bytes.
