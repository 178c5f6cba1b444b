//! Withholding DocumentEntries from a stored-query answer, and everything that would reveal
//! them.
//!
//! The registry knows nothing of consent: the caller (the SOAP edge) decides per
//! DocumentEntry with a predicate, and [`restrict`] carries that decision to every other
//! object of the answer, whatever the query and the return type:
//!
//! - a **DocumentEntry** is shown iff the predicate allows it;
//! - a **SubmissionSet or Folder** is shown iff at least one of its DocumentEntry members
//!   (HasMember targets, in the store, not only in the answer) is shown, or it has none — so a
//!   container never reveals that a withheld document exists, yet an empty folder stays
//!   visible;
//! - an **Association** is shown iff both its ends are shown (an end that is itself an
//!   association, as for a SubmissionSet's membership of a folder association, by the same
//!   rule); an end the store does not hold is treated as withheld (fails closed).
//!
//! ObjectRef answers are restricted exactly like LeafClass ones. The decision needs only the
//! DocumentEntries' indexed metadata ([`EntryFacts`]: patient, times, author institutions),
//! read from the rows the query already fetched and the institutions' index, plus at most
//! three extra reads for association ends and container members that were not in the answer;
//! the XML is never parsed to decide.
//!
//! Invariant: an object is removed from the answer only by these rules, and every removal of
//! a DocumentEntry is counted in [`Restricted::withheld_documents`], so the edge can tell the
//! caller that something was withheld.

use std::collections::{BTreeSet, HashMap, HashSet};

use xds_model::codec::StoredXml;

use crate::codec;
use crate::error::{QueryError, StoreError};
use crate::index::ObjectKind;
use crate::query::{QueryResponse, ReturnType};
use crate::store::RegistryStore;

/// One object of a query answer as the store read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultObject {
    pub entry_uuid: String,
    pub kind: ObjectKind,
    /// The stored XML of the object.
    pub xml: String,
    /// The patient id (CX) of a DocumentEntry, SubmissionSet or Folder.
    pub patient_id: Option<String>,
    /// The uniqueId of a DocumentEntry, SubmissionSet or Folder.
    pub unique_id: Option<String>,
    /// Association ends.
    pub source_object: Option<String>,
    pub target_object: Option<String>,
    /// A DocumentEntry's creationTime and serviceStartTime as indexed (DTM, 14 digits).
    pub creation_time: Option<String>,
    pub service_start_time: Option<String>,
}

/// What a consent decision needs of one DocumentEntry, read from the columns the registry
/// derived from its XML when it was stored (`crate::index::ObjectIndex`), so deciding never
/// parses the XML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryFacts<'a> {
    pub entry_uuid: &'a str,
    /// The patient id (CX).
    pub patient_id: Option<&'a str>,
    /// DTM, 14 digits.
    pub creation_time: Option<&'a str>,
    /// DTM, 14 digits.
    pub service_start_time: Option<&'a str>,
    /// The authorInstitution XON values of all its authors.
    pub author_institutions: &'a [String],
}

/// A stored query's answer before it becomes the response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryResult {
    pub objects: Vec<ResultObject>,
    pub return_type: ReturnType,
}

/// A DocumentEntry of an answer: who it is about and its uniqueId (for MinLog).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnsweredDocument {
    pub patient_id: String,
    pub unique_id: String,
}

impl QueryResult {
    /// The patient ids (CX) of the objects in the answer.
    pub fn patient_ids(&self) -> BTreeSet<String> {
        self.objects
            .iter()
            .filter_map(|o| o.patient_id.clone())
            .collect()
    }

    /// The DocumentEntries of the answer, in answer order.
    pub fn documents(&self) -> Vec<AnsweredDocument> {
        self.objects
            .iter()
            .filter(|o| o.kind == ObjectKind::DocumentEntry)
            .map(|o| AnsweredDocument {
                patient_id: o.patient_id.clone().unwrap_or_default(),
                unique_id: o.unique_id.clone().unwrap_or_else(|| o.entry_uuid.clone()),
            })
            .collect()
    }

    /// The response: full objects (read back through the model) or their entryUUIDs.
    pub fn into_response(self) -> Result<QueryResponse, QueryError> {
        Ok(match self.return_type {
            ReturnType::ObjectRef => {
                QueryResponse::ObjectRefs(self.objects.into_iter().map(|o| o.entry_uuid).collect())
            }
            ReturnType::LeafClass => QueryResponse::LeafClass(
                self.objects
                    .iter()
                    .map(|o| codec::from_xml(&o.entry_uuid, &o.xml))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
}

impl QueryResult {
    /// Puts the answer into `response`: the stored XML of LeafClass objects, spliced in
    /// without being parsed again (see [`xds_model::codec::StoredXml`]), or ObjectRefs. A row
    /// whose XML does not carry its own id is reported as corrupt rather than served.
    pub fn answer_into(
        self,
        response: &mut xds_model::message::AdhocQueryResponse,
    ) -> Result<(), QueryError> {
        match self.return_type {
            ReturnType::ObjectRef => {
                response.registry_object_list = self.into_response()?.into_registry_object_list();
            }
            ReturnType::LeafClass => {
                response.stored_objects = self
                    .objects
                    .into_iter()
                    .map(|o| {
                        StoredXml::new(&o.entry_uuid, o.xml).map_err(|e| StoreError::Corrupt {
                            object: e.object,
                            detail: e.detail.to_owned(),
                        })
                    })
                    .collect::<Result<_, _>>()?;
            }
        }
        Ok(())
    }
}

/// An answer after [`restrict`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restricted {
    pub result: QueryResult,
    /// DocumentEntries of the unrestricted answer that were withheld.
    pub withheld_documents: usize,
    /// Objects of any kind removed from the answer (withheld entries included).
    pub withheld_objects: usize,
}

/// A query answer together with the association ends outside it: everything whose patients
/// the caller must know to decide (see [`reach`]).
#[derive(Debug, Clone)]
pub struct Reach {
    result: QueryResult,
    known: HashMap<String, ResultObject>,
}

impl Reach {
    /// The patient ids (CX) of the answer's objects and of the association ends it reaches.
    pub fn patient_ids(&self) -> BTreeSet<String> {
        self.known
            .values()
            .filter_map(|o| o.patient_id.clone())
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.result.objects.is_empty()
    }

    /// The answer, unrestricted.
    pub fn into_result(self) -> QueryResult {
        self.result
    }
}

/// Reads the association ends of `result` that are not in it (an end can itself be an
/// association, a SubmissionSet's HasMember of a folder membership, whose ends are then read
/// too), so that the caller knows every patient the answer reveals something of — an answer of
/// associations alone names no patient itself.
pub async fn reach(store: &dyn RegistryStore, result: QueryResult) -> Result<Reach, QueryError> {
    let mut known: HashMap<String, ResultObject> = result
        .objects
        .iter()
        .map(|o| (o.entry_uuid.clone(), o.clone()))
        .collect();
    for _ in 0..2 {
        let missing: Vec<String> = known
            .values()
            .filter(|o| o.kind == ObjectKind::Association)
            .flat_map(|a| [a.source_object.clone(), a.target_object.clone()])
            .flatten()
            .filter(|id| !known.contains_key(id))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if missing.is_empty() {
            break;
        }
        for object in store.objects_by_ids(&missing).await? {
            known.insert(object.entry_uuid.clone(), object);
        }
    }
    Ok(Reach { result, known })
}

/// Removes from the answer every DocumentEntry `document_visible` refuses and every object that
/// would reveal one (see the module docs). `document_visible` sees each DocumentEntry, in the
/// answer or reached through an association or a container, at most once, as the facts the
/// store indexed of it.
pub async fn restrict(
    store: &dyn RegistryStore,
    reach: Reach,
    document_visible: &(dyn Fn(&EntryFacts<'_>) -> bool + Sync),
) -> Result<Restricted, QueryError> {
    let Reach { result, mut known } = reach;

    // DocumentEntry members of every container now known.
    let containers: Vec<String> = known
        .values()
        .filter(|o| matches!(o.kind, ObjectKind::SubmissionSet | ObjectKind::Folder))
        .map(|o| o.entry_uuid.clone())
        .collect();
    let memberships = if containers.is_empty() {
        Vec::new()
    } else {
        store.has_member_targets(&containers).await?
    };
    let missing: Vec<String> = memberships
        .iter()
        .map(|(_, member)| member)
        .filter(|id| !known.contains_key(*id))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !missing.is_empty() {
        for object in store.objects_by_ids(&missing).await? {
            known.insert(object.entry_uuid.clone(), object);
        }
    }

    let document_ids: Vec<String> = known
        .values()
        .filter(|o| o.kind == ObjectKind::DocumentEntry)
        .map(|o| o.entry_uuid.clone())
        .collect();
    let mut institutions: HashMap<String, Vec<String>> = HashMap::new();
    if !document_ids.is_empty() {
        for (object, institution) in store.author_institutions(&document_ids).await? {
            institutions.entry(object).or_default().push(institution);
        }
    }
    let mut documents: HashMap<&str, bool> = HashMap::new();
    for object in known.values() {
        if object.kind == ObjectKind::DocumentEntry {
            let facts = EntryFacts {
                entry_uuid: &object.entry_uuid,
                patient_id: object.patient_id.as_deref(),
                creation_time: object.creation_time.as_deref(),
                service_start_time: object.service_start_time.as_deref(),
                author_institutions: institutions
                    .get(&object.entry_uuid)
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
            };
            documents.insert(object.entry_uuid.as_str(), document_visible(&facts));
        }
    }
    let mut document_members: HashMap<&str, Vec<&str>> = HashMap::new();
    for (container, member) in &memberships {
        if documents.contains_key(member.as_str()) {
            document_members
                .entry(container.as_str())
                .or_default()
                .push(member.as_str());
        }
    }
    let visibility = Visibility {
        known: &known,
        documents: &documents,
        document_members: &document_members,
    };

    let total = result.objects.len();
    let mut withheld_documents = 0;
    let mut kept = Vec::with_capacity(total);
    let mut seen = HashSet::new();
    for object in result.objects {
        if visibility.visible(&object.entry_uuid, 0) {
            seen.insert(object.entry_uuid.clone());
            kept.push(object);
        } else if object.kind == ObjectKind::DocumentEntry {
            withheld_documents += 1;
        }
    }
    let withheld_objects = total - kept.len();
    Ok(Restricted {
        result: QueryResult {
            objects: kept,
            return_type: result.return_type,
        },
        withheld_documents,
        withheld_objects,
    })
}

/// The visibility of every object reachable from the answer.
struct Visibility<'a> {
    known: &'a HashMap<String, ResultObject>,
    documents: &'a HashMap<&'a str, bool>,
    document_members: &'a HashMap<&'a str, Vec<&'a str>>,
}

impl Visibility<'_> {
    /// Associations nest at most twice (membership of a membership); deeper is malformed.
    const ASSOCIATION_DEPTH_MAX: usize = 2;

    fn visible(&self, entry_uuid: &str, depth: usize) -> bool {
        let Some(object) = self.known.get(entry_uuid) else {
            return false;
        };
        match object.kind {
            ObjectKind::DocumentEntry => self.documents.get(entry_uuid).copied().unwrap_or(false),
            ObjectKind::SubmissionSet | ObjectKind::Folder => {
                match self.document_members.get(entry_uuid) {
                    None => true,
                    Some(members) => members
                        .iter()
                        .any(|m| self.documents.get(m).copied().unwrap_or(false)),
                }
            }
            ObjectKind::Association => {
                depth < Self::ASSOCIATION_DEPTH_MAX
                    && [&object.source_object, &object.target_object]
                        .into_iter()
                        .all(|end| end.as_deref().is_some_and(|e| self.visible(e, depth + 1)))
            }
        }
    }
}
