//! The tantivy index of DocumentEntries: one index document per DocumentEntry (every
//! version, every status), found by patient, status and analysed text.
//!
//! Fields: `entry_uuid`, `patient_id` and `status` as exact terms (the filters); `title`,
//! `metadata` (code display names, authors, institutions, comments) and `body` (the document's
//! text) through the Danish analyzer, stored for snippets.
//!
//! A search runs in two steps so that a document the caller may not see never influences
//! what the caller gets ([`SearchIndex::matching`], then [`Matches::rank`]):
//!
//! 1. every entry of the patient that matches any query term, unranked;
//! 2. after the caller has withheld what the citizen's consent withholds, BM25 ranking and
//!    snippets of the visible entries only, with term statistics (document frequencies,
//!    average field lengths, number of documents) computed over those same visible entries.
//!    Corpus-wide statistics would let withheld text (and other patients' text) shift the
//!    scores and so the order of what is shown.
//!
//! The query is built from analysed terms directly (never through tantivy's query parser), so
//! no input can be a syntax error or expand into an expensive query; at most
//! [`QUERY_TERMS_MAX`] terms are used.
//!
//! Commits carry the change-log seq they include as their payload ([`SearchIndex::apply`]):
//! the index and its watermark change together or not at all.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

use tantivy::collector::DocSetCollector;
use tantivy::directory::MmapDirectory;
use tantivy::query::{
    Bm25StatisticsProvider, BooleanQuery, BoostQuery, EnableScoring, Occur, Query, TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocAddress, DocId, DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TERMINATED,
    TantivyDocument, Term,
};

use crate::analyzer::{self, ANALYZER};
use crate::error::SearchError;

/// Most distinct terms of one query; the rest of a longer text is ignored. A clinician's
/// search is a few words; the bound keeps a pasted page from becoming a thousand-term query.
pub const QUERY_TERMS_MAX: usize = 16;

/// Memory of the index writer. tantivy needs at least 15 MB per indexing thread; more only
/// makes a full rebuild flush segments less often.
pub const WRITER_HEAP_BYTES: usize = 64 * 1024 * 1024;

/// Longest snippet, in characters (markers and ellipses included): it travels as one ebRIM
/// slot value, whose schema type allows 256.
pub const SNIPPET_CHARS_MAX: usize = 200;

/// Relative weight of a match in each text field: a word of the title says more about what a
/// document is than a word of its body.
const FIELD_BOOSTS: [(TextField, f32); 3] = [
    (TextField::Title, 3.0),
    (TextField::Metadata, 1.5),
    (TextField::Body, 1.0),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum TextField {
    Title,
    Metadata,
    Body,
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    entry_uuid: Field,
    patient_id: Field,
    status: Field,
    title: Field,
    metadata: Field,
    body: Field,
}

impl Fields {
    fn text(&self, field: TextField) -> Field {
        match field {
            TextField::Title => self.title,
            TextField::Metadata => self.metadata,
            TextField::Body => self.body,
        }
    }
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqs),
        )
        .set_stored();
    let fields = Fields {
        entry_uuid: builder.add_text_field("entry_uuid", STRING | STORED),
        patient_id: builder.add_text_field("patient_id", STRING),
        status: builder.add_text_field("status", STRING),
        title: builder.add_text_field("title", text.clone()),
        metadata: builder.add_text_field("metadata", text.clone()),
        body: builder.add_text_field("body", text),
    };
    (builder.build(), fields)
}

/// What the index holds of one DocumentEntry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexedEntry {
    pub entry_uuid: String,
    /// The patient id (CX) exactly as the registry stores it.
    pub patient_id: String,
    /// availabilityStatus (URN).
    pub status: String,
    pub title: String,
    pub metadata: String,
    pub body: String,
}

/// One change to the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexOp {
    /// Adds the entry, replacing what the index held of it.
    Upsert(IndexedEntry),
    /// Removes the entry (deleted, or no longer a DocumentEntry).
    Remove(String),
}

/// The index in a directory of its own, with its one writer.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    /// tantivy allows one writer per index (a lock file in the directory, so a second process
    /// cannot open it: `dds reindex` refuses while the service runs).
    writer: Mutex<IndexWriter>,
    fields: Fields,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it (and the directory) if there is none.
    pub fn open(dir: &Path) -> Result<SearchIndex, SearchError> {
        std::fs::create_dir_all(dir).map_err(|e| SearchError::Directory {
            path: dir.to_owned(),
            detail: e.to_string(),
        })?;
        let directory = MmapDirectory::open(dir).map_err(|e| SearchError::Directory {
            path: dir.to_owned(),
            detail: e.to_string(),
        })?;
        let (schema, _) = schema();
        let index = Index::open_or_create(directory, schema)?;
        SearchIndex::with_index(index)
    }

    /// An index in memory (tests, benchmarks of the index alone).
    pub fn in_memory() -> Result<SearchIndex, SearchError> {
        let (schema, _) = schema();
        SearchIndex::with_index(Index::create_in_ram(schema))
    }

    fn with_index(index: Index) -> Result<SearchIndex, SearchError> {
        let (expected, fields) = schema();
        if index.schema() != expected {
            return Err(SearchError::SchemaChanged);
        }
        index.tokenizers().register(ANALYZER, analyzer::danish());
        let writer = index.writer_with_num_threads(1, WRITER_HEAP_BYTES)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
        })
    }

    /// The change-log seq the last commit includes; `None` for an index never built.
    pub fn watermark(&self) -> Result<Option<i64>, SearchError> {
        let metas = self.index.load_metas()?;
        match metas.payload {
            None => Ok(None),
            Some(payload) => payload
                .parse::<i64>()
                .map(Some)
                .map_err(|_| SearchError::Payload { payload }),
        }
    }

    /// DocumentEntries in the index (of any status).
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Applies `ops` in order and commits them with `watermark` as the commit's payload; with
    /// `replace_all` everything indexed before is dropped first (a rebuild). Blocking (the
    /// commit syncs the files): call it off the async threads.
    pub fn apply(
        &self,
        ops: Vec<IndexOp>,
        watermark: i64,
        replace_all: bool,
    ) -> Result<(), SearchError> {
        let mut writer = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
        let outcome = self.write(&mut writer, ops, watermark, replace_all);
        if outcome.is_err() {
            // Nothing half-done may reach a later commit.
            writer.rollback()?;
        }
        outcome?;
        self.reader.reload()?;
        Ok(())
    }

    /// Writes `ops` (after dropping everything when `replace_all`) without committing: the
    /// pages of a rebuild, committed by the [`SearchIndex::apply`] that ends it. Until then
    /// searches see the index as it was, and a crash leaves it so.
    pub fn stage(&self, ops: Vec<IndexOp>, replace_all: bool) -> Result<(), SearchError> {
        let mut writer = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
        let outcome = self.add(&writer, ops, replace_all);
        if outcome.is_err() {
            writer.rollback()?;
        }
        outcome
    }

    fn write(
        &self,
        writer: &mut IndexWriter,
        ops: Vec<IndexOp>,
        watermark: i64,
        replace_all: bool,
    ) -> Result<(), SearchError> {
        self.add(writer, ops, replace_all)?;
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(&watermark.to_string());
        commit.commit()?;
        Ok(())
    }

    fn add(
        &self,
        writer: &IndexWriter,
        ops: Vec<IndexOp>,
        replace_all: bool,
    ) -> Result<(), SearchError> {
        if replace_all {
            writer.delete_all_documents()?;
        }
        for op in ops {
            match op {
                IndexOp::Remove(entry_uuid) => {
                    writer.delete_term(Term::from_field_text(self.fields.entry_uuid, &entry_uuid));
                }
                IndexOp::Upsert(entry) => {
                    writer.delete_term(Term::from_field_text(
                        self.fields.entry_uuid,
                        &entry.entry_uuid,
                    ));
                    let mut document = TantivyDocument::default();
                    document.add_text(self.fields.entry_uuid, &entry.entry_uuid);
                    document.add_text(self.fields.patient_id, &entry.patient_id);
                    document.add_text(self.fields.status, &entry.status);
                    document.add_text(self.fields.title, &entry.title);
                    document.add_text(self.fields.metadata, &entry.metadata);
                    document.add_text(self.fields.body, &entry.body);
                    writer.add_document(document)?;
                }
            }
        }
        Ok(())
    }

    /// Step 1 of a search: every entry of `patient_id` with one of `statuses` that matches any
    /// term of `text`, unranked (see the module documentation). An empty answer when the text
    /// has no searchable word.
    pub fn matching(
        &self,
        patient_id: &str,
        text: &str,
        statuses: &[String],
    ) -> Result<Matches, SearchError> {
        let searcher = self.reader.searcher();
        let mut analyzer = analyzer::danish();
        let terms: Vec<String> = analyzer::terms(&mut analyzer, text)
            .into_iter()
            .take(QUERY_TERMS_MAX)
            .collect();
        let mut matches = Matches {
            searcher: searcher.clone(),
            fields: self.fields,
            terms,
            found: Vec::new(),
        };
        if matches.terms.is_empty() || statuses.is_empty() {
            return Ok(matches);
        }
        let exact = |field: Field, value: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            ))
        };
        let status_any = BooleanQuery::new(
            statuses
                .iter()
                .map(|s| (Occur::Should, exact(self.fields.status, s)))
                .collect(),
        );
        let query = BooleanQuery::new(vec![
            (Occur::Must, exact(self.fields.patient_id, patient_id)),
            (Occur::Must, Box::new(status_any)),
            (Occur::Must, Box::new(matches.text_query())),
        ]);
        let addresses = searcher.search(&query, &DocSetCollector)?;
        let mut found = Vec::with_capacity(addresses.len());
        for address in addresses {
            let document: TantivyDocument = searcher.doc(address)?;
            if let Some(id) = document
                .get_first(self.fields.entry_uuid)
                .and_then(|v| v.as_str())
            {
                found.push((id.to_owned(), address));
            }
        }
        found.sort();
        matches.found = found;
        Ok(matches)
    }
}

/// The entries a search matched, on the index state it ran on (step 1; see the module
/// documentation). Holds that state, so ranking later sees the same documents.
pub struct Matches {
    searcher: Searcher,
    fields: Fields,
    /// The query's analysed terms.
    terms: Vec<String>,
    /// (entryUUID, where it is), sorted by entryUUID.
    found: Vec<(String, DocAddress)>,
}

/// A visible entry with its relevance and, when its text shows a query word, a snippet.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub entry_uuid: String,
    pub score: f32,
    pub snippet: Option<String>,
}

impl Matches {
    /// The entryUUIDs matched.
    pub fn entry_uuids(&self) -> Vec<String> {
        self.found.iter().map(|(id, _)| id.clone()).collect()
    }

    pub fn len(&self) -> usize {
        self.found.len()
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// The text part of the query: any term in any text field, boosted per field.
    fn text_query(&self) -> BooleanQuery {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for term in &self.terms {
            for (field, boost) in FIELD_BOOSTS {
                let query = TermQuery::new(
                    Term::from_field_text(self.fields.text(field), term),
                    IndexRecordOption::WithFreqs,
                );
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(query), boost)),
                ));
            }
        }
        BooleanQuery::new(clauses)
    }

    /// Step 2: ranks the matched entries among `visible` (entryUUIDs), best first (ties by
    /// entryUUID, so the order is stable), with BM25 statistics of the visible entries only,
    /// and a snippet for each. Entries not matched are ignored.
    pub fn rank(&self, visible: &HashSet<String>) -> Result<Vec<Ranked>, SearchError> {
        let shown: Vec<&(String, DocAddress)> = self
            .found
            .iter()
            .filter(|(id, _)| visible.contains(id))
            .collect();
        if shown.is_empty() {
            return Ok(Vec::new());
        }
        let mut by_segment: BTreeMap<u32, Vec<(DocId, &str)>> = BTreeMap::new();
        for (id, address) in &shown {
            by_segment
                .entry(address.segment_ord)
                .or_default()
                .push((address.doc_id, id.as_str()));
        }
        for docs in by_segment.values_mut() {
            docs.sort_unstable();
        }
        let statistics = self.visible_statistics(&by_segment)?;
        let query = self.text_query();
        let weight = query.weight(EnableScoring::enabled_from_statistics_provider(
            &statistics,
            &self.searcher,
        ))?;
        let mut ranked = Vec::with_capacity(shown.len());
        for (segment, docs) in &by_segment {
            let reader = self.searcher.segment_reader(*segment);
            let mut scorer = weight.scorer(reader, 1.0)?;
            for (doc, id) in docs {
                if scorer.doc() != TERMINATED && scorer.doc() < *doc {
                    scorer.seek(*doc);
                }
                let score = if scorer.doc() == *doc {
                    scorer.score()
                } else {
                    0.0
                };
                ranked.push(Ranked {
                    entry_uuid: (*id).to_owned(),
                    score,
                    snippet: None,
                });
            }
        }
        ranked.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.entry_uuid.cmp(&b.entry_uuid))
        });
        let addresses: HashMap<&str, DocAddress> =
            shown.iter().map(|(id, a)| (id.as_str(), *a)).collect();
        let terms: HashSet<&str> = self.terms.iter().map(String::as_str).collect();
        let mut analyzer = analyzer::danish();
        for entry in &mut ranked {
            if let Some(address) = addresses.get(entry.entry_uuid.as_str()) {
                let document: TantivyDocument = self.searcher.doc(*address)?;
                entry.snippet = [self.fields.body, self.fields.metadata, self.fields.title]
                    .into_iter()
                    .filter_map(|field| document.get_first(field).and_then(|v| v.as_str()))
                    .find_map(|text| snippet(&mut analyzer, text, &terms));
            }
        }
        Ok(ranked)
    }

    /// BM25 statistics over the given documents only.
    fn visible_statistics(
        &self,
        by_segment: &BTreeMap<u32, Vec<(DocId, &str)>>,
    ) -> Result<VisibleStatistics, SearchError> {
        let mut statistics = VisibleStatistics::default();
        for (segment, docs) in by_segment {
            let reader = self.searcher.segment_reader(*segment);
            statistics.docs += docs.len() as u64;
            for (field, _) in FIELD_BOOSTS {
                let field = self.fields.text(field);
                let norms = reader.get_fieldnorms_reader(field)?;
                let tokens: u64 = docs
                    .iter()
                    .map(|(d, _)| u64::from(norms.fieldnorm(*d)))
                    .sum();
                *statistics.tokens.entry(field).or_default() += tokens;
                let inverted = reader.inverted_index(field)?;
                for text in &self.terms {
                    let term = Term::from_field_text(field, text);
                    let mut count = 0u64;
                    if let Some(mut postings) = inverted
                        .read_postings(&term, IndexRecordOption::Basic)
                        .map_err(tantivy::TantivyError::from)?
                    {
                        for (doc, _) in docs {
                            if postings.doc() != TERMINATED && postings.doc() < *doc {
                                postings.seek(*doc);
                            }
                            if postings.doc() == *doc {
                                count += 1;
                            }
                        }
                    }
                    *statistics.doc_freq.entry(term).or_default() += count;
                }
            }
        }
        Ok(statistics)
    }
}

/// BM25 statistics of a set of documents (see [`Matches::rank`]).
#[derive(Debug, Default)]
struct VisibleStatistics {
    docs: u64,
    tokens: HashMap<Field, u64>,
    doc_freq: HashMap<Term, u64>,
}

impl Bm25StatisticsProvider for VisibleStatistics {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        Ok(self.tokens.get(&field).copied().unwrap_or(0))
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.docs.max(1))
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        Ok(self.doc_freq.get(term).copied().unwrap_or(0))
    }
}

/// Characters of context kept before the first match of a snippet.
const SNIPPET_LEAD_CHARS: usize = 40;

/// A window of `text` around its densest cluster of query terms, whitespace collapsed, with
/// each matched word in «guillemets», at most [`SNIPPET_CHARS_MAX`] characters; `None` when no
/// word of `text` is a query term.
pub fn snippet(analyzer: &mut TextAnalyzer, text: &str, terms: &HashSet<&str>) -> Option<String> {
    let hits: Vec<(usize, usize)> = analyzer::analyse(analyzer, text)
        .into_iter()
        .filter(|t| terms.contains(t.term.as_str()))
        .map(|t| (t.from, t.to))
        .collect();
    // The densest window: the hit followed by the most hits within a snippet's length (the
    // first such hit wins; only the first 64 hits are tried).
    let span = SNIPPET_CHARS_MAX * 2;
    let mut best = (0usize, 0usize);
    for (i, (from, _)) in hits.iter().enumerate().take(64) {
        let count = hits[i..]
            .iter()
            .take_while(|(_, to)| *to <= from + span)
            .count();
        if count > best.1 {
            best = (i, count);
        }
    }
    let first = *hits.get(best.0)?;
    // Some context before the first hit, starting at a word.
    let lead = text[..first.0]
        .char_indices()
        .rev()
        .nth(SNIPPET_LEAD_CHARS.saturating_sub(1))
        .map_or(0, |(i, _)| i);
    let start = if lead == 0 {
        0
    } else {
        text[lead..first.0]
            .find(char::is_whitespace)
            .map_or(first.0, |i| lead + i)
    };
    let starts: HashSet<usize> = hits.iter().map(|h| h.0).collect();
    let ends: HashSet<usize> = hits.iter().map(|h| h.1).collect();
    let mut out = String::new();
    let mut count = 0usize;
    if start > 0 {
        out.push('…');
        count += 1;
    }
    let mut open = false;
    let mut space = false;
    let mut truncated = false;
    for (offset, c) in text[start..].char_indices() {
        let at = start + offset;
        // Room for this character with both markers, and an ellipsis.
        if count + 4 > SNIPPET_CHARS_MAX {
            truncated = true;
            break;
        }
        if starts.contains(&at) {
            out.push('«');
            count += 1;
            open = true;
        }
        if c.is_whitespace() {
            if !space {
                out.push(' ');
                count += 1;
            }
            space = true;
        } else {
            out.push(c);
            count += 1;
            space = false;
        }
        if open && ends.contains(&(at + c.len_utf8())) {
            out.push('»');
            count += 1;
            open = false;
        }
    }
    if open {
        out.push('»');
    }
    let mut out = out.trim_end().to_owned();
    if truncated {
        out.push('…');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, patient: &str, title: &str, body: &str) -> IndexOp {
        IndexOp::Upsert(IndexedEntry {
            entry_uuid: id.to_owned(),
            patient_id: patient.to_owned(),
            status: "Approved".to_owned(),
            title: title.to_owned(),
            metadata: String::new(),
            body: body.to_owned(),
        })
    }

    fn approved() -> Vec<String> {
        vec!["Approved".to_owned()]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Any text, query syntax included, is only words: it never fails, uses at most
        /// QUERY_TERMS_MAX terms, and every snippet stays within its length.
        #[test]
        fn any_text_searches_without_failing(text in "\\PC{0,300}") {
            let index = SearchIndex::in_memory().unwrap();
            index
                .apply(vec![entry("a", "p1", "Ekko af hjertet", &text)], 1, false)
                .unwrap();
            let matches = index.matching("p1", &text, &approved()).unwrap();
            proptest::prop_assert!(matches.terms.len() <= QUERY_TERMS_MAX);
            let visible: HashSet<String> = matches.entry_uuids().into_iter().collect();
            for ranked in matches.rank(&visible).unwrap() {
                let snippet = ranked.snippet.unwrap_or_default();
                proptest::prop_assert!(snippet.chars().count() <= SNIPPET_CHARS_MAX, "{}", snippet);
            }
        }
    }

    #[test]
    fn snippets_mark_the_matched_words_and_stay_short() {
        let mut analyzer = analyzer::danish();
        let terms = analyzer::terms(&mut analyzer, "hjertet");
        let terms: HashSet<&str> = terms.iter().map(String::as_str).collect();
        let text = format!(
            "{} Ekkokardiografi viser at hjertet pumper  normalt. {}",
            "x ".repeat(100),
            "y ".repeat(200)
        );
        let snippet = snippet(&mut analyzer, &text, &terms).unwrap();
        assert!(
            snippet.contains("at «hjertet» pumper normalt."),
            "{snippet}"
        );
        assert!(
            snippet.starts_with('…') && snippet.ends_with('…'),
            "{snippet}"
        );
        assert!(snippet.chars().count() <= SNIPPET_CHARS_MAX, "{snippet}");
        assert_eq!(
            super::snippet(&mut analyzer, "lungerne er fine", &terms),
            None
        );
    }

    #[test]
    fn the_watermark_is_committed_with_the_changes() {
        let index = SearchIndex::in_memory().unwrap();
        assert_eq!(index.watermark().unwrap(), None);
        index
            .apply(vec![entry("a", "p1", "Ekko af hjertet", "")], 7, false)
            .unwrap();
        assert_eq!(index.watermark().unwrap(), Some(7));
        index
            .apply(vec![IndexOp::Remove("a".into())], 9, false)
            .unwrap();
        assert_eq!(index.watermark().unwrap(), Some(9));
        assert_eq!(index.num_docs(), 0);
    }

    #[test]
    fn matching_is_per_patient_and_status_and_upserts_replace() {
        let index = SearchIndex::in_memory().unwrap();
        index
            .apply(
                vec![
                    entry("a", "p1", "Ekko af hjertet", ""),
                    entry("b", "p2", "Ekko af hjertet", ""),
                    entry("c", "p1", "Lungefunktion", "spirometri"),
                ],
                1,
                false,
            )
            .unwrap();
        let found = index.matching("p1", "Hjerte", &approved()).unwrap();
        assert_eq!(found.entry_uuids(), ["a"]);
        assert!(
            index
                .matching("p1", "hjerte", &["Deprecated".to_owned()])
                .unwrap()
                .is_empty()
        );
        assert!(
            index
                .matching("p1", "og i", &approved())
                .unwrap()
                .is_empty()
        );
        index
            .apply(vec![entry("a", "p1", "Røntgen", "")], 2, false)
            .unwrap();
        assert!(
            index
                .matching("p1", "hjertet", &approved())
                .unwrap()
                .is_empty()
        );
        assert_eq!(index.num_docs(), 3);
        index
            .apply(vec![entry("z", "p3", "x", "")], 3, true)
            .unwrap();
        assert_eq!(index.num_docs(), 1);
    }

    #[test]
    fn ranking_uses_only_the_visible_entries_statistics() {
        let index = SearchIndex::in_memory().unwrap();
        let mut ops = vec![
            entry(
                "best",
                "p1",
                "Kardiologisk ambulatorium",
                "Hjertet undersøgt",
            ),
            entry("some", "p1", "Ambulant besøg", "hjertet nævnt"),
        ];
        // Withheld entries that mention the word a lot.
        for i in 0..20 {
            ops.push(entry(
                &format!("hidden{i}"),
                "p1",
                "Kardiologisk",
                "kardiologisk kardiologisk",
            ));
        }
        index.apply(ops, 1, false).unwrap();
        let matches = index
            .matching("p1", "kardiologisk hjertet", &approved())
            .unwrap();
        assert_eq!(matches.len(), 22);
        let visible: HashSet<String> = ["best".to_owned(), "some".to_owned()].into();
        let ranked = matches.rank(&visible).unwrap();
        let ids: Vec<&str> = ranked.iter().map(|r| r.entry_uuid.as_str()).collect();
        assert_eq!(ids, ["best", "some"]);
        // The same scores as an index that never held the withheld entries.
        let alone = SearchIndex::in_memory().unwrap();
        alone
            .apply(
                vec![
                    entry(
                        "best",
                        "p1",
                        "Kardiologisk ambulatorium",
                        "Hjertet undersøgt",
                    ),
                    entry("some", "p1", "Ambulant besøg", "hjertet nævnt"),
                ],
                1,
                false,
            )
            .unwrap();
        let expected = alone
            .matching("p1", "kardiologisk hjertet", &approved())
            .unwrap()
            .rank(&visible)
            .unwrap();
        for (got, want) in ranked.iter().zip(&expected) {
            assert_eq!(got.entry_uuid, want.entry_uuid);
            assert!((got.score - want.score).abs() < 1e-4, "{got:?} {want:?}");
        }
        assert_eq!(ranked[0].snippet.as_deref(), Some("«Hjertet» undersøgt"));
    }
}
