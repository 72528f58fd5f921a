//! `kubernetes [N...]`: `N` CloudNativePG clusters (the `CnpgCluster` of
//! `examples/cnpg-home`, renamed: Cluster, ObjectStore, ScheduledBackup, a Database and a
//! connection Secret each) applied by the release `dbplan` binary to the fake Kubernetes API
//! server (in this process; its simulated operator makes each object ready at its next pass,
//! every 20 ms) at parallelism 1 and 10, then planned again with refresh: wall time and the
//! API requests each command made, counted by the fake. Then `dbplan render` of 1,000
//! clusters (offline: no state, no cluster).

use crate::apply::{run_dbplan, run_dbplan_with_code};
use anyhow::{Context, bail};
use dbplan_testkit::kubernetes::{FakeConfig, FakeKubernetes};
use std::path::Path;
use std::time::Duration;

/// The example's `CnpgCluster` document (its first; the tenant database after it is left out).
fn example_cluster() -> anyhow::Result<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("examples/cnpg-home/cluster.yaml"))?;
    let cluster = text
        .split("\n---\n")
        .next()
        .context("the example's first document")?;
    if !cluster.contains("kind: CnpgCluster") || !cluster.contains("name: home-pg\n") {
        bail!("examples/cnpg-home/cluster.yaml no longer starts with the CnpgCluster home-pg");
    }
    Ok(cluster.to_owned())
}

/// `count` renamed copies of the cluster (`home-pg-0`, `home-pg-1`, ...: its objects, backup
/// path and connection secret follow the name), 100 per file.
fn write_clusters(cluster: &str, count: usize, dir: &Path) -> anyhow::Result<()> {
    for (file, start) in (0..count).step_by(100).enumerate() {
        let text: Vec<String> = (start..(start + 100).min(count))
            .map(|index| cluster.replace("home-pg", &format!("home-pg-{index}")))
            .collect();
        std::fs::write(
            dir.join(format!("clusters-{file:03}.yaml")),
            text.join("\n---\n") + "\n",
        )?;
    }
    Ok(())
}

fn milliseconds(time: Duration) -> f64 {
    time.as_secs_f64() * 1000.0
}

pub fn measure(sizes: &[usize]) -> anyhow::Result<()> {
    let cluster = example_cluster()?;
    for &count in sizes {
        for parallelism in [1, 10] {
            // A fresh API server per run: the requests counted are this run's own.
            let fake = FakeKubernetes::start(FakeConfig {
                status_delay: Duration::ZERO,
                ..FakeConfig::default()
            })
            .map_err(|error| anyhow::anyhow!("{error}"))?;
            let dir = tempfile::tempdir()?;
            let kubeconfig = dir.path().join("kubeconfig");
            fake.write_kubeconfig(&kubeconfig)?;
            let namespace = fake
                .call(
                    "PATCH",
                    "/api/v1/namespaces/databases?fieldManager=dbplan-bench",
                    Some("application/apply-patch+yaml"),
                    Some(r#"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "databases"}}"#),
                )
                .map_err(|error| anyhow::anyhow!("{error}"))?;
            if namespace.status >= 300 {
                bail!("creating the namespace: {}", namespace.text);
            }
            let manifests = dir.path().join("manifests");
            std::fs::create_dir(&manifests)?;
            write_clusters(&cluster, count, &manifests)?;
            let env = [("KUBECONFIG", kubeconfig.display().to_string())];
            let parallelism_text = parallelism.to_string();
            let before = fake.stats().requests;
            let apply = run_dbplan(
                &env,
                dir.path(),
                &[
                    "apply",
                    "manifests",
                    "--auto-approve",
                    "--parallelism",
                    &parallelism_text,
                ],
            )?;
            let applied = fake.stats().requests - before;
            let before = fake.stats().requests;
            let (plan, code) = run_dbplan_with_code(
                &env,
                dir.path(),
                &["plan", "manifests", "--detailed-exitcode"],
            )?;
            let planned = fake.stats().requests - before;
            if code != 0 {
                bail!("the plan after the apply has changes (exit {code})");
            }
            println!(
                "kubernetes {count:>4} clusters ({:>4} objects)  parallelism {parallelism:>2}  apply {:>9.1} ms ({:>5} requests, {:>4.1} per cluster)  plan with refresh {:>8.1} ms ({:>4} requests)",
                count * 5,
                milliseconds(apply),
                applied,
                applied as f64 / count as f64,
                milliseconds(plan),
                planned,
            );
        }
    }
    let dir = tempfile::tempdir()?;
    let manifests = dir.path().join("manifests");
    std::fs::create_dir(&manifests)?;
    let rendered = 1_000;
    write_clusters(&cluster, rendered, &manifests)?;
    let render = run_dbplan(
        &[],
        dir.path(),
        &["render", "manifests", "--out", "rendered"],
    )?;
    let files = std::fs::read_dir(dir.path().join("rendered/databases"))?.count();
    println!(
        "kubernetes render {rendered} clusters  {files} files  {:>9.1} ms",
        milliseconds(render)
    );
    Ok(())
}
