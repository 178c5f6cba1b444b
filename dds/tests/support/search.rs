//! Helpers of the full-text search tests: documents submitted with `dds submit`'s own code,
//! FindDocumentsByText requests, and reading their answers.

use std::collections::BTreeSet;
use std::path::Path;

use clap::Parser;
use xds_model::message::Message;
use xds_model::rim::Identifiable;
use xds_model::xds::DocumentEntry;

/// The patient of the corpus (the ITI-57 sample's patient, so that it can deprecate).
pub const PATIENT: &str = "0101700013";
pub const SUBMISSION_SET_UNIQUE_ID_SCHEME: &str = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8";

#[derive(Parser)]
struct Submit {
    #[command(flatten)]
    args: dds::cli::submit::SubmitArgs,
}

/// Submits one text document for [`PATIENT`] through ITI-41 (as `dds submit` does), authored
/// at the SOR unit `sor`.
pub async fn submit_text(base: &str, data: &Path, title: &str, body: &str, sor: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("document.txt");
    std::fs::write(&file, body).unwrap();
    let args = Submit::parse_from([
        "submit".as_ref(),
        "--url".as_ref(),
        base.as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "--patient".as_ref(),
        PATIENT.as_ref(),
        "--title".as_ref(),
        title.as_ref(),
        "--author-institution".as_ref(),
        sor.as_ref(),
        "--author-institution-name".as_ref(),
        "Testafdeling".as_ref(),
        file.as_os_str(),
    ] as [&std::ffi::OsStr; 14])
    .args;
    let code = tokio::task::spawn_blocking(move || dds::cli::submit::run(args))
        .await
        .unwrap();
    assert_eq!(code, 0, "dds submit {title:?} failed");
}

/// Submits a file as `dds submit FILE` does (a CDA document describes itself).
pub async fn submit_file(base: &str, data: &Path, file: &Path) {
    let args = Submit::parse_from([
        "submit".as_ref(),
        "--url".as_ref(),
        base.as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        file.as_os_str(),
    ] as [&std::ffi::OsStr; 6])
    .args;
    let code = tokio::task::spawn_blocking(move || dds::cli::submit::run(args))
        .await
        .unwrap();
    assert_eq!(code, 0, "dds submit {} failed", file.display());
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "''")
}

/// A FindDocumentsByText request (without card) for [`PATIENT`].
pub fn search_request(text: &str, statuses: &[&str]) -> String {
    search_request_for(PATIENT, text, statuses)
}

/// A FindDocumentsByText request (without card) for `patient` (a CPR).
pub fn search_request_for(patient: &str, text: &str, statuses: &[&str]) -> String {
    let status_slot = if statuses.is_empty() {
        String::new()
    } else {
        let values: Vec<String> = statuses
            .iter()
            .map(|s| format!("'urn:oasis:names:tc:ebxml-regrep:StatusType:{s}'"))
            .collect();
        format!(
            r#"<rim:Slot name="$XDSDocumentEntryStatus"><rim:ValueList><rim:Value>({})</rim:Value></rim:ValueList></rim:Slot>"#,
            values.join(",")
        )
    };
    format!(
        r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing">
<soap:Header><wsa:Action>urn:ihe:iti:2007:RegistryStoredQuery</wsa:Action><wsa:MessageID>urn:uuid:{}</wsa:MessageID></soap:Header>
<soap:Body><query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">
<query:ResponseOption returnComposedObjects="true" returnType="LeafClass"/>
<rim:AdhocQuery id="urn:uuid:e8b9677d-a111-436e-8c51-bd9b38352e1c">
<rim:Slot name="$XDSDocumentEntryPatientId"><rim:ValueList><rim:Value>'{patient}^^^&amp;1.2.208.176.1.2&amp;ISO'</rim:Value></rim:ValueList></rim:Slot>
<rim:Slot name="$DdsText"><rim:ValueList><rim:Value>'{}'</rim:Value></rim:ValueList></rim:Slot>{status_slot}
</rim:AdhocQuery></query:AdhocQueryRequest></soap:Body></soap:Envelope>"#,
        uuid::Uuid::new_v4(),
        escape(text)
    )
}

pub fn decode_body(body: &str) -> Message {
    let envelope = soap::parse_envelope(body.as_bytes(), &soap::EnvelopeOptions::default())
        .unwrap_or_else(|e| panic!("{e}: {body}"));
    let inherited: Vec<(Option<&str>, &str)> = envelope
        .body
        .namespaces
        .iter()
        .map(|b| (b.prefix.as_deref(), b.uri.as_str()))
        .collect();
    xds_model::message::parse_message_in_scope(
        envelope.body.bytes(),
        &inherited,
        xds_model::limits::XmlLimits::default(),
    )
    .unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// One DocumentEntry of a search answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub title: String,
    pub entry_uuid: String,
    pub unique_id: String,
    pub snippet: Option<String>,
}

/// A search answer: its status, the warning and error codes, and the entries in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: String,
    pub codes: Vec<String>,
    pub hits: Vec<Hit>,
}

impl Answer {
    pub fn titles(&self) -> Vec<&str> {
        self.hits.iter().map(|h| h.title.as_str()).collect()
    }

    pub fn hit(&self, title: &str) -> &Hit {
        self.hits
            .iter()
            .find(|h| h.title == title)
            .unwrap_or_else(|| panic!("{title:?} not in {:?}", self.titles()))
    }
}

pub fn answer(body: &str) -> Answer {
    let Message::AdhocQueryResponse(response) = decode_body(body) else {
        panic!("not a query answer: {body}");
    };
    let mut hits = Vec::new();
    for object in &response.registry_object_list.objects {
        let Identifiable::ExtrinsicObject(eo) = object else {
            panic!("a search answers DocumentEntries only: {object:?}");
        };
        let entry = DocumentEntry::from_rim(eo).unwrap();
        hits.push(Hit {
            title: entry.title_text().unwrap_or_default().to_owned(),
            entry_uuid: entry.entry_uuid.clone(),
            unique_id: entry.unique_id.as_ref().unwrap().value.clone(),
            snippet: entry
                .extra_slots
                .iter()
                .find(|s| s.name == "urn:dds:2026:snippet")
                .and_then(|s| s.values.first().cloned()),
        });
    }
    Answer {
        status: response
            .response
            .status
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_owned(),
        codes: response
            .response
            .errors
            .iter()
            .flat_map(|list| list.errors.iter().map(|e| e.error_code.clone()))
            .collect(),
        hits,
    }
}

/// An ITI-62 request deleting these objects.
pub fn delete_request(entry_uuids: &[String]) -> String {
    let refs: String = entry_uuids
        .iter()
        .map(|id| format!(r#"<rim:ObjectRef id="{id}"/>"#))
        .collect();
    format!(
        r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing">
<soap:Header><wsa:Action>urn:ihe:iti:2010:DeleteDocumentSet</wsa:Action><wsa:MessageID>urn:uuid:{}</wsa:MessageID></soap:Header>
<soap:Body><lcm:RemoveObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><rim:ObjectRefList>{refs}</rim:ObjectRefList></lcm:RemoveObjectsRequest></soap:Body></soap:Envelope>"#,
        uuid::Uuid::new_v4()
    )
}

/// GetDocumentsAndAssociations for one entry: what deleting its whole submission needs.
pub fn documents_and_associations_request(entry_uuid: &str) -> String {
    format!(
        r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing">
<soap:Header><wsa:Action>urn:ihe:iti:2007:RegistryStoredQuery</wsa:Action><wsa:MessageID>urn:uuid:{}</wsa:MessageID></soap:Header>
<soap:Body><query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">
<query:ResponseOption returnComposedObjects="true" returnType="LeafClass"/>
<rim:AdhocQuery id="urn:uuid:bab9529a-4a10-40b3-a01f-f68a615d247a">
<rim:Slot name="$XDSDocumentEntryEntryUUID"><rim:ValueList><rim:Value>('{entry_uuid}')</rim:Value></rim:ValueList></rim:Slot>
</rim:AdhocQuery></query:AdhocQueryRequest></soap:Body></soap:Envelope>"#,
        uuid::Uuid::new_v4()
    )
}

/// The ids of a whole one-document submission: the entry, its HasMember association and the
/// SubmissionSet, from a GetDocumentsAndAssociations answer.
pub fn submission_ids(body: &str) -> Vec<String> {
    let Message::AdhocQueryResponse(response) = decode_body(body) else {
        panic!("not a query answer: {body}");
    };
    let mut ids = BTreeSet::new();
    for object in &response.registry_object_list.objects {
        ids.insert(object.id().to_owned());
        if let Identifiable::Association(a) = object {
            ids.insert(a.source_object.clone());
        }
    }
    ids.into_iter().collect()
}

/// The ITI-57 sample deprecating `target` (an entryUUID of [`PATIENT`]), every other id fresh.
pub fn deprecate_request(sample: &str, target: &str) -> String {
    let sample_target = "urn:uuid:728c4dc6-820e-523c-94f8-e98c32b1ef67";
    let mut ids: BTreeSet<String> = BTreeSet::new();
    let mut rest = sample;
    while let Some(at) = rest.find("urn:uuid:") {
        let id = &rest[at..at + "urn:uuid:".len() + 36];
        ids.insert(id.to_owned());
        rest = &rest[at + id.len()..];
    }
    let mut out = sample.to_owned();
    for id in ids {
        if !sample.contains(&format!(r#"id="{id}""#)) && id != sample_target {
            continue; // classification schemes and the like stay as they are
        }
        let replacement = if id == sample_target {
            target.to_owned()
        } else {
            format!("urn:uuid:{}", uuid::Uuid::new_v4())
        };
        out = out.replace(&id, &replacement);
    }
    let at = out
        .find(&format!(
            r#"identificationScheme="{SUBMISSION_SET_UNIQUE_ID_SCHEME}""#
        ))
        .unwrap();
    let value = at + out[at..].find(r#"value=""#).unwrap() + r#"value=""#.len();
    let old = out[value..value + out[value..].find('"').unwrap()].to_owned();
    out.replace(&old, &format!("2.25.{}", uuid::Uuid::new_v4().as_u128()))
}
