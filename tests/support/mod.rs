//! What the integration tests share. A test crate declares `mod support;` and uses its part:
//! `sim` (the simulator in-process and clients of it), `cluster` (the API server of
//! `KUBECONFIG`, kubectl and the operator binary), `fixtures` (manifests, polling, child
//! processes) and `openapi` (a checker of CRD schemas).
// Each test crate uses a different part of these modules.
#![allow(dead_code)]

pub mod cluster;
pub mod fixtures;
pub mod openapi;
pub mod sim;
