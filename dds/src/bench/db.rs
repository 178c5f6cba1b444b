//! The bench's own SQL readings of the stores, on the backend the service uses: the SQLite
//! files of the data directory, or the PostgreSQL database of `database_url`.
//!
//! One SQL text per reading serves both backends (`$n` placeholders, which both drivers bind;
//! `CAST` rather than PostgreSQL's `::`), as in the stores themselves.
//!
//! Invariant: read-only. SQLite files are opened `read_only`; PostgreSQL connections have
//! `default_transaction_read_only` on, as the registry's read pool has.

use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use crate::config::{Config, redacted_database_url};

/// Where the stores are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgresql,
}

impl Backend {
    pub fn of(config: &Config) -> Backend {
        if config.database_url.is_some() {
            Backend::Postgresql
        } else {
            Backend::Sqlite
        }
    }

    /// The engine's name, as the report prints it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgresql => "PostgreSQL",
        }
    }
}

/// The database of the configuration without its password, for the marker and the report.
pub fn database_label(config: &Config) -> Option<String> {
    config.database_url.as_deref().map(redacted_database_url)
}

/// Read-only connections to one store.
#[derive(Debug, Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same expression on either pool (the SQL text is the same; the types differ).
macro_rules! on_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            Pool::Sqlite($p) => $body,
            Pool::Postgres($p) => $body,
        }
    };
}

impl Pool {
    /// The registry store: `registry.sqlite`, or the database.
    pub async fn registry(config: &Config, connections: u32) -> anyhow::Result<Pool> {
        Pool::open(config, crate::app::REGISTRY_DB, connections).await
    }

    /// The MinLog store: `minlog.sqlite`, or the database.
    pub async fn minlog(config: &Config) -> anyhow::Result<Pool> {
        Pool::open(config, crate::app::MINLOG_DB, 1).await
    }

    async fn open(config: &Config, file: &str, connections: u32) -> anyhow::Result<Pool> {
        match &config.database_url {
            Some(url) => {
                let options = PgConnectOptions::from_str(url)
                    .with_context(|| {
                        format!("not a PostgreSQL URL: {}", redacted_database_url(url))
                    })?
                    .options([("default_transaction_read_only", "on")]);
                let pool = PgPoolOptions::new()
                    .max_connections(connections.max(1))
                    .connect_with(options)
                    .await
                    .with_context(|| {
                        format!(
                            "cannot connect to PostgreSQL at {}",
                            redacted_database_url(url)
                        )
                    })?;
                Ok(Pool::Postgres(pool))
            }
            None => Ok(Pool::Sqlite(
                open_sqlite_read_only(&config.data.join(file), connections).await?,
            )),
        }
    }

    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }

    /// The stored XML of a patient's DocumentEntries of one status, through the registry's
    /// index `(patient_id, kind, status)`.
    pub async fn entries_of_patient(
        &self,
        patient_id: &str,
        status: &str,
    ) -> Result<Vec<String>, sqlx::Error> {
        const SQL: &str = "SELECT xml FROM registry_object \
                           WHERE patient_id = $1 AND kind = 'DocumentEntry' AND status = $2";
        on_pool!(self, p => sqlx::query_scalar::<_, String>(SQL)
            .bind(patient_id)
            .bind(status)
            .fetch_all(p)
            .await)
    }

    /// The hash of the DocumentEntry with this uniqueId (the first, if several versions).
    pub async fn entry_hash(&self, unique_id: &str) -> Result<Option<String>, sqlx::Error> {
        const SQL: &str = "SELECT hash FROM registry_object \
                           WHERE unique_id = $1 AND kind = 'DocumentEntry' LIMIT 1";
        let row: Option<Option<String>> = on_pool!(self, p => sqlx::query_scalar(SQL)
            .bind(unique_id)
            .fetch_optional(p)
            .await)?;
        Ok(row.flatten())
    }

    /// DocumentEntries and the sum of their `size`.
    pub async fn document_entries(&self) -> Result<(u64, u64), sqlx::Error> {
        const SQL: &str = "SELECT COUNT(*), CAST(SUM(size) AS BIGINT) FROM registry_object \
                           WHERE kind = 'DocumentEntry'";
        let (count, size): (i64, Option<i64>) =
            on_pool!(self, p => sqlx::query_as(SQL).fetch_one(p).await)?;
        Ok((count.max(0) as u64, size.unwrap_or(0).max(0) as u64))
    }

    /// Whether the registry holds any object (false when its tables do not exist yet).
    pub async fn registry_has_objects(&self) -> Result<bool, sqlx::Error> {
        match self {
            Pool::Sqlite(p) => {
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM registry_object)")
                    .fetch_one(p)
                    .await
            }
            Pool::Postgres(p) => {
                // `to_regclass` looks in the connection's search_path, as the store does.
                let exists: bool =
                    sqlx::query_scalar("SELECT to_regclass('registry_object') IS NOT NULL")
                        .fetch_one(p)
                        .await?;
                if !exists {
                    return Ok(false);
                }
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM registry_object)")
                    .fetch_one(p)
                    .await
            }
        }
    }

    /// Follow-ups in the outbox: `(all, delivered)`.
    pub async fn outbox_rows(&self) -> Result<(u64, u64), sqlx::Error> {
        const SQL: &str = "SELECT COUNT(*), \
                           CAST(SUM(CASE WHEN state = 'delivered' THEN 1 ELSE 0 END) AS BIGINT) \
                           FROM followup_outbox";
        let (all, delivered): (i64, Option<i64>) =
            on_pool!(self, p => sqlx::query_as(SQL).fetch_one(p).await)?;
        Ok((all.max(0) as u64, delivered.unwrap_or(0).max(0) as u64))
    }
}

/// Opens a SQLite file of the data directory read-only, for the bench's own readings.
pub async fn open_sqlite_read_only(path: &Path, connections: u32) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .create_if_missing(false);
    SqlitePoolOptions::new()
        .max_connections(connections.max(1))
        .connect_with(options)
        .await
        .with_context(|| format!("cannot open {} read-only", path.display()))
}
