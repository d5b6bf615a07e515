use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Kubernetes operator for Open Telekom Cloud / Huawei Cloud VPC Endpoints.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    let docs = vpcep_operator::api::crdgen::documents(!no_cel)
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Crds { no_cel, out_dir } => crds(no_cel, out_dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
