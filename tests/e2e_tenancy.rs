//! End to end, tenancy: what a namespace user can and cannot make the operator do (issue 12 and
//! the threat model in README.md's security section). Real kube-apiserver, operator binary,
//! vpcep-sim. Each concern is a module of its own under tests/e2e_tenancy/.

mod support;

#[path = "e2e_tenancy/acceptance.rs"]
mod acceptance;
#[path = "e2e_tenancy/adoption.rs"]
mod adoption;
#[path = "e2e_tenancy/deletion.rs"]
mod deletion;
#[path = "e2e_tenancy/endpoints.rs"]
mod endpoints;
#[path = "e2e_tenancy/leader.rs"]
mod leader;
#[path = "e2e_tenancy/names.rs"]
mod names;
