//! Tenant databases that would share an object: two tenants on one server may not create the
//! same database, nor own their databases through the same role (each tenant's role gets its
//! own generated password, so a shared role would have its password reset by the other), and no
//! two tenants may write their connection secrets to the same file or Kubernetes Secret.

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
        let target = spec
            .connection_secret
            .as_ref()
            .and_then(|secret| secret.target().ok());
        let file = target.map(|target| match target {
            SecretTarget::File { file, .. } => (
                files.insert(file.to_owned(), resource),
                "/spec/connection_secret/file",
                format!("connection secret file {file:?}"),
                "give each tenant its own `connection_secret.file`",
            ),
            SecretTarget::Kubernetes(kubernetes) => {
                let name = kubernetes.secret_name(&database);
                let context = kubernetes.context.as_deref().unwrap_or("");
                (
                    secrets.insert(
                        (
                            context.to_owned(),
                            kubernetes.namespace.clone(),
                            name.clone(),
                        ),
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
        });
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
