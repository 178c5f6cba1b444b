//! SOAP 1.2 framing for the XDS endpoints.
//!
//! Owns (foundation issue): the SOAP 1.2 envelope with its WS-Addressing headers, the
//! `wsse:Security` header kept as its exact bytes for signature verification, SOAP faults, and
//! a streaming MTOM/XOP multipart/related reader and writer.
//!
//! Invariant: no I/O. The multipart reader is fed byte chunks and hands attachment bytes on as
//! they arrive, so a document never has to sit whole in memory.
