//! `ssa schema [--apply]`: print the CQL schema or apply it.

use std::process::ExitCode;

use anyhow::Context;

use crate::cassandra::{self, schema};
use crate::cli::{init_tracing, GlobalArgs};
use crate::config::Overrides;

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Apply the schema to the cluster instead of printing it.
    #[arg(long)]
    pub apply: bool,
}

pub fn run(global: &GlobalArgs, args: SchemaArgs) -> anyhow::Result<ExitCode> {
    let config = global.load_config(Overrides::default())?;
    if !args.apply {
        print!("{}", schema::script(&config.cassandra));
        return Ok(ExitCode::SUCCESS);
    }
    init_tracing(&config.log.level);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let started = std::time::Instant::now();
        let session = cassandra::connect(&config.cassandra).await?;
        schema::apply(&session, &config.cassandra).await?;
        println!(
            "schema v{} applied to keyspace {} ({}) in {:.1} s",
            schema::SCHEMA_VERSION,
            config.cassandra.keyspace,
            config.cassandra.contact_points.join(", "),
            started.elapsed().as_secs_f64()
        );
        Ok(ExitCode::SUCCESS)
    })
}
