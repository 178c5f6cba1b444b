//! The key property of the MTOM pair: any message built by the writer, fed to the reader split
//! at arbitrary chunk boundaries, yields exactly the parts and bytes that went in.

use proptest::prelude::*;
use soap::{ContentId, ContentType, Event, MtomWriter, MultipartLimits, MultipartReader};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    is_root: bool,
    content_id: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

/// Reads `body` fed as chunks of the given sizes (cycled), through the Content-Type the
/// writer produced.
fn read(content_type: &str, body: &[u8], sizes: &[usize]) -> Vec<Part> {
    let ContentType::Multipart(related) = ContentType::parse(content_type).unwrap() else {
        panic!("writer must produce multipart/related");
    };
    let mut reader =
        MultipartReader::new(&related.boundary, related.start, MultipartLimits::default()).unwrap();
    let mut parts: Vec<Part> = Vec::new();
    let mut ended = false;
    let mut rest = body;
    let mut i = 0;
    while !rest.is_empty() {
        let size = sizes[i % sizes.len()].clamp(1, rest.len());
        i += 1;
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        let mut feed = reader.feed(chunk);
        while let Some(event) = feed.next_event().unwrap() {
            match event {
                Event::PartStart(start) => parts.push(Part {
                    is_root: start.is_root,
                    content_id: start.headers.content_id.map(|c| c.to_string()),
                    content_type: start.headers.content_type,
                    data: Vec::new(),
                }),
                Event::PartData(data) => parts.last_mut().unwrap().data.extend_from_slice(data),
                Event::PartEnd => {}
                Event::End => ended = true,
            }
        }
    }
    reader.finish().unwrap();
    assert!(ended);
    parts
}

fn attachment() -> impl Strategy<Value = (String, Vec<u8>)> {
    (
        prop::sample::select(vec![
            "text/xml",
            "application/pdf",
            "text/plain; charset=UTF-8",
        ]),
        // Bytes rich in CR, LF and dashes, to tempt the delimiter search.
        prop::collection::vec(
            prop_oneof![
                Just(b'\r'),
                Just(b'\n'),
                Just(b'-'),
                Just(b'M'),
                any::<u8>()
            ],
            0..600,
        ),
    )
        .prop_map(|(content_type, data)| (content_type.to_string(), data))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn written_messages_read_back_exactly(
        id in "[A-Za-z0-9-]{1,40}",
        root in prop::collection::vec(any::<u8>(), 0..400),
        attachments in prop::collection::vec(attachment(), 0..4),
        sizes in prop::collection::vec(1usize..80, 1..8),
    ) {
        let writer = MtomWriter::from_id(&id).unwrap();
        let delimiter = format!("--{}", writer.boundary());
        let contains = |data: &[u8]| data.windows(delimiter.len()).any(|w| w == delimiter.as_bytes());
        prop_assume!(!contains(&root));
        prop_assume!(attachments.iter().all(|(_, data)| !contains(data)));

        let mut body = writer.head(&root).unwrap();
        let mut expected = vec![Part {
            is_root: true,
            content_id: Some(writer.root_content_id().to_string()),
            content_type: Some(
                "application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"".into(),
            ),
            data: root.clone(),
        }];
        for (i, (content_type, data)) in attachments.iter().enumerate() {
            let cid = ContentId::new(&format!("doc{i}@dds")).unwrap();
            body.extend(writer.attachment_head(&cid, content_type).unwrap());
            body.extend_from_slice(data);
            expected.push(Part {
                is_root: false,
                content_id: Some(cid.to_string()),
                content_type: Some(content_type.clone()),
                data: data.clone(),
            });
        }
        body.extend(writer.tail());
        let content_type = writer.content_type("urn:ihe:iti:2007:RetrieveDocumentSetResponse").unwrap();

        let whole = read(&content_type, &body, &[body.len()]);
        prop_assert_eq!(&whole, &expected);
        let chunked = read(&content_type, &body, &sizes);
        prop_assert_eq!(&chunked, &expected);
    }
}
