//! `dbplan-fake-digitalocean --listen 127.0.0.1:PORT`: the fake DigitalOcean API as a server, so
//! that the DigitalOcean examples can be applied by hand without an account:
//!
//! ```text
//! cargo run -p dbplan-testkit --bin dbplan-fake-digitalocean -- --listen 127.0.0.1:8089
//! DIGITALOCEAN_API_URL=http://127.0.0.1:8089 DIGITALOCEAN_TOKEN=any dbplan apply examples/digitalocean-pgbouncer
//! ```

use clap::Parser;
use dbplan_testkit::digitalocean::{FakeConfig, FakeDigitalOcean, Faults};
use std::time::Duration;

/// A stateful fake of DigitalOcean's database and VPC API, for trying dbplan without an account.
#[derive(Parser, Debug)]
#[command(name = "dbplan-fake-digitalocean", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8089")]
    listen: String,
    /// The only bearer token accepted; any non-empty token when omitted.
    #[arg(long, env = "DBPLAN_FAKE_DIGITALOCEAN_TOKEN")]
    token: Option<String>,
    /// Seconds a new cluster stays `creating`.
    #[arg(long, default_value_t = 5.0)]
    create_delay: f64,
    /// Seconds a resized cluster stays `resizing`.
    #[arg(long, default_value_t = 3.0)]
    resize_delay: f64,
    /// Milliseconds added to every request.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of requests (0 to 1) that get a 429 or 5xx instead of their answer.
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Seed of the fault draws.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Start without a default VPC in each region (the first VPC made in a region becomes its
    /// default, which DigitalOcean never deletes).
    #[arg(long)]
    no_default_vpcs: bool,
}

fn seconds(value: f64) -> Duration {
    Duration::try_from_secs_f64(value.max(0.0)).unwrap_or_default()
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if !(0.0..=1.0).contains(&args.fault_rate) {
        eprintln!("error: --fault-rate must be between 0 and 1");
        return std::process::ExitCode::from(2);
    }
    let config = FakeConfig {
        token: args.token,
        create_delay: seconds(args.create_delay),
        resize_delay: seconds(args.resize_delay),
        latency: Duration::from_millis(args.latency_ms),
        faults: Faults {
            rate: args.fault_rate,
            seed: args.seed,
            ..Faults::default()
        },
        default_vpcs: !args.no_default_vpcs,
        sql: None,
    };
    let fake = match FakeDigitalOcean::start_on(&args.listen, config) {
        Ok(fake) => fake,
        Err(error) => {
            eprintln!("error: {error}");
            return std::process::ExitCode::from(1);
        }
    };
    eprintln!(
        "fake DigitalOcean API listening on {}\n  export DIGITALOCEAN_API_URL={} DIGITALOCEAN_TOKEN=<any token>\n  stats: GET {}/_fake/stats; stop with Ctrl-C",
        fake.address(),
        fake.url(),
        fake.url()
    );
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let waiter = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async {
            let _ = tokio::signal::ctrl_c().await;
        });
        let _ = stop.send(());
    });
    let _ = stopped.recv();
    drop(waiter);
    drop(fake);
    std::process::ExitCode::SUCCESS
}
