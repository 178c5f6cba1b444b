//! CDA documents on the command line: the facts `dds submit` reads from a document to fill in
//! its metadata ([`read_facts`]), and the MedCom DK APD shaped appointment documents
//! `dds seed` writes ([`appointment_document`]).
//!
//! Reading is best effort: what the document does not say (or says in a shape not recognised
//! here) is `None` and comes from a flag or a default instead; a document that is not XML at
//! all gives empty facts. Elements are matched by local name and position, as CDA documents
//! bind the HL7 v3 namespace as the default namespace.

use time::OffsetDateTime;
use xds_model::vocabulary::dk;

use super::client::escape;
use super::synthetic::{SyntheticAppointment, SyntheticPatient};

/// The MedCom APD CDA template (`ClinicalDocument/templateId/@root`).
pub const APD_TEMPLATE_ID: &str = "1.2.208.184.14.1";
/// The profile identifier a MedCom document names in `documentationOf/serviceEvent/id`.
const MEDCOM_PROFILE_ROOT: &str = "1.2.208.184.100.3";
/// Largest document whose facts are read, in bytes: CDA headers come first, and a CDA of more
/// than this is unusual; bigger documents are submitted with the facts from flags only.
pub const FACTS_BYTES_MAX: usize = 16 * 1024 * 1024;

/// What a CDA document says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CdaFacts {
    pub is_cda: bool,
    /// `ClinicalDocument/templateId` is the MedCom APD template.
    pub is_apd: bool,
    /// `documentationOf/serviceEvent/id/@extension` under the MedCom profile root, e.g.
    /// `apd-v2.0.1`.
    pub medcom_profile: Option<String>,
    /// `code`: (code, codeSystem, displayName).
    pub type_code: Option<(String, String, Option<String>)>,
    pub title: Option<String>,
    /// `effectiveTime/@value`, as DTM in UTC.
    pub creation_time: Option<String>,
    pub patient_cpr: Option<String>,
    pub patient_given: Vec<String>,
    pub patient_family: Option<String>,
    /// `YYYYMMDD`.
    pub patient_birth_date: Option<String>,
    pub patient_sex: Option<char>,
    pub author_sor: Option<String>,
    pub author_organisation: Option<String>,
    /// "Given … Family".
    pub author_person: Option<String>,
    pub legal_authenticator: Option<String>,
    /// The first `serviceEvent/effectiveTime` (or the encounter's), as DTM in UTC.
    pub service_start_time: Option<String>,
    pub service_stop_time: Option<String>,
    /// SKS codes of `serviceEvent/code` (code, displayName).
    pub event_codes: Vec<(String, Option<String>)>,
}

/// Reads the facts of a CDA document (see the module docs for what "best effort" means).
pub fn read_facts(bytes: &[u8]) -> CdaFacts {
    use quick_xml::events::Event;
    let mut facts = CdaFacts::default();
    if bytes.len() > FACTS_BYTES_MAX {
        return facts;
    }
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut path: Vec<String> = Vec::new();
    let mut name = NameParts::default();
    let mut text = String::new();
    while let Ok(event) = reader.read_event() {
        match event {
            Event::Start(start) => {
                path.push(start.local_name().as_ref().to_owned());
                text.clear();
                element(&mut facts, &path, &start);
            }
            Event::Empty(start) => {
                path.push(start.local_name().as_ref().to_owned());
                element(&mut facts, &path, &start);
                path.pop();
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => super::client::push_reference(&mut text, &r),
            Event::End(_) => {
                let value = text.trim();
                if !value.is_empty() {
                    text_of(&mut facts, &path, &mut name, value.to_owned());
                }
                text.clear();
                if path.last().map(String::as_str) == Some("name") {
                    name_end(&mut facts, &path, std::mem::take(&mut name));
                }
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    facts
}

/// The parts of an HL7 `name` being read.
#[derive(Debug, Default)]
struct NameParts {
    given: Vec<String>,
    family: Option<String>,
}

fn attr(start: &quick_xml::events::BytesStart<'_>, name: &str) -> Option<String> {
    start
        .attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.trim().to_owned())
        })
        .filter(|v| !v.is_empty())
}

fn ends_with(path: &[String], tail: &[&str]) -> bool {
    path.len() >= tail.len()
        && path[path.len() - tail.len()..]
            .iter()
            .zip(tail)
            .all(|(a, b)| a == b)
}

fn element(facts: &mut CdaFacts, path: &[String], start: &quick_xml::events::BytesStart<'_>) {
    let depth = path.len();
    if depth == 1 {
        facts.is_cda = path[0] == "ClinicalDocument";
        return;
    }
    if !facts.is_cda {
        return;
    }
    if depth == 2 {
        match path[1].as_str() {
            "templateId" => {
                facts.is_apd |= attr(start, "root").as_deref() == Some(APD_TEMPLATE_ID);
            }
            "code" => {
                if let (Some(code), Some(system)) = (attr(start, "code"), attr(start, "codeSystem"))
                {
                    facts.type_code = Some((code, system, attr(start, "displayName")));
                }
            }
            "effectiveTime" => {
                facts.creation_time = attr(start, "value").and_then(|v| ts_to_dtm(&v))
            }
            _ => {}
        }
        return;
    }
    if ends_with(path, &["recordTarget", "patientRole", "id"])
        && attr(start, "root").as_deref() == Some(dk::CPR_OID)
    {
        facts.patient_cpr = attr(start, "extension");
    } else if ends_with(path, &["patient", "birthTime"]) {
        facts.patient_birth_date = attr(start, "value").and_then(|v| v.get(..8).map(str::to_owned));
    } else if ends_with(path, &["patient", "administrativeGenderCode"]) {
        facts.patient_sex = attr(start, "code").and_then(|c| match c.as_str() {
            "F" => Some('F'),
            "M" => Some('M'),
            _ => None,
        });
    } else if ends_with(path, &["author", "assignedAuthor", "id"])
        && attr(start, "root").as_deref() == Some(dk::SOR_OID)
        && facts.author_sor.is_none()
    {
        facts.author_sor = attr(start, "extension");
    } else if ends_with(path, &["documentationOf", "serviceEvent", "code"])
        && attr(start, "codeSystem").as_deref() == Some(dk::SKS)
        && let Some(code) = attr(start, "code")
    {
        facts.event_codes.push((code, attr(start, "displayName")));
    } else if ends_with(path, &["documentationOf", "serviceEvent", "id"])
        && attr(start, "root").as_deref() == Some(MEDCOM_PROFILE_ROOT)
    {
        facts.medcom_profile = attr(start, "extension");
    } else if (ends_with(path, &["serviceEvent", "effectiveTime", "low"])
        || ends_with(path, &["encompassingEncounter", "effectiveTime", "low"]))
        && facts.service_start_time.is_none()
    {
        facts.service_start_time = attr(start, "value").and_then(|v| ts_to_dtm(&v));
    } else if (ends_with(path, &["serviceEvent", "effectiveTime", "high"])
        || ends_with(path, &["encompassingEncounter", "effectiveTime", "high"]))
        && facts.service_stop_time.is_none()
    {
        facts.service_stop_time = attr(start, "value").and_then(|v| ts_to_dtm(&v));
    }
}

fn text_of(facts: &mut CdaFacts, path: &[String], name: &mut NameParts, value: String) {
    if !facts.is_cda {
        return;
    }
    if path.len() == 2 && path[1] == "title" {
        facts.title = Some(value);
    } else if ends_with(path, &["name", "given"]) {
        name.given.push(value);
    } else if ends_with(path, &["name", "family"]) {
        name.family = Some(value);
    } else if ends_with(
        path,
        &[
            "author",
            "assignedAuthor",
            "representedOrganization",
            "name",
        ],
    ) && facts.author_organisation.is_none()
    {
        facts.author_organisation = Some(value);
    }
}

fn name_end(facts: &mut CdaFacts, path: &[String], name: NameParts) {
    let full = || {
        let mut parts = name.given.clone();
        parts.extend(name.family.clone());
        let full = parts.join(" ");
        (!full.is_empty()).then_some(full)
    };
    if ends_with(path, &["recordTarget", "patientRole", "patient", "name"]) {
        facts.patient_given = name.given.clone();
        facts.patient_family = name.family.clone();
    } else if ends_with(
        path,
        &["author", "assignedAuthor", "assignedPerson", "name"],
    ) && facts.author_person.is_none()
    {
        facts.author_person = full();
    } else if ends_with(
        path,
        &[
            "legalAuthenticator",
            "assignedEntity",
            "assignedPerson",
            "name",
        ],
    ) && facts.legal_authenticator.is_none()
    {
        facts.legal_authenticator = full();
    }
}

/// An HL7 TS (`YYYYMMDDhhmmss[.fff][+zzzz]`, seconds and minutes optional) as an XDS DTM in
/// UTC. Without a zone the value is taken as it is (XDS says UTC).
pub fn ts_to_dtm(ts: &str) -> Option<String> {
    let (local, zone) = match ts.find(['+', '-']) {
        Some(at) => (&ts[..at], Some(&ts[at..])),
        None => (ts, None),
    };
    let local = local.split('.').next()?;
    if local.len() < 8 || local.len() > 14 || !local.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let Some(zone) = zone else {
        return Some(local.to_owned());
    };
    let digits = |range: std::ops::Range<usize>| -> Option<u8> {
        local.get(range).map_or(Some(0), |s| s.parse().ok())
    };
    let year: i32 = local.get(0..4)?.parse().ok()?;
    let month = time::Month::try_from(digits(4..6)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, digits(6..8)?).ok()?;
    let clock = time::Time::from_hms(digits(8..10)?, digits(10..12)?, digits(12..14)?).ok()?;
    if zone.len() != 5 {
        return None;
    }
    let sign: i8 = if zone.starts_with('-') { -1 } else { 1 };
    let hours: i8 = zone.get(1..3)?.parse().ok()?;
    let minutes: i8 = zone.get(3..5)?.parse().ok()?;
    let offset = time::UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()?;
    let utc = time::PrimitiveDateTime::new(date, clock).assume_offset(offset);
    let dtm = super::metadata::dtm(utc);
    // Keep the precision the source gave.
    dtm.get(..local.len()).map(str::to_owned)
}

/// An HL7 TS with its zone: `YYYYMMDDhhmmss+zzzz`.
pub fn ts(at: OffsetDateTime) -> String {
    let offset = at.offset();
    let (hours, minutes, _) = offset.as_hms();
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}{}{:02}{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        if offset.is_negative() { '-' } else { '+' },
        hours.unsigned_abs(),
        minutes.unsigned_abs()
    )
}

/// A small MedCom DK APD v2.0.1 shaped appointment document (about 4 KB) for a synthetic
/// patient and appointment: the header DK-IHE metadata is read from, the appointment period,
/// the SKS care pathway, and a Danish narrative of where, when and how to prepare.
pub fn appointment_document(
    patient: &SyntheticPatient,
    appointment: &SyntheticAppointment,
) -> String {
    let p = &patient.patient;
    let d = appointment.department;
    let (what, where_, prepare) = appointment.visit;
    let given: String = p
        .given
        .iter()
        .map(|g| format!("<given>{}</given>", escape(g)))
        .collect();
    let family = escape(p.family.as_deref().unwrap_or(""));
    let person = |full: &str| -> String {
        let parts: Vec<&str> = full.split_whitespace().collect();
        match parts.split_last() {
            Some((last, first)) => {
                let given: String = first
                    .iter()
                    .map(|g| format!("<given>{}</given>", escape(g)))
                    .collect();
                format!("<name>{given}<family>{}</family></name>", escape(last))
            }
            None => "<name/>".to_owned(),
        }
    };
    let sor = escape(d.sor);
    let org = escape(d.name);
    let org_addr = format!(
        "<addr use=\"WP\"><streetAddressLine>{}</streetAddressLine><postalCode>{}</postalCode><city>{}</city></addr>",
        escape(d.street),
        escape(d.postal_code),
        escape(d.city)
    );
    let created = ts(appointment.created);
    let (low, high) = (ts(appointment.start), ts(appointment.end));
    let when = format!(
        "{:04}-{:02}-{:02} {:02}:{:02} - {:02}:{:02}",
        appointment.start.year(),
        u8::from(appointment.start.month()),
        appointment.start.day(),
        appointment.start.hour(),
        appointment.start.minute(),
        appointment.end.hour(),
        appointment.end.minute()
    );
    let encounter_id = appointment.document_id;
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- Synthetic appointment (dds seed). All persons are fictitious. -->
<ClinicalDocument xmlns="urn:hl7-org:v3" classCode="DOCCLIN" moodCode="EVN">
  <realmCode code="DK"/>
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <templateId root="{APD_TEMPLATE_ID}" extension="2019-09-10"/>
  <id root="1.2.208.184" extension="{document_id}" assigningAuthorityName="MedCom"/>
  <code code="39289-4" codeSystem="{loinc}" codeSystemName="LOINC" displayName="Dato og tidspunkt for møde mellem patient og sundhedsperson"/>
  <title>Aftale for {cpr}</title>
  <effectiveTime value="{created}"/>
  <confidentialityCode code="N" codeSystem="{confidentiality}"/>
  <languageCode code="da-DK"/>
  <setId root="1.2.208.184" extension="{document_id}"/>
  <versionNumber value="1"/>
  <recordTarget typeCode="RCT" contextControlCode="OP">
    <patientRole classCode="PAT">
      <id extension="{cpr}" root="{cpr_oid}" assigningAuthorityName="CPR"/>
      <addr use="H"><streetAddressLine>{street}</streetAddressLine><postalCode>{postal}</postalCode><city>{city}</city></addr>
      <patient classCode="PSN" determinerCode="INSTANCE">
        <name>{given}<family>{family}</family></name>
        <administrativeGenderCode code="{sex}" codeSystem="2.16.840.1.113883.5.1"/>
        <birthTime value="{birth}000000+0000"/>
      </patient>
    </patientRole>
  </recordTarget>
  <author typeCode="AUT" contextControlCode="OP">
    <time value="{created}"/>
    <assignedAuthor classCode="ASSIGNED">
      <id extension="{sor}" root="{sor_oid}" assigningAuthorityName="SOR"/>
      {org_addr}
      <telecom value="tel:{phone}" use="WP"/>
      <assignedPerson classCode="PSN" determinerCode="INSTANCE">{author}</assignedPerson>
      <representedOrganization classCode="ORG" determinerCode="INSTANCE"><name>{org}</name></representedOrganization>
    </assignedAuthor>
  </author>
  <custodian typeCode="CST">
    <assignedCustodian classCode="ASSIGNED">
      <representedCustodianOrganization classCode="ORG" determinerCode="INSTANCE">
        <id extension="{sor}" root="{sor_oid}" assigningAuthorityName="SOR"/>
        <name>{org}</name>
      </representedCustodianOrganization>
    </assignedCustodian>
  </custodian>
  <legalAuthenticator typeCode="LA" contextControlCode="OP">
    <time value="{created}"/>
    <signatureCode code="S"/>
    <assignedEntity classCode="ASSIGNED">
      <id extension="{sor}" root="{sor_oid}" assigningAuthorityName="SOR"/>
      <assignedPerson classCode="PSN" determinerCode="INSTANCE">{legal}</assignedPerson>
    </assignedEntity>
  </legalAuthenticator>
  <documentationOf typeCode="DOC">
    <serviceEvent classCode="MPROT" moodCode="EVN">
      <templateId root="1.2.208.184.10.1.11"/>
      <effectiveTime><low value="{low}"/><high value="{high}"/></effectiveTime>
    </serviceEvent>
  </documentationOf>
  <documentationOf typeCode="DOC">
    <serviceEvent classCode="MPROT" moodCode="EVN">
      <templateId root="1.2.208.184.10.1.10"/>
      <id root="{MEDCOM_PROFILE_ROOT}" extension="apd-v2.0.1" assigningAuthorityName="MedCom"/>
    </serviceEvent>
  </documentationOf>
  <documentationOf typeCode="DOC">
    <serviceEvent classCode="MPROT" moodCode="EVN">
      <templateId root="1.2.208.184.10.1.12"/>
      <code code="{pathway}" codeSystem="{sks}" codeSystemName="SKS" displayName="{pathway_name}"/>
    </serviceEvent>
  </documentationOf>
  <componentOf>
    <encompassingEncounter classCode="ENC" moodCode="EVN">
      <id root="1.2.208.184" extension="{encounter_id}" assigningAuthorityName="MedCom"/>
      <effectiveTime><low value="{low}"/><high value="{high}"/></effectiveTime>
    </encompassingEncounter>
  </componentOf>
  <component>
    <structuredBody>
      <component>
        <section classCode="DOCSECT" moodCode="EVN">
          <templateId root="1.2.208.184.14.11.1" extension="2019-09-10"/>
          <code code="18776-5" codeSystem="{loinc}" codeSystemName="LOINC"/>
          <title>Aftale</title>
          <text>
            <paragraph>Du har en aftale på {org}: {what}.</paragraph>
            <paragraph>Tidspunkt: {when}. Mødested: {where_}, {street_org}, {postal_org} {city_org}.</paragraph>
            <paragraph>Forberedelse: {prepare}</paragraph>
            <paragraph>Er du forhindret, så ring venligst på tlf. {phone}.</paragraph>
          </text>
        </section>
      </component>
    </structuredBody>
  </component>
</ClinicalDocument>
"#,
        document_id = appointment.document_id,
        loinc = dk::LOINC,
        confidentiality = dk::CONFIDENTIALITY_SYSTEM,
        cpr = escape(&p.cpr),
        cpr_oid = dk::CPR_OID,
        sor_oid = dk::SOR_OID,
        sks = dk::SKS,
        street = escape(&patient.street),
        postal = escape(patient.postal_code),
        city = escape(patient.city),
        sex = p.sex.unwrap_or('F'),
        birth = p.birth_date.as_deref().unwrap_or("19700101"),
        phone = escape(d.phone),
        author = person(&appointment.author),
        legal = person(&appointment.legal_authenticator),
        pathway = escape(d.pathway.0),
        pathway_name = escape(d.pathway.1),
        what = escape(what),
        where_ = escape(where_),
        prepare = escape(prepare),
        street_org = escape(d.street),
        postal_org = escape(d.postal_code),
        city_org = escape(d.city),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Vec<u8> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/documents");
        std::fs::read(root.join(name)).unwrap()
    }

    #[test]
    fn the_sample_appointment_says_what_its_metadata_says() {
        let facts = read_facts(&sample("apd-0101700013-ekkokardiografi.xml"));
        assert!(facts.is_cda && facts.is_apd);
        assert_eq!(facts.medcom_profile.as_deref(), Some("apd-v2.0.1"));
        assert_eq!(facts.patient_cpr.as_deref(), Some("0101700013"));
        assert_eq!(facts.patient_given, ["Jens", "Peter"]);
        assert_eq!(facts.patient_family.as_deref(), Some("Mikkelsen"));
        assert_eq!(facts.patient_birth_date.as_deref(), Some("19700101"));
        assert_eq!(facts.patient_sex, Some('M'));
        assert_eq!(facts.title.as_deref(), Some("Aftale for 0101700013"));
        // The sample's metadata (samples/iti-41/pnr-single-apd.xml) says the same.
        assert_eq!(facts.creation_time.as_deref(), Some("20261202072000"));
        assert_eq!(facts.service_start_time.as_deref(), Some("20270114120000"));
        assert_eq!(facts.service_stop_time.as_deref(), Some("20270114130000"));
        assert_eq!(facts.author_sor.as_deref(), Some("242621000016001"));
        assert_eq!(
            facts.author_organisation.as_deref(),
            Some("Aarhus Universitetshospital, Hjertesygdomme")
        );
        assert_eq!(
            facts.author_person.as_deref(),
            Some("Søren Vestergaard Holt")
        );
        assert_eq!(facts.legal_authenticator.as_deref(), Some("Lise Krag"));
        assert_eq!(
            facts.event_codes,
            [("ALAL02".to_owned(), Some("Hjertesygdomme".to_owned()))]
        );
        assert_eq!(
            facts.type_code.as_ref().map(|t| t.0.as_str()),
            Some("39289-4")
        );
    }

    #[test]
    fn text_is_not_a_cda() {
        let facts = read_facts(&sample("note-2512489996-praktisk-information.txt"));
        assert_eq!(facts, CdaFacts::default());
    }

    #[test]
    fn ts_becomes_utc_dtm() {
        assert_eq!(
            ts_to_dtm("20270114130000+0100").as_deref(),
            Some("20270114120000")
        );
        assert_eq!(ts_to_dtm("20270114").as_deref(), Some("20270114"));
        assert_eq!(
            ts_to_dtm("202701140030-0130").as_deref(),
            Some("202701140200")
        );
        assert_eq!(ts_to_dtm("2027-01-14"), None);
    }

    #[test]
    fn synthetic_documents_read_back_as_written() {
        let mut generator = super::super::synthetic::Generator::new(3);
        let patient = generator.patient();
        let appointment = generator.appointment();
        let xml = appointment_document(&patient, &appointment);
        let facts = read_facts(xml.as_bytes());
        assert!(facts.is_apd);
        assert_eq!(
            facts.patient_cpr.as_deref(),
            Some(patient.patient.cpr.as_str())
        );
        assert_eq!(
            facts.author_sor.as_deref(),
            Some(appointment.department.sor)
        );
        assert_eq!(
            facts.service_start_time,
            Some(super::super::metadata::dtm(appointment.start))
        );
        assert_eq!(facts.event_codes[0].0, appointment.department.pathway.0);
        assert_eq!(
            facts.author_person.as_deref(),
            Some(appointment.author.as_str())
        );
    }
}
