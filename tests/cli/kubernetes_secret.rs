//! A tenant's connection secret written to a Kubernetes Secret: `dbplan apply` against a real
//! PostgreSQL server and the fake Kubernetes API server, the Secret's keys and labels, no
//! password in any plan, output or state, drift when the Secret is changed or deleted behind
//! dbplan's back, and `destroy`.

use crate::apply::Lab;
use crate::{assert_code, stdout, text};
use base64::Engine;
use dbplan_testkit::SUPERUSER;
use dbplan_testkit::kubernetes::{FakeConfig, FakeKubernetes};
use std::path::Path;

const ORDERS: &str = "/api/v1/namespaces/shop/secrets/orders-postgres-credentials";
const BILLING: &str = "/api/v1/namespaces/shop/secrets/billing-secret";

fn manifests(lab: &Lab) {
    let text = format!(
        "apiVersion: dbplan.io/v1\nkind: PostgresServer\nmetadata:\n  name: pg\n  annotations:\n    dbplan.io/waive.DB204: \"throwaway server on the loopback interface of the test machine\"\nspec:\n  host: 127.0.0.1\n  port: {port}\n  adminUser: {SUPERUSER}\n  adminPassword: {{secretEnv: PG_ADMIN_PASSWORD}}\n  sslmode: disable\n---\napiVersion: dbplan.io/v1\nkind: TenantDatabase\nmetadata:\n  name: orders\nspec:\n  server: pg\n  deletionProtection: false\n  roleDeletionPolicy: Delete\n  dbDeletionPolicy: Delete\n  connectionSecret:\n    kubernetes:\n      namespace: shop\n      keys: {{DB_PASSWORD: PGPASSWORD}}\n---\napiVersion: dbplan.io/v1\nkind: TenantDatabase\nmetadata:\n  name: billing\nspec:\n  server: pg\n  deletionProtection: false\n  roleDeletionPolicy: Delete\n  dbDeletionPolicy: Delete\n  connectionSecret:\n    kubernetes: {{namespace: shop, style: crossplane}}\n",
        port = lab.server.port
    );
    std::fs::write(lab.path("tenants.yaml"), text).unwrap();
}

fn run(lab: &Lab, args: &[&str]) -> std::process::Output {
    lab.command(args)
        .env("KUBECONFIG", lab.path("kubeconfig"))
        .output()
        .unwrap()
}

/// The Secret's data, decoded.
fn data(secret: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    secret["data"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(key, value)| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(value.as_str().unwrap())
                .unwrap();
            (key.clone(), String::from_utf8(bytes).unwrap())
        })
        .collect()
}

/// Every file under `directory` (the state among them), but the kubeconfig.
fn files_under(directory: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else if path.file_name().is_some_and(|name| name != "kubeconfig") {
            out.push(path);
        }
    }
}

/// Every string holding `secret` in `json` is the value of a field marked sensitive.
fn only_sensitive(json: &serde_json::Value, secret: &str, at: &str) {
    match json {
        serde_json::Value::Object(map) => {
            let sensitive = map.get("sensitive") == Some(&serde_json::Value::Bool(true));
            for (key, value) in map {
                if key == "value" && sensitive {
                    continue;
                }
                only_sensitive(value, secret, &format!("{at}/{key}"));
            }
        }
        serde_json::Value::Array(values) => {
            for value in values {
                only_sensitive(value, secret, at);
            }
        }
        serde_json::Value::String(text) => assert!(!text.contains(secret), "{at}"),
        _ => {}
    }
}

#[test]
fn a_connection_secret_goes_to_a_kubernetes_secret_without_a_value_anywhere_else() {
    let lab = Lab::start();
    let fake = FakeKubernetes::start(FakeConfig {
        operator: false,
        ..FakeConfig::default()
    })
    .unwrap();
    fake.write_kubeconfig(&lab.path("kubeconfig")).unwrap();
    let namespace = fake
        .call_json(
            "POST",
            "/api/v1/namespaces",
            &serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
        )
        .unwrap();
    assert!(namespace.status < 300, "{}", namespace.text);
    manifests(&lab);

    let applied = run(&lab, &["apply", "tenants.yaml", "--auto-approve"]);
    assert_code(&applied, 0);

    // The Secrets: Opaque, labelled, with the style's keys (renamed as asked).
    let orders = fake.call("GET", ORDERS, None, None).unwrap();
    assert_eq!(orders.status, 200, "{}", orders.text);
    assert_eq!(orders.json["type"], "Opaque");
    assert_eq!(
        orders.json["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "dbplan"
    );
    let values = data(&orders.json);
    assert_eq!(
        values.keys().collect::<Vec<_>>(),
        [
            "DATABASE_URL",
            "DB_HOST",
            "DB_NAME",
            "DB_PORT",
            "DB_USER",
            "PGPASSWORD"
        ]
    );
    let password = values["PGPASSWORD"].clone();
    assert_eq!(password.len(), 32);
    assert_eq!(values["DB_HOST"], "127.0.0.1");
    assert_eq!(
        lab.login("orders_user", &password, "orders").unwrap(),
        "orders_user"
    );
    let billing = fake.call("GET", BILLING, None, None).unwrap();
    assert_eq!(billing.status, 200, "{}", billing.text);
    let billing_values = data(&billing.json);
    assert_eq!(
        billing_values.keys().collect::<Vec<_>>(),
        ["endpoint", "password", "port", "username"]
    );
    assert_eq!(billing_values["username"], "billing_user");

    // No password in the apply's output, a plan (text, JSON), `output`, or any file (the state).
    let planned = run(&lab, &["plan", "tenants.yaml", "--detailed-exitcode"]);
    assert_code(&planned, 0);
    assert!(
        stdout(&planned).contains("No changes"),
        "{}",
        text(&planned)
    );
    let json = run(&lab, &["plan", "tenants.yaml", "--format", "json"]);
    assert_code(&json, 0);
    let outputs = run(&lab, &["output", "TenantDatabase/orders"]);
    assert_code(&outputs, 0);
    for output in [&applied, &planned, &json, &outputs] {
        for secret in [&password, &billing_values["password"]] {
            assert!(!text(output).contains(secret.as_str()), "{}", text(output));
        }
    }
    // State records the Secret's key names and fingerprints; the password is in it only where
    // the tenant's role and database record it, as sensitive values (as for a secret file).
    let mut files = Vec::new();
    files_under(lab.directory.path(), &mut files);
    let mut checked = 0;
    for file in files {
        let contents = std::fs::read(&file).unwrap();
        // The JSON snapshots (the embedded store's files hold the same ones, as bytes).
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(&contents) else {
            continue;
        };
        only_sensitive(&json, &password, &file.display().to_string());
        if let Some(record) =
            json.pointer("/state/resources/TenantDatabase~1orders~1connection-secret")
        {
            checked += 1;
            assert!(!record["outputs"].to_string().contains(&password));
            assert_eq!(
                record["attributes"]["data"]["value"]["PGPASSWORD"],
                "DB_PASSWORD"
            );
        }
    }
    assert!(checked > 0, "no state snapshot was found");

    // A value changed behind dbplan's back is drift (no value shown), and apply repairs it.
    let mut changed = orders.json.clone();
    changed["data"]["PGPASSWORD"] =
        serde_json::json!(base64::engine::general_purpose::STANDARD.encode("guessed"));
    let put = fake.call_json("PUT", ORDERS, &changed).unwrap();
    assert!(put.status < 300, "{}", put.text);
    let drift = run(&lab, &["plan", "tenants.yaml", "--detailed-exitcode"]);
    assert_code(&drift, 2);
    assert!(
        stdout(&drift).contains("TenantDatabase/orders/connection-secret")
            && stdout(&drift).contains("changed outside dbplan"),
        "{}",
        text(&drift)
    );
    assert!(!text(&drift).contains("guessed"));
    let repaired = run(&lab, &["apply", "tenants.yaml", "--auto-approve"]);
    assert_code(&repaired, 0);
    let orders = fake.call("GET", ORDERS, None, None).unwrap();
    assert_eq!(data(&orders.json)["PGPASSWORD"], password);

    // Deleted behind dbplan's back: the plan creates it again.
    let deleted = fake.call("DELETE", ORDERS, None, None).unwrap();
    assert!(deleted.status < 300, "{}", deleted.text);
    let gone = run(&lab, &["plan", "tenants.yaml", "--detailed-exitcode"]);
    assert_code(&gone, 2);
    assert!(
        stdout(&gone).contains("TenantDatabase/orders/connection-secret"),
        "{}",
        text(&gone)
    );
    let recreated = run(&lab, &["apply", "tenants.yaml", "--auto-approve"]);
    assert_code(&recreated, 0);
    assert_eq!(
        data(&fake.call("GET", ORDERS, None, None).unwrap().json)["PGPASSWORD"],
        password
    );
    let settled = run(&lab, &["plan", "tenants.yaml", "--detailed-exitcode"]);
    assert_code(&settled, 0);

    // Destroy removes the Secrets with the tenants.
    let destroyed = run(&lab, &["destroy", "tenants.yaml", "--auto-approve"]);
    assert_code(&destroyed, 0);
    assert_eq!(fake.call("GET", ORDERS, None, None).unwrap().status, 404);
    assert_eq!(fake.call("GET", BILLING, None, None).unwrap().status, 404);
}
