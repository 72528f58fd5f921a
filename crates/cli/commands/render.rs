//! `dbplan render PATH... --out DIR`: the Kubernetes objects of every `CnpgCluster`, one YAML
//! file each, offline (no state, no cluster).
//!
//! - Files are `DIR/<namespace>/<kind, lower case>-<name>.yaml`, written atomically (a private
//!   temporary file renamed over the target) and only when their contents change, so that a
//!   second run changes nothing.
//! - Files under `DIR` that this run did not render are left in place and listed.
//! - Symbolic links are refused: `DIR`, a namespace directory or a target file that is a link
//!   is an error, so that a planted link never sends a file (which may hold a secret) elsewhere.
//! - Every object is checked against its CRD (CloudNativePG's, vendored in `dbplan-crd`) as
//!   `plan` checks it; an object the API server would refuse stops the run before anything is
//!   written.
//! - The connection secret carries its key names only (annotation `dbplan.io/secret-keys`);
//!   `--include-secret-values` adds the values render knows offline (host, port, database,
//!   user). The keys that hold the password (`DATABASE_URL`, `DB_PASSWORD`, `password`, `uri`)
//!   stay out: the password is the operator's, generated in the cluster, and `dbplan apply`
//!   fills them.

use crate::exit::Outcome;
use crate::output;
use crate::shared;
use dbplan_diagnostics::escape::Escaped;
use dbplan_manifest::Spec;
use dbplan_provider_kubernetes::render;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The arguments of `dbplan render`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Manifest files or directories (read recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The directory to write the objects to (created when missing; not a symbolic link).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Write the connection secrets' values that are known without the cluster (never the
    /// password, which the operator generates).
    #[arg(long)]
    include_secret_values: bool,
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let (set, _graph, mut diagnostics) = shared::load(&args.paths);
    let project = dbplan_plan::files::Project::new(&args.paths, None, false);
    diagnostics.extend(dbplan_plan::files::check_manifests(&set, &project));
    dbplan_diagnostics::sort_diagnostics(&mut diagnostics);
    let summary = output::report(&set.sources, &diagnostics);
    if summary.error > 0 {
        eprintln!(
            "rendered nothing: the manifests have {}",
            output::counts(summary)
        );
        return Ok(Outcome::Failure);
    }
    let mut files: BTreeMap<PathBuf, (String, dbplan_core::ResourceAddress)> = BTreeMap::new();
    let mut refusals = Vec::new();
    let mut rendered = Vec::new();
    for resource in &set.resources {
        let Spec::CnpgCluster(spec) = &resource.spec else {
            continue;
        };
        let values = args
            .include_secret_values
            .then(|| offline_secret_values(&resource.address.name, spec))
            .transpose()?;
        let objects = render::render(&resource.address.name, spec, values.as_ref())?;
        let owner = render::Owner::new(&resource.address.name, &render::parts(spec)?.cluster);
        rendered.push((resource.address.clone(), owner, objects));
    }
    add_tenants(&set, &mut rendered);
    for (address, _, objects) in rendered {
        refusals.extend(
            dbplan_provider_kubernetes::admission::check_rendered(&address, &objects)
                .iter()
                .map(|refusal| dbplan_plan::admission::diagnostic(refusal, &set)),
        );
        for object in objects {
            let name = render::file_name(&object);
            let yaml = dbplan_manifest::write::to_yaml(&object)?;
            if files
                .insert(name.clone(), (yaml, address.clone()))
                .is_some()
            {
                anyhow::bail!(
                    "two objects would be written to {}: rename one of the resources",
                    Escaped(name.display())
                );
            }
        }
    }
    // What the API server would refuse is not written: ArgoCD or Flux would fail to sync it.
    dbplan_diagnostics::sort_diagnostics(&mut refusals);
    let summary = output::report(&set.sources, &refusals);
    if summary.error > 0 {
        eprintln!(
            "rendered nothing: the objects have {} against their CRDs",
            output::counts(summary)
        );
        return Ok(Outcome::Failure);
    }
    write_all(&args.out, &files)
}

/// Adds the tenants on each rendered `CnpgCluster`: their roles to the Cluster's
/// `spec.managed.roles` (by name), their password Secrets (without the password) and their
/// `Database` objects, under the tenant's address.
fn add_tenants(
    set: &dbplan_manifest::ManifestSet,
    rendered: &mut Vec<(
        dbplan_core::ResourceAddress,
        render::Owner,
        Vec<serde_json::Value>,
    )>,
) {
    for resource in &set.resources {
        let Spec::TenantDatabase(spec) = &resource.spec else {
            continue;
        };
        let (kind, name) = spec.server();
        if kind != "CnpgCluster" {
            continue;
        }
        let Some((_, owner, objects)) = rendered
            .iter_mut()
            .find(|(address, _, _)| address.name == name)
        else {
            continue;
        };
        let owner = owner.clone();
        let (item, tenant_objects) =
            dbplan_provider_kubernetes::tenant::rendered(&resource.address, spec, &owner);
        if let Some(cluster) = objects
            .iter_mut()
            .find(|object| object["kind"] == "Cluster")
        {
            let roles = cluster["spec"]["managed"]["roles"]
                .as_array_mut()
                .map(std::mem::take)
                .unwrap_or_default();
            let mut roles: Vec<serde_json::Value> = roles.into_iter().chain([item]).collect();
            roles.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
            cluster["spec"]["managed"] = serde_json::json!({ "roles": roles });
        }
        rendered.push((resource.address.clone(), owner, tenant_objects));
    }
}

/// The connection secret's values render knows without the cluster: every key but those
/// holding the password.
fn offline_secret_values(
    name: &str,
    spec: &dbplan_core::kinds::specs::CnpgClusterSpec,
) -> anyhow::Result<BTreeMap<String, String>> {
    let parts = render::parts(spec)?;
    let owner = render::Owner::new(name, &parts.cluster);
    let (database, user) = render::bootstrap(&parts.cluster);
    let credentials = render::Credentials {
        database,
        user,
        password: String::new(),
    };
    let mut values = render::secret_values(&owner, &parts.secret, &credentials);
    values.retain(|key, _| !render::holds_password(key));
    Ok(values)
}

/// Refuses a path that is a symbolic link.
fn refuse_link(path: &Path) -> anyhow::Result<()> {
    if std::fs::symlink_metadata(path).is_ok_and(|metadata| metadata.file_type().is_symlink()) {
        anyhow::bail!(
            "{} is a symbolic link; `dbplan render` does not write through links: give the directory it points to, or remove the link",
            Escaped(path.display())
        );
    }
    Ok(())
}

/// Writes the files that changed, reports what it did and the files it did not write.
fn write_all(
    out: &Path,
    files: &BTreeMap<PathBuf, (String, dbplan_core::ResourceAddress)>,
) -> anyhow::Result<Outcome> {
    refuse_link(out)?;
    std::fs::create_dir_all(out)?;
    let (mut written, mut unchanged) = (0, 0);
    for (name, (yaml, address)) in files {
        let path = out.join(name);
        if let Some(directory) = path.parent() {
            refuse_link(directory)?;
        }
        refuse_link(&path)?;
        if std::fs::read(&path).is_ok_and(|existing| existing == yaml.as_bytes()) {
            unchanged += 1;
            continue;
        }
        let file = path.to_string_lossy();
        dbplan_provider::files::write_private(address, "rendered object", &file, yaml.as_bytes())?;
        eprintln!("wrote {}", Escaped(path.display()));
        written += 1;
    }
    let rendered: BTreeSet<PathBuf> = files.keys().map(|name| out.join(name)).collect();
    let mut others = Vec::new();
    for entry in walk(out)? {
        if !rendered.contains(&entry) {
            others.push(entry);
        }
    }
    for other in &others {
        eprintln!(
            "left in place (not rendered by this run): {}",
            Escaped(other.display())
        );
    }
    eprintln!(
        "rendered {} to {}: {written} written, {unchanged} unchanged, {} left in place",
        output::plural(files.len(), "object"),
        Escaped(out.display()),
        others.len()
    );
    Ok(Outcome::Success)
}

/// The files under a directory, recursively, sorted (links listed, not followed).
fn walk(directory: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![directory.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}
