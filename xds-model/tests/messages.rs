//! Wire form of every message type (insta snapshots) and parse → serialize → parse identity.
//!
//! Snapshots show the compact output with a line break inserted between adjacent tags (`><`),
//! which never falls inside a value, so each line is one tag and diffs stay readable.

mod support;

use xds_model::codec::StoredXml;

use xds_model::message::{
    AdhocQuery, AdhocQueryRequest, AdhocQueryResponse, Document, DocumentContent, DocumentRequest,
    DocumentResponse, Message, ProvideAndRegisterDocumentSetRequest, RegistryError,
    RegistryErrorList, RegistryResponse, RemoveObjectsRequest, RequestHeader, ResponseOption,
    RetrieveDocumentSetRequest, RetrieveDocumentSetResponse, ReturnType, parse_message,
};
use xds_model::rim::{Identifiable, ObjectRef, RegistryObject, RegistryObjectList, Slot};
use xds_model::vocabulary::{
    deletion_scope, error_code, response_status, severity, status, stored_query,
};

/// Serializes, snapshots, and checks that the dispatching parser gives the value back.
fn check(name: &str, message: Message) {
    let xml = message.to_xml();
    insta::assert_snapshot!(name, xml.replace("><", ">\n<"));
    let parsed = parse_message(xml.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}\n{xml}"));
    assert_eq!(parsed, message, "{name}: parse(serialize(m)) != m");
    assert_eq!(parsed.to_xml(), xml, "{name}: serialization is not stable");
}

fn query() -> AdhocQuery {
    let mut object = RegistryObject::new(stored_query::FIND_DOCUMENTS);
    object.slots = vec![
        Slot::new(
            "$XDSDocumentEntryPatientId",
            [format!("'{}'", support::patient_id())],
        ),
        Slot::new(
            "$XDSDocumentEntryStatus",
            [format!("('{}')", status::APPROVED)],
        ),
        Slot::new("$XDSDocumentEntryClassCode", ["('001^^1.2.208.184.100.9')"]),
        Slot::new("$XDSDocumentEntryCreationTimeFrom", ["20240101"]),
    ];
    AdhocQuery { object }
}

#[test]
fn iti42_submit_objects_request() {
    let mut m = support::submission(1);
    m.header = RequestHeader {
        id: Some("req-1".into()),
        comment: Some("første indsendelse".into()),
        slots: vec![Slot::new("x-trace", ["abc"])],
    };
    check(
        "iti42_submit_objects_request",
        Message::SubmitObjectsRequest(m),
    );
}

#[test]
fn iti41_provide_and_register_with_both_content_kinds() {
    let mut m = support::provide_and_register(1);
    m.documents.push(Document {
        id: "Document02".into(),
        content: DocumentContent::Inline(b"<ClinicalDocument/>".to_vec()),
    });
    check(
        "iti41_provide_and_register",
        Message::ProvideAndRegisterDocumentSetRequest(m),
    );
}

fn failure() -> RegistryResponse {
    RegistryResponse {
        status: response_status::FAILURE.into(),
        request_id: None,
        slots: Vec::new(),
        errors: Some(RegistryErrorList {
            highest_severity: Some(severity::ERROR.into()),
            errors: vec![
                RegistryError {
                    error_code: error_code::REGISTRY_METADATA_ERROR.into(),
                    code_context: "classCode missing on \"Doc1\" <&>".into(),
                    location: Some("Doc1".into()),
                    severity: Some(severity::ERROR.into()),
                    value: String::new(),
                },
                RegistryError {
                    error_code: error_code::DDS_CONSENT_FILTERED.into(),
                    code_context: "documents withheld".into(),
                    location: None,
                    severity: Some(severity::WARNING.into()),
                    value: "text content".into(),
                },
            ],
        }),
    }
}

#[test]
fn registry_responses() {
    check(
        "registry_response_success",
        Message::RegistryResponse(RegistryResponse {
            status: response_status::SUCCESS.into(),
            ..RegistryResponse::default()
        }),
    );
    check(
        "registry_response_failure",
        Message::RegistryResponse(failure()),
    );
}

#[test]
fn iti18_adhoc_query_request() {
    let m = AdhocQueryRequest {
        response_option: ResponseOption {
            return_type: ReturnType::LeafClass,
            return_composed_objects: true,
        },
        adhoc_query: query(),
        ..AdhocQueryRequest::default()
    };
    check(
        "iti18_adhoc_query_request",
        Message::AdhocQueryRequest(m.clone()),
    );
    // The typed parameter values come out of the parsed message.
    let values = m
        .adhoc_query
        .parameter("$XDSDocumentEntryCreationTimeFrom")
        .unwrap()
        .unwrap();
    assert_eq!(values[0].scalars()[0].as_number(), Some(20240101));
}

#[test]
fn iti18_adhoc_query_responses() {
    let leaf = AdhocQueryResponse {
        response: RegistryResponse {
            status: response_status::SUCCESS.into(),
            ..RegistryResponse::default()
        },
        start_index: Some(0),
        total_result_count: Some(1),
        registry_object_list: RegistryObjectList {
            objects: vec![Identifiable::ExtrinsicObject(
                support::document_entry(0).to_rim(),
            )],
        },
        ..AdhocQueryResponse::default()
    };
    check(
        "iti18_adhoc_query_response_leaf_class",
        Message::AdhocQueryResponse(leaf.clone()),
    );
    // The registry answers from the XML it stored: spliced in, it must give exactly the bytes
    // of the parsed objects, whether or not the stored root declares `rim`.
    let mut spliced = AdhocQueryResponse {
        registry_object_list: RegistryObjectList::default(),
        ..leaf.clone()
    };
    for object in &leaf.registry_object_list.objects {
        let stored = object.to_xml();
        assert!(stored.contains(" xmlns:rim="), "{stored}");
        spliced
            .stored_objects
            .push(StoredXml::new(object.id(), stored).unwrap());
    }
    assert_eq!(spliced.to_xml(), leaf.to_xml());
    let mixed = AdhocQueryResponse {
        registry_object_list: RegistryObjectList {
            objects: leaf.registry_object_list.objects.clone(),
        },
        stored_objects: spliced.stored_objects.clone(),
        ..leaf.clone()
    };
    let both = AdhocQueryResponse::parse(mixed.to_xml().as_bytes()).unwrap();
    assert_eq!(both.registry_object_list.objects.len(), 2);
    assert_eq!(
        StoredXml::new(
            "urn:uuid:someone-else",
            leaf.registry_object_list.objects[0].to_xml()
        )
        .unwrap_err()
        .detail,
        "its root element does not carry that id"
    );
    assert!(StoredXml::new("x", "<not-rim/>".into()).is_err());
    let refs = AdhocQueryResponse {
        response: RegistryResponse {
            status: response_status::PARTIAL_SUCCESS.into(),
            errors: failure().errors,
            ..RegistryResponse::default()
        },
        registry_object_list: RegistryObjectList {
            objects: vec![
                Identifiable::ObjectRef(ObjectRef {
                    id: "urn:uuid:6f1d0a55-0000-4000-8000-000000000000".into(),
                    home: Some("urn:oid:1.2.208.176.8.1".into()),
                    create_replica: None,
                }),
                Identifiable::ObjectRef(ObjectRef {
                    id: "urn:uuid:6f1d0a55-0000-4000-8000-000000000001".into(),
                    ..ObjectRef::default()
                }),
            ],
        },
        ..AdhocQueryResponse::default()
    };
    check(
        "iti18_adhoc_query_response_object_ref",
        Message::AdhocQueryResponse(refs),
    );
}

#[test]
fn iti43_retrieve() {
    let req = RetrieveDocumentSetRequest {
        document_requests: vec![
            DocumentRequest {
                home_community_id: Some("urn:oid:1.2.208.176.8.1".into()),
                repository_unique_id: "1.2.208.176.43210.8.10.11".into(),
                document_unique_id: "1.2.208.176.43210.8.10.11.0".into(),
            },
            DocumentRequest {
                home_community_id: None,
                repository_unique_id: "1.2.208.176.43210.8.10.11".into(),
                document_unique_id: "1.2.208.176.43210.8.10.11.1".into(),
            },
        ],
    };
    check(
        "iti43_retrieve_request",
        Message::RetrieveDocumentSetRequest(req),
    );
    let resp = RetrieveDocumentSetResponse {
        registry_response: RegistryResponse {
            status: response_status::PARTIAL_SUCCESS.into(),
            errors: Some(RegistryErrorList {
                highest_severity: Some(severity::ERROR.into()),
                errors: vec![RegistryError {
                    error_code: error_code::DDS_CONSENT_BLOCKED.into(),
                    code_context: "withheld by the citizen's consent".into(),
                    location: Some("1.2.208.176.43210.8.10.11.1".into()),
                    severity: Some(severity::ERROR.into()),
                    value: String::new(),
                }],
            }),
            ..RegistryResponse::default()
        },
        document_responses: vec![
            DocumentResponse {
                home_community_id: Some("urn:oid:1.2.208.176.8.1".into()),
                repository_unique_id: "1.2.208.176.43210.8.10.11".into(),
                document_unique_id: "1.2.208.176.43210.8.10.11.0".into(),
                new_repository_unique_id: None,
                new_document_unique_id: None,
                mime_type: "text/xml".into(),
                document: DocumentContent::Include {
                    href: "cid:doc0@dds.example".into(),
                },
            },
            DocumentResponse {
                home_community_id: None,
                repository_unique_id: "1.2.208.176.43210.8.10.11".into(),
                document_unique_id: "1.2.208.176.43210.8.10.11.2".into(),
                new_repository_unique_id: Some("1.2.208.176.43210.8.10.12".into()),
                new_document_unique_id: Some("1.2.208.176.43210.8.10.12.2".into()),
                mime_type: "text/plain".into(),
                document: DocumentContent::Inline(b"hej verden".to_vec()),
            },
        ],
    };
    check(
        "iti43_retrieve_response",
        Message::RetrieveDocumentSetResponse(resp),
    );
}

#[test]
fn iti62_remove_objects_request() {
    let m = RemoveObjectsRequest {
        header: RequestHeader::default(),
        deletion_scope: Some(deletion_scope::DELETE_ALL.into()),
        adhoc_query: None,
        object_refs: Some(vec![
            ObjectRef {
                id: "urn:uuid:6f1d0a55-0000-4000-8000-000000000000".into(),
                ..ObjectRef::default()
            },
            ObjectRef {
                id: "urn:uuid:8b2d4f20-0000-4000-8000-000000000000".into(),
                ..ObjectRef::default()
            },
        ]),
    };
    check(
        "iti62_remove_objects_request",
        Message::RemoveObjectsRequest(m),
    );
    let with_query = RemoveObjectsRequest {
        adhoc_query: Some(query()),
        object_refs: None,
        ..RemoveObjectsRequest::default()
    };
    check(
        "iti62_remove_objects_request_query",
        Message::RemoveObjectsRequest(with_query),
    );
}

#[test]
fn per_type_parsers_agree_with_dispatch() {
    let m = support::provide_and_register(2);
    let xml = m.to_xml();
    assert_eq!(
        ProvideAndRegisterDocumentSetRequest::parse(xml.as_bytes()).unwrap(),
        m
    );
    let err = RegistryResponse::parse(xml.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("rs:RegistryResponse"), "{err}");
}

#[test]
fn foreign_prefixes_and_whitespace_are_read() {
    // A body as another implementation writes it: other prefixes, default namespace,
    // indentation, comments, an XML declaration, line-wrapped base64.
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- ITI-41 -->
<ProvideAndRegisterDocumentSetRequest xmlns="urn:ihe:iti:xds-b:2007">
  <lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0">
    <a:RegistryObjectList xmlns:a="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">
      <a:ObjectRef id="x"/>
    </a:RegistryObjectList>
  </lcm:SubmitObjectsRequest>
  <Document id="Document01">aGVq
  IHZl
cmRlbg==</Document>
</ProvideAndRegisterDocumentSetRequest>
"#;
    let Message::ProvideAndRegisterDocumentSetRequest(m) = parse_message(xml.as_bytes()).unwrap()
    else {
        panic!("wrong kind");
    };
    assert_eq!(
        m.documents[0].content,
        DocumentContent::Inline(b"hej verden".to_vec())
    );
    assert_eq!(
        parse_message(m.to_xml().as_bytes()).unwrap().to_xml(),
        m.to_xml()
    );
}
