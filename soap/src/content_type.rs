//! The HTTP `Content-Type` of a SOAP 1.2 request: plain `application/soap+xml` or MTOM
//! `multipart/related; type="application/xop+xml"`.
//!
//! Job: split the header value into its media type and parameters (RFC 9110 §8.3.1: names are
//! case-insensitive, values are tokens or quoted strings) and check what the SOAP and XOP
//! bindings require. The `action` parameter (SOAP 1.2 Part 2 §7.1.4, RFC 3902) is what the
//! edge uses when `wsa:Action` is missing (INTERFACE.md); MTOM clients often put it inside
//! `start-info` instead, so [`MultipartRelated::action`] looks there too.
//!
//! Invariants: values borrow from the header text unless a quoted string had escapes; a
//! boundary that [`ContentType::parse`] accepts contains no CR, LF or control byte, which the
//! multipart reader relies on.

use std::borrow::Cow;

use crate::cid::{ContentId, ContentIdError};

/// Longest boundary RFC 2046 §5.1.1 allows, in bytes.
pub const BOUNDARY_BYTES_MAX: usize = 70;

/// Why a `Content-Type` value was refused. Offsets are byte offsets into the header value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContentTypeError {
    #[error("Content-Type is empty")]
    Empty,
    #[error("Content-Type has no valid type/subtype at byte {offset}")]
    MalformedMediaType { offset: usize },
    #[error("Content-Type parameter is malformed at byte {offset}")]
    MalformedParameter { offset: usize },
    #[error("Content-Type quoted string starting at byte {offset} is not terminated")]
    UnterminatedQuotedString { offset: usize },
    #[error("Content-Type parameter `{name}` appears twice")]
    DuplicateParameter { name: String },
    #[error("Content-Type `{media_type}` is SOAP 1.1 (text/xml); this service speaks SOAP 1.2")]
    Soap11MediaType { media_type: String },
    #[error("Content-Type `{media_type}` is neither application/soap+xml nor multipart/related")]
    UnsupportedMediaType { media_type: String },
    #[error("Content-Type charset `{charset}` is not UTF-8")]
    UnsupportedCharset { charset: String },
    #[error("multipart/related Content-Type has no boundary parameter")]
    MissingBoundary,
    #[error(
        "multipart boundary `{boundary}` is invalid (1-70 printable ASCII characters, not ending in a space)"
    )]
    InvalidBoundary { boundary: String },
    #[error(
        "multipart/related Content-Type has no type parameter (MTOM needs application/xop+xml)"
    )]
    MissingRootType,
    #[error("multipart/related type `{root_type}` is not application/xop+xml")]
    UnsupportedRootType { root_type: String },
    #[error("start-info `{start_info}` is not application/soap+xml")]
    UnsupportedStartInfo { start_info: String },
    #[error("start parameter is not a valid Content-ID: {source}")]
    InvalidStart {
        #[source]
        source: ContentIdError,
    },
    #[error("root part Content-Type `{media_type}` is not application/xop+xml")]
    RootPartNotXop { media_type: String },
    #[error("root part Content-Type has type `{root_type}`, not application/soap+xml")]
    RootPartNotSoap { root_type: String },
}

/// A media type split into its parts. Names are lower-cased; values are unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType<'a> {
    /// `type/subtype`, lower-cased.
    pub essence: String,
    /// Parameters in order, names lower-cased, values unquoted (escapes resolved).
    pub params: Vec<(String, Cow<'a, str>)>,
}

impl<'a> MediaType<'a> {
    /// Parses `type/subtype *( ";" name "=" value )`. Duplicate parameter names are refused
    /// because the two readings of such a header could disagree on the boundary or action.
    pub fn parse(value: &'a str) -> Result<Self, ContentTypeError> {
        let bytes = value.as_bytes();
        let mut pos = skip_ows(bytes, 0);
        if pos == bytes.len() {
            return Err(ContentTypeError::Empty);
        }
        let type_start = pos;
        pos = skip_token(bytes, pos);
        if pos == type_start || bytes.get(pos) != Some(&b'/') {
            return Err(ContentTypeError::MalformedMediaType { offset: pos });
        }
        let subtype_start = pos + 1;
        pos = skip_token(bytes, subtype_start);
        if pos == subtype_start {
            return Err(ContentTypeError::MalformedMediaType { offset: pos });
        }
        let essence = value[type_start..pos].to_ascii_lowercase();
        let mut params: Vec<(String, Cow<'a, str>)> = Vec::new();
        loop {
            pos = skip_ows(bytes, pos);
            match bytes.get(pos) {
                None => break,
                Some(b';') => pos += 1,
                Some(_) => return Err(ContentTypeError::MalformedParameter { offset: pos }),
            }
            pos = skip_ows(bytes, pos);
            if pos == bytes.len() || bytes[pos] == b';' {
                // Tolerated: an empty parameter (`a/b;` or `a/b;;c=d`).
                continue;
            }
            let name_start = pos;
            pos = skip_token(bytes, pos);
            if pos == name_start || bytes.get(pos) != Some(&b'=') {
                return Err(ContentTypeError::MalformedParameter { offset: pos });
            }
            let name = value[name_start..pos].to_ascii_lowercase();
            pos += 1;
            let (param_value, next) = if bytes.get(pos) == Some(&b'"') {
                quoted_string(value, pos)?
            } else {
                // Lenient: clients send `action=urn:...` and `boundary=uuid:...` unquoted,
                // though `:` and `/` are not token characters; a bare value runs to the next
                // `;` or whitespace.
                let start = pos;
                let mut end = pos;
                while bytes
                    .get(end)
                    .is_some_and(|&b| b > b' ' && b != b';' && b != b'"' && b != 0x7f)
                {
                    end += 1;
                }
                if end == start {
                    return Err(ContentTypeError::MalformedParameter { offset: pos });
                }
                (Cow::Borrowed(&value[start..end]), end)
            };
            pos = next;
            if params.iter().any(|(n, _)| *n == name) {
                return Err(ContentTypeError::DuplicateParameter { name });
            }
            params.push((name, param_value));
        }
        Ok(MediaType { essence, params })
    }

    /// The value of parameter `name` (lower-case), if present.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }

    fn take_param(&mut self, name: &str) -> Option<Cow<'a, str>> {
        let index = self.params.iter().position(|(n, _)| n == name)?;
        Some(self.params.remove(index).1)
    }
}

/// `application/soap+xml; charset=UTF-8; action="..."`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapContentType<'a> {
    pub charset: Option<Cow<'a, str>>,
    pub action: Option<Cow<'a, str>>,
}

/// `multipart/related; type="application/xop+xml"; boundary=...; start="<...>";
/// start-info="application/soap+xml"; action="..."`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartRelated<'a> {
    /// Validated: 1-70 printable ASCII bytes, no trailing space.
    pub boundary: Cow<'a, str>,
    /// The root part's Content-ID; without it the root is the first part.
    pub start: Option<ContentId>,
    /// `start-info` as sent.
    pub start_info: Option<Cow<'a, str>>,
    /// `action`, or the `action` inside `start-info` when that carries one.
    pub action: Option<Cow<'a, str>>,
}

/// A request `Content-Type` this service accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentType<'a> {
    Soap(SoapContentType<'a>),
    Multipart(MultipartRelated<'a>),
}

impl<'a> ContentType<'a> {
    /// Parses and checks a request `Content-Type` header value.
    pub fn parse(value: &'a str) -> Result<Self, ContentTypeError> {
        let mut media = MediaType::parse(value)?;
        match media.essence.as_str() {
            "application/soap+xml" => {
                let charset = media.take_param("charset");
                check_charset(charset.as_deref())?;
                Ok(ContentType::Soap(SoapContentType {
                    charset,
                    action: media.take_param("action"),
                }))
            }
            "multipart/related" => {
                let boundary = media
                    .take_param("boundary")
                    .ok_or(ContentTypeError::MissingBoundary)?;
                check_boundary(&boundary)?;
                let root_type = media
                    .take_param("type")
                    .ok_or(ContentTypeError::MissingRootType)?;
                let root_media = MediaType::parse(&root_type).map_err(|_| {
                    ContentTypeError::UnsupportedRootType {
                        root_type: root_type.to_string(),
                    }
                })?;
                if root_media.essence != "application/xop+xml" {
                    return Err(ContentTypeError::UnsupportedRootType {
                        root_type: root_type.to_string(),
                    });
                }
                let start = match media.take_param("start") {
                    Some(start) => Some(
                        ContentId::from_header(&start)
                            .map_err(|source| ContentTypeError::InvalidStart { source })?,
                    ),
                    None => None,
                };
                let start_info = media.take_param("start-info");
                let mut action = media.take_param("action");
                if let Some(info) = &start_info {
                    let unsupported = || ContentTypeError::UnsupportedStartInfo {
                        start_info: info.to_string(),
                    };
                    let info_media = MediaType::parse(info).map_err(|_| unsupported())?;
                    if info_media.essence != "application/soap+xml" {
                        return Err(unsupported());
                    }
                    if action.is_none() {
                        action = info_media
                            .param("action")
                            .map(|a| Cow::Owned(a.to_string()));
                    }
                }
                Ok(ContentType::Multipart(MultipartRelated {
                    boundary,
                    start,
                    start_info,
                    action,
                }))
            }
            "text/xml" => Err(ContentTypeError::Soap11MediaType {
                media_type: media.essence,
            }),
            _ => Err(ContentTypeError::UnsupportedMediaType {
                media_type: media.essence,
            }),
        }
    }

    /// The `action` parameter, if the client sent one.
    pub fn action(&self) -> Option<&str> {
        match self {
            ContentType::Soap(soap) => soap.action.as_deref(),
            ContentType::Multipart(multipart) => multipart.action.as_deref(),
        }
    }
}

/// Checks the `Content-Type` of an MTOM root part
/// (`application/xop+xml; charset=UTF-8; type="application/soap+xml"`) and returns the action
/// carried in its `type` or `action` parameter, if any.
pub fn parse_root_part_content_type(value: &str) -> Result<Option<String>, ContentTypeError> {
    let media = MediaType::parse(value)?;
    if media.essence != "application/xop+xml" {
        return Err(ContentTypeError::RootPartNotXop {
            media_type: media.essence,
        });
    }
    check_charset(media.param("charset"))?;
    let mut action = media.param("action").map(str::to_string);
    if let Some(root_type) = media.param("type") {
        let not_soap = || ContentTypeError::RootPartNotSoap {
            root_type: root_type.to_string(),
        };
        let inner = MediaType::parse(root_type).map_err(|_| not_soap())?;
        if inner.essence != "application/soap+xml" {
            return Err(not_soap());
        }
        if action.is_none() {
            action = inner.param("action").map(str::to_string);
        }
    }
    Ok(action)
}

/// The boundary rule the multipart reader and writer rely on: 1-70 bytes of printable ASCII
/// or space (a superset of RFC 2046 `bchars`, since real clients stray from it), not ending in
/// a space. In particular it holds no CR or LF.
pub fn check_boundary(boundary: &str) -> Result<(), ContentTypeError> {
    let bytes = boundary.as_bytes();
    let valid = !bytes.is_empty()
        && bytes.len() <= BOUNDARY_BYTES_MAX
        && bytes.iter().all(|b| (0x20..0x7f).contains(b))
        && bytes.last() != Some(&b' ');
    if valid {
        Ok(())
    } else {
        Err(ContentTypeError::InvalidBoundary {
            boundary: boundary.to_string(),
        })
    }
}

fn check_charset(charset: Option<&str>) -> Result<(), ContentTypeError> {
    match charset {
        None => Ok(()),
        Some(c) if c.eq_ignore_ascii_case("utf-8") || c.eq_ignore_ascii_case("utf8") => Ok(()),
        Some(c) => Err(ContentTypeError::UnsupportedCharset {
            charset: c.to_string(),
        }),
    }
}

fn skip_ows(bytes: &[u8], mut pos: usize) -> usize {
    while matches!(bytes.get(pos), Some(b' ' | b'\t')) {
        pos += 1;
    }
    pos
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn skip_token(bytes: &[u8], mut pos: usize) -> usize {
    while bytes.get(pos).is_some_and(|&b| is_tchar(b)) {
        pos += 1;
    }
    pos
}

/// Reads the quoted string opening at `start`; returns its value and the offset after it.
fn quoted_string(value: &str, start: usize) -> Result<(Cow<'_, str>, usize), ContentTypeError> {
    let bytes = value.as_bytes();
    let mut pos = start + 1;
    let mut owned: Option<String> = None;
    let mut run_start = pos;
    while let Some(&b) = bytes.get(pos) {
        match b {
            b'"' => {
                let value = match owned {
                    Some(mut s) => {
                        s.push_str(&value[run_start..pos]);
                        Cow::Owned(s)
                    }
                    None => Cow::Borrowed(&value[run_start..pos]),
                };
                return Ok((value, pos + 1));
            }
            b'\\' => {
                let s = owned.get_or_insert_with(String::new);
                s.push_str(&value[run_start..pos]);
                // The escaped character may be any char; take it whole.
                let escaped = value[pos + 1..]
                    .chars()
                    .next()
                    .ok_or(ContentTypeError::UnterminatedQuotedString { offset: start })?;
                s.push(escaped);
                pos += 1 + escaped.len_utf8();
                run_start = pos;
            }
            b'\r' | b'\n' => return Err(ContentTypeError::MalformedParameter { offset: pos }),
            _ => pos += 1,
        }
    }
    Err(ContentTypeError::UnterminatedQuotedString { offset: start })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_soap_with_action() {
        let ct = ContentType::parse(
            r#"Application/SOAP+XML; Charset=utf-8; action="urn:ihe:iti:2007:RegistryStoredQuery""#,
        )
        .unwrap();
        assert_eq!(ct.action(), Some("urn:ihe:iti:2007:RegistryStoredQuery"));
        let ContentType::Soap(soap) = ct else {
            panic!("not soap")
        };
        assert_eq!(soap.charset.as_deref(), Some("utf-8"));
    }

    #[test]
    fn plain_soap_unquoted_action() {
        let ct =
            ContentType::parse("application/soap+xml;action=urn:ihe:iti:2007:RetrieveDocumentSet")
                .unwrap();
        assert_eq!(ct.action(), Some("urn:ihe:iti:2007:RetrieveDocumentSet"));
    }

    #[test]
    fn multipart_full() {
        let ct = ContentType::parse(
            "multipart/related; type=\"application/xop+xml\"; boundary=\"MIMEBoundary_abc\"; \
             start=\"<root.message@cxf.apache.org>\"; start-info=\"application/soap+xml\"; \
             action=\"urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b\"",
        )
        .unwrap();
        let ContentType::Multipart(m) = ct else {
            panic!("not multipart")
        };
        assert_eq!(m.boundary, "MIMEBoundary_abc");
        assert_eq!(m.start.unwrap().as_str(), "root.message@cxf.apache.org");
        assert_eq!(
            m.action.as_deref(),
            Some("urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b")
        );
    }

    #[test]
    fn multipart_action_inside_start_info() {
        let ct = ContentType::parse(
            r#"multipart/related; boundary=uuid:1b2c; type="application/xop+xml"; start-info="application/soap+xml; action=\"urn:ihe:iti:2007:RetrieveDocumentSet\"""#,
        )
        .unwrap();
        assert_eq!(ct.action(), Some("urn:ihe:iti:2007:RetrieveDocumentSet"));
    }

    #[test]
    fn root_part_content_type() {
        let action = parse_root_part_content_type(
            r#"application/xop+xml; charset=UTF-8; type="application/soap+xml; action=\"urn:a\"""#,
        )
        .unwrap();
        assert_eq!(action.as_deref(), Some("urn:a"));
        assert_eq!(
            parse_root_part_content_type("text/xml"),
            Err(ContentTypeError::RootPartNotXop {
                media_type: "text/xml".into()
            })
        );
        assert_eq!(
            parse_root_part_content_type(r#"application/xop+xml; type="text/xml""#),
            Err(ContentTypeError::RootPartNotSoap {
                root_type: "text/xml".into()
            })
        );
    }

    fn err(value: &str) -> ContentTypeError {
        ContentType::parse(value).unwrap_err()
    }

    #[test]
    fn every_error_variant() {
        assert_eq!(err("  "), ContentTypeError::Empty);
        assert_eq!(
            err("application"),
            ContentTypeError::MalformedMediaType { offset: 11 }
        );
        assert_eq!(
            err("application/"),
            ContentTypeError::MalformedMediaType { offset: 12 }
        );
        assert_eq!(
            err("application/soap+xml; x"),
            ContentTypeError::MalformedParameter { offset: 23 }
        );
        assert_eq!(
            err("application/soap+xml junk"),
            ContentTypeError::MalformedParameter { offset: 21 }
        );
        assert_eq!(
            err("application/soap+xml; action=\"abc"),
            ContentTypeError::UnterminatedQuotedString { offset: 29 }
        );
        assert_eq!(
            err("application/soap+xml; action=a; ACTION=b"),
            ContentTypeError::DuplicateParameter {
                name: "action".into()
            }
        );
        assert_eq!(
            err("text/xml; charset=utf-8"),
            ContentTypeError::Soap11MediaType {
                media_type: "text/xml".into()
            }
        );
        assert_eq!(
            err("application/json"),
            ContentTypeError::UnsupportedMediaType {
                media_type: "application/json".into()
            }
        );
        assert_eq!(
            err("application/soap+xml; charset=ISO-8859-1"),
            ContentTypeError::UnsupportedCharset {
                charset: "ISO-8859-1".into()
            }
        );
        assert_eq!(
            err("multipart/related; type=\"application/xop+xml\""),
            ContentTypeError::MissingBoundary
        );
        assert_eq!(
            err("multipart/related; type=\"application/xop+xml\"; boundary=\"a \""),
            ContentTypeError::InvalidBoundary {
                boundary: "a ".into()
            }
        );
        assert!(matches!(
            err(&format!("multipart/related; boundary={}", "x".repeat(71))),
            ContentTypeError::InvalidBoundary { .. }
        ));
        assert_eq!(
            err("multipart/related; boundary=b"),
            ContentTypeError::MissingRootType
        );
        assert_eq!(
            err("multipart/related; boundary=b; type=text/xml"),
            ContentTypeError::UnsupportedRootType {
                root_type: "text/xml".into()
            }
        );
        assert_eq!(
            err("multipart/related; boundary=b; type=\"application/xop+xml\"; start-info=text/xml"),
            ContentTypeError::UnsupportedStartInfo {
                start_info: "text/xml".into()
            }
        );
        assert!(matches!(
            err("multipart/related; boundary=b; type=\"application/xop+xml\"; start=\"<>\""),
            ContentTypeError::InvalidStart { .. }
        ));
    }
}
