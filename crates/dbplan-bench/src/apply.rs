//! Apply benchmarks.
//!
//! `apply-fake [N...]`: the engine alone, against the fake provider with a fixed latency per
//! operation, on a DAG of known shape: chains of depth [`DEPTH`], `N / DEPTH` of them. With
//! parallelism at least the number of chains, no schedule can finish in less than the critical
//! path, `DEPTH × latency`; with parallelism `P`, not in less than
//! `DEPTH × ⌈chains / P⌉ × latency`. The figure that matters is how far above that bound the
//! engine lands (scheduling, state writes, task overhead).
//!
//! `apply-postgres [N...]`: `N` tenant databases (role, database with an extension, connection
//! secret) applied to a throwaway PostgreSQL server at parallelism 1, 4 and 10.
//!
//! `aws [N...]`: `N` Aurora stacks applied by the `dbplan` release binary to a moto server at
//! parallelism 1 and 10, then planned again with refresh; wall times, and the API calls each
//! made (counted in moto's request log).

use anyhow::{Context, bail};
use dbplan_core::{Kind, ResourceAddress, Value};
use dbplan_engine::{ApplyOptions, Silent};
use dbplan_plan::{Desired, OutputRef};
use dbplan_provider::{FakeProvider, Providers};
use dbplan_state::{SledStore, StateStore};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The depth of every chain: the critical path, in operations.
pub const DEPTH: usize = 5;

fn chain_object(chain: usize, level: usize) -> Desired {
    let kind = Kind::DigitalOceanVpc;
    let name = format!("c{chain}-l{level}");
    let mut attributes = BTreeMap::new();
    attributes.insert("size".to_owned(), Value::String("s".to_owned()));
    let mut references = BTreeMap::new();
    let mut dependencies = Vec::new();
    if level > 0 {
        let parent = ResourceAddress::new(kind, format!("c{chain}-l{}", level - 1));
        attributes.insert("parent".to_owned(), Value::Unknown);
        references.insert(
            "parent".to_owned(),
            OutputRef {
                address: parent.clone(),
                output: "id".to_owned(),
            },
        );
        dependencies.push(parent);
    }
    Desired {
        address: ResourceAddress::new(kind, name),
        attributes,
        references,
        secrets: BTreeMap::new(),
        dependencies,
        lifecycle: Default::default(),
        waivers: BTreeMap::new(),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// One apply of the chains against a fresh state; the wall time of the engine.
fn fake_once(
    objects: usize,
    parallelism: usize,
    latency: Duration,
) -> anyhow::Result<(Duration, usize)> {
    let chains = (objects / DEPTH).max(1);
    let desired: Vec<Desired> = (0..DEPTH)
        .flat_map(|level| (0..chains).map(move |chain| chain_object(chain, level)))
        .collect();
    let dir = tempfile::tempdir()?;
    let store = SledStore::open(dir.path(), "dbplan-bench")?;
    let plan = dbplan_plan::plan_objects(&desired, &store.snapshot()?, false);
    let fake = FakeProvider::new("fake", [Kind::DigitalOceanVpc]);
    fake.set_latency(latency);
    let providers = Arc::new(Providers::new().with(fake));
    let runtime = runtime()?;
    let options = ApplyOptions {
        parallelism,
        observer: Arc::new(Silent),
        ..ApplyOptions::default()
    };
    let started = Instant::now();
    let report = runtime.block_on(dbplan_engine::apply(&plan, store, providers, options))?;
    let elapsed = started.elapsed();
    if !report.is_complete() {
        bail!("the synthetic apply did not complete: {report:?}");
    }
    Ok((elapsed, report.succeeded()))
}

pub fn fake(sizes: &[usize], runs: usize) -> anyhow::Result<()> {
    let latency = Duration::from_millis(
        std::env::var("DBPLAN_BENCH_LATENCY_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .unwrap_or(50),
    );
    for &objects in sizes {
        let chains = (objects / DEPTH).max(1);
        let mut settings = vec![chains];
        if chains > 10 && objects <= 1_000 {
            settings.push(10);
        }
        for parallelism in settings {
            let bound = latency * u32::try_from(DEPTH * chains.div_ceil(parallelism))?;
            let mut times = Vec::new();
            let mut applied = 0;
            for _ in 0..runs {
                let (time, done) = fake_once(objects, parallelism, latency)?;
                times.push(time);
                applied = done;
            }
            let median = median(times);
            println!(
                "apply-fake  {applied:>6} objects  {chains:>5} chains × depth {DEPTH}  parallelism {parallelism:>5}  latency {:>3} ms  bound {:>8.1} ms  median {:>8.1} ms  over bound {:>5.1}%",
                latency.as_millis(),
                bound.as_secs_f64() * 1000.0,
                median.as_secs_f64() * 1000.0,
                (median.as_secs_f64() / bound.as_secs_f64() - 1.0) * 100.0,
            );
        }
    }
    Ok(())
}

fn tenants_manifest(port: u16, prefix: &str, tenants: usize) -> String {
    let mut text = format!(
        "apiVersion: dbplan.io/v1\nkind: PostgresServer\nmetadata:\n  name: bench\n  annotations:\n    dbplan.io/waive.DB204: \"throwaway server on the loopback interface of the test machine\"\nspec:\n  host: 127.0.0.1\n  port: {port}\n  adminUser: {}\n  adminPassword: {{secretEnv: PG_ADMIN_PASSWORD}}\n  sslmode: disable\n",
        dbplan_testkit::SUPERUSER
    );
    for index in 0..tenants {
        text.push_str(&format!(
            "---\napiVersion: dbplan.io/v1\nkind: TenantDatabase\nmetadata:\n  name: {prefix}{index}\nspec:\n  server: bench\n  extensions: [pgcrypto]\n  connectionSecret: {{file: secrets/{prefix}{index}.env}}\n"
        ));
    }
    text
}

pub fn postgres(sizes: &[usize]) -> anyhow::Result<()> {
    let server = dbplan_testkit::PgServer::start().map_err(|error| anyhow::anyhow!("{error}"))?;
    let runtime = runtime()?;
    let env: dbplan_provider_postgres::Env = Arc::new(|name| {
        (name == "PG_ADMIN_PASSWORD").then(|| dbplan_testkit::SUPERUSER_PASSWORD.to_owned())
    });
    for &tenants in sizes {
        for parallelism in [1, 4, 10] {
            let prefix = format!("b{tenants}p{parallelism}t");
            let dir = tempfile::tempdir()?;
            let manifest = dir.path().join("tenants.yaml");
            std::fs::write(&manifest, tenants_manifest(server.port, &prefix, tenants))?;
            let (set, diagnostics) = dbplan_manifest::load_paths(&[manifest]);
            let (graph, graph_diagnostics) = dbplan_graph::build(&set);
            if let Some(error) = diagnostics
                .iter()
                .chain(&graph_diagnostics)
                .find(|diagnostic| diagnostic.severity == dbplan_diagnostics::Severity::Error)
            {
                bail!("the generated manifest is invalid: {error:?}");
            }
            let store = SledStore::open(&dir.path().join("state"), "dbplan-bench")?;
            let snapshot = store.snapshot()?;
            let lookup = |name: &str| env(name);
            let planned = dbplan_plan::make_plan(&dbplan_plan::PlanRequest {
                set: &set,
                graph: &graph,
                state: &snapshot,
                refreshed: None,
                pack: &dbplan_policy::Pack::builtin(),
                options: dbplan_policy::options::Snapshot::digitalocean(),
                destroy: false,
                targets: &[],
                adopt: &[],
                env: &lookup,
                key: &store.key()?,
                admission: None,
            })?;
            let providers = Arc::new(Providers::new().with(
                dbplan_provider_postgres::PostgresProvider::with_env(Arc::clone(&env)),
            ));
            // Connection secrets are written relative to the working directory.
            let previous = std::env::current_dir()?;
            std::env::set_current_dir(dir.path())?;
            let options = ApplyOptions {
                parallelism,
                env: Arc::clone(&env),
                ..ApplyOptions::default()
            };
            let started = Instant::now();
            let report = runtime.block_on(dbplan_engine::apply(
                &planned.plan,
                store,
                providers,
                options,
            ));
            let elapsed = started.elapsed();
            std::env::set_current_dir(previous)?;
            let report = report?;
            if !report.is_complete() {
                let failure = report
                    .steps
                    .iter()
                    .find(|step| !matches!(step.result, dbplan_engine::StepResult::Done))
                    .context("a step")?;
                bail!("the apply did not complete: {failure:?}");
            }
            println!(
                "apply-postgres  {tenants:>4} tenants  {:>4} objects  parallelism {parallelism:>2}  wall {:>8.1} ms  per tenant {:>6.1} ms",
                report.steps.len(),
                elapsed.as_secs_f64() * 1000.0,
                elapsed.as_secs_f64() * 1000.0 / tenants as f64,
            );
        }
    }
    Ok(())
}

/// One Aurora stack of the example (VPC in three zones, application security group, cluster
/// with its security group, subnet group and parameter group, writer and reader), renamed.
fn aurora_stack(index: usize) -> String {
    format!(
        r#"apiVersion: aws.project-planton.org/v1
kind: AwsVpc
metadata: {{name: vpc-{index}}}
spec:
  region: us-east-1
  vpcCidr: 10.{octet}.0.0/16
  availabilityZones: [us-east-1a, us-east-1b, us-east-1c]
  subnetsPerAvailabilityZone: 1
  subnetSize: 256
---
apiVersion: aws.project-planton.org/v1
kind: AwsSecurityGroup
metadata: {{name: app-{index}}}
spec:
  region: us-east-1
  description: application tier {index}
  vpcId: {{valueFrom: {{kind: AwsVpc, name: vpc-{index}}}}}
---
apiVersion: aws.project-planton.org/v1
kind: AwsRdsCluster
metadata: {{name: aurora-{index}}}
spec:
  region: us-east-1
  engine: aurora-postgresql
  engineVersion: "16.4"
  username: app
  manageMasterUserPassword: true
  vpcId: {{valueFrom: {{kind: AwsVpc, name: vpc-{index}}}}}
  subnetIds:
    - valueFrom: {{kind: AwsVpc, name: vpc-{index}, fieldPath: "status.outputs.private_subnets.[*].id"}}
  securityGroupIds:
    - valueFrom: {{kind: AwsSecurityGroup, name: app-{index}}}
  storageEncrypted: true
  deletionProtection: true
  backupRetentionPeriod: 14
  preferredBackupWindow: "03:00-03:30"
  preferredMaintenanceWindow: "sun:05:00-sun:05:30"
  finalSnapshotIdentifier: aurora-{index}-final
  copyTagsToSnapshot: true
  iamDatabaseAuthenticationEnabled: true
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
apiVersion: dbplan.io/v1
kind: AwsRdsClusterInstance
metadata: {{name: aurora-{index}-reader}}
spec:
  cluster: {{valueFrom: {{kind: AwsRdsCluster, name: aurora-{index}}}}}
  instanceClass: db.serverless
---
"#,
        octet = index % 250
    )
}

/// `dbplan` (the release binary next to this one) with `env`, in `dir`; its wall time. Exit
/// codes 0 and 2 (changes present) are success.
pub(crate) fn run_dbplan(
    env: &[(&'static str, String)],
    dir: &std::path::Path,
    args: &[&str],
) -> anyhow::Result<Duration> {
    Ok(run_dbplan_with_code(env, dir, args)?.0)
}

/// [`run_dbplan`], with the exit code.
pub(crate) fn run_dbplan_with_code(
    env: &[(&'static str, String)],
    dir: &std::path::Path,
    args: &[&str],
) -> anyhow::Result<(Duration, i32)> {
    let exe = std::env::current_exe()?
        .parent()
        .context("the directory of dbplan-bench")?
        .join("dbplan");
    let mut command = std::process::Command::new(&exe);
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG");
    for (name, value) in env {
        command.env(name, value);
    }
    let started = Instant::now();
    let output = command
        .output()
        .with_context(|| format!("running {}", exe.display()))?;
    let elapsed = started.elapsed();
    match output.status.code() {
        Some(code @ (0 | 2)) => Ok((elapsed, code)),
        _ => bail!(
            "dbplan {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

fn api_calls(log: &std::path::Path) -> usize {
    std::fs::read_to_string(log)
        .map(|text| {
            text.lines()
                .filter(|line| line.contains("\"POST / HTTP"))
                .count()
        })
        .unwrap_or(0)
}

pub fn aws(sizes: &[usize]) -> anyhow::Result<()> {
    let logs = tempfile::tempdir()?;
    let log = logs.path().join("moto.log");
    let moto = dbplan_testkit::MotoServer::start_logging(Some(&log))
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    for &stacks in sizes {
        for parallelism in [1, 10] {
            moto.reset().map_err(|error| anyhow::anyhow!("{error}"))?;
            let dir = tempfile::tempdir()?;
            let text: String = (0..stacks).map(aurora_stack).collect();
            std::fs::write(dir.path().join("stacks.yaml"), text)?;
            let parallelism_text = parallelism.to_string();
            let calls_before = api_calls(&log);
            let apply = run_dbplan(
                &moto.env(),
                dir.path(),
                &[
                    "apply",
                    "stacks.yaml",
                    "--auto-approve",
                    "--parallelism",
                    &parallelism_text,
                ],
            )?;
            let apply_calls = api_calls(&log) - calls_before;
            let calls_before = api_calls(&log);
            let plan = run_dbplan(
                &moto.env(),
                dir.path(),
                &["plan", "stacks.yaml", "--detailed-exitcode"],
            )?;
            let plan_calls = api_calls(&log) - calls_before;
            println!(
                "aws  {stacks:>4} stacks  parallelism {parallelism:>2}  apply {:>8.1} ms ({:>4} API calls, {:>5.1} per stack)  plan with refresh {:>8.1} ms ({:>4} calls, {:>4.1} per stack)",
                apply.as_secs_f64() * 1000.0,
                apply_calls,
                apply_calls as f64 / stacks as f64,
                plan.as_secs_f64() * 1000.0,
                plan_calls,
                plan_calls as f64 / stacks as f64,
            );
        }
    }
    Ok(())
}

/// The production DigitalOcean example (`examples/digitalocean-postgres`: the VPC, the
/// three-node cluster with its trusted sources and pool) applied by the release `dbplan` binary
/// to the fake DigitalOcean API (started here, clusters online at once) with 0 and 50 ms added
/// to every request, at parallelism 1 and 10, then planned again with refresh: wall time and
/// the requests each command made. `copies` > 1 applies that many renamed copies at once.
pub fn digitalocean(copies: &[usize]) -> anyhow::Result<()> {
    use dbplan_testkit::digitalocean::{FakeConfig, FakeDigitalOcean};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let example = root.join("examples/digitalocean-postgres");
    let vpc = std::fs::read_to_string(example.join("vpc.yaml"))?;
    let production = std::fs::read_to_string(example.join("production.yaml"))?;
    let fake = FakeDigitalOcean::start(FakeConfig {
        create_delay: Duration::ZERO,
        resize_delay: Duration::ZERO,
        ..FakeConfig::default()
    })
    .map_err(|error| anyhow::anyhow!("{error}"))?;
    let env = [
        ("DIGITALOCEAN_API_URL", fake.url()),
        ("DIGITALOCEAN_TOKEN", "bench-token".to_owned()),
    ];
    for &count in copies {
        for latency in [0, 50] {
            for parallelism in [1, 10] {
                fake.reset();
                fake.set_latency(Duration::from_millis(latency));
                let dir = tempfile::tempdir()?;
                for copy in 0..count {
                    // Copies differ in names and VPC range; the first is the example itself.
                    let rename = |text: &str| {
                        if copy == 0 {
                            return text.to_owned();
                        }
                        text.replace("production-vpc", &format!("production-vpc-{copy}"))
                            .replace("prod-postgres", &format!("prod-postgres-{copy}"))
                            .replace("10.20.0.0/20", &format!("10.{}.0.0/20", 20 + copy))
                    };
                    std::fs::write(dir.path().join(format!("vpc-{copy}.yaml")), rename(&vpc))?;
                    std::fs::write(
                        dir.path().join(format!("production-{copy}.yaml")),
                        rename(&production),
                    )?;
                }
                let parallelism_text = parallelism.to_string();
                let before = fake.stats().requests;
                let apply = run_dbplan(
                    &env,
                    dir.path(),
                    &[
                        "apply",
                        ".",
                        "--auto-approve",
                        "--parallelism",
                        &parallelism_text,
                    ],
                )?;
                let applied = fake.stats().requests - before;
                let before = fake.stats().requests;
                let plan = run_dbplan(&env, dir.path(), &["plan", ".", "--detailed-exitcode"])?;
                let planned = fake.stats().requests - before;
                println!(
                    "digitalocean {count:>3} × production example ({:>3} objects)  latency {latency:>2} ms  parallelism {parallelism:>2}  apply {:>8.1} ms ({:>4} requests)  plan with refresh {:>7.1} ms ({:>3} requests)",
                    count * 4,
                    apply.as_secs_f64() * 1000.0,
                    applied,
                    plan.as_secs_f64() * 1000.0,
                    planned,
                );
            }
        }
    }
    Ok(())
}
