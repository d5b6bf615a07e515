//! vpcep-operator: the controller that reconciles `VpcEndpointService` and `VpcEndpoint` objects
//! with the VPCEP API. The CRD types live in `vpcep-api`, the client in `vpcep-cloud`; see
//! ARCHITECTURE.md for the map.

pub mod commands;
pub mod controller;
pub mod telemetry;
