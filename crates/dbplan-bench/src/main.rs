//! Benchmarks of dbplan's stages on generated fleets. Prints figures; asserts nothing.
//!
//! `cargo run --release -p dbplan-bench -- validate 10 1000 10000` generates, for each size, a
//! fleet of that many manifest documents (a mix of Aurora stacks and DigitalOcean clusters, see
//! [`fleet`]), then measures loading + validation + graph building in a fresh child process per
//! run (so peak memory is the run's own) and prints the median wall time of several runs and the
//! peak resident memory.
//!
//! `generate N DIR` only writes the fleet (for measuring the `dbplan` binary by hand).

use anyhow::{Context, bail};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// One Aurora stack: a VPC, a security group, an Aurora cluster (expanding into security group,
/// subnet group, parameter group and cluster) and a Serverless v2 instance: 4 documents.
fn aurora_stack(out: &mut String, index: usize) {
    let _ = write!(
        out,
        r#"apiVersion: aws.project-planton.org/v1
kind: AwsVpc
metadata: {{name: vpc-{index}}}
spec:
  vpcCidr: 10.{octet}.0.0/16
  availabilityZones: [us-east-1a, us-east-1b, us-east-1c]
  subnetsPerAvailabilityZone: 1
  subnetSize: 256
---
apiVersion: aws.project-planton.org/v1
kind: AwsSecurityGroup
metadata: {{name: app-{index}}}
spec:
  vpcId: {{valueFrom: {{kind: AwsVpc, name: vpc-{index}}}}}
  description: application tier {index}
---
apiVersion: aws.project-planton.org/v1
kind: AwsRdsCluster
metadata: {{name: aurora-{index}, labels: {{env: prod}}}}
spec:
  engine: aurora-postgresql
  engineVersion: "16.4"
  subnetIds:
    - valueFrom: {{kind: AwsVpc, name: vpc-{index}, fieldPath: "status.outputs.private_subnets.[*].id"}}
  securityGroupIds:
    - valueFrom: {{kind: AwsSecurityGroup, name: app-{index}}}
  vpcId: {{valueFrom: {{kind: AwsVpc, name: vpc-{index}}}}}
  manageMasterUserPassword: true
  storageEncrypted: true
  deletionProtection: true
  backupRetentionPeriod: 14
  preferredBackupWindow: "03:00-03:30"
  preferredMaintenanceWindow: "sun:05:00-sun:05:30"
  finalSnapshotIdentifier: aurora-{index}-final
  iamDatabaseAuthenticationEnabled: true
  copyTagsToSnapshot: true
  enabledCloudwatchLogsExports: [postgresql]
  serverlessV2Scaling: {{minCapacity: 0.5, maxCapacity: 16}}
  parameters:
    - {{name: log_min_duration_statement, value: "500", applyMethod: immediate}}
---
apiVersion: dbplan.io/v1
kind: AwsRdsClusterInstance
metadata: {{name: aurora-{index}-writer}}
spec:
  cluster: {{valueFrom: {{kind: AwsRdsCluster, name: aurora-{index}}}}}
  instanceClass: db.serverless
---
"#,
        octet = index % 250,
    );
}

/// One DigitalOcean stack: a VPC, a PostgreSQL cluster, its firewall and a pool: 4 documents.
fn digital_ocean_stack(out: &mut String, index: usize) {
    let _ = write!(
        out,
        r#"apiVersion: digital-ocean.project-planton.org/v1
kind: DigitalOceanVpc
metadata: {{name: do-vpc-{index}}}
spec: {{region: nyc3, ipRangeCidr: 10.{octet}.0.0/20}}
---
apiVersion: digital-ocean.project-planton.org/v1
kind: DigitalOceanDatabaseCluster
metadata: {{name: do-pg-{index}}}
spec:
  clusterName: do-pg-{index}
  engine: pg
  engineVersion: "16"
  region: nyc3
  sizeSlug: db-s-2vcpu-4gb
  nodeCount: 2
  vpc: {{valueFrom: {{kind: DigitalOceanVpc, name: do-vpc-{index}}}}}
  maintenanceWindow: {{day: tuesday, hour: "02:00"}}
---
apiVersion: dbplan.io/v1
kind: DigitalOceanDatabaseFirewall
metadata: {{name: do-pg-{index}-firewall}}
spec:
  cluster_id: {{valueFrom: {{name: do-pg-{index}}}}}
  rules: [{{type: ip_addr, value: 10.{octet}.0.0/20}}]
---
apiVersion: dbplan.io/v1
kind: DigitalOceanDatabaseConnectionPool
metadata: {{name: do-pg-{index}-pool}}
spec:
  cluster_id: {{valueFrom: {{name: do-pg-{index}}}}}
  name: app-pool
  mode: transaction
  size: 20
  db: defaultdb
---
"#,
        octet = index % 250,
    );
}

/// Writes a fleet of `resources` documents (rounded up to whole stacks of 4), alternating Aurora
/// and DigitalOcean stacks, 100 stacks per file.
pub fn fleet(resources: usize, dir: &Path) -> anyhow::Result<usize> {
    let stacks = resources.div_ceil(4).max(1);
    let mut written = 0;
    for (file_index, chunk_start) in (0..stacks).step_by(100).enumerate() {
        let mut text = String::new();
        for index in chunk_start..(chunk_start + 100).min(stacks) {
            if index % 2 == 0 {
                aurora_stack(&mut text, index);
            } else {
                digital_ocean_stack(&mut text, index);
            }
            written += 4;
        }
        std::fs::write(dir.join(format!("fleet-{file_index:04}.yaml")), text)?;
    }
    Ok(written)
}

/// Peak resident set size of this process, from /proc (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

/// One measured run (in the child process): prints `seconds peak_kib resources errors`.
fn run_once(dir: &Path) -> anyhow::Result<()> {
    let start = Instant::now();
    let (set, mut diagnostics) = dbplan_manifest::load_paths(&[dir.to_path_buf()]);
    let (graph, graph_diagnostics) = dbplan_graph::build(&set);
    diagnostics.extend(graph_diagnostics);
    let levels = graph.levels().len();
    let elapsed = start.elapsed().as_secs_f64();
    let errors = dbplan_diagnostics::Summary::of(&diagnostics).error;
    println!(
        "{elapsed} {} {} {errors} {levels}",
        peak_rss_kib().unwrap_or(0),
        set.resources.len()
    );
    Ok(())
}

fn measure(resources: usize, runs: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let documents = fleet(resources, dir.path())?;
    let exe = std::env::current_exe()?;
    let mut times = Vec::new();
    let mut peaks = Vec::new();
    let mut last = String::new();
    for _ in 0..runs {
        let output = Command::new(&exe)
            .arg("run-once")
            .arg(dir.path())
            .output()?;
        if !output.status.success() {
            bail!("run failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        last = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let fields: Vec<&str> = last.split_whitespace().collect();
        times.push(fields.first().context("time")?.parse::<f64>()?);
        peaks.push(fields.get(1).context("peak")?.parse::<u64>()?);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let fields: Vec<&str> = last.split_whitespace().collect();
    println!(
        "validate  {documents:>6} documents  {:>6} resources  median {:>8.1} ms  min {:>8.1} ms  max {:>8.1} ms  peak RSS {:>7.1} MiB  errors {}  levels {}",
        fields.get(2).unwrap_or(&"?"),
        median * 1000.0,
        times[0] * 1000.0,
        times[times.len() - 1] * 1000.0,
        peaks.iter().copied().max().unwrap_or(0) as f64 / 1024.0,
        fields.get(3).unwrap_or(&"?"),
        fields.get(4).unwrap_or(&"?"),
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run-once") => run_once(&PathBuf::from(args.get(1).context("run-once DIR")?)),
        Some("generate") => {
            let count: usize = args.get(1).context("generate N DIR")?.parse()?;
            let dir = PathBuf::from(args.get(2).context("generate N DIR")?);
            std::fs::create_dir_all(&dir)?;
            let written = fleet(count, &dir)?;
            eprintln!("wrote {written} documents to {}", dir.display());
            Ok(())
        }
        Some("validate") => {
            let runs: usize = std::env::var("DBPLAN_BENCH_RUNS")
                .ok()
                .and_then(|runs| runs.parse().ok())
                .unwrap_or(7);
            let sizes: Vec<usize> = args[1..]
                .iter()
                .map(|size| size.parse())
                .collect::<Result<_, _>>()?;
            let sizes = if sizes.is_empty() {
                vec![10, 1_000, 10_000]
            } else {
                sizes
            };
            for size in sizes {
                measure(size, runs)?;
            }
            Ok(())
        }
        _ => bail!("usage: dbplan-bench validate [N...] | generate N DIR | run-once DIR"),
    }
}
