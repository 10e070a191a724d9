//! `ssa demo`: a replayable generator and the processor in one process against
//! the local node. With a finite range it exits 0 once every partition has
//! committed its last offset and every total is written (or, with `--hold`,
//! keeps serving the console until Ctrl-C); without one it runs until Ctrl-C,
//! then commits what it has and exits. It prints the console's address first.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::workload::WorkloadArgs;
use crate::cassandra::Startup;
use crate::cli::{init_tracing, GlobalArgs};
use crate::config::{Overrides, PartitionConfig, SinkKind, SourceMode};
use crate::gen::{serve, ServeMode, ServeOptions};
use crate::processor::Processor;
use crate::runtime::{io_runtime, on_io};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub workload: WorkloadArgs,
    /// Partitions (replayable source connections).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub partitions: u32,
    /// Events per second over all partitions; 0 = as fast as possible.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Where rows go: cassandra (default) or none.
    #[arg(long, value_enum)]
    pub sink: Option<SinkKind>,
    /// Address of the admin API and /metrics (overrides admin.listen); port 0 picks a free one.
    #[arg(long, value_name = "ADDR")]
    pub admin_listen: Option<String>,
    /// Fault injection: kill a partition actor every this many milliseconds (10 to 3600000).
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub kill_every: Option<u64>,
    /// Drop the keyspace first, so the demo starts from nothing (otherwise it
    /// resumes from the checkpoints of the last run).
    #[arg(long)]
    pub fresh: bool,
    /// With a finite range: once everything is committed, keep the generator,
    /// the admin API and the console up until Ctrl-C (to show the verify panel).
    #[arg(long)]
    pub hold: bool,
    /// No status line.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(global: &GlobalArgs, args: DemoArgs) -> anyhow::Result<ExitCode> {
    let mut config = global.load_config(Overrides {
        sink: args.sink,
        admin_listen: args.admin_listen.clone(),
        ..Overrides::default()
    })?;
    init_tracing(&config.log.level);
    let workload = args.workload.workload()?;
    let cycles = args.workload.cycles;
    let io = io_runtime()?;
    let listener = io
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .context("binding the generator on 127.0.0.1")?;
    let gen_addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let mut opts = ServeOptions::new(workload.clone(), ServeMode::Partitioned, cycles);
    opts.rate = args.rate;
    let gen_counters = opts.counters.clone();
    let gen_task = io.spawn(serve(listener, opts, shutdown.clone()));

    config.partitions = (0..args.partitions)
        .map(|i| PartitionConfig {
            id: format!("p{i}"),
            source: format!("tcp://{gen_addr}"),
            mode: SourceMode::Replayable,
            format: args.workload.flags.format,
            index: i,
            count: args.partitions,
        })
        .collect();
    config.validate()?;

    let system = actix::System::new();
    let code = system.block_on(async {
        // The admin API serves from the start; start-up waits for Cassandra for as
        // long as it does not answer, saying so every few seconds.
        let startup = Startup::new();
        let admin = crate::admin::start_if_enabled(&config, &startup)?;
        if let Some(admin) = &admin {
            println!("console: {}", admin.console_url());
        }
        let starting = async {
            if args.fresh {
                let cfg = config.cassandra.clone();
                let startup = startup.clone();
                on_io(io.handle(), "dropping the keyspace", async move {
                    let session = crate::cassandra::session_when_up(&cfg, &startup).await?;
                    session
                        .query_unpaged(format!("DROP KEYSPACE IF EXISTS {}", cfg.keyspace), ())
                        .await
                        .with_context(|| format!("dropping keyspace {}", cfg.keyspace))?;
                    Ok::<_, anyhow::Error>(())
                })
                .await?;
            }
            Processor::start_waiting(config, io.handle().clone(), startup.clone(), &[])
                .await
                .map_err(|e| match e.downcast_ref::<crate::config::ConfigError>() {
                    // Partitions of an earlier demo with other --partitions or --format.
                    Some(_) => e.context(
                        "the keyspace holds another demo's checkpoints (--fresh starts from nothing)",
                    ),
                    None => e,
                })
        };
        let processor = tokio::select! {
            p = starting => Arc::new(p?),
            _ = tokio::signal::ctrl_c() => return Ok(super::run::stopped_while_starting(&startup)),
        };
        if let Some(admin) = &admin {
            admin.attach(processor.clone());
        }
        // The rate in the last line counts from here, not from the wait for Cassandra.
        let started = Instant::now();
        if let Some(range) = cycles.as_range() {
            processor.expect_range(range.clone());
            if let Some(admin) = &admin {
                admin.expect(workload, range);
            }
        }
        if let Some(ms) = args.kill_every {
            let n = processor.partitions().len();
            let addrs: Vec<_> = processor.partitions().iter().map(|p| p.id.clone()).collect();
            let killer = processor.partitions().iter().map(|p| p.addr.clone()).collect::<Vec<_>>();
            actix::spawn(async move {
                let mut k = 0usize;
                loop {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    let i = (k.wrapping_mul(7919) + 3) % n;
                    tracing::info!(partition = %addrs[i], "fault injection: killing partition actor");
                    killer[i].do_send(crate::actors::partition::KillPartition);
                    k += 1;
                }
            });
        }
        let status = Status::new(!args.quiet && std::io::stderr().is_terminal());
        let mut ticker = tokio::time::interval(Duration::from_millis(if status.tty { 1000 } else { 5000 }));
        let done = async {
            match cycles.as_range() {
                Some(_) => processor.finished().await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(done);
        let interrupted = loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break true,
                _ = &mut done => break false,
                _ = ticker.tick() => if !args.quiet { status.print(&processor, gen_counters.lines_served()) },
            }
        };
        if interrupted {
            eprintln!("\ninterrupted: committing what was read");
            processor.drain().await;
        } else {
            processor.flush().await;
            if let Some(admin) = &admin {
                admin.settle();
            }
        }
        let snaps = processor.snapshots();
        let committed: u64 = snaps.iter().map(|s| s.committed_offset).sum();
        let restarts: u64 = snaps.iter().map(|s| s.restarts).sum();
        let secs = started.elapsed().as_secs_f64();
        if status.tty {
            eprintln!();
        }
        println!(
            "demo done: {committed} events committed by {} partitions in {secs:.1} s ({:.0} events/s), {restarts} restarts, {} keys",
            snaps.len(),
            committed as f64 / secs.max(1e-9),
            processor.totals.len()
        );
        if args.hold && !interrupted {
            if let Some(admin) = &admin {
                eprintln!("holding: the console stays up at {} until Ctrl-C", admin.console_url());
            }
            let _ = tokio::signal::ctrl_c().await;
            processor.drain().await;
        }
        shutdown.cancel();
        Ok::<_, anyhow::Error>(ExitCode::SUCCESS)
    });
    // Every way out of the processor above (done, interrupted, or an error while
    // starting) ends the generator too; otherwise this would wait for it forever.
    shutdown.cancel();
    let _ = io.block_on(gen_task);
    io.shutdown_timeout(Duration::from_secs(2));
    code
}

/// The live one-line status.
struct Status {
    tty: bool,
    last: std::cell::Cell<(Instant, Progress)>,
}

/// Cumulative counts the status line is computed from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Progress {
    read: u64,
    committed: u64,
}

impl Status {
    fn new(tty: bool) -> Self {
        Status {
            tty,
            last: std::cell::Cell::new((Instant::now(), Progress::default())),
        }
    }

    fn print(&self, processor: &Processor, served: u64) {
        let snaps = processor.snapshots();
        let now = Progress {
            read: snaps.iter().map(|s| s.offset).sum(),
            committed: snaps.iter().map(|s| s.committed_offset).sum(),
        };
        let restarts: u64 = snaps.iter().map(|s| s.restarts).sum();
        let inflight: u64 = snaps.iter().map(|s| s.uncommitted_epochs).sum();
        let (at, before) = self.last.get();
        self.last.set((Instant::now(), now));
        let line = format!(
            "{} | served {served} | uncommitted epochs {inflight} | restarts {restarts} | keys {}",
            progress_line(before, now, at.elapsed()),
            processor.totals.len()
        );
        if self.tty {
            eprint!("\r{line}   ");
        } else {
            eprintln!("{line}");
        }
    }
}

/// The head of the status line. The headline rate is what was committed (durable
/// in Cassandra) over the interval; the read rate comes second, since lines read
/// but not committed are not yet anywhere.
fn progress_line(before: Progress, now: Progress, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let rate = |a: u64, b: u64| a.saturating_sub(b) as f64 / secs;
    format!(
        "{:>10.0} events/s committed | read {:.0} events/s | committed {} | read {}",
        rate(now.committed, before.committed),
        rate(now.read, before.read),
        now.committed,
        now.read
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_headline_rate_is_the_committed_rate() {
        let before = Progress {
            read: 1_000_000,
            committed: 500_000,
        };
        // 200 000 lines read in one second, nothing committed: the headline says 0.
        let stalled = Progress {
            read: 1_200_000,
            committed: 500_000,
        };
        assert_eq!(
            progress_line(before, stalled, Duration::from_secs(1)),
            "         0 events/s committed | read 200000 events/s | committed 500000 | read 1200000"
        );
        let flowing = Progress {
            read: 1_300_000,
            committed: 800_000,
        };
        assert_eq!(
            progress_line(before, flowing, Duration::from_secs(2)),
            "    150000 events/s committed | read 150000 events/s | committed 800000 | read 1300000"
        );
    }
}
