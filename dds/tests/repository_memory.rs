//! The memory bound of the repository: a 100 MB document stored over MTOM ITI-41 and
//! retrieved over MTOM ITI-43 grows the server's resident memory (peak, `VmHWM`) by less than
//! 64 MB. The server runs as a child process so that its memory is its own; the test streams
//! the request from a generator and hashes the response as it streams, buffering neither.

mod support;

use std::path::{Path, PathBuf};

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use identity::{CardRequest, DevSts, Role};
use sha1::{Digest, Sha1};
use soap::{ContentId, ContentType, Event, MtomWriter, MultipartLimits, MultipartReader};
use support::served::Served;
use time::OffsetDateTime;
use xds_model::message::{DocumentContent, RetrieveDocumentSetResponse};

const REPOSITORY_UNIQUE_ID: &str = "1.2.208.176.43210.8.10.11";
const EKKO_UNIQUE_ID: &str = "2.25.297860445735985469057769323429578268365";
const SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";
const DOCUMENT_BYTES: u64 = 100 * 1024 * 1024;
const CHUNK_BYTES: usize = 64 * 1024;
const GROWTH_MAX_KB: u64 = 64 * 1024;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples")
}

fn card(sts: &DevSts, role: Role) -> String {
    let mut request = CardRequest::new(role);
    match role {
        Role::System => {
            request.org_cvr = Some("33257872".into());
            request.it_system = Some("EPJ Test".into());
        }
        _ => {
            request.cpr = Some("0804569723".into());
            request.org_sor = Some("328081000016004".into());
        }
    }
    sts.issue(&request).unwrap()
}

fn with_card(envelope: &str, card: &str) -> String {
    let header = identity::security_header(card, OffsetDateTime::now_utc());
    envelope.replacen("<soap:Header>", &format!("<soap:Header>{header}"), 1)
}

/// Chunk `index` of the generated document (xorshift bytes, so nothing compresses or repeats).
fn generated_chunk(index: u64, len: usize) -> Vec<u8> {
    let mut state =
        0x9e37_79b9_7f4a_7c15 ^ (index.wrapping_add(1)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let mut chunk = Vec::with_capacity(len + 8);
    while chunk.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.extend_from_slice(&state.to_le_bytes());
    }
    chunk.truncate(len);
    chunk
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_megabytes_in_and_out_grow_the_server_by_less_than_64_mb() {
    let data = tempfile::tempdir().unwrap();
    let documents = data.path().join("documents/sha1");
    measure(data.path(), &documents).await;
}

/// The same with the document in a bucket (an S3 API server in this process): the upload goes
/// in parts and the retrieval streams from the bucket, neither whole in the server's memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_megabytes_through_object_storage_grow_the_server_by_less_than_64_mb() {
    let s3 = support::s3::S3Server::start().await;
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("dds.toml"), s3.object_store_toml("memory")).unwrap();
    let documents = s3.root.path().join(support::s3::BUCKET).join("memory/sha1");
    measure(data.path(), &documents).await;
}

/// Stores and retrieves the document through a `dds serve` on `data` (with its `dds.toml`) and
/// checks the peak growth; `documents` is where the stored bytes land as `ab/cd/<sha1>`.
async fn measure(data: &Path, documents: &Path) {
    let began = Instant::now();
    let server = Served::start(data);
    let sts = DevSts::open_or_create(data).unwrap();
    let http = dds::http_client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();

    // Warm up (a small retrieve: card check, stores, runtime), then measure the baseline.
    let doctor = card(&sts, Role::Doctor);
    let retrieve = with_card(
        &format!(
            r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing">
<soap:Header><wsa:Action>urn:ihe:iti:2007:RetrieveDocumentSet</wsa:Action><wsa:MessageID>urn:uuid:0b0c5f3e-1111-4222-8333-944455556666</wsa:MessageID></soap:Header>
<soap:Body><xdsb:RetrieveDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007"><xdsb:DocumentRequest><xdsb:RepositoryUniqueId>{REPOSITORY_UNIQUE_ID}</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>{EKKO_UNIQUE_ID}</xdsb:DocumentUniqueId></xdsb:DocumentRequest></xdsb:RetrieveDocumentSetRequest></soap:Body></soap:Envelope>"#
        ),
        &doctor,
    );
    let warm = http
        .post(format!("{}/xds/repository", server.base))
        .header("content-type", "application/soap+xml; charset=UTF-8")
        .body(retrieve.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(warm.status().as_u16(), 200);
    let _ = warm.bytes().await.unwrap();
    let rss_before = server.status_kb("VmRSS");
    let hwm_before = server.status_kb("VmHWM");

    // ITI-41 over MTOM: the root part from the inline sample with an xop:Include, then the
    // generated 100 MB attachment, streamed.
    let system = card(&sts, Role::System);
    let template = std::fs::read_to_string(samples().join("iti-41/pnr-single-apd.xml")).unwrap();
    let open = "<xdsb:Document id=\"Document01\">";
    let start = template.find(open).unwrap() + open.len();
    let end = template[start..].find("</xdsb:Document>").unwrap() + start;
    let attachment = ContentId::new("doc.big@dds-test").unwrap();
    let root = format!(
        "{}<xop:Include xmlns:xop=\"http://www.w3.org/2004/08/xop/include\" href=\"cid:doc.big@dds-test\"/>{}",
        &template[..start],
        &template[end..]
    );
    let root = with_card(&root, &system);
    let writer = MtomWriter::from_id("memory-test").unwrap();
    let content_type = writer
        .content_type("urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b")
        .unwrap();
    let mut head = writer.head(root.as_bytes()).unwrap();
    head.extend(writer.attachment_head(&attachment, "text/xml").unwrap());
    let tail = writer.tail();
    let chunks = DOCUMENT_BYTES.div_ceil(CHUNK_BYTES as u64);
    let sent_hash = Arc::new(Mutex::new(None::<String>));
    let body = {
        let sent_hash = sent_hash.clone();
        let mut hasher = Some(Sha1::new());
        let document = futures_util::stream::iter(0..chunks).map(move |index| {
            let len = (DOCUMENT_BYTES - index * CHUNK_BYTES as u64).min(CHUNK_BYTES as u64);
            let chunk = generated_chunk(index, len as usize);
            let h = hasher.as_mut().unwrap();
            h.update(&chunk);
            if index + 1 == chunks {
                let digest = hasher.take().unwrap().finalize();
                *sent_hash.lock().unwrap() = Some(hex::encode(digest));
            }
            Ok::<_, std::io::Error>(chunk)
        });
        futures_util::stream::iter([Ok(head)])
            .chain(document)
            .chain(futures_util::stream::iter([Ok(tail)]))
    };
    let response = http
        .post(format!("{}/xds/repository", server.base))
        .header("content-type", content_type)
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = String::from_utf8_lossy(&response.bytes().await.unwrap()).into_owned();
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(SUCCESS), "{text}");
    let sent_hash = sent_hash.lock().unwrap().clone().unwrap();
    // The bytes are stored under their content address, whole.
    let stored = documents
        .join(&sent_hash[..2])
        .join(&sent_hash[2..4])
        .join(&sent_hash);
    assert_eq!(std::fs::metadata(&stored).unwrap().len(), DOCUMENT_BYTES);
    let hwm_after_store = server.status_kb("VmHWM");

    // ITI-43 over MTOM: the response is parsed as it streams; the attachment is only hashed.
    let writer = MtomWriter::from_id("memory-retrieve").unwrap();
    let content_type = writer
        .content_type("urn:ihe:iti:2007:RetrieveDocumentSet")
        .unwrap();
    let mut request = writer.head(retrieve.as_bytes()).unwrap();
    request.extend(writer.tail());
    let response = http
        .post(format!("{}/xds/repository", server.base))
        .header("content-type", content_type)
        .body(request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let response_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let ContentType::Multipart(related) = ContentType::parse(&response_type).unwrap() else {
        panic!("not multipart: {response_type}");
    };
    let mut reader = MultipartReader::new(
        &related.boundary,
        related.start.clone(),
        MultipartLimits::default(),
    )
    .unwrap();
    let (mut root, mut in_root) = (Vec::new(), false);
    let mut parts = Vec::<(ContentId, Sha1, u64)>::new();
    let mut stream = response.bytes_stream();
    while let Some(bytes) = stream.next().await {
        let bytes = bytes.unwrap();
        let mut feed = reader.feed(&bytes);
        while let Some(event) = feed.next_event().unwrap() {
            match event {
                Event::PartStart(start) => {
                    in_root = start.is_root;
                    if !in_root {
                        parts.push((start.headers.content_id.unwrap(), Sha1::new(), 0));
                    }
                }
                Event::PartData(data) if in_root => root.extend_from_slice(data),
                Event::PartData(data) => {
                    let part = parts.last_mut().unwrap();
                    part.1.update(data);
                    part.2 += data.len() as u64;
                }
                Event::PartEnd | Event::End => {}
            }
        }
    }
    reader.finish().unwrap();
    let hwm_after_retrieve = server.status_kb("VmHWM");
    let rss_after = server.status_kb("VmRSS");

    let root = String::from_utf8(root).unwrap();
    let start = root.find("<xdsb:RetrieveDocumentSetResponse").unwrap();
    let end_tag = "</xdsb:RetrieveDocumentSetResponse>";
    let end = root.find(end_tag).unwrap() + end_tag.len();
    let answer = RetrieveDocumentSetResponse::parse(&root.as_bytes()[start..end]).unwrap();
    assert_eq!(answer.registry_response.status, SUCCESS);
    assert_eq!(answer.document_responses.len(), 1);
    let DocumentContent::Include { href } = &answer.document_responses[0].document else {
        panic!("xop:Include expected");
    };
    let id = ContentId::from_cid_url(href).unwrap();
    let (_, hasher, size) = parts.into_iter().find(|(c, _, _)| *c == id).unwrap();
    assert_eq!(size, DOCUMENT_BYTES);
    assert_eq!(hex::encode(hasher.finalize()), sent_hash);

    let growth = hwm_after_retrieve.saturating_sub(rss_before);
    println!(
        "server memory (kB): before VmRSS {rss_before} VmHWM {hwm_before}; after ITI-41 VmHWM \
         {hwm_after_store}; after ITI-43 VmHWM {hwm_after_retrieve} VmRSS {rss_after}; peak \
         growth {growth} kB ({:.1} MB) for a {} MB document, sha1 {sent_hash}, {} ms",
        growth as f64 / 1024.0,
        DOCUMENT_BYTES / (1024 * 1024),
        began.elapsed().as_millis()
    );
    assert!(
        growth < GROWTH_MAX_KB,
        "the server grew by {growth} kB (peak) for a 100 MB document; the bound is {GROWTH_MAX_KB} kB"
    );
}
