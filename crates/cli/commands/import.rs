//! `dbplan import ADDR ID PATH...`: record an existing remote object in state, changing
//! nothing remote.
//!
//! Like `terraform import`, the object must be declared in the manifests (ADDR names it) and
//! ID is what its provider knows it by. The object is read by its provider (the same read
//! refresh makes) and recorded `ready` with its id, the attributes as read, the outputs the
//! read shows, the dependencies from the graph and the lifecycle and waivers from the
//! manifest, as apply would record it. The next `plan` then shows how the object differs from
//! its manifest. What cannot be read back (a role's password) is not recorded, and the plan
//! sets it.
//!
//! Refused, with nothing written: an address that is not in the manifests, that is already in
//! state, that names a component without its part; a kind or part that is not a remote object
//! dbplan could read (a file dbplan writes, a server it only connects to); a dependency that is
//! not in state yet; an ID the provider does not find.

use crate::exit::Outcome;
use crate::output;
use crate::shared::{self, Session};
use dbplan_core::{Kind, ResourceAddress, Value};
use dbplan_diagnostics::Severity;
use dbplan_diagnostics::escape::Escaped;
use dbplan_graph::GraphNode;
use dbplan_plan::refresh::context_of;
use dbplan_plan::{Desired, SecretSource};
use dbplan_provider::{ReadOutcome, ReadRequest};
use dbplan_state::{ResourceState, Snapshot, StateKey, StateStore, StateValue, Status};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The arguments of `dbplan import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The address the manifests declare it at: `Kind/name`, or `Kind/name/part` for a part
    /// of a component (e.g. `TenantDatabase/billing/role`).
    address: String,
    /// What the provider knows the object by (docs/kinds.md): a role or database name, an
    /// AWS identifier (`vpc-…`, `sg-…`, a cluster identifier, a group name), a
    /// DigitalOcean UUID (`CLUSTER_ID/POOL` for a pool).
    id: String,
    /// Manifest files or directories (read recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The state directory; `./state` when neither this nor `DBPLAN_STATE` is set.
    #[arg(long, env = "DBPLAN_STATE")]
    state: Option<PathBuf>,
    /// Allow `file` fields (connection secrets, CA certificates) outside the project (the
    /// directories of the paths named here); never inside the state directory.
    #[arg(long, env = "DBPLAN_ALLOW_FILES_OUTSIDE", value_parser = clap::builder::BoolishValueParser::new())]
    allow_files_outside: bool,
}

const HOLDER: &str = "dbplan import";

/// Says why the import is refused; nothing was written.
fn refuse(message: impl std::fmt::Display) -> anyhow::Result<Outcome> {
    eprintln!("error: {}", Escaped(message.to_string()));
    eprintln!("nothing was imported");
    Ok(Outcome::Failure)
}

// Long: the import checks in the order they refuse (manifests, address, importable kind, provider,
// state, desired object, remote read) before the one record is written; kept in one pass so that
// order reads top to bottom.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let state = shared::state_location(args.state.as_deref())?;
    let (set, graph, mut diagnostics) = shared::load(&args.paths);
    let project =
        dbplan_plan::files::Project::new(&args.paths, state.directory(), args.allow_files_outside);
    diagnostics.extend(dbplan_plan::files::check_manifests(&set, &project));
    if diagnostics
        .iter()
        .any(|diagnostic| diagnostic.severity == Severity::Error)
    {
        let summary = output::report(&set.sources, &diagnostics);
        eprintln!("nothing was imported: {}", output::counts(summary));
        return Ok(Outcome::Failure);
    }
    let node = match find_node(&graph, &args.address) {
        Ok(node) => node,
        Err(message) => return refuse(message),
    };
    let address = node.address.to_string();
    if let Some(reason) = not_importable(node) {
        return refuse(format!("{address} cannot be imported: {reason}"));
    }
    let session = Session::start()?;
    let Some(provider) = session.providers.for_kind(node.address.kind) else {
        return refuse(format!(
            "{address} cannot be imported: this build has no provider for {}",
            node.address.kind
        ));
    };

    // Checked first on the state as it is, without creating one or taking the lock, so that a
    // refusal writes nothing; checked again under the lock before the record is written.
    let (snapshot, key) = shared::read_state(&state, HOLDER)?;
    if let Err(message) = check_state(&snapshot, &graph, node) {
        return refuse(message);
    }
    let key = match key {
        Some(key) => key,
        // Only secrets are fingerprinted with it, and an import records none.
        None => StateKey::generate()?,
    };
    let env = |name: &str| std::env::var(name).ok();
    let desired_set = dbplan_plan::desired::desired(&set, &graph, &env, &key);
    let Some(desired) = desired_set
        .objects
        .into_iter()
        .find(|object| object.address == node.address)
    else {
        return refuse(format!(
            "{address} is declared, but the manifests give it nothing to plan; check them with `dbplan validate`"
        ));
    };

    let request = ReadRequest {
        address: node.address.clone(),
        provider_id: Some(args.id.clone()),
        attributes: known_plain(&desired, &snapshot),
        outputs: BTreeMap::new(),
        context: context_of(&snapshot, &desired.dependencies),
        declared: dbplan_plan::refresh::declared_attributes(&desired.attributes, &desired.secrets),
    };
    let remote = match session.runtime.block_on(provider.read(&request)) {
        Ok(ReadOutcome::Found(remote)) => remote,
        Ok(ReadOutcome::Gone) => {
            return refuse(format!(
                "{address}: the {} provider finds no object with the id {:?}; check the id (docs/kinds.md says what each kind takes)",
                provider.name(),
                args.id
            ));
        }
        Err(error) => {
            eprintln!("error: reading {}: {}", Escaped(&address), Escaped(&error));
            eprintln!("nothing was imported");
            return Ok(Outcome::Failure);
        }
    };

    let mut record = ResourceState::new(node.address.clone());
    record.provider_id = Some(
        remote
            .provider_id
            .clone()
            .unwrap_or_else(|| args.id.clone()),
    );
    // As refresh sees a record: what the provider reads, in place of what the manifest plans;
    // what it does not read (settings of dbplan's own, such as `apply_immediately`) as planned.
    // Only what the manifest plans in plain: an attribute the read shows but the manifest does
    // not set (a DigitalOcean cluster's maintenance window) is left out, as apply leaves it out
    // and refresh does not compare it; recorded, the plan would take it for one removed from
    // the manifest. A secret is never recorded from a read.
    let mut attributes = request.attributes.clone();
    attributes.extend(remote.attributes.iter().filter_map(|(name, value)| {
        desired
            .attributes
            .get(name)
            .filter(|planned| !matches!(planned, Value::Sensitive(_)))
            .map(|_| (name.clone(), value.clone()))
    }));
    record.attributes = attributes
        .into_iter()
        .map(|(name, value)| (name, StateValue::plain(value)))
        .collect();
    record.outputs = remote.outputs.clone();
    record.dependencies = desired.dependencies.clone();
    record.status = Status::Ready;
    record.lifecycle = desired.lifecycle.clone();
    record.waivers = desired.waivers.clone();

    let store = shared::open_state(&state, HOLDER)?;
    // Another writer may have recorded it (or removed a dependency) since the first check.
    if let Err(message) = check_state(&store.snapshot()?, &graph, node) {
        store.close()?;
        return refuse(message);
    }
    let serial = store.put(&record)?;
    store.close()?;

    println!(
        "Imported {} (id {}): recorded in the state (serial {serial}); nothing was changed.",
        Escaped(&address),
        Escaped(record.provider_id.as_deref().unwrap_or_default())
    );
    for output in
        dbplan_plan::knowledge::generated_outputs(node.address.kind, node.address.part.as_deref())
    {
        if !record.outputs.contains_key(*output) {
            println!(
                "Its `{output}` cannot be read back, so dbplan does not know it: the next apply sets a new one."
            );
        }
    }
    // A secret of the manifest (an Aurora master password from `secretEnv`) is not read back
    // either: the plan sets it, replacing the one the object has.
    for (attribute, secret) in &desired.secrets {
        let from = match &secret.source {
            SecretSource::Env(variable) => format!(" (from ${})", Escaped(variable)),
            SecretSource::Literal => String::new(),
        };
        println!(
            "Its `{}` is a secret dbplan cannot read back: the next apply sets the manifest's{from}, replacing the current one.",
            Escaped(attribute)
        );
    }
    println!("Run `dbplan plan` to see how it differs from its manifest.");
    Ok(Outcome::Success)
}

/// The graph node ADDR names, or why there is none.
fn find_node<'g>(graph: &'g dbplan_graph::Graph, address: &str) -> Result<&'g GraphNode, String> {
    let nodes = graph.nodes();
    if let Some(node) = nodes
        .iter()
        .find(|node| node.address.to_string() == address)
    {
        return Ok(node);
    }
    // A component's address without its part: say which parts it has.
    let parts: Vec<String> = nodes
        .iter()
        .filter(|node| node.address.part.is_some() && node.address.root().to_string() == address)
        .map(|node| node.address.to_string())
        .collect();
    if !parts.is_empty() {
        return Err(format!(
            "{address} is a component; import each of its parts on its own: {}",
            parts.join(", ")
        ));
    }
    if address.parse::<ResourceAddress>().is_err() {
        return Err(format!(
            "{address:?} is not a resource address; write `Kind/name` or `Kind/name/part`, e.g. `TenantDatabase/billing/role`"
        ));
    }
    Err(format!(
        "{address} is not declared in the manifests given; declare it first (import records an object for a manifest), or check the address with `dbplan graph`"
    ))
}

/// Why an object is not one to import, if it is not.
fn not_importable(node: &GraphNode) -> Option<String> {
    let address = &node.address;
    match (address.kind, address.part.as_deref()) {
        (Kind::PostgresServer, _) => Some(format!(
            "dbplan never creates or changes a PostgresServer, it only connects to it; `dbplan apply --target {address}` records it after checking the connection"
        )),
        (Kind::AwsRdsClusterReference | Kind::DigitalOceanDatabaseClusterReference, _) => Some(format!(
            "dbplan never creates or changes a referenced cluster, it only reads it; `dbplan apply --target {address}` records it after reading it"
        )),
        (Kind::TenantDatabase, Some("connection-secret")) => Some(
            "a connection secret is a file dbplan writes from the role's password, which an import cannot know; import the role and the database, and the next apply writes the file (one dbplan did not write is left alone unless the manifest adopts it)".to_owned(),
        ),
        (Kind::DigitalOceanDatabaseCaCertificate, _) => Some(
            "a CA certificate is a file dbplan writes from its cluster's certificate; import the cluster, and the next apply writes the file".to_owned(),
        ),
        _ => None,
    }
}

/// Refuses an address already in state, or one whose dependencies are not all recorded.
fn check_state(
    snapshot: &Snapshot,
    graph: &dbplan_graph::Graph,
    node: &GraphNode,
) -> Result<(), String> {
    let address = &node.address;
    if let Some(recorded) = snapshot.resources.get(address) {
        let id = recorded
            .provider_id
            .as_deref()
            .map(|id| format!(" (id {id})"))
            .unwrap_or_default();
        return Err(format!(
            "{address} is already in the state{id}; `dbplan state rm {address}` forgets it first if it should record another object"
        ));
    }
    let missing: Vec<String> = graph
        .dependencies(&node.address)
        .into_iter()
        .filter(|dependency| !snapshot.resources.contains_key(*dependency))
        .map(ToString::to_string)
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{address} depends on {}, which {} not in the state yet; import or apply {} first",
            missing.join(", "),
            if missing.len() == 1 { "is" } else { "are" },
            if missing.len() == 1 { "it" } else { "them" }
        ));
    }
    Ok(())
}

/// The planned attributes the provider may read the object with: references resolved from
/// the state, and only what is known and plain (a secret, or a reference to an output not
/// recorded, is left out, and so not recorded: the plan then sets it).
fn known_plain(desired: &Desired, snapshot: &Snapshot) -> BTreeMap<String, serde_json::Value> {
    dbplan_plan::diff::resolve(&desired.attributes, &desired.references, snapshot)
        .into_iter()
        .filter(|(_, value)| !matches!(value, Value::Sensitive(_)) && !value.contains_unknown())
        .map(|(name, value)| (name, value.to_json_exposed()))
        .collect()
}
