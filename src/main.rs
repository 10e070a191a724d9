//! Temporary entry point: only `ssa gen`, until the real CLI lands.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "ssa", about = "Simple Streaming Analytics")]
struct Cli {
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Subcommand)]
enum Verb {
    /// The deterministic data generator and TCP server.
    Gen(ssa::gen::GenArgs),
}

fn main() -> ExitCode {
    let Verb::Gen(args) = Cli::parse().verb;
    match ssa::gen::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
