//! The CQL schema: one keyspace, fixed table names, recorded schema version.
//! Every statement is `IF NOT EXISTS`, so applying it again changes nothing.

use std::collections::HashSet;

use scylla::client::session::Session;
use scylla::errors::{DbError, ExecutionError, RequestAttemptError};

use super::CassandraError;
use crate::config::CassandraConfig;

pub use super::tables::{replication, statements};

/// Version recorded in `schema_version` by this build.
pub const SCHEMA_VERSION: i32 = 3;

pub use crate::core::RAW_BUCKET_SIZE;

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

/// Applies the schema (what `ssa schema --apply` does): every table statement runs
/// (`IF NOT EXISTS`), so the role needs `CREATE` on the keyspace; the keyspace itself
/// is created only when it does not exist yet (that needs `CREATE` on all keyspaces).
/// Then records the schema version.
pub async fn apply(session: &Session, config: &CassandraConfig) -> Result<(), CassandraError> {
    let present = existing_tables(session, config).await?;
    for (what, stmt) in statements(config) {
        if what == "keyspace" && present.is_some() {
            continue;
        }
        session
            .query_unpaged(stmt, ())
            .await
            .map_err(|e| schema_error(what, config, e))?;
    }
    session.await_schema_agreement().await?;
    session
        .query_unpaged(version_insert(&config.keyspace), ())
        .await
        .map_err(|e| schema_error("schema_version", config, e))?;
    Ok(())
}

/// Makes sure the schema is there before `run` or `demo` uses it: when the keyspace and
/// every table exist, nothing is executed, so a role with only `SELECT` and `MODIFY`
/// can run; otherwise the schema is applied (and needs `CREATE`).
pub async fn ensure(session: &Session, config: &CassandraConfig) -> Result<(), CassandraError> {
    if let Some(tables) = existing_tables(session, config).await? {
        let complete = statements(config)
            .iter()
            .filter(|(what, _)| *what != "keyspace")
            .all(|(_, stmt)| table_of(stmt, &config.keyspace).is_some_and(|t| tables.contains(t)));
        if complete {
            return Ok(());
        }
    }
    apply(session, config).await
}

/// The table a `CREATE TABLE IF NOT EXISTS ks.name (...)` statement creates.
fn table_of<'a>(stmt: &'a str, keyspace: &str) -> Option<&'a str> {
    let rest = stmt
        .strip_prefix("CREATE TABLE IF NOT EXISTS ")?
        .strip_prefix(keyspace)?
        .strip_prefix('.')?;
    rest.split(|c: char| c.is_whitespace() || c == '(')
        .next()
        .filter(|name| !name.is_empty())
}

/// The tables of the keyspace, or `None` when the keyspace does not exist.
/// (`system_schema` is readable by every role.)
async fn existing_tables(
    session: &Session,
    config: &CassandraConfig,
) -> Result<Option<HashSet<String>>, CassandraError> {
    let ks = config.keyspace.as_str();
    let read_error = |e: &dyn std::fmt::Display| CassandraError::SchemaRead {
        keyspace: ks.to_string(),
        contact_points: config.contact_points.join(", "),
        error: e.to_string(),
    };
    let keyspaces = session
        .query_unpaged(
            "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?",
            (ks,),
        )
        .await
        .map_err(|e| read_error(&e))?
        .into_rows_result()
        .map_err(|e| read_error(&e))?
        .rows_num();
    if keyspaces == 0 {
        return Ok(None);
    }
    let rows = session
        .query_unpaged(
            "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?",
            (ks,),
        )
        .await
        .map_err(|e| read_error(&e))?
        .into_rows_result()
        .map_err(|e| read_error(&e))?;
    let tables = rows
        .rows::<(String,)>()
        .map_err(|e| read_error(&e))?
        .map(|row| row.map(|(name,)| name))
        .collect::<Result<HashSet<_>, _>>()
        .map_err(|e| read_error(&e))?;
    Ok(Some(tables))
}

/// A failed schema statement; a missing permission gets its own message, which
/// quotes the node's (it names the permission and the resource).
fn schema_error(what: &str, config: &CassandraConfig, error: ExecutionError) -> CassandraError {
    let contact_points = config.contact_points.join(", ");
    if let ExecutionError::LastAttemptError(RequestAttemptError::DbError(
        DbError::Unauthorized,
        message,
    )) = &error
    {
        return CassandraError::SchemaDenied {
            what: what.to_string(),
            contact_points,
            message: message.clone(),
        };
    }
    CassandraError::Schema {
        what: what.to_string(),
        contact_points,
        error: Box::new(error),
    }
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::config::ReplicationClass;

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

    #[test]
    fn every_table_statement_names_its_table() {
        let mut c = CassandraConfig::default();
        c.keyspace = "demo".into();
        for (what, stmt) in statements(&c) {
            if stmt.starts_with("CREATE TABLE") {
                assert_eq!(table_of(&stmt, "demo"), Some(what), "{stmt}");
            }
        }
        assert_eq!(table_of(&statements(&c)[0].1, "demo"), None);
    }
}
