//! vpcep-operator: Kubernetes custom resources and a controller for Open Telekom Cloud /
//! Huawei Cloud VPC Endpoints, plus `vpcep-sim`, a local stand-in for the VPCEP API.

pub mod api;
pub mod cloud;
pub mod config;
pub mod controller;
pub mod sim;
pub mod telemetry;
