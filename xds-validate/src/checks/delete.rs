//! ITI-62 Delete Document Set rules (ITI TF-2b 3.62.4.1.2): the request is a non-empty list of
//! ObjectRefs naming registered objects by entryUUID.
//!
//! Invariant: whether the named objects exist, and whether deleting them leaves dangling
//! associations (ReferencesExistException), is for the registry to decide.

use std::collections::HashSet;

use xds_model::rim::{Identifiable, RegistryObjectList};

use super::{Ctx, Subject};
use crate::catalogue as r;
use crate::format;
use crate::report::ObjectKind;

pub(crate) fn check(ctx: &mut Ctx<'_>, list: &RegistryObjectList) {
    let mut seen = HashSet::new();
    let mut refs = 0usize;
    for obj in &list.objects {
        let Identifiable::ObjectRef(o) = obj else {
            ctx.report(
                &r::DEL_ONLY_REFS,
                Subject::new(kind_of(obj), obj.id()),
                None,
                format!(
                    "'{}' is a metadata object, not an ObjectRef; a delete request lists only ObjectRefs",
                    obj.id()
                ),
            );
            continue;
        };
        refs += 1;
        let subject = Subject::new(ObjectKind::ObjectRef, &o.id);
        if !format::is_uuid_urn(&o.id) {
            ctx.report(
                &r::DEL_REF_UUID,
                subject,
                Some("id"),
                format!(
                    "ObjectRef '{}' is not an entryUUID; objects to delete are named as urn:uuid: followed by a UUID",
                    o.id
                ),
            );
        }
        if !seen.insert(o.id.to_ascii_lowercase()) {
            ctx.report(
                &r::DEL_REF_DUPLICATE,
                subject,
                Some("id"),
                format!("ObjectRef '{}' is listed more than once", o.id),
            );
        }
    }
    if refs == 0 {
        ctx.report(
            &r::DEL_REFS_REQUIRED,
            Subject::submission(),
            None,
            "the delete request names no object; expected at least one ObjectRef",
        );
    }
}

fn kind_of(obj: &Identifiable) -> ObjectKind {
    match obj {
        Identifiable::ExtrinsicObject(_) => ObjectKind::DocumentEntry,
        Identifiable::RegistryPackage(_) => ObjectKind::RegistryPackage,
        Identifiable::Association(_) => ObjectKind::Association,
        Identifiable::Classification(_) => ObjectKind::Classification,
        Identifiable::ExternalIdentifier(_) => ObjectKind::ExternalIdentifier,
        Identifiable::ObjectRef(_) => ObjectKind::ObjectRef,
    }
}
