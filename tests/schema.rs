//! `ssa schema` against the real Cassandra node.

mod common;

use std::process::Command;

use common::*;
use scylla::value::CqlTimestamp;
use uuid::Uuid;

const TABLES: [&str; 11] = [
    "checkpoints",
    "cluster_members",
    "dead_letters",
    "epoch_intents",
    "events_raw",
    "leases",
    "partition_identity",
    "rollups_by_minute",
    "rollups_by_partition",
    "rollups_total",
    "schema_version",
];

#[tokio::test]
async fn schema_applies_twice_and_records_its_version() {
    let keyspace = unique_keyspace("schema");
    let session = session(&keyspace).await;
    let config = cassandra_config(&keyspace);
    ssa::cassandra::schema::apply(&session, &config)
        .await
        .expect("first apply");
    ssa::cassandra::schema::apply(&session, &config)
        .await
        .expect("second apply is a no-op");

    let rows = session
        .query_unpaged(
            "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?",
            (&keyspace,),
        )
        .await
        .unwrap()
        .into_rows_result()
        .unwrap();
    let mut tables: Vec<String> = rows
        .rows::<(String,)>()
        .unwrap()
        .map(|r| r.unwrap().0)
        .collect();
    tables.sort();
    assert_eq!(tables, TABLES);

    let (version,): (i32,) = session
        .query_unpaged(
            format!("SELECT version FROM {keyspace}.schema_version WHERE component = 'ssa'"),
            (),
        )
        .await
        .unwrap()
        .into_rows_result()
        .unwrap()
        .single_row()
        .unwrap();
    assert_eq!(version, ssa::cassandra::schema::SCHEMA_VERSION);
    drop_keyspace(&session, &keyspace).await;
}

#[tokio::test]
async fn a_row_written_reads_back() {
    let (session, keyspace) = keyspace_with_schema("rw").await;
    let franchise = Uuid::parse_str("2d1e6f4e-0c8b-4a8e-9f1e-1b2c3d4e5f60").unwrap();
    session
        .query_unpaged(
            format!(
                "INSERT INTO {keyspace}.events_raw (partition_id, bucket, offset, franchise_id, event_name, ts, value, epoch) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            ("p0", 0i64, 42i64, franchise, "alpha", CqlTimestamp(1_767_225_600_000), 7i64, 1i64),
        )
        .await
        .unwrap();
    let row: (Uuid, String, CqlTimestamp, i64) = session
        .query_unpaged(
            format!(
                "SELECT franchise_id, event_name, ts, value FROM {keyspace}.events_raw WHERE partition_id = ? AND bucket = ? AND offset = ?"
            ),
            ("p0", 0i64, 42i64),
        )
        .await
        .unwrap()
        .into_rows_result()
        .unwrap()
        .single_row()
        .unwrap();
    assert_eq!(
        row,
        (
            franchise,
            "alpha".to_string(),
            CqlTimestamp(1_767_225_600_000),
            7
        )
    );
    drop_keyspace(&session, &keyspace).await;
}

#[test]
fn apply_against_a_closed_port_names_it() {
    // Bind then drop a listener to get a port that is surely closed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = Command::new(ssa_bin())
        .args(["schema", "--apply", "--contact-point"])
        .arg(format!("127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}")) && stderr.contains("refused"),
        "stderr: {stderr}"
    );
}

#[test]
fn schema_prints_cql_for_the_chosen_keyspace() {
    let out = Command::new(ssa_bin())
        .args(["schema", "--keyspace", "printed_ks"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for table in TABLES {
        assert!(stdout.contains(&format!("printed_ks.{table} (")), "{table}");
    }
}

#[test]
fn invalid_config_names_the_key() {
    let out = Command::new(ssa_bin())
        .args(["schema"])
        .env("SSA_PROCESSOR__MAX_INFLIGHT_EPOCHS", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("processor.max_inflight_epochs"), "{stderr}");
}
