//! Reference resolution and cycle detection.

use crate::codes;
use crate::expand::{address, part_for_field, primary_part};
use crate::{EdgeReason, Graph};
use dbplan_core::{Kind, ResourceAddress};
use dbplan_diagnostics::{Code, Diagnostic, Span};
use dbplan_manifest::schema::{schema_at, snake_case, suggest};
use dbplan_manifest::{ManifestSet, Spec, kind_schema};
use std::collections::HashMap;

fn diagnostic(code: Code) -> Diagnostic {
    Diagnostic::error(code)
}

/// One reference to resolve: where it is, what it names, which part of the referrer needs it.
struct Pending<'a> {
    referrer: &'a ResourceAddress,
    /// The referrer's spec; `None` for a resource whose document had errors (no graph edge).
    spec: Option<&'a Spec>,
    pointer: String,
    span: Span,
    kind: Option<(String, Span)>,
    name: (String, Span),
    field_path: Option<(String, Span)>,
    /// Kinds this field may reference (empty: any).
    allowed_kinds: &'static [&'static str],
}

pub(crate) fn resolve(set: &ManifestSet, graph: &mut Graph, diagnostics: &mut Vec<Diagnostic>) {
    // Names per kind, for "did you mean" suggestions.
    let mut names: HashMap<Kind, Vec<String>> = HashMap::new();
    for resource in &set.resources {
        names
            .entry(resource.kind())
            .or_default()
            .push(resource.address.name.clone());
    }
    let index = Index {
        resources: set
            .resources
            .iter()
            .enumerate()
            .map(|(position, resource)| (&resource.address, position))
            .collect(),
        invalid: set
            .invalid
            .iter()
            .map(|resource| &resource.address)
            .collect(),
        names,
    };
    for invalid in &set.invalid {
        for site in &invalid.references {
            let reference = pending(&invalid.address, site);
            resolve_one(set, graph, &index, &reference, diagnostics);
        }
    }
    for resource in &set.resources {
        let mut pending: Vec<Pending<'_>> = resource
            .references
            .iter()
            .map(|site| self::pending(&resource.address, site))
            .collect();
        if let Spec::TenantDatabase(spec) = &resource.spec {
            let (kind, name) = spec.server();
            let span = resource.span_at("/spec/server");
            pending.push(Pending {
                referrer: &resource.address,
                spec: Some(&resource.spec),
                pointer: "/spec/server".to_owned(),
                span,
                kind: Some((kind.to_owned(), resource.span_at("/spec/server/kind"))),
                name: (name.to_owned(), resource.span_at("/spec/server/name")),
                field_path: None,
                allowed_kinds: dbplan_manifest::kinds::TENANT_SERVER_KINDS,
            });
        }
        for mut reference in pending {
            reference.spec = Some(&resource.spec);
            resolve_one(set, graph, &index, &reference, diagnostics);
        }
    }
}

fn pending<'a>(
    referrer: &'a ResourceAddress,
    site: &dbplan_manifest::ReferenceSite,
) -> Pending<'a> {
    Pending {
        referrer,
        spec: None,
        pointer: site.pointer.clone(),
        span: site.span,
        kind: site
            .kind
            .clone()
            .or_else(|| site.default_kind.clone().map(|kind| (kind, site.name.1))),
        name: site.name.clone(),
        field_path: site.field_path.clone().or_else(|| {
            site.default_field_path
                .clone()
                .map(|path| (path, site.name.1))
        }),
        allowed_kinds: &[],
    }
}

/// Lookups by address, so that resolving n references costs O(n), not O(n²).
struct Index<'a> {
    resources: HashMap<&'a ResourceAddress, usize>,
    invalid: std::collections::HashSet<&'a ResourceAddress>,
    names: HashMap<Kind, Vec<String>>,
}

/// The kind a reference points at: it must say one (or the field have a default), name a kind
/// dbplan knows, and be a kind the field accepts. `None` after reporting why not.
fn reference_kind(
    reference: &Pending<'_>,
    resource_text: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Kind> {
    let Some((kind_text, kind_span)) = &reference.kind else {
        diagnostics.push(
            diagnostic(codes::MISSING_KIND)
                .with_message(format!("the reference in `{}` does not say which kind it points at, and the field has no default", display(&reference.pointer)))
                .with_help("add `kind:` and `fieldPath:` to the reference, or use a literal value")
                .with_span(reference.span)
                .with_resource(resource_text),
        );
        return None;
    };
    let kind: Kind = match kind_text.parse() {
        Ok(kind) => kind,
        Err(_) => {
            let known: Vec<String> = Kind::ALL
                .iter()
                .map(|kind| kind.as_str().to_owned())
                .collect();
            let help = match suggest(kind_text, &known) {
                Some(suggestion) => format!(
                    "did you mean `{suggestion}`? Otherwise write the value itself (e.g. an ID or ARN) instead of a reference"
                ),
                None => format!(
                    "dbplan manages {}; for anything else write the value itself (e.g. an ID or ARN)",
                    known.join(", ")
                ),
            };
            diagnostics.push(
                diagnostic(codes::UNSUPPORTED_KIND)
                    .with_message(format!(
                        "`{kind_text}` is not a kind in this manifest set's language"
                    ))
                    .with_help(help)
                    .with_span(*kind_span)
                    .with_resource(resource_text),
            );
            return None;
        }
    };
    if !reference.allowed_kinds.is_empty() && !reference.allowed_kinds.contains(&kind.as_str()) {
        diagnostics.push(
            diagnostic(codes::WRONG_KIND)
                .with_message(format!(
                    "`{}` cannot point at a {kind}",
                    display(&reference.pointer)
                ))
                .with_help(format!(
                    "point it at one of: {}",
                    reference.allowed_kinds.join(", ")
                ))
                .with_span(*kind_span)
                .with_resource(resource_text),
        );
        return None;
    }
    Some(kind)
}

fn resolve_one(
    set: &ManifestSet,
    graph: &mut Graph,
    index: &Index<'_>,
    reference: &Pending<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let resource_text = reference.referrer.to_string();
    let Some(kind) = reference_kind(reference, &resource_text, diagnostics) else {
        return;
    };
    let (name, name_span) = &reference.name;
    let target = ResourceAddress::new(kind, name.clone());
    if let Some((path, path_span)) = &reference.field_path
        && let Err(help) = check_field_path(kind, path)
    {
        diagnostics.push(
            diagnostic(codes::UNDECLARED_OUTPUT)
                .with_message(format!("{kind} has no `{path}`"))
                .with_help(help)
                .with_span(*path_span)
                .with_resource(resource_text),
        );
        return;
    }
    let target_resource = index
        .resources
        .get(&target)
        .and_then(|position| set.resources.get(*position));
    if target_resource.is_none() && index.invalid.contains(&target) {
        // The target's document has errors of its own; they are reported already.
        return;
    }
    let Some(target_resource) = target_resource else {
        let candidates = index.names.get(&kind).cloned().unwrap_or_default();
        let help = match suggest(name, &candidates) {
            Some(suggestion) => format!("did you mean `{suggestion}`?"),
            None if candidates.is_empty() => {
                format!("add {kind} `{name}` to the manifests, or write the value itself")
            }
            None => format!("the {kind} resources here are: {}", candidates.join(", ")),
        };
        diagnostics.push(
            diagnostic(codes::DANGLING_REFERENCE)
                .with_message(format!("{target} is not in the manifests"))
                .with_help(help)
                .with_span(*name_span)
                .with_resource(resource_text),
        );
        return;
    };
    let Some(spec) = reference.spec else {
        return;
    };
    let from = address(
        reference.referrer,
        &part_for_field(spec, &reference.pointer),
    );
    let to = address(&target_resource.address, &primary_part(kind));
    if let (Some(&from_index), Some(&to_index)) = (graph.index.get(&from), graph.index.get(&to)) {
        graph.graph.add_edge(
            from_index,
            to_index,
            EdgeReason::Reference {
                pointer: reference.pointer.clone(),
                span: reference.span,
            },
        );
    }
}

/// `[*]` (every item of a list output), or one item by index: `[0]` or `0`.
fn is_item_selector(segment: &str) -> bool {
    let index = segment
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(segment);
    index == "*" || (!index.is_empty() && index.bytes().all(|byte| byte.is_ascii_digit()))
}

/// Checks a field path against the outputs a kind declares (`status.outputs.<name>`, list items
/// as `status.outputs.<name>.[*].<field>`, or one item as `.[0].` / `.0.`) or its spec fields
/// (`spec.<field>`). Segments may be written in lowerCamelCase.
fn check_field_path(kind: Kind, path: &str) -> Result<(), String> {
    let outputs = kind.outputs();
    let valid = || {
        outputs
            .iter()
            .flat_map(|output| {
                if output.item_fields.is_empty() {
                    vec![format!("status.outputs.{}", output.name)]
                } else {
                    output
                        .item_fields
                        .iter()
                        .map(|field| format!("status.outputs.{}.[*].{field}", output.name))
                        .collect()
                }
            })
            .collect::<Vec<_>>()
    };
    let segments: Vec<String> = path
        .split('.')
        .map(|segment| {
            if segment.starts_with('[') {
                segment.to_owned()
            } else {
                snake_case(segment)
            }
        })
        .collect();
    let help = || format!("{kind} declares: {}", valid().join(", "));
    match segments
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["status", "outputs", name] => match kind.output(name) {
            Some(output) if output.item_fields.is_empty() => Ok(()),
            Some(output) => Err(format!(
                "`{}` is a list; point at a field of its items, e.g. `status.outputs.{}.[*].{}`",
                output.name,
                output.name,
                output.item_fields.first().copied().unwrap_or("id")
            )),
            None => Err(
                match suggest(
                    name,
                    &outputs
                        .iter()
                        .map(|output| output.name.to_owned())
                        .collect::<Vec<_>>(),
                ) {
                    Some(suggestion) => {
                        format!("did you mean `status.outputs.{suggestion}`? {}", help())
                    }
                    None => help(),
                },
            ),
        },
        ["status", "outputs", name, index, field] if is_item_selector(index) => {
            match kind.output(name) {
                Some(output) if output.item_fields.contains(field) => Ok(()),
                _ => Err(help()),
            }
        }
        ["spec", field] => {
            let schema = &kind_schema(kind).schema;
            if schema_at(schema, &format!("/spec/{field}")).is_some() {
                Ok(())
            } else {
                Err(format!("{kind}.spec has no field `{field}`; {}", help()))
            }
        }
        _ => Err(format!("write `status.outputs.<output>`; {}", help())),
    }
}

fn display(pointer: &str) -> String {
    dbplan_manifest::schema::display_path(pointer)
        .trim_start_matches('.')
        .to_owned()
}

/// Reports every cycle: each strongly connected component with more than one node, or a node
/// that depends on itself, naming each resource in it with the location of its reference.
pub(crate) fn find_cycles(set: &ManifestSet, graph: &Graph, diagnostics: &mut Vec<Diagnostic>) {
    for component in petgraph::algo::tarjan_scc(&graph.graph) {
        let is_cycle = component.len() > 1
            || component
                .first()
                .is_some_and(|node| graph.graph.contains_edge(*node, *node));
        if !is_cycle {
            continue;
        }
        let mut members: Vec<_> = component.clone();
        members.sort_by(|a, b| {
            let address = |index: &petgraph::graph::NodeIndex| {
                graph
                    .graph
                    .node_weight(*index)
                    .map(|node| node.address.clone())
            };
            address(a).cmp(&address(b))
        });
        let Some((order, labels)) = walk_cycle(graph, &members) else {
            continue;
        };
        let path: Vec<String> = order
            .iter()
            .filter_map(|index| graph.graph.node_weight(*index))
            .map(|node| node.address.to_string())
            .collect();
        let first = order
            .first()
            .and_then(|index| graph.graph.node_weight(*index))
            .and_then(|node| set.resources.get(node.resource));
        let mut diagnostic = diagnostic(codes::CYCLE)
            .with_message(path.join(" -> "))
            .with_help("break the cycle: one of these references must become a literal value, or be removed");
        if let Some((span, _)) = labels.first() {
            diagnostic = diagnostic.with_span(*span);
        } else if let Some(resource) = first {
            diagnostic = diagnostic.with_span(resource.name_span());
        }
        if let Some(resource) = first {
            diagnostic = diagnostic.with_resource(resource.address.to_string());
        }
        for (span, label) in labels {
            diagnostic = diagnostic.with_label(span, label);
        }
        diagnostics.push(diagnostic);
    }
}

/// A cycle walked in order: its members (the first again at the end), and a label at each
/// reference that makes a link.
type WalkedCycle = (Vec<petgraph::graph::NodeIndex>, Vec<(Span, String)>);

/// Walks a cycle from its smallest member, following edges inside the component.
fn walk_cycle(graph: &Graph, members: &[petgraph::graph::NodeIndex]) -> Option<WalkedCycle> {
    let mut order = Vec::new();
    let mut labels = Vec::new();
    let &start = members.first()?;
    let mut current = start;
    for _ in 0..=members.len() {
        order.push(current);
        let next = graph
            .graph
            .edges(current)
            .filter(|edge| members.contains(&petgraph::visit::EdgeRef::target(edge)))
            .min_by_key(|edge| {
                graph
                    .graph
                    .node_weight(petgraph::visit::EdgeRef::target(edge))
                    .map(|node| node.address.clone())
            });
        let Some(edge) = next else {
            break;
        };
        let target = petgraph::visit::EdgeRef::target(&edge);
        if let (EdgeReason::Reference { span, .. }, Some(from), Some(to)) = (
            petgraph::visit::EdgeRef::weight(&edge),
            graph.graph.node_weight(current),
            graph.graph.node_weight(target),
        ) {
            labels.push((
                *span,
                format!("{} depends on {} here", from.address, to.address),
            ));
        }
        current = target;
        if current == start {
            order.push(start);
            break;
        }
    }
    Some((order, labels))
}
