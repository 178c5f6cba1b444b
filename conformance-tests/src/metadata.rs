//! Submissions (ITI-42 and ITI-57) built from `samples/iti-42/register-apd.xml`, which
//! validates clean against the XDS + DK profile, with fresh ids.
//!
//! The template's SubmissionSet and DocumentEntry blocks are cut out of the sample once and
//! stamped per object: the entryUUID (`urn:uuid:`, chosen here so that follow-up steps can
//! name it before the registry answers), the uniqueId (a fresh `2.25.` OID: uniqueIds must be
//! unique per registration), the patient (CPR in the DK assigning authority) and the few codes
//! and times a scenario filters on. Classifications and external identifiers keep symbolic
//! ids (`<label>-classCode`), which the registry replaces by fresh UUIDs.
//!
//! Invariant: apart from what a builder sets, every emitted object is the sample's, so a
//! Failure is the registry's verdict on what the scenario changed, not on template rot.

use std::path::Path;
use std::sync::OnceLock;

use crate::envelope;

/// The sample's values a builder substitutes.
mod template {
    pub const SUBMISSION_SET_ID: &str = "SubmissionSet01";
    pub const DOCUMENT_ID: &str = "Document01";
    pub const PATIENT_CPR: &str = "0201919990";
    pub const SUBMISSION_SET_UNIQUE_ID: &str = "2.25.976124195860062421492032300286795466";
    pub const DOCUMENT_UNIQUE_ID: &str = "2.25.273056530776893406633330744903243996367";
    pub const EVENT_CODE: &str = r#"nodeRepresentation="ALAL23""#;
    pub const CLASS_CODE: &str = r#"nodeRepresentation="001""#;
    pub const CREATION_TIME: &str = "<rim:Value>20261203115500</rim:Value>";
    pub const SERVICE_START_TIME: &str = "<rim:Value>20270119090000</rim:Value>";
    pub const SUBMISSION_TIME: &str = "<rim:Value>20261203120010</rim:Value>";
    pub const HASH: &str = "f0cf87ebe1629d49eb43ef3aa4147a8f4bece032";
}

/// The SubmissionSet block (RegistryPackage plus its marker classification) and the
/// DocumentEntry block of the sample.
struct Blocks {
    submission_set: String,
    document: String,
}

fn blocks() -> &'static Blocks {
    static BLOCKS: OnceLock<Blocks> = OnceLock::new();
    BLOCKS.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/iti-42/register-apd.xml");
        let sample = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        Blocks {
            submission_set: cut(
                &sample,
                r#"<rim:RegistryPackage id="SubmissionSet01""#,
                r#"classificationNode="urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"/>"#,
            ),
            document: cut(
                &sample,
                r#"<rim:ExtrinsicObject id="Document01""#,
                "</rim:ExtrinsicObject>",
            ),
        }
    })
}

/// The text from `start` to the end of the first `end` after it.
fn cut(text: &str, start: &str, end: &str) -> String {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("template lacks {start}"));
    let to = text[from..]
        .find(end)
        .unwrap_or_else(|| panic!("template lacks {end} after {start}"))
        + from
        + end.len();
    text[from..to].to_owned()
}

/// A fresh `urn:uuid:` entryUUID.
pub fn new_uuid() -> String {
    format!("urn:uuid:{}", uuid::Uuid::new_v4())
}

/// A fresh uniqueId: the `2.25.` OID of a random UUID.
pub fn new_unique_id() -> String {
    format!("2.25.{}", uuid::Uuid::new_v4().as_u128())
}

/// `CPR^^^&1.2.208.176.1.2&ISO`, as the patientId travels in metadata (unescaped).
pub fn patient_id(cpr: &str) -> String {
    format!("{cpr}^^^&1.2.208.176.1.2&ISO")
}

/// Stamps the sample's symbolic id into an entryUUID (the object and every reference to it)
/// and the label used for its sub-objects.
fn stamp_id(block: &str, symbolic: &str, entry_uuid: &str, label: &str) -> String {
    block
        .replace(&format!("\"{symbolic}\""), &format!("\"{entry_uuid}\""))
        .replace(&format!("{symbolic}-"), &format!("{label}-"))
}

/// One DocumentEntry of a submission.
#[derive(Debug, Clone)]
pub struct Doc {
    pub entry_uuid: String,
    pub unique_id: String,
    pub patient_cpr: String,
    /// `logicalId`; set for an ITI-57 new version (the original's lid).
    pub lid: Option<String>,
    /// SKS event code (scheme 1.2.208.176.2.4).
    pub event_code: String,
    /// classCode in 1.2.208.184.100.9.
    pub class_code: String,
    /// DTM, 14 digits.
    pub creation_time: String,
    pub service_start_time: String,
    /// Replaces the sample's hash (to submit the same uniqueId with other content).
    pub hash: Option<String>,
    /// `urn:ihe:iti:xds:2013:referenceIdList` values (CXi), unescaped.
    pub reference_ids: Vec<String>,
    /// Symbolic label for sub-object ids; unique within a submission.
    label: String,
}

impl Doc {
    /// A DocumentEntry like the sample's, for `patient_cpr`, with fresh entryUUID and uniqueId.
    pub fn new(patient_cpr: &str) -> Doc {
        Doc {
            entry_uuid: new_uuid(),
            unique_id: new_unique_id(),
            patient_cpr: patient_cpr.to_owned(),
            lid: None,
            event_code: "ALAL23".into(),
            class_code: "001".into(),
            creation_time: "20261203115500".into(),
            service_start_time: "20270119090000".into(),
            hash: None,
            reference_ids: Vec::new(),
            label: format!("Doc-{}", uuid::Uuid::new_v4().simple()),
        }
    }

    pub fn event_code(mut self, code: &str) -> Doc {
        self.event_code = code.to_owned();
        self
    }

    pub fn creation_time(mut self, dtm: &str) -> Doc {
        self.creation_time = dtm.to_owned();
        self
    }

    pub fn service_start_time(mut self, dtm: &str) -> Doc {
        self.service_start_time = dtm.to_owned();
        self
    }

    pub fn unique_id(mut self, unique_id: &str) -> Doc {
        self.unique_id = unique_id.to_owned();
        self
    }

    pub fn hash(mut self, sha1_hex: &str) -> Doc {
        self.hash = Some(sha1_hex.to_owned());
        self
    }

    pub fn reference_id(mut self, cxi: &str) -> Doc {
        self.reference_ids.push(cxi.to_owned());
        self
    }

    /// A new version of `original` (ITI-57): fresh entryUUID, same logicalId and uniqueId.
    pub fn new_version_of(original: &Doc) -> Doc {
        let mut doc = original.clone();
        doc.lid = Some(original.lid.clone().unwrap_or(original.entry_uuid.clone()));
        doc.entry_uuid = new_uuid();
        doc.label = format!("Doc-{}", uuid::Uuid::new_v4().simple());
        doc
    }

    fn xml(&self) -> String {
        let mut xml = stamp_id(
            &blocks().document,
            template::DOCUMENT_ID,
            &self.entry_uuid,
            &self.label,
        )
        .replace(template::DOCUMENT_UNIQUE_ID, &self.unique_id)
        .replace(template::PATIENT_CPR, &self.patient_cpr)
        .replace(
            template::EVENT_CODE,
            &format!(r#"nodeRepresentation="{}""#, self.event_code),
        )
        .replace(
            template::CLASS_CODE,
            &format!(r#"nodeRepresentation="{}""#, self.class_code),
        )
        .replace(
            template::CREATION_TIME,
            &format!("<rim:Value>{}</rim:Value>", self.creation_time),
        )
        .replace(
            template::SERVICE_START_TIME,
            &format!("<rim:Value>{}</rim:Value>", self.service_start_time),
        );
        if let Some(hash) = &self.hash {
            xml = xml.replace(template::HASH, hash);
        }
        if !self.reference_ids.is_empty() {
            let values: String = self
                .reference_ids
                .iter()
                .map(|v| format!("<rim:Value>{}</rim:Value>", v.replace('&', "&amp;")))
                .collect();
            xml = xml.replacen(
                r#"<rim:Slot name="creationTime">"#,
                &format!(
                    r#"<rim:Slot name="urn:ihe:iti:xds:2013:referenceIdList"><rim:ValueList>{values}</rim:ValueList></rim:Slot><rim:Slot name="creationTime">"#
                ),
                1,
            );
        }
        if let Some(lid) = &self.lid {
            xml = xml.replacen(
                &format!(r#"id="{}""#, self.entry_uuid),
                &format!(r#"id="{}" lid="{lid}""#, self.entry_uuid),
                1,
            );
        }
        xml
    }
}

/// One Folder of a submission.
#[derive(Debug, Clone)]
pub struct Folder {
    pub entry_uuid: String,
    pub unique_id: String,
    pub patient_cpr: String,
    /// Folder codeList code (SKS, 1.2.208.176.2.4).
    pub code: String,
}

impl Folder {
    pub fn new(patient_cpr: &str) -> Folder {
        Folder {
            entry_uuid: new_uuid(),
            unique_id: new_unique_id(),
            patient_cpr: patient_cpr.to_owned(),
            code: "ALAL23".into(),
        }
    }

    fn xml(&self) -> String {
        let Folder {
            entry_uuid: id,
            unique_id,
            patient_cpr,
            code,
        } = self;
        let label = format!("Folder-{}", uuid::Uuid::new_v4().simple());
        format!(
            r#"<rim:RegistryPackage id="{id}" objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:RegistryPackage">
  <rim:Name><rim:LocalizedString xml:lang="da-DK" value="Osteoporoseforløb"/></rim:Name>
  <rim:Classification id="{label}-codeList" objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification" classificationScheme="urn:uuid:1ba97051-7806-41a8-a48b-8fce7af683c5" classifiedObject="{id}" nodeRepresentation="{code}">
    <rim:Slot name="codingScheme"><rim:ValueList><rim:Value>1.2.208.176.2.4</rim:Value></rim:ValueList></rim:Slot>
    <rim:Name><rim:LocalizedString xml:lang="da-DK" value="Osteoporose"/></rim:Name>
  </rim:Classification>
  <rim:ExternalIdentifier id="{label}-patientId" objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:ExternalIdentifier" registryObject="{id}" identificationScheme="urn:uuid:f64ffdf0-4b97-4e06-b79f-a52b38ec2f8a" value="{patient_cpr}^^^&amp;1.2.208.176.1.2&amp;ISO">
    <rim:Name><rim:LocalizedString xml:lang="da-DK" value="XDSFolder.patientId"/></rim:Name>
  </rim:ExternalIdentifier>
  <rim:ExternalIdentifier id="{label}-uniqueId" objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:ExternalIdentifier" registryObject="{id}" identificationScheme="urn:uuid:75df8f67-9973-4fbe-a900-df66cefecc5a" value="{unique_id}">
    <rim:Name><rim:LocalizedString xml:lang="da-DK" value="XDSFolder.uniqueId"/></rim:Name>
  </rim:ExternalIdentifier>
</rim:RegistryPackage>
<rim:Classification id="{label}-folderNode" objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification" classifiedObject="{id}" classificationNode="urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2"/>
"#
        )
    }
}

/// Association types used here.
pub mod association {
    pub const HAS_MEMBER: &str = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember";
    pub const RPLC: &str = "urn:ihe:iti:2007:AssociationType:RPLC";
    pub const APND: &str = "urn:ihe:iti:2007:AssociationType:APND";
    pub const UPDATE_AVAILABILITY_STATUS: &str =
        "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus";
}

/// Availability statuses.
pub mod status {
    pub const APPROVED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved";
    pub const DEPRECATED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated";
}

/// One Association of a submission.
#[derive(Debug, Clone)]
pub struct Assoc {
    pub entry_uuid: String,
    pub kind: String,
    pub source: String,
    pub target: String,
    /// `(slot name, value)` pairs (SubmissionSetStatus, PreviousVersion, OriginalStatus …).
    pub slots: Vec<(String, String)>,
}

impl Assoc {
    pub fn new(kind: &str, source: &str, target: &str) -> Assoc {
        Assoc {
            entry_uuid: new_uuid(),
            kind: kind.to_owned(),
            source: source.to_owned(),
            target: target.to_owned(),
            slots: Vec::new(),
        }
    }

    pub fn slot(mut self, name: &str, value: &str) -> Assoc {
        self.slots.push((name.to_owned(), value.to_owned()));
        self
    }

    fn xml(&self) -> String {
        let slots: String = self
            .slots
            .iter()
            .map(|(name, value)| {
                format!(
                    r#"<rim:Slot name="{name}"><rim:ValueList><rim:Value>{value}</rim:Value></rim:ValueList></rim:Slot>"#
                )
            })
            .collect();
        format!(
            r#"<rim:Association id="{}" objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association" associationType="{}" sourceObject="{}" targetObject="{}">{slots}</rim:Association>
"#,
            self.entry_uuid, self.kind, self.source, self.target
        )
    }
}

/// A SubmitObjectsRequest: one SubmissionSet and what it carries.
#[derive(Debug, Clone)]
pub struct Submission {
    pub submission_set_uuid: String,
    pub submission_set_unique_id: String,
    pub patient_cpr: String,
    /// false: leave the SubmissionSet out (an invalid submission).
    pub with_submission_set: bool,
    pub docs: Vec<Doc>,
    pub folders: Vec<Folder>,
    pub associations: Vec<Assoc>,
}

impl Submission {
    /// An empty submission for `patient_cpr`'s SubmissionSet.
    pub fn new(patient_cpr: &str) -> Submission {
        Submission {
            submission_set_uuid: new_uuid(),
            submission_set_unique_id: new_unique_id(),
            patient_cpr: patient_cpr.to_owned(),
            with_submission_set: true,
            docs: Vec::new(),
            folders: Vec::new(),
            associations: Vec::new(),
        }
    }

    /// Adds `doc` and the SubmissionSet's HasMember (SubmissionSetStatus Original) to it.
    pub fn doc(mut self, doc: &Doc) -> Submission {
        self.associations.push(
            Assoc::new(
                association::HAS_MEMBER,
                &self.submission_set_uuid,
                &doc.entry_uuid,
            )
            .slot("SubmissionSetStatus", "Original"),
        );
        self.docs.push(doc.clone());
        self
    }

    /// ITI-57: adds the new version `doc` and the SubmissionSet's HasMember to it with
    /// SubmissionSetStatus Original and `PreviousVersion` (the version it replaces).
    pub fn new_version(mut self, doc: &Doc, previous_version: u32) -> Submission {
        self.associations.push(
            Assoc::new(
                association::HAS_MEMBER,
                &self.submission_set_uuid,
                &doc.entry_uuid,
            )
            .slot("SubmissionSetStatus", "Original")
            .slot("PreviousVersion", &previous_version.to_string()),
        );
        self.docs.push(doc.clone());
        self
    }

    /// Adds `folder`, the SubmissionSet's HasMember to it, and for each of `members` the
    /// Folder's HasMember plus the SubmissionSet's HasMember of that association.
    pub fn folder(mut self, folder: &Folder, members: &[&Doc]) -> Submission {
        self.associations.push(Assoc::new(
            association::HAS_MEMBER,
            &self.submission_set_uuid,
            &folder.entry_uuid,
        ));
        for doc in members {
            let membership =
                Assoc::new(association::HAS_MEMBER, &folder.entry_uuid, &doc.entry_uuid);
            self.associations.push(Assoc::new(
                association::HAS_MEMBER,
                &self.submission_set_uuid,
                &membership.entry_uuid,
            ));
            self.associations.push(membership);
        }
        self.folders.push(folder.clone());
        self
    }

    /// Adds any association (RPLC, APND, UpdateAvailabilityStatus …).
    pub fn association(mut self, association: Assoc) -> Submission {
        self.associations.push(association);
        self
    }

    /// Drops the SubmissionSet from the emitted XML (its associations stay).
    pub fn without_submission_set(mut self) -> Submission {
        self.with_submission_set = false;
        self
    }

    /// The `rim:RegistryObjectList` content.
    pub fn objects_xml(&self) -> String {
        let mut xml = String::new();
        if self.with_submission_set {
            xml.push_str(
                &stamp_id(
                    &blocks().submission_set,
                    template::SUBMISSION_SET_ID,
                    &self.submission_set_uuid,
                    &format!("SS-{}", uuid::Uuid::new_v4().simple()),
                )
                .replace(
                    template::SUBMISSION_SET_UNIQUE_ID,
                    &self.submission_set_unique_id,
                )
                .replace(template::PATIENT_CPR, &self.patient_cpr)
                .replace(
                    template::SUBMISSION_TIME,
                    &format!("<rim:Value>{}</rim:Value>", now_dtm()),
                ),
            );
            xml.push('\n');
        }
        for doc in &self.docs {
            xml.push_str(&doc.xml());
            xml.push('\n');
        }
        for folder in &self.folders {
            xml.push_str(&folder.xml());
        }
        for association in &self.associations {
            xml.push_str(&association.xml());
        }
        xml
    }

    /// The ITI-42 Register Document Set-b envelope.
    pub fn register(&self) -> String {
        envelope::submit_objects(envelope::action::REGISTER, &self.objects_xml())
    }

    /// The ITI-57 Update Document Set envelope.
    pub fn update(&self) -> String {
        envelope::submit_objects(envelope::action::UPDATE, &self.objects_xml())
    }
}

/// The current UTC time as a DTM (`YYYYMMDDhhmmss`).
pub fn now_dtm() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}
