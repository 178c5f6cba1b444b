//! The SQL of the registry store, shared by every backend (SQLite, PostgreSQL).
//!
//! [`Engine`] holds a writer pool and a reader pool of one sqlx database and implements every
//! [`crate::store::RegistryStore`] operation on them; [`crate::sqlite::SqliteRegistryStore`]
//! and [`crate::postgres::PgRegistryStore`] open it their own way (migrations, pool options)
//! and delegate to it. What differs between the backends is the small [`Backend`] trait: how a
//! write transaction begins, which failures mean "a concurrent writer won, run again", how
//! `LIKE` is spelled so that it means the same on both, and running a built statement (see
//! [`Backend::fetch_all`] for why that cannot be generic).
//!
//! Every statement is built with `QueryBuilder`, so each backend gets its own placeholders
//! (`?` or `$n`) from the same text; the SQL itself is the portable subset both understand.
//!
//! Invariants: every value reaches SQL as a bound parameter (IN lists get one placeholder per
//! value); every row's columns are derived from its XML by [`ObjectIndex::of`] and written in
//! the same statement as the XML; a rejected registration, update or delete rolls back and
//! writes nothing; a write that lost to a concurrent one ([`Backend::is_write_conflict`]) is
//! run again from the start, its facts re-read, and from attempt [`ALONE_FROM_ATTEMPT`] on it
//! runs alone among the writers, where it cannot lose again; queries only read, on the reader
//! pool.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use std::future::Future;

use sqlx::{
    Acquire, ColumnIndex, Database, Decode, Encode, Pool, QueryBuilder, Row, Transaction, Type,
};
use xds_model::rim::{Identifiable, RegistryObject, RegistryObjectList};
use xds_model::vocabulary::{association_type, status};

use crate::change::{Change, ChangeBacklog};
use crate::codec;
use crate::delete::{self, DeleteError, DeleteFacts, Deleted, Touching};
use crate::dtm;
use crate::error::{QueryError, RegisterError, StoreError, SubmissionError};
use crate::index::{ObjectIndex, ObjectKind, slot};
use crate::query::{
    self, CodeCondition, ContentFilter, DocumentFilter, FolderFilter, MetadataLevel, ReturnType,
    Selector, StoredQuery, StoredQueryRequest, SubmissionSetFilter, TimeRange,
};
use crate::store::{IN_LIST_VALUES_MAX, StoreConfig};
use crate::submission::{
    self, Effects, PlannedObject, RegisterOptions, Registered, StoreFacts, StoredSummary,
    StoredUniqueId,
};
use crate::update::{
    self, StoredAssociation, StoredVersion, UpdateEffects, UpdateError, UpdateFacts, UpdateFinding,
    UpdatePlan, Updated,
};
use crate::visibility::{QueryResult, ResultObject};

/// Every table of the schema (both backends), for `table_row_counts`.
pub const TABLES: [&str; 7] = [
    "registry_object",
    "object_code",
    "object_author_person",
    "object_author_institution",
    "object_reference_id",
    "known_patient",
    "registry_change",
];

/// The values of one link table (authors, institutions, reference ids) of an indexed object.
type LinkValues = fn(&ObjectIndex) -> &Vec<String>;

/// Most rows one multi-row `INSERT` writes: 21 bound values per registry object row stays far
/// below SQLite's 32,766 and PostgreSQL's 65,535 bind parameters.
const INSERT_ROWS_MAX: usize = 400;

/// How often one registration, update or delete is tried before it fails with
/// [`StoreError::WriteConflict`] (`XDSRegistryBusy`: the caller may send it again). Only a
/// backend that lets writers run concurrently ever needs a second attempt (PostgreSQL under
/// SERIALIZABLE, when another transaction read or wrote what this one did; its predicate locks
/// can be coarser than rows, so unrelated writes sometimes conflict too). From attempt
/// [`ALONE_FROM_ATTEMPT`] on a write runs alone among the writers ([`Backend::write_gate`]),
/// where nothing can conflict with it, so a write needs at most that many attempts; this bound
/// only guards against a backend that breaks that promise.
pub const WRITE_ATTEMPTS_MAX: u32 = 10;

/// The attempt from which a write that keeps losing to concurrent writers runs alone
/// ([`Backend::write_gate`]). Random pauses alone do not bound the attempts: under sustained
/// contention on one patient (six writers of one patient on a loaded CI machine) a write lost
/// ten times in a row. Two losses first, because most conflicts resolve on the second attempt
/// (the winner has committed and is seen) and a write alone holds up every other writer.
pub const ALONE_FROM_ATTEMPT: u32 = 3;

/// What differs between the SQL backends the [`Engine`] runs on.
pub(crate) trait Backend: Database {
    /// The statement that starts a write transaction; `None` for the driver's plain `BEGIN`.
    const BEGIN_WRITE: Option<&'static str>;

    /// The statement a write attempt runs first in its transaction, before it reads anything:
    /// `alone` false lets attempts run concurrently, `alone` true waits until no other write
    /// runs and keeps the others out until it ends. `None` where writes never run concurrently.
    /// It must take no snapshot (PostgreSQL's `LOCK TABLE`), or the write would read the state
    /// from before it waited.
    fn write_gate(alone: bool) -> Option<&'static str>;

    /// The statement a write runs just before it appends to the change log (at the end of its
    /// transaction), so that change-log numbers are drawn in commit order; `None` when writes
    /// never run concurrently. See the PostgreSQL migration of `registry_change`.
    const CHANGE_LOG_LOCK: Option<&'static str>;

    /// Whether a write failed only because a concurrent transaction won (a serialization
    /// failure or a deadlock): the whole write is then run again.
    fn is_write_conflict(error: &sqlx::Error) -> bool;

    /// Pushes `column LIKE pattern` with the ITI-18 wildcards `%` and `_`, no escape
    /// character, and ASCII letters compared case-insensitively (what SQLite's `LIKE` does).
    fn push_like<'a>(qb: &mut QueryBuilder<'a, Self>, column: &str, pattern: &'a str);

    /// Runs the built statement on `connection` and answers its rows.
    ///
    /// The three runners are the backend's because only for a concrete database does the
    /// compiler know that a query may borrow its builder for less than the builder's bound
    /// values live (the arguments type is covariant); generic code over any `Database` cannot.
    fn fetch_all<'c>(
        connection: &'c mut Self::Connection,
        qb: &'c mut QueryBuilder<'_, Self>,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send + 'c;

    /// Runs the built statement on `connection` and answers its one row (an error if none).
    fn fetch_one<'c>(
        connection: &'c mut Self::Connection,
        qb: &'c mut QueryBuilder<'_, Self>,
    ) -> impl Future<Output = Result<Self::Row, sqlx::Error>> + Send + 'c;

    /// Runs the built statement on `connection` and answers how many rows it changed.
    fn execute<'c>(
        connection: &'c mut Self::Connection,
        qb: &'c mut QueryBuilder<'_, Self>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'c;
}

type Tx<'c, DB> = Transaction<'c, DB>;

/// The store's pools and tunables; see the module documentation.
pub(crate) struct Engine<DB: Database> {
    /// Connections for registrations, updates, deletes and the known-patient feed.
    pub(crate) writer: Pool<DB>,
    /// Connections for queries.
    pub(crate) reader: Pool<DB>,
    pub(crate) config: StoreConfig,
}

impl<DB: Database> Clone for Engine<DB> {
    fn clone(&self) -> Self {
        Engine {
            writer: self.writer.clone(),
            reader: self.reader.clone(),
            config: self.config,
        }
    }
}

impl<DB: Database> std::fmt::Debug for Engine<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("writer", &self.writer)
            .field("reader", &self.reader)
            .field("config", &self.config)
            .finish()
    }
}

fn parse_kind(entry_uuid: &str, kind: &str) -> Result<ObjectKind, StoreError> {
    ObjectKind::parse(kind).ok_or_else(|| StoreError::Corrupt {
        object: entry_uuid.to_owned(),
        detail: format!("unknown kind {kind}"),
    })
}

fn parse_size(index: &ObjectIndex) -> Option<i64> {
    index.size.as_deref().and_then(|s| s.parse::<i64>().ok())
}

/// Why a group of registrations ([`Engine::register_group`]) failed as a whole.
#[derive(Debug)]
pub(crate) enum GroupFailure {
    /// Before the commit: nothing of the group was written, and each may be run on its own.
    BeforeCommit(StoreError),
    /// The commit itself failed: the group may or may not have been written.
    Commit(StoreError),
}

/// What one attempt at a write came to, when the store did not fail.
enum Attempt<T, F> {
    Done(T),
    Rejected(Vec<F>),
}

/// Longest pause, in milliseconds, before a conflicted write runs again.
pub const RETRY_PAUSE_MS_MAX: u64 = 64;

/// How long to wait before running a write again after `error` ended its `attempt`, or the
/// error that ends it: anything but a conflict is returned as it is, and a conflict on the last
/// attempt becomes [`StoreError::WriteConflict`].
///
/// The pause is random, up to 8, 16, 32 … [`RETRY_PAUSE_MS_MAX`] ms as attempts go on (a few
/// times a short write transaction): two writes that conflicted may both have been aborted,
/// and run again in step they would conflict again.
fn pause_before_retry<DB: Backend>(
    error: StoreError,
    attempt: u32,
) -> Result<std::time::Duration, StoreError> {
    match &error {
        StoreError::Database(e) if DB::is_write_conflict(e) => {
            if attempt >= WRITE_ATTEMPTS_MAX {
                return Err(StoreError::WriteConflict { attempts: attempt });
            }
            let ceiling_us = (4u64 << attempt.min(16)).min(RETRY_PAUSE_MS_MAX) * 1000;
            // Any random bits do; a v4 UUID is 122 of them, from the OS's generator.
            let random = uuid::Uuid::new_v4().as_u64_pair().1;
            Ok(std::time::Duration::from_micros(random % (ceiling_us + 1)))
        }
        _ => Err(error),
    }
}

// ---------------------------------------------------------------------------------------------
// Queries: the answer being built.

/// Columns of a [`StoredVersion`]; `is_latest` compares with the highest version of the
/// logicalId (served by the `(logical_id, version)` index).
const SELECT_VERSION: &str = "SELECT o.entry_uuid, o.kind, o.status, o.patient_id, o.unique_id, \
     o.object_type, o.version, o.logical_id, o.association_type, o.source_object, o.target_object, \
     (o.version = (SELECT MAX(v.version) FROM registry_object v WHERE v.logical_id = o.logical_id)) \
     AS is_latest FROM registry_object o WHERE ";

/// One stored row as queries read it.
#[derive(Debug, Clone)]
struct StoredRow {
    entry_uuid: String,
    kind: ObjectKind,
    xml: String,
    patient_id: Option<String>,
    unique_id: Option<String>,
    status: String,
    /// No object of the same logicalId has a higher version.
    is_latest: bool,
    /// Association ends (from their columns, so queries need not parse the XML).
    source_object: Option<String>,
    target_object: Option<String>,
    /// A DocumentEntry's indexed times (for consent decisions without parsing the XML).
    creation_time: Option<String>,
    service_start_time: Option<String>,
}

const SELECT_ROW: &str = "SELECT o.entry_uuid, o.kind, o.xml, o.patient_id, o.unique_id, o.status, \
     o.source_object, o.target_object, o.creation_time, o.service_start_time, \
     (o.version = (SELECT MAX(v.version) FROM registry_object v WHERE v.logical_id = o.logical_id)) \
     AS is_latest FROM registry_object o WHERE ";

/// The answer being built: objects in the order added, each once, at most `max` of them.
/// At `$MetadataLevel` 1 the objects a version-unaware consumer must not see are never added,
/// so whatever a query derives from the result (memberships, associations) leaves them out too.
struct ResultSet {
    max: usize,
    level: MetadataLevel,
    rows: Vec<StoredRow>,
    seen: HashSet<String>,
}

impl ResultSet {
    fn new(max: usize, level: MetadataLevel) -> Self {
        ResultSet {
            max,
            level,
            rows: Vec::new(),
            seen: HashSet::new(),
        }
    }

    /// Whether a level-1 answer leaves this row out (ITI TF-2a 3.18.4.1.2.3.5.1).
    fn hidden(&self, row: &StoredRow) -> Result<bool, QueryError> {
        if self.level != MetadataLevel::One {
            return Ok(false);
        }
        Ok(match row.kind {
            ObjectKind::DocumentEntry => {
                !row.is_latest || update::is_offline(&codec::from_xml(&row.entry_uuid, &row.xml)?)
            }
            ObjectKind::Folder => !row.is_latest || row.status == status::DEPRECATED,
            ObjectKind::Association => row.status == status::DEPRECATED,
            ObjectKind::SubmissionSet => false,
        })
    }

    /// The rows a level-1 answer may show; a query follows only visible associations, so a
    /// Deprecated membership does not bring its member in.
    fn visible(&self, rows: Vec<StoredRow>) -> Result<Vec<StoredRow>, QueryError> {
        let mut kept = Vec::with_capacity(rows.len());
        for row in rows {
            if !self.hidden(&row)? {
                kept.push(row);
            }
        }
        Ok(kept)
    }

    fn add(&mut self, rows: impl IntoIterator<Item = StoredRow>) -> Result<(), QueryError> {
        for row in rows {
            if self.hidden(&row)? {
                continue;
            }
            if self.seen.insert(row.entry_uuid.clone()) {
                if self.rows.len() == self.max {
                    return Err(QueryError::TooManyResults { max: self.max });
                }
                self.rows.push(row);
            }
        }
        Ok(())
    }

    fn contains(&self, entry_uuid: &str) -> bool {
        self.seen.contains(entry_uuid)
    }

    fn ids_of(&self, kind: ObjectKind) -> Vec<String> {
        self.rows
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.entry_uuid.clone())
            .collect()
    }

    /// ITI-18 answers concern one patient; objects of several mean the request named
    /// another patient's objects by id (`XDSResultNotSinglePatient`).
    fn check_single_patient(&self) -> Result<(), QueryError> {
        let mut patients = self.rows.iter().filter_map(|r| r.patient_id.as_deref());
        if let Some(first) = patients.next()
            && let Some(other) = patients.find(|p| *p != first)
        {
            return Err(QueryError::ResultNotSinglePatient {
                first: first.to_owned(),
                other: other.to_owned(),
            });
        }
        Ok(())
    }

    fn into_result(self, return_type: ReturnType) -> QueryResult {
        QueryResult {
            objects: self
                .rows
                .into_iter()
                .map(StoredRow::into_result_object)
                .collect(),
            return_type,
        }
    }
}

impl StoredRow {
    fn into_result_object(self) -> ResultObject {
        ResultObject {
            entry_uuid: self.entry_uuid,
            kind: self.kind,
            xml: self.xml,
            patient_id: self.patient_id,
            unique_id: self.unique_id,
            source_object: self.source_object,
            target_object: self.target_object,
            creation_time: self.creation_time,
            service_start_time: self.service_start_time,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum AssociationEnd {
    Source,
    Target,
    Either,
}

/// Source and target of a stored association.
fn association_ends(row: &StoredRow) -> Option<(String, String)> {
    Some((row.source_object.clone()?, row.target_object.clone()?))
}

fn source_of(row: &StoredRow) -> Option<String> {
    row.source_object.clone()
}

fn target_of(row: &StoredRow) -> Option<String> {
    row.target_object.clone()
}

// ---------------------------------------------------------------------------------------------
// The engine. Every function that builds or runs SQL lives in this one `impl` block, so the
// bounds that make a sqlx database usable here are written once.

impl<DB> Engine<DB>
where
    DB: Backend,
    for<'a> &'a str: Encode<'a, DB> + Decode<'a, DB> + Type<DB> + ColumnIndex<DB::Row>,
    for<'a> Option<&'a str>: Encode<'a, DB>,
    i64: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    Option<i64>: for<'a> Encode<'a, DB>,
    String: for<'r> Decode<'r, DB> + Type<DB>,
    bool: for<'r> Decode<'r, DB> + Type<DB>,
{
    /// Starts the transaction of a write's `attempt` the backend's way, through its write gate.
    async fn begin_write(&self, attempt: u32) -> Result<Tx<'static, DB>, StoreError> {
        let mut tx = match DB::BEGIN_WRITE {
            Some(statement) => self.writer.begin_with(statement).await?,
            None => self.writer.begin().await?,
        };
        if let Some(gate) = DB::write_gate(attempt >= ALONE_FROM_ATTEMPT) {
            DB::execute(&mut *tx, &mut QueryBuilder::new(gate)).await?;
        }
        Ok(tx)
    }

    /// Rows per table, for operations and for tests proving a rejection stored nothing.
    pub(crate) async fn table_row_counts(&self) -> Result<BTreeMap<&'static str, i64>, StoreError> {
        let mut counts = BTreeMap::new();
        for table in TABLES {
            // Table names are the constants above, never input.
            let mut qb = QueryBuilder::<DB>::new(format!("SELECT COUNT(*) AS n FROM {table}"));
            let row = DB::fetch_one(&mut *self.reader.acquire().await?, &mut qb).await?;
            counts.insert(table, row.try_get("n")?);
        }
        Ok(counts)
    }

    /// Closes both pools (waits for connections in use to be returned).
    pub(crate) async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    // -----------------------------------------------------------------------------------------
    // SQL fragments.

    /// Pushes `column IN (?, ?, …)`; an empty list matches nothing.
    fn push_in<'a>(qb: &mut QueryBuilder<'a, DB>, column: &str, values: &'a [String]) {
        if values.is_empty() {
            qb.push("1 = 0");
            return;
        }
        qb.push(column);
        qb.push(" IN (");
        let mut list = qb.separated(", ");
        for v in values {
            list.push_bind(v.as_str());
        }
        qb.push(")");
    }

    fn push_and_in<'a>(qb: &mut QueryBuilder<'a, DB>, column: &str, values: &'a [String]) {
        qb.push(" AND ");
        Self::push_in(qb, column, values);
    }

    fn push_kind(qb: &mut QueryBuilder<'_, DB>, kind: ObjectKind) {
        qb.push("o.kind = ");
        qb.push_bind(kind.as_str());
    }

    /// ` AND EXISTS (code of attribute matching any of the group)`, once per ANDed group.
    fn push_codes<'a>(
        qb: &mut QueryBuilder<'a, DB>,
        attribute: &'static str,
        condition: &'a CodeCondition,
    ) {
        for group in condition {
            qb.push(" AND EXISTS (SELECT 1 FROM object_code c WHERE c.object = o.entry_uuid AND c.attribute = ");
            qb.push_bind(attribute);
            qb.push(" AND (");
            if group.is_empty() {
                qb.push("1 = 0");
            }
            for (i, code) in group.iter().enumerate() {
                if i > 0 {
                    qb.push(" OR ");
                }
                qb.push("(c.code = ");
                qb.push_bind(code.code.as_str());
                qb.push(" AND c.scheme = ");
                qb.push_bind(code.scheme.as_str());
                qb.push(")");
            }
            qb.push("))");
        }
    }

    /// ` AND column >= from AND column < to` (ITI TF-2a 3.18.4.1.2.3.6: From inclusive, To
    /// exclusive). Objects without the attribute do not match a bounded range.
    fn push_range<'a>(qb: &mut QueryBuilder<'a, DB>, column: &str, range: &'a TimeRange) {
        if let Some(from) = &range.from {
            qb.push(format_args!(" AND {column} >= "));
            qb.push_bind(from.as_str());
        }
        if let Some(to) = &range.to {
            qb.push(format_args!(" AND {column} < "));
            qb.push_bind(to.as_str());
        }
    }

    /// ` AND EXISTS (authorPerson LIKE any pattern)`; `%` and `_` are the ITI-18 wildcards.
    fn push_authors<'a>(qb: &mut QueryBuilder<'a, DB>, patterns: &'a [String]) {
        if patterns.is_empty() {
            return;
        }
        qb.push(
            " AND EXISTS (SELECT 1 FROM object_author_person a WHERE a.object = o.entry_uuid AND (",
        );
        for (i, p) in patterns.iter().enumerate() {
            if i > 0 {
                qb.push(" OR ");
            }
            DB::push_like(qb, "a.person", p.as_str());
        }
        qb.push("))");
    }

    fn push_content_filter<'a>(qb: &mut QueryBuilder<'a, DB>, filter: &'a ContentFilter) {
        Self::push_codes(qb, "formatCode", &filter.format_codes);
        Self::push_codes(qb, "confidentialityCode", &filter.confidentiality_codes);
        Self::push_and_in(qb, "o.object_type", &filter.object_types);
    }

    // -----------------------------------------------------------------------------------------
    // The change log (`registry_change`).

    /// The entryUUIDs of the DocumentEntries among planned objects.
    fn document_entries_of(objects: &[PlannedObject]) -> impl Iterator<Item = &str> {
        objects
            .iter()
            .filter(|p| p.index.kind == ObjectKind::DocumentEntry)
            .map(|p| p.index.entry_uuid.as_str())
    }

    /// Appends one change row per entryUUID (each once) to the change log, inside the write's
    /// transaction, as its last statements: the rows commit with the write or not at all.
    /// Ids of objects that are not DocumentEntries (a deprecated Folder) may be among them;
    /// consumers look each one up and skip what is not a DocumentEntry.
    async fn log_changes<'i>(
        tx: &mut Tx<'_, DB>,
        entry_uuids: impl Iterator<Item = &'i str>,
    ) -> Result<(), StoreError> {
        let ids: BTreeSet<&str> = entry_uuids.collect();
        if ids.is_empty() {
            return Ok(());
        }
        if let Some(lock) = DB::CHANGE_LOG_LOCK {
            let mut qb = QueryBuilder::new(lock);
            DB::execute(&mut **tx, &mut qb).await?;
        }
        let now = crate::change::unix_millis();
        let ids: Vec<&str> = ids.into_iter().collect();
        for chunk in ids.chunks(IN_LIST_VALUES_MAX / 2) {
            let mut qb = QueryBuilder::new("INSERT INTO registry_change (entry_uuid, changed_at) ");
            qb.push_values(chunk, |mut row, id| {
                row.push_bind(*id).push_bind(now);
            });
            DB::execute(&mut **tx, &mut qb).await?;
        }
        Ok(())
    }

    /// The changes after `after` (a seq), oldest first, at most `limit`.
    pub(crate) async fn changes_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Change>, StoreError> {
        let mut qb = QueryBuilder::new(
            "SELECT seq, entry_uuid, changed_at FROM registry_change WHERE seq > ",
        );
        qb.push_bind(after);
        qb.push(" ORDER BY seq LIMIT ");
        qb.push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
        let rows = DB::fetch_all(&mut *self.reader.acquire().await?, &mut qb).await?;
        rows.iter()
            .map(|row| {
                Ok(Change {
                    seq: row.try_get("seq")?,
                    entry_uuid: row.try_get("entry_uuid")?,
                    changed_at_ms: row.try_get("changed_at")?,
                })
            })
            .collect()
    }

    /// How many changes came after `after`, the oldest one's time, and the last seq.
    pub(crate) async fn change_backlog(&self, after: i64) -> Result<ChangeBacklog, StoreError> {
        let mut qb = QueryBuilder::new(
            "SELECT COUNT(*) AS n, MIN(changed_at) AS oldest, \
             (SELECT COALESCE(MAX(seq), 0) FROM registry_change) AS last \
             FROM registry_change WHERE seq > ",
        );
        qb.push_bind(after);
        let row = DB::fetch_one(&mut *self.reader.acquire().await?, &mut qb).await?;
        let pending: i64 = row.try_get("n")?;
        Ok(ChangeBacklog {
            pending: u64::try_from(pending).unwrap_or(0),
            oldest_changed_at_ms: row.try_get("oldest")?,
            last_seq: row.try_get("last")?,
        })
    }

    /// DocumentEntries in storage order after `after` (a `registry_object` seq), at most
    /// `limit`, each with its seq: the pages of a full rebuild of a consumer.
    pub(crate) async fn document_entries_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, ResultObject)>, StoreError> {
        let mut qb = QueryBuilder::new(
            "SELECT seq, entry_uuid, kind, xml, patient_id, unique_id, source_object, \
             target_object, creation_time, service_start_time FROM registry_object \
             WHERE kind = 'DocumentEntry' AND seq > ",
        );
        qb.push_bind(after);
        qb.push(" ORDER BY seq LIMIT ");
        qb.push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
        let rows = DB::fetch_all(&mut *self.reader.acquire().await?, &mut qb).await?;
        rows.iter()
            .map(|row| {
                let entry_uuid: String = row.try_get("entry_uuid")?;
                let kind = parse_kind(&entry_uuid, row.try_get("kind")?)?;
                Ok((
                    row.try_get("seq")?,
                    ResultObject {
                        kind,
                        xml: row.try_get("xml")?,
                        patient_id: row.try_get("patient_id")?,
                        unique_id: row.try_get("unique_id")?,
                        source_object: row.try_get("source_object")?,
                        target_object: row.try_get("target_object")?,
                        creation_time: row.try_get("creation_time")?,
                        service_start_time: row.try_get("service_start_time")?,
                        entry_uuid,
                    },
                ))
            })
            .collect()
    }

    // -----------------------------------------------------------------------------------------
    // ITI-42 registration.

    pub(crate) async fn register(
        &self,
        submission: &RegistryObjectList,
        options: RegisterOptions,
    ) -> Result<Registered, RegisterError> {
        let plan = submission::plan(submission, &dtm::now());
        self.register_plan(&plan, options).await
    }

    /// Registers an already planned submission in a transaction of its own, running it again
    /// after a write conflict.
    pub(crate) async fn register_plan(
        &self,
        plan: &submission::Plan,
        options: RegisterOptions,
    ) -> Result<Registered, RegisterError> {
        let mut attempt = 1;
        loop {
            match self.try_register(plan, &options, attempt).await {
                Ok(Attempt::Done(registered)) => return Ok(registered),
                Ok(Attempt::Rejected(findings)) => return Err(RegisterError::Rejected(findings)),
                Err(error) => tokio::time::sleep(pause_before_retry::<DB>(error, attempt)?).await,
            }
            attempt += 1;
        }
    }

    async fn try_register(
        &self,
        plan: &submission::Plan,
        options: &RegisterOptions,
        attempt: u32,
    ) -> Result<Attempt<Registered, SubmissionError>, StoreError> {
        let mut tx = self.begin_write(attempt).await?;
        let outcome = Self::register_in(&mut tx, plan, options).await?;
        match outcome {
            Attempt::Done(_) => tx.commit().await?,
            Attempt::Rejected(_) => tx.rollback().await?,
        }
        Ok(outcome)
    }

    /// Registers planned submissions in one transaction, each inside a savepoint of its own,
    /// in the order given: a rejected one is rolled back to its savepoint and leaves the others
    /// alone; a later one sees the earlier ones' rows (a uniqueId registered twice in one group
    /// is rejected the second time, as it would be one after the other). One durable commit
    /// for the whole group. See [`crate::group_commit`].
    pub(crate) async fn register_group(
        &self,
        plans: &[(&submission::Plan, RegisterOptions)],
    ) -> Result<Vec<Result<Registered, Vec<SubmissionError>>>, GroupFailure> {
        let mut tx = self
            .begin_write(1)
            .await
            .map_err(GroupFailure::BeforeCommit)?;
        let mut outcomes = Vec::with_capacity(plans.len());
        for (plan, options) in plans {
            let mut savepoint = Acquire::begin(&mut tx)
                .await
                .map_err(|e| GroupFailure::BeforeCommit(e.into()))?;
            let attempt = Self::register_in(&mut savepoint, plan, options)
                .await
                .map_err(GroupFailure::BeforeCommit)?;
            outcomes.push(match attempt {
                Attempt::Done(registered) => {
                    savepoint
                        .commit()
                        .await
                        .map_err(|e| GroupFailure::BeforeCommit(e.into()))?;
                    Ok(registered)
                }
                Attempt::Rejected(findings) => {
                    savepoint
                        .rollback()
                        .await
                        .map_err(|e| GroupFailure::BeforeCommit(e.into()))?;
                    Err(findings)
                }
            });
        }
        if outcomes.iter().any(Result::is_ok) {
            tx.commit()
                .await
                .map_err(|e| GroupFailure::Commit(e.into()))?;
        } else {
            // Every one was rejected: nothing to make durable.
            tx.rollback()
                .await
                .map_err(|e| GroupFailure::BeforeCommit(e.into()))?;
        }
        Ok(outcomes)
    }

    /// The checks and writes of one registration inside `tx`; the caller commits or rolls back.
    async fn register_in(
        tx: &mut Tx<'_, DB>,
        plan: &submission::Plan,
        options: &RegisterOptions,
    ) -> Result<Attempt<Registered, SubmissionError>, StoreError> {
        let facts = Self::gather_facts(tx, plan).await?;
        let (store_findings, effects) = submission::check_against_store(plan, &facts, options);
        let mut findings = plan.findings.clone();
        findings.extend(store_findings);
        if !findings.is_empty() {
            return Ok(Attempt::Rejected(findings));
        }
        let registered = Self::apply(tx, plan, &effects).await?;
        let changed = Self::document_entries_of(&plan.objects)
            .chain(registered.deprecated.iter().map(String::as_str));
        Self::log_changes(tx, changed).await?;
        Ok(Attempt::Done(registered))
    }

    async fn gather_facts(
        tx: &mut Tx<'_, DB>,
        plan: &submission::Plan,
    ) -> Result<StoreFacts, StoreError> {
        let mut facts = StoreFacts::default();

        let ids: Vec<String> = plan
            .referenced_ids()
            .into_iter()
            .chain(plan.entry_uuids())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for chunk in ids.chunks(IN_LIST_VALUES_MAX) {
            let mut qb = QueryBuilder::new(
                "SELECT entry_uuid, kind, status, patient_id FROM registry_object WHERE ",
            );
            Self::push_in(&mut qb, "entry_uuid", chunk);
            for row in DB::fetch_all(&mut **tx, &mut qb).await? {
                let entry_uuid: String = row.try_get("entry_uuid")?;
                let kind = parse_kind(&entry_uuid, row.try_get("kind")?)?;
                facts.existing.insert(
                    entry_uuid,
                    StoredSummary {
                        kind,
                        status: row.try_get("status")?,
                        patient_id: row.try_get("patient_id")?,
                    },
                );
            }
        }

        let unique_ids: Vec<String> = plan.unique_ids().into_iter().collect();
        for chunk in unique_ids.chunks(IN_LIST_VALUES_MAX) {
            let mut qb = QueryBuilder::new(
                "SELECT unique_id, entry_uuid, kind, hash, size FROM registry_object \
                 WHERE kind <> 'Association' AND ",
            );
            Self::push_in(&mut qb, "unique_id", chunk);
            qb.push(" ORDER BY seq");
            for row in DB::fetch_all(&mut **tx, &mut qb).await? {
                let entry_uuid: String = row.try_get("entry_uuid")?;
                let kind = parse_kind(&entry_uuid, row.try_get("kind")?)?;
                let size: Option<i64> = row.try_get("size")?;
                facts
                    .unique_ids
                    .entry(row.try_get("unique_id")?)
                    .or_default()
                    .push(StoredUniqueId {
                        entry_uuid,
                        kind,
                        hash: row.try_get("hash")?,
                        size: size.and_then(|s| u64::try_from(s).ok()),
                    });
            }
        }

        let patients: Vec<String> = plan.patient_ids().into_iter().collect();
        for chunk in patients.chunks(IN_LIST_VALUES_MAX) {
            let mut qb = QueryBuilder::new("SELECT patient_id FROM known_patient WHERE ");
            Self::push_in(&mut qb, "patient_id", chunk);
            for row in DB::fetch_all(&mut **tx, &mut qb).await? {
                facts.known_patients.insert(row.try_get("patient_id")?);
            }
        }

        let replaced = plan.replaced_ids();
        for chunk in replaced.chunks(IN_LIST_VALUES_MAX) {
            let mut qb = QueryBuilder::new(
                "SELECT a.target_object, a.source_object FROM registry_object a \
                 JOIN registry_object f ON f.entry_uuid = a.source_object \
                 WHERE a.kind = 'Association' AND f.kind = 'Folder' AND a.association_type = ",
            );
            qb.push_bind(association_type::HAS_MEMBER);
            qb.push(" AND a.status = ");
            qb.push_bind(status::APPROVED);
            qb.push(" AND ");
            Self::push_in(&mut qb, "a.target_object", chunk);
            qb.push(" ORDER BY a.seq");
            for row in DB::fetch_all(&mut **tx, &mut qb).await? {
                facts
                    .folders_of
                    .entry(row.try_get("target_object")?)
                    .or_default()
                    .push(row.try_get("source_object")?);
            }
        }
        Ok(facts)
    }

    /// Inserts a write's planned objects and the associations the registry adds to them;
    /// answers their entryUUIDs in that order (what `stored` reports).
    async fn insert_planned(
        tx: &mut Tx<'_, DB>,
        objects: &[PlannedObject],
        new_associations: &[PlannedObject],
    ) -> Result<Vec<String>, StoreError> {
        let inserted: Vec<&PlannedObject> = objects.iter().chain(new_associations).collect();
        Self::insert_objects(tx, &inserted).await?;
        Ok(inserted
            .iter()
            .map(|p| p.index.entry_uuid.clone())
            .collect())
    }

    /// Inserts the objects' rows and their link rows: one multi-row `INSERT` per table (per
    /// [`INSERT_ROWS_MAX`] rows), because on SQLite every statement is a hand-off to the
    /// connection's thread and the writer is the one serialized part of a registration.
    async fn insert_objects(
        tx: &mut Tx<'_, DB>,
        objects: &[&PlannedObject],
    ) -> Result<(), StoreError> {
        let mut rows = Vec::with_capacity(objects.len());
        for planned in objects {
            rows.push((&planned.index, codec::to_xml(&planned.object)?));
        }
        for chunk in rows.chunks(INSERT_ROWS_MAX) {
            let mut qb = QueryBuilder::new(
                "INSERT INTO registry_object (entry_uuid, kind, xml, patient_id, status, \
                 object_type, unique_id, logical_id, version, creation_time, service_start_time, \
                 service_stop_time, submission_time, last_update_time, repository_unique_id, hash, \
                 size, source_id, association_type, source_object, target_object) ",
            );
            qb.push_values(chunk, |mut values, (ix, xml)| {
                let version: i64 = ix
                    .version
                    .as_deref()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                values.push_bind(ix.entry_uuid.as_str());
                values.push_bind(ix.kind.as_str());
                values.push_bind(xml.as_str());
                values.push_bind(ix.patient_id.as_deref());
                values.push_bind(ix.status.as_deref().unwrap_or(status::APPROVED));
                values.push_bind(ix.object_type.as_deref());
                values.push_bind(ix.unique_id.as_deref());
                values.push_bind(ix.logical_id.as_deref().unwrap_or(&ix.entry_uuid));
                values.push_bind(version);
                values.push_bind(ix.creation_time.as_deref());
                values.push_bind(ix.service_start_time.as_deref());
                values.push_bind(ix.service_stop_time.as_deref());
                values.push_bind(ix.submission_time.as_deref());
                values.push_bind(ix.last_update_time.as_deref());
                values.push_bind(ix.repository_unique_id.as_deref());
                values.push_bind(ix.hash.as_deref());
                values.push_bind(parse_size(ix));
                values.push_bind(ix.source_id.as_deref());
                values.push_bind(ix.association_type.as_deref());
                values.push_bind(ix.source_object.as_deref());
                values.push_bind(ix.target_object.as_deref());
            });
            DB::execute(&mut **tx, &mut qb).await?;
        }

        let codes: Vec<(&str, &crate::index::Code)> = objects
            .iter()
            .flat_map(|p| {
                p.index
                    .codes
                    .iter()
                    .map(|c| (p.index.entry_uuid.as_str(), c))
            })
            .collect();
        for chunk in codes.chunks(INSERT_ROWS_MAX) {
            let mut qb =
                QueryBuilder::new("INSERT INTO object_code (object, attribute, code, scheme) ");
            qb.push_values(chunk, |mut values, (object, code)| {
                values.push_bind(*object);
                values.push_bind(code.attribute);
                values.push_bind(code.code.as_str());
                values.push_bind(code.scheme.as_str());
            });
            DB::execute(&mut **tx, &mut qb).await?;
        }

        let links: [(&str, LinkValues); 3] = [
            ("INSERT INTO object_author_person (object, person) ", |ix| {
                &ix.author_persons
            }),
            (
                "INSERT INTO object_author_institution (object, institution) ",
                |ix| &ix.author_institutions,
            ),
            (
                "INSERT INTO object_reference_id (object, reference_id) ",
                |ix| &ix.reference_ids,
            ),
        ];
        for (insert, values_of) in links {
            let pairs: Vec<(&str, &str)> = objects
                .iter()
                .flat_map(|p| {
                    values_of(&p.index)
                        .iter()
                        .map(|v| (p.index.entry_uuid.as_str(), v.as_str()))
                })
                .collect();
            for chunk in pairs.chunks(INSERT_ROWS_MAX) {
                let mut qb = QueryBuilder::new(insert);
                qb.push_values(chunk, |mut values, (object, value)| {
                    values.push_bind(*object);
                    values.push_bind(*value);
                });
                DB::execute(&mut **tx, &mut qb).await?;
            }
        }
        Ok(())
    }

    /// Rewrites a stored object's XML (and the derived status / lastUpdateTime columns).
    async fn rewrite_object(
        tx: &mut Tx<'_, DB>,
        entry_uuid: &str,
        change: impl FnOnce(&mut RegistryObject),
    ) -> Result<(), StoreError> {
        let mut qb = QueryBuilder::new("SELECT xml FROM registry_object WHERE entry_uuid = ");
        qb.push_bind(entry_uuid);
        let xml: String = DB::fetch_one(&mut **tx, &mut qb).await?.try_get("xml")?;
        let mut object = codec::from_xml(entry_uuid, &xml)?;
        let ro = match &mut object {
            Identifiable::ExtrinsicObject(o) => &mut o.object,
            Identifiable::RegistryPackage(o) => &mut o.object,
            Identifiable::Association(o) => &mut o.object,
            _ => {
                return Err(StoreError::Corrupt {
                    object: entry_uuid.to_owned(),
                    detail: "stored XML is not a registry object of a stored kind".to_owned(),
                });
            }
        };
        change(ro);
        let index = ObjectIndex::of(&object).ok_or_else(|| StoreError::Corrupt {
            object: entry_uuid.to_owned(),
            detail: "stored object has no kind".to_owned(),
        })?;
        let xml = codec::to_xml(&object)?;
        let mut qb = QueryBuilder::new("UPDATE registry_object SET xml = ");
        qb.push_bind(xml.as_str());
        qb.push(", status = ");
        qb.push_bind(index.status.as_deref().unwrap_or(status::APPROVED));
        qb.push(", last_update_time = ");
        qb.push_bind(index.last_update_time.as_deref());
        qb.push(" WHERE entry_uuid = ");
        qb.push_bind(entry_uuid);
        DB::execute(&mut **tx, &mut qb).await?;
        Ok(())
    }

    async fn apply(
        tx: &mut Tx<'_, DB>,
        plan: &submission::Plan,
        effects: &Effects,
    ) -> Result<Registered, StoreError> {
        let mut registered = Registered {
            assigned_uuids: plan.assigned_uuids.clone(),
            ..Registered::default()
        };
        registered
            .stored
            .extend(Self::insert_planned(tx, &plan.objects, &effects.new_associations).await?);
        for entry_uuid in &effects.deprecate {
            Self::rewrite_object(tx, entry_uuid, |ro| {
                ro.status = Some(status::DEPRECATED.to_owned())
            })
            .await?;
            registered.deprecated.push(entry_uuid.clone());
        }
        for folder in &effects.touched_folders {
            Self::rewrite_object(tx, folder, |ro| {
                submission::set_slot(ro, slot::LAST_UPDATE_TIME, &plan.now)
            })
            .await?;
        }
        Ok(registered)
    }

    // -----------------------------------------------------------------------------------------
    // ITI-57 updates.

    pub(crate) async fn update(
        &self,
        submission: &RegistryObjectList,
        options: RegisterOptions,
    ) -> Result<Updated, UpdateError> {
        let now = dtm::now();
        let mut attempt = 1;
        loop {
            match self.try_update(submission, &options, &now, attempt).await {
                Ok(Attempt::Done(updated)) => return Ok(updated),
                Ok(Attempt::Rejected(findings)) => return Err(UpdateError::Rejected(findings)),
                Err(error) => tokio::time::sleep(pause_before_retry::<DB>(error, attempt)?).await,
            }
            attempt += 1;
        }
    }

    async fn try_update(
        &self,
        submission: &RegistryObjectList,
        options: &RegisterOptions,
        now: &str,
        attempt: u32,
    ) -> Result<Attempt<Updated, UpdateFinding>, StoreError> {
        // Planned afresh on every attempt: checking against the store completes the plan.
        let mut plan = update::plan(submission, now);
        let mut tx = self.begin_write(attempt).await?;
        let facts = Self::gather_update_facts(&mut tx, &plan).await?;
        let (store_findings, effects) = update::check_against_store(&mut plan, &facts, options);
        let mut findings = plan.findings.clone();
        findings.extend(store_findings);
        if !findings.is_empty() {
            tx.rollback().await?;
            return Ok(Attempt::Rejected(findings));
        }
        let updated = Self::apply_update(&mut tx, &plan, &effects).await?;
        let changed = Self::document_entries_of(&plan.objects)
            .chain(updated.deprecated.iter().map(String::as_str))
            .chain(updated.status_changed.iter().map(|(id, _)| id.as_str()));
        Self::log_changes(&mut tx, changed).await?;
        tx.commit().await?;
        Ok(Attempt::Done(updated))
    }

    fn stored_version(row: &DB::Row) -> Result<(String, StoredVersion), StoreError> {
        let entry_uuid: String = row.try_get("entry_uuid")?;
        let kind = parse_kind(&entry_uuid, row.try_get("kind")?)?;
        let version: i64 = row.try_get("version")?;
        let version = u64::try_from(version).map_err(|_| StoreError::Corrupt {
            object: entry_uuid.clone(),
            detail: format!("negative version {version}"),
        })?;
        let association_type: Option<String> = row.try_get("association_type")?;
        let source: Option<String> = row.try_get("source_object")?;
        let target: Option<String> = row.try_get("target_object")?;
        let association = match (association_type, source, target) {
            (Some(t), Some(s), Some(d)) => Some((t, s, d)),
            _ => None,
        };
        let is_latest: bool = row.try_get("is_latest")?;
        Ok((
            row.try_get("logical_id")?,
            StoredVersion {
                entry_uuid,
                kind,
                status: row.try_get("status")?,
                patient_id: row.try_get("patient_id")?,
                unique_id: row.try_get("unique_id")?,
                object_type: row.try_get("object_type")?,
                version,
                is_latest,
                association,
            },
        ))
    }

    async fn gather_update_facts(
        tx: &mut Tx<'_, DB>,
        plan: &UpdatePlan,
    ) -> Result<UpdateFacts, StoreError> {
        let mut facts = UpdateFacts::default();
        let lids = plan.lids();
        for chunk in lids.chunks(IN_LIST_VALUES_MAX) {
            let mut qb = QueryBuilder::new(SELECT_VERSION);
            qb.push("o.kind <> 'Association' AND ");
            Self::push_in(&mut qb, "o.logical_id", chunk);
            qb.push(" ORDER BY o.version DESC");
            for row in DB::fetch_all(&mut **tx, &mut qb).await? {
                let (lid, version) = Self::stored_version(&row)?;
                facts.latest.entry(lid).or_insert(version);
            }
        }
        let ids = plan.referenced_ids();
        for chunk in ids.chunks(IN_LIST_VALUES_MAX) {
            let mut qb = QueryBuilder::new(SELECT_VERSION);
            Self::push_in(&mut qb, "o.entry_uuid", chunk);
            for row in DB::fetch_all(&mut **tx, &mut qb).await? {
                let (_, version) = Self::stored_version(&row)?;
                facts.existing.insert(version.entry_uuid.clone(), version);
            }
        }
        // The sources of named associations, so a Folder membership's Folder is known.
        let sources: Vec<String> = facts
            .existing
            .values()
            .filter_map(|v| v.association.as_ref().map(|(_, source, _)| source.clone()))
            .filter(|source| !facts.existing.contains_key(source))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for chunk in sources.chunks(IN_LIST_VALUES_MAX) {
            let mut qb = QueryBuilder::new(SELECT_VERSION);
            Self::push_in(&mut qb, "o.entry_uuid", chunk);
            for row in DB::fetch_all(&mut **tx, &mut qb).await? {
                let (_, version) = Self::stored_version(&row)?;
                facts.existing.insert(version.entry_uuid.clone(), version);
            }
        }
        let previous: Vec<String> = facts
            .latest
            .values()
            .map(|v| v.entry_uuid.clone())
            .collect();
        for chunk in previous.chunks(IN_LIST_VALUES_MAX) {
            let mut qb = QueryBuilder::new(
                "SELECT a.entry_uuid, a.association_type, a.source_object, a.target_object, \
                 s.kind AS source_kind, s.status AS source_status FROM registry_object a \
                 LEFT JOIN registry_object s ON s.entry_uuid = a.source_object \
                 WHERE a.kind = 'Association' AND a.status = ",
            );
            qb.push_bind(status::APPROVED);
            qb.push(" AND (");
            Self::push_in(&mut qb, "a.source_object", chunk);
            qb.push(" OR ");
            Self::push_in(&mut qb, "a.target_object", chunk);
            qb.push(") ORDER BY a.seq");
            for row in DB::fetch_all(&mut **tx, &mut qb).await? {
                let source_kind: Option<String> = row.try_get("source_kind")?;
                facts.touching.push(StoredAssociation {
                    entry_uuid: row.try_get("entry_uuid")?,
                    association_type: row.try_get("association_type")?,
                    source_object: row.try_get("source_object")?,
                    target_object: row.try_get("target_object")?,
                    source_kind: source_kind.as_deref().and_then(ObjectKind::parse),
                    source_status: row.try_get("source_status")?,
                });
            }
        }
        let patients = plan.patient_ids();
        for chunk in patients.chunks(IN_LIST_VALUES_MAX) {
            let mut qb = QueryBuilder::new("SELECT patient_id FROM known_patient WHERE ");
            Self::push_in(&mut qb, "patient_id", chunk);
            for row in DB::fetch_all(&mut **tx, &mut qb).await? {
                facts.known_patients.insert(row.try_get("patient_id")?);
            }
        }
        Ok(facts)
    }

    async fn apply_update(
        tx: &mut Tx<'_, DB>,
        plan: &UpdatePlan,
        effects: &UpdateEffects,
    ) -> Result<Updated, StoreError> {
        let mut updated = Updated {
            assigned_uuids: plan.assigned_uuids.clone(),
            ..Updated::default()
        };
        // Deprecate first: a previous version and its new one never both look latest+Approved.
        for entry_uuid in &effects.deprecate {
            Self::rewrite_object(tx, entry_uuid, |ro| {
                ro.status = Some(status::DEPRECATED.to_owned())
            })
            .await?;
            updated.deprecated.push(entry_uuid.clone());
        }
        updated
            .stored
            .extend(Self::insert_planned(tx, &plan.objects, &effects.new_associations).await?);
        for (entry_uuid, new_status) in &effects.status_changes {
            Self::rewrite_object(tx, entry_uuid, |ro| ro.status = Some(new_status.clone())).await?;
            updated
                .status_changed
                .push((entry_uuid.clone(), new_status.clone()));
        }
        for folder in &effects.touched_folders {
            Self::rewrite_object(tx, folder, |ro| {
                submission::set_slot(ro, slot::LAST_UPDATE_TIME, &plan.now)
            })
            .await?;
            updated.touched_folders.push(folder.clone());
        }
        Ok(updated)
    }

    // -----------------------------------------------------------------------------------------
    // ITI-62 deletes.

    pub(crate) async fn delete(&self, entry_uuids: &[String]) -> Result<Deleted, DeleteError> {
        let ids: BTreeSet<String> = entry_uuids.iter().cloned().collect();
        let mut attempt = 1;
        loop {
            match self.try_delete(&ids, attempt).await {
                Ok(Attempt::Done(deleted)) => return Ok(deleted),
                Ok(Attempt::Rejected(findings)) => return Err(DeleteError::Rejected(findings)),
                Err(error) => tokio::time::sleep(pause_before_retry::<DB>(error, attempt)?).await,
            }
            attempt += 1;
        }
    }

    async fn try_delete(
        &self,
        ids: &BTreeSet<String>,
        attempt: u32,
    ) -> Result<Attempt<Deleted, delete::RemoveError>, StoreError> {
        let list: Vec<String> = ids.iter().cloned().collect();
        let mut tx = self.begin_write(attempt).await?;
        let mut facts = DeleteFacts::default();
        for chunk in list.chunks(IN_LIST_VALUES_MAX) {
            let mut qb = QueryBuilder::new("SELECT entry_uuid, kind FROM registry_object WHERE ");
            Self::push_in(&mut qb, "entry_uuid", chunk);
            for row in DB::fetch_all(&mut tx, &mut qb).await? {
                let id: String = row.try_get("entry_uuid")?;
                let kind = parse_kind(&id, row.try_get("kind")?)?;
                facts.existing.insert(id, kind);
            }
            let mut qb = QueryBuilder::new(
                "SELECT a.entry_uuid, a.association_type, a.source_object, a.target_object, \
                 s.kind AS source_kind FROM registry_object a \
                 LEFT JOIN registry_object s ON s.entry_uuid = a.source_object \
                 WHERE a.kind = 'Association' AND (",
            );
            Self::push_in(&mut qb, "a.source_object", chunk);
            qb.push(" OR ");
            Self::push_in(&mut qb, "a.target_object", chunk);
            qb.push(" OR ");
            Self::push_in(&mut qb, "a.entry_uuid", chunk);
            qb.push(")");
            for row in DB::fetch_all(&mut tx, &mut qb).await? {
                let touching = Touching {
                    entry_uuid: row.try_get("entry_uuid")?,
                    association_type: row.try_get("association_type")?,
                    source_object: row.try_get("source_object")?,
                    target_object: row.try_get("target_object")?,
                };
                let source_kind: Option<String> = row.try_get("source_kind")?;
                if let Some(kind) = source_kind.as_deref().and_then(ObjectKind::parse) {
                    facts
                        .source_kinds
                        .insert(touching.source_object.clone(), kind);
                }
                facts.touching.push(touching);
            }
        }
        let (findings, touched) = delete::check_delete(ids, &facts);
        if !findings.is_empty() {
            tx.rollback().await?;
            return Ok(Attempt::Rejected(findings));
        }
        for chunk in list.chunks(IN_LIST_VALUES_MAX) {
            let mut qb = QueryBuilder::new("DELETE FROM registry_object WHERE ");
            Self::push_in(&mut qb, "entry_uuid", chunk);
            DB::execute(&mut tx, &mut qb).await?;
        }
        let now = dtm::now();
        for folder in &touched {
            Self::rewrite_object(&mut tx, folder, |ro| {
                submission::set_slot(ro, slot::LAST_UPDATE_TIME, &now)
            })
            .await?;
        }
        let changed = list
            .iter()
            .filter(|id| facts.existing.get(*id) == Some(&ObjectKind::DocumentEntry))
            .map(String::as_str);
        Self::log_changes(&mut tx, changed).await?;
        tx.commit().await?;
        Ok(Attempt::Done(Deleted {
            deleted: list,
            touched_folders: touched.into_iter().collect(),
        }))
    }

    // -----------------------------------------------------------------------------------------
    // The known-patient feed and the repository's garbage collector.

    pub(crate) async fn add_known_patient(&self, patient_id: &str) -> Result<bool, StoreError> {
        let now = dtm::now();
        let mut qb = QueryBuilder::new("INSERT INTO known_patient (patient_id, added_at) VALUES (");
        qb.push_bind(patient_id);
        qb.push(", ");
        qb.push_bind(now.as_str());
        qb.push(") ON CONFLICT (patient_id) DO NOTHING");
        let inserted = DB::execute(&mut *self.writer.acquire().await?, &mut qb).await?;
        Ok(inserted == 1)
    }

    pub(crate) async fn hash_referenced(&self, hash: &str) -> Result<bool, StoreError> {
        let hash = hash.to_ascii_lowercase();
        let mut qb = QueryBuilder::new(
            "SELECT EXISTS (SELECT 1 FROM registry_object WHERE kind = 'DocumentEntry' AND hash = ",
        );
        qb.push_bind(hash.as_str());
        qb.push(") AS found");
        let row = DB::fetch_one(&mut *self.reader.acquire().await?, &mut qb).await?;
        Ok(row.try_get("found")?)
    }

    // -----------------------------------------------------------------------------------------
    // Stored queries.

    pub(crate) async fn query_result(
        &self,
        request: &StoredQueryRequest,
    ) -> Result<QueryResult, QueryError> {
        let query = StoredQuery::parse(request)?;
        let level = query::metadata_level(request)?;
        let mut result = ResultSet::new(self.config.query_results_max, level);
        self.run(&query, &mut result).await?;
        if !query.is_multi_patient() {
            result.check_single_patient()?;
        }
        Ok(result.into_result(request.return_type))
    }

    pub(crate) async fn objects_by_ids(
        &self,
        entry_uuids: &[String],
    ) -> Result<Vec<ResultObject>, QueryError> {
        Ok(self
            .by_ids(entry_uuids)
            .await?
            .into_iter()
            .map(StoredRow::into_result_object)
            .collect())
    }

    pub(crate) async fn author_institutions(
        &self,
        entry_uuids: &[String],
    ) -> Result<Vec<(String, String)>, QueryError> {
        let mut pairs = Vec::new();
        let mut connection = self.reader.acquire().await.map_err(StoreError::from)?;
        for chunk in entry_uuids.chunks(IN_LIST_VALUES_MAX) {
            let mut qb = QueryBuilder::new(
                "SELECT object, institution FROM object_author_institution WHERE ",
            );
            Self::push_in(&mut qb, "object", chunk);
            for row in DB::fetch_all(&mut connection, &mut qb)
                .await
                .map_err(StoreError::from)?
            {
                pairs.push((
                    row.try_get("object").map_err(StoreError::from)?,
                    row.try_get("institution").map_err(StoreError::from)?,
                ));
            }
        }
        Ok(pairs)
    }

    pub(crate) async fn has_member_targets(
        &self,
        containers: &[String],
    ) -> Result<Vec<(String, String)>, QueryError> {
        let has_member = [association_type::HAS_MEMBER.to_owned()];
        Ok(self
            .associations(AssociationEnd::Source, containers, Some(&has_member))
            .await?
            .iter()
            .filter_map(association_ends)
            .collect())
    }

    async fn fetch(&self, mut qb: QueryBuilder<'_, DB>) -> Result<Vec<StoredRow>, QueryError> {
        qb.push(" ORDER BY o.seq LIMIT ");
        // One more than the maximum, so that "too many" is seen without reading everything.
        qb.push_bind(
            i64::try_from(self.config.query_results_max)
                .unwrap_or(i64::MAX)
                .saturating_add(1),
        );
        let mut connection = self.reader.acquire().await.map_err(StoreError::from)?;
        let rows = DB::fetch_all(&mut connection, &mut qb)
            .await
            .map_err(StoreError::from)?;
        drop(connection);
        // More rows than the maximum is too many even before `$MetadataLevel` 1 hides old
        // versions: conservative, but never a silent truncation of what is visible.
        if rows.len() > self.config.query_results_max {
            return Err(QueryError::TooManyResults {
                max: self.config.query_results_max,
            });
        }
        rows.into_iter()
            .map(|row| {
                let entry_uuid: String = row.try_get("entry_uuid").map_err(StoreError::from)?;
                let kind = parse_kind(&entry_uuid, row.try_get("kind").map_err(StoreError::from)?)?;
                Ok(StoredRow {
                    kind,
                    xml: row.try_get("xml").map_err(StoreError::from)?,
                    patient_id: row.try_get("patient_id").map_err(StoreError::from)?,
                    unique_id: row.try_get("unique_id").map_err(StoreError::from)?,
                    status: row.try_get("status").map_err(StoreError::from)?,
                    is_latest: row.try_get("is_latest").map_err(StoreError::from)?,
                    source_object: row.try_get("source_object").map_err(StoreError::from)?,
                    target_object: row.try_get("target_object").map_err(StoreError::from)?,
                    creation_time: row.try_get("creation_time").map_err(StoreError::from)?,
                    service_start_time: row
                        .try_get("service_start_time")
                        .map_err(StoreError::from)?,
                    entry_uuid,
                })
            })
            .collect()
    }

    /// Objects of one kind named by a selector (uniqueId selects every version).
    async fn select(
        &self,
        kind: ObjectKind,
        selector: &Selector,
    ) -> Result<Vec<StoredRow>, QueryError> {
        let (column, values) = match selector {
            Selector::EntryUuids(v) => ("o.entry_uuid", v),
            Selector::UniqueIds(v) => ("o.unique_id", v),
        };
        let mut rows = Vec::new();
        for chunk in values.chunks(IN_LIST_VALUES_MAX) {
            let mut qb = QueryBuilder::new(SELECT_ROW);
            Self::push_kind(&mut qb, kind);
            Self::push_and_in(&mut qb, column, chunk);
            rows.extend(self.fetch(qb).await?);
        }
        Ok(rows)
    }

    /// Associations with the given end in `ids` (and, if given, of one of `types`).
    async fn associations(
        &self,
        end: AssociationEnd,
        ids: &[String],
        types: Option<&[String]>,
    ) -> Result<Vec<StoredRow>, QueryError> {
        let mut rows = Vec::new();
        for chunk in ids.chunks(IN_LIST_VALUES_MAX) {
            let mut qb = QueryBuilder::new(SELECT_ROW);
            Self::push_kind(&mut qb, ObjectKind::Association);
            qb.push(" AND (");
            match end {
                AssociationEnd::Source => Self::push_in(&mut qb, "o.source_object", chunk),
                AssociationEnd::Target => Self::push_in(&mut qb, "o.target_object", chunk),
                AssociationEnd::Either => {
                    Self::push_in(&mut qb, "o.source_object", chunk);
                    qb.push(" OR ");
                    Self::push_in(&mut qb, "o.target_object", chunk);
                }
            }
            qb.push(")");
            if let Some(types) = types {
                Self::push_and_in(&mut qb, "o.association_type", types);
            }
            rows.extend(self.fetch(qb).await?);
        }
        Ok(rows)
    }

    /// DocumentEntries among `ids` that pass a content filter.
    async fn filtered_documents(
        &self,
        ids: &[String],
        filter: &ContentFilter,
    ) -> Result<Vec<StoredRow>, QueryError> {
        let mut rows = Vec::new();
        for chunk in ids.chunks(IN_LIST_VALUES_MAX) {
            let mut qb = QueryBuilder::new(SELECT_ROW);
            Self::push_kind(&mut qb, ObjectKind::DocumentEntry);
            Self::push_and_in(&mut qb, "o.entry_uuid", chunk);
            Self::push_content_filter(&mut qb, filter);
            rows.extend(self.fetch(qb).await?);
        }
        Ok(rows)
    }

    async fn by_ids(&self, ids: &[String]) -> Result<Vec<StoredRow>, QueryError> {
        let mut rows = Vec::new();
        for chunk in ids.chunks(IN_LIST_VALUES_MAX) {
            let mut qb = QueryBuilder::new(SELECT_ROW);
            Self::push_in(&mut qb, "o.entry_uuid", chunk);
            rows.extend(self.fetch(qb).await?);
        }
        Ok(rows)
    }

    async fn find_documents(&self, f: &DocumentFilter) -> Result<Vec<StoredRow>, QueryError> {
        let mut qb = QueryBuilder::new(SELECT_ROW);
        Self::push_kind(&mut qb, ObjectKind::DocumentEntry);
        if let Some(patients) = &f.patient_ids {
            Self::push_and_in(&mut qb, "o.patient_id", patients);
        }
        Self::push_and_in(&mut qb, "o.status", &f.statuses);
        Self::push_and_in(&mut qb, "o.object_type", &f.object_types);
        Self::push_codes(&mut qb, "classCode", &f.class_codes);
        Self::push_codes(&mut qb, "typeCode", &f.type_codes);
        Self::push_codes(&mut qb, "practiceSettingCode", &f.practice_setting_codes);
        Self::push_codes(
            &mut qb,
            "healthcareFacilityTypeCode",
            &f.healthcare_facility_type_codes,
        );
        Self::push_codes(&mut qb, "eventCodeList", &f.event_codes);
        Self::push_codes(&mut qb, "confidentialityCode", &f.confidentiality_codes);
        Self::push_codes(&mut qb, "formatCode", &f.format_codes);
        Self::push_range(&mut qb, "o.creation_time", &f.creation_time);
        Self::push_range(&mut qb, "o.service_start_time", &f.service_start_time);
        Self::push_range(&mut qb, "o.service_stop_time", &f.service_stop_time);
        Self::push_authors(&mut qb, &f.author_persons);
        if !f.reference_ids.is_empty() {
            qb.push(" AND EXISTS (SELECT 1 FROM object_reference_id r WHERE r.object = o.entry_uuid AND ");
            Self::push_in(&mut qb, "r.reference_id", &f.reference_ids);
            qb.push(")");
        }
        self.fetch(qb).await
    }

    async fn find_submission_sets(
        &self,
        f: &SubmissionSetFilter,
    ) -> Result<Vec<StoredRow>, QueryError> {
        let mut qb = QueryBuilder::new(SELECT_ROW);
        Self::push_kind(&mut qb, ObjectKind::SubmissionSet);
        qb.push(" AND o.patient_id = ");
        qb.push_bind(f.patient_id.as_str());
        Self::push_and_in(&mut qb, "o.status", &f.statuses);
        if !f.source_ids.is_empty() {
            Self::push_and_in(&mut qb, "o.source_id", &f.source_ids);
        }
        Self::push_range(&mut qb, "o.submission_time", &f.submission_time);
        Self::push_authors(&mut qb, &f.author_persons);
        Self::push_codes(&mut qb, "contentTypeCode", &f.content_type_codes);
        self.fetch(qb).await
    }

    async fn find_folders(&self, f: &FolderFilter) -> Result<Vec<StoredRow>, QueryError> {
        let mut qb = QueryBuilder::new(SELECT_ROW);
        Self::push_kind(&mut qb, ObjectKind::Folder);
        if let Some(patients) = &f.patient_ids {
            Self::push_and_in(&mut qb, "o.patient_id", patients);
        }
        Self::push_and_in(&mut qb, "o.status", &f.statuses);
        Self::push_range(&mut qb, "o.last_update_time", &f.last_update_time);
        Self::push_codes(&mut qb, "codeList", &f.codes);
        self.fetch(qb).await
    }

    /// Adds the associations whose both ends are already in the result (and then those
    /// from a result object to one of the associations just added: SubmissionSet membership
    /// of a folder-document association).
    async fn add_internal_associations(&self, result: &mut ResultSet) -> Result<(), QueryError> {
        let ids: Vec<String> = result.rows.iter().map(|r| r.entry_uuid.clone()).collect();
        let first: Vec<StoredRow> = self
            .associations(AssociationEnd::Source, &ids, None)
            .await?
            .into_iter()
            .filter(|a| target_of(a).is_some_and(|t| result.contains(&t)))
            .collect();
        let first_ids: HashSet<String> = first.iter().map(|a| a.entry_uuid.clone()).collect();
        result.add(first)?;
        let second: Vec<StoredRow> = self
            .associations(AssociationEnd::Source, &ids, None)
            .await?
            .into_iter()
            .filter(|a| target_of(a).is_some_and(|t| first_ids.contains(&t)))
            .collect();
        result.add(second)
    }

    async fn run(&self, query: &StoredQuery, result: &mut ResultSet) -> Result<(), QueryError> {
        match query {
            StoredQuery::FindDocuments(f) => result.add(self.find_documents(f).await?),
            StoredQuery::FindSubmissionSets(f) => result.add(self.find_submission_sets(f).await?),
            StoredQuery::FindFolders(f) => result.add(self.find_folders(f).await?),
            StoredQuery::GetAll {
                patient_id,
                document_statuses,
                submission_set_statuses,
                folder_statuses,
                filter,
            } => {
                let patient = std::slice::from_ref(patient_id);
                let mut qb = QueryBuilder::new(SELECT_ROW);
                Self::push_kind(&mut qb, ObjectKind::SubmissionSet);
                Self::push_and_in(&mut qb, "o.patient_id", patient);
                Self::push_and_in(&mut qb, "o.status", submission_set_statuses);
                result.add(self.fetch(qb).await?)?;
                let mut qb = QueryBuilder::new(SELECT_ROW);
                Self::push_kind(&mut qb, ObjectKind::DocumentEntry);
                Self::push_and_in(&mut qb, "o.patient_id", patient);
                Self::push_and_in(&mut qb, "o.status", document_statuses);
                Self::push_content_filter(&mut qb, filter);
                result.add(self.fetch(qb).await?)?;
                let mut qb = QueryBuilder::new(SELECT_ROW);
                Self::push_kind(&mut qb, ObjectKind::Folder);
                Self::push_and_in(&mut qb, "o.patient_id", patient);
                Self::push_and_in(&mut qb, "o.status", folder_statuses);
                result.add(self.fetch(qb).await?)?;
                self.add_internal_associations(result).await
            }
            StoredQuery::GetDocuments(selector) => {
                result.add(self.select(ObjectKind::DocumentEntry, selector).await?)
            }
            StoredQuery::GetFolders(selector) => {
                result.add(self.select(ObjectKind::Folder, selector).await?)
            }
            StoredQuery::GetAssociations(uuids) => result.add(
                self.associations(AssociationEnd::Either, uuids, None)
                    .await?,
            ),
            StoredQuery::GetDocumentsAndAssociations(selector) => {
                let documents = self.select(ObjectKind::DocumentEntry, selector).await?;
                let ids: Vec<String> = documents.iter().map(|d| d.entry_uuid.clone()).collect();
                result.add(documents)?;
                result.add(
                    self.associations(AssociationEnd::Either, &ids, None)
                        .await?,
                )
            }
            StoredQuery::GetSubmissionSets(uuids) => {
                let has_member = [association_type::HAS_MEMBER.to_owned()];
                let memberships = result.visible(
                    self.associations(AssociationEnd::Target, uuids, Some(&has_member))
                        .await?,
                )?;
                let sources: Vec<String> = memberships.iter().filter_map(source_of).collect();
                let sets: Vec<StoredRow> = self
                    .by_ids(&sources)
                    .await?
                    .into_iter()
                    .filter(|r| r.kind == ObjectKind::SubmissionSet)
                    .collect();
                let set_ids: HashSet<String> = sets.iter().map(|s| s.entry_uuid.clone()).collect();
                result.add(sets)?;
                result.add(
                    memberships
                        .into_iter()
                        .filter(|a| source_of(a).is_some_and(|s| set_ids.contains(&s))),
                )
            }
            StoredQuery::GetSubmissionSetAndContents {
                submission_set,
                filter,
            } => {
                let sets = self
                    .select(ObjectKind::SubmissionSet, submission_set)
                    .await?;
                let set_ids: Vec<String> = sets.iter().map(|s| s.entry_uuid.clone()).collect();
                result.add(sets)?;
                self.add_members(result, &set_ids, filter, true).await
            }
            StoredQuery::GetFolderAndContents { folder, filter } => {
                let folders = result.visible(self.select(ObjectKind::Folder, folder).await?)?;
                let folder_ids: Vec<String> =
                    folders.iter().map(|f| f.entry_uuid.clone()).collect();
                result.add(folders)?;
                self.add_members(result, &folder_ids, filter, false).await
            }
            StoredQuery::GetFoldersForDocument(selector) => {
                let documents =
                    result.visible(self.select(ObjectKind::DocumentEntry, selector).await?)?;
                let ids: Vec<String> = documents.iter().map(|d| d.entry_uuid.clone()).collect();
                let has_member = [association_type::HAS_MEMBER.to_owned()];
                let sources: Vec<String> = result
                    .visible(
                        self.associations(AssociationEnd::Target, &ids, Some(&has_member))
                            .await?,
                    )?
                    .iter()
                    .filter_map(source_of)
                    .collect();
                result.add(
                    self.by_ids(&sources)
                        .await?
                        .into_iter()
                        .filter(|r| r.kind == ObjectKind::Folder),
                )
            }
            StoredQuery::GetRelatedDocuments {
                document,
                association_types,
                filter,
            } => {
                let documents =
                    result.visible(self.select(ObjectKind::DocumentEntry, document).await?)?;
                let ids: Vec<String> = documents.iter().map(|d| d.entry_uuid.clone()).collect();
                let associations = result.visible(
                    self.associations(AssociationEnd::Either, &ids, Some(association_types))
                        .await?,
                )?;
                let own: HashSet<&String> = ids.iter().collect();
                let others: Vec<String> = associations
                    .iter()
                    .flat_map(|a| [source_of(a), target_of(a)])
                    .flatten()
                    .filter(|id| !own.contains(id))
                    .collect();
                let related = self.filtered_documents(&others, filter).await?;
                if related.is_empty() {
                    // ITI TF-2a 3.18.4.1.2.3.7.13: nothing related, nothing returned.
                    return Ok(());
                }
                let related_ids: HashSet<String> =
                    related.iter().map(|r| r.entry_uuid.clone()).collect();
                result.add(documents)?;
                result.add(related)?;
                result.add(associations.into_iter().filter(|a| {
                    [source_of(a), target_of(a)]
                        .into_iter()
                        .flatten()
                        .any(|end| related_ids.contains(&end))
                }))
            }
        }
    }

    /// Adds the HasMember contents of SubmissionSets or Folders: filtered DocumentEntries,
    /// (for SubmissionSets) Folders and member associations whose ends are in the result,
    /// and the HasMember associations leading to what was added.
    async fn add_members(
        &self,
        result: &mut ResultSet,
        containers: &[String],
        filter: &ContentFilter,
        submission_set: bool,
    ) -> Result<(), QueryError> {
        let has_member = [association_type::HAS_MEMBER.to_owned()];
        let memberships = result.visible(
            self.associations(AssociationEnd::Source, containers, Some(&has_member))
                .await?,
        )?;
        let targets: Vec<String> = memberships.iter().filter_map(target_of).collect();
        result.add(self.filtered_documents(&targets, filter).await?)?;
        if submission_set {
            let members = self.by_ids(&targets).await?;
            result.add(
                members
                    .iter()
                    .filter(|r| r.kind == ObjectKind::Folder)
                    .cloned(),
            )?;
            let documents: HashSet<String> = result
                .ids_of(ObjectKind::DocumentEntry)
                .into_iter()
                .chain(result.ids_of(ObjectKind::Folder))
                .collect();
            result.add(members.into_iter().filter(|r| {
                r.kind == ObjectKind::Association
                    && association_ends(r)
                        .is_some_and(|(s, t)| documents.contains(&s) && documents.contains(&t))
            }))?;
        }
        let added: Vec<StoredRow> = memberships
            .into_iter()
            .filter(|a| target_of(a).is_some_and(|t| result.contains(&t)))
            .collect();
        result.add(added)
    }
}
