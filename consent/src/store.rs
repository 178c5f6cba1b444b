//! Durable storage of the directives (`consent.sqlite` in the data directory).
//!
//! The decision function stays pure; this module only reads and writes what it decides from.
//! Invariants: a change is committed before the call returns and takes effect for the next
//! request (no cache); every block read back passes the same checks as a posted one, so a
//! damaged row is an error, never a silently different rule.

use std::path::Path;
use std::str::FromStr;

use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::directive::{Block, BlockId, Directives, NewBlock, OptOut};

/// A storage problem. Callers treat it as internal: a decision that cannot read the
/// directives must not allow anything (fail closed).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the consent store at {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("cannot migrate the consent store: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("consent store query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("stored directive {id} is not valid: {detail}")]
    Corrupt { id: String, detail: String },
    #[error("time cannot be formatted: {0}")]
    Time(#[from] time::error::Format),
}

/// The directive store.
#[derive(Debug, Clone)]
pub struct ConsentStore {
    pool: SqlitePool,
}

impl ConsentStore {
    /// Opens (creating if needed) the store at `path` and applies pending migrations.
    pub async fn open(path: &Path) -> Result<ConsentStore, StoreError> {
        let open_error = |source| StoreError::Open {
            path: path.display().to_string(),
            source,
        };
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(open_error)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(open_error)?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(ConsentStore { pool })
    }

    /// Everything the decision function needs about one patient.
    pub async fn directives(&self, patient_cpr: &str) -> Result<Directives, StoreError> {
        let since: Option<String> =
            sqlx::query_scalar("SELECT since FROM opt_out WHERE patient_cpr = ?")
                .bind(patient_cpr)
                .fetch_optional(&self.pool)
                .await?;
        let opt_out = match since {
            None => None,
            Some(text) => Some(OptOut {
                since: OffsetDateTime::parse(&text, &Rfc3339).map_err(|e| StoreError::Corrupt {
                    id: format!("opt-out of {patient_cpr}"),
                    detail: e.to_string(),
                })?,
            }),
        };
        let rows =
            sqlx::query("SELECT id, body FROM block WHERE patient_cpr = ? ORDER BY created_at, id")
                .bind(patient_cpr)
                .fetch_all(&self.pool)
                .await?;
        let mut blocks = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get("id")?;
            let body: String = row.try_get("body")?;
            let block: Block = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
                id: id.clone(),
                detail: e.to_string(),
            })?;
            blocks.push(block);
        }
        Ok(Directives { opt_out, blocks })
    }

    /// Registers an opt-out; returns false when one was already registered (unchanged).
    pub async fn set_opt_out(
        &self,
        patient_cpr: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO opt_out (patient_cpr, since) VALUES (?, ?) \
             ON CONFLICT (patient_cpr) DO NOTHING",
        )
        .bind(patient_cpr)
        .bind(now.format(&Rfc3339)?)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Withdraws the opt-out; returns false when there was none.
    pub async fn clear_opt_out(&self, patient_cpr: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM opt_out WHERE patient_cpr = ?")
            .bind(patient_cpr)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores a checked block under a new id.
    pub async fn add_block(
        &self,
        patient_cpr: &str,
        block: NewBlock,
        now: OffsetDateTime,
    ) -> Result<BlockId, StoreError> {
        let id = BlockId(uuid::Uuid::new_v4().to_string());
        let block = block.with_id(id.clone());
        let body = serde_json::to_string(&block).map_err(|e| StoreError::Corrupt {
            id: id.0.clone(),
            detail: e.to_string(),
        })?;
        sqlx::query("INSERT INTO block (id, patient_cpr, body, created_at) VALUES (?, ?, ?, ?)")
            .bind(&id.0)
            .bind(patient_cpr)
            .bind(body)
            .bind(now.format(&Rfc3339)?)
            .execute(&self.pool)
            .await?;
        Ok(id)
    }

    /// Removes one of the patient's blocks; returns false when the patient has no such block.
    pub async fn remove_block(&self, patient_cpr: &str, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM block WHERE id = ? AND patient_cpr = ?")
            .bind(id)
            .bind(patient_cpr)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directive::parse_block;

    #[tokio::test]
    async fn directives_round_trip_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("consent.sqlite");
        let now = OffsetDateTime::now_utc();
        let id = {
            let store = ConsentStore::open(&path).await.unwrap();
            assert!(store.set_opt_out("0201919990", now).await.unwrap());
            assert!(!store.set_opt_out("0201919990", now).await.unwrap());
            let block = parse_block(r#"{"kind":"organisation","sor":"328081000016004"}"#).unwrap();
            store.add_block("0201919990", block, now).await.unwrap()
        };
        let store = ConsentStore::open(&path).await.unwrap();
        let directives = store.directives("0201919990").await.unwrap();
        assert!(directives.opt_out.is_some());
        assert_eq!(directives.blocks.len(), 1);
        assert_eq!(directives.blocks[0].id(), &id);
        assert_eq!(
            store.directives("0101700013").await.unwrap(),
            Directives::default()
        );

        // Another patient cannot remove this block by id.
        assert!(!store.remove_block("0101700013", &id.0).await.unwrap());
        assert!(store.remove_block("0201919990", &id.0).await.unwrap());
        assert!(store.clear_opt_out("0201919990").await.unwrap());
        assert!(!store.clear_opt_out("0201919990").await.unwrap());
        assert_eq!(
            store.directives("0201919990").await.unwrap(),
            Directives::default()
        );
    }
}
