//! `dds backup` and `dds restore`: a consistent online snapshot of a data directory, and
//! putting one into a new data directory.
//!
//! # What a backup holds, and why it is consistent while the service runs
//!
//! 1. **The databases first.** Each SQLite file of the data directory (`registry.sqlite`,
//!    `consent.sqlite`, `minlog.sqlite`, and any other `*.sqlite` a newer version keeps there)
//!    is copied with `VACUUM INTO`, which writes the database as one read transaction sees it:
//!    a consistent snapshot of that database, taken while the service keeps reading and
//!    writing (WAL mode lets the reader and the writers proceed together). Each database is
//!    consistent in itself; the three are snapshotted one after another, a moment apart, as
//!    they are independent stores (the service never writes one transaction across two).
//! 2. **Then the documents.** Document files are content-addressed and immutable, and the
//!    repository writes a document's file (fsync'd and renamed into `documents/sha1/`)
//!    *before* it registers the metadata that refers to it (see the `repository` crate,
//!    "Crash safety"). So every DocumentEntry in the registry snapshot refers to a file that
//!    already existed when the snapshot was taken, and files are never changed and only
//!    removed when the registry refused their metadata (never for registered metadata). Copying
//!    the files *after* the snapshot therefore captures every referenced document. Files that
//!    appear meanwhile are copied too (unreferenced in the snapshot, harmless: the same state
//!    a crash between the two steps of an ITI-41 leaves); a file that vanishes during the copy
//!    was a rejected upload's and is skipped. Each file's SHA-1 is checked against its name
//!    while it is copied. Uploads in progress (`documents/tmp/`) are not copied.
//!    *Invariant a future document garbage collector must keep:* never remove a file while a
//!    backup copies, or a file a snapshot may still reference.
//! 3. **The development STS** key pair (`sts-key.pem` mode 0600, `sts-cert.pem`), so cards the
//!    service issued stay valid after a restore.
//! 4. **A manifest** (`dds-backup.json`) last: the files with their sizes and SHA-1s. A
//!    directory without it is an unfinished backup, and `dds restore` refuses it.
//!
//! Restoring is offline: `dds restore` writes into a new (or, with `--force`, emptied of the
//! restored names) data directory on which no service runs, verifying every file against the
//! manifest first and each database with `PRAGMA quick_check` after.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::app::{CONSENT_DB, MINLOG_DB, REGISTRY_DB};

/// The manifest's file name inside a backup.
pub const MANIFEST: &str = "dds-backup.json";
/// The manifest format this version writes and reads.
const MANIFEST_VERSION: u32 = 1;
/// Where documents live in a data directory (`repository::store` layout).
const DOCUMENTS_SHA1: &str = "documents/sha1";
/// How long the snapshot waits for a database lock held by the service.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Copy buffer.
const COPY_BUFFER_BYTES: usize = 256 * 1024;
/// Documents copied at once (each copy ends with an fsync that mostly waits for the disk).
const COPY_THREADS: usize = 8;

/// Options of `dds backup`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The service may keep running: see `dds backup` in README for why the \
snapshot is consistent. Restore with `dds restore --from DIR2 --data NEW_DIR`."
)]
pub struct BackupArgs {
    /// The data directory to back up (a running service's is fine).
    #[arg(long, env = "DDS_DATA", default_value = crate::config::DATA_DEFAULT)]
    pub data: PathBuf,
    /// Where to write the backup: a new or empty directory.
    #[arg(long, value_name = "DIR2")]
    pub to: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// The service's `database_url`, if it runs on PostgreSQL: then its stores are not in the
    /// data directory and `dds backup` refuses (back PostgreSQL up with pg_dump).
    #[arg(long, env = "DDS_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
}

/// Options of `dds restore`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Restoring is offline: no service may run on the target data directory.")]
pub struct RestoreArgs {
    /// The backup directory (written by `dds backup`).
    #[arg(long, value_name = "DIR2")]
    pub from: PathBuf,
    /// The data directory to restore into: new or empty unless --force.
    #[arg(long, value_name = "DIR3")]
    pub data: PathBuf,
    /// Restore into a non-empty data directory: its databases and STS files are replaced,
    /// documents are added to those it has.
    #[arg(long)]
    pub force: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `dds-backup.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    /// RFC 3339, when the snapshot started.
    pub created: String,
    pub source: String,
    pub dds_version: String,
    pub databases: Vec<FileEntry>,
    pub sts: Vec<FileEntry>,
    pub documents: u64,
    pub document_bytes: u64,
    /// Entries of the data directory not backed up (neither database, documents nor STS).
    pub not_backed_up: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    pub name: String,
    pub bytes: u64,
    pub sha1: String,
}

pub fn backup(args: BackupArgs) -> i32 {
    super::run_command("backup", run_backup(args))
}

pub fn restore(args: RestoreArgs) -> i32 {
    super::run_command("restore", run_restore(args))
}

async fn run_backup(args: BackupArgs) -> anyhow::Result<i32> {
    let source = &args.data;
    if let Some(url) = &args.database_url {
        bail!(
            "the stores are on PostgreSQL ({}), not in {}: back the database up with its own \
             tools (pg_dump, or a base backup with WAL archiving); dds backup snapshots a data \
             directory's SQLite stores and documents only",
            crate::config::redacted_database_url(url),
            source.display()
        );
    }
    if !source.join(REGISTRY_DB).exists() {
        bail!(
            "{} is not a data directory ({} is missing; a service on PostgreSQL keeps its \
             stores in the database, back it up with pg_dump)",
            source.display(),
            REGISTRY_DB
        );
    }
    ensure_empty_dir(&args.to, false, "back up into a new or empty directory")?;
    let created = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();

    // 1. Databases, each as one consistent snapshot.
    let mut databases = Vec::new();
    let mut not_backed_up = Vec::new();
    let mut entries: Vec<String> = std::fs::read_dir(source)
        .with_context(|| format!("cannot list {}", source.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    for name in &entries {
        if is_database(name) {
            let to = args.to.join(name);
            snapshot(&source.join(name), &to)
                .await
                .with_context(|| format!("cannot snapshot {name}"))?;
            databases.push(file_entry(&to, name)?);
        } else if !is_known_companion(name) {
            not_backed_up.push(name.clone());
        }
    }
    for required in [REGISTRY_DB, CONSENT_DB, MINLOG_DB] {
        if !databases.iter().any(|d| d.name == required) && source.join(required).exists() {
            bail!("{required} was not snapshotted");
        }
    }

    // 2. Documents, after the snapshot (see the module docs).
    let (documents, document_bytes) = copy_documents(source, &args.to, "backing up")?;

    // 3. The development STS.
    let mut sts = Vec::new();
    for name in [identity::STS_KEY_FILE, identity::STS_CERT_FILE] {
        let from = source.join(name);
        if from.exists() {
            let to = args.to.join(name);
            copy_file(&from, &to, mode_of(name))?;
            sts.push(file_entry(&to, name)?);
        }
    }

    // 4. The manifest, last.
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        created,
        source: source.display().to_string(),
        dds_version: env!("CARGO_PKG_VERSION").to_owned(),
        databases,
        sts,
        documents,
        document_bytes,
        not_backed_up,
    };
    write_synced(
        &args.to.join(MANIFEST),
        serde_json::to_string_pretty(&manifest)?.as_bytes(),
    )?;
    sync_dir(&args.to)?;
    if args.json {
        super::output::print_json(&manifest)?;
    } else {
        println!(
            "backed up {} to {}: {} database(s), {} document(s) ({} bytes), {} STS file(s)",
            source.display(),
            args.to.display(),
            manifest.databases.len(),
            manifest.documents,
            manifest.document_bytes,
            manifest.sts.len()
        );
        if !manifest.not_backed_up.is_empty() {
            println!("not backed up: {}", manifest.not_backed_up.join(", "));
        }
    }
    Ok(super::EXIT_OK)
}

async fn run_restore(args: RestoreArgs) -> anyhow::Result<i32> {
    let manifest_path = args.from.join(MANIFEST);
    let text = std::fs::read_to_string(&manifest_path).with_context(|| {
        format!(
            "{} is not a finished backup (no {MANIFEST})",
            args.from.display()
        )
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a backup manifest", manifest_path.display()))?;
    if manifest.version != MANIFEST_VERSION {
        bail!(
            "the backup's manifest has version {}; this dds reads version {MANIFEST_VERSION}",
            manifest.version
        );
    }
    // Verify before writing anything.
    for entry in manifest.databases.iter().chain(&manifest.sts) {
        check_name(&entry.name)?;
        let actual = file_entry(&args.from.join(&entry.name), &entry.name)?;
        if actual != *entry {
            bail!(
                "{} in the backup is not what the manifest says (size {} / SHA-1 {}, expected {} / {})",
                entry.name,
                actual.bytes,
                actual.sha1,
                entry.bytes,
                entry.sha1
            );
        }
    }
    ensure_empty_dir(
        &args.data,
        args.force,
        "restore into a new data directory, or give --force to replace its databases",
    )?;
    for entry in &manifest.databases {
        let target = args.data.join(&entry.name);
        // A WAL left beside a replaced database would be replayed onto it: remove it.
        for suffix in ["-wal", "-shm", "-journal"] {
            let companion = args.data.join(format!("{}{suffix}", entry.name));
            if companion.exists() {
                std::fs::remove_file(&companion)
                    .with_context(|| format!("cannot remove {}", companion.display()))?;
            }
        }
        copy_file(&args.from.join(&entry.name), &target, 0o600)?;
    }
    for entry in &manifest.sts {
        copy_file(
            &args.from.join(&entry.name),
            &args.data.join(&entry.name),
            mode_of(&entry.name),
        )?;
    }
    let (documents, document_bytes) = copy_documents(&args.from, &args.data, "restoring")?;
    if documents != manifest.documents {
        bail!(
            "the backup holds {documents} documents but its manifest says {}",
            manifest.documents
        );
    }
    sync_dir(&args.data)?;
    for entry in &manifest.databases {
        quick_check(&args.data.join(&entry.name))
            .await
            .with_context(|| format!("the restored {} is damaged", entry.name))?;
    }
    #[derive(Serialize)]
    struct RestoreOut<'a> {
        from: String,
        data: String,
        created: &'a str,
        databases: usize,
        documents: u64,
        document_bytes: u64,
    }
    let out = RestoreOut {
        from: args.from.display().to_string(),
        data: args.data.display().to_string(),
        created: &manifest.created,
        databases: manifest.databases.len(),
        documents,
        document_bytes,
    };
    if args.json {
        super::output::print_json(&out)?;
    } else {
        println!(
            "restored the backup of {} ({}) into {}: {} database(s), {} document(s) ({} bytes)",
            manifest.source,
            out.created,
            out.data,
            out.databases,
            out.documents,
            out.document_bytes
        );
    }
    Ok(super::EXIT_OK)
}

fn is_database(name: &str) -> bool {
    name.ends_with(".sqlite")
}

/// Files that belong to what is backed up: SQLite's companions of a database, the documents,
/// the STS files.
fn is_known_companion(name: &str) -> bool {
    name.ends_with(".sqlite-wal")
        || name.ends_with(".sqlite-shm")
        || name.ends_with(".sqlite-journal")
        || name == "documents"
        || name == identity::STS_KEY_FILE
        || name == identity::STS_CERT_FILE
}

fn mode_of(name: &str) -> u32 {
    if name == identity::STS_KEY_FILE {
        0o600
    } else {
        0o644
    }
}

/// A name from a manifest must be a plain file name in the backup directory.
fn check_name(name: &str) -> anyhow::Result<()> {
    let path = Path::new(name);
    if path.components().count() != 1
        || !matches!(
            path.components().next(),
            Some(std::path::Component::Normal(_))
        )
    {
        bail!("the manifest names {name:?}, which is not a file name");
    }
    Ok(())
}

/// Creates `dir` if missing; it must be empty unless `force`.
fn ensure_empty_dir(dir: &Path, force: bool, hint: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let non_empty = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .next()
        .is_some();
    if non_empty && !force {
        bail!("{} is not empty; {hint}", dir.display());
    }
    Ok(())
}

/// `VACUUM INTO`: the database as one read transaction sees it, into a new file.
async fn snapshot(database: &Path, to: &Path) -> anyhow::Result<()> {
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(database)
        .read_only(true)
        .busy_timeout(BUSY_TIMEOUT);
    let mut connection = SqliteConnection::connect_with(&options)
        .await
        .with_context(|| format!("cannot open {}", database.display()))?;
    let target = to
        .to_str()
        .with_context(|| format!("{} is not a UTF-8 path", to.display()))?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&mut connection)
        .await
        .with_context(|| format!("VACUUM INTO {} failed", to.display()))?;
    connection.close().await?;
    // VACUUM INTO writes without fsync; make the copy durable before the manifest names it.
    std::fs::File::open(to)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot sync {}", to.display()))?;
    Ok(())
}

async fn quick_check(database: &Path) -> anyhow::Result<()> {
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(database)
        .read_only(true);
    let mut connection = SqliteConnection::connect_with(&options).await?;
    let result: String = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_one(&mut connection)
        .await?;
    connection.close().await?;
    if result != "ok" {
        bail!("PRAGMA quick_check says: {result}");
    }
    Ok(())
}

/// Copies `from/documents/sha1/**` to `to/documents/sha1/**`, checking each file's SHA-1
/// against its name; returns the number of files and bytes.
fn copy_documents(from: &Path, to: &Path, doing: &str) -> anyhow::Result<(u64, u64)> {
    let source = from.join(DOCUMENTS_SHA1);
    let target = to.join(DOCUMENTS_SHA1);
    std::fs::create_dir_all(&target)
        .with_context(|| format!("cannot create {}", target.display()))?;
    std::fs::create_dir_all(to.join("documents/tmp"))
        .with_context(|| format!("cannot create {}", to.join("documents/tmp").display()))?;
    if !source.exists() {
        return Ok((0, 0));
    }
    let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
    for first in read_dirs(&source)? {
        for second in read_dirs(&first)? {
            for entry in std::fs::read_dir(&second)
                .with_context(|| format!("cannot list {}", second.display()))?
            {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if is_sha1_hex(&name) {
                    files.insert(name, entry.path());
                }
            }
        }
    }
    let progress = ProgressBar::new(files.len() as u64);
    progress.set_style(
        ProgressStyle::with_template(&format!(
            "{doing} documents {{wide_bar}} {{pos}}/{{len}} ETA {{eta}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // Each copy ends with an fsync, which mostly waits for the disk: several at once finish
    // much sooner than one after another.
    let queue = std::sync::Mutex::new(files.into_iter());
    let totals = std::sync::Mutex::new((0u64, 0u64, std::collections::BTreeSet::new()));
    let failure: std::sync::Mutex<Option<anyhow::Error>> = std::sync::Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..COPY_THREADS {
            scope.spawn(|| {
                loop {
                    if lock(&failure).is_some() {
                        return;
                    }
                    let Some((name, path)) = lock(&queue).next() else {
                        return;
                    };
                    progress.inc(1);
                    match copy_document(&target, &name, &path) {
                        Ok(Some((size, dir))) => {
                            let mut totals = lock(&totals);
                            totals.0 += 1;
                            totals.1 += size;
                            if let Some(dir) = dir {
                                totals.2.insert(dir);
                            }
                        }
                        Ok(None) => {}
                        Err(error) => {
                            lock(&failure).get_or_insert(error);
                            return;
                        }
                    }
                }
            });
        }
    });
    progress.finish_and_clear();
    if let Some(error) = lock(&failure).take() {
        return Err(error);
    }
    let (count, bytes, dirs_to_sync) = std::mem::take(&mut *lock(&totals));
    for dir in dirs_to_sync {
        sync_dir(&dir)?;
    }
    Ok((count, bytes))
}

/// A mutex's guard, also after another copier panicked (the data stays usable: counters and
/// a queue).
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Copies one document into `target` (unless it is there already); its size and the
/// directory to fsync when it was written, `None` when it vanished meanwhile.
fn copy_document(
    target: &Path,
    name: &str,
    path: &Path,
) -> anyhow::Result<Option<(u64, Option<PathBuf>)>> {
    let dir = target.join(&name[0..2]).join(&name[2..4]);
    let destination = dir.join(name);
    if destination.exists() {
        // Content-addressed: the same name is the same bytes (checked when it was written).
        return Ok(Some((std::fs::metadata(&destination)?.len(), None)));
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    match copy_checked(path, &destination, name) {
        Ok(size) => Ok(Some((size, Some(dir)))),
        // Removed since it was listed: a rejected upload's file, never a registered one.
        Err(CopyError::Vanished) => Ok(None),
        Err(CopyError::Other(error)) => Err(error),
    }
}

fn read_dirs(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            dirs.push(entry.path());
        }
    }
    Ok(dirs)
}

fn is_sha1_hex(name: &str) -> bool {
    name.len() == 40 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

enum CopyError {
    Vanished,
    Other(anyhow::Error),
}

/// Copies a document file through a temporary name, checking its SHA-1 against `sha1`.
fn copy_checked(from: &Path, to: &Path, sha1: &str) -> Result<u64, CopyError> {
    let mut input = match std::fs::File::open(from) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(CopyError::Vanished);
        }
        Err(error) => {
            return Err(CopyError::Other(
                anyhow::Error::new(error).context(format!("cannot read {}", from.display())),
            ));
        }
    };
    let partial = to.with_extension("part");
    let result = (|| -> anyhow::Result<u64> {
        let mut output = std::fs::File::create(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        let mut hasher = Sha1::new();
        let mut buffer = vec![0u8; COPY_BUFFER_BYTES];
        let mut size = 0u64;
        loop {
            let n = input
                .read(&mut buffer)
                .with_context(|| format!("cannot read {}", from.display()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            output.write_all(&buffer[..n])?;
            size += n as u64;
        }
        output.sync_all()?;
        let actual = hex::encode(hasher.finalize());
        if actual != sha1 {
            bail!(
                "document {} has SHA-1 {actual}: the file is damaged",
                from.display()
            );
        }
        std::fs::rename(&partial, to)?;
        Ok(size)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result.map_err(CopyError::Other)
}

/// Copies a file through a temporary name with `mode`, fsync'd.
fn copy_file(from: &Path, to: &Path, mode: u32) -> anyhow::Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
    let partial = to.with_extension("restore-part");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, to).with_context(|| format!("cannot write {}", to.display()))?;
    Ok(())
}

fn write_synced(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync {}", dir.display()))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn file_entry(path: &Path, name: &str) -> anyhow::Result<FileEntry> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha1::new();
    let mut buffer = vec![0u8; COPY_BUFFER_BYTES];
    let mut bytes = 0u64;
    loop {
        let n = file
            .read(&mut buffer)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        bytes += n as u64;
    }
    Ok(FileEntry {
        name: name.to_owned(),
        bytes,
        sha1: hex::encode(hasher.finalize()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_names_must_stay_inside_the_backup() {
        assert!(check_name("registry.sqlite").is_ok());
        for bad in ["../x", "/etc/passwd", "a/b", "..", ""] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_damaged_document_is_not_copied() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("x");
        std::fs::write(&from, b"abc").unwrap();
        let to = dir.path().join("y");
        let wrong = "0000000000000000000000000000000000000000";
        assert!(matches!(
            copy_checked(&from, &to, wrong),
            Err(CopyError::Other(_))
        ));
        assert!(!to.exists() && !to.with_extension("part").exists());
        let right = "a9993e364706816aba3e25717850c26c9cd0d89d";
        assert!(matches!(copy_checked(&from, &to, right), Ok(3)));
        assert!(matches!(
            copy_checked(&dir.path().join("gone"), &to, right),
            Err(CopyError::Vanished)
        ));
    }
}
