//! SOAP 1.2 request envelopes for the registry endpoint: ITI-42/57 submissions, ITI-18/51
//! stored queries, ITI-62 deletes. Each has a fresh `wsa:MessageID` and an empty slot at the
//! start of `<soap:Header>` where the harness puts the ID card.

use xds_model::vocabulary::stored_query;

use crate::metadata::new_uuid;

/// Request actions (ITI TF-2), as INTERFACE.md lists them.
pub mod action {
    pub const STORED_QUERY: &str = "urn:ihe:iti:2007:RegistryStoredQuery";
    pub const REGISTER: &str = "urn:ihe:iti:2007:RegisterDocumentSet-b";
    pub const MULTI_PATIENT_QUERY: &str = "urn:ihe:iti:2009:MultiPatientStoredQuery";
    pub const UPDATE: &str = "urn:ihe:iti:2010:UpdateDocumentSet";
    pub const DELETE: &str = "urn:ihe:iti:2010:DeleteDocumentSet";
}

fn wrap(action: &str, body: &str) -> String {
    let message_id = new_uuid();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing">
<soap:Header><wsa:Action soap:mustUnderstand="true">{action}</wsa:Action><wsa:MessageID>{message_id}</wsa:MessageID><wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address></wsa:ReplyTo><wsa:To soap:mustUnderstand="true">http://localhost:8080/xds/registry</wsa:To></soap:Header>
<soap:Body>{body}</soap:Body>
</soap:Envelope>"#
    )
}

/// A `lcm:SubmitObjectsRequest` holding `objects` (ITI-42 or ITI-57 by `action`).
pub fn submit_objects(action: &str, objects: &str) -> String {
    wrap(
        action,
        &format!(
            r#"<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><rim:RegistryObjectList>
{objects}</rim:RegistryObjectList></lcm:SubmitObjectsRequest>"#
        ),
    )
}

/// An ITI-62 `lcm:RemoveObjectsRequest` for `entry_uuids`.
pub fn remove_objects(entry_uuids: &[&str]) -> String {
    let refs: String = entry_uuids
        .iter()
        .map(|id| format!(r#"<rim:ObjectRef id="{id}"/>"#))
        .collect();
    wrap(
        action::DELETE,
        &format!(
            r#"<lcm:RemoveObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><rim:ObjectRefList>{refs}</rim:ObjectRefList></lcm:RemoveObjectsRequest>"#
        ),
    )
}

/// `returnType` of a stored query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Return {
    LeafClass,
    ObjectRef,
}

/// A stored query under construction: query id, return type and slots (raw ITI-18 value
/// syntax, `'…'` strings and `(…)` lists, XML-escaped here).
#[derive(Debug, Clone)]
pub struct Query {
    action: &'static str,
    query_id: String,
    return_type: Return,
    slots: Vec<(String, Vec<String>)>,
}

impl Query {
    /// An ITI-18 query with `query_id` (any string: unknown ids are a scenario too).
    pub fn new(query_id: &str) -> Query {
        Query {
            action: action::STORED_QUERY,
            query_id: query_id.to_owned(),
            return_type: Return::LeafClass,
            slots: Vec::new(),
        }
    }

    /// An ITI-51 multi-patient query.
    pub fn multi_patient(query_id: &str) -> Query {
        Query {
            action: action::MULTI_PATIENT_QUERY,
            ..Query::new(query_id)
        }
    }

    pub fn object_ref(mut self) -> Query {
        self.return_type = Return::ObjectRef;
        self
    }

    /// Adds a slot with one `rim:Value` per item of `values` (already in query syntax).
    pub fn slot(mut self, name: &str, values: &[&str]) -> Query {
        self.slots.push((
            name.to_owned(),
            values.iter().map(|v| (*v).to_owned()).collect(),
        ));
        self
    }

    /// A single-valued string parameter: `'value'`.
    pub fn string(self, name: &str, value: &str) -> Query {
        self.slot(name, &[&quoted(value)])
    }

    /// A list parameter: `('a','b')`.
    pub fn list(self, name: &str, values: &[&str]) -> Query {
        self.slot(name, &[&list(values)])
    }

    /// The SOAP envelope.
    pub fn envelope(&self) -> String {
        let return_type = match self.return_type {
            Return::LeafClass => "LeafClass",
            Return::ObjectRef => "ObjectRef",
        };
        let slots: String = self
            .slots
            .iter()
            .map(|(name, values)| {
                let values: String = values
                    .iter()
                    .map(|v| format!("<rim:Value>{}</rim:Value>", escape(v)))
                    .collect();
                format!(
                    r#"<rim:Slot name="{name}"><rim:ValueList>{values}</rim:ValueList></rim:Slot>"#
                )
            })
            .collect();
        wrap(
            self.action,
            &format!(
                r#"<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><query:ResponseOption returnComposedObjects="true" returnType="{return_type}"/><rim:AdhocQuery id="{}">{slots}</rim:AdhocQuery></query:AdhocQueryRequest>"#,
                self.query_id
            ),
        )
    }
}

/// `'value'` with inner quotes doubled (ITI TF-2a 3.18.4.1.2.3.5).
pub fn quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `('a','b')`.
pub fn list(values: &[&str]) -> String {
    let items: Vec<String> = values.iter().map(|v| quoted(v)).collect();
    format!("({})", items.join(","))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;")
}

/// Shorthands for the IHE stored query ids.
pub mod query_id {
    pub use super::stored_query::*;
}
