//! `ssa run`: the processor on the partitions of the configuration, until Ctrl-C
//! or SIGTERM (graceful: commits, then exits), or until every source has ended
//! with `--exit-when-done`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::cassandra::Startup;
use crate::cli::{init_tracing, GlobalArgs};
use crate::config::{ConfigError, Overrides, SinkKind};
use crate::processor::Processor;
use crate::runtime::io_runtime;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Where rows go: cassandra (default) or none.
    #[arg(long, value_enum)]
    pub sink: Option<SinkKind>,
    /// Address of the admin API and /metrics (overrides admin.listen); port 0 picks a free one.
    #[arg(long, value_name = "ADDR")]
    pub admin_listen: Option<String>,
    /// Exit once every partition's source has ended and all is committed.
    #[arg(long)]
    pub exit_when_done: bool,
    /// Start this partition of [[partitions]] over from offset 0 under its configured
    /// identity: its checkpoints, intents, rows and dead letters are deleted and its
    /// counts leave the totals. Needed after changing a partition's source kind,
    /// mode, format, index or count. Repeatable.
    #[arg(long = "reset-partition", value_name = "ID")]
    pub reset_partitions: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: RunArgs) -> anyhow::Result<ExitCode> {
    let config = global.load_config(Overrides {
        sink: args.sink,
        admin_listen: args.admin_listen.clone(),
        ..Overrides::default()
    })?;
    // With the admin API on, partitions can also be added at run time.
    if config.partitions.is_empty() && !config.admin.enabled {
        return Err(ConfigError::Invalid {
            key: "partitions".into(),
            message: "no partitions configured; add [[partitions]] entries (or enable the admin API and POST /partitions)".into(),
        }
        .into());
    }
    if let Some(id) = args
        .reset_partitions
        .iter()
        .find(|id| !config.partitions.iter().any(|p| &p.id == *id))
    {
        return Err(ConfigError::Invalid {
            key: "--reset-partition".into(),
            message: format!("no partition `{id}` in [[partitions]]"),
        }
        .into());
    }
    init_tracing(&config.log.level);
    let io = io_runtime()?;
    let system = actix::System::new();
    let code = system.block_on(async {
        // The admin API serves from the start: /health answers and /ready says
        // what start-up waits for (e.g. a Cassandra node that is down).
        let startup = Startup::new();
        let admin = crate::admin::start_if_enabled(&config, &startup)?;
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let processor = tokio::select! {
            p = Processor::start_waiting(config, io.handle().clone(), startup.clone(), &args.reset_partitions) => Arc::new(p?),
            _ = tokio::signal::ctrl_c() => return Ok(stopped_while_starting(&startup)),
            _ = term.recv() => return Ok(stopped_while_starting(&startup)),
        };
        if let Some(admin) = &admin {
            admin.attach(processor.clone());
        }
        processor.start_cluster();
        tracing::info!(
            partitions = processor.partitions().len(),
            "processor running"
        );
        let done = async {
            match args.exit_when_done {
                true => processor.finished().await,
                false => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            _ = done => {
                processor.flush().await;
                if let Some(cluster) = &processor.cluster {
                    cluster.leave(&processor.io).await;
                }
                tracing::info!("every source ended and is committed");
                return Ok(ExitCode::SUCCESS);
            }
        }
        tracing::info!("stopping: committing what was read");
        processor.drain().await;
        Ok::<_, anyhow::Error>(ExitCode::SUCCESS)
    });
    io.shutdown_timeout(Duration::from_secs(2));
    code
}

/// Ctrl-C or SIGTERM before the processor started: nothing was read, nothing to commit.
pub fn stopped_while_starting(startup: &Startup) -> ExitCode {
    tracing::info!(status = %startup.get(), "stopping before the processor started");
    ExitCode::SUCCESS
}
