//! Tenant databases that would share an object: two tenants on one server may not create the
//! same database, nor own their databases through the same role (each tenant's role gets its
//! own generated password, so a shared role would have its password reset by the other), and no
//! two tenants may write their connection secrets to the same file or Kubernetes Secret. And a
//! tenant's server runs PostgreSQL: a tenant is a PostgreSQL role and database.

use crate::codes;
use dbplan_core::kinds::specs::SecretTarget;
use dbplan_diagnostics::Diagnostic;
use dbplan_manifest::{ManifestSet, Resource, Spec};
use std::collections::HashMap;

pub(crate) fn check_clashes(set: &ManifestSet, diagnostics: &mut Vec<Diagnostic>) {
    let mut databases: HashMap<(String, String), &Resource> = HashMap::new();
    let mut owners: HashMap<(String, String), &Resource> = HashMap::new();
    let mut files: HashMap<String, &Resource> = HashMap::new();
    let mut secrets: HashMap<(String, String, String), &Resource> = HashMap::new();
    for resource in &set.resources {
        let Spec::TenantDatabase(spec) = &resource.spec else {
            continue;
        };
        let (kind, name) = spec.server();
        let server = format!("{kind}/{name}");
        let database = spec.database_name(&resource.address.name).to_owned();
        let owner = spec.owner(&resource.address.name);
        let file = spec
            .connection_secret
            .as_ref()
            .and_then(|secret| secret.target().ok())
            .map(|target| secret_clash(target, &database, resource, &mut files, &mut secrets));
        let clashes = [
            (
                databases.insert((server.clone(), database.clone()), resource),
                if spec.database_name.is_some() {
                    "/spec/database_name"
                } else {
                    "/metadata/name"
                },
                format!("database {database:?}"),
                "give one of them another `database_name`",
            ),
            (
                owners.insert((server.clone(), owner.clone()), resource),
                if spec.owner.is_some() {
                    "/spec/owner"
                } else if spec.database_name.is_some() {
                    "/spec/database_name"
                } else {
                    "/metadata/name"
                },
                format!("owner role {owner:?}"),
                "give each tenant its own `owner`; a shared role would have its password reset by each tenant",
            ),
        ];
        for (first, pointer, what, help) in clashes.into_iter().chain(file) {
            let Some(first) = first else {
                continue;
            };
            diagnostics.push(
                Diagnostic::error(codes::TENANT_CLASH)
                    .with_message(if pointer.ends_with("/file") {
                        format!(
                            "{} and {} both write the {what}",
                            first.address, resource.address
                        )
                    } else {
                        format!(
                            "{} and {} both manage the {what} on {server}",
                            first.address, resource.address
                        )
                    })
                    .with_help(help)
                    .with_span(resource.span_at(pointer))
                    .with_resource(resource.address.to_string()),
            );
        }
    }
}

/// Tenants whose server is declared with another engine than PostgreSQL: a DigitalOcean
/// cluster of `mysql`, `redis` or another engine, an AWS cluster of `aurora-mysql` or `mysql`.
/// (A reference's engine is known only once its cloud is read: apply refuses another.)
pub(crate) fn check_engines(set: &ManifestSet, diagnostics: &mut Vec<Diagnostic>) {
    use dbplan_core::kinds::aws_rds_cluster::AwsClusterEngine;
    use dbplan_core::kinds::digital_ocean_database_cluster::DigitalOceanEngine;
    for resource in &set.resources {
        let Spec::TenantDatabase(spec) = &resource.spec else {
            continue;
        };
        let (kind, name) = spec.server();
        let Some(server) = set
            .resources
            .iter()
            .find(|server| server.address.kind.as_str() == kind && server.address.name == name)
        else {
            continue;
        };
        let engine = match &server.spec {
            Spec::DigitalOceanDatabaseCluster(cluster)
                if cluster.engine != DigitalOceanEngine::Pg =>
            {
                cluster.engine.slug()
            }
            Spec::AwsRdsCluster(cluster)
                if matches!(
                    cluster.engine,
                    AwsClusterEngine::AuroraMysql | AwsClusterEngine::Mysql
                ) =>
            {
                cluster.engine.as_str()
            }
            _ => continue,
        };
        diagnostics.push(
            Diagnostic::error(codes::NOT_POSTGRES)
                .with_message(format!(
                    "{} is a PostgreSQL role and database, but its server {} runs {engine}",
                    resource.address, server.address
                ))
                .with_help("point `server` at a PostgreSQL server: a `pg` DigitalOcean cluster, an `aurora-postgresql` or `postgres` AWS cluster, a PostgresServer or a CnpgCluster")
                .with_span(resource.span_at("/spec/server"))
                .with_resource(resource.address.to_string()),
        );
    }
}

/// Where a tenant's connection secret goes, and the tenant that took that place first: the
/// first element of a clash (then its pointer, what it is, the help).
type Clash<'a> = (Option<&'a Resource>, &'static str, String, &'static str);

fn secret_clash<'a>(
    target: SecretTarget<'_>,
    database: &str,
    resource: &'a Resource,
    files: &mut HashMap<String, &'a Resource>,
    secrets: &mut HashMap<(String, String, String), &'a Resource>,
) -> Clash<'a> {
    match target {
        SecretTarget::File { file, .. } => (
            files.insert(file.to_owned(), resource),
            "/spec/connection_secret/file",
            format!("connection secret file {file:?}"),
            "give each tenant its own `connection_secret.file`",
        ),
        SecretTarget::Kubernetes(kubernetes) => {
            let name = kubernetes.secret_name(database);
            let context = kubernetes.context.clone().unwrap_or_default();
            (
                secrets.insert(
                    (context, kubernetes.namespace.clone(), name.clone()),
                    resource,
                ),
                if kubernetes.name.is_some() {
                    "/spec/connection_secret/kubernetes/name"
                } else {
                    "/spec/connection_secret/kubernetes"
                },
                format!("Kubernetes Secret {}/{name}", kubernetes.namespace),
                "give each tenant its own `connection_secret.kubernetes.name` (or namespace)",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use dbplan_manifest::Loader;

    fn clashes(secrets: [&str; 2]) -> Vec<String> {
        let mut text = String::from(
            "apiVersion: dbplan.io/v1\nkind: PostgresServer\nmetadata: {name: main}\nspec: {host: db, adminUser: admin}\n",
        );
        for (name, secret) in ["a", "b"].into_iter().zip(secrets) {
            text.push_str(&format!(
                "---\napiVersion: dbplan.io/v1\nkind: TenantDatabase\nmetadata: {{name: {name}}}\nspec:\n  server: main\n  connection_secret: {secret}\n"
            ));
        }
        diagnostics_of(&text)
    }

    fn diagnostics_of(text: &str) -> Vec<String> {
        let mut loader = Loader::new();
        loader.add_source("tenants.yaml", text.to_owned());
        let (set, diagnostics) = loader.finish();
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        let (_, diagnostics) = crate::build(&set);
        diagnostics
            .iter()
            .map(|diagnostic| format!("{} {}", diagnostic.code, diagnostic.message))
            .collect()
    }

    #[test]
    fn a_tenant_on_a_cluster_of_another_engine_is_refused() {
        let tenant = |kind: &str| {
            format!(
                "---\napiVersion: dbplan.io/v1\nkind: TenantDatabase\nmetadata: {{name: app}}\nspec:\n  server: {{kind: {kind}, name: db}}\n"
            )
        };
        let digitalocean = |engine: &str| {
            format!(
                "apiVersion: digital-ocean.project-planton.org/v1\nkind: DigitalOceanDatabaseCluster\nmetadata: {{name: db}}\nspec: {{clusterName: db, engine: {engine}, engineVersion: \"8\", region: nyc3, sizeSlug: db-s-1vcpu-1gb, nodeCount: 1}}\n{}",
                tenant("DigitalOceanDatabaseCluster")
            )
        };
        let found = diagnostics_of(&digitalocean("mysql"));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].starts_with("G008")
                && found[0].contains("DigitalOceanDatabaseCluster/db runs mysql"),
            "{found:#?}"
        );
        assert!(diagnostics_of(&digitalocean("pg")).is_empty());
        let aws = |engine: &str| {
            format!(
                "apiVersion: aws.project-planton.org/v1\nkind: AwsRdsCluster\nmetadata: {{name: db}}\nspec: {{engine: {engine}, engineVersion: \"8.0\", region: us-east-1}}\n{}",
                tenant("AwsRdsCluster")
            )
        };
        let found = diagnostics_of(&aws("aurora-mysql"));
        assert!(
            found
                .iter()
                .any(|line| line.starts_with("G008") && line.contains("runs aurora-mysql")),
            "{found:#?}"
        );
        assert!(
            !diagnostics_of(&aws("aurora-postgresql"))
                .iter()
                .any(|line| line.starts_with("G008"))
        );
    }

    #[test]
    fn two_tenants_may_not_write_one_kubernetes_secret() {
        let found = clashes([
            "{kubernetes: {namespace: apps, name: shared}}",
            "{kubernetes: {namespace: apps, name: shared}}",
        ]);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].starts_with("G007") && found[0].contains("Kubernetes Secret apps/shared"),
            "{found:#?}"
        );
        // Other namespaces, contexts or default names are other Secrets.
        assert!(
            clashes([
                "{kubernetes: {namespace: apps}}",
                "{kubernetes: {namespace: apps}}"
            ])
            .is_empty()
        );
        assert!(
            clashes([
                "{kubernetes: {namespace: apps, name: shared}}",
                "{kubernetes: {namespace: apps, name: shared, context: other}}",
            ])
            .is_empty()
        );
        assert!(
            clashes([
                "{kubernetes: {namespace: apps, name: shared}}",
                "{kubernetes: {namespace: web, name: shared}}",
            ])
            .is_empty()
        );
    }
}
