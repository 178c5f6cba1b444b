//! Streaming MTOM/XOP writer: the framing around a root envelope and attachments whose bytes
//! the caller streams itself.
//!
//! Job: produce the `Content-Type` header value, the head (root part headers and root XML),
//! one header block per attachment, and the closing delimiter. The caller writes, in order:
//! `head`, then for each attachment `attachment_head` followed by the attachment's bytes, then
//! `tail`.
//!
//! Invariants:
//! - The boundary is the caller's (no randomness here) and is checked not to occur in the root
//!   XML. Attachments are streamed past this writer, so the caller must pick a boundary that
//!   cannot occur in them: one derived from a fresh random id ([`MtomWriter::from_id`]) has a
//!   negligible chance of doing so.
//! - Header values written are checked for CR, LF and other control characters, so nothing a
//!   caller passes can inject a header line.

use memchr::memmem;

use crate::cid::{ContentId, ContentIdError};
use crate::content_type::{BOUNDARY_BYTES_MAX, ContentTypeError, check_boundary};

/// Why an MTOM message could not be framed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MtomWriteError {
    #[error(transparent)]
    InvalidBoundary(#[from] ContentTypeError),
    #[error("id `{id}` has no character usable in a boundary")]
    UnusableId { id: String },
    #[error(transparent)]
    InvalidContentId(#[from] ContentIdError),
    #[error("the boundary occurs in the root XML at byte {offset}")]
    BoundaryInRoot { offset: usize },
    #[error("{field} value `{value}` contains a control character")]
    InvalidHeaderValue { field: &'static str, value: String },
}

/// Frames one MTOM message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MtomWriter {
    boundary: String,
    root: ContentId,
}

const BOUNDARY_PREFIX: &str = "MIMEBoundary_";

impl MtomWriter {
    /// With an explicit boundary and root part Content-ID.
    pub fn new(boundary: &str, root: ContentId) -> Result<Self, MtomWriteError> {
        check_boundary(boundary)?;
        Ok(MtomWriter {
            boundary: boundary.to_string(),
            root,
        })
    }

    /// Boundary `MIMEBoundary_<id>` and root Content-ID `root.<id>@dds`, from a fresh id of the
    /// caller's (a UUID, say); characters other than ASCII letters, digits, `-`, `.` and `_`
    /// are dropped.
    pub fn from_id(id: &str) -> Result<Self, MtomWriteError> {
        let clean: String = id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
            .take(BOUNDARY_BYTES_MAX - BOUNDARY_PREFIX.len())
            .collect();
        if clean.is_empty() {
            return Err(MtomWriteError::UnusableId { id: id.to_string() });
        }
        let root = ContentId::new(&format!("root.{clean}@dds"))?;
        MtomWriter::new(&format!("{BOUNDARY_PREFIX}{clean}"), root)
    }

    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    pub fn root_content_id(&self) -> &ContentId {
        &self.root
    }

    /// The HTTP `Content-Type` value of the message.
    pub fn content_type(&self, action: &str) -> Result<String, MtomWriteError> {
        check_header_value("action", action)?;
        Ok(format!(
            "multipart/related; type=\"application/xop+xml\"; boundary=\"{}\"; start=\"{}\"; \
             start-info=\"application/soap+xml\"; action=\"{}\"",
            quote_escape(&self.boundary),
            quote_escape(&self.root.to_header()),
            quote_escape(action)
        ))
    }

    /// The first boundary, the root part's headers and the root XML (the SOAP envelope).
    pub fn head(&self, root_xml: &[u8]) -> Result<Vec<u8>, MtomWriteError> {
        let dash_boundary = format!("--{}", self.boundary);
        if let Some(offset) = memmem::find(root_xml, dash_boundary.as_bytes()) {
            return Err(MtomWriteError::BoundaryInRoot { offset });
        }
        let mut out = Vec::with_capacity(root_xml.len() + 256);
        out.extend_from_slice(dash_boundary.as_bytes());
        out.extend_from_slice(
            b"\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"\r\n\
              Content-Transfer-Encoding: binary\r\nContent-ID: ",
        );
        out.extend_from_slice(self.root.to_header().as_bytes());
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(root_xml);
        Ok(out)
    }

    /// The delimiter and headers that precede an attachment's bytes.
    pub fn attachment_head(
        &self,
        content_id: &ContentId,
        content_type: &str,
    ) -> Result<Vec<u8>, MtomWriteError> {
        check_header_value("Content-Type", content_type)?;
        let mut out = Vec::with_capacity(self.boundary.len() + content_type.len() + 128);
        out.extend_from_slice(b"\r\n--");
        out.extend_from_slice(self.boundary.as_bytes());
        out.extend_from_slice(b"\r\nContent-Type: ");
        out.extend_from_slice(content_type.as_bytes());
        out.extend_from_slice(b"\r\nContent-Transfer-Encoding: binary\r\nContent-ID: ");
        out.extend_from_slice(content_id.to_header().as_bytes());
        out.extend_from_slice(b"\r\n\r\n");
        Ok(out)
    }

    /// The closing delimiter.
    pub fn tail(&self) -> Vec<u8> {
        format!("\r\n--{}--\r\n", self.boundary).into_bytes()
    }
}

fn check_header_value(field: &'static str, value: &str) -> Result<(), MtomWriteError> {
    if value.chars().any(char::is_control) {
        return Err(MtomWriteError::InvalidHeaderValue {
            field,
            value: value.to_string(),
        });
    }
    Ok(())
}

fn quote_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_id_cleans_and_bounds() {
        let w = MtomWriter::from_id("urn:uuid:0b2c5f3e-aaaa-bbbb-cccc-123456789abc").unwrap();
        assert_eq!(
            w.boundary(),
            "MIMEBoundary_urnuuid0b2c5f3e-aaaa-bbbb-cccc-123456789abc"
        );
        let long = MtomWriter::from_id(&"x".repeat(200)).unwrap();
        assert_eq!(long.boundary().len(), BOUNDARY_BYTES_MAX);
    }

    #[test]
    fn every_error_variant() {
        assert!(matches!(
            MtomWriter::new("", ContentId::new("r@x").unwrap()),
            Err(MtomWriteError::InvalidBoundary(_))
        ));
        assert_eq!(
            MtomWriter::from_id("::"),
            Err(MtomWriteError::UnusableId { id: "::".into() })
        );
        assert!(matches!(MtomWriter::from_id("a b").map(|_| ()), Ok(())));
        let w = MtomWriter::from_id("abc").unwrap();
        assert_eq!(
            w.head(b"<x>--MIMEBoundary_abc</x>"),
            Err(MtomWriteError::BoundaryInRoot { offset: 3 })
        );
        assert!(matches!(
            w.attachment_head(&ContentId::new("a@x").unwrap(), "text/xml\r\nX: y"),
            Err(MtomWriteError::InvalidHeaderValue {
                field: "Content-Type",
                ..
            })
        ));
        assert!(matches!(
            w.content_type("urn:a\n"),
            Err(MtomWriteError::InvalidHeaderValue {
                field: "action",
                ..
            })
        ));
        assert!(matches!(
            ContentId::new("").map_err(MtomWriteError::from),
            Err(MtomWriteError::InvalidContentId(_))
        ));
    }
}
