//! From an HTTP request body to a SOAP message: plain `application/soap+xml` or MTOM.
//!
//! The body is read chunk by chunk and counted against the endpoint's byte limit as it
//! arrives, so an oversized request is refused (HTTP 413) without being buffered. MTOM bodies
//! go through the streaming [`soap::MultipartReader`]; the root part is kept (bounded by the
//! envelope limit) and each attachment goes to an [`AttachmentSink`] as it streams in.
//!
//! Invariant: nothing here interprets the envelope; it only frames bytes.

use axum::body::Body;
use http_body_util::BodyExt;
use soap::{ContentId, ContentType, Event, MultipartLimits, MultipartReader};

/// Why a request body could not be framed as a SOAP message. All are the sender's fault
/// except [`TransportError::Sink`], which is ours.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("the request body exceeds the limit of {limit} bytes for this endpoint")]
    BodyTooLarge { limit: u64 },
    #[error("the request has no Content-Type header")]
    MissingContentType,
    #[error("Content-Type is not acceptable: {0}")]
    ContentType(#[from] soap::ContentTypeError),
    #[error("the MTOM body is malformed: {0}")]
    Multipart(#[from] soap::MultipartError),
    #[error("the MTOM body has no root part")]
    MissingRootPart,
    #[error("a MIME part has no Content-ID, so no xop:Include can refer to it (part {index})")]
    AttachmentWithoutContentId { index: usize },
    #[error("reading the request body failed: {0}")]
    Read(String),
    #[error("storing an attachment failed: {0}")]
    Sink(String),
}

/// Where attachment bytes go while the body streams in.
pub trait AttachmentSink {
    /// A handle to one received attachment (in memory, or a spooled file).
    type Attachment;
    fn start(
        &mut self,
        content_id: ContentId,
        content_type: Option<String>,
    ) -> Result<(), TransportError>;
    fn write(&mut self, bytes: &[u8]) -> Result<(), TransportError>;
    fn finish(&mut self) -> Result<Self::Attachment, TransportError>;
}

/// Keeps attachments in memory; right for the registry endpoint, where MTOM parts are rare
/// and small (the whole body is bounded by the registry's body limit).
#[derive(Debug, Default)]
pub struct MemorySink {
    current: Option<InMemoryAttachment>,
}

/// An attachment held in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InMemoryAttachment {
    pub content_id: ContentId,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl AttachmentSink for MemorySink {
    type Attachment = InMemoryAttachment;

    fn start(
        &mut self,
        content_id: ContentId,
        content_type: Option<String>,
    ) -> Result<(), TransportError> {
        self.current = Some(InMemoryAttachment {
            content_id,
            content_type,
            bytes: Vec::new(),
        });
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        match &mut self.current {
            Some(attachment) => {
                attachment.bytes.extend_from_slice(bytes);
                Ok(())
            }
            None => Err(TransportError::Sink("data before part start".to_owned())),
        }
    }

    fn finish(&mut self) -> Result<InMemoryAttachment, TransportError> {
        self.current
            .take()
            .ok_or_else(|| TransportError::Sink("part end without part start".to_owned()))
    }
}

/// A framed SOAP message: the envelope bytes and the attachments that came with it.
#[derive(Debug)]
pub struct SoapMessage<A> {
    /// The SOAP envelope (the whole body, or the MTOM root part).
    pub envelope: Vec<u8>,
    pub attachments: Vec<A>,
    /// The `action` parameter of the Content-Type, used when `wsa:Action` is missing.
    pub content_type_action: Option<String>,
    /// Whether the request was MTOM; the response answers in kind.
    pub mtom: bool,
}

/// Reads and frames the body. `limit` bounds the whole body in bytes.
pub async fn read_soap_message<S: AttachmentSink>(
    content_type: Option<&str>,
    body: Body,
    limit: u64,
    multipart_limits: MultipartLimits,
    sink: &mut S,
) -> Result<SoapMessage<S::Attachment>, TransportError> {
    let content_type = content_type.ok_or(TransportError::MissingContentType)?;
    match ContentType::parse(content_type)? {
        ContentType::Soap(soap) => {
            let action = soap.action.map(|a| a.to_string());
            let envelope = collect(body, limit).await?;
            Ok(SoapMessage {
                envelope,
                attachments: Vec::new(),
                content_type_action: action,
                mtom: false,
            })
        }
        ContentType::Multipart(related) => {
            let action = related.action.map(|a| a.to_string());
            let mut reader =
                MultipartReader::new(&related.boundary, related.start.clone(), multipart_limits)?;
            let mut envelope: Option<Vec<u8>> = None;
            let mut in_root = false;
            let mut attachments = Vec::new();
            let mut received: u64 = 0;
            let mut body = body;
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| TransportError::Read(e.to_string()))?;
                let Ok(chunk) = frame.into_data() else {
                    continue;
                };
                received += chunk.len() as u64;
                if received > limit {
                    return Err(TransportError::BodyTooLarge { limit });
                }
                let mut feed = reader.feed(&chunk);
                while let Some(event) = feed.next_event()? {
                    match event {
                        Event::PartStart(start) if start.is_root => {
                            in_root = true;
                            envelope = Some(Vec::new());
                        }
                        Event::PartStart(start) => {
                            in_root = false;
                            let content_id = start.headers.content_id.ok_or(
                                TransportError::AttachmentWithoutContentId { index: start.index },
                            )?;
                            sink.start(content_id, start.headers.content_type)?;
                        }
                        Event::PartData(bytes) if in_root => {
                            if let Some(root) = envelope.as_mut() {
                                root.extend_from_slice(bytes);
                            }
                        }
                        Event::PartData(bytes) => sink.write(bytes)?,
                        Event::PartEnd if in_root => in_root = false,
                        Event::PartEnd => attachments.push(sink.finish()?),
                        Event::End => {}
                    }
                }
            }
            reader.finish()?;
            Ok(SoapMessage {
                envelope: envelope.ok_or(TransportError::MissingRootPart)?,
                attachments,
                content_type_action: action,
                mtom: true,
            })
        }
    }
}

/// Collects a plain body, refusing it as soon as it passes `limit`.
async fn collect(mut body: Body, limit: u64) -> Result<Vec<u8>, TransportError> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| TransportError::Read(e.to_string()))?;
        if let Ok(chunk) = frame.into_data() {
            if out.len() as u64 + chunk.len() as u64 > limit {
                return Err(TransportError::BodyTooLarge { limit });
            }
            out.extend_from_slice(&chunk);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mtom_body() -> (String, Vec<u8>) {
        let writer = soap::MtomWriter::from_id("test").unwrap();
        let doc_cid = ContentId::new("doc1@example").unwrap();
        let mut body = writer.head(b"<root/>").unwrap();
        body.extend(writer.attachment_head(&doc_cid, "text/xml").unwrap());
        body.extend_from_slice(b"<ClinicalDocument/>");
        body.extend(writer.tail());
        (
            writer
                .content_type("urn:ihe:iti:2007:RetrieveDocumentSet")
                .unwrap(),
            body,
        )
    }

    #[tokio::test]
    async fn mtom_body_yields_root_and_attachment() {
        let (content_type, body) = mtom_body();
        let mut sink = MemorySink::default();
        let message = read_soap_message(
            Some(&content_type),
            Body::from(body),
            1 << 20,
            MultipartLimits::default(),
            &mut sink,
        )
        .await
        .unwrap();
        assert!(message.mtom);
        assert_eq!(message.envelope, b"<root/>");
        assert_eq!(message.attachments.len(), 1);
        assert_eq!(message.attachments[0].bytes, b"<ClinicalDocument/>");
        assert_eq!(
            message.content_type_action.as_deref(),
            Some("urn:ihe:iti:2007:RetrieveDocumentSet")
        );
    }

    #[tokio::test]
    async fn plain_body_over_limit_is_refused() {
        let err = read_soap_message(
            Some("application/soap+xml; charset=UTF-8"),
            Body::from(vec![b'x'; 100]),
            99,
            MultipartLimits::default(),
            &mut MemorySink::default(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, TransportError::BodyTooLarge { limit: 99 }));
    }

    #[tokio::test]
    async fn mtom_body_over_limit_is_refused() {
        let (content_type, body) = mtom_body();
        let limit = body.len() as u64 - 1;
        let err = read_soap_message(
            Some(&content_type),
            Body::from(body),
            limit,
            MultipartLimits::default(),
            &mut MemorySink::default(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, TransportError::BodyTooLarge { .. }));
    }

    #[tokio::test]
    async fn missing_content_type_is_refused() {
        let err = read_soap_message(
            None,
            Body::from("x"),
            10,
            MultipartLimits::default(),
            &mut MemorySink::default(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, TransportError::MissingContentType));
    }
}
