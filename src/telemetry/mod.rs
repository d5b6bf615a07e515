//! What the operator tells the outside: Prometheus metrics, health endpoints, and the leader
//! election that decides which replica acts.

pub mod leader;
mod metrics;
mod server;

pub use metrics::{Metrics, ReconcileTimer};
pub use server::{Health, serve};
