//! The files dbplan writes for applications (a `TenantDatabase`'s connection secret, a
//! `DigitalOceanDatabaseCaCertificate`): where they go, and whether dbplan may write there.
//!
//! - **Resolution.** A relative `file` is relative to the manifest file that declares it
//!   ([`resolve`]). The plan carries the resolved path, relative to the directory dbplan runs
//!   in when the manifests were named relative to it (`secrets/app.env` in
//!   `deploy/tenants.yaml`, planned as `dbplan plan deploy`, is `deploy/secrets/app.env`), so
//!   the plan shows where the file lands and state records where it is.
//! - **The project** is the directories of the paths named on the command line (a directory
//!   itself; a file's directory). A file outside it (an absolute path, `..` leading out, a
//!   directory link leading out) is refused unless allowed ([`Project::allow_outside`]).
//! - **The state directory** is never written to, whatever is allowed: paths are compared after
//!   resolving links in their directories.
//! - **Existing files.** [`existing_files`] looks at the disk when the plan is made (locally, so
//!   an offline plan says the same): a file dbplan would write where a file it did not write
//!   exists is reported ("would overwrite an existing file"; apply refuses unless the resource
//!   adopts it), and a file dbplan would remove that changed since it wrote it is reported as
//!   left in place.
//!
//! This module reads the file system; the diff never calls it.

use crate::desired::{ADOPT, Desired};
use crate::model::{Change, Plan};
use dbplan_core::{Action, Kind, Value};
use dbplan_diagnostics::{Code, Diagnostic, SourceMap};
use dbplan_graph::Part;
use dbplan_manifest::codes;
use dbplan_manifest::{ManifestSet, Resource, Spec};
use dbplan_provider::files::{
    ADOPT_ATTRIBUTE, FINGERPRINT_OUTPUT, KEY_OUTPUT, matches_recorded, normalize, real_directory,
    real_path, same_place,
};
use dbplan_state::Snapshot;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The environment variable that allows files outside the project (`1`, `true`, `yes`).
pub const ALLOW_OUTSIDE_VARIABLE: &str = "DBPLAN_ALLOW_FILES_OUTSIDE";
/// The flag that does the same.
pub const ALLOW_OUTSIDE_FLAG: &str = "--allow-files-outside";

/// The file field a resource declares: its JSON pointer and the path as written.
pub fn file_field(resource: &Resource) -> Option<(&'static str, &str)> {
    match &resource.spec {
        Spec::TenantDatabase(spec) => spec
            .connection_secret
            .as_ref()
            .and_then(|secret| secret.file())
            .map(|file| ("/spec/connection_secret/file", file)),
        Spec::DigitalOceanDatabaseCaCertificate(spec) => Some(("/spec/file", spec.file.as_str())),
        _ => None,
    }
}

/// Whether a part of a resource is the one that writes its file.
fn writes_file(resource: &Resource, part: &Part) -> bool {
    matches!(
        (&resource.spec, part),
        (Spec::TenantDatabase(_), Part::ConnectionSecret)
            | (Spec::DigitalOceanDatabaseCaCertificate(_), Part::Whole)
    )
}

/// Whether the object at an address is the one that writes a file (a tenant's connection
/// secret, a CA certificate).
pub fn writes_file_at(address: &dbplan_core::ResourceAddress) -> bool {
    matches!(
        (address.kind, address.part.as_deref()),
        (Kind::TenantDatabase, Some("connection-secret"))
            | (Kind::DigitalOceanDatabaseCaCertificate, None)
    )
}

/// The path of the manifest file that declares a resource, as it was named.
fn manifest_path<'a>(sources: &'a SourceMap, resource: &Resource) -> Option<&'a Path> {
    sources
        .get(resource.document.span.file)
        .map(|source| Path::new(source.name()))
}

/// `written` taken relative to the directory of `manifest`, normalised.
pub fn resolve(manifest: &Path, written: &str) -> PathBuf {
    let base = manifest.parent().unwrap_or_else(|| Path::new(""));
    normalize(&base.join(written))
}

/// Whether the declaring resource adopts what exists (`dbplan.io/adopt: "true"`).
pub fn adopts(resource: &Resource) -> bool {
    resource
        .metadata
        .annotations
        .get(ADOPT)
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
}

/// Puts the resolved path into the attributes of the part that writes a file, and the
/// adoption of an existing file where the manifest asks for it.
pub(crate) fn resolve_in(
    object: &mut Desired,
    resource: &Resource,
    part: &Part,
    sources: &SourceMap,
) {
    if !writes_file(resource, part) {
        return;
    }
    // A Kubernetes Secret is adopted like a file: only when the manifest says so.
    if adopts(resource) {
        object
            .attributes
            .insert(ADOPT_ATTRIBUTE.to_owned(), Value::Bool(true));
    }
    let (Some((_, written)), Some(manifest)) =
        (file_field(resource), manifest_path(sources, resource))
    else {
        return;
    };
    let resolved = Value::String(resolve(manifest, written).display().to_string());
    match &resource.spec {
        Spec::TenantDatabase(_) => {
            if let Some(Value::Map(settings)) = object.attributes.get_mut("connection_secret") {
                settings.insert("file".to_owned(), resolved);
            }
        }
        _ => {
            object.attributes.insert("file".to_owned(), resolved);
        }
    }
}

/// Where dbplan may write: the project's directories and the state directory, resolved.
#[derive(Clone, Debug)]
pub struct Project {
    roots: Vec<PathBuf>,
    state: Option<PathBuf>,
    /// Files outside the project are allowed (`--allow-files-outside`).
    pub allow_outside: bool,
}

/// Why dbplan may not write a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub code: Code,
    pub message: String,
    pub help: String,
}

impl Project {
    /// The project of the paths named on the command line (each a directory, or a file whose
    /// directory counts), and the state directory, if there is one.
    pub fn new(paths: &[PathBuf], state: Option<&Path>, allow_outside: bool) -> Project {
        let roots = paths
            .iter()
            .map(|path| {
                let directory = if path.is_dir() {
                    path.as_path()
                } else {
                    path.parent().unwrap_or_else(|| Path::new(""))
                };
                let directory = if directory.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    directory
                };
                real_directory(&absolute(directory))
            })
            .collect();
        Project {
            roots,
            state: state.map(|state| real_directory(&absolute(state))),
            allow_outside,
        }
    }

    /// Why `resolved` (written in the manifest as `written`) may not be written, if it may not.
    pub fn refusal(&self, written: &str, resolved: &Path) -> Option<Refusal> {
        let real = real_path(resolved);
        if let Some(state) = &self.state
            && real.starts_with(state)
        {
            return Some(Refusal {
                code: codes::FILE_IN_STATE,
                message: format!(
                    "`file` {written:?} resolves to {}, inside the state directory {}; dbplan never writes there (it would damage the state)",
                    real.display(),
                    state.display()
                ),
                help: "choose a path outside the state directory, e.g. `secrets/NAME.env` next to the manifest".to_owned(),
            });
        }
        if self.allow_outside {
            return None;
        }
        let help = format!(
            "write a path relative to the manifest that stays inside the project, e.g. `secrets/NAME.env`; or allow files outside it with {ALLOW_OUTSIDE_FLAG} ({ALLOW_OUTSIDE_VARIABLE}=1)"
        );
        if Path::new(written).is_absolute() {
            return Some(Refusal {
                code: codes::FILE_OUTSIDE_PROJECT,
                message: format!("`file` {written:?} is an absolute path"),
                help,
            });
        }
        if !self.roots.iter().any(|root| real.starts_with(root)) {
            return Some(Refusal {
                code: codes::FILE_OUTSIDE_PROJECT,
                message: format!(
                    "`file` {written:?} resolves to {}, outside the project ({})",
                    real.display(),
                    self.roots
                        .iter()
                        .map(|root| root.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                help,
            });
        }
        None
    }
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|directory| directory.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    }
}

/// The file problems of the manifests: each at its `file` field.
pub fn check_manifests(set: &ManifestSet, project: &Project) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    for resource in &set.resources {
        let (Some((pointer, written)), Some(manifest)) =
            (file_field(resource), manifest_path(&set.sources, resource))
        else {
            continue;
        };
        if let Some(refusal) = project.refusal(written, &resolve(manifest, written)) {
            diagnostics.push(
                Diagnostic::error(refusal.code)
                    .with_message(refusal.message)
                    .with_help(refusal.help)
                    .with_span(resource.span_at(pointer))
                    .with_resource(resource.address.to_string()),
            );
        }
    }
    diagnostics
}

/// The path a change writes (its planned `file`), for the parts that write files.
fn planned_file(change: &Change) -> Option<&str> {
    file_of(change.kind(), change.part(), &change.after)
}

fn file_of<'a>(
    kind: Kind,
    part: Option<&str>,
    attributes: &'a BTreeMap<String, Value>,
) -> Option<&'a str> {
    match (kind, part) {
        (Kind::TenantDatabase, Some("connection-secret")) => {
            match attributes.get("connection_secret") {
                Some(Value::Map(settings)) => settings.get("file").and_then(Value::as_str),
                _ => None,
            }
        }
        (Kind::DigitalOceanDatabaseCaCertificate, None) => {
            attributes.get("file").and_then(Value::as_str)
        }
        _ => None,
    }
}

/// The problems of a saved plan's files (for `apply FILE`, whose manifests are not at hand):
/// one sentence each, naming the object.
pub fn check_plan(plan: &Plan, project: &Project) -> Vec<String> {
    plan.changes
        .iter()
        .filter(|change| {
            matches!(
                change.action,
                Action::Create | Action::Adopt | Action::Update | Action::Replace
            )
        })
        .filter_map(|change| {
            let file = planned_file(change)?;
            let refusal = project.refusal(file, Path::new(file))?;
            Some(format!(
                "{}: {}; {}",
                change.address, refusal.message, refusal.help
            ))
        })
        .collect()
}

/// The recorded file of an object and its recorded outputs, from state.
fn recorded(
    state: &Snapshot,
    change: &Change,
) -> Option<(String, BTreeMap<String, dbplan_provider::Field>)> {
    // A pending record is a write dbplan attempted; the file there may still be someone
    // else's (the attempt may have been refused), so only its fingerprint can tell.
    let resource = state
        .resources
        .get(&change.address)
        .filter(|resource| resource.status != dbplan_state::Status::Pending)?;
    let attributes: BTreeMap<String, Value> = resource
        .attributes
        .iter()
        .filter(|(_, value)| !value.sensitive)
        .map(|(name, value)| (name.clone(), Value::from_json(&value.value)))
        .collect();
    let file = file_of(change.kind(), change.part(), &attributes)?.to_owned();
    Some((file, crate::refresh::fields(&resource.outputs)))
}

/// What the files on disk mean for a plan: a warning at the manifest's `file` field (when
/// the manifests are at hand) and a plan notice for each file dbplan would overwrite without
/// having written it, and a notice for each file it would leave in place because it changed.
pub fn existing_files(
    plan: &Plan,
    state: &Snapshot,
    set: Option<&ManifestSet>,
) -> (Vec<Diagnostic>, Vec<String>) {
    let mut diagnostics = Vec::new();
    let mut notices = Vec::new();
    for change in &plan.changes {
        let recorded = recorded(state, change);
        let writes = matches!(
            change.action,
            Action::Create | Action::Adopt | Action::Update | Action::Replace
        );
        if writes && let Some(file) = planned_file(change) {
            let ours = recorded.as_ref().is_some_and(|(old, outputs)| {
                same_place(old, file)
                    || std::fs::read(file)
                        .is_ok_and(|contents| matches_recorded(outputs, &contents) == Some(true))
            });
            if std::fs::symlink_metadata(file).is_ok() && !ours {
                let adopted = matches!(change.after.get(ADOPT_ATTRIBUTE), Some(Value::Bool(true)));
                if adopted {
                    notices.push(format!(
                        "{}: will overwrite the existing file {file}, which dbplan did not write (the resource opts into adopting it)",
                        change.address
                    ));
                } else {
                    notices.push(format!(
                        "{}: would overwrite an existing file {file}, which dbplan did not write; apply refuses unless the resource is annotated `{ADOPT}: \"true\"` (or `--adopt {}` is given)",
                        change.address, change.address
                    ));
                    if let Some(resource) = set.and_then(|set| declaring(set, change)) {
                        let pointer = file_field(resource).map_or("/spec", |(pointer, _)| pointer);
                        diagnostics.push(
                            Diagnostic::warning(codes::FILE_EXISTS)
                                .with_message(format!(
                                    "{file} exists and dbplan did not write it; apply will not replace it"
                                ))
                                .with_help(format!(
                                    "move the file away or choose another `file`; to let dbplan replace it, annotate the resource `{ADOPT}: \"true\"` or pass `--adopt {}`",
                                    change.address
                                ))
                                .with_span(resource.span_at(pointer))
                                .with_resource(change.address.to_string()),
                        );
                    }
                }
            }
        }
        // A file dbplan removes (a delete, or a file that moves) is left in place when it
        // changed since dbplan wrote it.
        let removes = match change.action {
            Action::Delete | Action::Replace => true,
            Action::Update => recorded
                .as_ref()
                .zip(planned_file(change))
                .is_some_and(|((old, _), new)| !same_place(old, new)),
            _ => false,
        };
        if removes
            && let Some((old, outputs)) = &recorded
            && outputs.contains_key(KEY_OUTPUT)
            && outputs.contains_key(FINGERPRINT_OUTPUT)
            && std::fs::read(old)
                .is_ok_and(|contents| matches_recorded(outputs, &contents) == Some(false))
        {
            notices.push(format!(
                "{}: {old} changed since dbplan wrote it; it is left in place",
                change.address
            ));
        }
    }
    (diagnostics, notices)
}

fn declaring<'a>(set: &'a ManifestSet, change: &Change) -> Option<&'a Resource> {
    set.resources.iter().find(|resource| {
        resource.address.kind == change.kind() && resource.address.name == change.address.name
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn relative_files_resolve_next_to_their_manifest() {
        assert_eq!(
            resolve(Path::new("tenants.yaml"), "secrets/a.env"),
            Path::new("secrets/a.env")
        );
        assert_eq!(
            resolve(Path::new("./tenants.yaml"), "./secrets/a.env"),
            Path::new("secrets/a.env")
        );
        assert_eq!(
            resolve(Path::new("deploy/prod/tenants.yaml"), "../secrets/a.env"),
            Path::new("deploy/secrets/a.env")
        );
        assert_eq!(
            resolve(Path::new("deploy/tenants.yaml"), "/etc/a.env"),
            Path::new("/etc/a.env")
        );
    }

    #[test]
    fn outside_the_project_and_inside_the_state_are_refused() {
        let directory = tempfile::tempdir().unwrap();
        let project = directory.path().join("project");
        let state = project.join("state");
        std::fs::create_dir_all(&state).unwrap();
        let manifest = project.join("tenants.yaml");
        std::fs::write(&manifest, "").unwrap();
        std::os::unix::fs::symlink(&state, project.join("innocent")).unwrap();
        let strict = Project::new(std::slice::from_ref(&manifest), Some(&state), false);
        let allowing = Project::new(std::slice::from_ref(&manifest), Some(&state), true);
        let check = |project: &Project, written: &str| {
            project
                .refusal(written, &resolve(&manifest, written))
                .map(|refusal| refusal.code.as_str())
        };
        assert_eq!(check(&strict, "secrets/a.env"), None);
        assert_eq!(check(&strict, "../a.env"), Some("M024"));
        assert_eq!(check(&strict, "/tmp/a.env"), Some("M024"));
        assert_eq!(check(&allowing, "../a.env"), None);
        assert_eq!(check(&allowing, "state/head.json"), Some("M025"));
        assert_eq!(
            check(&allowing, "innocent/db/x"),
            Some("M025"),
            "through a link"
        );
        assert_eq!(check(&strict, "innocent/../secrets/a.env"), None);
    }
}
