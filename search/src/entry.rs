//! What of a DocumentEntry's metadata is searchable, as index text.

use xds_model::xds::{Classified, Code, DocumentEntry};

use crate::index::IndexedEntry;

/// The index form of `entry` (without the document's text): title, and as metadata the display
/// names of its codes, its authors' names, their institutions' names and its comments.
/// `patient_id` is the registry's patient column, which searches compare with.
pub fn indexed_entry(entry: &DocumentEntry, patient_id: Option<&str>) -> IndexedEntry {
    let mut metadata: Vec<String> = Vec::new();
    let codes = [
        &entry.class_code,
        &entry.type_code,
        &entry.format_code,
        &entry.practice_setting_code,
        &entry.healthcare_facility_type_code,
    ];
    for code in codes.into_iter().flatten() {
        push_display_name(&mut metadata, code);
    }
    for code in &entry.event_code_list {
        push_display_name(&mut metadata, code);
    }
    for author in &entry.author {
        if let Some(person) = &author.value.person {
            metadata.push(person_name(person));
        }
        for institution in &author.value.institutions {
            // XON: the organisation's name is the first component; the rest are identifiers.
            let name = institution.split('^').next().unwrap_or_default();
            metadata.push(name.to_owned());
        }
        for specialty in &author.value.specialties {
            metadata.push(specialty.split('^').next().unwrap_or_default().to_owned());
        }
    }
    if let Some(comments) = &entry.comments {
        metadata.extend(comments.localized.iter().map(|l| l.value.clone()));
    }
    metadata.retain(|m| !m.trim().is_empty());
    IndexedEntry {
        entry_uuid: entry.entry_uuid.clone(),
        patient_id: patient_id
            .map(str::to_owned)
            .or_else(|| entry.patient_id.as_ref().map(|p| p.value.clone()))
            .unwrap_or_default(),
        status: entry.availability_status.clone().unwrap_or_default(),
        title: entry.title_text().unwrap_or_default().to_owned(),
        metadata: metadata.join("\n"),
        body: String::new(),
    }
}

fn push_display_name(out: &mut Vec<String>, code: &Classified<Code>) {
    if let Some(name) = &code.value.display_name {
        out.push(name.clone());
    }
}

/// The name parts of an XCN (`id^family^given^middle^suffix^prefix…`), without the id and the
/// assigning authority.
fn person_name(xcn: &str) -> String {
    xcn.split('^')
        .skip(1)
        .take(5)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_is_searchable_by_name_not_by_identifier() {
        assert_eq!(
            person_name("0101700013^Hansen^Jens^Peter^^Dr.^^^&1.2.208.176.1.2&ISO"),
            "Hansen Jens Peter Dr."
        );
        assert_eq!(person_name("^Jensen^Mette"), "Jensen Mette");
    }
}
