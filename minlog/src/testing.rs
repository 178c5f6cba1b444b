//! The stores a unit test runs against: always a SQLite file; also a fresh PostgreSQL scratch
//! schema when `DDS_TEST_DATABASE_URL` names a database (else the test says it skipped it).

use registry::postgres::ScratchSchema;
use sqlx::Row;

use crate::{AuditStore, Engines};

/// The environment variable naming the PostgreSQL database for tests (as everywhere).
pub(crate) const DATABASE_URL_VARIABLE: &str = "DDS_TEST_DATABASE_URL";

/// Where one run of a test keeps its store; opening it again reopens the same store.
pub(crate) enum Backing {
    Sqlite(tempfile::TempDir),
    Postgres(ScratchSchema),
}

impl Backing {
    pub(crate) async fn open(&self) -> AuditStore {
        match self {
            Backing::Sqlite(dir) => AuditStore::open(&dir.path().join("minlog.sqlite"))
                .await
                .unwrap(),
            Backing::Postgres(schema) => AuditStore::open_postgres(schema.url()).await.unwrap(),
        }
    }
}

/// SQLite, and PostgreSQL when configured.
pub(crate) async fn backings() -> Vec<Backing> {
    let mut backings = vec![Backing::Sqlite(tempfile::tempdir().unwrap())];
    match std::env::var(DATABASE_URL_VARIABLE)
        .ok()
        .filter(|url| !url.is_empty())
    {
        Some(url) => backings.push(Backing::Postgres(
            ScratchSchema::create(&url).await.unwrap(),
        )),
        None => println!("SKIPPED on PostgreSQL: {DATABASE_URL_VARIABLE} is not set"),
    }
    backings
}

impl AuditStore {
    /// Runs `sql` (with `$1` bound to `bind`) behind the store's back.
    pub(crate) async fn test_execute(&self, sql: &str, bind: &str) {
        match &self.engine {
            Engines::Sqlite(e) => {
                sqlx::query(sql).bind(bind).execute(&e.pool).await.unwrap();
            }
            Engines::Postgres(e) => {
                sqlx::query(sql).bind(bind).execute(&e.pool).await.unwrap();
            }
        }
    }

    /// Rows of three columns (text, integer, text) that `sql` selects.
    /// The outbox heads as kept (`followup_head`) and as they should be (each patient's
    /// oldest pending follow-up), both as (patient, follow-up id, next attempt) in patient
    /// order: equal whenever the heads are right.
    pub(crate) async fn heads_kept_and_expected(
        &self,
    ) -> (Vec<(String, i64, String)>, Vec<(String, i64, String)>) {
        let kept = self
            .test_rows(
                "SELECT patient_cpr, followup_id, next_attempt_at FROM followup_head \
                 ORDER BY patient_cpr",
            )
            .await;
        let expected = self
            .test_rows(
                "SELECT o.patient_cpr, o.id, o.next_attempt_at FROM followup_outbox AS o \
                 WHERE o.state = 'pending' AND o.id = (SELECT MIN(i.id) FROM followup_outbox AS i \
                 WHERE i.patient_cpr = o.patient_cpr AND i.state = 'pending') \
                 ORDER BY o.patient_cpr",
            )
            .await;
        (kept, expected)
    }

    pub(crate) async fn test_rows(&self, sql: &str) -> Vec<(String, i64, String)> {
        match &self.engine {
            Engines::Sqlite(e) => sqlx::query(sql)
                .fetch_all(&e.pool)
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect(),
            Engines::Postgres(e) => sqlx::query(sql)
                .fetch_all(&e.pool)
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect(),
        }
    }
}
