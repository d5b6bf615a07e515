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

use support::cluster::Env;

use support::sim::{BOB_AK, BOB_PROJECT, BOB_SK, TWO_ACCOUNTS as SIM_ARGS};

/// `yaml` with the label that a `cluster_wide` operator of `env` selects objects by.
fn labelled(env: &Env, yaml: &str) -> String {
    let (key, value) = env.scope_label();
    yaml.replacen(
        "metadata:\n",
        &format!("metadata:\n  labels:\n    {key}: {value}\n"),
        1,
    )
}

/// `yaml` with the annotation `vpcep.io/external-id: id`.
fn adopting(yaml: &str, id: &str) -> String {
    yaml.replacen(
        "metadata:\n",
        &format!("metadata:\n  annotations:\n    vpcep.io/external-id: {id:?}\n"),
        1,
    )
}
