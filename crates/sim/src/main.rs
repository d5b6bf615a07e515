//! `vpcep-sim`: a local stand-in for the VPCEP and IAM APIs (see docs/simulator.md).

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use vpcep_sim::{SimArgs, run};

#[tokio::main]
async fn main() -> ExitCode {
    // Logs go to stderr: stdout carries only the start-up lines that scripts read.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match run(SimArgs::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vpcep-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
