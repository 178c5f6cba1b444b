//! Envelope parser: a realistic DGWS request, the consent-override headers, and one test per
//! error variant, all through `check`/`error` helpers.

use soap::consent::HSUID_OVERRIDE_REASON;
use soap::{
    ConsentOverride, ConsentOverrideError, EnvelopeError, EnvelopeLimits, EnvelopeOptions,
    FaultCode, OverrideSource, ns, parse_envelope,
};

const DGWS: &str = include_str!("fixtures/dgws-iti18.xml");

fn parse(xml: &str) -> Result<soap::Envelope<'_>, EnvelopeError> {
    parse_envelope(xml.as_bytes(), &EnvelopeOptions::default())
}

/// Wraps header blocks and a body child into a SOAP 1.2 envelope.
fn envelope(headers: &str, body: &str) -> String {
    format!(
        r#"<soap:Envelope xmlns:soap="{}" xmlns:wsa="{}"><soap:Header>{headers}</soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>"#,
        ns::SOAP12,
        ns::WSA
    )
}

/// Byte offset of the first `needle` in `xml`.
fn at(xml: &str, needle: &str) -> usize {
    xml.find(needle).expect("needle in xml")
}

fn error(xml: &str) -> EnvelopeError {
    parse(xml).expect_err("should be refused")
}

#[test]
fn dgws_request() {
    let env = parse(DGWS).unwrap();
    let a = &env.addressing;
    assert_eq!(
        a.action.as_deref(),
        Some("urn:ihe:iti:2007:RegistryStoredQuery")
    );
    assert_eq!(
        a.message_id.as_deref(),
        Some("urn:uuid:2b1d6f0e-7c4a-4f39-9a51-0c7e7d6b1a10")
    );
    assert_eq!(
        a.reply_to.as_deref(),
        Some("http://www.w3.org/2005/08/addressing/anonymous")
    );
    assert_eq!(a.to.as_deref(), Some("http://localhost:8080/xds/registry"));
    assert_eq!(a.relates_to, None);
    assert_eq!(
        env.action(Some("urn:other")),
        Some("urn:ihe:iti:2007:RegistryStoredQuery")
    );

    // Security: the exact bytes, plus the namespaces declared on the Envelope it relies on.
    let security = env.security.as_ref().unwrap();
    assert!(security.must_understand);
    let xml = security.element.xml;
    assert!(xml.starts_with("<wsse:Security "));
    assert!(xml.ends_with("</wsse:Security>"));
    assert_eq!(
        &DGWS.as_bytes()[security.element.range.clone()],
        xml.as_bytes()
    );
    let saml = security
        .element
        .namespaces
        .iter()
        .find(|b| b.prefix.as_deref() == Some("saml"))
        .unwrap();
    assert_eq!(saml.uri, ns::SAML2);
    assert!(
        security
            .element
            .namespaces
            .iter()
            .any(|b| b.prefix.as_deref() == Some("wsse"))
    );

    // Other headers in order, including WS-Addressing ones.
    let names: Vec<&str> = env
        .headers
        .iter()
        .map(|h| h.element.local_name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "Action",
            "MessageID",
            "ReplyTo",
            "To",
            "Header",
            "HsuidHeader",
            "ConsentOverride",
            "Trace"
        ]
    );
    let medcom = env.headers_named(ns::MEDCOM, "Header").next().unwrap();
    assert!(medcom.must_understand && medcom.targets_us());
    let trace = env
        .headers_named("urn:example:trace", "Trace")
        .next()
        .unwrap();
    assert!(trace.must_understand && !trace.targets_us());

    // Body: one child, exact bytes, namespaces in scope.
    assert_eq!(env.body.local_name, "AdhocQueryRequest");
    assert_eq!(env.body.namespace, ns::QUERY);
    assert!(env.body.xml.starts_with("<query:AdhocQueryRequest"));
    assert!(env.body.xml.ends_with("</query:AdhocQueryRequest>"));

    // dds:ConsentOverride wins over hsuid, reason trimmed and unescaped.
    assert_eq!(
        env.consent_override().unwrap(),
        Some(ConsentOverride {
            reason: "Akut indlæggelse <bevidstløs>".into(),
            source: OverrideSource::DdsConsentOverride
        })
    );
}

#[test]
fn body_slice_reader_resolves_envelope_prefixes() {
    let xml = envelope("", r#"<wsa:Thing><wsa:Inner/></wsa:Thing>"#);
    let env = parse(&xml).unwrap();
    let mut reader = env.body.ns_reader();
    let (ns, _) = reader.read_resolved_event().unwrap();
    assert_eq!(
        ns,
        quick_xml::name::ResolveResult::Bound(quick_xml::name::Namespace(ns::WSA))
    );
}

#[test]
fn bom_offsets_ranges() {
    let xml = format!("\u{FEFF}{}", envelope("", "<b/>"));
    let env = parse(&xml).unwrap();
    assert_eq!(&xml.as_bytes()[env.body.range.clone()], b"<b/>");
}

#[test]
fn hsuid_override_alone() {
    let hsuid = |value: &str| {
        envelope(
            &format!(
                r#"<h:HsuidHeader xmlns:h="{}"><h:Assertion><h:AttributeStatement><h:Attribute Name="nsi:ConsentOverride"><h:AttributeValue>{value}</h:AttributeValue></h:Attribute></h:AttributeStatement></h:Assertion></h:HsuidHeader>"#,
                ns::HSUID
            ),
            "<b/>",
        )
    };
    let xml = hsuid("true");
    assert_eq!(
        parse(&xml).unwrap().consent_override().unwrap(),
        Some(ConsentOverride {
            reason: HSUID_OVERRIDE_REASON.into(),
            source: OverrideSource::HsuidHeader
        })
    );
    let xml = hsuid(" false ");
    assert_eq!(parse(&xml).unwrap().consent_override().unwrap(), None);
    let xml = hsuid("maybe");
    assert!(matches!(
        parse(&xml).unwrap().consent_override(),
        Err(ConsentOverrideError::InvalidHsuidValue { value, .. }) if value == "maybe"
    ));
    let xml = envelope("", "<b/>");
    assert_eq!(parse(&xml).unwrap().consent_override().unwrap(), None);
}

fn override_error(headers: &str) -> ConsentOverrideError {
    let xml = envelope(headers, "<b/>");
    parse(&xml).unwrap().consent_override().unwrap_err()
}

#[test]
fn consent_override_errors() {
    let dds = |inner: &str| {
        format!(r#"<dds:ConsentOverride xmlns:dds="urn:dds:2026">{inner}</dds:ConsentOverride>"#)
    };
    assert!(matches!(
        override_error(&dds("")),
        ConsentOverrideError::MissingReason { .. }
    ));
    assert!(matches!(
        override_error(&dds("<dds:Reason>  </dds:Reason>")),
        ConsentOverrideError::EmptyReason { .. }
    ));
    assert!(matches!(
        override_error(&dds("<dds:Reason/>")),
        ConsentOverrideError::EmptyReason { .. }
    ));
    assert!(matches!(
        override_error(&dds("<dds:Reason>a</dds:Reason><dds:Reason>b</dds:Reason>")),
        ConsentOverrideError::DuplicateReason { .. }
    ));
    let once = dds("<dds:Reason>a</dds:Reason>");
    assert!(matches!(
        override_error(&format!("{once}{once}")),
        ConsentOverrideError::DuplicateHeader {
            header: "dds:ConsentOverride",
            ..
        }
    ));
    let attr = r#"<a:Attribute Name="nsi:ConsentOverride"><a:AttributeValue>true</a:AttributeValue></a:Attribute>"#;
    let hsuid = |inner: &str| {
        format!(
            r#"<h:HsuidHeader xmlns:h="{}" xmlns:a="{}">{inner}</h:HsuidHeader>"#,
            ns::HSUID,
            ns::SAML2
        )
    };
    assert!(matches!(
        override_error(&hsuid(&format!("{attr}{attr}"))),
        ConsentOverrideError::DuplicateHsuidAttribute { .. }
    ));
    assert!(matches!(
        override_error(&hsuid(r#"<a:Attribute Name="nsi:ConsentOverride"/>"#)),
        ConsentOverrideError::MissingHsuidValue { .. }
    ));
    // The Xml variant cannot be reached from a slice the envelope parser accepted; it guards
    // the re-parse only.
}

#[test]
fn fault_classification() {
    let soap11 =
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>"#;
    assert_eq!(error(soap11), EnvelopeError::Soap11Envelope { offset: 0 });
    assert_eq!(error(soap11).fault_code(), FaultCode::VersionMismatch);
    let other = r#"<Envelope xmlns="urn:x"/>"#;
    assert_eq!(
        error(other),
        EnvelopeError::NotAnEnvelope {
            offset: 0,
            namespace: "urn:x".into(),
            local_name: "Envelope".into()
        }
    );
    assert_eq!(error(other).fault_code(), FaultCode::VersionMismatch);

    let mu = envelope(
        r#"<x:A xmlns:x="urn:x" soap:mustUnderstand="true"/><y:B xmlns:y="urn:y" soap:mustUnderstand="false"/><x:C xmlns:x="urn:x" soap:mustUnderstand="1" soap:role="http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver"/>"#,
        "<b/>",
    );
    let e = error(&mu);
    assert_eq!(
        e,
        EnvelopeError::NotUnderstood {
            headers: vec![("urn:x".into(), "A".into()), ("urn:x".into(), "C".into())]
        }
    );
    assert_eq!(e.fault_code(), FaultCode::MustUnderstand);
    let understood = ["urn:x"];
    let options = EnvelopeOptions {
        understood_namespaces: &understood,
        ..EnvelopeOptions::default()
    };
    assert!(parse_envelope(mu.as_bytes(), &options).is_ok());
    assert_eq!(error("<x").fault_code(), FaultCode::Sender);
}

#[test]
fn every_error_variant() {
    let tiny = EnvelopeOptions {
        limits: EnvelopeLimits {
            envelope_bytes_max: 10,
            ..EnvelopeLimits::default()
        },
        ..EnvelopeOptions::default()
    };
    assert_eq!(
        parse_envelope(envelope("", "<b/>").as_bytes(), &tiny).unwrap_err(),
        EnvelopeError::TooLarge {
            bytes: 187,
            limit: 10
        }
    );
    assert_eq!(
        parse_envelope(b"<a>\xff</a>", &EnvelopeOptions::default()).unwrap_err(),
        EnvelopeError::NotUtf8 { offset: 3 }
    );
    assert_eq!(
        error(r#"<?xml version="1.0" encoding="ISO-8859-1"?><a/>"#),
        EnvelopeError::UnsupportedEncoding {
            encoding: "ISO-8859-1".into()
        }
    );
    let mismatched = envelope("", "<b></c>");
    let mismatch_at = mismatched.find("</c>").unwrap();
    assert!(
        matches!(error(&mismatched), EnvelopeError::Xml { offset, .. } if offset == mismatch_at),
        "{:?}",
        error(&mismatched)
    );
    assert_eq!(
        error(r#"<!DOCTYPE x [<!ENTITY e "boom">]><a/>"#),
        EnvelopeError::Doctype { offset: 0 }
    );
    assert_eq!(
        error(&format!("<?php x?>{}", envelope("", "<b/>"))),
        EnvelopeError::ProcessingInstruction { offset: 0 }
    );
    let xml = envelope("", "<b>&xxe;</b>");
    assert_eq!(
        error(&xml),
        EnvelopeError::UndefinedEntity {
            offset: at(&xml, "&xxe;"),
            name: "xxe".into()
        }
    );
    let xml = envelope("", "<q:b/>");
    assert_eq!(
        error(&xml),
        EnvelopeError::UnboundPrefix {
            offset: at(&xml, "<q:b"),
            name: "q:b".into(),
            prefix: "q".into()
        }
    );
    let xml = format!("{}<?xml version=\"1.0\"?>", envelope("", "<b/>"));
    assert_eq!(
        error(&xml),
        EnvelopeError::ProcessingInstruction {
            offset: at(&xml, "<?xml")
        }
    );
    let xml = envelope("", r#"<b a="&ext;"/>"#);
    assert!(matches!(error(&xml), EnvelopeError::Xml { offset, .. } if offset == at(&xml, "<b ")));
    assert_eq!(error(""), EnvelopeError::NoEnvelope);
    let xml = envelope("", "<b/>").replace("<soap:Header></soap:Header>", "<x/>");
    assert_eq!(
        error(&xml),
        EnvelopeError::UnexpectedElement {
            offset: at(&xml, "<x/>"),
            name: "x".into(),
            parent: "soap:Envelope"
        }
    );
    let xml = envelope("", "<b/>").replace("</soap:Body>", "</soap:Body><soap:Header/>");
    assert_eq!(
        error(&xml),
        EnvelopeError::UnexpectedElement {
            offset: at(&xml, "<soap:Header/>"),
            name: "soap:Header".into(),
            parent: "soap:Envelope"
        }
    );
    let xml = envelope("", "<b/>").replace("<soap:Body>", "<soap:Body>text");
    assert_eq!(
        error(&xml),
        EnvelopeError::UnexpectedText {
            offset: at(&xml, "text")
        }
    );
    let xml = envelope("", "<b/>").replace("<soap:Body><b/></soap:Body>", "");
    assert_eq!(
        error(&xml),
        EnvelopeError::MissingBody { offset: xml.len() }
    );
    let xml = envelope("", "");
    assert_eq!(error(&xml), EnvelopeError::EmptyBody { offset: xml.len() });
    let xml = envelope("", "<b/><c/>");
    assert_eq!(
        error(&xml),
        EnvelopeError::MultipleBodyChildren {
            offset: at(&xml, "<c/>")
        }
    );
    let limited = |limits: EnvelopeLimits, xml: &str| {
        parse_envelope(
            xml.as_bytes(),
            &EnvelopeOptions {
                limits,
                ..EnvelopeOptions::default()
            },
        )
        .unwrap_err()
    };
    let xml = envelope("", "<b><c/></b>");
    let mut limits = EnvelopeLimits::default();
    limits.xml.depth_max = 3;
    assert_eq!(
        limited(limits, &xml),
        EnvelopeError::DepthExceeded {
            offset: at(&xml, "<c/>"),
            limit: 3
        }
    );
    let mut limits = EnvelopeLimits::default();
    limits.xml.elements_max = 4;
    assert_eq!(
        limited(limits, &xml),
        EnvelopeError::TooManyElements {
            offset: at(&xml, "<c/>"),
            limit: 4
        }
    );
    let mut limits = EnvelopeLimits::default();
    limits.xml.attributes_max = 2;
    let xml = envelope("", r#"<b x="1" y="2" z="3"/>"#);
    assert_eq!(
        limited(limits, &xml),
        EnvelopeError::TooManyAttributes {
            offset: at(&xml, "<b "),
            limit: 2
        }
    );
    let mut limits = EnvelopeLimits::default();
    // Above the longest namespace URI of the envelope, which attribute values include.
    limits.xml.text_bytes_max = 60;
    let long = "x".repeat(61);
    let xml = envelope(&format!("<wsa:Action>{long}</wsa:Action>"), "<b/>");
    assert_eq!(
        limited(limits, &xml),
        EnvelopeError::TextTooLarge {
            offset: at(&xml, &long),
            limit: 60
        }
    );
    let xml = envelope("", &format!(r#"<b x="{long}"/>"#));
    assert_eq!(
        limited(limits, &xml),
        EnvelopeError::TextTooLarge {
            offset: at(&xml, "<b "),
            limit: 60
        }
    );
    let limits = EnvelopeLimits {
        body_text_bytes_max: 4,
        ..EnvelopeLimits::default()
    };
    let xml = envelope("", "<b>12345</b>");
    assert_eq!(
        limited(limits, &xml),
        EnvelopeError::TextTooLarge {
            offset: at(&xml, "12345"),
            limit: 4
        }
    );
    let limits = EnvelopeLimits {
        header_blocks_max: 1,
        ..EnvelopeLimits::default()
    };
    let xml = envelope(r#"<x:a xmlns:x="urn:x"/><x:z xmlns:x="urn:x"/>"#, "<b/>");
    assert_eq!(
        limited(limits, &xml),
        EnvelopeError::TooManyHeaders {
            offset: at(&xml, "<x:z"),
            limit: 1
        }
    );
    let xml = envelope("<a/>", "<b/>");
    assert_eq!(
        error(&xml),
        EnvelopeError::UnqualifiedHeader {
            offset: at(&xml, "<a/>"),
            name: "a".into()
        }
    );
    let xml = envelope(r#"<a soap:mustUnderstand="yes"/>"#, "<b/>");
    assert_eq!(
        error(&xml),
        EnvelopeError::InvalidMustUnderstand {
            offset: at(&xml, "<a "),
            value: "yes".into()
        }
    );
    let security = format!(r#"<wsse:Security xmlns:wsse="{}"/>"#, ns::WSSE);
    let xml = envelope(&format!("{security}{security}"), "<b/>");
    assert_eq!(
        error(&xml),
        EnvelopeError::DuplicateSecurityHeader {
            offset: xml.rfind("<wsse:Security").unwrap()
        }
    );
    let xml = envelope("<wsa:To>a</wsa:To><wsa:To>b</wsa:To>", "<b/>");
    assert_eq!(
        error(&xml),
        EnvelopeError::DuplicateAddressingHeader {
            offset: xml.rfind("<wsa:To>").unwrap(),
            name: "To"
        }
    );
    let xml = envelope("", "<b/>").replace("</soap:Envelope>", "");
    assert_eq!(
        error(&xml),
        EnvelopeError::UnexpectedEof { offset: xml.len() }
    );
}
