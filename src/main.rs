use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vpcep_operator::commands::{self, import::ImportOptions, plan::PlanOptions};
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
    /// Show what applying manifests would do to the cloud, without writing anything (for a
    /// pull request: `kustomize build | vpcep-operator plan -f -`).
    Plan(Box<PlanOptions>),
    /// Write manifests that adopt an account's endpoint services and endpoints as they are.
    Import(Box<ImportOptions>),
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

/// Logs to stderr: JSON when not on a terminal (for log collectors), filtered by `RUST_LOG`, else
/// at `level`.
fn init_tracing(level: &str) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
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
    init_tracing("info");
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime
        .block_on(vpcep_operator::controller::run(opts))
        .map_err(|e| e.to_string())
}

/// Runs a read-only command; returns its exit code.
fn command(
    run: impl std::future::Future<Output = Result<u8, commands::CommandError>>,
) -> Result<u8, String> {
    // The command's output is what it prints; its logs only warn.
    init_tracing("warn");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(run).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Crds { no_cel, out_dir } => crds(no_cel, out_dir).map(|()| 0),
        Command::Run(opts) => run(*opts).map(|()| 0),
        Command::Plan(opts) => command(commands::plan::run(*opts)),
        Command::Import(opts) => command(commands::import::run(*opts)),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
