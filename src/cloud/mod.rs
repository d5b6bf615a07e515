//! The VPCEP API client: wire models, errors, authentication, rate limiting and retries.

pub mod api;
pub mod auth;
mod client;
pub mod error;
mod metrics;
pub mod model;
pub mod retry;
pub mod signer;

pub use client::{ClientBuildError, ClientSettings, VpcepClient};
pub use error::{CloudError, ErrorKind};
pub use metrics::CloudMetrics;
