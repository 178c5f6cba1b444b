//! One test per class of parse error: the right variant, with offset and path or value.

use xds_model::ParseError;
use xds_model::limits::XmlLimits;
use xds_model::message::query_value::{QueryValue, QueryValueError};
use xds_model::message::{parse_message, parse_message_with};

const LCM: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0";
const RIM: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0";

fn submit(inner: &str) -> String {
    format!(
        r#"<lcm:SubmitObjectsRequest xmlns:lcm="{LCM}" xmlns:rim="{RIM}"><rim:RegistryObjectList>{inner}</rim:RegistryObjectList></lcm:SubmitObjectsRequest>"#
    )
}

fn err(xml: &str) -> ParseError {
    parse_message(xml.as_bytes()).expect_err("parse should fail")
}

fn err_with(xml: &str, limits: XmlLimits) -> ParseError {
    parse_message_with(xml.as_bytes(), limits).expect_err("parse should fail")
}

#[test]
fn doctype_is_rejected_before_any_entity_is_declared() {
    let xml = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]>{}",
        submit("")
    );
    let e = err(&xml);
    assert_eq!(e, ParseError::Doctype { offset: 21 }, "{e}");
}

#[test]
fn doctype_after_the_root_is_rejected_too() {
    let xml = format!("{}<!DOCTYPE x>", submit(""));
    assert!(matches!(err(&xml), ParseError::Doctype { .. }));
}

#[test]
fn processing_instructions_are_rejected() {
    let xml = format!("<?xml-stylesheet href=\"a.xsl\"?>{}", submit(""));
    let e = err(&xml);
    assert!(
        matches!(&e, ParseError::ProcessingInstruction { offset: 0, target } if target == "xml-stylesheet"),
        "{e:?}"
    );
    let inside = submit(r#"<?php echo 1 ?>"#);
    assert!(matches!(
        err(&inside),
        ParseError::ProcessingInstruction { .. }
    ));
}

#[test]
fn depth_limit() {
    let limits = XmlLimits {
        depth_max: 4,
        ..XmlLimits::default()
    };
    // SubmitObjectsRequest/RegistryObjectList/ExtrinsicObject/Slot is 4; ValueList is the 5th.
    let xml = submit(
        r#"<rim:ExtrinsicObject id="a"><rim:Slot name="s"><rim:ValueList/></rim:Slot></rim:ExtrinsicObject>"#,
    );
    let e = err_with(&xml, limits);
    match &e {
        ParseError::TooDeep { path, max: 4, .. } => assert_eq!(
            path,
            "/lcm:SubmitObjectsRequest/rim:RegistryObjectList/rim:ExtrinsicObject/rim:Slot/rim:ValueList"
        ),
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("rim:ValueList"), "{e}");
}

#[test]
fn depth_limit_holds_inside_skipped_foreign_elements() {
    let limits = XmlLimits {
        depth_max: 5,
        ..XmlLimits::default()
    };
    let xml = submit(
        r#"<rim:ObjectRef id="a"><x:a xmlns:x="urn:x"><x:b><x:c/></x:b></x:a></rim:ObjectRef>"#,
    );
    assert!(matches!(err_with(&xml, limits), ParseError::TooDeep { .. }));
}

#[test]
fn attribute_count_limit() {
    let limits = XmlLimits {
        attributes_max: 3,
        ..XmlLimits::default()
    };
    let xml = submit(r#"<rim:ObjectRef id="a" b="1" c="2" d="3"/>"#);
    let e = err_with(&xml, limits);
    assert!(
        matches!(&e, ParseError::TooManyAttributes { count: 4, max: 3, path, .. } if path.ends_with("/rim:ObjectRef")),
        "{e:?}"
    );
    // `=` inside values does not count as attributes.
    let ok = submit(r#"<rim:ObjectRef id="a=b=c=d=e"/>"#);
    assert!(parse_message_with(ok.as_bytes(), limits).is_ok());
}

#[test]
fn element_count_limit() {
    let limits = XmlLimits {
        elements_max: 4,
        ..XmlLimits::default()
    };
    let xml = submit(&r#"<rim:ObjectRef id="a"/>"#.repeat(3));
    let e = err_with(&xml, limits);
    assert!(
        matches!(e, ParseError::TooManyElements { max: 4, .. }),
        "{e:?}"
    );
}

#[test]
fn value_length_limit_for_text_and_attributes() {
    let limits = XmlLimits {
        // Above the namespace URIs of the root (which count as attribute values too).
        text_bytes_max: 64,
        ..XmlLimits::default()
    };
    let long = "x".repeat(65);
    let text = submit(&format!(
        r#"<rim:ExtrinsicObject id="a"><rim:Slot name="s"><rim:ValueList><rim:Value>{long}</rim:Value></rim:ValueList></rim:Slot></rim:ExtrinsicObject>"#
    ));
    let e = err_with(&text, limits);
    assert!(
        matches!(&e, ParseError::ValueTooLong { what, bytes: 65, max: 64, .. } if what == "text"),
        "{e:?}"
    );
    let attr = submit(&format!(r#"<rim:ObjectRef id="{long}"/>"#));
    let e = err_with(&attr, limits);
    assert!(
        matches!(&e, ParseError::ValueTooLong { what, .. } if what == "attribute `id`"),
        "{e:?}"
    );
}

#[test]
fn bad_base64_names_the_document() {
    let xml = r#"<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007" xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><lcm:SubmitObjectsRequest><rim:RegistryObjectList/></lcm:SubmitObjectsRequest><xdsb:Document id="Doc1">not*base64</xdsb:Document></xdsb:ProvideAndRegisterDocumentSetRequest>"#;
    let e = err(xml);
    assert!(
        matches!(&e, ParseError::Base64 { path, .. } if path.ends_with("/xdsb:Document")),
        "{e:?}"
    );
}

#[test]
fn unknown_rim_element_is_named() {
    let xml = submit(
        r#"<rim:ExtrinsicObject id="a"><rim:Slot name="s"><rim:ValueList/></rim:Slot><rim:Whatever/></rim:ExtrinsicObject>"#,
    );
    let e = err(&xml);
    match &e {
        ParseError::UnexpectedElement {
            element,
            path,
            offset,
        } => {
            assert_eq!(element, "rim:Whatever");
            assert_eq!(
                path,
                "/lcm:SubmitObjectsRequest/rim:RegistryObjectList/rim:ExtrinsicObject"
            );
            assert_eq!(&xml[*offset as usize..][..13], "<rim:Whatever");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_required_attribute_and_element() {
    let e = err(&submit(
        r#"<rim:ExternalIdentifier id="e" registryObject="a" value="v"/>"#,
    ));
    assert!(
        matches!(
            e,
            ParseError::MissingAttribute {
                attribute: "identificationScheme",
                ..
            }
        ),
        "{e:?}"
    );
    let e = err(&format!(r#"<lcm:SubmitObjectsRequest xmlns:lcm="{LCM}"/>"#));
    assert!(
        matches!(
            e,
            ParseError::MissingElement {
                element: "rim:RegistryObjectList",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn invalid_attribute_value() {
    let e = err(&submit(
        r#"<rim:ExtrinsicObject id="a" isOpaque="perhaps"/>"#,
    ));
    assert!(
        matches!(&e, ParseError::InvalidAttribute { attribute: "isOpaque", value, .. } if value == "perhaps"),
        "{e:?}"
    );
}

#[test]
fn unknown_root_and_trailing_content() {
    let e = err(r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"/>"#);
    assert!(
        matches!(&e, ParseError::UnexpectedRoot { element, namespace, .. }
            if element == "soap:Envelope" && namespace == "http://www.w3.org/2003/05/soap-envelope"),
        "{e:?}"
    );
    let e = err(&format!("{}<x/>", submit("")));
    assert!(matches!(e, ParseError::TrailingContent { .. }), "{e:?}");
}

#[test]
fn malformed_xml_and_unknown_entities() {
    let e = err(&submit(r#"<rim:ObjectRef id="a"></rim:Other>"#));
    assert!(matches!(e, ParseError::Syntax { .. }), "{e:?}");
    let e = err(&submit(
        r#"<rim:ExtrinsicObject id="a"><rim:Slot name="s"><rim:ValueList><rim:Value>&bogus;</rim:Value></rim:ValueList></rim:Slot></rim:ExtrinsicObject>"#,
    ));
    assert!(
        matches!(&e, ParseError::UnknownEntity { entity, .. } if entity == "bogus"),
        "{e:?}"
    );
    let e = err(&submit("stray text"));
    assert!(matches!(e, ParseError::UnexpectedText { .. }), "{e:?}");
    let e = err(&submit("").replace("</lcm:SubmitObjectsRequest>", ""));
    assert!(
        matches!(
            e,
            ParseError::UnexpectedEof { .. } | ParseError::Syntax { .. }
        ),
        "{e:?}"
    );
    assert!(matches!(err(""), ParseError::UnexpectedEof { .. }));
}

#[test]
fn bad_query_value() {
    assert!(matches!(
        QueryValue::parse("('a',"),
        Err(QueryValueError::UnterminatedList { .. })
    ));
    let e = QueryValue::parse("'unterminated").unwrap_err();
    assert!(e.to_string().contains("'unterminated"), "{e}");
}
