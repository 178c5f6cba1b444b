//! Where one run of an integration test keeps its store: a SQLite file, and (when
//! `DDS_TEST_DATABASE_URL` names a database) a PostgreSQL scratch schema too.

use minlog::AuditStore;

/// One backend's store; opening it again reopens the same store (another "process").
pub enum Backing {
    Sqlite(tempfile::TempDir),
    Postgres(registry::postgres::ScratchSchema),
}

impl Backing {
    pub async fn open(&self) -> AuditStore {
        match self {
            Backing::Sqlite(dir) => AuditStore::open(&dir.path().join("minlog.sqlite"))
                .await
                .unwrap(),
            Backing::Postgres(schema) => AuditStore::open_postgres(schema.url()).await.unwrap(),
        }
    }
}

/// SQLite, and PostgreSQL when configured (else the test says it skipped it).
pub async fn backings() -> Vec<Backing> {
    let mut backings = vec![Backing::Sqlite(tempfile::tempdir().unwrap())];
    match std::env::var("DDS_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
    {
        Some(url) => backings.push(Backing::Postgres(
            registry::postgres::ScratchSchema::create(&url)
                .await
                .unwrap(),
        )),
        None => println!("SKIPPED on PostgreSQL: DDS_TEST_DATABASE_URL is not set"),
    }
    backings
}
