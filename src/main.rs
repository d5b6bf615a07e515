use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vpcep_operator::controller::RunOptions;

/// Kubernetes operator for Open Telekom Cloud / Huawei Cloud VPC Endpoints.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controller (reconciles VpcEndpointService and VpcEndpoint objects).
    Run(Box<RunOptions>),
    /// Print the CustomResourceDefinitions as multi-document YAML.
    Crds {
        /// Leave out the CEL rules (x-kubernetes-validations), for clusters older than 1.25.
        #[arg(long)]
        no_cel: bool,
        /// Write one file per CRD into this directory instead of printing them.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

fn crds(no_cel: bool, out_dir: Option<PathBuf>) -> Result<(), String> {
    let docs = vpcep_api::crdgen::documents(!no_cel)
        .map_err(|e| format!("cannot render the CRDs: {e}"))?;
    match out_dir {
        None => docs.iter().for_each(|(_, doc)| print!("{doc}")),
        Some(dir) => {
            for (file, doc) in &docs {
                let path = dir.join(file);
                std::fs::write(&path, doc)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// Logs to stderr: JSON when not on a terminal (for log collectors), filtered by `RUST_LOG`.
fn init_tracing() {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        builder.init();
    } else {
        builder.json().flatten_event(true).init();
    }
}

fn run(opts: RunOptions) -> Result<(), String> {
    init_tracing();
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime
        .block_on(vpcep_operator::controller::run(opts))
        .map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Crds { no_cel, out_dir } => crds(no_cel, out_dir),
        Command::Run(opts) => run(*opts),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
