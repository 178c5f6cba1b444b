//! Association rules (ITI TF-3 4.2.2): known types, resolvable references, HasMember shape
//! and SubmissionSetStatus, document relationships.
//!
//! Invariant: a reference by entryUUID to an object not in the message is never a finding
//! here: the registry resolves it against what it holds. Only symbolic ids must resolve.

use xds_model::rim::Association;
use xds_model::vocabulary::association_type as at;

use super::{Ctx, Subject};
use crate::catalogue as r;
use crate::checks::attributes::id_format;
use crate::format;
use crate::index::Index;
use crate::report::ObjectKind;
use crate::severity::Transaction;

const RELATIONSHIPS: &[&str] = &[
    at::REPLACE,
    at::APPEND,
    at::TRANSFORM,
    at::TRANSFORM_AND_REPLACE,
    at::SIGNS,
];

const KNOWN: &[&str] = &[
    at::HAS_MEMBER,
    at::REPLACE,
    at::APPEND,
    at::TRANSFORM,
    at::TRANSFORM_AND_REPLACE,
    at::SIGNS,
    at::IS_SNAPSHOT_OF,
    at::UPDATE_AVAILABILITY_STATUS,
];

pub(crate) fn check(ctx: &mut Ctx<'_>, index: &Index<'_>) {
    for a in &index.associations {
        check_one(ctx, index, a);
    }
}

fn check_one(ctx: &mut Ctx<'_>, index: &Index<'_>, a: &Association) {
    let subject = Subject::new(ObjectKind::Association, &a.object.id);
    id_format(ctx, subject, "entryUUID", &a.object.id);
    id_format(ctx, subject, "sourceObject", &a.source_object);
    id_format(ctx, subject, "targetObject", &a.target_object);
    let ty = a.association_type.as_str();
    if !KNOWN.contains(&ty) {
        ctx.report(
            &r::AS_TYPE_KNOWN,
            subject,
            Some("associationType"),
            format!("associationType '{ty}' is not an XDS association type; expected HasMember, RPLC, APND, XFRM, XFRM_RPLC, signs, IsSnapshotOf or UpdateAvailabilityStatus in their full URN form"),
        );
    } else if ty == at::UPDATE_AVAILABILITY_STATUS && ctx.tx != Transaction::Iti57 {
        ctx.report(
            &r::AS_TYPE_KNOWN,
            subject,
            Some("associationType"),
            format!("associationType UpdateAvailabilityStatus belongs to ITI-57 Update Document Set, not to {}", ctx.tx),
        );
    }
    for (what, id) in [
        ("sourceObject", &a.source_object),
        ("targetObject", &a.target_object),
    ] {
        if !format::looks_like_uuid(id) && !id.is_empty() && !index.by_id.contains_key(id.as_str())
        {
            ctx.report(
                &r::AS_REFERENCE_RESOLVES,
                subject,
                Some(what),
                format!("{what} '{id}' is a symbolic id but no object of this submission has it; refer to objects in the message by their id, or to registered objects by entryUUID"),
            );
        }
    }
    let source_kind = index.kind_of(&a.source_object);
    let target_kind = index.kind_of(&a.target_object);
    if ty == at::HAS_MEMBER {
        if let Some(kind) = source_kind
            && !matches!(kind, ObjectKind::SubmissionSet | ObjectKind::Folder)
        {
            ctx.report(
                &r::AS_HASMEMBER_SOURCE,
                subject,
                Some("sourceObject"),
                format!(
                    "HasMember starts at {kind} '{}'; only a SubmissionSet or a Folder has members",
                    a.source_object
                ),
            );
        }
        let to_document = matches!(target_kind, Some(ObjectKind::DocumentEntry) | None);
        if source_kind == Some(ObjectKind::SubmissionSet) && to_document {
            submission_set_status(ctx, a, subject);
        }
    }
    // In a query response both ends are registered documents; the shape rules below are about
    // what a submission may create.
    if RELATIONSHIPS.contains(&ty) && ctx.tx.is_submission() {
        let short = ty.rsplit(':').next().unwrap_or(ty);
        if source_kind != Some(ObjectKind::DocumentEntry) {
            ctx.report(
                &r::AS_RELATIONSHIP_SOURCE,
                subject,
                Some("sourceObject"),
                format!(
                    "{short} starts at '{}', which is not a DocumentEntry of this submission; the new DocumentEntry is the source of a document relationship",
                    a.source_object
                ),
            );
        }
        if ty != at::SIGNS && target_kind.is_some() {
            ctx.report(
                &r::AS_RELATIONSHIP_TARGET,
                subject,
                Some("targetObject"),
                format!(
                    "{short} targets '{}', an object of this same submission; it must target an already registered DocumentEntry by its entryUUID",
                    a.target_object
                ),
            );
        }
    }
}

fn submission_set_status(ctx: &mut Ctx<'_>, a: &Association, subject: Subject<'_>) {
    let slots: Vec<_> = a
        .object
        .slots
        .iter()
        .filter(|s| s.name == "SubmissionSetStatus")
        .collect();
    let ok = match slots.as_slice() {
        [one] => matches!(one.values.as_slice(), [v] if v == "Original" || v == "Reference"),
        _ => false,
    };
    if !ok {
        let found = match slots.as_slice() {
            [] => "is missing".to_owned(),
            [one] => format!("has the values {:?}", one.values),
            many => format!("occurs {} times", many.len()),
        };
        ctx.report(
            &r::AS_SUBMISSIONSETSTATUS,
            subject,
            Some("SubmissionSetStatus"),
            format!(
                "the HasMember from the SubmissionSet to '{}' has a SubmissionSetStatus slot that {found}; expected one slot with the single value 'Original' (or 'Reference' for an entry registered earlier)",
                a.target_object
            ),
        );
    }
}
