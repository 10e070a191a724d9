//! Shared helpers for integration tests: the real Cassandra node (started by
//! `scripts/test` / `.ci/run`), unique keyspaces, the `ssa` binary.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use scylla::client::session::Session;
use ssa::config::CassandraConfig;

/// The node tests talk to: `SSA_TEST_CONTACT_POINT`, default 127.0.0.1:9042.
pub fn contact_point() -> String {
    std::env::var("SSA_TEST_CONTACT_POINT").unwrap_or_else(|_| "127.0.0.1:9042".to_string())
}

/// A keyspace name no other test (or earlier run) uses.
pub fn unique_keyspace(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "t_{prefix}_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn cassandra_config(keyspace: &str) -> CassandraConfig {
    CassandraConfig {
        contact_points: vec![contact_point()],
        keyspace: keyspace.to_string(),
        consistency: ssa::config::ConsistencyName::One,
        ..CassandraConfig::default()
    }
}

pub async fn session(keyspace: &str) -> Arc<Session> {
    ssa::cassandra::connect(&cassandra_config(keyspace))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "the test node at {} must be up (scripts/cassandra start): {e}",
                contact_point()
            )
        })
}

/// Creates a fresh keyspace with the full schema.
pub async fn keyspace_with_schema(prefix: &str) -> (Arc<Session>, String) {
    let keyspace = unique_keyspace(prefix);
    let session = session(&keyspace).await;
    ssa::cassandra::schema::apply(&session, &cassandra_config(&keyspace))
        .await
        .expect("schema applies");
    (session, keyspace)
}

pub async fn drop_keyspace(session: &Session, keyspace: &str) {
    let _ = session
        .query_unpaged(format!("DROP KEYSPACE IF EXISTS {keyspace}"), ())
        .await;
}

/// Path of the built `ssa` binary.
pub fn ssa_bin() -> &'static str {
    env!("CARGO_BIN_EXE_ssa")
}
