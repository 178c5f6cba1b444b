//! Content-IDs and `xop:Include` reference resolution (RFC 2392, XOP 1.0 §4.4).
//!
//! A MIME part names itself with a `Content-ID: <x@y>` header; the root XML refers to it with
//! `xop:Include href="cid:x@y"`, where the URL form is percent-encoded. [`ContentId`] holds the
//! normalised form (no angle brackets, no `cid:`, percent-decoded) so both spellings compare
//! equal.
//!
//! Invariant: an `xop:Include` resolves only to a part of the same message through a `cid:`
//! URL; anything else (http:, relative, unknown cid) is an error, never a fetch.

use std::fmt;

/// Why a Content-ID or `cid:` URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContentIdError {
    #[error("Content-ID is empty")]
    Empty,
    #[error("Content-ID `{value}` has `<` without a closing `>`")]
    UnbalancedBrackets { value: String },
    #[error("Content-ID `{value}` contains a space, control character or angle bracket")]
    InvalidCharacter { value: String },
    #[error("`{href}` is not a cid: URL")]
    NotCidUrl { href: String },
    #[error("cid URL `{href}` has a malformed percent escape at byte {offset}")]
    InvalidPercentEncoding { href: String, offset: usize },
    #[error("cid URL `{href}` does not decode to UTF-8")]
    NotUtf8 { href: String },
}

/// A normalised Content-ID: the `addr-spec` without `<>` or `cid:`, percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentId(String);

impl ContentId {
    /// From a `Content-ID` header value or a `start` parameter: `<x@y>` (brackets optional,
    /// since some clients omit them).
    pub fn from_header(value: &str) -> Result<Self, ContentIdError> {
        let trimmed = value.trim_matches([' ', '\t']);
        let inner = match trimmed.strip_prefix('<') {
            Some(rest) => {
                rest.strip_suffix('>')
                    .ok_or_else(|| ContentIdError::UnbalancedBrackets {
                        value: value.to_string(),
                    })?
            }
            None => trimmed,
        };
        Self::checked(inner.to_string())
    }

    /// From an `xop:Include/@href`: `cid:` (any case) followed by the percent-encoded id.
    pub fn from_cid_url(href: &str) -> Result<Self, ContentIdError> {
        let rest = href
            .get(..4)
            .filter(|scheme| scheme.eq_ignore_ascii_case("cid:"))
            .and_then(|_| href.get(4..))
            .ok_or_else(|| ContentIdError::NotCidUrl {
                href: href.to_string(),
            })?;
        let bytes = rest.as_bytes();
        let mut decoded = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| ContentIdError::InvalidPercentEncoding {
                        href: href.to_string(),
                        offset: 4 + i,
                    })?;
                decoded.push(hex);
                i += 3;
            } else {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
        let decoded = String::from_utf8(decoded).map_err(|_| ContentIdError::NotUtf8 {
            href: href.to_string(),
        })?;
        Self::checked(decoded)
    }

    /// For writers: a Content-ID chosen by the caller, checked like a received one.
    pub fn new(id: &str) -> Result<Self, ContentIdError> {
        Self::checked(id.to_string())
    }

    fn checked(id: String) -> Result<Self, ContentIdError> {
        if id.is_empty() {
            return Err(ContentIdError::Empty);
        }
        if id
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '<' || c == '>')
        {
            return Err(ContentIdError::InvalidCharacter { value: id });
        }
        Ok(ContentId(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The header form, `<id>`.
    pub fn to_header(&self) -> String {
        format!("<{}>", self.0)
    }

    /// The `cid:` URL form, percent-encoding everything outside RFC 3986 unreserved
    /// characters, `@` and the sub-delimiters that need no escaping in an attribute.
    pub fn to_cid_url(&self) -> String {
        let mut url = String::with_capacity(self.0.len() + 4);
        url.push_str("cid:");
        for &b in self.0.as_bytes() {
            if b.is_ascii_alphanumeric() || b"-._~@!$()*+,;=:".contains(&b) {
                url.push(char::from(b));
            } else {
                url.push_str(&format!("%{b:02X}"));
            }
        }
        url
    }
}

impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why the `xop:Include` references of a message do not match its parts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XopError {
    #[error("xop:Include href `{href}` is not a valid cid: reference: {source}")]
    InvalidReference {
        href: String,
        #[source]
        source: ContentIdError,
    },
    #[error("xop:Include href `{href}` names no attachment part of this message")]
    UnresolvedReference { href: String },
    #[error("two attachment parts carry Content-ID `{content_id}`")]
    DuplicateContentId { content_id: ContentId },
}

/// How the references of a message map onto its attachment parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XopResolution {
    /// For each reference, in the order given, the index of its part in `attachments`.
    pub referenced: Vec<usize>,
    /// Attachment parts no reference names, in message order. Not an error by itself (XOP
    /// allows them); the edge decides whether to refuse or ignore them.
    pub unreferenced: Vec<ContentId>,
}

/// Checks that every `xop:Include/@href` in `references` is a `cid:` URL naming one of
/// `attachments` (the Content-IDs of the non-root parts, in message order).
pub fn resolve_xop_references<'r>(
    references: impl IntoIterator<Item = &'r str>,
    attachments: &[ContentId],
) -> Result<XopResolution, XopError> {
    for (i, cid) in attachments.iter().enumerate() {
        if attachments[..i].contains(cid) {
            return Err(XopError::DuplicateContentId {
                content_id: cid.clone(),
            });
        }
    }
    let mut used = vec![false; attachments.len()];
    let mut referenced = Vec::new();
    for href in references {
        let cid = ContentId::from_cid_url(href).map_err(|source| XopError::InvalidReference {
            href: href.to_string(),
            source,
        })?;
        let index = attachments.iter().position(|a| *a == cid).ok_or_else(|| {
            XopError::UnresolvedReference {
                href: href.to_string(),
            }
        })?;
        used[index] = true;
        referenced.push(index);
    }
    let unreferenced = attachments
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(cid, _)| cid.clone())
        .collect();
    Ok(XopResolution {
        referenced,
        unreferenced,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cid(s: &str) -> ContentId {
        ContentId::new(s).unwrap()
    }

    #[test]
    fn header_and_url_forms_agree() {
        let header = ContentId::from_header(" <doc1%x@example.dk> ").unwrap();
        let url = ContentId::from_cid_url("CID:doc1%25x%40example.dk").unwrap();
        assert_eq!(header, url);
        assert_eq!(header.to_cid_url(), "cid:doc1%25x@example.dk");
        assert_eq!(
            ContentId::from_cid_url(&header.to_cid_url()).unwrap(),
            header
        );
        assert_eq!(ContentId::from_header("bare@x").unwrap().as_str(), "bare@x");
        assert_eq!(header.to_header(), "<doc1%x@example.dk>");
    }

    #[test]
    fn content_id_errors() {
        assert_eq!(ContentId::from_header("<>"), Err(ContentIdError::Empty));
        assert_eq!(
            ContentId::from_header("<a@b"),
            Err(ContentIdError::UnbalancedBrackets {
                value: "<a@b".into()
            })
        );
        assert_eq!(
            ContentId::from_header("<a b>"),
            Err(ContentIdError::InvalidCharacter {
                value: "a b".into()
            })
        );
        assert_eq!(
            ContentId::from_cid_url("http://evil/x"),
            Err(ContentIdError::NotCidUrl {
                href: "http://evil/x".into()
            })
        );
        assert_eq!(
            ContentId::from_cid_url("cid:a%4"),
            Err(ContentIdError::InvalidPercentEncoding {
                href: "cid:a%4".into(),
                offset: 5
            })
        );
        assert_eq!(
            ContentId::from_cid_url("cid:%FF"),
            Err(ContentIdError::NotUtf8 {
                href: "cid:%FF".into()
            })
        );
    }

    #[test]
    fn resolution() {
        let parts = [cid("a@x"), cid("b@x"), cid("c@x")];
        let r = resolve_xop_references(["cid:c@x", "cid:a%40x"], &parts).unwrap();
        assert_eq!(r.referenced, vec![2, 0]);
        assert_eq!(r.unreferenced, vec![cid("b@x")]);
    }

    #[test]
    fn resolution_errors() {
        let parts = [cid("a@x")];
        assert!(matches!(
            resolve_xop_references(["http://a@x"], &parts),
            Err(XopError::InvalidReference { .. })
        ));
        assert_eq!(
            resolve_xop_references(["cid:z@x"], &parts),
            Err(XopError::UnresolvedReference {
                href: "cid:z@x".into()
            })
        );
        assert_eq!(
            resolve_xop_references([], &[cid("a@x"), cid("a@x")]),
            Err(XopError::DuplicateContentId {
                content_id: cid("a@x")
            })
        );
    }
}
