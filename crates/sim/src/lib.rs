//! The VPCEP + IAM simulator behind `vpcep-sim` (see docs/simulator.md).

mod app;
mod auth;
mod config;
mod control;
mod counters;
mod error;
mod faults;
mod flavour;
mod iam;
pub mod id_token;
mod ops;
mod persist;
mod query;
mod routes;
mod server;
mod state;
mod tags;
mod validate;
mod view;
mod wire;

use std::io::Write;
use std::sync::Arc;

use tokio::net::TcpListener;

pub use config::{ConfigError, SimArgs};
pub use flavour::Flavour;
pub use persist::PersistError;

use crate::app::App;
use crate::faults::FaultBook;
use crate::state::Store;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    State(#[from] PersistError),
    #[error("cannot write to stdout: {0}")]
    Stdout(std::io::Error),
}

/// A seed for the fault dice when none is configured.
fn clock_seed() -> u64 {
    jiff::Timestamp::now().as_nanosecond() as u64
}

/// A simulator bound to its address, not serving yet.
pub struct Bound {
    listener: TcpListener,
    app: Arc<App>,
    /// `http://ADDR` of the listener.
    pub url: String,
}

/// A look into a running simulator for the tests that start it in-process.
#[derive(Clone)]
pub struct Probe {
    app: Arc<App>,
}

impl Probe {
    /// The requests so far for operations that the simulated cloud does not have (answered as
    /// unknown paths), by operation name.
    pub fn unsupported_calls(&self) -> Vec<(&'static str, u64)> {
        self.app.unsupported_calls().into_iter().collect()
    }
}

impl Bound {
    /// A probe of this simulator.
    pub fn probe(&self) -> Probe {
        Probe {
            app: self.app.clone(),
        }
    }

    /// Serves until the future is dropped (or the process ends).
    pub async fn serve(self) {
        server::serve(self.listener, routes::router(self.app)).await;
    }
}

/// Loads the state and binds the listener of `args`; nothing is printed. Tests start an
/// in-process simulator this way, on `127.0.0.1:0`.
pub async fn bind(args: SimArgs) -> Result<Bound, SimError> {
    let settings = args.settings()?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|source| SimError::Listen {
            addr: args.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SimError::Listen {
        addr: args.listen,
        source,
    })?;
    let store = match &args.state_file {
        Some(path) => persist::load(path)?.map(|mut store| {
            store.reseed_public(settings.flavour, &settings.region);
            store
        }),
        None => None,
    }
    .unwrap_or_else(|| Store::new(settings.flavour, &settings.region));
    let seed = args.fault_seed.unwrap_or_else(clock_seed);
    let url = format!("http://{addr}");
    let app = Arc::new(App::new(
        settings,
        url.clone(),
        store,
        FaultBook::new(args.faults, seed),
        seed,
        args.state_file,
    ));
    Ok(Bound { listener, app, url })
}

/// Binds, prints the default account (when no `--account` is given) and `listening on
/// http://ADDR` once ready, and serves until the process ends.
pub async fn run(args: SimArgs) -> Result<(), SimError> {
    let default_account = args.accounts.is_empty();
    let bound = bind(args).await?;
    let mut out = std::io::stdout().lock();
    if default_account {
        let a = &bound.app.settings.accounts[0];
        writeln!(
            out,
            "default account: domain_name={} domain_id={} project_id={} access_key={} secret_key={}",
            a.domain_name, a.domain_id, a.project_id, a.access_key, a.secret_key
        )
        .map_err(SimError::Stdout)?;
    }
    writeln!(out, "listening on {}", bound.url).map_err(SimError::Stdout)?;
    out.flush().map_err(SimError::Stdout)?;
    drop(out);
    bound.serve().await;
    Ok(())
}
