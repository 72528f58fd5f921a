//! Benchmarks of dbplan's stages on generated fleets. Prints figures; asserts nothing.
//!
//! `cargo run --release -p dbplan-bench -- validate 10 1000 10000` generates, for each size, a
//! fleet of that many manifest documents (a mix of Aurora stacks and DigitalOcean clusters, see
//! [`fleet`]), then measures loading + validation + graph building in a fresh child process per
//! run (so peak memory is the run's own) and prints the median wall time of several runs and the
//! peak resident memory.
//!
//! `plan 10 1000 10000` writes the same fleet, records it as applied in a sled state, changes
//! 1% of the documents, and measures `plan --offline` (load, state, diff, policies, text).
//!
//! `prepare-plan N DIR` does the same set-up in `DIR` and keeps it, for `dbplan plan
//! DIR/manifests --state DIR/state --offline` by hand.
//!
//! `generate N DIR` only writes the fleet (for measuring the `dbplan` binary by hand).
//!
//! `apply-fake 10 1000 10000`, `apply-postgres 1 50 200` and `aws 1 20 100`: see [`apply`].
//!
//! `kubernetes 1 20 100`: CloudNativePG clusters applied to the fake Kubernetes API server, and
//! `dbplan render` of 1,000 clusters; see [`kubernetes`].
//!
//! `crd 1000`: parsing the vendored CloudNativePG CRDs, compiling their validators and validating
//! 1,000 objects of each kind; see [`crd`].
//!
//! `yaml-limits`: loading 100,000 documents, 50 MB of manifests, and refusing an alias bomb,
//! deep nesting and a huge value; see [`yaml_limits`].

mod apply;
mod crd;
mod kubernetes;
mod state;
mod yaml_limits;

use anyhow::{Context, bail};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// One Aurora stack: a VPC with subnets in three zones, a security group and an Aurora cluster
/// (expanding into security group, subnet group, parameter group and cluster): 3 documents.
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
"#,
        octet = index % 250,
    );
}

/// A Serverless v2 instance of the stack's cluster: 1 document.
fn aurora_instance(out: &mut String, index: usize) {
    let _ = write!(
        out,
        r#"apiVersion: dbplan.io/v1
kind: AwsRdsClusterInstance
metadata: {{name: aurora-{index}-writer}}
spec:
  cluster: {{valueFrom: {{kind: AwsRdsCluster, name: aurora-{index}}}}}
  instanceClass: db.serverless
---
"#
    );
}

/// A DigitalOcean PostgreSQL cluster, in the stack's VPC when `in_vpc`: 1 document.
fn digital_ocean_cluster(out: &mut String, index: usize, in_vpc: bool) {
    let vpc = if in_vpc {
        format!("  vpc: {{valueFrom: {{kind: DigitalOceanVpc, name: do-vpc-{index}}}}}\n")
    } else {
        String::new()
    };
    let _ = write!(
        out,
        r#"apiVersion: digital-ocean.project-planton.org/v1
kind: DigitalOceanDatabaseCluster
metadata: {{name: do-pg-{index}}}
spec:
  clusterName: do-pg-{index}
  engine: pg
  engineVersion: "16"
  region: nyc3
  sizeSlug: db-s-2vcpu-4gb
  nodeCount: 2
{vpc}  maintenanceWindow: {{day: tuesday, hour: "02:00"}}
---
"#
    );
}

/// One DigitalOcean stack: a VPC, a PostgreSQL cluster, its firewall and a pool: 4 documents.
fn digital_ocean_stack(out: &mut String, index: usize) {
    let octet = index % 250;
    let _ = write!(
        out,
        r#"apiVersion: digital-ocean.project-planton.org/v1
kind: DigitalOceanVpc
metadata: {{name: do-vpc-{index}}}
spec: {{region: nyc3, ipRangeCidr: 10.{octet}.0.0/20}}
---
"#
    );
    digital_ocean_cluster(out, index, true);
    let _ = write!(
        out,
        r#"apiVersion: dbplan.io/v1
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
"#
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
                aurora_instance(&mut text, index);
            } else {
                digital_ocean_stack(&mut text, index);
            }
            written += 4;
        }
        std::fs::write(dir.join(format!("fleet-{file_index:04}.yaml")), text)?;
    }
    Ok(written)
}

/// The lint fleet: `stacks` Aurora stacks (VPC with subnets in three zones, security group,
/// cluster with a parameter group: 3 documents, 6 graph nodes) and `stacks` DigitalOcean
/// PostgreSQL clusters, 100 of each per file.
pub fn lint_fleet(stacks: usize, dir: &Path) -> anyhow::Result<usize> {
    let mut written = 0;
    for (file_index, chunk_start) in (0..stacks.max(1)).step_by(100).enumerate() {
        let mut text = String::new();
        for index in chunk_start..(chunk_start + 100).min(stacks.max(1)) {
            aurora_stack(&mut text, index);
            digital_ocean_cluster(&mut text, index, false);
            written += 4;
        }
        std::fs::write(dir.join(format!("lint-{file_index:04}.yaml")), text)?;
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

/// What one measured run does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Read the files and parse the YAML into spanned trees, nothing else.
    Parse,
    /// Everything `dbplan validate` does: load, check, resolve, graph.
    Validate,
    /// Everything `dbplan lint` does: validate, then every policy.
    Lint,
    /// Everything `dbplan plan --offline` does: validate, read the sled state, diff, policies,
    /// render the text; `DIR` holds `manifests/` and `state/`.
    Plan,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Parse => "parse",
            Stage::Validate => "validate",
            Stage::Lint => "lint",
            Stage::Plan => "plan",
        }
    }

    fn parse(text: &str) -> Option<Stage> {
        match text {
            "parse" => Some(Stage::Parse),
            "validate" => Some(Stage::Validate),
            "lint" => Some(Stage::Lint),
            "plan" => Some(Stage::Plan),
            _ => None,
        }
    }
}

/// One measured run (in the child process): prints `seconds peak_kib items errors`. A plan
/// reads the state at `state` (a directory or a `postgres://` URL), `DIR/state` without it.
fn run_once(stage: Stage, dir: &Path, state: Option<&str>) -> anyhow::Result<()> {
    let start = Instant::now();
    let (items, errors) = match stage {
        Stage::Parse => {
            let mut sources = dbplan_diagnostics::SourceMap::new();
            let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .collect();
            paths.sort();
            let mut documents = 0;
            let mut errors = 0;
            for path in paths {
                let file = sources.add(path.display().to_string(), std::fs::read_to_string(&path)?);
                match dbplan_manifest::parse_yaml_documents(&sources, file) {
                    Ok(nodes) => documents += nodes.len(),
                    Err(diagnostics) => errors += diagnostics.len(),
                }
            }
            (documents, errors)
        }
        Stage::Validate | Stage::Lint => {
            let (set, mut diagnostics) = dbplan_manifest::load_paths(&[dir.to_path_buf()]);
            let (graph, graph_diagnostics) = dbplan_graph::build(&set);
            diagnostics.extend(graph_diagnostics);
            let mut errors = dbplan_diagnostics::Summary::of(&diagnostics).error;
            if stage == Stage::Lint {
                let report = dbplan_policy::lint(
                    &set,
                    &graph,
                    &dbplan_policy::Pack::builtin(),
                    dbplan_policy::options::Snapshot::digitalocean(),
                );
                errors += report.counts().error;
            }
            (set.resources.len(), errors)
        }
        Stage::Plan => {
            let (set, graph, snapshot, key) = load_planned(dir, state)?;
            let planned = plan(&set, &graph, &snapshot, &key)?;
            let text = dbplan_plan::render::text(&planned.plan, Default::default());
            std::hint::black_box(text);
            let changed = planned
                .plan
                .changes
                .iter()
                .filter(|change| change.action != dbplan_core::Action::NoOp)
                .count();
            let counts = (planned.plan.changes.len(), changed);
            // As `dbplan plan` does, which exits next: left to the operating system, not freed.
            std::mem::forget((set, graph, snapshot, planned));
            counts
        }
    };
    let elapsed = start.elapsed().as_secs_f64();
    println!("{elapsed} {} {items} {errors}", peak_rss_kib().unwrap_or(0));
    Ok(())
}

/// The manifests and the recorded state of a plan benchmark directory (its state at `state`
/// when given, else in `DIR/state`).
fn load_planned(
    dir: &Path,
    state: Option<&str>,
) -> anyhow::Result<(
    dbplan_manifest::ManifestSet,
    dbplan_graph::Graph,
    dbplan_state::Snapshot,
    dbplan_state::StateKey,
)> {
    // As `dbplan plan` reads it: verified (a local state on a scratch copy), nothing written,
    // on this thread while the manifests load on another.
    let location = match state {
        Some(state) => dbplan_state::StateLocation::from_arg(Some(Path::new(state)))?,
        None => dbplan_state::StateLocation::Local(dir.join("state")),
    };
    let (read, (set, graph)) = std::thread::scope(|scope| {
        let loading = scope.spawn(|| {
            let (set, _) = dbplan_manifest::load_paths(&[dir.join("manifests")]);
            let (graph, _) = dbplan_graph::build(&set);
            (set, graph)
        });
        let read = location.read("dbplan-bench");
        match loading.join() {
            Ok(loaded) => (read, loaded),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    let read = read?.ok_or_else(|| anyhow::anyhow!("the benchmark's state was not created"))?;
    let key = match read.key {
        Some(key) => key,
        None => dbplan_state::StateKey::generate()?,
    };
    Ok((set, graph, read.snapshot, key))
}

fn plan(
    set: &dbplan_manifest::ManifestSet,
    graph: &dbplan_graph::Graph,
    snapshot: &dbplan_state::Snapshot,
    key: &dbplan_state::StateKey,
) -> anyhow::Result<dbplan_plan::Planned> {
    Ok(dbplan_plan::make_plan(&dbplan_plan::PlanRequest {
        set,
        graph,
        state: snapshot,
        refreshed: None,
        pack: &dbplan_policy::Pack::builtin(),
        options: dbplan_policy::options::Snapshot::digitalocean(),
        destroy: false,
        targets: &[],
        adopt: &[],
        env: &|_| None,
        key,
        admission: None,
    })?)
}

/// Records a plan as applied into the state, as the apply engine would: planned values,
/// references resolved to (generated) outputs, generated outputs.
fn record_applied(dir: &Path) -> anyhow::Result<()> {
    use dbplan_state::{ResourceState, StateChange, StateStore, StateValue};
    // Creates the (empty) state, with its key.
    dbplan_state::SledStore::open(&dir.join("state"), "dbplan-bench")?.close()?;
    let (set, graph, snapshot, key) = load_planned(dir, None)?;
    let planned = plan(&set, &graph, &snapshot, &key)?;
    let store = dbplan_state::SledStore::open(&dir.join("state"), "dbplan-bench")?;
    let mut changes = Vec::with_capacity(planned.plan.changes.len());
    let fake =
        |address: &dbplan_core::ResourceAddress, output: &str| format!("{output}-of-{address}");
    for change in &planned.plan.changes {
        let mut resource = ResourceState::new(change.address.clone());
        resource.provider_id = Some(format!("id-{}", change.address));
        for (name, value) in &change.after {
            let json = value.to_json_exposed();
            resource.attributes.insert(
                name.clone(),
                match value {
                    dbplan_core::Value::Sensitive(_) => StateValue::sensitive(json),
                    _ => StateValue::plain(json),
                },
            );
        }
        for (pointer, reference) in &change.references {
            let resolved: serde_json::Value = if reference.output.contains("[*]") {
                serde_json::json!([fake(&reference.address, &reference.output)])
            } else {
                fake(&reference.address, &reference.output).into()
            };
            match pointer.split_once('/') {
                None => {
                    resource
                        .attributes
                        .insert(pointer.clone(), StateValue::plain(resolved));
                }
                Some((top, _)) if reference.output.contains("[*]") => {
                    // A `[*]` item is spliced into its list: here, a list of one.
                    resource
                        .attributes
                        .insert(top.to_owned(), StateValue::plain(resolved));
                }
                Some((top, rest)) => {
                    if let Some(slot) = resource
                        .attributes
                        .get_mut(top)
                        .and_then(|value| value.value.pointer_mut(&format!("/{rest}")))
                    {
                        *slot = resolved;
                    }
                }
            }
        }
        for output in change.kind().outputs() {
            let value: serde_json::Value = if output.item_fields.is_empty() {
                fake(&change.address, output.name).into()
            } else {
                let item: serde_json::Map<String, serde_json::Value> = output
                    .item_fields
                    .iter()
                    .map(|field| {
                        (
                            (*field).to_owned(),
                            fake(&change.address, &format!("{}.[*].{field}", output.name)).into(),
                        )
                    })
                    .collect();
                serde_json::json!([item])
            };
            resource
                .outputs
                .insert(output.name.to_owned(), StateValue::plain(value));
        }
        resource.dependencies = change.dependencies.clone();
        resource.lifecycle = change.lifecycle.clone();
        changes.push(StateChange::Put(resource));
    }
    store.write_batch(&changes)?;
    store.close()?;
    Ok(())
}

/// Changes 1% of the documents (at least one): the backup retention of Aurora clusters.
fn change_one_percent(dir: &Path, documents: usize) -> anyhow::Result<usize> {
    let mut remaining = (documents / 100).max(1);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir.join("manifests"))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .collect();
    paths.sort();
    let mut changed = 0;
    for path in paths {
        let mut text = std::fs::read_to_string(&path)?;
        while remaining > 0 && text.contains("backupRetentionPeriod: 14\n") {
            text = text.replacen(
                "backupRetentionPeriod: 14\n",
                "backupRetentionPeriod: 21\n",
                1,
            );
            remaining -= 1;
            changed += 1;
        }
        std::fs::write(&path, text)?;
    }
    Ok(changed)
}

fn measure(stage: Stage, dir: &Path, label: &str, runs: usize) -> anyhow::Result<()> {
    measure_on(stage, dir, None, label, runs)
}

/// [`measure`], with a plan's state at `state`, and these variables in the runs' environment.
fn measure_on(
    stage: Stage,
    dir: &Path,
    state: Option<(&str, &[(&str, &str)])>,
    label: &str,
    runs: usize,
) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let mut times = Vec::new();
    let mut peaks = Vec::new();
    let mut last = String::new();
    for _ in 0..runs {
        let output = Command::new(&exe)
            .arg("run-once")
            .arg(stage.name())
            .arg(dir)
            .args(state.map(|(state, _)| state))
            .envs(
                state
                    .into_iter()
                    .flat_map(|(_, variables)| variables.iter().copied()),
            )
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
        "{:<8} {label}  {:>6} {}  median {:>8.1} ms  min {:>8.1} ms  max {:>8.1} ms  peak RSS {:>7.1} MiB  errors {}",
        stage.name(),
        fields.get(2).unwrap_or(&"?"),
        match stage {
            Stage::Parse => "documents",
            Stage::Plan => "objects",
            _ => "resources",
        },
        median * 1000.0,
        times[0] * 1000.0,
        times[times.len() - 1] * 1000.0,
        peaks.iter().copied().max().unwrap_or(0) as f64 / 1024.0,
        fields.get(3).unwrap_or(&"?"),
    );
    Ok(())
}

fn sizes(args: &[String]) -> anyhow::Result<Vec<usize>> {
    sizes_or(args, &[10, 1_000, 10_000])
}

/// The sizes given, else `default`.
fn sizes_or(args: &[String], default: &[usize]) -> anyhow::Result<Vec<usize>> {
    let sizes: Vec<usize> = args
        .iter()
        .map(|size| size.parse())
        .collect::<Result<_, _>>()?;
    Ok(if sizes.is_empty() {
        default.to_vec()
    } else {
        sizes
    })
}

/// `validate [N...]`: times `dbplan validate` over fleets of each size.
fn measure_validate(args: &[String], runs: usize) -> anyhow::Result<()> {
    for size in sizes(args)? {
        let dir = tempfile::tempdir()?;
        let documents = fleet(size, dir.path())?;
        measure(
            Stage::Validate,
            dir.path(),
            &format!("{documents:>6} documents"),
            runs,
        )?;
    }
    Ok(())
}

/// `lint [N...]`: times parsing, validation and lint over lint fleets of each size.
fn measure_lint(args: &[String], runs: usize) -> anyhow::Result<()> {
    for stacks in sizes(args)? {
        let dir = tempfile::tempdir()?;
        lint_fleet(stacks, dir.path())?;
        let label = format!("{stacks:>6} stacks");
        for stage in [Stage::Parse, Stage::Validate, Stage::Lint] {
            measure(stage, dir.path(), &label, runs)?;
        }
    }
    Ok(())
}

/// `prepare-plan N DIR`: a fleet of N documents recorded as applied, one percent of them
/// changed since, for timing `dbplan plan` from the shell.
fn prepare_plan(args: &[String]) -> anyhow::Result<()> {
    let count: usize = args.get(1).context("prepare-plan N DIR")?.parse()?;
    let dir = PathBuf::from(args.get(2).context("prepare-plan N DIR")?);
    std::fs::create_dir_all(dir.join("manifests"))?;
    let documents = fleet(count, &dir.join("manifests"))?;
    record_applied(&dir)?;
    let changed = change_one_percent(&dir, documents)?;
    eprintln!(
        "wrote {documents} documents to {}/manifests, recorded them in {}/state, changed {changed}",
        dir.display(),
        dir.display()
    );
    Ok(())
}

/// `plan [N...]`: times `dbplan plan` over fleets of each size, recorded as applied with one
/// percent changed.
fn measure_plan(args: &[String], runs: usize) -> anyhow::Result<()> {
    for size in sizes(args)? {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir(dir.path().join("manifests"))?;
        let documents = fleet(size, &dir.path().join("manifests"))?;
        let start = Instant::now();
        record_applied(dir.path())?;
        let changed = change_one_percent(dir.path(), documents)?;
        eprintln!(
            "setup: {documents} documents recorded as applied in {:.1} s; {changed} changed",
            start.elapsed().as_secs_f64()
        );
        measure(
            Stage::Plan,
            dir.path(),
            &format!("{documents:>6} documents"),
            runs,
        )?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs: usize = std::env::var("DBPLAN_BENCH_RUNS")
        .ok()
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(7);
    match args.first().map(String::as_str) {
        Some("run-once") => {
            let stage = args
                .get(1)
                .and_then(|stage| Stage::parse(stage))
                .context("run-once parse|validate|lint|plan DIR")?;
            run_once(
                stage,
                &PathBuf::from(args.get(2).context("run-once STAGE DIR [STATE]")?),
                args.get(3).map(String::as_str),
            )
        }
        Some(command @ ("generate" | "generate-lint")) => {
            let count: usize = args.get(1).context("generate N DIR")?.parse()?;
            let dir = PathBuf::from(args.get(2).context("generate N DIR")?);
            std::fs::create_dir_all(&dir)?;
            let written = if command == "generate" {
                fleet(count, &dir)?
            } else {
                lint_fleet(count, &dir)?
            };
            eprintln!("wrote {written} documents to {}", dir.display());
            Ok(())
        }
        Some("validate") => measure_validate(&args[1..], runs),
        Some("lint") => measure_lint(&args[1..], runs),
        Some("prepare-plan") => prepare_plan(&args),
        Some("plan") => measure_plan(&args[1..], runs),
        Some("state") => state::compare(&sizes(&args[1..])?, runs),
        Some("apply-fake") => apply::fake(&sizes(&args[1..])?, runs.min(5)),
        Some("aws") => apply::aws(&sizes_or(&args[1..], &[1, 20, 100])?),
        Some("digitalocean") => apply::digitalocean(&sizes_or(&args[1..], &[1, 10])?),
        Some("kubernetes") => kubernetes::measure(&sizes_or(&args[1..], &[1, 20, 100])?),
        Some("apply-postgres") => apply::postgres(&sizes_or(&args[1..], &[1, 50, 200])?),
        Some("crd") => {
            let objects = match args.get(1) {
                Some(objects) => objects.parse()?,
                None => 1000,
            };
            crd::measure(objects, runs)
        }
        Some("crd-once") => crd::run_once(args.get(1).context("crd-once N")?.parse()?),
        // At most three runs: one run of the 50 MB case takes seconds.
        Some("yaml-limits") => yaml_limits::measure(runs.min(3)),
        Some("yaml-limits-once") => {
            yaml_limits::run_once(Path::new(args.get(1).context("yaml-limits-once FILE")?))
        }
        _ => bail!(
            "usage: dbplan-bench yaml-limits | crd [N] | validate [N...] | lint [N...] | plan [N...] | apply-fake [N...] | apply-postgres [N...] | aws [N...] | digitalocean [COPIES...] | kubernetes [N...] | generate N DIR | generate-lint N DIR | prepare-plan N DIR | run-once STAGE DIR"
        ),
    }
}
