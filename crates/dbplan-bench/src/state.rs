//! `state [N...]`: the local (sled) and the PostgreSQL state side by side, at each size: the plan
//! (measured like `plan`, in a fresh process per run, reading the state from each backend), the
//! open of a writer (the lock and the verified read of N records), the lock alone (an empty
//! state), and the cost of a write per resource (one commit per resource, and one commit of all
//! of them). The PostgreSQL server is a throwaway one on this machine with `fsync` on, reached
//! over loopback TCP without TLS.

use crate::{Stage, change_one_percent, fleet, measure_on, record_applied};
use dbplan_state::{
    Exported, PgLocation, ResourceState, SerialChoice, StateChange, StateLocation, StateStore,
};
use std::time::{Duration, Instant};

/// How many single-resource commits are timed at most (the cost per resource is their mean).
const SINGLE_COMMITS: usize = 500;

fn postgres_url(server: &dbplan_testkit::PgServer, state: &str) -> String {
    format!(
        "postgres://{}@127.0.0.1:{}/postgres?sslmode=disable&password_env=DBPLAN_BENCH_PG_PASSWORD&state={state}",
        dbplan_testkit::SUPERUSER,
        server.port
    )
}

/// The variable the URL names for the password: set for the plan's child processes, read
/// here in-process.
const PASSWORD_VARIABLE: &str = "DBPLAN_BENCH_PG_PASSWORD";

fn location(url: &str) -> anyhow::Result<StateLocation> {
    let location = PgLocation::parse(url, &|name| {
        if name == PASSWORD_VARIABLE {
            Some(dbplan_testkit::SUPERUSER_PASSWORD.to_owned())
        } else {
            std::env::var(name).ok()
        }
    })?;
    Ok(StateLocation::Postgres(Box::new(location)))
}

/// The median of `runs` timings of `work`.
fn median(runs: usize, mut work: impl FnMut() -> anyhow::Result<Duration>) -> anyhow::Result<f64> {
    let mut times = (0..runs.max(1))
        .map(|_| work().map(|elapsed| elapsed.as_secs_f64()))
        .collect::<anyhow::Result<Vec<f64>>>()?;
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// The records of `snapshot`, as changes to write again under other addresses' order.
fn records(location: &StateLocation) -> anyhow::Result<Vec<ResourceState>> {
    let read = location
        .read("dbplan-bench")?
        .ok_or_else(|| anyhow::anyhow!("the benchmark's state was not created"))?;
    Ok(read.snapshot.resources.into_values().collect())
}

/// Seconds per resource: `count` single-resource commits, then one commit of all of them, on
/// a fresh state at `target`.
fn write_costs(target: &StateLocation, resources: &[ResourceState]) -> anyhow::Result<(f64, f64)> {
    let single = resources.len().min(SINGLE_COMMITS);
    let store = target.open("dbplan-bench")?;
    let started = Instant::now();
    for resource in &resources[..single] {
        store.put(resource)?;
    }
    let per_single = started.elapsed().as_secs_f64() / single.max(1) as f64;
    let changes: Vec<StateChange> = resources.iter().cloned().map(StateChange::Put).collect();
    let started = Instant::now();
    store.write_batch(&changes)?;
    let per_batched = started.elapsed().as_secs_f64() / resources.len().max(1) as f64;
    store.close()?;
    Ok((per_single, per_batched))
}

fn print_row(size: usize, backend: &str, what: &str, figure: String) {
    println!("state    {size:>6} documents  {backend:<10}  {what:<44} {figure}");
}

/// Prints the figures of both backends at each size.
// Long: the set-up of one size (fleet, sled state, its copy in PostgreSQL), then each figure for
// both backends in the same order, so that their rows sit side by side.
pub fn compare(sizes: &[usize], runs: usize) -> anyhow::Result<()> {
    let server =
        dbplan_testkit::PgServer::start_durable().map_err(|error| anyhow::anyhow!("{error}"))?;
    for &size in sizes {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir(dir.path().join("manifests"))?;
        let documents = fleet(size, &dir.path().join("manifests"))?;
        record_applied(dir.path())?;
        change_one_percent(dir.path(), documents)?;
        let local = StateLocation::Local(dir.path().join("state"));
        let read = local
            .read("dbplan-bench")?
            .ok_or_else(|| anyhow::anyhow!("the benchmark's state was not created"))?;
        let objects = read.snapshot.resources.len();
        let url = postgres_url(&server, &format!("plan-{size}"));
        let postgres = location(&url)?;
        postgres.replace(
            "dbplan-bench",
            &Exported::from_read(&read)?,
            SerialChoice::Keep,
            true,
        )?;
        let local_text = dir.path().join("state").display().to_string();
        for (backend, state) in [("sled", local_text.as_str()), ("postgres", url.as_str())] {
            measure_on(
                Stage::Plan,
                dir.path(),
                Some((
                    state,
                    &[(PASSWORD_VARIABLE, dbplan_testkit::SUPERUSER_PASSWORD)],
                )),
                &format!("{documents:>6} documents  {backend:<10}"),
                runs,
            )?;
        }
        for (backend, state) in [("sled", &local), ("postgres", &postgres)] {
            let open = median(runs, || {
                let started = Instant::now();
                state.open("dbplan-bench")?.close()?;
                Ok(started.elapsed())
            })?;
            print_row(
                size,
                backend,
                &format!("open for writing ({objects} records)"),
                format!("median {:>8.1} ms", open * 1000.0),
            );
        }
        let resources = records(&local)?;
        for backend in ["sled", "postgres"] {
            let fresh = match backend {
                "sled" => StateLocation::Local(dir.path().join(format!("writes-{size}"))),
                _ => location(&postgres_url(&server, &format!("writes-{size}")))?,
            };
            let lock = median(runs, || {
                let started = Instant::now();
                fresh.open("dbplan-bench")?.close()?;
                Ok(started.elapsed())
            })?;
            print_row(
                size,
                backend,
                "lock alone (open and close an empty state)",
                format!("median {:>8.1} ms", lock * 1000.0),
            );
            let (single, batched) = write_costs(&fresh, &resources)?;
            print_row(
                size,
                backend,
                &format!(
                    "write, one commit per resource (first {})",
                    resources.len().min(SINGLE_COMMITS)
                ),
                format!("{:>8.1} µs per resource", single * 1e6),
            );
            print_row(
                size,
                backend,
                &format!("write, one commit of {} resources", resources.len()),
                format!("{:>8.1} µs per resource", batched * 1e6),
            );
        }
    }
    Ok(())
}
