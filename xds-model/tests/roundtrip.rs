//! Properties over generated ebRIM objects:
//! - codec: serialize → parse gives the same value, for lists, identifiables and messages;
//! - views: `from_rim` → `to_rim` gives the same object, including unknown parts, odd shapes
//!   and duplicate ids (the generators mix XDS slot names and schemes with arbitrary ones).

mod support;

use proptest::prelude::*;
use xds_model::codec::{parse_identifiable, parse_registry_object_list};
use xds_model::message::{Message, SubmitObjectsRequest, parse_message};
use xds_model::rim::{
    Association, Classification, ExternalIdentifier, ExtrinsicObject, Identifiable,
    InternationalString, LocalizedString, ObjectRef, RegistryObject, RegistryObjectList,
    RegistryPackage, Slot, VersionInfo,
};
use xds_model::vocabulary::{
    association_type, classification_node, document_entry as de, folder, object_type, slot,
    submission_set as ss,
};
use xds_model::xds::{self, DocumentEntry, Folder, SubmissionSet};

/// Text that XML 1.0 can carry: markup characters, whitespace of every kind, non-ASCII.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 .:^&<>\"'\t\r\n]{0,12}",
        "[\\PC]{0,8}",
        Just(String::new()),
        Just(" lead and trail ".to_string()),
    ]
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text())
}

/// Ids from a small pool, so that duplicates happen.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Doc1".to_string()),
        Just("urn:uuid:00000000-0000-4000-8000-000000000001".to_string()),
        Just(String::new()),
        text(),
    ]
}

fn slot_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(slot::CREATION_TIME),
        Just(slot::SOURCE_PATIENT_INFO),
        Just(slot::URI),
        Just(slot::SUBMISSION_TIME),
        Just(slot::LAST_UPDATE_TIME),
        Just(slot::SUBMISSION_SET_STATUS),
        Just(slot::CODING_SCHEME),
        Just(slot::AUTHOR_PERSON),
        Just(slot::AUTHOR_INSTITUTION),
        Just(slot::INTENDED_RECIPIENT),
        Just("urn:dk:extra"),
    ]
    .prop_map(str::to_owned)
    .boxed()
    .prop_union(text().boxed())
}

fn slot() -> impl Strategy<Value = Slot> {
    (
        slot_name(),
        proptest::option::weighted(0.2, text()),
        proptest::collection::vec(text(), 0..3),
    )
        .prop_map(|(name, slot_type, values)| Slot {
            name,
            slot_type,
            values,
        })
}

fn international() -> impl Strategy<Value = InternationalString> {
    proptest::collection::vec(
        (opt_text(), opt_text(), text()).prop_map(|(lang, charset, value)| LocalizedString {
            lang,
            charset,
            value,
        }),
        0..3,
    )
    .prop_map(|localized| InternationalString { localized })
}

fn version() -> impl Strategy<Value = VersionInfo> {
    (opt_text(), opt_text()).prop_map(|(version_name, comment)| VersionInfo {
        version_name,
        comment,
    })
}

fn scheme() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop_oneof![
        Just(de::AUTHOR.to_string()),
        Just(de::CLASS_CODE.to_string()),
        Just(de::EVENT_CODE.to_string()),
        Just(de::CONFIDENTIALITY_CODE.to_string()),
        Just(ss::AUTHOR.to_string()),
        Just(ss::CONTENT_TYPE_CODE.to_string()),
        Just(folder::CODE_LIST.to_string()),
        text(),
    ])
}

fn node() -> impl Strategy<Value = Option<String>> {
    proptest::option::weighted(
        0.3,
        prop_oneof![
            Just(de::LIMITED_METADATA.to_string()),
            Just(ss::LIMITED_METADATA.to_string()),
            Just(classification_node::SUBMISSION_SET.to_string()),
            Just(classification_node::FOLDER.to_string()),
            text(),
        ],
    )
}

fn identification_scheme() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(de::PATIENT_ID.to_string()),
        Just(de::UNIQUE_ID.to_string()),
        Just(ss::SOURCE_ID.to_string()),
        Just(ss::UNIQUE_ID.to_string()),
        Just(folder::PATIENT_ID.to_string()),
        text(),
    ]
}

/// A registry object; below `depth` 0 it has no classifications or external identifiers.
fn registry_object(depth: u32) -> BoxedStrategy<RegistryObject> {
    let parts = if depth == 0 {
        (Just(Vec::new()), Just(Vec::new())).boxed()
    } else {
        (
            proptest::collection::vec(classification(depth - 1), 0..4),
            proptest::collection::vec(external_identifier(depth - 1), 0..3),
        )
            .boxed()
    };
    (
        (id(), opt_text(), opt_text(), opt_text(), opt_text()),
        proptest::collection::vec(slot(), 0..4),
        proptest::option::of(international()),
        proptest::option::of(international()),
        proptest::option::of(version()),
        parts,
    )
        .prop_map(
            |(
                (id, home, lid, object_type, status),
                slots,
                name,
                description,
                version_info,
                (classifications, external_identifiers),
            )| {
                RegistryObject {
                    id,
                    home,
                    lid,
                    object_type,
                    status,
                    slots,
                    name,
                    description,
                    version_info,
                    classifications,
                    external_identifiers,
                }
            },
        )
        .boxed()
}

fn classification(depth: u32) -> BoxedStrategy<Classification> {
    (registry_object(depth), scheme(), id(), node(), opt_text())
        .prop_map(
            |(
                object,
                classification_scheme,
                classified_object,
                classification_node,
                node_representation,
            )| {
                Classification {
                    object,
                    classification_scheme,
                    classified_object,
                    classification_node,
                    node_representation,
                }
            },
        )
        .boxed()
}

fn external_identifier(depth: u32) -> BoxedStrategy<ExternalIdentifier> {
    (
        registry_object(depth),
        id(),
        identification_scheme(),
        text(),
    )
        .prop_map(
            |(object, registry_object, identification_scheme, value)| ExternalIdentifier {
                object,
                registry_object,
                identification_scheme,
                value,
            },
        )
        .boxed()
}

fn extrinsic_object() -> impl Strategy<Value = ExtrinsicObject> {
    (
        registry_object(2),
        opt_text(),
        proptest::option::of(any::<bool>()),
        proptest::option::of(version()),
    )
        .prop_map(
            |(object, mime_type, is_opaque, content_version_info)| ExtrinsicObject {
                object,
                mime_type,
                is_opaque,
                content_version_info,
            },
        )
}

fn association() -> impl Strategy<Value = Association> {
    (
        registry_object(1),
        prop_oneof![
            Just(association_type::HAS_MEMBER.to_string()),
            Just(association_type::REPLACE.to_string()),
            text()
        ],
        id(),
        id(),
    )
        .prop_map(
            |(object, association_type, source_object, target_object)| Association {
                object,
                association_type,
                source_object,
                target_object,
            },
        )
}

fn object_ref() -> impl Strategy<Value = ObjectRef> {
    (id(), opt_text(), proptest::option::of(any::<bool>())).prop_map(
        |(id, home, create_replica)| ObjectRef {
            id,
            home,
            create_replica,
        },
    )
}

fn leaf() -> BoxedStrategy<Identifiable> {
    prop_oneof![
        extrinsic_object().prop_map(Identifiable::ExtrinsicObject),
        association().prop_map(Identifiable::Association),
        classification(1).prop_map(Identifiable::Classification),
        external_identifier(1).prop_map(Identifiable::ExternalIdentifier),
        object_ref().prop_map(Identifiable::ObjectRef),
    ]
    .boxed()
}

fn package() -> impl Strategy<Value = RegistryPackage> {
    (registry_object(2), proptest::collection::vec(leaf(), 0..2))
        .prop_map(|(object, members)| RegistryPackage { object, members })
}

fn identifiable() -> impl Strategy<Value = Identifiable> {
    prop_oneof![4 => leaf(), 1 => package().prop_map(Identifiable::RegistryPackage)]
}

fn list() -> impl Strategy<Value = RegistryObjectList> {
    proptest::collection::vec(identifiable(), 0..4)
        .prop_map(|objects| RegistryObjectList { objects })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn registry_object_lists_round_trip(list in list()) {
        let xml = list.to_xml();
        let parsed = parse_registry_object_list(xml.as_bytes())
            .map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        prop_assert_eq!(parsed, list);
    }

    #[test]
    fn identifiables_round_trip(o in identifiable()) {
        let xml = o.to_xml();
        let parsed = parse_identifiable(xml.as_bytes())
            .map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        prop_assert_eq!(parsed, o);
    }

    #[test]
    fn submit_objects_requests_round_trip(list in list(), slots in proptest::collection::vec(slot(), 0..2), comment in opt_text()) {
        let mut m = SubmitObjectsRequest { registry_object_list: list, ..SubmitObjectsRequest::default() };
        m.header.slots = slots;
        m.header.comment = comment;
        let m = Message::SubmitObjectsRequest(m);
        let parsed = parse_message(m.to_xml().as_bytes())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(parsed, m);
    }

    #[test]
    fn document_entry_view_is_lossless(mut eo in extrinsic_object(), stable in any::<bool>()) {
        eo.object.object_type = stable.then(|| object_type::STABLE_DOCUMENT_ENTRY.to_string());
        let view = DocumentEntry::from_rim(&eo).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(view.to_rim(), eo);
    }

    #[test]
    fn package_views_are_lossless(p in package()) {
        if let Ok(view) = SubmissionSet::from_rim(&p) {
            prop_assert_eq!(view.to_rim(), p.clone());
        }
        if let Ok(view) = Folder::from_rim(&p) {
            prop_assert_eq!(view.to_rim(), p);
        }
    }

    #[test]
    fn association_view_is_lossless(a in association()) {
        let view = xds::Association::from_rim(&a).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(view.to_rim(), a);
    }
}

#[test]
fn dk_submission_views_are_lossless_and_classified() {
    let m = support::submission(3);
    let kinds = xds::classify(&m.registry_object_list);
    use xds::ObjectKind as K;
    assert_eq!(
        kinds,
        [
            K::DocumentEntry,
            K::DocumentEntry,
            K::DocumentEntry,
            K::SubmissionSet,
            K::Other,
            K::Association,
            K::Association,
            K::Association
        ]
    );
    for o in &m.registry_object_list.objects {
        match o {
            Identifiable::ExtrinsicObject(eo) => {
                let d = DocumentEntry::from_rim(eo).unwrap();
                assert!(d.extra_slots.is_empty() && d.extra_classifications.is_empty());
                assert_eq!(d.class_code.as_ref().unwrap().value.code, "001");
                assert_eq!(&d.to_rim(), eo);
            }
            Identifiable::RegistryPackage(p) => {
                let s = SubmissionSet::from_rim(p).unwrap();
                assert_eq!(s.author.len(), 1);
                assert_eq!(&s.to_rim(), p);
                assert!(Folder::from_rim(p).is_ok(), "marker is outside the package");
            }
            Identifiable::Association(a) => {
                let v = xds::Association::from_rim(a).unwrap();
                assert_eq!(
                    v.submission_set_status,
                    Some(xds::SubmissionSetStatus::Original)
                );
                assert_eq!(&v.to_rim(), a);
            }
            _ => {}
        }
    }
}

#[test]
fn editing_a_view_rewrites_only_what_changed() {
    let eo = support::document_entry(0).to_rim();
    let mut d = DocumentEntry::from_rim(&eo).unwrap();
    d.class_code.as_mut().unwrap().value.display_name = Some("Ny".into());
    d.entry_uuid = "urn:uuid:11111111-1111-4111-8111-111111111111".into();
    let out = d.to_rim();
    let class = out
        .object
        .classifications
        .iter()
        .find(|c| c.classification_scheme.as_deref() == Some(de::CLASS_CODE))
        .unwrap();
    assert_eq!(class.object.name.as_ref().unwrap().first(), Some("Ny"));
    assert_eq!(
        class.classified_object, d.entry_uuid,
        "references follow the new entryUUID"
    );
    assert!(
        out.object
            .external_identifiers
            .iter()
            .all(|e| e.registry_object == d.entry_uuid)
    );
    // Everything else is as it was, in the same order.
    assert_eq!(out.object.slots, eo.object.slots);
    assert_eq!(
        out.object.classifications.len(),
        eo.object.classifications.len()
    );
}
