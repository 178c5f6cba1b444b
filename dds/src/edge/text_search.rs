//! FindDocumentsByText (INTERFACE.md "Full-text stored query"): the full-text stored query,
//! answered by the search index and then passed through the same consent filter, MinLog record
//! and follow-up as every ITI-18 (`registry::consent_filtered_answer`).
//!
//! Order of the steps, so that a document the citizen's consent withholds never shows, not in
//! the results, their order, their snippets, nor their number:
//! 1. the index finds every entry of the patient matching the text (unranked);
//! 2. the registry loads those entries (the registry, not the index, is the truth: an entry
//!    whose patient or status no longer fits is dropped);
//! 3. the consent filter withholds entries;
//! 4. [`TextRanking::arrange`] ranks what is left, with term statistics of those entries only,
//!    and makes their snippets;
//! 5. MinLog records exactly the entries returned; [`TextRanking::decorate`] adds the snippets
//!    to the response as the slot [`SNIPPET_SLOT`].
//!
//! The `DDSConsentFiltered` warning of a full-text answer does not say whether a matching
//! document was withheld (that would tell that a withheld document contains the words): it is
//! given whenever the citizen's directives could withhold anything from this caller.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use registry::StoredQueryRequest;
use registry::index::ObjectKind;
use xds_model::message::{AdhocQueryRequest, RegistryError};
use xds_model::rim::{Identifiable, RegistryObjectList, Slot};
use xds_model::vocabulary::{error_code, severity};

use super::registry::{Answered, QueryOutcome};
use super::respond::registry_error;
use crate::app::App;

/// The slot on each returned DocumentEntry holding the passage of its text that matched, with
/// the matched words in «guillemets» (absent when only the metadata matched nothing quotable).
pub const SNIPPET_SLOT: &str = "urn:dds:2026:snippet";

/// Warning: the index could not be brought in step with the registry before the search (a
/// rebuild in progress); the newest writes may be missing from the answer.
pub const DDS_SEARCH_INDEX_BEHIND: &str = "DDSSearchIndexBehind";

/// Longest a search waits for the index to apply the registry's latest changes. Catching up
/// on a few changes takes milliseconds; longer means a rebuild, and the search then answers
/// from the index as it is, with [`DDS_SEARCH_INDEX_BEHIND`].
pub const CATCH_UP_WAIT: Duration = Duration::from_secs(2);

/// Why a text search failed inside the service (a receiver fault to the caller).
#[derive(Debug, thiserror::Error)]
pub enum TextSearchError {
    #[error(transparent)]
    Search(#[from] search::SearchError),
    #[error(transparent)]
    Query(#[from] registry::QueryError),
}

/// Steps 1 and 2: the patient's matching entries as stored, with what ranking needs later.
pub(super) async fn find(
    app: &App,
    request: &AdhocQueryRequest,
    mut warnings: Vec<RegistryError>,
) -> Result<QueryOutcome, TextSearchError> {
    let query = StoredQueryRequest::from_adhoc_query_request(request);
    let parsed = match registry::query::parse_text_query(&query) {
        Ok(parsed) => parsed,
        Err(error) => {
            warnings.push(error.registry_error());
            return Ok(QueryOutcome::refused(warnings));
        }
    };
    let Some(indexer) = &app.search else {
        warnings.push(registry_error(
            error_code::REGISTRY_ERROR,
            "Full-text search (FindDocumentsByText) is not available on this service: it has no search index.",
            None,
        ));
        return Ok(QueryOutcome::refused(warnings));
    };
    if !indexer.catch_up_within(CATCH_UP_WAIT).await? {
        warnings.push(RegistryError {
            error_code: DDS_SEARCH_INDEX_BEHIND.to_owned(),
            code_context: "The search index is being rebuilt; documents registered most recently may be missing from this result.".to_owned(),
            location: None,
            severity: Some(severity::WARNING.to_owned()),
            value: String::new(),
        });
    }
    let matches = indexer
        .index()
        .matching(&parsed.patient_id, &parsed.text, &parsed.statuses)?;
    let max = app.config.query_results_max;
    if matches.len() > max {
        warnings.push(registry::QueryError::TooManyResults { max }.registry_error());
        return Ok(QueryOutcome::refused(warnings));
    }
    let mut objects = app.registry.objects_by_ids(&matches.entry_uuids()).await?;
    objects.retain(|object| {
        object.kind == ObjectKind::DocumentEntry
            && object.patient_id.as_deref() == Some(parsed.patient_id.as_str())
            && status_of(&object.xml).is_some_and(|s| parsed.statuses.contains(&s))
    });
    Ok(QueryOutcome::Answered(Answered {
        result: registry::QueryResult {
            objects,
            return_type: query.return_type,
        },
        warnings,
        ranking: Some(TextRanking {
            patient_id: parsed.patient_id.clone(),
            matches,
            snippets: HashMap::new(),
        }),
    }))
}

/// The availabilityStatus of a stored object.
fn status_of(xml: &str) -> Option<String> {
    match xds_model::codec::parse_identifiable(xml.as_bytes()).ok()? {
        Identifiable::ExtrinsicObject(entry) => entry.object.status,
        _ => None,
    }
}

/// Steps 4 and 5 (see the module documentation).
pub struct TextRanking {
    /// The patient searched (CX, as the registry stores it).
    patient_id: String,
    matches: search::Matches,
    /// Snippets of the entries returned, by entryUUID.
    snippets: HashMap<String, String>,
}

impl TextRanking {
    pub fn patient_id(&self) -> &str {
        &self.patient_id
    }

    /// Orders the consent-filtered answer by relevance among its own entries and keeps the
    /// snippets of those entries.
    pub fn arrange(
        &mut self,
        mut result: registry::QueryResult,
    ) -> Result<registry::QueryResult, search::SearchError> {
        let visible: HashSet<String> = result
            .objects
            .iter()
            .map(|o| o.entry_uuid.clone())
            .collect();
        let ranked = self.matches.rank(&visible)?;
        let position: HashMap<&str, usize> = ranked
            .iter()
            .enumerate()
            .map(|(i, r)| (r.entry_uuid.as_str(), i))
            .collect();
        result.objects.sort_by_key(|o| {
            position
                .get(o.entry_uuid.as_str())
                .copied()
                .unwrap_or(usize::MAX)
        });
        self.snippets = ranked
            .into_iter()
            .filter_map(|r| Some((r.entry_uuid, r.snippet?)))
            .collect();
        Ok(result)
    }

    /// Adds each returned entry's snippet to it.
    pub fn decorate(&self, list: &mut RegistryObjectList) {
        for object in &mut list.objects {
            if let Identifiable::ExtrinsicObject(entry) = object
                && let Some(snippet) = self.snippets.get(&entry.object.id)
            {
                entry
                    .object
                    .slots
                    .push(Slot::new(SNIPPET_SLOT, [snippet.as_str()]));
            }
        }
    }
}
