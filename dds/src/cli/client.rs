//! The SOAP 1.2 client of the client commands: request envelopes with WS-Addressing and the
//! ID card, plain or MTOM framing, and answers read back into typed messages or faults.
//!
//! Invariants: every answer is read against a named limit ([`ANSWER_BYTES_MAX`]) while it
//! arrives; a SOAP fault, an HTTP error without SOAP and an unreachable service are distinct
//! [`ClientError`]s, each naming what the user can do about it. The card is put into the
//! header exactly as the STS signed it (the signature covers its bytes).

use std::time::Duration;

use futures_util::StreamExt;
use soap::{ContentId, ContentType, EnvelopeLimits, EnvelopeOptions, MtomWriter};
use time::OffsetDateTime;
use xds_model::limits::XmlLimits;
use xds_model::message::Message;
use xds_model::vocabulary::action;

/// Largest answer read, in bytes. A LeafClass answer at the registry's default
/// `query_results_max` (10,000 DocumentEntries of ~5 KB) is about 50 MB, and an inline ITI-43
/// answer carries a document of up to 256 MiB as base64 (~342 MiB); 512 MiB covers both.
pub const ANSWER_BYTES_MAX: usize = 512 * 1024 * 1024;

/// Longest fault text or HTTP error body quoted to the user, in characters.
const QUOTED_CHARS_MAX: usize = 2_000;

/// Which endpoint of the service a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Registry,
    Repository,
}

impl Endpoint {
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Registry => "/xds/registry",
            Endpoint::Repository => "/xds/repository",
        }
    }

    /// The endpoint that serves a request action (INTERFACE.md "SOAP endpoints").
    pub fn for_action(request_action: &str) -> Endpoint {
        match request_action {
            action::PROVIDE_AND_REGISTER | action::RETRIEVE => Endpoint::Repository,
            _ => Endpoint::Registry,
        }
    }
}

/// A SOAP 1.2 fault as the service sent it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct FaultInfo {
    /// `soap:Code/soap:Value`, e.g. `soap:Sender`.
    pub code: String,
    /// `soap:Subcode/soap:Value`, e.g. `wsse:FailedAuthentication`.
    pub subcode: Option<String>,
    pub reason: String,
    pub http_status: u16,
}

impl std::fmt::Display for FaultInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SOAP fault {}", self.code)?;
        if let Some(subcode) = &self.subcode {
            write!(f, " / {subcode}")?;
        }
        write!(f, " (HTTP {}): {}", self.http_status, self.reason)
    }
}

/// Why a request got no ebRS answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "cannot reach the service at {url}: {detail} (is `dds serve` running there? --url names it)"
    )]
    Unreachable { url: String, detail: String },
    #[error("the service refused the request with a {0}")]
    Fault(FaultInfo),
    #[error("the service answered HTTP {status} without a SOAP answer: {body}")]
    Http { status: u16, body: String },
    #[error("the answer is larger than {limit} bytes; nothing was read past it")]
    AnswerTooLarge { limit: usize },
    #[error("the answer cannot be read: {0}")]
    BadAnswer(String),
    #[error("cannot build the request: {0}")]
    Request(String),
}

/// One MTOM attachment of a request.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub content_id: ContentId,
    pub mime_type: String,
    pub bytes: Vec<u8>,
}

/// How a request body is framed.
#[derive(Debug, Clone)]
pub enum Framing {
    /// `application/soap+xml`: documents, if any, inline as base64.
    Plain,
    /// `multipart/related` MTOM/XOP with these attachments (possibly none: an MTOM request asks
    /// the repository for an MTOM answer, streamed).
    Mtom(Vec<Attachment>),
}

/// A prepared HTTP request body with its Content-Type.
#[derive(Debug, Clone)]
pub struct Framed {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// Talks to one service with one ID card.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    card: String,
}

impl Client {
    /// `base` is the service's URL without a path, e.g. `http://127.0.0.1:8080`; `card` is a
    /// signed `saml:Assertion`, put into every envelope this client builds.
    pub fn new(base: &str, card: String, timeout: Duration) -> Result<Client, ClientError> {
        let http = crate::http_client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ClientError::Request(e.to_string()))?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_owned(),
            card,
        })
    }

    pub fn url(&self, endpoint: Endpoint) -> String {
        format!("{}{}", self.base, endpoint.path())
    }

    /// The `wsse:Security` header carrying this client's card, created now.
    pub fn security_header(&self) -> String {
        identity::security_header(&self.card, OffsetDateTime::now_utc())
    }

    /// A request envelope around `body` (an ebRS element from `xds-model`'s `to_xml`).
    pub fn envelope(&self, endpoint: Endpoint, request_action: &str, body: &str) -> String {
        request_envelope(
            request_action,
            &self.url(endpoint),
            &self.security_header(),
            body,
        )
    }

    /// Frames an envelope plainly or as MTOM.
    pub fn frame(
        request_action: &str,
        envelope: &str,
        framing: Framing,
    ) -> Result<Framed, ClientError> {
        match framing {
            Framing::Plain => Ok(Framed {
                content_type: format!(
                    "application/soap+xml; charset=UTF-8; action=\"{request_action}\""
                ),
                body: envelope.as_bytes().to_vec(),
            }),
            Framing::Mtom(attachments) => {
                let writer = MtomWriter::from_id(&uuid::Uuid::new_v4().to_string())
                    .map_err(|e| ClientError::Request(e.to_string()))?;
                let content_type = writer
                    .content_type(request_action)
                    .map_err(|e| ClientError::Request(e.to_string()))?;
                let mut body = writer
                    .head(envelope.as_bytes())
                    .map_err(|e| ClientError::Request(e.to_string()))?;
                for attachment in attachments {
                    let head = writer
                        .attachment_head(&attachment.content_id, &attachment.mime_type)
                        .map_err(|e| ClientError::Request(e.to_string()))?;
                    body.extend_from_slice(&head);
                    body.extend_from_slice(&attachment.bytes);
                }
                body.extend_from_slice(&writer.tail());
                Ok(Framed { content_type, body })
            }
        }
    }

    /// Sends a framed request and returns the raw HTTP response (for streaming readers).
    pub async fn send(
        &self,
        endpoint: Endpoint,
        framed: Framed,
    ) -> Result<reqwest::Response, ClientError> {
        let url = self.url(endpoint);
        self.http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, framed.content_type)
            .body(framed.body)
            .send()
            .await
            .map_err(|e| ClientError::Unreachable {
                url,
                detail: root_cause(&e),
            })
    }

    /// Sends a request and reads its whole answer into a typed message (a fault is an error).
    pub async fn call(&self, endpoint: Endpoint, framed: Framed) -> Result<Message, ClientError> {
        let response = self.send(endpoint, framed).await?;
        read_answer(response).await
    }
}

/// Reads a whole answer (plain SOAP, or MTOM with its attachments resolved inline) into a
/// typed message; a SOAP fault becomes [`ClientError::Fault`].
pub async fn read_answer(response: reqwest::Response) -> Result<Message, ClientError> {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = read_limited(response, ANSWER_BYTES_MAX).await?;
    let Some(content_type) = content_type else {
        return Err(http_error(status, &body));
    };
    let root = match ContentType::parse(&content_type) {
        Ok(ContentType::Soap(_)) => body,
        Ok(ContentType::Multipart(related)) => {
            let (root, attachments) = split_mtom(&related, &body)?;
            let message = parse_answer(&root, status)?;
            return Ok(resolve_includes(message, attachments));
        }
        Err(_) => return Err(http_error(status, &body)),
    };
    parse_answer(&root, status)
}

/// Parses an answer envelope: its body as an ebRS message, or its fault.
pub fn parse_answer(envelope: &[u8], http_status: u16) -> Result<Message, ClientError> {
    let options = answer_envelope_options();
    let parsed = soap::parse_envelope(envelope, &options).map_err(|e| {
        if http_status >= 400 {
            http_error(http_status, envelope)
        } else {
            ClientError::BadAnswer(format!("not a SOAP 1.2 envelope: {e}"))
        }
    })?;
    if parsed.body.namespace == soap::ns::SOAP12 && parsed.body.local_name == "Fault" {
        return Err(ClientError::Fault(read_fault(
            parsed.body.bytes(),
            http_status,
        )));
    }
    let inherited: Vec<(Option<&str>, &str)> = parsed
        .body
        .namespaces
        .iter()
        .map(|b| (b.prefix.as_deref(), b.uri.as_str()))
        .collect();
    xds_model::message::parse_message_in_scope(parsed.body.bytes(), &inherited, answer_xml_limits())
        .map_err(|e| ClientError::BadAnswer(format!("the SOAP body is not an ebRS answer: {e}")))
}

/// Envelope limits for answers: as large as [`ANSWER_BYTES_MAX`], any header understood
/// (a client does not process `mustUnderstand` headers of an answer).
pub fn answer_envelope_options() -> EnvelopeOptions<'static> {
    EnvelopeOptions {
        limits: EnvelopeLimits {
            xml: answer_xml_limits(),
            envelope_bytes_max: ANSWER_BYTES_MAX,
            body_text_bytes_max: ANSWER_BYTES_MAX,
            ..EnvelopeLimits::default()
        },
        ..EnvelopeOptions::default()
    }
}

fn answer_xml_limits() -> XmlLimits {
    XmlLimits {
        // A LeafClass answer at the registry's result limit has a few hundred thousand
        // elements; the default bound (2 million) holds, a larger text node does not: an inline
        // document is one base64 text node.
        text_bytes_max: ANSWER_BYTES_MAX,
        ..XmlLimits::default()
    }
}

/// Reads `soap:Code`, `soap:Subcode` and `soap:Reason` of a fault element.
pub fn read_fault(fault_xml: &[u8], http_status: u16) -> FaultInfo {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(fault_xml);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut fault = FaultInfo {
        http_status,
        ..FaultInfo::default()
    };
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) => {
                path.push(start.local_name().as_ref().to_owned());
                text.clear();
            }
            Ok(Event::Text(t)) => text.push_str(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) => push_reference(&mut text, &r),
            Ok(Event::End(_)) => {
                let value = text.trim();
                let names: Vec<&str> = path.iter().map(String::as_str).collect();
                if !value.is_empty() {
                    match names.as_slice() {
                        [.., "Code", "Value"] if fault.code.is_empty() => {
                            fault.code = value.to_owned();
                        }
                        [.., "Subcode", "Value"] if fault.subcode.is_none() => {
                            fault.subcode = Some(value.to_owned());
                        }
                        [.., "Reason", "Text"] if fault.reason.is_empty() => {
                            fault.reason = quote(value);
                        }
                        _ => {}
                    }
                }
                text.clear();
                path.pop();
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    fault
}

/// Appends what a character or predefined entity reference stands for (quick-xml reports
/// them apart from the text around them); other references are dropped.
pub fn push_reference(text: &mut String, reference: &quick_xml::events::BytesRef<'_>) {
    match reference.resolve_char_ref() {
        Ok(Some(c)) => text.push(c),
        _ => {
            if let Some(s) = quick_xml::escape::resolve_predefined_entity(reference) {
                text.push_str(s);
            }
        }
    }
}

/// Streams the response body into memory, refusing more than `limit` bytes.
pub async fn read_limited(
    response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, ClientError> {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ClientError::BadAnswer(error_chain(&e)))?;
        if body.len() + chunk.len() > limit {
            return Err(ClientError::AnswerTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn http_error(status: u16, body: &[u8]) -> ClientError {
    ClientError::Http {
        status,
        body: quote(String::from_utf8_lossy(body).trim()),
    }
}

/// At most [`QUOTED_CHARS_MAX`] characters of a text from the service.
fn quote(text: &str) -> String {
    if text.chars().count() <= QUOTED_CHARS_MAX {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(QUOTED_CHARS_MAX).collect();
    cut.push('…');
    cut
}

/// What made a request fail, in the user's terms: a timeout as such, otherwise the innermost
/// cause (for a failed connection, what the operating system said: "Connection refused"),
/// without the layers reqwest and hyper wrap around it.
pub fn root_cause(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "no answer in time (see --timeout)".to_owned();
    }
    let mut cause: &dyn std::error::Error = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// An error with its sources, which is where reqwest says what actually failed.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// One attachment part of an MTOM message read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub content_id: ContentId,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// The root part and the attachments of a whole MTOM message.
pub fn split_mtom(
    related: &soap::MultipartRelated<'_>,
    body: &[u8],
) -> Result<(Vec<u8>, Vec<Part>), ClientError> {
    use soap::{Event, MultipartLimits, MultipartReader};
    let bad = |e: &dyn std::fmt::Display| ClientError::BadAnswer(format!("MTOM framing: {e}"));
    let limits = MultipartLimits {
        root_part_bytes_max: ANSWER_BYTES_MAX as u64,
        attachment_bytes_max: ANSWER_BYTES_MAX as u64,
        ..MultipartLimits::default()
    };
    let mut reader = MultipartReader::new(&related.boundary, related.start.clone(), limits)
        .map_err(|e| bad(&e))?;
    let mut root: Option<Vec<u8>> = None;
    let mut attachments = Vec::new();
    enum Current {
        Root(Vec<u8>),
        Attachment(Part),
        Unnamed,
    }
    let mut current: Option<Current> = None;
    {
        let mut feed = reader.feed(body);
        while let Some(event) = feed.next_event().map_err(|e| bad(&e))? {
            match event {
                Event::PartStart(start) => {
                    current = Some(match (start.is_root, start.headers.content_id) {
                        (true, _) => Current::Root(Vec::new()),
                        (false, Some(content_id)) => Current::Attachment(Part {
                            content_id,
                            content_type: start.headers.content_type,
                            bytes: Vec::new(),
                        }),
                        // An attachment nobody can refer to.
                        (false, None) => Current::Unnamed,
                    });
                }
                Event::PartData(bytes) => match current.as_mut() {
                    Some(Current::Root(data)) => data.extend_from_slice(bytes),
                    Some(Current::Attachment(part)) => part.bytes.extend_from_slice(bytes),
                    _ => {}
                },
                Event::PartEnd => match current.take() {
                    Some(Current::Root(data)) => root = Some(data),
                    Some(Current::Attachment(part)) => attachments.push(part),
                    _ => {}
                },
                Event::End => {}
            }
        }
    }
    reader.finish().map_err(|e| bad(&e))?;
    let root =
        root.ok_or_else(|| ClientError::BadAnswer("MTOM answer without a root part".into()))?;
    Ok((root, attachments))
}

/// Replaces every `xop:Include` of a retrieve answer by the bytes of the part it names.
fn resolve_includes(message: Message, attachments: Vec<Part>) -> Message {
    use xds_model::message::DocumentContent;
    let Message::RetrieveDocumentSetResponse(mut response) = message else {
        return message;
    };
    let mut parts: std::collections::HashMap<ContentId, Vec<u8>> = attachments
        .into_iter()
        .map(|p| (p.content_id, p.bytes))
        .collect();
    for document in &mut response.document_responses {
        if let DocumentContent::Include { href } = &document.document
            && let Ok(id) = ContentId::from_cid_url(href)
            && let Some(bytes) = parts.remove(&id)
        {
            document.document = DocumentContent::Inline(bytes);
        }
    }
    Message::RetrieveDocumentSetResponse(response)
}

/// A SOAP 1.2 request envelope with WS-Addressing (Action, MessageID, ReplyTo anonymous, To)
/// and the security header first.
pub fn request_envelope(request_action: &str, to: &str, security: &str, body: &str) -> String {
    format!(
        "<soap:Envelope xmlns:soap=\"{soap}\" xmlns:wsa=\"{wsa}\"><soap:Header>{security}\
         <wsa:Action soap:mustUnderstand=\"true\">{action}</wsa:Action>\
         <wsa:MessageID>urn:uuid:{id}</wsa:MessageID>\
         <wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address></wsa:ReplyTo>\
         <wsa:To soap:mustUnderstand=\"true\">{to}</wsa:To></soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>",
        soap = soap::ns::SOAP12,
        wsa = soap::ns::WSA,
        action = escape(request_action),
        id = uuid::Uuid::new_v4(),
        to = escape(to),
    )
}

/// Escapes text for XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_fields_are_read() {
        let fault = br#"<soap:Fault xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Code><soap:Value>soap:Sender</soap:Value><soap:Subcode><soap:Value xmlns:wsse="x">wsse:FailedAuthentication</soap:Value></soap:Subcode></soap:Code><soap:Reason><soap:Text xml:lang="en">The card&apos;s signature does not verify.</soap:Text></soap:Reason></soap:Fault>"#;
        let info = read_fault(fault, 400);
        assert_eq!(info.code, "soap:Sender");
        assert_eq!(info.subcode.as_deref(), Some("wsse:FailedAuthentication"));
        assert_eq!(info.reason, "The card's signature does not verify.");
        assert_eq!(
            info.to_string(),
            "SOAP fault soap:Sender / wsse:FailedAuthentication (HTTP 400): The card's signature does not verify."
        );
    }

    #[test]
    fn request_envelope_parses_with_its_addressing() {
        let envelope = request_envelope(
            action::REGISTRY_STORED_QUERY,
            "http://h/xds/registry?a=1&b=2",
            "",
            "<x:y xmlns:x=\"urn:x\"/>",
        );
        let parsed = soap::parse_envelope(envelope.as_bytes(), &EnvelopeOptions::default())
            .expect("our own envelope parses");
        assert_eq!(
            parsed.addressing.action.as_deref(),
            Some(action::REGISTRY_STORED_QUERY)
        );
        assert_eq!(
            parsed.addressing.to.as_deref(),
            Some("http://h/xds/registry?a=1&b=2")
        );
        assert!(parsed.addressing.message_id.is_some());
    }

    #[test]
    fn long_texts_are_cut() {
        let long = "x".repeat(QUOTED_CHARS_MAX + 10);
        assert_eq!(quote(&long).chars().count(), QUOTED_CHARS_MAX + 1);
    }
}
