//! ITI-57 Update Document Set rules (ITI TF-2b 3.57.4.1.3): new versions name the old one by
//! lid and PreviousVersion; status updates carry OriginalStatus and NewStatus.
//!
//! Invariant: runs only for ITI-57. Whether PreviousVersion is the latest version is for the
//! registry to decide (it needs stored state); here only the shape is checked.

use xds_model::rim::{Association, Slot};
use xds_model::vocabulary::{association_type as at, status};

use super::{Ctx, Subject};
use crate::catalogue as r;
use crate::format;
use crate::index::{Entry, Index};
use crate::report::ObjectKind;

pub(crate) fn check(ctx: &mut Ctx<'_>, index: &Index<'_>) {
    let ss_id = match index.submission_sets.as_slice() {
        [one] => Some(one.id()),
        _ => None,
    };
    for e in index.document_entries.iter().chain(&index.folders) {
        let is_update = e.object.lid.as_deref().is_some_and(|l| l != e.object.id);
        let member = ss_id.and_then(|ss| {
            index.associations.iter().copied().find(|a| {
                a.association_type == at::HAS_MEMBER
                    && a.source_object == ss
                    && a.target_object == e.object.id
            })
        });
        let previous = member.map(|a| slots_named(&a.object.slots, "PreviousVersion"));
        if !is_update
            && (e.kind == ObjectKind::DocumentEntry || previous.is_some_and(|p| !p.is_empty()))
        {
            ctx.report(
                &r::UPD_LID_REQUIRED,
                Subject::of(e),
                Some("logicalId"),
                format!(
                    "in ITI-57 this {} is a new version of a registered one, so it needs a lid (the logicalId of the existing object, an entryUUID) different from its id '{}'",
                    e.kind,
                    e.object.id
                ),
            );
        }
        if is_update && let Some(a) = member {
            previous_version(ctx, e, a);
        }
    }
    for a in &index.associations {
        if a.association_type == at::UPDATE_AVAILABILITY_STATUS {
            status_update(ctx, a, ss_id);
        }
    }
}

fn slots_named<'s>(slots: &'s [Slot], name: &str) -> Vec<&'s Slot> {
    slots.iter().filter(|s| s.name == name).collect()
}

fn previous_version(ctx: &mut Ctx<'_>, e: &Entry<'_>, a: &Association) {
    let slots = slots_named(&a.object.slots, "PreviousVersion");
    let ok = match slots.as_slice() {
        [one] => matches!(one.values.as_slice(), [v] if v.parse::<u32>().is_ok_and(|n| n >= 1)),
        _ => false,
    };
    if !ok {
        let found = match slots.as_slice() {
            [] => "no PreviousVersion slot".to_owned(),
            [one] => format!("PreviousVersion {:?}", one.values),
            many => format!("{} PreviousVersion slots", many.len()),
        };
        ctx.report(
            &r::UPD_PREVIOUSVERSION,
            Subject::of(e),
            Some("PreviousVersion"),
            format!(
                "the HasMember association '{}' to this new version has {found}; expected one PreviousVersion slot holding the version number (1, 2, …) of the version being replaced",
                a.object.id
            ),
        );
    }
}

fn status_update(ctx: &mut Ctx<'_>, a: &Association, ss_id: Option<&str>) {
    let subject = Subject::new(ObjectKind::Association, &a.object.id);
    if ss_id.is_some_and(|ss| ss != a.source_object) {
        ctx.report(
            &r::UPD_STATUS_REFS,
            subject,
            Some("sourceObject"),
            format!(
                "UpdateAvailabilityStatus starts at '{}'; it must start at the SubmissionSet of the update",
                a.source_object
            ),
        );
    }
    if !format::is_uuid_urn(&a.target_object) {
        ctx.report(
            &r::UPD_STATUS_REFS,
            subject,
            Some("targetObject"),
            format!(
                "UpdateAvailabilityStatus targets '{}'; it must name the registered object by its entryUUID",
                a.target_object
            ),
        );
    }
    for name in ["OriginalStatus", "NewStatus"] {
        let slots = slots_named(&a.object.slots, name);
        let ok = match slots.as_slice() {
            [one] => {
                matches!(one.values.as_slice(), [v] if v == status::APPROVED || v == status::DEPRECATED)
            }
            _ => false,
        };
        if !ok {
            let found = match slots.as_slice() {
                [] => "is missing".to_owned(),
                [one] => format!("has the values {:?}", one.values),
                many => format!("occurs {} times", many.len()),
            };
            ctx.report(
                &r::UPD_STATUS_SLOTS,
                subject,
                Some(if name == "NewStatus" {
                    "NewStatus"
                } else {
                    "OriginalStatus"
                }),
                format!(
                    "slot {name} {found}; expected one value, {} or {}",
                    status::APPROVED,
                    status::DEPRECATED
                ),
            );
        }
    }
}
