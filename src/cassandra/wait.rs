//! Waiting for the cluster at start (`ssa run`, `ssa demo`): the contact points
//! are tried every few seconds, each failure is logged as
//! `waiting for cassandra at HOST:PORT: CAUSE` and kept in [`Startup`] for
//! `/ready`, and the schema is applied as soon as a node answers. What waiting
//! cannot cure (credentials refused, a schema statement refused) ends the wait
//! with the error. `ssa schema` and `ssa verify` do not wait: they fail fast.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use scylla::client::session::Session;
use scylla::errors::{
    ConnectionError, ConnectionPoolError, DbError, ExecutionError, NextPageError, NextRowError,
    PagerExecutionError, RequestAttemptError, RequestError,
};

use super::{connect, probe, schema, CassandraError, ConnectCause};
use crate::config::CassandraConfig;

/// Time between two attempts.
pub const RETRY_EVERY: Duration = Duration::from_secs(2);

/// What the process is doing before it can serve: read by `/ready`.
#[derive(Debug, Default)]
pub struct Startup {
    status: Mutex<Option<String>>,
}

impl Startup {
    pub fn new() -> Arc<Startup> {
        Arc::new(Startup::default())
    }

    pub fn set(&self, status: impl Into<String>) {
        *self.status.lock().unwrap_or_else(|e| e.into_inner()) = Some(status.into());
    }

    /// The latest status, e.g. `waiting for cassandra at 127.0.0.1:9042: Connection refused`.
    pub fn get(&self) -> String {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| "starting".to_string())
    }
}

/// Connects and makes sure the schema is there (creating only what is missing, so
/// a role without `CREATE` can run against an existing keyspace), waiting for as long as the cluster does not
/// answer; see the module docs.
pub async fn connect_when_up(
    config: &CassandraConfig,
    startup: &Startup,
) -> Result<Arc<Session>, CassandraError> {
    wait_for(config, startup, true).await
}

/// Connects, waiting for as long as the cluster does not answer (no schema work).
pub async fn session_when_up(
    config: &CassandraConfig,
    startup: &Startup,
) -> Result<Arc<Session>, CassandraError> {
    wait_for(config, startup, false).await
}

async fn wait_for(
    config: &CassandraConfig,
    startup: &Startup,
    apply_schema: bool,
) -> Result<Arc<Session>, CassandraError> {
    let at = config.contact_points.join(", ");
    startup.set(format!("connecting to cassandra at {at}"));
    loop {
        let cause = match probe(&config.contact_points, config.connect_timeout).await {
            Err(failures) if failures.len() == 1 => failures[0].1.clone(),
            Err(failures) => failures
                .iter()
                .map(|(point, cause)| format!("{point}: {cause}"))
                .collect::<Vec<_>>()
                .join("; "),
            Ok(()) => match connect(config).await {
                Ok(session) if !apply_schema => return Ok(session),
                Ok(session) => {
                    startup.set(format!(
                        "applying the schema of keyspace {}",
                        config.keyspace
                    ));
                    match schema::ensure(&session, config).await {
                        Ok(()) => return Ok(session),
                        Err(e) if transient(&e) => e.to_string(),
                        Err(e) => return Err(e),
                    }
                }
                Err(e) if transient(&e) => e.to_string(),
                Err(e) => return Err(e),
            },
        };
        let status = format!("waiting for cassandra at {at}: {cause}");
        tracing::warn!("{status}");
        startup.set(status);
        tokio::time::sleep(RETRY_EVERY).await;
    }
}

/// Whether a failed read (one request or a paged scan, anywhere in the error's
/// chain) may succeed if tried again; see [`execution_transient`].
pub fn read_transient(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        if let Some(e) = cause.downcast_ref::<ExecutionError>() {
            execution_transient(e)
        } else if let Some(e) = cause.downcast_ref::<PagerExecutionError>() {
            matches!(e, PagerExecutionError::NextPageError(p) if page_transient(p))
        } else if let Some(e) = cause.downcast_ref::<NextRowError>() {
            matches!(e, NextRowError::NextPageError(p) if page_transient(p))
        } else if let Some(e) = cause.downcast_ref::<NextPageError>() {
            page_transient(e)
        } else {
            false
        }
    })
}

fn page_transient(e: &NextPageError) -> bool {
    matches!(e, NextPageError::RequestFailure(r) if request_transient(r))
}

/// [`execution_transient`] for the pager's requests (reads of many pages).
pub(crate) fn request_transient(e: &RequestError) -> bool {
    match e {
        RequestError::EmptyPlan | RequestError::RequestTimeout(_) => true,
        RequestError::ConnectionPoolError(p) => pool_transient(p),
        RequestError::LastAttemptError(a) => attempt_transient(a),
        _ => false,
    }
}

/// Whether an error may go away by itself (a node down, starting or overloaded),
/// as opposed to one that waiting cannot cure (bad credentials, a refused statement).
fn transient(e: &CassandraError) -> bool {
    match e {
        CassandraError::Unreachable(_) | CassandraError::Agreement(_) => true,
        // Credentials and certificates will be refused again; a node that is down,
        // starting or overloaded shows up as an unclassified cause.
        CassandraError::Connect { cause, .. } => {
            matches!(
                cause,
                ConnectCause::Other(_) | ConnectCause::ClosedByNode { .. }
            )
        }
        CassandraError::Schema { error, .. } => execution_transient(error),
        CassandraError::SchemaRead { .. } => true,
        CassandraError::SchemaDenied { .. } => false,
        CassandraError::Tls(_) | CassandraError::Task(_) => false,
    }
}

fn pool_transient(p: &ConnectionPoolError) -> bool {
    match p {
        // A node that answers the connection but refuses its setup (credentials,
        // protocol) will refuse it again.
        ConnectionPoolError::Broken {
            last_connection_error: ConnectionError::ConnectionSetupRequestError(_),
        } => false,
        _ => true,
    }
}

/// Whether a failed request may succeed if sent again: a node down, overloaded
/// or too slow to answer in time; not a refused or malformed statement.
pub(crate) fn execution_transient(e: &ExecutionError) -> bool {
    match e {
        ExecutionError::ConnectionPoolError(p) => pool_transient(p),
        ExecutionError::RequestTimeout(_)
        | ExecutionError::SchemaAgreementError(_)
        | ExecutionError::MetadataError(_)
        | ExecutionError::EmptyPlan => true,
        ExecutionError::LastAttemptError(a) => attempt_transient(a),
        _ => false,
    }
}

fn attempt_transient(a: &RequestAttemptError) -> bool {
    match a {
        RequestAttemptError::BrokenConnectionError(_)
        | RequestAttemptError::UnableToAllocStreamId => true,
        RequestAttemptError::DbError(db, _) => matches!(
            db,
            DbError::Unavailable { .. }
                | DbError::Overloaded
                | DbError::IsBootstrapping
                | DbError::ReadTimeout { .. }
                | DbError::WriteTimeout { .. }
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_node_is_waited_for_and_reported() {
        // A port nobody listens on: bound, then released.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = CassandraConfig {
            contact_points: vec![format!("127.0.0.1:{port}")],
            ..CassandraConfig::default()
        };
        let startup = Startup::new();
        assert_eq!(startup.get(), "starting");
        // It keeps waiting, and reports what it waits for.
        let status = tokio::select! {
            r = connect_when_up(&config, &startup) => panic!("connected to nobody: {r:?}"),
            s = async {
                loop {
                    let s = startup.get();
                    if s.starts_with("waiting") {
                        break s;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            } => s,
        };
        assert!(
            status.starts_with(&format!("waiting for cassandra at 127.0.0.1:{port}: ")),
            "{status}"
        );
        assert!(!transient(&CassandraError::Tls("x".into())));
        assert!(transient(&CassandraError::Unreachable("x".into())));
    }

    fn db(error: DbError) -> RequestAttemptError {
        RequestAttemptError::DbError(error, "from the node".into())
    }

    /// The failure a scan of a table saw with one node of three down.
    fn page_read_timeout() -> NextPageError {
        NextPageError::RequestFailure(RequestError::LastAttemptError(db(DbError::ReadTimeout {
            consistency: scylla::statement::Consistency::Quorum,
            received: 1,
            required: 2,
            data_present: true,
        })))
    }

    #[test]
    fn a_read_timed_out_at_its_consistency_is_worth_another_try() {
        let first_page =
            anyhow::Error::from(PagerExecutionError::NextPageError(page_read_timeout()))
                .context("reading rollups_total");
        assert!(read_transient(&first_page), "{first_page:#}");
        let later_page = anyhow::Error::from(NextRowError::NextPageError(page_read_timeout()));
        assert!(read_transient(&later_page));
        let one_request =
            anyhow::Error::from(ExecutionError::LastAttemptError(db(DbError::Unavailable {
                consistency: scylla::statement::Consistency::Quorum,
                required: 2,
                alive: 1,
            })));
        assert!(read_transient(&one_request));
    }

    #[test]
    fn a_refused_statement_or_a_bad_row_is_not_tried_again() {
        let invalid = anyhow::Error::from(ExecutionError::LastAttemptError(db(DbError::Invalid)))
            .context("counting events_raw");
        assert!(!read_transient(&invalid));
        let unauthorized = anyhow::Error::from(PagerExecutionError::NextPageError(
            NextPageError::RequestFailure(RequestError::LastAttemptError(db(
                DbError::Unauthorized,
            ))),
        ));
        assert!(!read_transient(&unauthorized));
        assert!(!read_transient(&anyhow::anyhow!("no such table")));
    }
}
