#![doc = include_str!("../README.md")]

pub mod api;
pub mod auth;
mod client;
pub mod clouds_yaml;
pub mod config;
pub mod error;
pub mod inventory;
mod metrics;
pub mod model;
pub mod retry;

pub use client::{
    ClientBuildError, ClientSettings, DEFAULT_USER_AGENT, Fence, MAX_BODY_BYTES, MAX_PAGES,
    RateLimit, VpcepClient,
};
pub use error::{CloudError, ErrorKind};
pub use metrics::CloudMetrics;
