//! The CQL schema: one keyspace, fixed table names, recorded schema version.
//! Every statement is `IF NOT EXISTS`, so applying it again changes nothing.

use scylla::client::session::Session;

use super::CassandraError;
use crate::config::{CassandraConfig, ReplicationClass};

/// Version recorded in `schema_version` by this build.
pub const SCHEMA_VERSION: i32 = 2;

/// Offsets per `events_raw` partition: `bucket = offset / RAW_BUCKET_SIZE` keeps
/// Cassandra partitions bounded however long a source runs.
pub const RAW_BUCKET_SIZE: i64 = 100_000;

/// The replication map for `CREATE KEYSPACE`.
pub fn replication(config: &CassandraConfig) -> String {
    match config.replication_class {
        ReplicationClass::SimpleStrategy => format!(
            "{{'class': 'SimpleStrategy', 'replication_factor': {}}}",
            config.replication_factor
        ),
        ReplicationClass::NetworkTopologyStrategy => {
            let dcs: Vec<String> = config
                .datacenters
                .iter()
                .map(|(dc, rf)| format!("'{}': {rf}", dc.replace('\'', "''")))
                .collect();
            format!("{{'class': 'NetworkTopologyStrategy', {}}}", dcs.join(", "))
        }
    }
}

/// Every statement of the schema, in order, with a short name for error messages.
pub fn statements(config: &CassandraConfig) -> Vec<(&'static str, String)> {
    let ks = &config.keyspace;
    vec![
        (
            "keyspace",
            format!(
                "CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = {}",
                replication(config)
            ),
        ),
        (
            "events_raw",
            format!(
                "CREATE TABLE IF NOT EXISTS {ks}.events_raw (
    partition_id text,
    bucket bigint,
    offset bigint,
    franchise_id uuid,
    event_name text,
    ts timestamp,
    value bigint,
    epoch bigint,
    PRIMARY KEY ((partition_id, bucket), offset)
) WITH CLUSTERING ORDER BY (offset ASC)"
            ),
        ),
        (
            "rollups_by_partition",
            format!(
                "CREATE TABLE IF NOT EXISTS {ks}.rollups_by_partition (
    partition_id text,
    franchise_id uuid,
    event_name text,
    count bigint,
    sum bigint,
    min bigint,
    max bigint,
    epoch bigint,
    PRIMARY KEY ((partition_id, franchise_id), event_name)
)"
            ),
        ),
        (
            "rollups_total",
            format!(
                "CREATE TABLE IF NOT EXISTS {ks}.rollups_total (
    franchise_id uuid,
    event_name text,
    count bigint,
    sum bigint,
    min bigint,
    max bigint,
    updated_at timestamp,
    PRIMARY KEY ((franchise_id), event_name)
)"
            ),
        ),
        (
            "rollups_by_minute",
            format!(
                "CREATE TABLE IF NOT EXISTS {ks}.rollups_by_minute (
    franchise_id uuid,
    minute timestamp,
    event_name text,
    partition_id text,
    count bigint,
    sum bigint,
    min bigint,
    max bigint,
    PRIMARY KEY ((franchise_id, minute), event_name, partition_id)
)"
            ),
        ),
        (
            "checkpoints",
            format!(
                "CREATE TABLE IF NOT EXISTS {ks}.checkpoints (
    partition_id text,
    seq bigint,
    chunk int,
    chunks int,
    kind text,
    epoch bigint,
    offset bigint,
    keys bigint,
    data blob,
    created_at timestamp,
    PRIMARY KEY ((partition_id), seq, chunk)
) WITH CLUSTERING ORDER BY (seq DESC, chunk ASC)"
            ),
        ),
        (
            "partition_identity",
            format!(
                "CREATE TABLE IF NOT EXISTS {ks}.partition_identity (
    partition_id text,
    source_kind text,
    mode text,
    part_index int,
    part_count int,
    format text,
    reset_pending boolean,
    recorded_at timestamp,
    PRIMARY KEY (partition_id)
)"
            ),
        ),
        (
            "epoch_intents",
            format!(
                "CREATE TABLE IF NOT EXISTS {ks}.epoch_intents (
    partition_id text,
    epoch bigint,
    offset_start bigint,
    offset_end bigint,
    written_at bigint,
    keys blob,
    created_at timestamp,
    PRIMARY KEY ((partition_id), epoch, written_at)
) WITH CLUSTERING ORDER BY (epoch DESC, written_at DESC)"
            ),
        ),
        (
            "dead_letters",
            format!(
                "CREATE TABLE IF NOT EXISTS {ks}.dead_letters (
    partition_id text,
    offset bigint,
    reason text,
    line_len bigint,
    line_prefix blob,
    seen_at timestamp,
    PRIMARY KEY ((partition_id), offset)
) WITH default_time_to_live = 604800"
            ),
        ),
        (
            "schema_version",
            format!(
                "CREATE TABLE IF NOT EXISTS {ks}.schema_version (
    component text,
    version int,
    applied_at timestamp,
    PRIMARY KEY (component)
)"
            ),
        ),
    ]
}

/// The schema as one CQL script (what `ssa schema` prints).
pub fn script(config: &CassandraConfig) -> String {
    let mut out = String::new();
    for (_, stmt) in statements(config) {
        out.push_str(&stmt);
        out.push_str(";\n\n");
    }
    out.push_str(&version_insert(&config.keyspace));
    out.push_str(";\n");
    out
}

fn version_insert(ks: &str) -> String {
    format!(
        "INSERT INTO {ks}.schema_version (component, version, applied_at) \
         VALUES ('ssa', {SCHEMA_VERSION}, toTimestamp(now()))"
    )
}

/// Creates whatever is missing and records the schema version.
pub async fn apply(session: &Session, config: &CassandraConfig) -> Result<(), CassandraError> {
    for (what, stmt) in statements(config) {
        session
            .query_unpaged(stmt, ())
            .await
            .map_err(|source| CassandraError::Schema {
                what: what.to_string(),
                source: Box::new(source),
            })?;
    }
    session.await_schema_agreement().await?;
    session
        .query_unpaged(version_insert(&config.keyspace), ())
        .await
        .map_err(|source| CassandraError::Schema {
            what: "schema_version".to_string(),
            source: Box::new(source),
        })?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;

    #[test]
    fn replication_maps() {
        let mut c = CassandraConfig::default();
        assert_eq!(
            replication(&c),
            "{'class': 'SimpleStrategy', 'replication_factor': 1}"
        );
        c.replication_class = ReplicationClass::NetworkTopologyStrategy;
        c.datacenters.insert("dc1".into(), 3);
        c.datacenters.insert("dc2".into(), 2);
        assert_eq!(
            replication(&c),
            "{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 2}"
        );
    }

    #[test]
    fn script_names_every_table_in_the_keyspace() {
        let mut c = CassandraConfig::default();
        c.keyspace = "demo".into();
        let s = script(&c);
        for table in [
            "events_raw",
            "rollups_by_partition",
            "rollups_total",
            "rollups_by_minute",
            "checkpoints",
            "partition_identity",
            "dead_letters",
            "schema_version",
        ] {
            assert!(
                s.contains(&format!("CREATE TABLE IF NOT EXISTS demo.{table} (")),
                "{table}"
            );
        }
        assert!(!s.contains("COUNTER") && !s.contains("counter"));
    }
}
