//! `dbplan-fake-kubernetes --listen 127.0.0.1:PORT --kubeconfig PATH`: the fake Kubernetes API
//! server, with a kubeconfig for it (context `dbplan-fake`), so that `kubectl` and dbplan's
//! Kubernetes provider can be tried without a cluster:
//!
//! ```text
//! dbplan-fake-kubernetes --listen 127.0.0.1:6443 --kubeconfig /tmp/fake.kubeconfig &
//! kubectl --kubeconfig /tmp/fake.kubeconfig apply --server-side -f cluster.yaml
//! ```
//!
//! It serves CloudNativePG's CRDs (those dbplan-crd vendors, which also validate and default
//! each object); `--crd` files (YAML, several documents each) add more, and more can be applied
//! through the API.

use clap::Parser;
use dbplan_testkit::kubernetes::{FakeConfig, FakeKubernetes};
use serde_json::Value as Json;
use std::time::Duration;

/// A stateful fake of the Kubernetes API server (CRDs, server-side apply, a simulated
/// CloudNativePG operator), for trying dbplan without a cluster.
#[derive(Parser, Debug)]
#[command(name = "dbplan-fake-kubernetes", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: String,
    /// Where to write the kubeconfig (server, token, context `dbplan-fake`).
    #[arg(long)]
    kubeconfig: std::path::PathBuf,
    /// The bearer token to accept; a random one when omitted.
    #[arg(long, env = "DBPLAN_FAKE_KUBERNETES_TOKEN")]
    token: Option<String>,
    /// More CustomResourceDefinition files to install at start.
    #[arg(long = "crd")]
    crds: Vec<std::path::PathBuf>,
    /// Milliseconds the simulated operator takes to make an object ready.
    #[arg(long, default_value_t = 2000)]
    status_delay_ms: u64,
    /// Refuse requests without the token (kubectl sends none to a plain-HTTP server).
    #[arg(long)]
    require_token: bool,
    /// Do not simulate the CloudNativePG operator.
    #[arg(long)]
    no_operator: bool,
}

fn read_crds(paths: &[std::path::PathBuf]) -> Result<Vec<Json>, String> {
    let mut crds = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        let documents: Vec<Json> = serde_saphyr::from_str_multiple(&text)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        crds.extend(documents.into_iter().filter(|document| {
            document.get("kind").and_then(Json::as_str) == Some("CustomResourceDefinition")
        }));
    }
    Ok(crds)
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let crds = match read_crds(&args.crds) {
        Ok(crds) => crds,
        Err(error) => {
            eprintln!("error: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    let mut config = FakeConfig {
        status_delay: Duration::from_millis(args.status_delay_ms),
        operator: !args.no_operator,
        anonymous: !args.require_token,
        ..FakeConfig::default()
    };
    config.crds.extend(crds);
    if let Some(token) = args.token {
        config.token = token;
    }
    let fake = match FakeKubernetes::start_on(&args.listen, config) {
        Ok(fake) => fake,
        Err(error) => {
            eprintln!("error: {error}");
            return std::process::ExitCode::from(1);
        }
    };
    if let Err(error) = fake.write_kubeconfig(&args.kubeconfig) {
        eprintln!("error: cannot write {}: {error}", args.kubeconfig.display());
        return std::process::ExitCode::from(1);
    }
    eprintln!(
        "fake Kubernetes API listening on {}\n  export KUBECONFIG={}\n  stats: GET {}/_fake/stats; stop with Ctrl-C",
        fake.url(),
        args.kubeconfig.display(),
        fake.url()
    );
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return std::process::ExitCode::from(1);
    };
    runtime.block_on(async {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async {
                match terminate.as_mut() {
                    Some(signal) => { signal.recv().await; }
                    None => std::future::pending::<()>().await,
                }
            } => {}
        }
    });
    drop(fake);
    std::process::ExitCode::SUCCESS
}
