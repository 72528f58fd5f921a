use super::{Check, Checker};
use crate::codes;
use crate::formats;
use dbplan_core::kinds::tenant_database::{
    KubernetesSecretSpec, SecretDataKey, SecretTarget, SecretTargetError, StandardSecretKey,
    TENANT_SERVER_KINDS, TenantDatabaseSpec,
};
use std::collections::BTreeMap;

const SECRET: &str = "/spec/connection_secret";
const KUBERNETES: &str = "/spec/connection_secret/kubernetes";

impl Check for TenantDatabaseSpec {
    fn check(&self, checker: &mut Checker<'_>) {
        let name = checker.metadata.name.clone();
        let database = self.database_name(&name).to_owned();
        let pointer = if self.database_name.is_some() {
            "/spec/database_name"
        } else {
            "/metadata/name"
        };
        checker.format(
            pointer,
            formats::check_postgres_identifier(&database, "database name"),
        );
        let owner = self.owner(&name);
        let pointer = if self.owner.is_some() {
            "/spec/owner"
        } else {
            pointer
        };
        checker.format(
            pointer,
            formats::check_postgres_identifier(&owner, "role name"),
        );
        for (index, extension) in self.extensions.iter().enumerate() {
            let valid = !extension.is_empty()
                && extension.len() <= 63
                && extension
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
            if !valid {
                checker.report(
                    codes::BAD_FORMAT,
                    &format!("/spec/extensions/{index}"),
                    format!("{extension:?} is not an extension name"),
                    "write the name as `CREATE EXTENSION` takes it, e.g. `pgcrypto` or `uuid-ossp`",
                );
            }
        }
        if let Some(secret) = &self.connection_secret {
            match secret.target() {
                Ok(SecretTarget::File { .. }) => {}
                Ok(SecretTarget::Kubernetes(kubernetes)) => {
                    if secret.format.is_some() {
                        checker.report(
                            codes::CONFLICTING_FIELDS,
                            "/spec/connection_secret/format",
                            "`format` is the format of a secret file; a Kubernetes Secret holds one key per value",
                            "remove `format`, or write to a `file` instead of `kubernetes`",
                        );
                    }
                    check_kubernetes(kubernetes, &database, checker);
                }
                Err(SecretTargetError::Both) => checker.report(
                    codes::CONFLICTING_FIELDS,
                    KUBERNETES,
                    "`connection_secret` names both a `file` and a `kubernetes` Secret; it is written to exactly one",
                    "keep `file` or `kubernetes`; declare another tenant for a second copy",
                ),
                Err(SecretTargetError::Neither) => checker.report(
                    codes::MISSING_FIELD,
                    SECRET,
                    "`connection_secret` says neither where the file goes nor which Kubernetes Secret to write",
                    "add `file: secrets/app.env`, or `kubernetes: {namespace: apps}`",
                ),
            }
        }
        let (kind, _) = self.server();
        if !TENANT_SERVER_KINDS.contains(&kind) {
            checker.report(
                codes::BAD_ENUM,
                "/spec/server/kind",
                format!("a tenant database cannot live on a {kind}"),
                format!("use one of: {}", TENANT_SERVER_KINDS.join(", ")),
            );
        }
    }
}

/// A Kubernetes target: its namespace and name, and the renamed keys (known standard keys of
/// its style, valid and distinct data keys).
fn check_kubernetes(kubernetes: &KubernetesSecretSpec, database: &str, checker: &mut Checker<'_>) {
    checker.format(
        "/spec/connection_secret/kubernetes/namespace",
        formats::check_kubernetes_name(&kubernetes.namespace),
    );
    let name = kubernetes.secret_name(database);
    match &kubernetes.name {
        Some(_) => {
            checker.format(
                "/spec/connection_secret/kubernetes/name",
                formats::check_kubernetes_subdomain(&name, "Secret name"),
            );
        }
        None => {
            if let Err(error) = formats::check_kubernetes_subdomain(&name, "Secret name") {
                checker.report(
                    codes::BAD_FORMAT,
                    KUBERNETES,
                    format!("the default Secret name: {}", error.message),
                    format!("give `name`, {}", error.help),
                );
            }
        }
    }
    if kubernetes.context.as_deref().is_some_and(str::is_empty) {
        checker.report(
            codes::BAD_FORMAT,
            "/spec/connection_secret/kubernetes/context",
            "`context` is empty",
            "name a context of the kubeconfig, or remove `context` to use the current one",
        );
    }
    check_keys(kubernetes, checker);
}

/// `keys`: each renames a standard key of the style, to a valid data key of its own.
fn check_keys(kubernetes: &KubernetesSecretSpec, checker: &mut Checker<'_>) {
    let style = kubernetes.style;
    // Each data key, with the standard key it holds: the first one seen keeps it.
    let mut taken: BTreeMap<String, StandardSecretKey> = BTreeMap::new();
    for key in style.keys() {
        if !kubernetes.keys.contains_key(key.as_str()) {
            taken.insert(key.as_str().to_owned(), *key);
        }
    }
    for (standard, target) in &kubernetes.keys {
        let pointer = format!(
            "/spec/connection_secret/kubernetes/keys/{}",
            crate::schema::escape(standard)
        );
        let known: Vec<&str> = style.keys().iter().map(|key| key.as_str()).collect();
        let Some(key) = StandardSecretKey::parse(standard).filter(|key| style.keys().contains(key))
        else {
            let why = match StandardSecretKey::parse(standard) {
                Some(_) => format!("style `{}` writes no key {standard:?}", style.as_str()),
                None => format!("{standard:?} is not a key dbplan writes"),
            };
            checker.report(
                codes::BAD_ENUM,
                &pointer,
                why,
                format!(
                    "rename one of the keys of style `{}`: {}",
                    style.as_str(),
                    known.join(", ")
                ),
            );
            continue;
        };
        if let Err(message) = SecretDataKey::new(target) {
            checker.report(
                codes::BAD_FORMAT,
                &pointer,
                message,
                "a Secret data key is 1 to 253 letters, digits, `-`, `.` or `_`, e.g. `PGPASSWORD`",
            );
            continue;
        }
        if let Some(first) = taken.insert(target.clone(), key) {
            checker.report(
                codes::CONFLICTING_FIELDS,
                &pointer,
                format!("{key} and {first} would both be written to the data key {target:?}"),
                "give each key its own name in `keys`",
            );
        }
    }
}
