//! The CQL of the keyspace and of every table, in the order they are created.
//!
//! `leases` holds one row per partition of a cluster-mode job: `owner` is written
//! with the lease's TTL, `fencing` (the fencing token) and the committed-epoch
//! pointer without one, so the token keeps growing across expiries and the
//! commit point lives in the row its condition reads. `finished_offset` is the
//! committed offset at which the partition's source ended (the job is done when
//! every partition's equals its committed offset). `cluster_members` holds one
//! heartbeat row per live process (TTL).

use crate::config::{CassandraConfig, ReplicationClass};

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
            "leases",
            format!(
                "CREATE TABLE IF NOT EXISTS {ks}.leases (
    partition_id text,
    owner text,
    fencing bigint,
    committed_epoch bigint,
    committed_offset bigint,
    finished_offset bigint,
    acquired_at timestamp,
    PRIMARY KEY (partition_id)
)"
            ),
        ),
        (
            "cluster_members",
            format!(
                "CREATE TABLE IF NOT EXISTS {ks}.cluster_members (
    node_id text,
    admin text,
    started_at timestamp,
    heartbeat_at timestamp,
    PRIMARY KEY (node_id)
)"
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
