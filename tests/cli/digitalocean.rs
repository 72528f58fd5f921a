//! The DigitalOcean provider through `dbplan` against the fake DigitalOcean API (written from
//! DigitalOcean's OpenAPI specification): the two DigitalOcean examples applied from empty,
//! drift, resize, pool and trusted-source changes, destroy, injected faults, adoption, API
//! errors, and a canary that no token or password is ever printed.

use dbplan_testkit::digitalocean::{FakeConfig, FakeDigitalOcean, Faults};
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const TOKEN: &str = "dop_v1_canary0token0that0must0never0show0b9e1";

struct Lab {
    fake: FakeDigitalOcean,
    directory: tempfile::TempDir,
}

impl Lab {
    fn new() -> Lab {
        Lab::with(FakeConfig::default())
    }

    fn with(config: FakeConfig) -> Lab {
        let config = FakeConfig {
            token: Some(TOKEN.to_owned()),
            create_delay: Duration::from_millis(400),
            resize_delay: Duration::from_millis(300),
            ..config
        };
        Lab {
            fake: FakeDigitalOcean::start(config).unwrap_or_else(|error| panic!("{error}")),
            directory: tempfile::tempdir().unwrap(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dbplan"));
        command
            .args(args)
            .current_dir(self.directory.path())
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .env_remove("DBPLAN_STATE")
            .env("DIGITALOCEAN_TOKEN", TOKEN)
            .env("DIGITALOCEAN_API_URL", self.fake.url())
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Copies an example into `directory/<name>/`, with `edit` applied to each file's text.
    fn example(&self, name: &str, edit: impl Fn(String) -> String) -> String {
        super::copy_example(name, &self.directory.path().join(name), edit);
        name.to_owned()
    }

    fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.directory.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no {from:?}");
        std::fs::write(&path, text.replace(from, to)).unwrap();
    }

    fn api(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.fake.call(method, path, body.as_ref()).unwrap()
    }

    fn clusters(&self) -> Vec<Value> {
        let (status, body) = self.api("GET", "/v2/databases", None);
        assert_eq!(status, 200, "{body}");
        body["databases"].as_array().cloned().unwrap_or_default()
    }

    fn cluster(&self, name: &str) -> Value {
        self.clusters()
            .into_iter()
            .find(|cluster| cluster["name"] == name)
            .unwrap_or_else(|| panic!("no cluster {name}"))
    }

    /// The VPCs other than the regions' defaults the fake starts with.
    fn vpcs(&self) -> Vec<Value> {
        let (_, body) = self.api("GET", "/v2/vpcs?per_page=200", None);
        body["vpcs"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|vpc| vpc["default"] != true)
            .collect()
    }

    fn get(&self, path: &str, key: &str) -> Value {
        let (status, body) = self.api("GET", path, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        body[key].clone()
    }

    /// Waits until the fake reports the cluster online again (after a resize made outside
    /// dbplan, which the fake finishes after its resize delay): polls its status, and fails
    /// the test saying so if it is not online within 60 s.
    fn wait_online(&self, name: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let status = self.cluster(name)["status"].clone();
            if status == "online" {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{name} is still {status} 60 s after its resize"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn text(output: &Output) -> String {
    format!("{}{}", super::stdout(output), super::stderr(output))
}

fn assert_code(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "{}", text(output));
}

/// Waives DB701 (deleting a cluster's data) on every cluster, so that destroy may run.
fn waived(text: String) -> String {
    text.replace(
        "kind: DigitalOceanDatabaseCluster\nmetadata:\n",
        "kind: DigitalOceanDatabaseCluster\nmetadata:\n  annotations: {\"dbplan.io/waive.DB701\": \"throwaway test cluster; platform; 2026-11-25\"}\n",
    )
}

#[test]
fn both_examples_apply_from_empty_then_plan_no_changes() {
    let lab = Lab::new();
    lab.example("digitalocean-postgres", |text| text);
    lab.example("digitalocean-pgbouncer", |text| text);
    let paths = ["digitalocean-postgres", "digitalocean-pgbouncer"];

    let applied = lab.run(&["apply", paths[0], paths[1], "--auto-approve"]);
    assert_code(&applied, 0);
    assert!(
        super::stdout(&applied).contains("Apply complete: 10 created"),
        "{}",
        text(&applied)
    );

    // What DigitalOcean now holds is what the manifests ask for.
    let vpcs = lab.vpcs();
    let production_vpc = vpcs
        .iter()
        .find(|vpc| vpc["name"] == "production-vpc")
        .expect("the production VPC");
    assert_eq!(production_vpc["ip_range"], "10.20.0.0/20");
    assert_eq!(production_vpc["region"], "nyc3");
    assert_eq!(
        production_vpc["description"],
        "Private network for production databases"
    );
    let prod = lab.cluster("prod-postgres");
    assert_eq!(prod["status"], "online");
    assert_eq!(prod["engine"], "pg");
    assert_eq!(prod["version"], "16");
    assert_eq!(prod["size"], "db-s-4vcpu-8gb");
    assert_eq!(prod["num_nodes"], 3);
    assert_eq!(prod["storage_size_mib"], 200 * 1024);
    assert_eq!(prod["private_network_uuid"], production_vpc["id"]);
    assert_eq!(prod["tags"], json!(["env-prod", "team-payments"]));
    assert_eq!(prod["maintenance_window"]["day"], "sunday");
    assert_eq!(prod["maintenance_window"]["hour"], "04:00:00");
    let dev = lab.cluster("dev-postgres");
    assert_eq!(dev["private_network_uuid"], production_vpc["id"]);
    assert_eq!(dev["num_nodes"], 1);
    let id = prod["id"].as_str().unwrap().to_owned();
    let rules = lab.get(&format!("/v2/databases/{id}/firewall"), "rules");
    let pairs: Vec<(String, String)> = rules
        .as_array()
        .unwrap()
        .iter()
        .map(|rule| (rule["type"].to_string(), rule["value"].to_string()))
        .collect();
    assert_eq!(
        pairs,
        [
            (
                "\"k8s\"".into(),
                "\"bd5f5959-5e1e-4205-a714-a914373942af\"".into()
            ),
            ("\"ip_addr\"".into(), "\"10.20.0.0/20\"".into())
        ]
    );
    let pool = lab.get(&format!("/v2/databases/{id}/pools/api"), "pool");
    assert_eq!(pool["mode"], "transaction");
    assert_eq!(pool["size"], 20);
    assert_eq!(pool["db"], "defaultdb");
    assert_eq!(pool["user"], "doadmin");

    // The pooler URI is the one applications use: the pool's, with sslmode=require.
    let uri = lab.run(&[
        "output",
        "DigitalOceanDatabaseConnectionPool/shop-db-pool",
        "uri",
        "--show-sensitive",
    ]);
    assert_code(&uri, 0);
    let shop = lab.cluster("shop-db");
    let shop_id = shop["id"].as_str().unwrap();
    let shop_pool = lab.get(&format!("/v2/databases/{shop_id}/pools/shop-pool"), "pool");
    assert_eq!(
        super::stdout(&uri).trim(),
        shop_pool["connection"]["uri"].as_str().unwrap()
    );
    assert!(super::stdout(&uri).contains(":25061/shop-pool?sslmode=require"));

    // The CA certificate is written, private, and is the cluster's.
    // Relative to the manifest that declares it.
    let ca_file = lab
        .directory
        .path()
        .join("digitalocean-pgbouncer/secrets/shop-db-ca.crt");
    let written = std::fs::read_to_string(&ca_file).unwrap();
    let encoded = lab.get(&format!("/v2/databases/{shop_id}/ca"), "ca")["certificate"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(written.starts_with("-----BEGIN CERTIFICATE-----\n"));
    assert_eq!(base64_decode(&encoded), written);
    let mode = std::fs::metadata(&ca_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // A second plan against the same API has nothing to do.
    let again = lab.run(&["plan", paths[0], paths[1], "--detailed-exitcode"]);
    assert_code(&again, 0);
    assert!(
        super::stdout(&again).contains("No changes"),
        "{}",
        text(&again)
    );

    // A deleted CA file is written again.
    std::fs::remove_file(&ca_file).unwrap();
    let repaired = lab.run(&["apply", paths[0], paths[1], "--auto-approve"]);
    assert_code(&repaired, 0);
    assert_eq!(std::fs::read_to_string(&ca_file).unwrap(), written);
}

fn base64_decode(text: &str) -> String {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn drift_resize_pool_firewall_window_and_tag_changes() {
    let lab = Lab::new();
    let example = lab.example("digitalocean-postgres", |text| text);
    assert_code(&lab.run(&["apply", &example, "--auto-approve"]), 0);
    let id = lab.cluster("prod-postgres")["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Resized outside dbplan: the plan reports the drift and sets the size back.
    let (status, body) = lab.api(
        "PUT",
        &format!("/v2/databases/{id}/resize"),
        Some(json!({"size": "db-s-6vcpu-16gb", "num_nodes": 3})),
    );
    assert_eq!(status, 202, "{body}");
    lab.wait_online("prod-postgres");
    let plan = lab.run(&["plan", &example, "--detailed-exitcode"]);
    assert_code(&plan, 2);
    let printed = super::stdout(&plan);
    assert!(
        printed.contains("DigitalOceanDatabaseCluster/prod-postgres was changed outside dbplan"),
        "{printed}"
    );
    assert!(
        printed.contains("~ size_slug = \"db-s-6vcpu-16gb\" -> \"db-s-4vcpu-8gb\""),
        "{printed}"
    );
    assert!(
        printed.contains("Plan: 0 to create, 1 to update"),
        "{printed}"
    );
    assert_code(&lab.run(&["apply", &example, "--auto-approve"]), 0);
    assert_eq!(lab.cluster("prod-postgres")["size"], "db-s-4vcpu-8gb");
    assert_eq!(lab.cluster("prod-postgres")["status"], "online");

    // A resize in the manifest: size, node count and storage in place (the same cluster).
    lab.edit(
        "digitalocean-postgres/production.yaml",
        "  sizeSlug: db-s-4vcpu-8gb\n  nodeCount: 3\n",
        "  sizeSlug: db-s-6vcpu-16gb\n  nodeCount: 2\n",
    );
    lab.edit(
        "digitalocean-postgres/production.yaml",
        "storageGib: 200",
        "storageGib: 300",
    );
    // The maintenance window, the tags, the pool and the trusted sources change too.
    lab.edit(
        "digitalocean-postgres/production.yaml",
        "    day: sunday\n    hour: \"04:00\"",
        "    day: saturday\n    hour: \"23:30\"",
    );
    lab.edit(
        "digitalocean-postgres/production.yaml",
        "  tags: [env-prod, team-payments]",
        "  tags: [env-prod, tier-1]",
    );
    lab.edit(
        "digitalocean-postgres/production.yaml",
        "  mode: transaction\n  size: 20\n",
        "  mode: session\n  size: 30\n",
    );
    lab.edit(
        "digitalocean-postgres/production.yaml",
        "    - type: ip_addr\n      value: 10.20.0.0/20\n",
        "    - type: tag\n      value: payments-api\n    - type: ip_addr\n      value: 198.51.100.7\n",
    );
    let plan = lab.run(&["plan", &example]);
    assert_code(&plan, 0);
    let printed = super::stdout(&plan);
    assert!(
        printed.contains("Plan: 0 to create, 3 to update, 0 to replace"),
        "{printed}"
    );
    let applied = lab.run(&["apply", &example, "--auto-approve"]);
    assert_code(&applied, 0);
    let prod = lab.cluster("prod-postgres");
    assert_eq!(prod["id"], id.as_str(), "resized in place");
    assert_eq!(prod["size"], "db-s-6vcpu-16gb");
    assert_eq!(prod["num_nodes"], 2);
    assert_eq!(prod["storage_size_mib"], 300 * 1024);
    assert_eq!(prod["status"], "online");
    assert_eq!(prod["maintenance_window"]["day"], "saturday");
    assert_eq!(prod["maintenance_window"]["hour"], "23:30:00");
    let mut tags: Vec<String> = serde_json::from_value(prod["tags"].clone()).unwrap();
    tags.sort();
    assert_eq!(tags, ["env-prod", "tier-1"]);
    let pool = lab.get(&format!("/v2/databases/{id}/pools/api"), "pool");
    assert_eq!(
        (pool["mode"].as_str(), pool["size"].as_i64()),
        (Some("session"), Some(30))
    );
    let rules = lab.get(&format!("/v2/databases/{id}/firewall"), "rules");
    let values: Vec<&str> = rules
        .as_array()
        .unwrap()
        .iter()
        .map(|rule| rule["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        values,
        [
            "bd5f5959-5e1e-4205-a714-a914373942af",
            "payments-api",
            "198.51.100.7"
        ]
    );
    let again = lab.run(&["plan", &example, "--detailed-exitcode"]);
    assert_code(&again, 0);

    // A pool deleted outside dbplan is created again.
    let (status, _) = lab.api("DELETE", &format!("/v2/databases/{id}/pools/api"), None);
    assert_eq!(status, 204);
    let plan = lab.run(&["plan", &example]);
    assert!(
        super::stdout(&plan).contains(
            "DigitalOceanDatabaseConnectionPool/prod-postgres-api-pool was deleted outside dbplan"
        ),
        "{}",
        text(&plan)
    );
    assert_code(&lab.run(&["apply", &example, "--auto-approve"]), 0);
    assert_eq!(
        lab.get(&format!("/v2/databases/{id}/pools/api"), "pool")["size"],
        30
    );
}

#[test]
fn destroy_deletes_pool_sources_cluster_vpc_and_certificate() {
    let lab = Lab::new();
    let example = lab.example("digitalocean-pgbouncer", waived);
    assert_code(&lab.run(&["apply", &example, "--auto-approve"]), 0);
    // Relative to the manifest that declares it.
    let ca_file = lab
        .directory
        .path()
        .join("digitalocean-pgbouncer/secrets/shop-db-ca.crt");
    assert!(ca_file.exists());
    let destroyed = lab.run(&["destroy", &example, "--auto-approve"]);
    assert_code(&destroyed, 0);
    assert!(
        super::stdout(&destroyed).contains("5 deleted"),
        "{}",
        text(&destroyed)
    );
    assert!(lab.clusters().is_empty());
    assert!(
        lab.vpcs().iter().all(|vpc| vpc["name"] != "shop-vpc"),
        "{:?}",
        lab.vpcs()
    );
    assert!(!ca_file.exists());
    let listed = lab.run(&["state", "list"]);
    assert_eq!(super::stdout(&listed).trim(), "");
}

#[test]
fn apply_survives_injected_rate_limits_and_server_errors_at_20_percent() {
    let lab = Lab::with(FakeConfig {
        faults: Faults {
            rate: 0.2,
            rate_limit: true,
            server_error: true,
            stall: None,
            seed: 20,
        },
        ..FakeConfig::default()
    });
    lab.example("digitalocean-postgres", |text| text);
    lab.example("digitalocean-pgbouncer", |text| text);
    let applied = lab.run(&[
        "apply",
        "digitalocean-postgres",
        "digitalocean-pgbouncer",
        "--auto-approve",
    ]);
    assert_code(&applied, 0);
    assert!(super::stdout(&applied).contains("Apply complete: 10 created"));
    let stats = lab.fake.stats();
    // The checks below are not dbplan's requests: no faults for them.
    let faults = Faults {
        rate: 0.2,
        rate_limit: true,
        server_error: true,
        stall: None,
        seed: 21,
    };
    lab.fake.set_faults(Faults::default());
    assert!(
        stats.faults.get("429").copied().unwrap_or(0) > 0,
        "{stats:?}"
    );
    assert!(
        stats.faults.get("500").copied().unwrap_or(0) > 0,
        "{stats:?}"
    );
    // Retried POSTs made nothing twice.
    assert_eq!(lab.clusters().len(), 3);
    assert_eq!(lab.vpcs().len(), 2);
    let id = lab.cluster("prod-postgres")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pools = lab.get(&format!("/v2/databases/{id}/pools"), "pools");
    assert_eq!(pools.as_array().unwrap().len(), 1);
    lab.fake.set_faults(faults);
    let again = lab.run(&[
        "plan",
        "digitalocean-postgres",
        "digitalocean-pgbouncer",
        "--detailed-exitcode",
    ]);
    assert_code(&again, 0);
}

#[test]
fn no_token_or_password_is_printed_even_at_trace() {
    let lab = Lab::new();
    let example = lab.example("digitalocean-pgbouncer", |text| text);
    let mut printed = String::new();
    for args in [
        vec!["apply", example.as_str(), "--auto-approve"],
        vec!["plan", example.as_str(), "--out", "saved.plan"],
        vec!["plan", example.as_str(), "--format", "json"],
        vec!["plan", example.as_str(), "--format", "markdown"],
        vec!["show", "saved.plan", "--format", "json"],
        vec!["output"],
        vec!["output", "--json"],
        vec!["state", "show", "DigitalOceanDatabaseCluster/shop-db"],
    ] {
        let output = lab
            .command(&args)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        assert_code(&output, 0);
        printed.push_str(&text(&output));
    }
    assert!(printed.contains("TRACE"), "the trace level was not on");
    printed.push_str(&std::fs::read_to_string(lab.directory.path().join("saved.plan")).unwrap());
    assert!(!printed.contains(TOKEN), "the token was printed");
    let passwords = lab.fake.passwords();
    assert!(!passwords.is_empty());
    for password in passwords {
        assert!(!printed.contains(&password), "a password was printed");
    }
}

#[test]
fn a_missing_or_refused_token_is_reported_with_the_address() {
    let lab = Lab::new();
    let example = lab.example("digitalocean-pgbouncer", |text| text);
    let missing = lab
        .command(&["apply", &example, "--auto-approve"])
        .env_remove("DIGITALOCEAN_TOKEN")
        .output()
        .unwrap();
    assert_code(&missing, 1);
    assert!(
        text(&missing).contains("DigitalOceanVpc/shop-vpc")
            && text(&missing).contains("DIGITALOCEAN_TOKEN is not set"),
        "{}",
        text(&missing)
    );
    let refused = lab
        .command(&["apply", &example, "--auto-approve"])
        .env("DIGITALOCEAN_TOKEN", "dop_v1_wrong")
        .output()
        .unwrap();
    assert_code(&refused, 1);
    let printed = text(&refused);
    assert!(
        printed.contains("DigitalOceanVpc/shop-vpc")
            && printed.contains("unauthorized: Unable to authenticate you.")
            && printed.contains("request "),
        "{printed}"
    );
    assert!(!printed.contains("dop_v1_wrong"));
    assert!(lab.vpcs().is_empty());
}

#[test]
fn an_api_refusal_names_the_resource_and_the_request() {
    let lab = Lab::new();
    let example = lab.example("digitalocean-pgbouncer", |text| {
        text.replace("  db: defaultdb\n", "  db: orders\n")
    });
    let applied = lab.run(&["apply", &example, "--auto-approve"]);
    assert_code(&applied, 1);
    let printed = text(&applied);
    assert!(
        printed.contains("DigitalOceanDatabaseConnectionPool/shop-db-pool")
            && printed.contains("HTTP 422")
            && printed.contains("unprocessable_entity: database \"orders\" does not exist"),
        "{printed}"
    );
    // The rest of the plan went through.
    assert_eq!(lab.clusters().len(), 1);
}

#[test]
fn an_existing_cluster_is_adopted_only_with_opt_in_when_it_matches_and_reported_when_not() {
    let lab = Lab::new();
    let example = lab.example("digitalocean-pgbouncer", |text| text);
    // The VPC and a matching cluster exist already, made outside dbplan.
    let (status, vpc) = lab.api(
        "POST",
        "/v2/vpcs",
        Some(json!({"name": "shop-vpc", "region": "fra1", "ip_range": "10.40.0.0/24"})),
    );
    assert_eq!(status, 201, "{vpc}");
    let (status, cluster) = lab.api(
        "POST",
        "/v2/databases",
        Some(
            json!({"name": "shop-db", "engine": "pg", "version": "17", "region": "fra1",
                    "size": "db-s-2vcpu-4gb", "num_nodes": 2,
                    "private_network_uuid": vpc["vpc"]["id"]}),
        ),
    );
    assert_eq!(status, 201, "{cluster}");
    // Without an opt-in, neither is taken over: the first plan (the token is at hand) finds
    // both, and apply is refused before anything is done, saying how to opt in.
    let refused = lab.run(&["apply", &example, "--auto-approve"]);
    assert_code(&refused, 1);
    let printed = text(&refused);
    assert!(
        printed.contains(" <= DigitalOceanVpc/shop-vpc {")
            && printed.contains(" <= DigitalOceanDatabaseCluster/shop-db {")
            && printed.contains("2 existing objects that dbplan did not create")
            && printed.contains("--adopt DigitalOceanVpc/shop-vpc"),
        "{printed}"
    );
    assert_eq!(lab.clusters().len(), 1);
    assert_eq!(lab.vpcs().len(), 1);
    // With the VPC recorded in state, refresh looks for the cluster: the plan shows it as an
    // adopt and is blocked until the cluster is opted in too.
    let vpc_only = lab.run(&[
        "apply",
        &example,
        "--auto-approve",
        "--adopt",
        "DigitalOceanVpc/shop-vpc",
        "--target",
        "DigitalOceanVpc/shop-vpc",
    ]);
    assert_code(&vpc_only, 0);
    let planned = lab.run(&["plan", &example]);
    assert_code(&planned, 1);
    let printed = text(&planned);
    assert!(
        printed.contains(" <= DigitalOceanDatabaseCluster/shop-db {")
            && printed.contains("--adopt DigitalOceanDatabaseCluster/shop-db"),
        "{printed}"
    );
    let applied = lab.run(&[
        "apply",
        &example,
        "--auto-approve",
        "--adopt",
        "DigitalOceanDatabaseCluster/shop-db",
    ]);
    assert_code(&applied, 0);
    assert_eq!(lab.clusters().len(), 1, "adopted, not created again");
    assert_eq!(lab.vpcs().len(), 1);
    let state = lab.run(&["state", "show", "DigitalOceanDatabaseCluster/shop-db"]);
    assert!(
        super::stdout(&state).contains(cluster["database"]["id"].as_str().unwrap()),
        "{}",
        text(&state)
    );
    // The maintenance window of the manifest was set on the adopted cluster.
    assert_eq!(
        lab.cluster("shop-db")["maintenance_window"]["day"],
        "tuesday"
    );

    // Another project's cluster of the same name but another size is not taken over.
    let other = Lab::new();
    let example = other.example("digitalocean-pgbouncer", |text| text);
    let (status, body) = other.api(
        "POST",
        "/v2/databases",
        Some(
            json!({"name": "shop-db", "engine": "pg", "version": "17", "region": "fra1",
                    "size": "db-s-1vcpu-2gb", "num_nodes": 1}),
        ),
    );
    assert_eq!(status, 201, "{body}");
    let refused = other.run(&[
        "apply",
        &example,
        "--auto-approve",
        "--adopt",
        "DigitalOceanDatabaseCluster/shop-db",
    ]);
    assert_code(&refused, 1);
    let printed = text(&refused);
    assert!(
        printed.contains("DigitalOceanDatabaseCluster/shop-db")
            && printed.contains("already exists and does not match")
            && printed.contains("sizeSlug is db-s-1vcpu-2gb there")
            && printed.contains("choose another clusterName"),
        "{printed}"
    );
    assert_eq!(other.clusters().len(), 1);
}

#[test]
fn equal_values_written_differently_are_not_drift() {
    let lab = Lab::new();
    // Tags out of order, an hour with seconds, storage left to the size's default.
    let example = lab.example("digitalocean-pgbouncer", |text| {
        text.replace(
            "  maintenanceWindow: {day: tuesday, hour: \"02:00\"}\n",
            "  maintenanceWindow: {day: tuesday, hour: \"02:00:00\"}\n  tags: [zeta, alpha]\n  storageGib: 0\n",
        )
    });
    assert_code(&lab.run(&["apply", &example, "--auto-approve"]), 0);
    let again = lab.run(&["plan", &example, "--detailed-exitcode"]);
    assert_code(&again, 0);
    let cluster = lab.cluster("shop-db");
    assert_eq!(cluster["maintenance_window"]["hour"], "02:00:00");

    // Where the manifest lists tags, the list is the cluster's whole set: a tag added outside
    // dbplan and a tag the manifest drops are both removed.
    let id = cluster["id"].as_str().unwrap().to_owned();
    let (status, _) = lab.api("POST", "/v2/tags", Some(json!({"name": "billing"})));
    assert_eq!(status, 201);
    let resources = json!({"resources": [{"resource_id": id, "resource_type": "database"}]});
    let (status, _) = lab.api("POST", "/v2/tags/billing/resources", Some(resources));
    assert_eq!(status, 204);
    lab.edit(
        "digitalocean-pgbouncer/database.yaml",
        "  tags: [zeta, alpha]\n",
        "  tags: [alpha]\n",
    );
    assert_code(&lab.run(&["apply", &example, "--auto-approve"]), 0);
    assert_eq!(lab.cluster("shop-db")["tags"], json!(["alpha"]));
}

#[test]
fn removing_every_tag_untags_the_cluster_and_a_removed_window_is_said_to_stay() {
    let lab = Lab::new();
    let example = lab.example("digitalocean-postgres", |text| text);
    assert_code(&lab.run(&["apply", &example, "--auto-approve"]), 0);
    lab.edit(
        "digitalocean-postgres/production.yaml",
        "  tags: [env-prod, team-payments]\n",
        "",
    );
    lab.edit(
        "digitalocean-postgres/production.yaml",
        "  maintenanceWindow:\n    day: sunday\n    hour: \"04:00\"\n",
        "",
    );
    let plan = lab.run(&["plan", &example, "--detailed-exitcode"]);
    assert_code(&plan, 2);
    let printed = super::stdout(&plan);
    assert!(
        printed.contains("DigitalOceanDatabaseCluster/prod-postgres will be updated in place"),
        "{printed}"
    );
    assert!(printed.contains("~ tags"), "{printed}");
    assert!(printed.contains("-   \"team-payments\""), "{printed}");
    assert!(printed.contains("+ []"), "{printed}");
    assert!(
        printed.contains("`maintenance_window` was removed from the manifest, but DigitalOcean always keeps a window"),
        "{printed}"
    );
    assert!(
        printed.contains("(no longer recorded; the object keeps it)"),
        "{printed}"
    );
    assert_code(&lab.run(&["apply", &example, "--auto-approve"]), 0);
    let prod = lab.cluster("prod-postgres");
    // DigitalOcean answers `null` for a cluster without tags.
    assert!(
        prod["tags"].as_array().is_none_or(Vec::is_empty),
        "{}",
        prod["tags"]
    );
    assert_eq!(prod["maintenance_window"]["day"], "sunday");
    assert_code(&lab.run(&["plan", &example, "--detailed-exitcode"]), 0);
}
