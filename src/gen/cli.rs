//! `ssa gen`: the command-line arguments and what running them does.

use std::io::{IsTerminal, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::cycles::CycleRange;
use super::error::GenError;
use super::server::{serve, ServeCounters, ServeMode, ServeOptions, DEFAULT_REQUEST_TIMEOUT};
use super::words::Words;
use super::workload::{KeyMode, Workload, WorkloadOptions, DEFAULT_TS_START_MS};
use crate::format::Format;

/// Arguments of `ssa gen`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct GenArgs {
    /// Address to serve on (host:port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7000", value_parser = parse_listen)]
    pub listen: SocketAddr,
    /// shared: each line to one client (NoSQLBench tcpserver); partitioned: clients
    /// send `SUBSCRIBE <p> <P> <offset>` and can replay.
    #[arg(long, value_enum, default_value_t = ServeMode::Shared)]
    pub mode: ServeMode,
    /// Cycles to generate: `A..B` (half-open) or `A..` (endless).
    #[arg(long, value_name = "A..B", default_value = "0..")]
    pub cycles: CycleRange,
    /// Events per second over all clients; 0 = as fast as possible.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub rate: u64,
    #[command(flatten)]
    pub workload: WorkloadFlags,
    /// Print the expected rollups of `--cycles` as CSV instead of serving.
    #[arg(long)]
    pub truth: bool,
    /// No progress on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

impl GenArgs {
    /// The workload these arguments describe.
    pub fn workload(&self) -> Result<Workload, GenError> {
        self.workload.workload()
    }
}

/// The flags that define a workload; `ssa demo` and `ssa verify` take the same.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct WorkloadFlags {
    /// Number of franchises (sources); franchise_id depends on cycle mod sources.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub sources: u64,
    /// Line format.
    #[arg(long, value_enum, default_value_t = Format::Seed)]
    pub format: Format,
    /// bounded: event_name is a word of the list; unbounded: a UUID per event;
    /// revisit:FRACTION: unbounded, but that fraction of events takes the key of an
    /// earlier event of the same source.
    #[arg(long, value_name = "MODE", default_value_t = KeyMode::Bounded)]
    pub keys: KeyMode,
    /// Word list, one word per line (default: the built-in list of 100 words).
    #[arg(long, value_name = "FILE")]
    pub words: Option<PathBuf>,
    /// Event time of cycle 0, Unix milliseconds (csv and json).
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_TS_START_MS, allow_negative_numbers = true)]
    pub ts_start_ms: i64,
    /// Event time step per cycle, milliseconds (csv and json).
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 1,
        allow_negative_numbers = true
    )]
    pub ts_step_ms: i64,
}

impl WorkloadFlags {
    /// The workload these flags describe.
    pub fn workload(&self) -> Result<Workload, GenError> {
        let words = match &self.words {
            Some(path) => Words::from_file(path)?,
            None => Words::default(),
        };
        Workload::new(WorkloadOptions {
            sources: self.sources,
            keys: self.keys,
            format: self.format,
            words,
            ts_start_ms: self.ts_start_ms,
            ts_step_ms: self.ts_step_ms,
        })
    }
}

/// Resolves `--listen` (an IP:port or host:port) to one socket address.
fn parse_listen(value: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = value.parse() {
        return Ok(addr);
    }
    value
        .to_socket_addrs()
        .map_err(|e| format!("not a socket address (host:port): {e}"))?
        .next()
        .ok_or_else(|| "resolves to no address".to_string())
}

/// Runs `ssa gen` on a runtime of its own; call it outside any async runtime.
pub fn run(args: GenArgs) -> anyhow::Result<()> {
    if args.truth {
        return print_truth(&args);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_async(args))
}

/// Runs `ssa gen` on the caller's runtime. Ends on Ctrl-C, or when a finite range
/// is done in shared mode.
pub async fn run_async(args: GenArgs) -> anyhow::Result<()> {
    if args.truth {
        return print_truth(&args);
    }
    let workload = args.workload()?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot bind --listen {}", args.listen))?;
    let opts = ServeOptions {
        workload: Arc::new(workload),
        mode: args.mode,
        cycles: args.cycles,
        rate: args.rate,
        request_timeout: DEFAULT_REQUEST_TIMEOUT,
        counters: Arc::default(),
    };
    let counters = opts.counters.clone();
    let shutdown = CancellationToken::new();
    let on_ctrl_c = shutdown.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
        }
    });
    let progress = (!args.quiet && std::io::stderr().is_terminal())
        .then(|| tokio::spawn(show_progress(counters.clone(), shutdown.clone())));
    let served = serve(listener, opts, shutdown.clone()).await;
    shutdown.cancel();
    if let Some(progress) = progress {
        let _ = progress.await;
    }
    let stats = served.with_context(|| format!("serving on {}", args.listen))?;
    if !args.quiet {
        eprintln!(
            "served {} lines ({} bytes) to {} clients",
            stats.lines_served, stats.bytes_served, stats.clients_total
        );
    }
    Ok(())
}

fn print_truth(args: &GenArgs) -> anyhow::Result<()> {
    let range = args
        .cycles
        .as_range()
        .ok_or_else(|| GenError::EndlessTruth(args.cycles.to_string()))?;
    let truth = args.workload()?.truth(range);
    let stdout = std::io::stdout();
    match truth.write_csv(std::io::BufWriter::new(stdout.lock())) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write the truth to stdout")
        }
        _ => Ok(()),
    }
}

/// Once a second, overwrites one stderr line with the rate and totals.
async fn show_progress(counters: Arc<ServeCounters>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = (tokio::time::Instant::now(), 0u64);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => break,
        }
        let now = tokio::time::Instant::now();
        let served = counters.lines_served();
        let secs = now.duration_since(last.0).as_secs_f64().max(1e-9);
        let rate = (served - last.1) as f64 / secs;
        last = (now, served);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{:.0} lines/s, {} lines served, {} clients",
            rate,
            served,
            counters.clients_connected()
        );
        let _ = err.flush();
    }
    let _ = writeln!(std::io::stderr());
}
