//! Flags of `vpcep-operator run`, and those it shares with `plan` and `import` (each also
//! readable from the environment).

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use vpcep_cloud::config::{AllowedEndpoint, CloudKind};

#[derive(Debug, Clone, clap::Args)]
pub struct RunOptions {
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "VPCEP_NAMESPACE")]
    pub namespace: Option<String>,
    /// Reconcile only the VpcEndpointService and VpcEndpoint objects matching this label
    /// selector (e.g. `shard=a`), so that several operators can share a cluster.
    #[arg(long, env = "VPCEP_SELECTOR")]
    pub selector: Option<String>,
    /// Objects of one kind reconciled at the same time.
    #[arg(long, env = "VPCEP_CONCURRENCY", default_value_t = 8)]
    pub concurrency: u16,
    /// How often a Ready object is compared with the cloud (jittered by ±10 %).
    #[arg(long, env = "VPCEP_RESYNC_PERIOD", default_value = "10m", value_parser = humantime::parse_duration)]
    pub resync_period: Duration,
    /// How often every cloud account in use is listed: the listing finds drift and the pending
    /// endpoints of other clusters and accounts (those of this cluster wake their service at
    /// once), and answers the reconciles in between without a read per object.
    #[arg(long, env = "VPCEP_INVENTORY_PERIOD", default_value = "1m", value_parser = parse_period)]
    pub inventory_period: Duration,
    /// Address of /metrics, /healthz and /readyz (0.0.0.0:8080 in a pod).
    #[arg(long, env = "VPCEP_METRICS_ADDR", default_value = "127.0.0.1:8080")]
    pub metrics_addr: SocketAddr,
    /// Reconcile only while holding a Lease, so that several replicas can run with one acting.
    #[arg(long, env = "VPCEP_LEADER_ELECT")]
    pub leader_elect: bool,
    /// Name of the Lease.
    #[arg(long, env = "VPCEP_LEASE_NAME", default_value = "vpcep-operator")]
    pub lease_name: String,
    /// How long the Lease holds without renewal: a follower takes over at most this long after
    /// the leader died (a leader that stops on SIGTERM hands over at once).
    #[arg(long, env = "VPCEP_LEASE_DURATION", default_value = "15s", value_parser = parse_lease_duration)]
    pub lease_duration: Duration,
    /// How the operator reaches the cloud and the cluster (shared with `plan` and `import`).
    #[command(flatten)]
    pub shared: SharedOptions,
}

/// The flags `run`, `plan` and `import` share: the cloud credentials and endpoints, the accounts'
/// namespace, and what is written on cloud objects. `plan` and `import` take them so that they
/// resolve credentials exactly as the operator does.
#[derive(Debug, Clone, clap::Args)]
pub struct SharedOptions {
    /// Id written into the owner tag of every cloud object (default: the uid of the kube-system namespace).
    #[arg(long, env = "VPCEP_CLUSTER_ID")]
    pub cluster_id: Option<String>,
    /// A tag put on every cloud object (repeatable); an object's own tags win.
    #[arg(long = "default-tag", env = "VPCEP_DEFAULT_TAGS", value_delimiter = ',', value_parser = parse_tag, value_name = "KEY=VALUE")]
    pub default_tags: Vec<(String, String)>,
    /// Cloud whose default endpoints are used.
    #[arg(long, env = "VPCEP_CLOUD", value_enum, default_value_t = CloudKind::Otc)]
    pub cloud: CloudKind,
    /// VPCEP API base URL (default: derived from --cloud and --region).
    #[arg(long, env = "VPCEP_ENDPOINT")]
    pub endpoint: Option<String>,
    /// Region (also CLOUD_SDK_REGION, OS_REGION_NAME).
    #[arg(long)]
    pub region: Option<String>,
    /// Project id (also CLOUD_SDK_PROJECT_ID, OS_PROJECT_ID).
    #[arg(long)]
    pub project_id: Option<String>,
    /// Start without operator-wide credentials: only objects with credentialsSecretRef reconcile.
    #[arg(long, env = "VPCEP_NO_DEFAULT_CREDENTIALS")]
    pub no_default_credentials: bool,
    /// Sustained cloud calls per second per cloud account.
    #[arg(long, env = "VPCEP_RATE_LIMIT", default_value = "10")]
    pub rate_limit: NonZeroU32,
    /// Cloud calls allowed in a burst per cloud account.
    #[arg(long, env = "VPCEP_RATE_BURST", default_value = "20")]
    pub rate_burst: NonZeroU32,
    /// Timeout of one cloud call.
    #[arg(long, env = "VPCEP_REQUEST_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,
    /// PEM file of extra CA certificates to trust for the cloud endpoints.
    #[arg(long, env = "VPCEP_CA_BUNDLE")]
    pub ca_bundle: Option<PathBuf>,
    /// Whether objects may name a credentials Secret of their own namespace
    /// (`credentialsSecretRef`). With `--tenant-credentials=false` the operator reads Secrets
    /// only in its own namespace (those of CloudAccounts), and needs access to no other.
    #[arg(long, env = "VPCEP_TENANT_CREDENTIALS", default_value_t = true, action = clap::ArgAction::Set)]
    pub tenant_credentials: bool,
    /// The operator's own ServiceAccount (in its namespace): keyless CloudAccounts without
    /// `tokenPath` exchange tokens the API server issues for it (TokenRequest).
    #[arg(long, env = "VPCEP_SERVICE_ACCOUNT")]
    pub service_account: Option<String>,
    /// The operator's own namespace: of the Lease, and of the Secrets of CloudAccounts (default:
    /// the namespace of the kubeconfig context, or the pod's).
    #[arg(long, env = "POD_NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// A URL prefix that a namespace's credentials Secret may name as `endpoint` or
    /// `iamEndpoint` (repeatable), e.g. a private gateway: without it a Secret may only name
    /// https URLs of the cloud's documented hosts for its region. Matched by scheme, host, port
    /// and path prefix. The operator-wide --endpoint and VPCEP_IAM_ENDPOINT need none.
    #[arg(
        long = "allow-endpoint",
        env = "VPCEP_ALLOW_ENDPOINTS",
        value_delimiter = ',',
        value_name = "URL_PREFIX"
    )]
    pub allow_endpoints: Vec<AllowedEndpoint>,
}

/// Whole seconds, at least 3: the holder renews a third of the duration before expiry.
fn parse_lease_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| e.to_string())?;
    if d < Duration::from_secs(3) || d.subsec_nanos() != 0 {
        return Err(format!(
            "{s:?}: the lease duration is whole seconds, at least 3s"
        ));
    }
    Ok(d)
}

/// A period of at least one second (a shorter one would list the cloud without pause).
fn parse_period(s: &str) -> Result<Duration, String> {
    let period = humantime::parse_duration(s).map_err(|e| e.to_string())?;
    if period < Duration::from_secs(1) {
        return Err(format!("{s} is shorter than one second"));
    }
    Ok(period)
}

/// A `KEY=VALUE` tag within the cloud's limits; the operator's own keys are reserved.
fn parse_tag(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))?;
    let ok = |t: &str, max: usize| {
        t.len() <= max
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '@'))
    };
    if k.is_empty() || !ok(k, 36) || !ok(v, 43) {
        return Err(format!(
            "{s:?}: keys are 1-36 and values 0-43 characters of letters, digits, '-', '_' or '@'"
        ));
    }
    if k.starts_with(vpcep_api::RESERVED_TAG_PREFIX) {
        return Err(format!(
            "{s:?}: the prefix {} is reserved for the operator's owner tags",
            vpcep_api::RESERVED_TAG_PREFIX
        ));
    }
    Ok((k.to_string(), v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::{RunOptions, parse_lease_duration, parse_tag};
    use clap::Parser;
    use std::time::Duration;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunOptions,
    }

    #[test]
    fn allow_endpoint_is_repeatable_and_checked() {
        let cli = Cli::try_parse_from([
            "run",
            "--allow-endpoint",
            "http://127.0.0.1:8643",
            "--allow-endpoint",
            "https://gw.example/vpcep",
        ])
        .unwrap();
        let allowed: Vec<String> = cli
            .run
            .shared
            .allow_endpoints
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(
            allowed,
            ["http://127.0.0.1:8643/", "https://gw.example/vpcep"]
        );
        let err = Cli::try_parse_from(["run", "--allow-endpoint", "http://u:p@host/"])
            .err()
            .expect("user info is refused");
        assert!(err.to_string().contains("user info"), "{err}");
    }

    #[test]
    fn lease_durations_are_whole_seconds_of_at_least_three() {
        assert_eq!(parse_lease_duration("15s"), Ok(Duration::from_secs(15)));
        assert!(parse_lease_duration("2s").is_err());
        assert!(parse_lease_duration("3500ms").is_err());
        assert!(parse_lease_duration("soon").is_err());
    }

    #[test]
    fn default_tags_are_checked_like_spec_tags() {
        assert_eq!(parse_tag("env=prod"), Ok(("env".into(), "prod".into())));
        assert_eq!(parse_tag("empty="), Ok(("empty".into(), String::new())));
        assert!(parse_tag("novalue").is_err());
        assert!(parse_tag("bad key=x").is_err());
        assert!(parse_tag("vpcep-operator-uid=x").is_err());
        assert!(parse_tag(&format!("{}=x", "k".repeat(37))).is_err());
    }
}
