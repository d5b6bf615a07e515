//! Lists the endpoint services and endpoints of a project, with their statuses.
//!
//! The settings come from the environment as the operator reads them, e.g. against a local
//! simulator (`cargo run -p vpcep-sim` prints its default account):
//!
//! ```text
//! VPCEP_ENDPOINT=http://127.0.0.1:8080 VPCEP_REGION=eu-de VPCEP_PROJECT_ID=... \
//! VPCEP_ACCESS_KEY=... VPCEP_SECRET_KEY=... cargo run -p vpcep-cloud --example list
//! ```

use std::process::ExitCode;

use vpcep_cloud::api;
use vpcep_cloud::config::CloudSettings;
use vpcep_cloud::model::{EndpointQuery, ServiceQuery};
use vpcep_cloud::{ClientSettings, VpcepClient};

#[tokio::main]
async fn main() -> ExitCode {
    match list().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn list() -> Result<(), Box<dyn std::error::Error>> {
    let config = CloudSettings::default()
        .or_env(|name| std::env::var(name).ok())
        .resolve()?;
    let client = VpcepClient::new(&config, ClientSettings::default())?;
    let query = ServiceQuery::default();
    let services = client
        .list_all(|page| api::list_services(&query, page))
        .await?;
    for s in services {
        println!("service  {}  {:<10}  {}", s.id, s.status, s.service_name);
    }
    let query = EndpointQuery::default();
    let endpoints = client
        .list_all(|page| api::list_endpoints(&query, page))
        .await?;
    for e in endpoints {
        let ip = e.ip.as_deref().unwrap_or("-");
        println!("endpoint {}  {:<17}  {ip}", e.id, e.status);
    }
    Ok(())
}
