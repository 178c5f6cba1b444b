//! The embedded registry store on SQLite (sqlx).
//!
//! Mechanism: two pools on one database file in WAL mode with `synchronous=FULL` and foreign
//! keys on. The *writer* pool has exactly one connection, so registrations, updates and deletes
//! queue for it and run one at a time: the checks one makes inside its transaction (uniqueIds,
//! references, statuses, latest versions) cannot be invalidated by a concurrent one before it
//! commits. The
//! *reader* pool serves queries concurrently; under WAL they see the last committed state and
//! never block the writer. The schema lives in `registry/migrations/` (embedded, append-only).
//!
//! Invariants: every value reaches SQL as a bound parameter (IN lists get one placeholder per
//! value); every row's columns are derived from its XML by [`ObjectIndex::of`] and written in
//! the same statement as the XML; a rejected registration, update or delete rolls back and
//! writes nothing.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use xds_model::rim::{Identifiable, RegistryObject, RegistryObjectList};
use xds_model::vocabulary::{association_type, status};

use crate::codec;
use crate::delete::{self, DeleteError, DeleteFacts, Deleted, Touching};
use crate::dtm;
use crate::error::{QueryError, RegisterError, StoreError};
use crate::index::{ObjectIndex, ObjectKind, slot};
use crate::query::{
    self, CodeCondition, ContentFilter, DocumentFilter, FolderFilter, MetadataLevel, ReturnType,
    Selector, StoredQuery, StoredQueryRequest, SubmissionSetFilter, TimeRange,
};
use crate::store::{BUSY_TIMEOUT, IN_LIST_VALUES_MAX, RegistryStore, StoreConfig};
use crate::submission::{
    self, Effects, PlannedObject, RegisterOptions, Registered, StoreFacts, StoredSummary,
    StoredUniqueId,
};
use crate::update::{
    self, StoredAssociation, StoredVersion, UpdateEffects, UpdateError, UpdateFacts, UpdatePlan,
    Updated,
};
use crate::visibility::{QueryResult, ResultObject};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Every table of the schema, for [`SqliteRegistryStore::table_row_counts`].
pub const TABLES: [&str; 6] = [
    "registry_object",
    "object_code",
    "object_author_person",
    "object_author_institution",
    "object_reference_id",
    "known_patient",
];

/// The registry store on one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteRegistryStore {
    /// Exactly one connection: registrations are serialized by waiting for it.
    writer: SqlitePool,
    /// Read-only connections for queries.
    reader: SqlitePool,
    config: StoreConfig,
}

impl SqliteRegistryStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub async fn open(path: &Path, config: StoreConfig) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(config.read_connections_max.max(1))
            .connect_with(options.read_only(true))
            .await?;
        Ok(SqliteRegistryStore {
            writer,
            reader,
            config,
        })
    }

    /// Rows per table, for operations and for tests proving a rejection stored nothing.
    pub async fn table_row_counts(&self) -> Result<BTreeMap<&'static str, i64>, StoreError> {
        let mut counts = BTreeMap::new();
        for table in TABLES {
            // Table names are the constants above, never input.
            let sql = format!("SELECT COUNT(*) FROM {table}");
            let n: i64 = sqlx::query_scalar(&sql).fetch_one(&self.reader).await?;
            counts.insert(table, n);
        }
        Ok(counts)
    }

    /// Closes both pools (waits for connections in use to be returned).
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Registration.

type Tx<'c> = Transaction<'c, Sqlite>;

fn parse_kind(entry_uuid: &str, kind: &str) -> Result<ObjectKind, StoreError> {
    ObjectKind::parse(kind).ok_or_else(|| StoreError::Corrupt {
        object: entry_uuid.to_owned(),
        detail: format!("unknown kind {kind}"),
    })
}

/// Pushes `column IN (?, ?, …)`; an empty list matches nothing.
fn push_in<'a>(qb: &mut QueryBuilder<'a, Sqlite>, column: &str, values: &'a [String]) {
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

async fn gather_facts(tx: &mut Tx<'_>, plan: &submission::Plan) -> Result<StoreFacts, StoreError> {
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
        push_in(&mut qb, "entry_uuid", chunk);
        for row in qb.build().fetch_all(&mut **tx).await? {
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
        push_in(&mut qb, "unique_id", chunk);
        qb.push(" ORDER BY seq");
        for row in qb.build().fetch_all(&mut **tx).await? {
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
        push_in(&mut qb, "patient_id", chunk);
        for row in qb.build().fetch_all(&mut **tx).await? {
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
        push_in(&mut qb, "a.target_object", chunk);
        qb.push(" ORDER BY a.seq");
        for row in qb.build().fetch_all(&mut **tx).await? {
            facts
                .folders_of
                .entry(row.try_get("target_object")?)
                .or_default()
                .push(row.try_get("source_object")?);
        }
    }
    Ok(facts)
}

fn parse_size(index: &ObjectIndex) -> Option<i64> {
    index.size.as_deref().and_then(|s| s.parse::<i64>().ok())
}

/// Inserts one object row and its link rows.
async fn insert_object(tx: &mut Tx<'_>, planned: &PlannedObject) -> Result<(), StoreError> {
    let xml = codec::to_xml(&planned.object)?;
    let ix = &planned.index;
    let version: i64 = ix
        .version
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    sqlx::query(
        "INSERT INTO registry_object (entry_uuid, kind, xml, patient_id, status, object_type, \
         unique_id, logical_id, version, creation_time, service_start_time, service_stop_time, \
         submission_time, last_update_time, repository_unique_id, hash, size, source_id, \
         association_type, source_object, target_object) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&ix.entry_uuid)
    .bind(ix.kind.as_str())
    .bind(&xml)
    .bind(&ix.patient_id)
    .bind(ix.status.as_deref().unwrap_or(status::APPROVED))
    .bind(&ix.object_type)
    .bind(&ix.unique_id)
    .bind(ix.logical_id.as_deref().unwrap_or(&ix.entry_uuid))
    .bind(version)
    .bind(&ix.creation_time)
    .bind(&ix.service_start_time)
    .bind(&ix.service_stop_time)
    .bind(&ix.submission_time)
    .bind(&ix.last_update_time)
    .bind(&ix.repository_unique_id)
    .bind(&ix.hash)
    .bind(parse_size(ix))
    .bind(&ix.source_id)
    .bind(&ix.association_type)
    .bind(&ix.source_object)
    .bind(&ix.target_object)
    .execute(&mut **tx)
    .await?;
    for code in &ix.codes {
        sqlx::query(
            "INSERT INTO object_code (object, attribute, code, scheme) VALUES (?, ?, ?, ?)",
        )
        .bind(&ix.entry_uuid)
        .bind(code.attribute)
        .bind(&code.code)
        .bind(&code.scheme)
        .execute(&mut **tx)
        .await?;
    }
    for person in &ix.author_persons {
        sqlx::query("INSERT INTO object_author_person (object, person) VALUES (?, ?)")
            .bind(&ix.entry_uuid)
            .bind(person)
            .execute(&mut **tx)
            .await?;
    }
    for institution in &ix.author_institutions {
        sqlx::query("INSERT INTO object_author_institution (object, institution) VALUES (?, ?)")
            .bind(&ix.entry_uuid)
            .bind(institution)
            .execute(&mut **tx)
            .await?;
    }
    for reference_id in &ix.reference_ids {
        sqlx::query("INSERT INTO object_reference_id (object, reference_id) VALUES (?, ?)")
            .bind(&ix.entry_uuid)
            .bind(reference_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Rewrites a stored object's XML (and the derived status / lastUpdateTime columns).
async fn rewrite_object(
    tx: &mut Tx<'_>,
    entry_uuid: &str,
    change: impl FnOnce(&mut RegistryObject),
) -> Result<(), StoreError> {
    let xml: String = sqlx::query_scalar("SELECT xml FROM registry_object WHERE entry_uuid = ?")
        .bind(entry_uuid)
        .fetch_one(&mut **tx)
        .await?;
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
    sqlx::query(
        "UPDATE registry_object SET xml = ?, status = ?, last_update_time = ? WHERE entry_uuid = ?",
    )
    .bind(&xml)
    .bind(index.status.as_deref().unwrap_or(status::APPROVED))
    .bind(&index.last_update_time)
    .bind(entry_uuid)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn apply(
    tx: &mut Tx<'_>,
    plan: &submission::Plan,
    effects: &Effects,
) -> Result<Registered, StoreError> {
    let mut registered = Registered {
        assigned_uuids: plan.assigned_uuids.clone(),
        ..Registered::default()
    };
    for planned in plan.objects.iter().chain(&effects.new_associations) {
        insert_object(tx, planned).await?;
        registered.stored.push(planned.index.entry_uuid.clone());
    }
    for entry_uuid in &effects.deprecate {
        rewrite_object(tx, entry_uuid, |ro| {
            ro.status = Some(status::DEPRECATED.to_owned())
        })
        .await?;
        registered.deprecated.push(entry_uuid.clone());
    }
    for folder in &effects.touched_folders {
        rewrite_object(tx, folder, |ro| {
            submission::set_slot(ro, slot::LAST_UPDATE_TIME, &plan.now)
        })
        .await?;
    }
    Ok(registered)
}

// ---------------------------------------------------------------------------------------------
// ITI-57 updates.

/// Columns of a [`StoredVersion`]; `is_latest` compares with the highest version of the
/// logicalId (served by the `(logical_id, version)` index).
const SELECT_VERSION: &str = "SELECT o.entry_uuid, o.kind, o.status, o.patient_id, o.unique_id, \
     o.object_type, o.version, o.logical_id, o.association_type, o.source_object, o.target_object, \
     (o.version = (SELECT MAX(v.version) FROM registry_object v WHERE v.logical_id = o.logical_id)) \
     AS is_latest FROM registry_object o WHERE ";

fn stored_version(row: &sqlx::sqlite::SqliteRow) -> Result<(String, StoredVersion), StoreError> {
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
    tx: &mut Tx<'_>,
    plan: &UpdatePlan,
) -> Result<UpdateFacts, StoreError> {
    let mut facts = UpdateFacts::default();
    let lids = plan.lids();
    for chunk in lids.chunks(IN_LIST_VALUES_MAX) {
        let mut qb = QueryBuilder::new(SELECT_VERSION);
        qb.push("o.kind <> 'Association' AND ");
        push_in(&mut qb, "o.logical_id", chunk);
        qb.push(" ORDER BY o.version DESC");
        for row in qb.build().fetch_all(&mut **tx).await? {
            let (lid, version) = stored_version(&row)?;
            facts.latest.entry(lid).or_insert(version);
        }
    }
    let ids = plan.referenced_ids();
    for chunk in ids.chunks(IN_LIST_VALUES_MAX) {
        let mut qb = QueryBuilder::new(SELECT_VERSION);
        push_in(&mut qb, "o.entry_uuid", chunk);
        for row in qb.build().fetch_all(&mut **tx).await? {
            let (_, version) = stored_version(&row)?;
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
        push_in(&mut qb, "o.entry_uuid", chunk);
        for row in qb.build().fetch_all(&mut **tx).await? {
            let (_, version) = stored_version(&row)?;
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
        push_in(&mut qb, "a.source_object", chunk);
        qb.push(" OR ");
        push_in(&mut qb, "a.target_object", chunk);
        qb.push(") ORDER BY a.seq");
        for row in qb.build().fetch_all(&mut **tx).await? {
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
        push_in(&mut qb, "patient_id", chunk);
        for row in qb.build().fetch_all(&mut **tx).await? {
            facts.known_patients.insert(row.try_get("patient_id")?);
        }
    }
    Ok(facts)
}

async fn apply_update(
    tx: &mut Tx<'_>,
    plan: &UpdatePlan,
    effects: &UpdateEffects,
) -> Result<Updated, StoreError> {
    let mut updated = Updated {
        assigned_uuids: plan.assigned_uuids.clone(),
        ..Updated::default()
    };
    // Deprecate first: a previous version and its new one never both look latest+Approved.
    for entry_uuid in &effects.deprecate {
        rewrite_object(tx, entry_uuid, |ro| {
            ro.status = Some(status::DEPRECATED.to_owned())
        })
        .await?;
        updated.deprecated.push(entry_uuid.clone());
    }
    for planned in plan.objects.iter().chain(&effects.new_associations) {
        insert_object(tx, planned).await?;
        updated.stored.push(planned.index.entry_uuid.clone());
    }
    for (entry_uuid, new_status) in &effects.status_changes {
        rewrite_object(tx, entry_uuid, |ro| ro.status = Some(new_status.clone())).await?;
        updated
            .status_changed
            .push((entry_uuid.clone(), new_status.clone()));
    }
    for folder in &effects.touched_folders {
        rewrite_object(tx, folder, |ro| {
            submission::set_slot(ro, slot::LAST_UPDATE_TIME, &plan.now)
        })
        .await?;
        updated.touched_folders.push(folder.clone());
    }
    Ok(updated)
}

// ---------------------------------------------------------------------------------------------
// Queries.

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
}

const SELECT_ROW: &str = "SELECT o.entry_uuid, o.kind, o.xml, o.patient_id, o.unique_id, o.status, \
     o.source_object, o.target_object, \
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
        }
    }
}

fn push_kind(qb: &mut QueryBuilder<'_, Sqlite>, kind: ObjectKind) {
    qb.push("o.kind = ");
    qb.push_bind(kind.as_str());
}

/// ` AND EXISTS (code of attribute matching any of the group)`, once per ANDed group.
fn push_codes<'a>(
    qb: &mut QueryBuilder<'a, Sqlite>,
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
fn push_range<'a>(qb: &mut QueryBuilder<'a, Sqlite>, column: &str, range: &'a TimeRange) {
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
fn push_authors<'a>(qb: &mut QueryBuilder<'a, Sqlite>, patterns: &'a [String]) {
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
        qb.push("a.person LIKE ");
        qb.push_bind(p.as_str());
    }
    qb.push("))");
}

fn push_and_in<'a>(qb: &mut QueryBuilder<'a, Sqlite>, column: &str, values: &'a [String]) {
    qb.push(" AND ");
    push_in(qb, column, values);
}

fn push_content_filter<'a>(qb: &mut QueryBuilder<'a, Sqlite>, filter: &'a ContentFilter) {
    push_codes(qb, "formatCode", &filter.format_codes);
    push_codes(qb, "confidentialityCode", &filter.confidentiality_codes);
    push_and_in(qb, "o.object_type", &filter.object_types);
}

impl SqliteRegistryStore {
    async fn fetch(&self, mut qb: QueryBuilder<'_, Sqlite>) -> Result<Vec<StoredRow>, QueryError> {
        qb.push(" ORDER BY o.seq LIMIT ");
        // One more than the maximum, so that "too many" is seen without reading everything.
        qb.push_bind(
            i64::try_from(self.config.query_results_max)
                .unwrap_or(i64::MAX)
                .saturating_add(1),
        );
        let rows = qb
            .build()
            .fetch_all(&self.reader)
            .await
            .map_err(StoreError::from)?;
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
            push_kind(&mut qb, kind);
            push_and_in(&mut qb, column, chunk);
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
            push_kind(&mut qb, ObjectKind::Association);
            qb.push(" AND (");
            match end {
                AssociationEnd::Source => push_in(&mut qb, "o.source_object", chunk),
                AssociationEnd::Target => push_in(&mut qb, "o.target_object", chunk),
                AssociationEnd::Either => {
                    push_in(&mut qb, "o.source_object", chunk);
                    qb.push(" OR ");
                    push_in(&mut qb, "o.target_object", chunk);
                }
            }
            qb.push(")");
            if let Some(types) = types {
                push_and_in(&mut qb, "o.association_type", types);
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
            push_kind(&mut qb, ObjectKind::DocumentEntry);
            push_and_in(&mut qb, "o.entry_uuid", chunk);
            push_content_filter(&mut qb, filter);
            rows.extend(self.fetch(qb).await?);
        }
        Ok(rows)
    }

    async fn by_ids(&self, ids: &[String]) -> Result<Vec<StoredRow>, QueryError> {
        let mut rows = Vec::new();
        for chunk in ids.chunks(IN_LIST_VALUES_MAX) {
            let mut qb = QueryBuilder::new(SELECT_ROW);
            push_in(&mut qb, "o.entry_uuid", chunk);
            rows.extend(self.fetch(qb).await?);
        }
        Ok(rows)
    }

    async fn find_documents(&self, f: &DocumentFilter) -> Result<Vec<StoredRow>, QueryError> {
        let mut qb = QueryBuilder::new(SELECT_ROW);
        push_kind(&mut qb, ObjectKind::DocumentEntry);
        if let Some(patients) = &f.patient_ids {
            push_and_in(&mut qb, "o.patient_id", patients);
        }
        push_and_in(&mut qb, "o.status", &f.statuses);
        push_and_in(&mut qb, "o.object_type", &f.object_types);
        push_codes(&mut qb, "classCode", &f.class_codes);
        push_codes(&mut qb, "typeCode", &f.type_codes);
        push_codes(&mut qb, "practiceSettingCode", &f.practice_setting_codes);
        push_codes(
            &mut qb,
            "healthcareFacilityTypeCode",
            &f.healthcare_facility_type_codes,
        );
        push_codes(&mut qb, "eventCodeList", &f.event_codes);
        push_codes(&mut qb, "confidentialityCode", &f.confidentiality_codes);
        push_codes(&mut qb, "formatCode", &f.format_codes);
        push_range(&mut qb, "o.creation_time", &f.creation_time);
        push_range(&mut qb, "o.service_start_time", &f.service_start_time);
        push_range(&mut qb, "o.service_stop_time", &f.service_stop_time);
        push_authors(&mut qb, &f.author_persons);
        if !f.reference_ids.is_empty() {
            qb.push(" AND EXISTS (SELECT 1 FROM object_reference_id r WHERE r.object = o.entry_uuid AND ");
            push_in(&mut qb, "r.reference_id", &f.reference_ids);
            qb.push(")");
        }
        self.fetch(qb).await
    }

    async fn find_submission_sets(
        &self,
        f: &SubmissionSetFilter,
    ) -> Result<Vec<StoredRow>, QueryError> {
        let mut qb = QueryBuilder::new(SELECT_ROW);
        push_kind(&mut qb, ObjectKind::SubmissionSet);
        qb.push(" AND o.patient_id = ");
        qb.push_bind(f.patient_id.as_str());
        push_and_in(&mut qb, "o.status", &f.statuses);
        if !f.source_ids.is_empty() {
            push_and_in(&mut qb, "o.source_id", &f.source_ids);
        }
        push_range(&mut qb, "o.submission_time", &f.submission_time);
        push_authors(&mut qb, &f.author_persons);
        push_codes(&mut qb, "contentTypeCode", &f.content_type_codes);
        self.fetch(qb).await
    }

    async fn find_folders(&self, f: &FolderFilter) -> Result<Vec<StoredRow>, QueryError> {
        let mut qb = QueryBuilder::new(SELECT_ROW);
        push_kind(&mut qb, ObjectKind::Folder);
        if let Some(patients) = &f.patient_ids {
            push_and_in(&mut qb, "o.patient_id", patients);
        }
        push_and_in(&mut qb, "o.status", &f.statuses);
        push_range(&mut qb, "o.last_update_time", &f.last_update_time);
        push_codes(&mut qb, "codeList", &f.codes);
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
                push_kind(&mut qb, ObjectKind::SubmissionSet);
                push_and_in(&mut qb, "o.patient_id", patient);
                push_and_in(&mut qb, "o.status", submission_set_statuses);
                result.add(self.fetch(qb).await?)?;
                let mut qb = QueryBuilder::new(SELECT_ROW);
                push_kind(&mut qb, ObjectKind::DocumentEntry);
                push_and_in(&mut qb, "o.patient_id", patient);
                push_and_in(&mut qb, "o.status", document_statuses);
                push_content_filter(&mut qb, filter);
                result.add(self.fetch(qb).await?)?;
                let mut qb = QueryBuilder::new(SELECT_ROW);
                push_kind(&mut qb, ObjectKind::Folder);
                push_and_in(&mut qb, "o.patient_id", patient);
                push_and_in(&mut qb, "o.status", folder_statuses);
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

#[async_trait]
impl RegistryStore for SqliteRegistryStore {
    async fn register(
        &self,
        submission: &RegistryObjectList,
        options: RegisterOptions,
    ) -> Result<Registered, RegisterError> {
        let now = dtm::now();
        let plan = submission::plan(submission, &now);
        let mut tx = self.writer.begin().await.map_err(StoreError::from)?;
        let facts = gather_facts(&mut tx, &plan).await?;
        let (store_findings, effects) = submission::check_against_store(&plan, &facts, &options);
        let mut findings = plan.findings.clone();
        findings.extend(store_findings);
        if !findings.is_empty() {
            tx.rollback().await.map_err(StoreError::from)?;
            return Err(RegisterError::Rejected(findings));
        }
        let registered = apply(&mut tx, &plan, &effects).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(registered)
    }

    async fn update(
        &self,
        submission: &RegistryObjectList,
        options: RegisterOptions,
    ) -> Result<Updated, UpdateError> {
        let now = dtm::now();
        let mut plan = update::plan(submission, &now);
        let mut tx = self.writer.begin().await.map_err(StoreError::from)?;
        let facts = gather_update_facts(&mut tx, &plan).await?;
        let (store_findings, effects) = update::check_against_store(&mut plan, &facts, &options);
        let mut findings = plan.findings.clone();
        findings.extend(store_findings);
        if !findings.is_empty() {
            tx.rollback().await.map_err(StoreError::from)?;
            return Err(UpdateError::Rejected(findings));
        }
        let updated = apply_update(&mut tx, &plan, &effects).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(updated)
    }

    async fn query_result(&self, request: &StoredQueryRequest) -> Result<QueryResult, QueryError> {
        let query = StoredQuery::parse(request)?;
        let level = query::metadata_level(request)?;
        let mut result = ResultSet::new(self.config.query_results_max, level);
        self.run(&query, &mut result).await?;
        if !query.is_multi_patient() {
            result.check_single_patient()?;
        }
        Ok(result.into_result(request.return_type))
    }

    async fn objects_by_ids(
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

    async fn has_member_targets(
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

    async fn delete(&self, entry_uuids: &[String]) -> Result<Deleted, DeleteError> {
        let ids: BTreeSet<String> = entry_uuids.iter().cloned().collect();
        let list: Vec<String> = ids.iter().cloned().collect();
        let mut tx = self.writer.begin().await.map_err(StoreError::from)?;
        let mut facts = DeleteFacts::default();
        for chunk in list.chunks(IN_LIST_VALUES_MAX) {
            let mut qb = QueryBuilder::new("SELECT entry_uuid, kind FROM registry_object WHERE ");
            push_in(&mut qb, "entry_uuid", chunk);
            for row in qb
                .build()
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::from)?
            {
                let id: String = row.try_get("entry_uuid").map_err(StoreError::from)?;
                let kind = parse_kind(&id, row.try_get("kind").map_err(StoreError::from)?)?;
                facts.existing.insert(id, kind);
            }
            let mut qb = QueryBuilder::new(
                "SELECT a.entry_uuid, a.association_type, a.source_object, a.target_object, \
                 s.kind AS source_kind FROM registry_object a \
                 LEFT JOIN registry_object s ON s.entry_uuid = a.source_object \
                 WHERE a.kind = 'Association' AND (",
            );
            push_in(&mut qb, "a.source_object", chunk);
            qb.push(" OR ");
            push_in(&mut qb, "a.target_object", chunk);
            qb.push(" OR ");
            push_in(&mut qb, "a.entry_uuid", chunk);
            qb.push(")");
            for row in qb
                .build()
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::from)?
            {
                let touching = Touching {
                    entry_uuid: row.try_get("entry_uuid").map_err(StoreError::from)?,
                    association_type: row.try_get("association_type").map_err(StoreError::from)?,
                    source_object: row.try_get("source_object").map_err(StoreError::from)?,
                    target_object: row.try_get("target_object").map_err(StoreError::from)?,
                };
                let source_kind: Option<String> =
                    row.try_get("source_kind").map_err(StoreError::from)?;
                if let Some(kind) = source_kind.as_deref().and_then(ObjectKind::parse) {
                    facts
                        .source_kinds
                        .insert(touching.source_object.clone(), kind);
                }
                facts.touching.push(touching);
            }
        }
        let (findings, touched) = delete::check_delete(&ids, &facts);
        if !findings.is_empty() {
            tx.rollback().await.map_err(StoreError::from)?;
            return Err(DeleteError::Rejected(findings));
        }
        for chunk in list.chunks(IN_LIST_VALUES_MAX) {
            let mut qb = QueryBuilder::new("DELETE FROM registry_object WHERE ");
            push_in(&mut qb, "entry_uuid", chunk);
            qb.build()
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
        }
        let now = dtm::now();
        for folder in &touched {
            rewrite_object(&mut tx, folder, |ro| {
                submission::set_slot(ro, slot::LAST_UPDATE_TIME, &now)
            })
            .await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Deleted {
            deleted: list,
            touched_folders: touched.into_iter().collect(),
        })
    }

    async fn add_known_patient(&self, patient_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO known_patient (patient_id, added_at) VALUES (?, ?) \
             ON CONFLICT (patient_id) DO NOTHING",
        )
        .bind(patient_id)
        .bind(dtm::now())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn hash_referenced(&self, hash: &str) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM registry_object WHERE hash = ? AND kind = 'DocumentEntry' LIMIT 1",
        )
        .bind(hash.to_ascii_lowercase())
        .fetch_optional(&self.reader)
        .await?;
        Ok(found.is_some())
    }
}
