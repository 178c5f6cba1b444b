//! The registry, consent and audit stores in one PostgreSQL schema, as `dds serve
//! --database-url` keeps them: they share the schema's `_sqlx_migrations` table, so their
//! migration versions must never collide and each store must open beside the others' applied
//! migrations, in any order, fresh and again.
//!
//! The version check always runs; the rest runs when `DDS_TEST_DATABASE_URL` names a
//! PostgreSQL database and says SKIPPED otherwise.

mod support;

use std::collections::BTreeSet;

use consent::ConsentStore;
use minlog::{AuditStore, RejectedAttempt};
use registry::postgres::ScratchSchema;
use registry::{PgRegistryStore, RegistryStore, StoreConfig};
use support::{DATABASE_URL_VARIABLE, test_database_url};

fn versions(migrator: &sqlx::migrate::Migrator) -> BTreeSet<i64> {
    migrator.iter().map(|m| m.version).collect()
}

#[test]
fn the_three_stores_migration_versions_never_collide() {
    let registry = versions(&registry::postgres::postgres_migrator());
    let consent = versions(&consent::store::postgres_migrator());
    let minlog = versions(&minlog::postgres_migrator());
    assert!(!registry.is_empty() && !consent.is_empty() && !minlog.is_empty());
    assert!(registry.is_disjoint(&consent), "{registry:?} {consent:?}");
    assert!(registry.is_disjoint(&minlog), "{registry:?} {minlog:?}");
    assert!(consent.is_disjoint(&minlog), "{consent:?} {minlog:?}");
    for migrator in [
        registry::postgres::postgres_migrator(),
        consent::store::postgres_migrator(),
        minlog::postgres_migrator(),
    ] {
        assert!(migrator.ignore_missing, "each ignores the others' versions");
    }
}

fn rejected(reason: &str) -> RejectedAttempt {
    RejectedAttempt {
        time: minlog::now_rfc3339().unwrap(),
        remote_address: None,
        claimed_subject: None,
        transaction: None,
        fault_code: "wsse:InvalidSecurity".into(),
        reason: reason.into(),
    }
}

#[tokio::test]
async fn the_three_stores_migrate_into_one_schema_and_reopen_in_any_order() {
    let Some(url) = test_database_url() else {
        println!("SKIPPED: {DATABASE_URL_VARIABLE} names no PostgreSQL database");
        return;
    };
    let schema = ScratchSchema::create(&url).await.unwrap();
    let now = time::OffsetDateTime::now_utc();
    {
        // Fresh: the audit store first, so the registry meets versions it does not know.
        let audit = AuditStore::open_postgres(schema.url()).await.unwrap();
        let consent = ConsentStore::open_postgres(schema.url()).await.unwrap();
        let registry = PgRegistryStore::open(schema.url(), StoreConfig::default())
            .await
            .unwrap();
        audit.record_rejected(&rejected("first")).await.unwrap();
        assert!(consent.set_opt_out("0201919990", now).await.unwrap());
        assert!(
            registry
                .add_known_patient("0201919990^^^&1.2.208.176.1.2&ISO")
                .await
                .unwrap()
        );
        audit.close().await;
        consent.close().await;
        registry.close().await;
    }
    // Again, in the other order: nothing to apply, nothing refused, everything still there.
    let registry = PgRegistryStore::open(schema.url(), StoreConfig::default())
        .await
        .unwrap();
    let consent = ConsentStore::open_postgres(schema.url()).await.unwrap();
    let audit = AuditStore::open_postgres(schema.url()).await.unwrap();
    assert_eq!(audit.backend_name(), "postgres");
    assert_eq!(audit.rejected_count().await.unwrap(), 1);
    assert!(
        consent
            .directives("0201919990")
            .await
            .unwrap()
            .opt_out
            .is_some()
    );
    assert!(
        !registry
            .add_known_patient("0201919990^^^&1.2.208.176.1.2&ISO")
            .await
            .unwrap(),
        "already known"
    );
    audit.close().await;
    consent.close().await;
    registry.close().await;
    schema.remove().await.unwrap();
}
