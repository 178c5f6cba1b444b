//! One large document: stored with ITI-41 and retrieved with ITI-43 over MTOM, both streamed,
//! while a thread samples the process's resident memory; then the raw read + SHA-1 of the
//! stored file, the limit of the retrieval.
//!
//! The client side holds no copy of the document: the upload is generated chunk by chunk and
//! the answer is hashed as it arrives, so the memory growth measured is the service's (the
//! service runs in this process). The retrieved bytes must hash to what was stored, or the
//! retrieval counts as failed.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use futures_util::StreamExt;
use serde::Serialize;
use sha1::{Digest, Sha1};
use soap::{ContentId, ContentType, Event, MtomWriter, MultipartLimits, MultipartReader};
use xds_model::message::{DocumentRequest, RetrieveDocumentSetRequest};
use xds_model::vocabulary::action;

use super::report::{RssSampler, rss_bytes};
use super::store::LargeDocument;
use super::workload::Ctx;
use crate::app::App;
use crate::cli::client::{Client, Framing, request_envelope};
use crate::cli::metadata::{self, SubmissionMetadata};
use crate::cli::synthetic::Generator;

/// Bytes per generated upload chunk.
const CHUNK_BYTES: usize = 1024 * 1024;
/// Bytes of the root part (the SOAP envelope) of the answer read at most.
const ROOT_PART_BYTES_MAX: u64 = 1024 * 1024;
/// Times the raw read + SHA-1 is repeated (the best is kept: the limit).
const RAW_READS: usize = 3;

#[derive(Debug, Clone, Serialize)]
pub struct LargeReport {
    pub bytes: u64,
    /// Whether this run stored it (else an earlier run did, and it is only retrieved).
    pub stored_now: bool,
    pub upload_seconds: Option<f64>,
    pub upload_mb_per_second: Option<f64>,
    pub retrieve_seconds: f64,
    pub retrieve_mb_per_second: f64,
    /// Resident memory of this process just before the retrieval.
    pub rss_bytes_before_retrieve: Option<u64>,
    /// Highest resident memory sampled during the retrieval, minus the value before.
    pub rss_growth_bytes_retrieve: Option<u64>,
    /// The same for the upload (ITI-41 streams to a temporary file).
    pub rss_growth_bytes_upload: Option<u64>,
    /// Whether the retrieved bytes hash to the stored SHA-1.
    pub sha1_matches: bool,
    pub raw_read_sha1_seconds: f64,
    pub raw_read_sha1_mb_per_second: f64,
    /// `retrieve_mb_per_second / raw_read_sha1_mb_per_second`.
    pub retrieve_ratio_to_raw: f64,
}

/// Megabytes (10^6 bytes) per second.
fn mb_per_second(bytes: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        bytes as f64 / 1e6 / seconds
    } else {
        0.0
    }
}

pub async fn run(ctx: &Arc<Ctx>, app: &Arc<App>, bytes: u64) -> anyhow::Result<LargeReport> {
    let data = &app.config.data;
    let (document, upload) = match super::store::large_document(data, bytes)? {
        Some(document) => (document, None),
        None => {
            let (document, upload) = upload(ctx, bytes).await?;
            super::store::remember_large_document(data, document.clone())?;
            (document, Some(upload))
        }
    };
    let sha1 = document.sha1.clone();
    let unique_id = document.unique_id.clone();
    let card = ctx.cards.doctors[0].clone();
    let retrieve = RetrieveDocumentSetRequest {
        document_requests: vec![DocumentRequest {
            home_community_id: None,
            repository_unique_id: ctx.repository_unique_id.clone(),
            document_unique_id: unique_id,
        }],
    };
    let envelope = request_envelope(
        action::RETRIEVE,
        &ctx.repository_url,
        &identity::security_header(&card, time::OffsetDateTime::now_utc()),
        &retrieve.to_xml(),
    );
    let framed = Client::frame(action::RETRIEVE, &envelope, Framing::Mtom(Vec::new()))?;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let rss_before_retrieve = rss_bytes();
    let sampler = RssSampler::start();
    let retrieving = Instant::now();
    let (retrieved_bytes, retrieved_sha1) = retrieve_streamed(ctx, framed).await?;
    let retrieve_seconds = retrieving.elapsed().as_secs_f64();
    let rss_peak_retrieve = sampler.stop().await;
    let sha1_matches = retrieved_bytes == bytes && retrieved_sha1 == sha1;
    if !sha1_matches {
        bail!(
            "the large document came back as {retrieved_bytes} bytes with SHA-1 {retrieved_sha1}, stored as {bytes} bytes with SHA-1 {sha1}"
        );
    }

    let store =
        repository::LocalDocumentStore::open(&app.config.data, app.config.document_bytes_max)
            .context("cannot open the document store")?;
    let path = store.path_of(&repository::Sha1Hex::parse(&sha1)?);
    let mut raw_seconds = f64::INFINITY;
    for _ in 0..RAW_READS {
        let path = path.clone();
        let seconds = tokio::task::spawn_blocking(move || -> anyhow::Result<f64> {
            use std::io::Read;
            let started = Instant::now();
            let mut file = std::fs::File::open(&path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let mut hasher = Sha1::new();
            let mut buffer = vec![0u8; 256 * 1024];
            loop {
                let read = file.read(&mut buffer)?;
                if read == 0 {
                    break;
                }
                hasher.update(&buffer[..read]);
            }
            let _ = hasher.finalize();
            Ok(started.elapsed().as_secs_f64())
        })
        .await??;
        raw_seconds = raw_seconds.min(seconds);
    }
    let growth = |peak: Option<u64>, before: Option<u64>| match (peak, before) {
        (Some(peak), Some(before)) => Some(peak.saturating_sub(before)),
        _ => None,
    };
    let retrieve_rate = mb_per_second(bytes, retrieve_seconds);
    let raw_rate = mb_per_second(bytes, raw_seconds);
    Ok(LargeReport {
        bytes,
        stored_now: upload.is_some(),
        upload_seconds: upload.as_ref().map(|u| u.seconds),
        upload_mb_per_second: upload.as_ref().map(|u| mb_per_second(bytes, u.seconds)),
        retrieve_seconds,
        retrieve_mb_per_second: retrieve_rate,
        rss_bytes_before_retrieve: rss_before_retrieve,
        rss_growth_bytes_retrieve: growth(rss_peak_retrieve, rss_before_retrieve),
        rss_growth_bytes_upload: upload.as_ref().and_then(|u| u.rss_growth_bytes),
        sha1_matches,
        raw_read_sha1_seconds: raw_seconds,
        raw_read_sha1_mb_per_second: raw_rate,
        retrieve_ratio_to_raw: if raw_rate > 0.0 {
            retrieve_rate / raw_rate
        } else {
            0.0
        },
    })
}

/// How the upload went.
struct Upload {
    seconds: f64,
    rss_growth_bytes: Option<u64>,
}

/// Stores a new large document with one streamed ITI-41.
async fn upload(ctx: &Ctx, bytes: u64) -> anyhow::Result<(LargeDocument, Upload)> {
    let mut generator = Generator::new(uuid::Uuid::new_v4().as_u128() as u64);
    let patient = generator.patient();
    let appointment = generator.appointment();
    let description = crate::cli::seed::document_metadata(&patient, &appointment);
    let unique_id = description.unique_id.clone();
    let head = crate::cli::cda::appointment_document(&patient, &appointment).into_bytes();
    let document = Padded::new(head, bytes);
    let sha1 = document.sha1();

    let set = SubmissionMetadata::now(&description.title, description.type_code.clone());
    let content_id = ContentId::new(&format!("large.{}@dds-bench", uuid::Uuid::new_v4()))
        .context("cannot name the MTOM part")?;
    let request = metadata::provide_and_register(
        &set,
        std::slice::from_ref(&description),
        std::slice::from_ref(&content_id),
    );
    let envelope = request_envelope(
        action::PROVIDE_AND_REGISTER,
        &ctx.repository_url,
        &identity::security_header(&ctx.cards.system, time::OffsetDateTime::now_utc()),
        &request.to_xml(),
    );
    let writer = MtomWriter::from_id(&uuid::Uuid::new_v4().to_string())?;
    let content_type = writer.content_type(action::PROVIDE_AND_REGISTER)?;
    let mut opening = writer.head(envelope.as_bytes())?;
    opening.extend(writer.attachment_head(&content_id, &description.mime_type)?);
    let closing = writer.tail();
    let chunks = std::iter::once(opening)
        .chain(document.chunks())
        .chain(std::iter::once(closing))
        .map(Ok::<_, std::io::Error>);
    let rss_before = rss_bytes();
    let sampler = RssSampler::start();
    let uploading = Instant::now();
    let response = ctx
        .http
        .post(&ctx.repository_url)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .context("the large ITI-41 was not answered")?;
    let status = response.status().as_u16();
    let answer = response
        .bytes()
        .await
        .context("the large ITI-41 answer broke off")?;
    let seconds = uploading.elapsed().as_secs_f64();
    let rss_peak = sampler.stop().await;
    if status != 200 || memchr::memmem::find(&answer, b"ResponseStatusType:Success\"").is_none() {
        bail!(
            "the large ITI-41 failed: HTTP {status}: {}",
            String::from_utf8_lossy(&answer[..answer.len().min(600)])
        );
    }
    Ok((
        LargeDocument {
            bytes,
            unique_id,
            sha1,
        },
        Upload {
            seconds,
            rss_growth_bytes: match (rss_peak, rss_before) {
                (Some(peak), Some(before)) => Some(peak.saturating_sub(before)),
                _ => None,
            },
        },
    ))
}

/// Sends an ITI-43 and hashes the one attachment of its MTOM answer as it arrives; returns its
/// size and SHA-1 (hex).
async fn retrieve_streamed(
    ctx: &Ctx,
    framed: crate::cli::client::Framed,
) -> anyhow::Result<(u64, String)> {
    let response = ctx
        .http
        .post(&ctx.repository_url)
        .header(reqwest::header::CONTENT_TYPE, framed.content_type)
        .body(framed.body)
        .send()
        .await
        .context("the large ITI-43 was not answered")?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_default();
    let Ok(ContentType::Multipart(related)) = ContentType::parse(&content_type) else {
        let body = response.bytes().await.unwrap_or_default();
        bail!(
            "the large ITI-43 was answered HTTP {status} without MTOM: {}",
            String::from_utf8_lossy(&body[..body.len().min(600)])
        );
    };
    let limits = MultipartLimits {
        root_part_bytes_max: ROOT_PART_BYTES_MAX,
        attachment_bytes_max: u64::MAX,
        ..MultipartLimits::default()
    };
    let mut reader = MultipartReader::new(&related.boundary, related.start.clone(), limits)
        .context("the MTOM answer's framing")?;
    let mut root = Vec::new();
    let mut in_root = false;
    let mut hasher = Sha1::new();
    let mut size = 0u64;
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.context("the large ITI-43 answer broke off")?;
        let mut feed = reader.feed(&chunk);
        while let Some(event) = feed.next_event().context("the MTOM answer's framing")? {
            match event {
                Event::PartStart(start) => in_root = start.is_root,
                Event::PartData(bytes) if in_root => root.extend_from_slice(bytes),
                Event::PartData(bytes) => {
                    hasher.update(bytes);
                    size += bytes.len() as u64;
                }
                Event::PartEnd | Event::End => {}
            }
        }
    }
    reader.finish().context("the MTOM answer's framing")?;
    if memchr::memmem::find(&root, b"ResponseStatusType:Success\"").is_none() {
        bail!(
            "the large ITI-43 did not succeed: {}",
            String::from_utf8_lossy(&root[..root.len().min(600)])
        );
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// A synthetic XML document of an exact size: the appointment document, then a comment of
/// filler up to the size. Generated chunk by chunk, never held whole.
struct Padded {
    head: Vec<u8>,
    filler: u64,
}

impl Padded {
    const OPEN: &'static [u8] = b"\n<!--";
    const CLOSE: &'static [u8] = b"-->";

    fn new(head: Vec<u8>, bytes: u64) -> Padded {
        let wrapping = (Self::OPEN.len() + Self::CLOSE.len()) as u64;
        let filler = bytes.saturating_sub(head.len() as u64 + wrapping);
        Padded { head, filler }
    }

    fn chunks(&self) -> impl Iterator<Item = Vec<u8>> + use<> {
        let mut opening = self.head.clone();
        opening.extend_from_slice(Self::OPEN);
        let filler = self.filler;
        let full = filler / CHUNK_BYTES as u64;
        let rest = (filler % CHUNK_BYTES as u64) as usize;
        std::iter::once(opening)
            .chain((0..full).map(|_| vec![b'x'; CHUNK_BYTES]))
            .chain(std::iter::once(vec![b'x'; rest]))
            .chain(std::iter::once(Self::CLOSE.to_vec()))
    }

    fn sha1(&self) -> String {
        let mut hasher = Sha1::new();
        for chunk in self.chunks() {
            hasher.update(&chunk);
        }
        hex::encode(hasher.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_documents_have_the_exact_size() {
        for size in [2_000u64, 3 * 1024 * 1024 + 17] {
            let padded = Padded::new(b"<a/>".to_vec(), size);
            let total: u64 = padded.chunks().map(|c| c.len() as u64).sum();
            assert_eq!(total, size);
        }
    }
}
