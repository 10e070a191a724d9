//! The `ssa` command line: global flags shared by every verb, and dispatch.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands;
use crate::config::{self, log_directives, Config, Overrides};

/// Simple Streaming Analytics: exact, live rollups from event streams into Cassandra.
#[derive(Debug, Parser)]
#[command(name = "ssa", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags accepted by every verb.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Configuration file (TOML); see config/default.toml for every key.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Cassandra contact point; repeat for several nodes.
    #[arg(long = "contact-point", global = true, value_name = "HOST:PORT")]
    pub contact_points: Vec<String>,
    /// Keyspace holding ssa's tables.
    #[arg(long, global = true, value_name = "NAME")]
    pub keyspace: Option<String>,
}

impl GlobalArgs {
    /// Loads the layered configuration with these flags on top.
    pub fn load_config(&self, extra: Overrides) -> Result<Config, config::ConfigError> {
        let overrides = Overrides {
            contact_points: self.contact_points.clone(),
            keyspace: self.keyspace.clone(),
            ..extra
        };
        config::load(self.config.as_deref(), &overrides)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the deterministic workload over TCP, or print its ground truth.
    Gen(crate::gen::GenArgs),
    /// Run the processor on the partitions of the configuration.
    Run(commands::run::RunArgs),
    /// Generator and processor in one process against the local node.
    Demo(commands::demo::DemoArgs),
    /// Compare Cassandra's contents with the generator's ground truth.
    Verify(commands::verify::VerifyArgs),
    /// Print the CQL schema, or apply it with --apply.
    Schema(commands::schema::SchemaArgs),
}

/// Parses the command line, runs the verb and maps its outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Gen(args) => crate::gen::run(args).map(|()| ExitCode::SUCCESS),
        Command::Run(args) => commands::run::run(&cli.global, args),
        Command::Demo(args) => commands::demo::run(&cli.global, args),
        Command::Verify(args) => commands::verify::run(&cli.global, args),
        Command::Schema(args) => commands::schema::run(&cli.global, args),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<config::ConfigError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Installs the `tracing` subscriber on stderr (`RUST_LOG` wins over `log.level`).
/// Colour codes only when stderr is a terminal and `NO_COLOR` is not set, so a log
/// file holds plain text. The driver's control-connection failures are not logged:
/// a failed connect is reported once by ssa's own error, which names the cause, and
/// failed writes later are logged where they are retried.
pub fn init_tracing(level: &str) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| level.to_string());
    // Quiet defaults first, so the operator's own directives for these targets win.
    // actix-http logs every malformed request from any client at ERROR; the admin
    // server logs them itself at debug.
    const QUIET: &str =
        "scylla=warn,scylla::cluster::metadata::cc_establisher=off,actix_http::h1::dispatcher=off";
    let filter = log_directives(&filter);
    let filter = tracing_subscriber::EnvFilter::try_new(format!("{QUIET},{filter}"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{QUIET},{level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(use_colour())
        .with_writer(std::io::stderr)
        .try_init();
}

/// Whether stderr is a terminal that wants colour.
pub fn use_colour() -> bool {
    use std::io::IsTerminal as _;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
