//! Named limits on SOAP and MTOM input, enforced while reading (never after the fact).
//!
//! XML limits come from [`xds_model::limits`]; the SOAP- and MIME-specific ones are defined here
//! because only this crate reads those formats. Going over any of them is an ordinary typed
//! error naming the limit, never a panic or a silent truncation.

use xds_model::limits::{DOCUMENT_BYTES_MAX, SOAP_BODY_BYTES_MAX, XmlLimits};

/// Largest SOAP envelope accepted, in bytes. The envelope of a plain (non-MTOM) ITI-41 request
/// carries its documents inline as base64, so this is the registry body limit
/// ([`SOAP_BODY_BYTES_MAX`]); the repository edge passes a larger value from its configuration.
pub const ENVELOPE_BYTES_MAX: usize = SOAP_BODY_BYTES_MAX;

/// Largest single text node inside `soap:Body`, in bytes. An inline (non-MTOM) document is one
/// base64 text node: 4/3 of [`DOCUMENT_BYTES_MAX`] plus line breaks every 76 characters stays
/// below 3/2 of it. Header text stays bounded by [`XmlLimits::text_bytes_max`].
pub const BODY_TEXT_BYTES_MAX: usize = (DOCUMENT_BYTES_MAX as usize / 2) * 3;

/// Most header blocks in `soap:Header`. A DGWS request carries about 8 (wsa ×4-6, Security,
/// medcom:Header, hsuid, ConsentOverride); 64 leaves room and bounds the header list.
pub const HEADER_BLOCKS_MAX: usize = 64;

/// Most MIME parts in one multipart/related message: the root plus one per document. A
/// 1,000-document submission (the size `xds_model::limits` plans for) needs 1,001.
pub const MIME_PARTS_MAX: usize = 1_024;

/// Largest header section of one MIME part, in bytes (all header lines plus the blank line).
/// Real MTOM parts carry three short headers (~200 bytes); 8 KiB is the common HTTP per-line
/// bound and stops a client from making us buffer a header without end.
pub const MIME_PART_HEADER_BYTES_MAX: usize = 8 * 1024;

/// Most header fields in one MIME part (Content-ID, Content-Type, Content-Transfer-Encoding
/// and a few informational ones).
pub const MIME_PART_HEADERS_MAX: usize = 16;

/// Most header fields over all parts of one message: bounds header parsing work even when every
/// part stays under [`MIME_PART_HEADERS_MAX`].
pub const MIME_HEADERS_TOTAL_MAX: usize = 4 * MIME_PARTS_MAX;

/// Largest root part (the SOAP envelope of an MTOM message), in bytes: the edge collects it
/// whole to parse it, so it is bounded like a plain envelope.
pub const MIME_ROOT_PART_BYTES_MAX: usize = ENVELOPE_BYTES_MAX;

/// Largest attachment part, in bytes: one document ([`DOCUMENT_BYTES_MAX`]).
pub const MIME_ATTACHMENT_BYTES_MAX: u64 = DOCUMENT_BYTES_MAX;

/// Largest preamble (bytes before the first boundary, plus the boundary itself) skipped. Clients
/// send none or a line of text; a bound stops a body that never contains the boundary from
/// being read to the end.
pub const MIME_PREAMBLE_BYTES_MAX: usize = 64 * 1024;

/// Largest epilogue (bytes after the closing boundary) skipped; as for the preamble.
pub const MIME_EPILOGUE_BYTES_MAX: usize = 64 * 1024;

/// Limits of [`crate::parse_envelope`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvelopeLimits {
    /// Depth, attribute count, element count and header text size.
    pub xml: XmlLimits,
    /// See [`ENVELOPE_BYTES_MAX`].
    pub envelope_bytes_max: usize,
    /// See [`BODY_TEXT_BYTES_MAX`].
    pub body_text_bytes_max: usize,
    /// See [`HEADER_BLOCKS_MAX`].
    pub header_blocks_max: usize,
}

impl Default for EnvelopeLimits {
    fn default() -> Self {
        EnvelopeLimits {
            xml: XmlLimits::default(),
            envelope_bytes_max: ENVELOPE_BYTES_MAX,
            body_text_bytes_max: BODY_TEXT_BYTES_MAX,
            header_blocks_max: HEADER_BLOCKS_MAX,
        }
    }
}

/// Limits of [`crate::MultipartReader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultipartLimits {
    /// See [`MIME_PARTS_MAX`].
    pub parts_max: usize,
    /// See [`MIME_PART_HEADER_BYTES_MAX`].
    pub part_header_bytes_max: usize,
    /// See [`MIME_PART_HEADERS_MAX`].
    pub part_headers_max: usize,
    /// See [`MIME_HEADERS_TOTAL_MAX`].
    pub headers_total_max: usize,
    /// See [`MIME_ROOT_PART_BYTES_MAX`].
    pub root_part_bytes_max: u64,
    /// See [`MIME_ATTACHMENT_BYTES_MAX`].
    pub attachment_bytes_max: u64,
    /// See [`MIME_PREAMBLE_BYTES_MAX`].
    pub preamble_bytes_max: usize,
    /// See [`MIME_EPILOGUE_BYTES_MAX`].
    pub epilogue_bytes_max: usize,
}

impl Default for MultipartLimits {
    fn default() -> Self {
        MultipartLimits {
            parts_max: MIME_PARTS_MAX,
            part_header_bytes_max: MIME_PART_HEADER_BYTES_MAX,
            part_headers_max: MIME_PART_HEADERS_MAX,
            headers_total_max: MIME_HEADERS_TOTAL_MAX,
            root_part_bytes_max: MIME_ROOT_PART_BYTES_MAX as u64,
            attachment_bytes_max: MIME_ATTACHMENT_BYTES_MAX,
            preamble_bytes_max: MIME_PREAMBLE_BYTES_MAX,
            epilogue_bytes_max: MIME_EPILOGUE_BYTES_MAX,
        }
    }
}
