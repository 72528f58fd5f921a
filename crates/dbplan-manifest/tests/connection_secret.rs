//! A tenant's `connection_secret` is a file or a Kubernetes Secret: each manifest below is
//! accepted, or refused with the errors listed, each at its `file:line:col`.

// A test fails by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use dbplan_diagnostics::Severity;
use dbplan_manifest::{Loader, Spec};

/// A tenant whose spec ends with `SECRET` (the `connection_secret` field, from line 7).
const TENANT: &str = "apiVersion: dbplan.io/v1
kind: TenantDatabase
metadata: {name: app}
spec:
  server: main
  database_name: DATABASE
SECRET";

/// Every error of a one-document manifest as `file:line:col code message`.
fn errors(secret: &str, database: &str) -> Vec<String> {
    let text = TENANT
        .replace("DATABASE", database)
        .replace("SECRET", secret);
    let mut loader = Loader::new();
    loader.add_source("tenant.yaml", text);
    let (set, diagnostics) = loader.finish();
    diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .map(|diagnostic| {
            let span = diagnostic
                .span
                .expect("every manifest error has a location");
            let (file, at) = set.sources.location(span).unwrap();
            format!(
                "{file}:{}:{} {} {}",
                at.line, at.column, diagnostic.code, diagnostic.message
            )
        })
        .collect()
}

/// The manifests that are accepted, each with the Secret's name and data keys (or the file).
const VALID: &[(&str, &str, &str)] = &[
    (
        "  connection_secret: {file: secrets/app.env}\n",
        "file secrets/app.env env",
        "",
    ),
    (
        "  connection_secret: {file: app.json, format: json}\n",
        "file app.json json",
        "",
    ),
    (
        "  connection_secret:\n    kubernetes: {namespace: apps}\n",
        "apps/app-postgres-credentials",
        "DATABASE_URL=DATABASE_URL DB_HOST=DB_HOST DB_NAME=DB_NAME DB_PASSWORD=DB_PASSWORD DB_PORT=DB_PORT DB_USER=DB_USER",
    ),
    (
        "  connection_secret:\n    kubernetes: {namespace: apps, style: crossplane}\n",
        "apps/app-secret",
        "endpoint=endpoint password=password port=port username=username",
    ),
    (
        "  connection_secret:\n    kubernetes:\n      namespace: apps\n      name: billing.db\n      context: kind-dev\n      keys: {DB_PASSWORD: PGPASSWORD, DB_USER: PGUSER}\n",
        "kind-dev:apps/billing.db",
        "DATABASE_URL=DATABASE_URL DB_HOST=DB_HOST DB_NAME=DB_NAME DB_PORT=DB_PORT PGPASSWORD=DB_PASSWORD PGUSER=DB_USER",
    ),
    (
        "  connection_secret:\n    kubernetes:\n      namespace: apps\n      style: crossplane\n      keys: {password: db.password, username: username}\n",
        "apps/app-secret",
        "db.password=password endpoint=endpoint port=port username=username",
    ),
];

#[test]
fn file_and_kubernetes_targets_are_accepted() {
    for (secret, target, data) in VALID {
        let text = TENANT.replace("DATABASE", "app").replace("SECRET", secret);
        let mut loader = Loader::new();
        loader.add_source("tenant.yaml", text);
        let (set, diagnostics) = loader.finish();
        assert!(diagnostics.is_empty(), "{secret}: {diagnostics:#?}");
        let Spec::TenantDatabase(spec) = &set.resources[0].spec else {
            panic!("a tenant database");
        };
        let declared = spec.connection_secret.as_ref().unwrap();
        let (found, keys) = match declared.target().unwrap() {
            dbplan_core::kinds::specs::SecretTarget::File { file, format } => (
                format!(
                    "file {file} {}",
                    serde_json::to_value(format).unwrap().as_str().unwrap()
                ),
                String::new(),
            ),
            dbplan_core::kinds::specs::SecretTarget::Kubernetes(kubernetes) => {
                let place = format!("{}/{}", kubernetes.namespace, kubernetes.secret_name("app"));
                let place = match &kubernetes.context {
                    Some(context) => format!("{context}:{place}"),
                    None => place,
                };
                let keys: Vec<String> = kubernetes
                    .data()
                    .iter()
                    .map(|(name, key)| format!("{name}={key}"))
                    .collect();
                (place, keys.join(" "))
            }
        };
        assert_eq!(found, *target, "{secret}");
        assert_eq!(keys, *data, "{secret}");
    }
}

/// Manifests that are refused: the database name, the `connection_secret` field, and the
/// errors, each `line:col code` and a part of its message.
/// `(database name, connection_secret field, [(line:col code, part of the message)])`.
type Refused = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const INVALID: &[Refused] = &[
    (
        "app",
        "  connection_secret:\n    file: a.env\n    kubernetes: {namespace: apps}\n",
        &[("9:5 M017", "both a `file` and a `kubernetes` Secret")],
    ),
    (
        "app",
        "  connection_secret: {}\n",
        &[("7:3 M007", "neither where the file goes")],
    ),
    (
        "app",
        "  connection_secret:\n    kubernetes: {namespace: Apps}\n",
        &[("8:29 M010", "\"Apps\" is not a valid Kubernetes name")],
    ),
    (
        "app",
        "  connection_secret:\n    kubernetes: {namespace: apps, name: Bad_Name}\n",
        &[("8:41 M010", "\"Bad_Name\" is not a valid Secret name")],
    ),
    (
        "my_app",
        "  connection_secret:\n    kubernetes: {namespace: apps}\n",
        &[(
            "8:5 M010",
            "the default Secret name: \"my_app-postgres-credentials\"",
        )],
    ),
    (
        "app",
        "  connection_secret:\n    kubernetes:\n      namespace: apps\n      keys: {DB_PASS: PGPASSWORD}\n",
        &[("10:23 M008", "\"DB_PASS\" is not a key dbplan writes")],
    ),
    (
        "app",
        "  connection_secret:\n    kubernetes:\n      namespace: apps\n      keys: {password: PGPASSWORD}\n",
        &[(
            "10:24 M008",
            "style `database-url` writes no key \"password\"",
        )],
    ),
    (
        "app",
        "  connection_secret:\n    kubernetes:\n      namespace: apps\n      keys: {DB_PASSWORD: DB_USER}\n",
        &[(
            "10:27 M017",
            "DB_PASSWORD and DB_USER would both be written to the data key \"DB_USER\"",
        )],
    ),
    (
        "app",
        "  connection_secret:\n    kubernetes:\n      namespace: apps\n      keys: {DB_PASSWORD: X, DB_USER: X}\n",
        &[(
            "10:39 M017",
            "DB_USER and DB_PASSWORD would both be written to the data key \"X\"",
        )],
    ),
    (
        "app",
        "  connection_secret:\n    kubernetes:\n      namespace: apps\n      keys: {DB_PASSWORD: \"pg password\"}\n",
        &[("10:27 M010", "\"pg password\" is not a Secret data key")],
    ),
    (
        "app",
        "  connection_secret:\n    kubernetes:\n      namespace: apps\n      keys: {DB_PASSWORD: ..x}\n",
        &[("10:27 M010", "it may not be `.`, `..` or start with `..`")],
    ),
    (
        "app",
        "  connection_secret:\n    format: json\n    kubernetes: {namespace: apps}\n",
        &[("8:13 M017", "`format` is the format of a secret file")],
    ),
    (
        "app",
        "  connection_secret:\n    kubernetes: {namespace: apps, style: dotenv}\n",
        &[("8:42 M008", "cannot be")],
    ),
    (
        "app",
        "  connection_secret:\n    kubernetes: {name: x}\n",
        &[("8:5 M007", "needs `namespace`")],
    ),
];

#[test]
fn each_mistake_is_reported_where_it_is_written() {
    let mut wrong = Vec::new();
    for (database, secret, expected) in INVALID {
        let found = errors(secret, database);
        let matches = found.len() == expected.len()
            && expected.iter().zip(&found).all(|((at, message), found)| {
                found.starts_with(&format!("tenant.yaml:{at} ")) && found.contains(message)
            });
        if !matches {
            wrong.push(format!("{secret}expected {expected:?}\nfound {found:#?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn a_long_data_key_is_refused() {
    let long = "K".repeat(254);
    let found = errors(
        &format!(
            "  connection_secret:\n    kubernetes:\n      namespace: apps\n      keys: {{DB_PASSWORD: {long}}}\n"
        ),
        "app",
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].contains("has 1 to 253 characters"), "{found:#?}");
    let fits = "K".repeat(253);
    let found = errors(
        &format!(
            "  connection_secret:\n    kubernetes:\n      namespace: apps\n      keys: {{DB_PASSWORD: {fits}}}\n"
        ),
        "app",
    );
    assert!(found.is_empty(), "{found:#?}");
}
