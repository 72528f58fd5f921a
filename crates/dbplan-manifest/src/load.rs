use crate::checks::Check;
use crate::codes;
use crate::input::{self, InputError, Roots};
use crate::kinds::{self, Spec};
use crate::limits::{self, YamlLimits};
use crate::metadata::Metadata;
use crate::node::{Node, NodeValue, RawNode};
use crate::schema::{self, ReferenceSite, Walker};
use dbplan_core::{Kind, ResourceAddress};
use dbplan_diagnostics::{Code, Diagnostic, FileId, SourceFile, SourceMap, Span};
use serde_saphyr::Spanned;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// One resource declared by one manifest document.
#[derive(Clone, Debug)]
pub struct Resource {
    pub address: ResourceAddress,
    pub metadata: Metadata,
    pub spec: Spec,
    /// The whole document, normalised (snake_case keys), with spans.
    pub document: Node,
    /// Every value-or-reference field in the document.
    pub references: Vec<ReferenceSite>,
}

impl Resource {
    pub fn kind(&self) -> Kind {
        self.address.kind
    }

    /// The span of the value at a JSON pointer (or of its deepest existing parent).
    pub fn span_at(&self, pointer: &str) -> Span {
        self.document.locate(pointer).span()
    }

    /// The span of `metadata.name`, where diagnostics about the whole resource point.
    pub fn name_span(&self) -> Span {
        self.span_at("/metadata/name")
    }
}

/// Everything a run loaded: the source files and the valid resources, in input order.
#[derive(Debug, Default)]
pub struct ManifestSet {
    pub sources: SourceMap,
    pub resources: Vec<Resource>,
    /// Number of documents read, valid or not.
    pub documents: usize,
    /// Resources whose documents had errors: their references are still checked, but they are
    /// not part of the graph.
    pub invalid: Vec<InvalidResource>,
}

/// A resource whose document had errors (already reported).
#[derive(Debug)]
pub struct InvalidResource {
    pub address: ResourceAddress,
    pub references: Vec<ReferenceSite>,
    /// What the policies still see of it, when its document has the kind's shape at all.
    pub partial: Option<PartialResource>,
}

/// A resource whose document failed schema validation, as the policies see it: the fields that
/// failed are unknown and every other field is checked (see [`crate::partial`]).
#[derive(Debug)]
pub struct PartialResource {
    /// The resource with its unknown fields left out, or holding a stand-in where the kind
    /// requires them.
    pub resource: Resource,
    /// The spec with other stand-ins in the unknown fields, one per candidate (see
    /// [`crate::partial`]): a finding that does not hold for every spec rests on an unknown
    /// value.
    pub alternatives: Vec<Spec>,
    /// JSON pointers of the unknown fields.
    pub unknown: Vec<String>,
}

impl PartialResource {
    /// Whether a finding at this JSON pointer points at, inside or next to an unknown field.
    pub fn rests_on_unknown(&self, pointer: &str) -> bool {
        self.unknown
            .iter()
            .any(|unknown| crate::partial::related(pointer, unknown))
    }

    /// The resource with alternative spec `index` (wrapping around: a resource with fewer
    /// candidates than another repeats its own).
    pub fn alternative_resource(&self, index: usize) -> Resource {
        let mut resource = self.resource.clone();
        if let Some(alternative) = self
            .alternatives
            .get(index.checked_rem(self.alternatives.len()).unwrap_or(0))
        {
            resource.spec = alternative.clone();
        }
        resource
    }
}

impl ManifestSet {
    /// Whether a document declares this address, valid or not.
    pub fn declares(&self, address: &ResourceAddress) -> bool {
        self.get(address).is_some()
            || self
                .invalid
                .iter()
                .any(|resource| &resource.address == address)
    }

    /// The resources whose documents failed validation, as the policies still see them.
    pub fn partial(&self) -> impl Iterator<Item = &PartialResource> {
        self.invalid
            .iter()
            .filter_map(|invalid| invalid.partial.as_ref())
    }

    pub fn get(&self, address: &ResourceAddress) -> Option<&Resource> {
        self.resources
            .iter()
            .find(|resource| &resource.address == address)
    }
}

/// Loads manifests into a [`ManifestSet`], collecting diagnostics.
///
/// Sources are registered in input order; [`Loader::finish`] parses and checks them, several
/// files at a time (each file's documents are independent of every other file's), then merges
/// the results in input order, so the outcome does not depend on the number of threads.
#[derive(Debug, Default)]
pub struct Loader {
    set: ManifestSet,
    diagnostics: Vec<Diagnostic>,
    /// Sources registered but not loaded yet, in input order.
    pending: Vec<FileId>,
    /// The paths named by the user: symbolic links are followed only while they stay inside.
    roots: Roots,
    /// The size cap of one file, read from the environment once (on the first file).
    cap: Option<u64>,
}

/// What one file yields. Computed without looking at any other file.
#[derive(Debug, Default)]
struct FileOutcome {
    documents: usize,
    diagnostics: Vec<Diagnostic>,
    /// Valid resources with the span of their name (for duplicate reports).
    resources: Vec<(Resource, Span)>,
    invalid: Vec<InvalidResource>,
    /// Literal secrets, masked in the source text once every file is loaded.
    redactions: Vec<Span>,
    /// The same secrets as text, removed from this file's diagnostic messages (a wrong-type
    /// error names the value it found).
    secret_texts: Vec<String>,
}

/// Fields that hold secrets, per kind: a literal value there is masked in the loaded source
/// text, so no excerpt, message or output shows it.
fn secret_pointers(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::AwsRdsCluster => &["/spec/password"],
        Kind::PostgresServer => &["/spec/admin_password"],
        Kind::AwsRdsClusterReference => &["/spec/master_password"],
        _ => &[],
    }
}

fn diagnostic(code: Code) -> Diagnostic {
    Diagnostic::error(code)
}

/// Loads every `*.yaml`/`*.yml` file under the given paths (files or directories, recursively).
/// The paths are the roots: a symbolic link under one of them is followed only when its target
/// is inside one of them too.
pub fn load_paths(paths: &[PathBuf]) -> (ManifestSet, Vec<Diagnostic>) {
    let mut loader = Loader::default();
    // Every root is known before the first walk, so a link from one root into another is
    // followed whatever the order of the paths.
    for path in paths {
        loader.add_root(path);
    }
    for path in paths {
        loader.add_path(path);
    }
    loader.finish()
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|extension| extension.to_str()),
        Some("yaml" | "yml")
    )
}

impl Loader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a root: a path the user named, inside which symbolic links may be followed.
    /// [`Loader::add_path`] adds its own path; [`load_paths`] adds all of them first.
    pub fn add_root(&mut self, path: &Path) {
        self.roots.add(path);
    }

    /// The size cap of one input file. An unreadable `DBPLAN_MAX_INPUT_BYTES` is reported once
    /// and the default applies.
    fn cap(&mut self) -> u64 {
        if let Some(cap) = self.cap {
            return cap;
        }
        let cap = input::max_input_bytes().unwrap_or_else(|error| {
            self.diagnostics.push(error.to_diagnostic());
            input::DEFAULT_MAX_INPUT_BYTES
        });
        self.cap = Some(cap);
        cap
    }

    /// Adds a file, or every YAML file under a directory in a stable (sorted) order.
    ///
    /// The path itself is a root, even when it is a symbolic link: the user named it. Below it,
    /// a symbolic link is followed only when its target is inside a root; FIFOs, sockets and
    /// devices named like manifests are reported, never opened.
    pub fn add_path(&mut self, path: &Path) {
        self.add_root(path);
        if path.is_dir() {
            let mut found = 0;
            let roots = self.roots.clone();
            // Links that lead outside, found while walking: reported, and not descended into.
            let mut outside: Vec<InputError> = Vec::new();
            let walker = walkdir::WalkDir::new(path)
                .follow_links(true)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(|entry| {
                    if entry.depth() == 0 || !entry.path_is_symlink() {
                        return true;
                    }
                    match roots.check_link(entry.path()) {
                        Ok(_) => true,
                        Err(error) => {
                            // A link to something that is no manifest (not a directory, not
                            // named *.yaml) would not be read anyway; reporting it is noise.
                            if entry.file_type().is_dir() || is_yaml(entry.path()) {
                                outside.push(error);
                            }
                            false
                        }
                    }
                });
            let mut entries = Vec::new();
            for entry in walker {
                match entry {
                    Ok(entry) => entries.push(entry),
                    Err(error) => self.diagnostics.push(
                        diagnostic(codes::READ_ERROR)
                            .with_message(format!("{}: {error}", path.display()))
                            .with_help("check that the path exists and is readable"),
                    ),
                }
            }
            self.diagnostics
                .extend(outside.iter().map(InputError::to_diagnostic));
            for entry in entries {
                let file_type = entry.file_type();
                if file_type.is_dir() || !is_yaml(entry.path()) {
                    continue;
                }
                found += 1;
                // `read_bounded` refuses FIFOs, sockets and devices before opening them.
                self.add_file(entry.path());
            }
            if found == 0 {
                self.diagnostics.push(
                    diagnostic(codes::NO_MANIFESTS)
                        .with_message(format!("no *.yaml or *.yml files under {}", path.display()))
                        .with_help(
                            "pass a directory that contains manifests, or the files themselves",
                        ),
                );
            }
        } else {
            self.add_file(path);
        }
    }

    fn add_file(&mut self, path: &Path) {
        let cap = self.cap();
        match input::read_bounded_text(path, cap) {
            Ok(text) => self.add_source(&path.display().to_string(), text),
            Err(error) => self.diagnostics.push(error.to_diagnostic()),
        }
    }

    /// Adds one source text under a display name (used for files and by tests). It is loaded by
    /// [`Loader::finish`].
    pub fn add_source(&mut self, name: &str, text: String) {
        let file = self.set.sources.add(name, text);
        self.pending.push(file);
    }

    /// Loads every registered source and ends loading: resources in input order, diagnostics
    /// in stable order.
    pub fn finish(mut self) -> (ManifestSet, Vec<Diagnostic>) {
        let outcomes = load_files(&self.set.sources, &self.pending);
        // First declaration of each address, to report duplicates with both locations.
        let mut seen: BTreeMap<ResourceAddress, Span> = BTreeMap::new();
        for outcome in outcomes {
            for span in &outcome.redactions {
                self.set.sources.redact(*span);
            }
            self.set.documents += outcome.documents;
            let secrets = &outcome.secret_texts;
            self.diagnostics
                .extend(outcome.diagnostics.into_iter().map(|mut diagnostic| {
                    for secret in secrets {
                        if diagnostic.message.contains(secret.as_str()) {
                            diagnostic.message =
                                diagnostic.message.replace(secret.as_str(), "(sensitive)");
                        }
                        if let Some(help) = &mut diagnostic.help
                            && help.contains(secret.as_str())
                        {
                            *help = help.replace(secret.as_str(), "(sensitive)");
                        }
                    }
                    diagnostic
                }));
            self.set.invalid.extend(outcome.invalid);
            for (resource, name_span) in outcome.resources {
                let address = &resource.address;
                if let Some(first) = seen.get(address) {
                    self.diagnostics.push(
                        diagnostic(codes::DUPLICATE_RESOURCE)
                            .with_message(format!("{address} is declared twice"))
                            .with_help("give each resource of a kind its own `metadata.name`")
                            .with_span(name_span)
                            .with_label(*first, "first declared here")
                            .with_resource(address.to_string()),
                    );
                    continue;
                }
                seen.insert(address.clone(), name_span);
                self.set.resources.push(resource);
            }
        }
        let mut diagnostics = self.diagnostics;
        dbplan_diagnostics::sort_diagnostics(&mut diagnostics);
        (self.set, diagnostics)
    }
}

/// Loads files on as many threads as the machine has cores, returning the outcomes in the order
/// of `files`. Written with scoped threads and an atomic work index rather than a thread-pool
/// crate: it is the only parallel loop in the loader and needs nothing more.
///
/// Even one file is loaded on a thread of its own: parsing recurses once per nesting level of
/// the YAML, and an unoptimised build needs tens of KiB per level, more than a default 2 MiB
/// thread stack holds at the depth limit. The workers get [`limits::PARSE_STACK_BYTES`].
fn load_files(sources: &SourceMap, files: &[FileId]) -> Vec<FileOutcome> {
    if files.is_empty() {
        return Vec::new();
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(files.len());
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(&file) = files.get(index) else {
                break;
            };
            done.push((index, load_file(sources, file)));
        }
        done
    };
    let mut outcomes: Vec<(usize, FileOutcome)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .stack_size(limits::PARSE_STACK_BYTES)
                    .spawn_scoped(scope, work)
                    .ok()
            })
            .collect();
        let mut outcomes: Vec<(usize, FileOutcome)> = workers
            .into_iter()
            .flat_map(|worker| match worker.join() {
                Ok(done) => done,
                // A worker only panics on a bug; resume it so it is not silently lost.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect();
        // When no thread could be started (a process limit), this thread loads what is left.
        outcomes.extend(work());
        outcomes
    });
    outcomes.sort_by_key(|(index, _)| *index);
    outcomes.into_iter().map(|(_, outcome)| outcome).collect()
}

/// Parses one file and checks each of its documents.
fn load_file(sources: &SourceMap, file: FileId) -> FileOutcome {
    let mut out = FileOutcome::default();
    let Some(source) = sources.get(file) else {
        return out;
    };
    let limits = YamlLimits::for_len(source.text().len());
    let parsed: Result<Vec<Spanned<RawNode>>, serde_saphyr::Error> =
        serde_saphyr::from_multiple_with_options(source.text(), limits.options());
    match parsed {
        Ok(documents) => {
            for raw in documents {
                add_document(&mut out, Node::from_raw(raw, file, source));
            }
        }
        Err(error) => yaml_error(&mut out, source, file, &error, limits),
    }
    out
}

fn yaml_error(
    out: &mut FileOutcome,
    source: &SourceFile,
    file: FileId,
    error: &serde_saphyr::Error,
    limits: YamlLimits,
) {
    if let Some(diagnostic) = limits::limit_diagnostic(error, source, file, limits) {
        out.documents += 1;
        out.diagnostics.push(diagnostic);
        return;
    }
    let error = error.without_snippet();
    let span = error.location().and_then(|location| {
        let line = u32::try_from(location.line()).ok()?;
        let column = u32::try_from(location.column()).ok()?;
        let start = source.offset(line, column);
        Some(Span::new(file, start, start.saturating_add(1)))
    });
    let text = error.to_string();
    // serde-saphyr prefixes its messages with "error: line L column C: "; the location is
    // shown by our renderer, so only the message itself is kept.
    let message = text
        .trim_start_matches("error: ")
        .split_once(": ")
        .filter(|(prefix, _)| prefix.starts_with("line "))
        .map_or(text.as_str(), |(_, rest)| rest)
        .split(", set DuplicateKeyPolicy")
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    // The parser repeats the position at the end ("… at line 24, column 88"): drop it.
    let message = match message.rfind(" at line ") {
        Some(index) if message[index..].contains(", column ") => message[..index].to_owned(),
        _ => message,
    };
    let (code, help) = if message.contains("duplicate mapping key") {
        (
            codes::DUPLICATE_KEY,
            "remove one of the two entries; YAML keys must be unique",
        )
    } else {
        (
            codes::YAML_SYNTAX,
            "fix the YAML syntax at this position; the rest of this file was not read",
        )
    };
    out.documents += 1;
    out.diagnostics.push(
        diagnostic(code)
            .with_message(message)
            .with_help(help)
            .with_optional_span(span),
    );
}

/// Checks one document and adds what it yields to `out`: a resource, an invalid one (with its
/// partial view, for the policies), or only diagnostics.
fn add_document(out: &mut FileOutcome, mut document: Node) {
    out.documents += 1;
    let Some(kind) = document_kind(out, &document) else {
        return;
    };
    check_api_version(out, &document, kind);

    // Name, for the address.
    let name = document
        .get("metadata")
        .and_then(|metadata| metadata.get("name"))
        .and_then(Node::as_str)
        .map(str::to_owned);
    let address_text = match &name {
        Some(name) => format!("{kind}/{name}"),
        None => format!("{kind}/(unnamed)"),
    };

    // Schema-guided normalisation and schema validation.
    let kind_schema = kinds::kind_schema(kind);
    let Normalised {
        references,
        reported,
        mut diagnostics,
    } = normalise(&mut document, kind, &address_text);
    collect_secrets(out, kind, &document);
    let instance = document.to_json();
    diagnostics.extend(schema::validate(
        &kind_schema.validator,
        &kind_schema.schema,
        &document,
        &instance,
        &reported,
        kind,
        &address_text,
    ));
    let schema_valid = !diagnostics
        .iter()
        .any(|diagnostic| diagnostic.severity == dbplan_diagnostics::Severity::Error);
    // Placeholders such as `${cluster_id}` are a template that was never rendered.
    find_placeholders(&document, &address_text, &mut diagnostics);
    out.diagnostics.append(&mut diagnostics);
    let Some(name) = name else {
        return;
    };
    if !schema_valid {
        let partial = crate::partial::views(kind_schema, &instance, &reported).map(|views| {
            partial_resource(
                out,
                document,
                views,
                kind,
                &name,
                &address_text,
                &references,
            )
        });
        out.invalid.push(InvalidResource {
            address: ResourceAddress::new(kind, name),
            references,
            partial,
        });
        return;
    }

    add_typed(
        out,
        document,
        kind,
        name,
        &address_text,
        instance,
        references,
    );
}

/// What the schema-guided normalisation of a document found.
struct Normalised {
    references: Vec<ReferenceSite>,
    /// Pointers already reported, which schema validation leaves alone.
    reported: BTreeSet<String>,
    diagnostics: Vec<Diagnostic>,
}

/// Normalises a document in place by its kind's schema (lowerCamelCase keys, numeric strings,
/// reference forms), reporting unknown fields and collecting references.
fn normalise(document: &mut Node, kind: Kind, address_text: &str) -> Normalised {
    let kind_schema = kinds::kind_schema(kind);
    let mut references = Vec::new();
    let mut reported = BTreeSet::new();
    let mut diagnostics = Vec::new();
    let mut walker = Walker {
        root: &kind_schema.schema,
        diagnostics: &mut diagnostics,
        references: &mut references,
        reported: &mut reported,
        resource: address_text,
        kind,
        reference_forms: None,
    };
    walker.walk(&kind_schema.schema, document, &mut String::new());
    Normalised {
        references,
        reported,
        diagnostics,
    }
}

/// The document's kind: it must be a mapping with a `kind` dbplan knows (a non-canonical
/// spelling is accepted with a warning). `None` after reporting why not.
fn document_kind(out: &mut FileOutcome, document: &Node) -> Option<Kind> {
    let NodeValue::Map(_) = &document.value else {
        if !matches!(document.value, NodeValue::Null) {
            out.diagnostics.push(
                diagnostic(codes::NOT_A_MANIFEST)
                    .with_message(format!(
                        "a manifest document must be a mapping, found {}",
                        document.type_name()
                    ))
                    .with_help("write `apiVersion`, `kind`, `metadata` and `spec` keys")
                    .with_span(document.span),
            );
        }
        return None;
    };
    // Kind.
    let Some(kind_node) = document.get("kind") else {
        out.diagnostics.push(
            diagnostic(codes::MISSING_FIELD)
                .with_message("the document has no `kind`")
                .with_help(format!(
                    "add `kind:` with one of: {}",
                    kind_names().join(", ")
                ))
                .with_span(document.span),
        );
        return None;
    };
    let Some(kind_text) = kind_node.as_str() else {
        out.diagnostics.push(
            diagnostic(codes::WRONG_TYPE)
                .with_message(format!(
                    "`kind` must be a string, found {}",
                    kind_node.type_name()
                ))
                .with_help(format!("write one of: {}", kind_names().join(", ")))
                .with_span(kind_node.span),
        );
        return None;
    };
    let kind: Kind = match kind_text.parse() {
        Ok(kind) => kind,
        Err(_) => {
            let names = kind_names();
            let help = match schema::suggest(kind_text, &names) {
                Some(suggestion) => format!("did you mean `{suggestion}`?"),
                None => format!("dbplan knows: {}", names.join(", ")),
            };
            out.diagnostics.push(
                diagnostic(codes::UNKNOWN_KIND)
                    .with_message(format!("`{kind_text}` is not a kind dbplan knows"))
                    .with_help(help)
                    .with_span(kind_node.span),
            );
            return None;
        }
    };
    if kind.as_str() != kind_text {
        out.diagnostics.push(
            Diagnostic::warning(codes::UNKNOWN_KIND)
                .with_summary("non-canonical kind name")
                .with_message(format!("`{kind_text}` is accepted as `{kind}`"))
                .with_help(format!("write `kind: {kind}`"))
                .with_span(kind_node.span),
        );
    }
    Some(kind)
}

/// Records the literal values of the kind's secret fields, to be masked in the source text and
/// removed from messages.
fn collect_secrets(out: &mut FileOutcome, kind: Kind, document: &Node) {
    for pointer in secret_pointers(kind) {
        let located = document.locate(pointer);
        if !located.complete {
            continue;
        }
        let mut scalars = Vec::new();
        secret_scalars(located.node, &mut scalars);
        for node in scalars {
            out.redactions.push(node.span);
            let text = match &node.value {
                NodeValue::String(text) => text.clone(),
                NodeValue::Int(value) => value.to_string(),
                NodeValue::Float(value) => value.to_string(),
                NodeValue::Bool(value) => value.to_string(),
                _ => String::new(),
            };
            // Shorter texts would mangle messages where they happen to occur; such a value is
            // no secret worth the name, and DB201 reports it as too short.
            if text.chars().count() >= 4 {
                out.secret_texts.push(text);
            }
        }
    }
}

/// A document that failed schema validation, in its partial views (see `partial.rs`), after
/// reporting the semantic checks that hold whatever its unknown fields turn out to be.
fn partial_resource(
    out: &mut FileOutcome,
    document: Node,
    views: crate::partial::Views,
    kind: Kind,
    name: &str,
    address_text: &str,
    references: &[ReferenceSite],
) -> PartialResource {
    let address = ResourceAddress::new(kind, name.to_owned());
    let check = |spec: &Spec| {
        let mut checker = crate::checks::Checker::new(&document, address_text, &views.metadata)
            .with_unknown(&views.unknown);
        checker.format("/metadata/name", crate::formats::check_resource_name(name));
        spec.check(&mut checker);
        checker.diagnostics
    };
    // Only what holds whatever the unknown fields turn out to be.
    let mut found = check(&views.base);
    for alternative in &views.alternatives {
        let also: BTreeSet<(Code, Option<Span>)> = check(alternative)
            .into_iter()
            .map(|diagnostic| (diagnostic.code, diagnostic.span))
            .collect();
        found.retain(|diagnostic| also.contains(&(diagnostic.code, diagnostic.span)));
    }
    out.diagnostics.append(&mut found);
    PartialResource {
        resource: Resource {
            address,
            metadata: views.metadata,
            spec: views.base,
            document,
            references: references.to_vec(),
        },
        alternatives: views.alternatives,
        unknown: views.unknown,
    }
}

/// The typed form of a document that passed schema validation, after its semantic checks.
fn add_typed(
    out: &mut FileOutcome,
    document: Node,
    kind: Kind,
    name: String,
    address_text: &str,
    mut instance: serde_json::Value,
    references: Vec<ReferenceSite>,
) {
    // The validated document is not needed after this: its parts move into the typed forms.
    let mut take = |part: &str| {
        instance
            .get_mut(part)
            .map(serde_json::Value::take)
            .unwrap_or_default()
    };
    let metadata_json = take("metadata");
    let spec_json = take("spec");
    let metadata: Metadata = match serde_json::from_value(metadata_json) {
        Ok(metadata) => metadata,
        Err(error) => {
            internal_mismatch(out, &document, kind, "metadata", &error);
            return;
        }
    };
    let spec = match Spec::from_json(kind, spec_json) {
        Ok(spec) => spec,
        Err(error) => {
            internal_mismatch(out, &document, kind, "spec", &error);
            return;
        }
    };
    let address = ResourceAddress::new(kind, name.clone());
    let name_span = document.locate("/metadata/name").span();
    let mut checker = crate::checks::Checker::new(&document, address_text, &metadata);
    checker.format("/metadata/name", crate::formats::check_resource_name(&name));
    spec.check(&mut checker);
    out.diagnostics.append(&mut checker.diagnostics);

    out.resources.push((
        Resource {
            address,
            metadata,
            spec,
            document,
            references,
        },
        name_span,
    ));
}

/// The scalars of a secret field's value: the value itself, or every scalar inside a list or
/// mapping written there by mistake, except the variable name of a `{secretEnv: NAME}`.
fn secret_scalars<'a>(node: &'a Node, out: &mut Vec<&'a Node>) {
    match &node.value {
        NodeValue::Seq(items) => {
            for item in items {
                secret_scalars(item, out);
            }
        }
        NodeValue::Map(entries) => {
            for entry in entries {
                if !matches!(entry.key.as_str(), "secretEnv" | "secret_env") {
                    secret_scalars(&entry.value, out);
                }
            }
        }
        _ => out.push(node),
    }
}

fn internal_mismatch(
    out: &mut FileOutcome,
    document: &Node,
    kind: Kind,
    part: &str,
    error: &serde_json::Error,
) {
    out.diagnostics.push(
        diagnostic(codes::INVALID_VALUE)
            .with_message(format!("{kind} {part} passed its schema but could not be read: {error}"))
            .with_help("this is a bug in dbplan (schema and types disagree); please report it with this manifest")
            .with_span(document.locate(&format!("/{part}")).span()),
    );
}

fn check_api_version(out: &mut FileOutcome, document: &Node, kind: Kind) {
    let expected = kind.api_group().api_version();
    // Also what the editor schema accepts (`schema::export_kind`).
    let compatible = schema::compatible_api_versions(kind);
    match document.get("apiVersion") {
        None => out.diagnostics.push(
            diagnostic(codes::MISSING_FIELD)
                .with_message(format!("the {kind} document has no `apiVersion`"))
                .with_help(format!("add `apiVersion: {expected}`"))
                .with_span(document.span),
        ),
        Some(node) => match node.as_str() {
            Some(text) if text == expected => {}
            Some(text) if compatible.contains(&text) => out.diagnostics.push(
                Diagnostic::warning(codes::API_VERSION)
                    .with_message(format!(
                        "{kind} is `{expected}`; `{text}` is accepted for compatibility"
                    ))
                    .with_help(format!("write `apiVersion: {expected}`"))
                    .with_span(node.span),
            ),
            _ => out.diagnostics.push(
                diagnostic(codes::API_VERSION)
                    .with_message(format!(
                        "{kind} is `{expected}`, not {}",
                        node.display_scalar()
                    ))
                    .with_help(format!("write `apiVersion: {expected}`"))
                    .with_span(node.span),
            ),
        },
    }
}

fn kind_names() -> Vec<String> {
    Kind::ALL
        .iter()
        .map(|kind| kind.as_str().to_owned())
        .collect()
}

fn find_placeholders(node: &Node, resource: &str, out: &mut Vec<Diagnostic>) {
    match &node.value {
        NodeValue::String(text) if text.contains("${") && text.contains('}') => out.push(
            Diagnostic::warning(codes::PLACEHOLDER)
                .with_message(format!("{} looks like a template placeholder that was never filled in", node.display_scalar()))
                .with_help("use a reference instead, e.g. `{valueFrom: {kind: K, name: N, fieldPath: status.outputs.F}}`")
                .with_span(node.span)
                .with_resource(resource),
        ),
        NodeValue::Seq(items) => items.iter().for_each(|item| find_placeholders(item, resource, out)),
        NodeValue::Map(entries) => entries
            .iter()
            .for_each(|entry| find_placeholders(&entry.value, resource, out)),
        _ => {}
    }
}

/// Parses a YAML file that is not a manifest (a policy pack) into a spanned tree. The file must
/// hold exactly one document; syntax errors and duplicate keys come back as diagnostics with
/// their location, like a manifest's.
pub fn parse_yaml(sources: &SourceMap, file: FileId) -> Result<Node, Vec<Diagnostic>> {
    let mut nodes = parse_yaml_documents(sources, file)?;
    if nodes.len() == 1 {
        return Ok(nodes.remove(0));
    }
    let name = sources.get(file).map_or("the file", |source| source.name());
    Err(vec![
        diagnostic(codes::NOT_A_MANIFEST)
            .with_message(format!(
                "{name} holds {} YAML documents; exactly one is expected",
                nodes.len()
            ))
            .with_help("keep one document in the file")
            .with_span(Span::new(file, 0, 0)),
    ])
}

/// Parses every YAML document of a file into spanned trees, and nothing else (no manifest
/// checks): what the benchmarks measure as "parse".
pub fn parse_yaml_documents(
    sources: &SourceMap,
    file: FileId,
) -> Result<Vec<Node>, Vec<Diagnostic>> {
    let Some(source) = sources.get(file) else {
        return Err(Vec::new());
    };
    let limits = YamlLimits::for_len(source.text().len());
    // On a thread with a known stack, like `load_files`, whatever the caller's stack is.
    limits::on_parse_stack(|| {
        let parsed: Result<Vec<Spanned<RawNode>>, serde_saphyr::Error> =
            serde_saphyr::from_multiple_with_options(source.text(), limits.options());
        match parsed {
            Ok(documents) => Ok(documents
                .into_iter()
                .map(|raw| Node::from_raw(raw, file, source))
                .collect()),
            Err(error) => {
                let mut out = FileOutcome::default();
                yaml_error(&mut out, source, file, &error, limits);
                Err(out.diagnostics)
            }
        }
    })
}
