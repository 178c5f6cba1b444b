//! The single place where registry objects become their stored XML and back.
//!
//! Writing uses the model's serializer (`Identifiable::to_xml`), reading its parser
//! (`xds_model::codec::parse_identifiable`). Reading checks the object read back is the one
//! the row is for (TigerBeetle style: the same property on the write and the read path), so
//! a row whose XML and key disagree is reported as corrupt rather than served.

use xds_model::rim::Identifiable;

use crate::error::StoreError;

/// The canonical XML of an object as stored in its row.
pub(crate) fn to_xml(object: &Identifiable) -> Result<String, StoreError> {
    let xml = object.to_xml();
    debug_assert!(
        xds_model::codec::parse_identifiable(xml.as_bytes()).as_ref() == Ok(object),
        "the model codec must round-trip what the registry stores"
    );
    Ok(xml)
}

/// Reads a stored object back; `entry_uuid` is the key of the row it came from.
pub(crate) fn from_xml(entry_uuid: &str, xml: &str) -> Result<Identifiable, StoreError> {
    let object =
        xds_model::codec::parse_identifiable(xml.as_bytes()).map_err(|e| StoreError::Codec {
            object: entry_uuid.to_owned(),
            operation: "read back",
            detail: e.to_string(),
        })?;
    if object.id() != entry_uuid {
        return Err(StoreError::Corrupt {
            object: entry_uuid.to_owned(),
            detail: format!("its stored XML has id {}", object.id()),
        });
    }
    Ok(object)
}
