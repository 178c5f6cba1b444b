//! Wire snapshots of written envelopes, faults and MTOM heads, and a check that everything
//! written parses back.

use soap::writer::{write_envelope, write_fault};
use soap::{
    ContentId, EnvelopeOptions, Fault, FaultCode, FaultWriteError, MtomWriter, ResponseHeaders,
    Subcode, parse_envelope,
};
use xds_model::vocabulary::action;

const REQUEST_ID: &str = "urn:uuid:2b1d6f0e-7c4a-4f39-9a51-0c7e7d6b1a10";
const RESPONSE_ID: &str = "urn:uuid:9f0c1d7e-3b4a-4c2d-8e1f-0a1b2c3d4e5f";

fn headers(action: &'static str) -> ResponseHeaders<'static> {
    ResponseHeaders {
        action,
        message_id: RESPONSE_ID,
        relates_to: Some(REQUEST_ID),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Everything we write must be an envelope we would accept ourselves.
fn reparses(bytes: &[u8]) -> soap::Envelope<'_> {
    parse_envelope(bytes, &EnvelopeOptions::default()).unwrap()
}

#[test]
fn response_envelope() {
    let body = br#"<rs:RegistryResponse xmlns:rs="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0" status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"/>"#;
    let out = write_envelope(&headers(action::REGISTER_RESPONSE), body);
    insta::assert_snapshot!(text(&out));
    let env = reparses(&out);
    assert_eq!(env.addressing.relates_to.as_deref(), Some(REQUEST_ID));
    assert_eq!(
        env.addressing.action.as_deref(),
        Some(action::REGISTER_RESPONSE)
    );
    assert_eq!(env.body.bytes(), body);
}

#[test]
fn escapes_ids() {
    let h = ResponseHeaders {
        action: "urn:a&b<c>",
        message_id: "id\"1",
        relates_to: None,
    };
    let out = write_envelope(&h, b"<b/>");
    let env = reparses(&out);
    assert_eq!(env.addressing.action.as_deref(), Some("urn:a&b<c>"));
    assert_eq!(env.addressing.message_id.as_deref(), Some("id\"1"));
}

#[test]
fn fault_invalid_security() {
    let fault = Fault {
        subcode: Some(Subcode::WSSE_INVALID_SECURITY),
        ..Fault::new(
            FaultCode::Sender,
            "ID card signature does not verify <over> the assertion & its id",
        )
    };
    let out = write_fault(&fault, &headers("ignored")).unwrap();
    insta::assert_snapshot!(text(&out));
    let env = reparses(&out);
    assert_eq!(env.addressing.action.as_deref(), Some(soap::FAULT_ACTION));
    assert_eq!(FaultCode::Sender.http_status(), 400);
}

#[test]
fn fault_failed_authentication_with_detail() {
    let fault = Fault {
        subcode: Some(Subcode::WSSE_FAILED_AUTHENTICATION),
        detail: Some(
            br#"<medcom:FaultCode xmlns:medcom="http://www.medcom.dk/dgws/2006/04/dgws-1.0.xsd">expired_idcard</medcom:FaultCode>"#,
        ),
        ..Fault::new(FaultCode::Sender, "ID card expired")
    };
    let out = write_fault(&fault, &headers("ignored")).unwrap();
    insta::assert_snapshot!(text(&out));
    reparses(&out);
}

#[test]
fn fault_invalid_security_token_without_relates_to() {
    let fault = Fault {
        subcode: Some(Subcode::WSSE_INVALID_SECURITY_TOKEN),
        ..Fault::new(FaultCode::Sender, "ID card issuer is not trusted")
    };
    let h = ResponseHeaders {
        relates_to: None,
        ..headers("ignored")
    };
    let out = write_fault(&fault, &h).unwrap();
    insta::assert_snapshot!(text(&out));
    reparses(&out);
}

#[test]
fn fault_version_mismatch() {
    let out = write_fault(
        &Fault::new(
            FaultCode::VersionMismatch,
            "SOAP 1.1 is not supported; use SOAP 1.2",
        ),
        &headers("ignored"),
    )
    .unwrap();
    insta::assert_snapshot!(text(&out));
    assert_eq!(FaultCode::VersionMismatch.http_status(), 500);
    reparses(&out);
}

#[test]
fn fault_must_understand() {
    let fault = Fault {
        not_understood: &[("urn:example:x", "Trace")],
        ..Fault::new(FaultCode::MustUnderstand, "header not understood")
    };
    let out = write_fault(&fault, &headers("ignored")).unwrap();
    insta::assert_snapshot!(text(&out));
    reparses(&out);
}

#[test]
fn fault_receiver() {
    let out = write_fault(
        &Fault::new(
            FaultCode::Receiver,
            "internal error (see log, request id 42)",
        ),
        &headers("ignored"),
    )
    .unwrap();
    insta::assert_snapshot!(text(&out));
    reparses(&out);
}

#[test]
fn fault_qname_errors() {
    for (prefix, local) in [("soap", "X"), ("1a", "X"), ("wsse", "a b")] {
        let fault = Fault {
            subcode: Some(Subcode {
                namespace: "urn:x",
                prefix,
                local_name: local,
            }),
            ..Fault::new(FaultCode::Sender, "x")
        };
        assert!(matches!(
            write_fault(&fault, &headers("a")),
            Err(FaultWriteError::InvalidQName { .. })
        ));
    }
    let fault = Fault {
        not_understood: &[("urn:x", "a:b")],
        ..Fault::new(FaultCode::MustUnderstand, "x")
    };
    assert!(write_fault(&fault, &headers("a")).is_err());
}

#[test]
fn mtom_head() {
    let writer = MtomWriter::from_id("9f0c1d7e-3b4a-4c2d-8e1f-0a1b2c3d4e5f").unwrap();
    let envelope = write_envelope(&headers(action::RETRIEVE_RESPONSE), b"<x:R xmlns:x=\"urn:x\"><x:Document><xop:Include xmlns:xop=\"http://www.w3.org/2004/08/xop/include\" href=\"cid:doc1@dds\"/></x:Document></x:R>");
    let mut wire = writer.content_type(action::RETRIEVE_RESPONSE).unwrap();
    wire.push('\n');
    wire.push_str(&text(&writer.head(&envelope).unwrap()));
    wire.push_str(&text(
        &writer
            .attachment_head(&ContentId::new("doc1@dds").unwrap(), "text/xml")
            .unwrap(),
    ));
    wire.push_str("<ClinicalDocument/>");
    wire.push_str(&text(&writer.tail()));
    insta::assert_snapshot!(wire);
}
