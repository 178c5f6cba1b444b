//! Submission-level rules (ITI TF-3 4.1, ITI TF-2b 3.42.4.1.3): one SubmissionSet, every
//! DocumentEntry and Folder its member, unique ids and uniqueIds, one patient.
//!
//! Invariant: runs on ITI-41, ITI-42 and ITI-57 submissions; query responses get only the
//! duplicate-id check (they may hold any number of SubmissionSets).

use std::collections::HashMap;

use xds_model::vocabulary::classification_node;

use super::{Ctx, Subject};
use crate::catalogue as r;
use crate::index::{Entry, Index};
use crate::report::ObjectKind;

pub(crate) fn check(ctx: &mut Ctx<'_>, index: &Index<'_>) {
    for id in &index.duplicate_ids {
        let kind = index.kind_of(id).unwrap_or(ObjectKind::Submission);
        ctx.report(
            &r::SUB_ID_DUPLICATE,
            Subject::new(kind, id),
            Some("entryUUID"),
            format!("id '{id}' is used by more than one object; each object in a message needs its own id"),
        );
    }
    for p in &index.unclassified_packages {
        ctx.report(
            &r::SUB_PACKAGE_UNCLASSIFIED,
            Subject::of(p),
            None,
            format!(
                "this RegistryPackage is classified as neither a SubmissionSet nor a Folder (or as both); expected one Classification with classificationNode {} (SubmissionSet) or {} (Folder)",
                classification_node::SUBMISSION_SET,
                classification_node::FOLDER
            ),
        );
    }
    if !ctx.tx.is_submission() {
        return;
    }
    let ss = match index.submission_sets.as_slice() {
        [one] => Some(one),
        [] => {
            ctx.report(
                &r::SUB_SUBMISSIONSET_COUNT,
                Subject::submission(),
                Some("SubmissionSet"),
                format!(
                    "the {} submission has no SubmissionSet; expected exactly one RegistryPackage classified as SubmissionSet",
                    ctx.tx
                ),
            );
            None
        }
        many => {
            let ids: Vec<&str> = many.iter().map(|e| e.id()).collect();
            ctx.report(
                &r::SUB_SUBMISSIONSET_COUNT,
                Subject::submission(),
                Some("SubmissionSet"),
                format!(
                    "the submission has {} SubmissionSets ({}); expected exactly one",
                    many.len(),
                    super::quoted_list(&ids)
                ),
            );
            None
        }
    };
    if let Some(ss) = ss {
        membership(ctx, index, ss);
        patient_ids(ctx, index, ss);
    }
    unique_ids(ctx, index);
}

fn membership(ctx: &mut Ctx<'_>, index: &Index<'_>, ss: &Entry<'_>) {
    for (entries, rule) in [
        (&index.document_entries, r::SUB_HASMEMBER_DOCUMENT),
        (&index.folders, r::SUB_HASMEMBER_FOLDER),
    ] {
        for e in entries {
            if !index.has_member(ss.id(), e.id()) {
                ctx.report(
                    &rule,
                    Subject::of(e),
                    None,
                    format!(
                        "no HasMember association from the SubmissionSet '{}' to this {}; every {} of a submission must be a member of its SubmissionSet",
                        ss.id(),
                        e.kind,
                        e.kind
                    ),
                );
            }
        }
    }
}

fn patient_ids(ctx: &mut Ctx<'_>, index: &Index<'_>, ss: &Entry<'_>) {
    let Some(expected) = ss.patient_id() else {
        return;
    };
    for e in index.document_entries.iter().chain(&index.folders) {
        if let Some(pid) = e.patient_id()
            && pid != expected
        {
            ctx.report(
                &r::SUB_PATIENTID_MATCH,
                Subject::of(e),
                Some("patientId"),
                format!(
                    "patientId '{pid}' differs from the SubmissionSet's patientId '{expected}'; all objects of one submission concern the same patient"
                ),
            );
        }
    }
}

fn unique_ids(ctx: &mut Ctx<'_>, index: &Index<'_>) {
    let mut first: HashMap<&str, &Entry<'_>> = HashMap::new();
    for e in index.entries() {
        let Some(uid) = e.unique_id() else {
            continue;
        };
        match first.get(uid) {
            Some(earlier) => ctx.report(
                &r::SUB_UNIQUEID_DUPLICATE,
                Subject::of(e),
                Some("uniqueId"),
                format!(
                    "uniqueId '{uid}' is also the uniqueId of {} '{}' in this submission; every object needs its own uniqueId",
                    earlier.kind,
                    earlier.id()
                ),
            ),
            None => {
                first.insert(uid, e);
            }
        }
    }
}

/// ITI-41 only: every DocumentEntry has a document and every document a DocumentEntry.
pub(crate) fn documents(ctx: &mut Ctx<'_>, index: &Index<'_>, attached: &[&str]) {
    for e in &index.document_entries {
        if !attached.contains(&e.id()) {
            ctx.report(
                &r::SUB_DOCUMENT_MISSING,
                Subject::of(e),
                None,
                format!(
                    "no xdsb:Document with id '{}' is attached; every DocumentEntry of a Provide and Register request comes with its document",
                    e.id()
                ),
            );
        }
    }
    for id in attached {
        if !index.document_entries.iter().any(|e| e.id() == *id) {
            ctx.report(
                &r::SUB_DOCUMENT_METADATA_MISSING,
                Subject::submission(),
                Some("Document"),
                format!(
                    "the attached xdsb:Document '{id}' has no DocumentEntry with that id; every document needs its metadata"
                ),
            );
        }
    }
}
