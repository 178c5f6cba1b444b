//! Streaming MTOM/XOP `multipart/related` reader (RFC 2046 §5.1, XOP 1.0), fed byte chunks.
//!
//! Job: turn the request body, chunk by chunk as it arrives from the network, into
//! [`Event`]s: `PartStart` (with the part's headers), `PartData` (bytes of the part, borrowed
//! from the chunk), `PartEnd` and finally `End`. Drive it like this:
//!
//! ```
//! use soap::{Event, MultipartLimits, MultipartReader};
//!
//! let body: &[u8] = b"--b\r\nContent-ID: <root@x>\r\n\r\n<root/>\r\n--b--\r\n";
//! let mut reader = MultipartReader::new("b", None, MultipartLimits::default())?;
//! let mut root = Vec::new();
//! for chunk in body.chunks(7) {                  // chunks as the HTTP body yields them
//!     let mut feed = reader.feed(chunk);
//!     while let Some(event) = feed.next_event()? { // drain every chunk until `None`
//!         match event {
//!             Event::PartStart(start) => assert!(start.is_root),
//!             Event::PartData(bytes) => root.extend_from_slice(bytes),
//!             Event::PartEnd | Event::End => {}
//!         }
//!     }
//! }
//! reader.finish()?;                              // at the end of the body
//! assert_eq!(root, b"<root/>");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Mechanism: the reader is a byte-level state machine that never looks back. Inside a part it
//! searches the chunk for the delimiter `CRLF--boundary` with `memchr::memmem`; when a chunk
//! ends with a proper prefix of the delimiter, that prefix is held back as a match count
//! (at most delimiter length − 1 bytes) and, if the next chunk does not complete it, re-emitted
//! from the reader's own copy of the delimiter. The delimiter's first byte (CR, or LF in LF
//! mode) occurs nowhere else in it because a boundary holds no CR or LF, so a failed partial
//! match never hides the start of a real one. Only part headers are buffered (bounded by
//! [`MultipartLimits::part_header_bytes_max`]).
//!
//! Line endings: CRLF as RFC 2046 requires. A message whose first boundary line ends in a bare
//! LF is read in LF mode (delimiter `LF--boundary`) throughout; the mode is fixed by the first
//! boundary line, so a CRLF message is never split at a bare LF inside a document.
//!
//! Invariants:
//! - The concatenated `PartData` of a part is exactly the bytes between its header section and
//!   the next delimiter, however the body was chunked.
//! - Part data is never copied or accumulated; at most delimiter-length bytes are held back.
//! - Every limit in [`MultipartLimits`] is enforced as bytes arrive; after an error the reader
//!   stays failed and repeats that error.
//! - Content transfer encodings other than identity (`binary`, `8bit`, `7bit`) are refused, so
//!   `PartData` is always the part's content.

use memchr::memmem;

use crate::cid::{ContentId, ContentIdError};
use crate::content_type::{ContentTypeError, check_boundary};
use crate::limits::MultipartLimits;

/// Why a multipart body was refused. Offsets are byte offsets into the whole body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MultipartError {
    #[error("no boundary line found in the first {limit} bytes of the body (preamble too long)")]
    PreambleTooLarge { limit: usize },
    #[error("the body ended at byte {offset} before any boundary line")]
    BoundaryNotFound { offset: u64 },
    #[error("boundary at byte {offset} is followed by something other than `--` or a line end")]
    MalformedBoundaryLine { offset: u64 },
    #[error("header section of the part starting at byte {offset} exceeds {limit} bytes")]
    HeaderTooLarge { offset: u64, limit: usize },
    #[error("malformed header line in the part starting at byte {offset}: `{line}`")]
    MalformedHeader { offset: u64, line: String },
    #[error("part starting at byte {offset} has more than {limit} header fields")]
    TooManyPartHeaders { offset: u64, limit: usize },
    #[error(
        "message has more than {limit} MIME header fields (at the part starting at byte {offset})"
    )]
    TooManyHeaders { offset: u64, limit: usize },
    #[error("part starting at byte {offset} repeats header `{name}`")]
    DuplicateHeader { offset: u64, name: String },
    #[error("part starting at byte {offset} has an invalid Content-ID: {source}")]
    InvalidContentId {
        offset: u64,
        #[source]
        source: ContentIdError,
    },
    #[error(
        "part starting at byte {offset} uses Content-Transfer-Encoding `{encoding}`; only binary, 8bit and 7bit are accepted"
    )]
    UnsupportedTransferEncoding { offset: u64, encoding: String },
    #[error("message has more than {limit} MIME parts (at byte {offset})")]
    TooManyParts { offset: u64, limit: usize },
    #[error("part starting at byte {offset} repeats Content-ID `{content_id}`")]
    DuplicateContentId { offset: u64, content_id: ContentId },
    #[error("part starting at byte {offset} exceeds {limit} bytes")]
    PartTooLarge { offset: u64, limit: u64 },
    #[error("closing boundary at byte {offset} ends a message without parts")]
    NoParts { offset: u64 },
    #[error("no part carries the Content-ID `{start}` named by the start parameter")]
    RootPartMissing { start: ContentId },
    #[error("epilogue after the closing boundary exceeds {limit} bytes")]
    EpilogueTooLarge { limit: usize },
    #[error("the body ended at byte {offset} without the closing boundary")]
    MissingClosingBoundary { offset: u64 },
    #[error("a chunk was not drained to `None` before the next one was fed (caller bug)")]
    FeedNotDrained,
}

/// Content-Transfer-Encoding of a part; only the identity encodings are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferEncoding {
    Binary,
    EightBit,
    SevenBit,
}

/// The headers of one MIME part that MTOM cares about. Others are counted and skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartHeaders {
    pub content_id: Option<ContentId>,
    /// As sent (parameters included), whitespace-trimmed.
    pub content_type: Option<String>,
    pub transfer_encoding: Option<TransferEncoding>,
}

/// Start of a part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartStart {
    /// 0-based position in the message.
    pub index: usize,
    /// The root part: the one named by `start`, or the first part when there is no `start`.
    pub is_root: bool,
    pub headers: PartHeaders,
}

/// What the reader found in the bytes fed so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    PartStart(PartStart),
    /// The next bytes of the current part; borrowed from the chunk (or, for a held-back partial
    /// delimiter that turned out to be data, from the reader).
    PartData(&'a [u8]),
    PartEnd,
    /// The closing boundary; everything after it is epilogue and ignored.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineEnding {
    CrLf,
    Lf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Matching `LF--boundary`; `matched` bytes of it matched so far (starts at 1: the body
    /// start counts as a line start).
    Preamble {
        matched: usize,
    },
    /// Right after `--boundary`.
    AfterBoundary,
    /// After `--boundary-`.
    CloseDash,
    /// Transport padding (spaces, tabs) after the boundary.
    Padding,
    /// CR after the boundary, LF expected.
    PaddingCr,
    /// Reading header lines into `header_buf`; `line_start` is where the current line begins.
    Headers {
        line_start: usize,
    },
    /// Inside part data; `matched` bytes of the delimiter are held back.
    Body {
        matched: usize,
    },
    Epilogue,
    Failed(MultipartError),
}

/// The reader; see the module docs for how to drive it.
#[derive(Debug)]
pub struct MultipartReader {
    /// `\n--boundary`: what ends the preamble (a CR before it belongs to the preamble).
    first_delimiter: Vec<u8>,
    /// `\r\n--boundary` or `\n--boundary` once the line ending is known; held-back partial
    /// matches are re-emitted from here.
    delimiter: Vec<u8>,
    finder: memmem::Finder<'static>,
    state: State,
    limits: MultipartLimits,
    /// Absolute offset of the next unread byte.
    offset: u64,
    /// Whether a [`Feed`] was dropped before it returned `None` (its rest was never read).
    undrained: bool,
    line_ending: Option<LineEnding>,
    header_buf: Vec<u8>,
    header_start: u64,
    headers_total: usize,
    preamble_bytes: usize,
    epilogue_bytes: usize,
    start: Option<ContentId>,
    root_seen: bool,
    content_ids: Vec<ContentId>,
    parts: usize,
    /// Data bytes of the current part so far, and whether it is the root: the part size
    /// limit depends on it.
    part_bytes: u64,
    part_is_root: bool,
}

impl MultipartReader {
    /// A reader for a body with this `boundary` (from [`crate::MultipartRelated`]) and root
    /// part `start` (none: the first part is the root).
    pub fn new(
        boundary: &str,
        start: Option<ContentId>,
        limits: MultipartLimits,
    ) -> Result<Self, ContentTypeError> {
        check_boundary(boundary)?;
        let mut first_delimiter = b"\n--".to_vec();
        first_delimiter.extend_from_slice(boundary.as_bytes());
        let delimiter = [b"\r", first_delimiter.as_slice()].concat();
        let finder = memmem::Finder::new(&delimiter).into_owned();
        Ok(MultipartReader {
            first_delimiter,
            delimiter,
            finder,
            state: State::Preamble { matched: 1 },
            limits,
            offset: 0,
            undrained: false,
            line_ending: None,
            header_buf: Vec::new(),
            header_start: 0,
            headers_total: 0,
            preamble_bytes: 0,
            epilogue_bytes: 0,
            start,
            root_seen: false,
            content_ids: Vec::new(),
            parts: 0,
            part_bytes: 0,
            part_is_root: false,
        })
    }

    /// Starts reading `chunk`. Call [`Feed::next_event`] until it returns `Ok(None)` before
    /// feeding the next chunk.
    pub fn feed<'r, 'c>(&'r mut self, chunk: &'c [u8]) -> Feed<'r, 'c> {
        if self.undrained {
            self.state = State::Failed(MultipartError::FeedNotDrained);
        }
        self.undrained = true;
        Feed {
            reader: self,
            chunk,
            pos: 0,
        }
    }

    /// Call at the end of the body: succeeds only if the closing boundary was read.
    pub fn finish(&self) -> Result<(), MultipartError> {
        if self.undrained {
            return Err(MultipartError::FeedNotDrained);
        }
        match &self.state {
            State::Epilogue => Ok(()),
            State::Failed(error) => Err(error.clone()),
            State::Preamble { .. } => Err(MultipartError::BoundaryNotFound {
                offset: self.offset,
            }),
            _ => Err(MultipartError::MissingClosingBoundary {
                offset: self.offset,
            }),
        }
    }

    /// Whether the closing boundary has been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Epilogue
    }

    /// How many of the next `len` data bytes of the current part may be handed on. Emits up
    /// to the limit and fails after it, so the bytes delivered before the error are the same
    /// however the body is chunked.
    fn admit(&mut self, len: usize) -> Result<usize, MultipartError> {
        let limit = if self.part_is_root {
            self.limits.root_part_bytes_max
        } else {
            self.limits.attachment_bytes_max
        };
        let error = MultipartError::PartTooLarge {
            offset: self.header_start,
            limit,
        };
        let remaining = limit.saturating_sub(self.part_bytes);
        if remaining == 0 {
            return Err(error);
        }
        let admitted = usize::try_from(remaining).map_or(len, |r| r.min(len));
        self.part_bytes += admitted as u64;
        if admitted < len {
            self.state = State::Failed(error);
        }
        Ok(admitted)
    }

    fn fail(&mut self, error: MultipartError) -> MultipartError {
        self.state = State::Failed(error.clone());
        error
    }

    /// The line ending of the boundary line is known: fix the mode, start a part's headers.
    fn boundary_line_end(&mut self, line_ending: LineEnding) -> Result<(), MultipartError> {
        if self.line_ending.is_none() {
            self.line_ending = Some(line_ending);
            if line_ending == LineEnding::Lf {
                self.delimiter = self.first_delimiter.clone();
                self.finder = memmem::Finder::new(&self.delimiter).into_owned();
            }
        }
        if self.parts >= self.limits.parts_max {
            return Err(MultipartError::TooManyParts {
                offset: self.offset,
                limit: self.limits.parts_max,
            });
        }
        self.header_buf.clear();
        self.header_start = self.offset;
        self.state = State::Headers { line_start: 0 };
        Ok(())
    }

    fn close(&mut self) -> Result<(), MultipartError> {
        if self.parts == 0 {
            return Err(MultipartError::NoParts {
                offset: self.offset,
            });
        }
        if let Some(start) = &self.start
            && !self.root_seen
        {
            return Err(MultipartError::RootPartMissing {
                start: start.clone(),
            });
        }
        self.state = State::Epilogue;
        Ok(())
    }

    /// Parses the complete header section in `header_buf` (without the blank line).
    fn parse_headers(&mut self, end: usize) -> Result<PartStart, MultipartError> {
        let offset = self.header_start;
        let section = &self.header_buf[..end];
        // Unfold: a line starting with SP/HT continues the previous field.
        let mut fields: Vec<(String, String)> = Vec::new();
        for raw_line in section.split(|&b| b == b'\n') {
            let raw_line = raw_line.strip_suffix(b"\r").unwrap_or(raw_line);
            if raw_line.is_empty() {
                continue;
            }
            let malformed = || MultipartError::MalformedHeader {
                offset,
                line: String::from_utf8_lossy(raw_line).into_owned(),
            };
            let line = std::str::from_utf8(raw_line).map_err(|_| malformed())?;
            if line.starts_with([' ', '\t']) {
                let (_, value) = fields.last_mut().ok_or_else(malformed)?;
                value.push(' ');
                value.push_str(line.trim_matches([' ', '\t']));
                continue;
            }
            let (name, value) = line.split_once(':').ok_or_else(malformed)?;
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(malformed());
            }
            fields.push((
                name.to_ascii_lowercase(),
                value.trim_matches([' ', '\t']).to_string(),
            ));
            if fields.len() > self.limits.part_headers_max {
                return Err(MultipartError::TooManyPartHeaders {
                    offset,
                    limit: self.limits.part_headers_max,
                });
            }
            self.headers_total += 1;
            if self.headers_total > self.limits.headers_total_max {
                return Err(MultipartError::TooManyHeaders {
                    offset,
                    limit: self.limits.headers_total_max,
                });
            }
        }
        let mut headers = PartHeaders::default();
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in &fields {
            let known = matches!(
                name.as_str(),
                "content-id" | "content-type" | "content-transfer-encoding"
            );
            if known && seen.contains(&name.as_str()) {
                return Err(MultipartError::DuplicateHeader {
                    offset,
                    name: name.clone(),
                });
            }
            seen.push(name);
            match name.as_str() {
                "content-id" => {
                    let cid = ContentId::from_header(value)
                        .map_err(|source| MultipartError::InvalidContentId { offset, source })?;
                    headers.content_id = Some(cid);
                }
                "content-type" => headers.content_type = Some(value.clone()),
                "content-transfer-encoding" => {
                    let encoding = match value.to_ascii_lowercase().as_str() {
                        "binary" => TransferEncoding::Binary,
                        "8bit" => TransferEncoding::EightBit,
                        "7bit" => TransferEncoding::SevenBit,
                        _ => {
                            return Err(MultipartError::UnsupportedTransferEncoding {
                                offset,
                                encoding: value.clone(),
                            });
                        }
                    };
                    headers.transfer_encoding = Some(encoding);
                }
                _ => {}
            }
        }
        if let Some(cid) = &headers.content_id {
            if self.content_ids.contains(cid) {
                return Err(MultipartError::DuplicateContentId {
                    offset,
                    content_id: cid.clone(),
                });
            }
            self.content_ids.push(cid.clone());
        }
        let is_root = !self.root_seen
            && match &self.start {
                Some(start) => headers.content_id.as_ref() == Some(start),
                None => self.parts == 0,
            };
        self.root_seen |= is_root;
        self.part_is_root = is_root;
        self.part_bytes = 0;
        let index = self.parts;
        self.parts += 1;
        Ok(PartStart {
            index,
            is_root,
            headers,
        })
    }
}

/// One chunk being read; see [`MultipartReader::feed`].
#[derive(Debug)]
pub struct Feed<'r, 'c> {
    reader: &'r mut MultipartReader,
    chunk: &'c [u8],
    pos: usize,
}

impl Feed<'_, '_> {
    /// The next event of this chunk, or `None` once the chunk is used up (more input needed,
    /// or the message is complete and the rest is epilogue).
    pub fn next_event(&mut self) -> Result<Option<Event<'_>>, MultipartError> {
        let step = self.step().and_then(|step| match step {
            Step::HeldBack(len) => Ok(Step::HeldBack(self.reader.admit(len)?)),
            Step::Data(start, end) => {
                Ok(Step::Data(start, start + self.reader.admit(end - start)?))
            }
            other => Ok(other),
        });
        match step {
            Ok(Step::Event(event)) => Ok(Some(event)),
            Ok(Step::HeldBack(len)) => Ok(Some(Event::PartData(&self.reader.delimiter[..len]))),
            Ok(Step::Data(start, end)) => Ok(Some(Event::PartData(&self.chunk[start..end]))),
            Ok(Step::Exhausted) => {
                self.reader.undrained = false;
                Ok(None)
            }
            Err(error) => {
                self.reader.undrained = false;
                Err(self.reader.fail(error))
            }
        }
    }

    fn advance(&mut self, n: usize) {
        self.pos += n;
        self.reader.offset += n as u64;
    }

    /// Runs the state machine until it has something to report. Data is returned as ranges so
    /// that the borrow of `self` ends before the caller builds the slice.
    fn step(&mut self) -> Result<Step, MultipartError> {
        loop {
            let rest = &self.chunk[self.pos..];
            let reader = &mut *self.reader;
            match reader.state.clone() {
                State::Failed(error) => return Err(error),
                _ if rest.is_empty() => return Ok(Step::Exhausted),
                State::Preamble { mut matched } => {
                    // Byte by byte, so that the limit trips at the same byte however the
                    // body is chunked. The first boundary line counts towards the limit.
                    let pattern = &reader.first_delimiter;
                    let mut consumed = 0;
                    let mut found = false;
                    for &b in rest {
                        consumed += 1;
                        if reader.preamble_bytes + consumed > reader.limits.preamble_bytes_max {
                            return Err(MultipartError::PreambleTooLarge {
                                limit: reader.limits.preamble_bytes_max,
                            });
                        }
                        if b == pattern[matched] {
                            matched += 1;
                            if matched == pattern.len() {
                                found = true;
                                break;
                            }
                        } else {
                            matched = usize::from(b == b'\n');
                        }
                    }
                    reader.preamble_bytes += consumed;
                    reader.state = if found {
                        State::AfterBoundary
                    } else {
                        State::Preamble { matched }
                    };
                    self.advance(consumed);
                }
                State::AfterBoundary | State::Padding | State::CloseDash | State::PaddingCr => {
                    let state = reader.state.clone();
                    let b = rest[0];
                    let offset = reader.offset;
                    self.advance(1);
                    let reader = &mut *self.reader;
                    match (state, b) {
                        (State::AfterBoundary, b'-') => reader.state = State::CloseDash,
                        (State::CloseDash, b'-') => {
                            reader.close()?;
                            return Ok(Step::Event(Event::End));
                        }
                        (State::AfterBoundary | State::Padding, b' ' | b'\t') => {
                            reader.state = State::Padding;
                        }
                        (State::AfterBoundary | State::Padding, b'\r') => {
                            reader.state = State::PaddingCr;
                        }
                        (State::AfterBoundary | State::Padding, b'\n') => {
                            reader.boundary_line_end(LineEnding::Lf)?;
                        }
                        (State::PaddingCr, b'\n') => reader.boundary_line_end(LineEnding::CrLf)?,
                        _ => return Err(MultipartError::MalformedBoundaryLine { offset }),
                    }
                }
                State::Headers { line_start } => {
                    let (take, line_end) = match memchr::memchr(b'\n', rest) {
                        Some(i) => (i + 1, true),
                        None => (rest.len(), false),
                    };
                    reader.header_buf.extend_from_slice(&rest[..take]);
                    if reader.header_buf.len() > reader.limits.part_header_bytes_max {
                        return Err(MultipartError::HeaderTooLarge {
                            offset: reader.header_start,
                            limit: reader.limits.part_header_bytes_max,
                        });
                    }
                    self.advance(take);
                    let reader = &mut *self.reader;
                    if !line_end {
                        continue;
                    }
                    let line = &reader.header_buf[line_start..];
                    if line == b"\n" || line == b"\r\n" {
                        let start = reader.parse_headers(line_start)?;
                        reader.state = State::Body { matched: 0 };
                        return Ok(Step::Event(Event::PartStart(start)));
                    }
                    reader.state = State::Headers {
                        line_start: reader.header_buf.len(),
                    };
                }
                State::Body { matched } if matched > 0 => {
                    let delimiter_len = reader.delimiter.len();
                    let n = (delimiter_len - matched).min(rest.len());
                    if rest[..n] == reader.delimiter[matched..matched + n] {
                        let matched = matched + n;
                        self.advance(n);
                        if matched == delimiter_len {
                            self.reader.state = State::AfterBoundary;
                            return Ok(Step::Event(Event::PartEnd));
                        }
                        self.reader.state = State::Body { matched };
                    } else {
                        // Not a delimiter after all: the held-back bytes are data. Nothing of
                        // `rest` is consumed; the delimiter's first byte occurs only at its
                        // start, so no match can begin inside the held-back bytes.
                        reader.state = State::Body { matched: 0 };
                        return Ok(Step::HeldBack(matched));
                    }
                }
                State::Body { .. } => {
                    let start = self.pos;
                    match reader.finder.find(rest) {
                        Some(0) => {
                            let len = reader.delimiter.len();
                            self.advance(len);
                            self.reader.state = State::AfterBoundary;
                            return Ok(Step::Event(Event::PartEnd));
                        }
                        Some(i) => {
                            // Report the data; the next step finds the delimiter at 0.
                            self.advance(i);
                            return Ok(Step::Data(start, start + i));
                        }
                        None => {
                            let held = partial_suffix(rest, &reader.delimiter);
                            reader.state = State::Body { matched: held };
                            let data_len = rest.len() - held;
                            self.advance(rest.len());
                            if data_len > 0 {
                                return Ok(Step::Data(start, start + data_len));
                            }
                        }
                    }
                }
                State::Epilogue => {
                    reader.epilogue_bytes += rest.len();
                    let len = rest.len();
                    if reader.epilogue_bytes > reader.limits.epilogue_bytes_max {
                        return Err(MultipartError::EpilogueTooLarge {
                            limit: reader.limits.epilogue_bytes_max,
                        });
                    }
                    self.advance(len);
                }
            }
        }
    }
}

enum Step {
    Event(Event<'static>),
    /// Re-emit this many held-back delimiter bytes as data.
    HeldBack(usize),
    /// Emit `chunk[start..end]` as data.
    Data(usize, usize),
    Exhausted,
}

/// Length of the longest proper prefix of `delimiter` that `data` ends with. Only the last
/// occurrence of the delimiter's first byte can start one, because that byte occurs nowhere
/// else in the delimiter.
fn partial_suffix(data: &[u8], delimiter: &[u8]) -> usize {
    debug_assert!(
        !delimiter[1..].contains(&delimiter[0]),
        "the delimiter's first byte must not recur in it (boundaries hold no CR or LF)"
    );
    let window = data.len().min(delimiter.len() - 1);
    let tail = &data[data.len() - window..];
    match memchr::memrchr(delimiter[0], tail) {
        Some(i) if delimiter.starts_with(&tail[i..]) => tail.len() - i,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `body` in chunks of `size` and renders the events as text.
    fn read(body: &[u8], start: Option<&str>, size: usize) -> Result<Vec<String>, MultipartError> {
        read_with(body, start, size, MultipartLimits::default())
    }

    fn read_with(
        body: &[u8],
        start: Option<&str>,
        size: usize,
        limits: MultipartLimits,
    ) -> Result<Vec<String>, MultipartError> {
        let start = start.map(|s| ContentId::from_header(s).unwrap());
        let mut reader = MultipartReader::new("bnd", start, limits).unwrap();
        let mut out: Vec<String> = Vec::new();
        let mut data = Vec::new();
        for chunk in body.chunks(size.max(1)) {
            let mut feed = reader.feed(chunk);
            while let Some(event) = feed.next_event()? {
                match event {
                    Event::PartStart(s) => out.push(format!(
                        "start#{} root={} id={:?} type={:?}",
                        s.index,
                        s.is_root,
                        s.headers.content_id.map(|c| c.to_string()),
                        s.headers.content_type
                    )),
                    Event::PartData(d) => data.extend_from_slice(d),
                    Event::PartEnd => {
                        out.push(format!("data {:?}", String::from_utf8_lossy(&data)));
                        data.clear();
                        out.push("end".into());
                    }
                    Event::End => out.push("END".into()),
                }
            }
        }
        reader.finish()?;
        Ok(out)
    }

    const BODY: &[u8] = b"preamble line\r\n--bnd\r\nContent-Type: application/xop+xml; type=\"application/soap+xml\"\r\nContent-ID: <root@x>\r\n\r\n<env/>\r\n--bnd  \r\ncontent-id: <doc@x>\r\nX-Extra: folded\r\n  more\r\n\r\nA\r\n--bn\r\n-\r\n--bnd--\r\nepilogue";

    #[test]
    fn reads_parts_at_every_chunk_size() {
        let expected = read(BODY, None, BODY.len()).unwrap();
        assert_eq!(
            expected,
            vec![
                "start#0 root=true id=Some(\"root@x\") type=Some(\"application/xop+xml; type=\\\"application/soap+xml\\\"\")",
                "data \"<env/>\"",
                "end",
                "start#1 root=false id=Some(\"doc@x\") type=None",
                "data \"A\\r\\n--bn\\r\\n-\"",
                "end",
                "END",
            ]
        );
        for size in 1..BODY.len() {
            assert_eq!(
                read(BODY, None, size).unwrap(),
                expected,
                "chunk size {size}"
            );
        }
    }

    #[test]
    fn start_selects_root() {
        let events = read(BODY, Some("<doc@x>"), 5).unwrap();
        assert!(events[0].contains("root=false"));
        assert!(events[3].contains("root=true"));
    }

    #[test]
    fn bare_lf_mode() {
        let body = b"--bnd\nContent-ID: <a@x>\n\nline1\r\nline2\n--bnd\n\nxx\n--bnd--";
        for size in 1..body.len() {
            let events = read(body, None, size).unwrap();
            assert_eq!(events[1], "data \"line1\\r\\nline2\"");
            assert_eq!(events[4], "data \"xx\"");
        }
    }

    #[test]
    fn crlf_mode_keeps_bare_lf_boundary_as_data() {
        let body = b"--bnd\r\n\r\nx\n--bnd\r\n--bnd--";
        assert_eq!(read(body, None, 3).unwrap()[1], "data \"x\\n--bnd\"");
    }

    #[test]
    fn empty_part_and_no_preamble() {
        let body = b"--bnd\r\n\r\n\r\n--bnd--";
        let events = read(body, None, 1).unwrap();
        assert_eq!(events[1], "data \"\"");
    }

    fn err(body: &[u8]) -> MultipartError {
        read(body, None, 4).unwrap_err()
    }

    #[test]
    fn every_error_variant() {
        let small = MultipartLimits {
            parts_max: 1,
            part_header_bytes_max: 10,
            part_headers_max: 1,
            headers_total_max: 1,
            preamble_bytes_max: 8,
            epilogue_bytes_max: 2,
            ..MultipartLimits::default()
        };
        assert_eq!(
            read_with(b"0123456789", None, 3, small).unwrap_err(),
            MultipartError::PreambleTooLarge { limit: 8 }
        );
        assert_eq!(err(b"abc"), MultipartError::BoundaryNotFound { offset: 3 });
        assert_eq!(
            err(b"--bndx\r\n"),
            MultipartError::MalformedBoundaryLine { offset: 5 }
        );
        assert_eq!(
            read_with(b"--bnd\r\nContent-ID: <a@b>\r\n\r\n", None, 3, small).unwrap_err(),
            MultipartError::HeaderTooLarge {
                offset: 7,
                limit: 10
            }
        );
        assert!(matches!(
            err(b"--bnd\r\nno colon\r\n\r\n"),
            MultipartError::MalformedHeader { offset: 7, .. }
        ));
        assert!(matches!(
            err(b"--bnd\r\n folded first\r\n\r\n"),
            MultipartError::MalformedHeader { offset: 7, .. }
        ));
        let two_headers = MultipartLimits {
            part_headers_max: 1,
            ..MultipartLimits::default()
        };
        assert_eq!(
            read_with(b"--bnd\r\na: 1\r\nb: 2\r\n\r\n", None, 3, two_headers).unwrap_err(),
            MultipartError::TooManyPartHeaders {
                offset: 7,
                limit: 1
            }
        );
        let total = MultipartLimits {
            headers_total_max: 1,
            ..MultipartLimits::default()
        };
        assert_eq!(
            read_with(
                b"--bnd\r\na: 1\r\n\r\n\r\n--bnd\r\nb: 1\r\n\r\n",
                None,
                3,
                total
            )
            .unwrap_err(),
            MultipartError::TooManyHeaders {
                offset: 24,
                limit: 1
            }
        );
        assert_eq!(
            err(b"--bnd\r\nContent-Type: a/b\r\ncontent-type: a/b\r\n\r\n"),
            MultipartError::DuplicateHeader {
                offset: 7,
                name: "content-type".into()
            }
        );
        assert!(matches!(
            err(b"--bnd\r\nContent-ID: <>\r\n\r\n"),
            MultipartError::InvalidContentId { offset: 7, .. }
        ));
        assert_eq!(
            err(b"--bnd\r\nContent-Transfer-Encoding: base64\r\n\r\n"),
            MultipartError::UnsupportedTransferEncoding {
                offset: 7,
                encoding: "base64".into()
            }
        );
        let one_part = MultipartLimits {
            parts_max: 1,
            ..MultipartLimits::default()
        };
        assert_eq!(
            read_with(b"--bnd\r\n\r\n\r\n--bnd\r\n", None, 3, one_part).unwrap_err(),
            MultipartError::TooManyParts {
                offset: 18,
                limit: 1
            }
        );
        assert_eq!(
            err(b"--bnd\r\nContent-ID: <a@b>\r\n\r\n\r\n--bnd\r\nContent-ID: <a@b>\r\n\r\n"),
            MultipartError::DuplicateContentId {
                offset: 37,
                content_id: ContentId::new("a@b").unwrap()
            }
        );
        let tiny_parts = MultipartLimits {
            root_part_bytes_max: 3,
            attachment_bytes_max: 2,
            ..MultipartLimits::default()
        };
        assert_eq!(
            read_with(b"--bnd\r\n\r\nabcd\r\n--bnd--", None, 2, tiny_parts).unwrap_err(),
            MultipartError::PartTooLarge {
                offset: 7,
                limit: 3
            }
        );
        assert_eq!(
            read_with(
                b"--bnd\r\n\r\nabc\r\n--bnd\r\n\r\nxyz\r\n--bnd--",
                None,
                50,
                tiny_parts
            )
            .unwrap_err(),
            MultipartError::PartTooLarge {
                offset: 21,
                limit: 2
            }
        );
        assert_eq!(err(b"--bnd--"), MultipartError::NoParts { offset: 7 });
        assert_eq!(
            read(b"--bnd\r\n\r\n\r\n--bnd--", Some("<r@x>"), 4).unwrap_err(),
            MultipartError::RootPartMissing {
                start: ContentId::new("r@x").unwrap()
            }
        );
        assert_eq!(
            read_with(b"--bnd\r\n\r\n\r\n--bnd--\r\nabc", None, 3, small).unwrap_err(),
            MultipartError::EpilogueTooLarge { limit: 2 }
        );
        assert_eq!(
            err(b"--bnd\r\n\r\nabc\r\n--bn"),
            MultipartError::MissingClosingBoundary { offset: 18 }
        );
    }

    #[test]
    fn undrained_feed_is_a_caller_error() {
        let mut reader = MultipartReader::new("bnd", None, MultipartLimits::default()).unwrap();
        {
            let mut feed = reader.feed(b"--bnd\r\n\r\nabc");
            feed.next_event().unwrap();
        }
        let mut feed = reader.feed(b"more");
        assert_eq!(feed.next_event(), Err(MultipartError::FeedNotDrained));
        assert_eq!(reader.finish(), Err(MultipartError::FeedNotDrained));
    }

    #[test]
    fn partial_suffix_cases() {
        let d = b"\r\n--bnd";
        assert_eq!(partial_suffix(b"abc", d), 0);
        assert_eq!(partial_suffix(b"abc\r", d), 1);
        assert_eq!(partial_suffix(b"abc\r\n--bn", d), 6);
        assert_eq!(partial_suffix(b"\r\n-x", d), 0);
        assert_eq!(partial_suffix(b"\r", d), 1);
    }
}
