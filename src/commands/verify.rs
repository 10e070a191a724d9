//! `ssa verify`: compares what is in Cassandra with the generator's ground truth —
//! every total, and the number of raw rows — and says exactly what differs.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use futures::TryStreamExt;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::unprepared::Statement;
use uuid::Uuid;

use super::workload::WorkloadArgs;
use crate::actors::backoff::Backoff;
use crate::cassandra;
use crate::cli::{init_tracing, GlobalArgs};
use crate::config::Overrides;
use crate::gen::franchise_uuid;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub workload: WorkloadArgs,
    /// Do not check events_raw (for runs with raw_events = false).
    #[arg(long)]
    pub no_raw: bool,
    /// How many differences to list.
    #[arg(long, default_value_t = 10)]
    pub show: usize,
}

/// What a verification found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub keys_checked: u64,
    pub missing: u64,
    pub wrong: u64,
    pub extra: u64,
    pub raw_rows: Option<u64>,
    pub expected_raw_rows: u64,
    pub differences: Vec<String>,
}

impl Report {
    pub fn is_exact(&self) -> bool {
        self.missing == 0
            && self.wrong == 0
            && self.extra == 0
            && self.raw_rows.is_none_or(|r| r == self.expected_raw_rows)
    }
}

/// A stored total: count, sum, min, max.
type Stored = (i64, Option<i64>, Option<i64>, Option<i64>);

type TotalRow = (
    Uuid,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

fn long(cql: String) -> Statement {
    let mut s = Statement::new(cql);
    s.set_request_timeout(Some(Duration::from_secs(120)));
    s.set_page_size(5000);
    s
}

/// Runs the comparison against an open session, one franchise at a time: the
/// truth and the stored totals of one franchise are in memory at once, never all
/// keys (unbounded keys run to tens of millions).
pub async fn verify(
    session: &Session,
    keyspace: &str,
    args: &VerifyArgs,
) -> anyhow::Result<Report> {
    let range = args
        .workload
        .cycles
        .as_range()
        .context("--cycles must be a finite range A..B to verify")?;
    let workload = args.workload.workload()?;
    let has_values = workload.format().has_time_and_value();
    let sources = workload.options().sources.min(range.end - range.start);
    let by_franchise = session
        .prepare(long(format!(
            "SELECT franchise_id, event_name, count, sum, min, max FROM {keyspace}.rollups_total WHERE franchise_id = ?"
        )))
        .await
        .context("preparing the rollups_total read")?;

    let mut report = Report {
        expected_raw_rows: range.end - range.start,
        ..Report::default()
    };
    let mut franchises = HashSet::new();
    for source in 0..sources {
        let fid = franchise_uuid(source);
        franchises.insert(fid);
        let truth = workload.source_truth(range.clone(), source);
        let mut stored = retrying("reading rollups_total", || {
            read_franchise(session, &by_franchise, fid)
        })
        .await?;
        for (fid, name, expected) in truth.iter() {
            report.keys_checked += 1;
            match stored.remove(name) {
                None => {
                    report.missing += 1;
                    if report.differences.len() < args.show {
                        report.differences.push(format!(
                            "missing {fid} {name} (expected count {})",
                            expected.count
                        ));
                    }
                }
                Some((count, sum, min, max)) => {
                    let ok = count as u64 == expected.count
                        && (!has_values
                            || (sum == Some(expected.sum)
                                && min == Some(expected.min)
                                && max == Some(expected.max)));
                    if !ok {
                        report.wrong += 1;
                        if report.differences.len() < args.show {
                            report.differences.push(format!(
                                "wrong {fid} {name}: count {count} (expected {}), sum {sum:?} min {min:?} max {max:?}",
                                expected.count
                            ));
                        }
                    }
                }
            }
        }
        report.extra += stored.len() as u64;
        for (name, (count, ..)) in stored
            .iter()
            .take(args.show.saturating_sub(report.differences.len()))
        {
            report
                .differences
                .push(format!("extra {fid} {name} (count {count})"));
        }
    }
    // Rows of franchises the workload has none of: the table's partition keys
    // first (a scan of keys, not of rows), then those partitions whole.
    let others = retrying("listing rollups_total franchises", || {
        total_franchises(session, keyspace)
    })
    .await?;
    for fid in others.into_iter().filter(|f| !franchises.contains(f)) {
        let stored = retrying("reading rollups_total", || {
            read_franchise(session, &by_franchise, fid)
        })
        .await?;
        report.extra += stored.len() as u64;
        for (name, (count, ..)) in stored
            .iter()
            .take(args.show.saturating_sub(report.differences.len()))
        {
            report
                .differences
                .push(format!("extra {fid} {name} (count {count})"));
        }
    }

    if !args.no_raw {
        report.raw_rows = Some(count_raw(session, keyspace).await?);
    }
    Ok(report)
}

/// How many times one read is tried, and the wait between two tries: a node
/// down, restarting or overloaded (a read timeout at the consistency level) is
/// waited for rather than reported as a failed verification.
const READ_ATTEMPTS: u32 = 5;
const READ_BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(8));

/// Runs `read` until it succeeds, a failure is not transient, or
/// [`READ_ATTEMPTS`] are spent; each retry is logged with its cause.
async fn retrying<T, F, Fut>(what: &str, mut read: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let mut failures = 0;
    loop {
        match read().await {
            Ok(v) => return Ok(v),
            Err(e) if failures + 1 < READ_ATTEMPTS && cassandra::read_transient(&e) => {
                failures += 1;
                let delay = READ_BACKOFF.delay(failures);
                tracing::warn!(error = %e, attempt = failures + 1, of = READ_ATTEMPTS, "{what} failed; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
            }
            Err(e) => return Err(e.context(what.to_string())),
        }
    }
}

/// The stored totals of one franchise, by event name.
async fn read_franchise(
    session: &Session,
    by_franchise: &PreparedStatement,
    fid: Uuid,
) -> anyhow::Result<HashMap<String, Stored>> {
    let mut stored = HashMap::new();
    let mut rows = session
        .execute_iter(by_franchise.clone(), (fid,))
        .await?
        .rows_stream::<TotalRow>()?;
    while let Some((_, name, count, sum, min, max)) = rows.try_next().await? {
        stored.insert(name, (count.unwrap_or(0), sum, min, max));
    }
    Ok(stored)
}

/// The franchises `rollups_total` has rows of (its partition keys).
async fn total_franchises(session: &Session, keyspace: &str) -> anyhow::Result<Vec<Uuid>> {
    let mut rows = session
        .query_iter(
            long(format!(
                "SELECT DISTINCT franchise_id FROM {keyspace}.rollups_total"
            )),
            (),
        )
        .await?
        .rows_stream::<(Uuid,)>()?;
    let mut out = Vec::new();
    while let Some((fid,)) = rows.try_next().await? {
        out.push(fid);
    }
    Ok(out)
}

/// The Cassandra partitions of `events_raw`.
async fn raw_partitions(session: &Session, keyspace: &str) -> anyhow::Result<Vec<(String, i64)>> {
    let mut parts = session
        .query_iter(
            long(format!(
                "SELECT DISTINCT partition_id, bucket FROM {keyspace}.events_raw"
            )),
            (),
        )
        .await?
        .rows_stream::<(String, i64)>()?;
    let mut keys = Vec::new();
    while let Some(k) = parts.try_next().await? {
        keys.push(k);
    }
    Ok(keys)
}

/// Counts `events_raw` one Cassandra partition at a time (a whole-table count
/// would time out on large tables).
pub async fn count_raw(session: &Session, keyspace: &str) -> anyhow::Result<u64> {
    let keys = retrying("listing events_raw partitions", || {
        raw_partitions(session, keyspace)
    })
    .await?;
    let count = session
        .prepare(long(format!(
            "SELECT count(*) FROM {keyspace}.events_raw WHERE partition_id = ? AND bucket = ?"
        )))
        .await
        .context("preparing the events_raw count")?;
    let mut total = 0u64;
    for (p, b) in keys {
        let what = format!("counting events_raw of {p}/{b}");
        let n = retrying(&what, || async {
            let (n,): (i64,) = session
                .execute_unpaged(&count, (&p, b))
                .await?
                .into_rows_result()?
                .single_row()?;
            Ok(n)
        })
        .await?;
        total += n as u64;
    }
    Ok(total)
}

pub fn run(global: &GlobalArgs, args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let config = global.load_config(Overrides::default())?;
    init_tracing(&config.log.level);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let session = cassandra::connect(&config.cassandra).await?;
        let report = verify(&session, &config.cassandra.keyspace, &args).await?;
        println!(
            "keys checked: {}, missing: {}, wrong: {}, extra: {}",
            report.keys_checked, report.missing, report.wrong, report.extra
        );
        match report.raw_rows {
            Some(n) => println!("raw rows: {n} (expected {})", report.expected_raw_rows),
            None => println!("raw rows: not checked"),
        }
        for d in &report.differences {
            println!("  {d}");
        }
        if report.is_exact() {
            println!("EXACT");
            Ok(ExitCode::SUCCESS)
        } else {
            println!("NOT EXACT");
            Ok(ExitCode::FAILURE)
        }
    })
}
