//! JSON Schema per kind: generated from the Rust types with schemars, used three ways.
//!
//! 1. A schema-guided walk over the YAML tree (`Walker`) renames lowerCamelCase keys to the
//!    snake_case field names (only where the schema names a field, so user maps such as labels
//!    keep their keys), turns numeric strings into numbers where a number is expected (protojson
//!    does the same), reports unknown fields with a "did you mean" suggestion (in a reference
//!    field, with the forms it accepts), maps every reference form to one internal shape, and
//!    collects every value-or-reference field with its span.
//! 2. The normalised document is validated with `jsonschema`; every error is mapped back to the
//!    span of the value it is about (`validate`).
//! 3. `dbplan schema KIND` exports it for editors ([`export`]): derived from it by the rules of
//!    the walk (lowerCamelCase spellings, numeric strings) and the envelope checks, so that an
//!    editor accepts what the loader accepts.

use crate::codes;
use crate::node::{Node, NodeValue};
use dbplan_core::Kind;
use dbplan_diagnostics::{Code, Diagnostic, Span};
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::{Map as JsonMap, Value as Json, json};
use std::collections::BTreeSet;

/// A value-or-reference found while walking a document.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceSite {
    /// JSON pointer of the field, e.g. `/spec/subnet_ids/0`.
    pub pointer: String,
    /// Span of the whole reference value.
    pub span: Span,
    /// The kind named in the reference, with its span.
    pub kind: Option<(String, Span)>,
    /// The referenced `metadata.name`, with its span.
    pub name: (String, Span),
    /// The field path named in the reference, with its span.
    pub field_path: Option<(String, Span)>,
    /// The kind an omitted `kind` means for this field.
    pub default_kind: Option<String>,
    /// The path an omitted `fieldPath` means for this field.
    pub default_field_path: Option<String>,
}

/// Converts lowerCamelCase to snake_case (`fieldPath` → `field_path`).
pub fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (index, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if index > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `key` is exactly the lowerCamelCase spelling of `snake` (`fieldPath` of
/// `field_path`), as `camel_case(snake) == key` without building the string.
fn is_camel_case_of(key: &str, snake: &str) -> bool {
    let mut written = key.chars();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
            continue;
        }
        let c = if std::mem::take(&mut upper) {
            c.to_ascii_uppercase()
        } else {
            c
        };
        if written.next() != Some(c) {
            return false;
        }
    }
    written.next().is_none()
}

/// Converts snake_case to lowerCamelCase (`field_path` → `fieldPath`).
pub fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Follows `$ref`s (`#/$defs/Name`) within the document schema.
pub(crate) fn resolve<'a>(root: &'a Json, mut schema: &'a Json) -> &'a Json {
    for _ in 0..32 {
        let Some(reference) = schema.get("$ref").and_then(Json::as_str) else {
            break;
        };
        // Every node of every document resolves its schema: a definition's name without
        // escapes (all that schemars writes) is looked up directly, not as a general pointer.
        let target = match reference.strip_prefix("#/$defs/") {
            Some(name) if !name.contains(['~', '/']) => root
                .get("$defs")
                .and_then(|definitions| definitions.get(name)),
            _ => reference
                .strip_prefix('#')
                .and_then(|pointer| root.pointer(pointer)),
        };
        let Some(target) = target else {
            break;
        };
        schema = target;
    }
    schema
}

/// The alternatives of a schema (`anyOf`/`oneOf`), or the schema itself.
pub(crate) fn alternatives<'a>(root: &'a Json, schema: &'a Json) -> Vec<&'a Json> {
    let schema = resolve(root, schema);
    for keyword in ["anyOf", "oneOf"] {
        if let Some(options) = schema.get(keyword).and_then(Json::as_array) {
            return options
                .iter()
                .flat_map(|option| alternatives(root, option))
                .collect();
        }
    }
    vec![schema]
}

pub(crate) fn type_names(schema: &Json) -> Vec<&str> {
    match schema.get("type") {
        Some(Json::String(name)) => vec![name.as_str()],
        Some(Json::Array(names)) => names.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether `type_names(schema)` holds `name`, without collecting them (the walk asks for every
/// node).
fn has_type(schema: &Json, name: &str) -> bool {
    match schema.get("type") {
        Some(Json::String(type_name)) => type_name == name,
        Some(Json::Array(names)) => names
            .iter()
            .any(|type_name| type_name.as_str() == Some(name)),
        _ => false,
    }
}

pub(crate) fn properties(schema: &Json) -> Option<&JsonMap<String, Json>> {
    schema.get("properties").and_then(Json::as_object)
}

/// Walks one document, normalising it in place. See the module documentation.
pub(crate) struct Walker<'a> {
    pub root: &'a Json,
    pub diagnostics: &'a mut Vec<Diagnostic>,
    pub references: &'a mut Vec<ReferenceSite>,
    /// Pointers already reported; schema errors at or below them are not reported again.
    pub reported: &'a mut BTreeSet<String>,
    pub resource: &'a str,
    /// The kind's name, used in messages ("not a field of AwsRdsCluster.spec").
    pub kind: Kind,
    /// While walking inside a reference field (`{valueFrom: {…}}`): the forms the field accepts,
    /// for the help of an unknown key there.
    pub reference_forms: Option<&'static str>,
}

/// The object form whose fields the keys name (for value-or-reference: the `value`,
/// `value_from` or `ref` form).
fn chosen_object_form<'s>(
    objects: &[&'s Json],
    entries: &[crate::node::Entry],
) -> Option<&'s Json> {
    if let [only] = objects {
        return Some(only);
    }
    let score = |option: &Json| {
        properties(option).map_or(0, |props| {
            entries
                .iter()
                .filter(|entry| {
                    props.contains_key(&entry.key) || props.contains_key(&snake_case(&entry.key))
                })
                .count()
        })
    };
    objects.iter().copied().max_by_key(|option| score(option))
}

/// The number a string holds where the schema wants a number and no string: protojson accepts
/// numeric strings for numeric fields, and so does dbplan.
fn number_from_string(options: &[&Json], text: &str) -> Option<NodeValue> {
    let wants = |name: &str| options.iter().any(|option| has_type(option, name));
    if wants("string") {
        return None;
    }
    if wants("integer")
        && let Ok(value) = text.trim().parse::<i128>()
    {
        Some(NodeValue::Int(value))
    } else if wants("number")
        && let Ok(value) = text.trim().parse::<f64>()
        && value.is_finite()
    {
        Some(NodeValue::Float(value))
    } else {
        None
    }
}

impl Walker<'_> {
    /// Walks `node` at the JSON pointer `pointer`, which it extends for the children it walks
    /// and leaves as it found it (one buffer for a whole document).
    pub fn walk(&mut self, schema: &Json, node: &mut Node, pointer: &mut String) {
        let resolved = resolve(self.root, schema);
        let options = alternatives(self.root, resolved);
        // `Option<ValueOrRef<T>>` is `anyOf: [{$ref: ValueOrRef…}, {type: null}]`: the annotation
        // sits on one of the alternatives.
        // One pass over the alternatives for both annotations, borrowed: this runs for every
        // node of every document.
        let root = self.root;
        let mut reference: Option<&Json> = None;
        let mut resource_reference = false;
        let nested = resolved
            .get("anyOf")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .map(|option| resolve(root, option));
        for candidate in std::iter::once(resolved).chain(nested) {
            if let Some(annotation) = candidate.get("x-dbplan-ref") {
                reference = Some(annotation);
                break;
            }
            resource_reference |= candidate.get("x-dbplan-resource-ref").is_some();
        }
        let own_forms = if reference.is_some() {
            Some(crate::refs::VALUE_OR_REF_FORMS)
        } else if resource_reference {
            Some(crate::refs::RESOURCE_REF_FORMS)
        } else {
            None
        };
        let forms = own_forms.or(self.reference_forms);
        match &mut node.value {
            NodeValue::Map(entries) => {
                let objects: Vec<&Json> = options
                    .iter()
                    .copied()
                    .filter(|option| properties(option).is_some() || has_type(option, "object"))
                    .collect();
                if let Some(chosen) = chosen_object_form(&objects, entries) {
                    // The inner mapping of a reference (`valueFrom: {…}`) inherits the field's
                    // forms; nothing deeper does.
                    let outer = std::mem::replace(&mut self.reference_forms, own_forms);
                    self.walk_object(chosen, entries, pointer, &objects, forms);
                    self.reference_forms = outer;
                }
            }
            NodeValue::Seq(items) => {
                if let Some(items_schema) = options.iter().find_map(|option| option.get("items")) {
                    let parent = pointer.len();
                    for (index, item) in items.iter_mut().enumerate() {
                        pointer.push('/');
                        pointer.push_str(&index.to_string());
                        self.walk(items_schema, item, pointer);
                        pointer.truncate(parent);
                    }
                }
            }
            NodeValue::String(text) => {
                if let Some(number) = number_from_string(&options, text) {
                    node.value = number;
                }
            }
            _ => {}
        }
        // One internal shape per reference field, whichever form was written.
        if reference.is_some() {
            wrap_resource_form(node);
        } else if resource_reference {
            unwrap_reference_form(node);
        }
        if let Some(annotation) = reference {
            self.collect_reference(annotation, node, pointer);
        }
    }

    fn walk_object(
        &mut self,
        schema: &Json,
        entries: &mut Vec<crate::node::Entry>,
        pointer: &mut String,
        // Every object form of the field, for "did you mean" across forms.
        objects: &[&Json],
        // For a reference field: the forms it accepts, listed in the help of an unknown key.
        forms: Option<&str>,
    ) {
        let props = properties(schema);
        let additional = schema.get("additionalProperties");
        let closed = matches!(additional, Some(Json::Bool(false)));
        let mut unknown = Vec::new();
        let mut dropped = Vec::new();
        // The keys as written, to catch `fieldName` next to `field_name`; only built for the
        // first lowerCamelCase key, before any key is renamed.
        let mut present: Option<BTreeSet<String>> = None;
        let parent = pointer.len();
        for index in 0..entries.len() {
            let key = &entries[index].key;
            let mut child_schema = props.and_then(|props| props.get(key));
            if child_schema.is_none() {
                let snake = snake_case(key);
                // Exactly the lowerCamelCase spelling (`fieldPath`), as protojson reads it; not
                // `FieldPath` or `Field_path`, which also turn into `field_path`.
                if is_camel_case_of(key, &snake)
                    && props.is_some_and(|props| props.contains_key(&snake))
                {
                    let present = present.get_or_insert_with(|| {
                        entries.iter().map(|entry| entry.key.clone()).collect()
                    });
                    let entry = &mut entries[index];
                    if present.contains(&snake) {
                        let field_pointer = format!("{pointer}/{snake}");
                        self.reported.insert(field_pointer);
                        self.diagnostics.push(
                            Diagnostic::error(codes::DUPLICATE_KEY)
                                .with_message(format!(
                                    "`{}` and `{snake}` name the same field",
                                    entry.key
                                ))
                                .with_help("keep one of the two spellings")
                                .with_span(entry.key_span)
                                .with_resource(self.resource),
                        );
                        dropped.push(index);
                        continue;
                    }
                    child_schema = props.and_then(|props| props.get(&snake));
                    entry.key = snake;
                } else if closed {
                    unknown.push(index);
                    continue;
                }
            }
            let child_schema = child_schema.or(match additional {
                Some(schema @ Json::Object(_)) => Some(schema),
                _ => None,
            });
            let entry = &mut entries[index];
            if let Some(child_schema) = child_schema {
                pointer.push('/');
                push_escaped(pointer, &entry.key);
                self.walk(child_schema, &mut entry.value, pointer);
                pointer.truncate(parent);
            }
        }
        let mut removed: Vec<(usize, bool)> = unknown
            .iter()
            .map(|index| (*index, true))
            .chain(dropped.iter().map(|index| (*index, false)))
            .collect();
        removed.sort_unstable();
        for (index, report) in removed.into_iter().rev() {
            let entry = entries.remove(index);
            if report {
                let field_pointer = format!("{pointer}/{}", escape(&entry.key));
                if self.reported.contains(&field_pointer) {
                    continue;
                }
                self.reported.insert(field_pointer);
                let diagnostic = self.unknown_field(&entry, pointer, props, objects, forms);
                self.diagnostics.push(diagnostic);
            }
        }
    }

    /// The diagnostic for a key the schema does not have, with the closest field name (across
    /// every object form of the field) or the list of fields, and a reference field's forms.
    fn unknown_field(
        &self,
        entry: &crate::node::Entry,
        pointer: &str,
        props: Option<&serde_json::Map<String, Json>>,
        objects: &[&Json],
        forms: Option<&str>,
    ) -> Diagnostic {
        let mut diagnostic = Diagnostic::error(codes::UNKNOWN_FIELD)
            .with_message(format!(
                "`{}` is not a field of {}{}",
                entry.key,
                self.kind,
                display_path(pointer)
            ))
            .with_span(entry.key_span)
            .with_resource(self.resource);
        let mut candidates: Vec<String> = props
            .map(|props| props.keys().cloned().collect())
            .unwrap_or_default();
        candidates.extend(
            objects
                .iter()
                .filter_map(|option| properties(option))
                .flat_map(|props| props.keys().cloned()),
        );
        candidates.sort();
        candidates.dedup();
        diagnostic = match suggest(&entry.key, &candidates) {
            Some(suggestion) => diagnostic.with_help(format!("did you mean `{suggestion}`?")),
            None if candidates.is_empty() => diagnostic.with_help("remove it"),
            None => diagnostic.with_help(format!(
                "remove it; the fields here are: {}",
                candidates
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
        if let Some(forms) = forms {
            let help = diagnostic.help.take().unwrap_or_default();
            let separator = if help.ends_with('?') { " " } else { "; " };
            let forms = if separator == " " {
                let mut chars = forms.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_uppercase().chain(chars).collect()
                })
            } else {
                forms.to_owned()
            };
            diagnostic = diagnostic.with_help(format!("{help}{separator}{forms}"));
        }
        diagnostic
    }

    fn collect_reference(&mut self, annotation: &Json, node: &Node, pointer: &str) {
        let NodeValue::Map(entries) = &node.value else {
            return;
        };
        let Some(inner) = entries
            .iter()
            .find(|entry| entry.key == "value_from" || entry.key == "ref")
        else {
            return;
        };
        let field = |key: &str| {
            inner
                .value
                .get(key)
                .and_then(|value| value.as_str().map(|text| (text.to_owned(), value.span)))
        };
        let Some(name) = field("name") else {
            // A reference without a name is reported by the schema (missing field).
            return;
        };
        let text = |key: &str| {
            annotation
                .get(key)
                .and_then(Json::as_str)
                .map(str::to_owned)
        };
        self.references.push(ReferenceSite {
            pointer: pointer.to_owned(),
            span: inner.key_span,
            kind: field("kind"),
            name,
            field_path: field("field_path"),
            default_kind: text("defaultKind"),
            default_field_path: text("defaultFieldPath"),
        });
    }
}

/// The forms a reference field accepts (for the help of an error about a wrong form), or `None`
/// when the schema is not a reference field's.
fn reference_forms(root: &Json, schema: &Json) -> Option<&'static str> {
    // `Option<T>` is `anyOf: [{$ref: T}, {type: null}]`: the annotation sits on an alternative.
    let schema = resolve(root, schema);
    let has = |key: &str| {
        schema.get(key).is_some()
            || schema
                .get("anyOf")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .any(|option| resolve(root, option).get(key).is_some())
            || alternatives(root, schema)
                .iter()
                .any(|option| option.get(key).is_some())
    };
    if has("x-dbplan-ref") {
        Some(crate::refs::VALUE_OR_REF_FORMS)
    } else if has("x-dbplan-resource-ref") {
        Some(crate::refs::RESOURCE_REF_FORMS)
    } else {
        None
    }
}

/// A value-or-reference written in the resource form `{kind, name, field_path}` becomes
/// `{value_from: {kind, name, field_path}}`, the form the rest of the loader reads.
fn wrap_resource_form(node: &mut Node) {
    let NodeValue::Map(entries) = &mut node.value else {
        return;
    };
    let is_resource_form = entries.iter().any(|entry| entry.key == "name")
        && !entries
            .iter()
            .any(|entry| matches!(entry.key.as_str(), "value" | "value_from" | "ref"));
    if !is_resource_form {
        return;
    }
    // The reference starts at its first key, as `valueFrom:` starts the wrapped form.
    let key_span = entries.first().map_or(node.span, |entry| entry.key_span);
    let inner = Node {
        value: NodeValue::Map(std::mem::take(entries)),
        span: node.span,
    };
    entries.push(crate::node::Entry {
        key: "value_from".to_owned(),
        key_span,
        value: inner,
    });
}

/// A resource reference written `{value_from: {kind, name}}` or `{ref: {kind, name}}` becomes
/// `{kind, name}`, the form the rest of the loader reads (the spans stay those written).
fn unwrap_reference_form(node: &mut Node) {
    let NodeValue::Map(entries) = &mut node.value else {
        return;
    };
    let [entry] = entries.as_mut_slice() else {
        return;
    };
    if matches!(entry.key.as_str(), "value_from" | "ref")
        && matches!(entry.value.value, NodeValue::Map(_))
    {
        let inner = std::mem::replace(&mut entry.value.value, NodeValue::Null);
        node.value = inner;
    }
}

/// Escapes a key for a JSON pointer.
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Appends a key to a JSON pointer, escaped as [`escape`] does.
fn push_escaped(pointer: &mut String, key: &str) {
    if key.contains(['~', '/']) {
        pointer.push_str(&escape(key));
    } else {
        pointer.push_str(key);
    }
}

/// `.spec.vpc` for `/spec/vpc`, as the user reads it.
pub fn display_path(pointer: &str) -> String {
    let mut out = String::new();
    for token in pointer.split('/').skip(1) {
        if token.parse::<usize>().is_ok() {
            out.push_str(&format!("[{token}]"));
        } else {
            out.push('.');
            out.push_str(&token.replace("~1", "/").replace("~0", "~"));
        }
    }
    out
}

/// The closest candidate to a misspelt name, if any is close enough.
pub fn suggest<'a>(name: &str, candidates: &'a [String]) -> Option<&'a str> {
    let key = |text: &str| -> String {
        text.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let wanted = key(name);
    candidates
        .iter()
        .map(|candidate| (strsim::jaro_winkler(&wanted, &key(candidate)), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate.as_str())
}

fn code_diagnostic(code: Code) -> Diagnostic {
    Diagnostic::error(code)
}

fn type_kind_name(kind: &TypeKind) -> String {
    let name = |json_type: &jsonschema::JsonType| match json_type.to_string().as_str() {
        "string" => "a string".to_owned(),
        "integer" => "an integer".to_owned(),
        "number" => "a number".to_owned(),
        "boolean" => "a boolean (true or false)".to_owned(),
        "array" => "a list".to_owned(),
        "object" => "a mapping".to_owned(),
        "null" => "null".to_owned(),
        other => other.to_owned(),
    };
    match kind {
        TypeKind::Single(json_type) => name(json_type),
        TypeKind::Multiple(types) => types
            .iter()
            .filter(|json_type| json_type.to_string() != "null")
            .map(|json_type| name(&json_type))
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

/// Validates a normalised document and maps every schema error to a diagnostic.
pub(crate) fn validate(
    validator: &jsonschema::Validator,
    root_schema: &Json,
    document: &Node,
    instance: &Json,
    reported: &BTreeSet<String>,
    kind: Kind,
    resource: &str,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let context = ErrorContext {
        root_schema,
        document,
        reported,
        kind,
        resource,
    };
    // Most documents are valid: the cheap check first, the error walk only when needed.
    if validator.is_valid(instance) {
        return out;
    }
    for error in validator.iter_errors(instance) {
        context.map_error(&error, &mut out);
    }
    out
}

/// What mapping a jsonschema error to a diagnostic needs.
struct ErrorContext<'a> {
    root_schema: &'a Json,
    document: &'a Node,
    reported: &'a BTreeSet<String>,
    kind: Kind,
    resource: &'a str,
}

/// The `const` values of a schema's alternatives, when it is an enumeration written as
/// `oneOf: [{const: a}, {const: b}]` (how schemars writes enums with documented variants).
fn enum_values(root: &Json, schema: &Json) -> Option<Vec<String>> {
    let mut values = Vec::new();
    for option in alternatives(root, schema) {
        if let Some(value) = option.get("const").and_then(Json::as_str) {
            values.push(value.to_owned());
        } else if let Some(list) = option.get("enum").and_then(Json::as_array) {
            values.extend(list.iter().filter_map(Json::as_str).map(str::to_owned));
        } else if type_names(option) == ["null"] {
        } else {
            return None;
        }
    }
    (!values.is_empty()).then_some(values)
}

impl ErrorContext<'_> {
    // Long: one arm per JSON Schema error kind, each worded for dbplan's users; kept as one
    // match so every kind's message, help and code can be read and compared side by side.
    fn map_error(&self, error: &jsonschema::ValidationError<'_>, out: &mut Vec<Diagnostic>) {
        let (root_schema, document, kind, resource) =
            (self.root_schema, self.document, self.kind, self.resource);
        let pointer = error.instance_path().as_str().to_owned();
        if pointer == "/apiVersion" || pointer == "/kind" {
            return; // checked by the loader with better messages
        }
        if self
            .reported
            .iter()
            .any(|done| pointer == *done || pointer.starts_with(&format!("{done}/")))
        {
            return;
        }
        let located = document.locate(&pointer);
        let span = located.span();
        let node = located.node;
        let path = display_path(&pointer);
        let field = if path.is_empty() {
            "the document".to_owned()
        } else {
            format!("`{}`", path.trim_start_matches('.'))
        };
        let schema_here = schema_at(root_schema, &pointer);
        let reference_forms = schema_here.and_then(|schema| reference_forms(root_schema, schema));
        let is_reference = reference_forms.is_some();
        // An optional object or enum is `anyOf: [X, null]`: report what is wrong inside X
        // rather than "matches no alternative".
        if let ValidationErrorKind::AnyOf { context }
        | ValidationErrorKind::OneOfNotValid { context } = error.kind()
            && !is_reference
        {
            if let Some(allowed) = schema_here.and_then(|schema| enum_values(root_schema, schema)) {
                let given = node.as_str().unwrap_or_default();
                let help = match suggest(given, &allowed) {
                    Some(suggestion) => format!(
                        "did you mean `{suggestion}`? allowed: {}",
                        allowed.join(", ")
                    ),
                    None => format!("allowed: {}", allowed.join(", ")),
                };
                out.push(
                    code_diagnostic(codes::BAD_ENUM)
                        .with_message(format!("{field} cannot be {}", node.display_scalar()))
                        .with_help(help)
                        .with_span(span)
                        .with_resource(resource),
                );
                return;
            }
            let type_mismatch = |branch: &Vec<jsonschema::ValidationError<'static>>| {
                branch.iter().any(|inner| {
                    inner.instance_path().as_str() == pointer
                        && matches!(inner.kind(), ValidationErrorKind::Type { .. })
                })
            };
            let matching: Vec<&Vec<jsonschema::ValidationError<'static>>> = context
                .iter()
                .filter(|branch| !type_mismatch(branch))
                .collect();
            if let [branch] = matching.as_slice() {
                for inner in branch.iter() {
                    self.map_error(inner, out);
                }
                return;
            }
        }
        let diagnostic = match error.kind() {
            ValidationErrorKind::Required { property } => {
                let property = property.as_str().unwrap_or_default();
                let help = field_description(root_schema, &pointer, property).map_or_else(
                    || format!("add `{property}`"),
                    |description| format!("add `{property}`: {description}"),
                );
                code_diagnostic(codes::MISSING_FIELD)
                    .with_message(format!("{kind}{path} needs `{property}`"))
                    .with_help(help)
            }
            ValidationErrorKind::Type { kind: expected } => {
                let expected = type_kind_name(expected);
                let help = match (&node.value, expected.as_str()) {
                    (NodeValue::Int(_) | NodeValue::Float(_) | NodeValue::Bool(_), "a string") => {
                        format!(
                            "quote it: \"{}\" (YAML reads unquoted {} as {})",
                            node.display_scalar(),
                            node.display_scalar(),
                            node.type_name()
                        )
                    }
                    (NodeValue::String(_), "a list") => {
                        "write a list, e.g. `[a, b]` or one `- item` per line".to_owned()
                    }
                    _ => format!("write {expected}"),
                };
                code_diagnostic(codes::WRONG_TYPE)
                    .with_message(format!(
                        "{field} must be {expected}, found {}",
                        describe(node)
                    ))
                    .with_help(help)
            }
            ValidationErrorKind::Enum { options } => {
                let allowed: Vec<String> = options
                    .as_array()
                    .map(|values| {
                        values
                            .iter()
                            .filter_map(Json::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                let given = node.as_str().unwrap_or_default();
                let help = match suggest(given, &allowed) {
                    Some(suggestion) => format!(
                        "did you mean `{suggestion}`? allowed: {}",
                        allowed.join(", ")
                    ),
                    None => format!("allowed: {}", allowed.join(", ")),
                };
                code_diagnostic(codes::BAD_ENUM)
                    .with_message(format!("{field} cannot be {}", node.display_scalar()))
                    .with_help(help)
            }
            ValidationErrorKind::Constant { expected_value } => code_diagnostic(codes::BAD_ENUM)
                .with_message(format!("{field} cannot be {}", node.display_scalar()))
                .with_help(format!("write {expected_value}")),
            ValidationErrorKind::Minimum { limit }
            | ValidationErrorKind::ExclusiveMinimum { limit } => {
                code_diagnostic(codes::OUT_OF_RANGE)
                    .with_message(format!(
                        "{field} is {}, below the minimum {limit}",
                        node.display_scalar()
                    ))
                    .with_help(range_help(root_schema, &pointer))
            }
            ValidationErrorKind::Maximum { limit }
            | ValidationErrorKind::ExclusiveMaximum { limit } => {
                code_diagnostic(codes::OUT_OF_RANGE)
                    .with_message(format!(
                        "{field} is {}, above the maximum {limit}",
                        node.display_scalar()
                    ))
                    .with_help(range_help(root_schema, &pointer))
            }
            ValidationErrorKind::MaxLength { limit } => code_diagnostic(codes::OUT_OF_RANGE)
                .with_message(format!("{field} is longer than {limit} characters"))
                .with_help(format!("shorten it to at most {limit} characters")),
            ValidationErrorKind::MinLength { limit } => code_diagnostic(codes::OUT_OF_RANGE)
                .with_message(format!("{field} is shorter than {limit} characters"))
                .with_help(format!("write at least {limit} characters")),
            ValidationErrorKind::MinItems { limit } => code_diagnostic(codes::OUT_OF_RANGE)
                .with_message(format!("{field} has fewer than {limit} items"))
                .with_help(format!("list at least {limit}")),
            ValidationErrorKind::MaxItems { limit } => code_diagnostic(codes::OUT_OF_RANGE)
                .with_message(format!("{field} has more than {limit} items"))
                .with_help(format!("list at most {limit}")),
            ValidationErrorKind::UniqueItems => code_diagnostic(codes::INVALID_VALUE)
                .with_message(format!("{field} lists the same item twice"))
                .with_help("remove the duplicate"),
            ValidationErrorKind::Pattern { pattern } => code_diagnostic(codes::BAD_FORMAT)
                .with_message(format!(
                    "{field} is {}, which does not match `{pattern}`",
                    node.display_scalar()
                ))
                .with_help(
                    field_description(root_schema, &pointer, "")
                        .unwrap_or_else(|| format!("write a value matching `{pattern}`")),
                ),
            ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } => {
                let description = schema_at(root_schema, &pointer)
                    .and_then(|schema| schema.get("description"))
                    .and_then(Json::as_str)
                    .map(str::to_owned);
                let help = match reference_forms {
                    Some(forms) => forms.to_owned(),
                    None => description
                        .unwrap_or_else(|| "see `dbplan schema` for the accepted forms".to_owned()),
                };
                code_diagnostic(codes::WRONG_TYPE)
                    .with_message(format!(
                        "{field} ({}) is not in any accepted form",
                        describe(node)
                    ))
                    .with_help(help)
            }
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                code_diagnostic(codes::UNKNOWN_FIELD)
                    .with_message(format!("{} not allowed in {field}", unexpected.join(", ")))
                    .with_help("remove it")
            }
            _ => code_diagnostic(codes::INVALID_VALUE)
                .with_message(format!("{field}: {error}"))
                .with_help("see `dbplan schema` for what is accepted here"),
        };
        out.push(diagnostic.with_span(span).with_resource(resource));
    }
}

/// "a string \"lots\"", "a mapping": the type of a value and, for scalars, the value.
fn describe(node: &Node) -> String {
    match node.value {
        NodeValue::Map(_) | NodeValue::Seq(_) | NodeValue::Null => node.type_name().to_owned(),
        _ => {
            let text = node.display_scalar();
            let text = if text.chars().count() > 40 {
                format!("{}…", text.chars().take(40).collect::<String>())
            } else {
                text
            };
            format!("{} {text}", node.type_name())
        }
    }
}

/// The schema of the value at a JSON pointer of a document (following `$ref`s and picking the
/// object alternative of `anyOf`s).
pub fn schema_at<'a>(root: &'a Json, pointer: &str) -> Option<&'a Json> {
    let mut schema = resolve(root, root);
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        let options = alternatives(root, schema);
        let next = options.iter().find_map(|option| {
            if token.parse::<usize>().is_ok()
                && let Some(items) = option.get("items")
            {
                return Some(items);
            }
            properties(option)
                .and_then(|props| props.get(&token))
                .or_else(|| {
                    option
                        .get("additionalProperties")
                        .filter(|value| value.is_object())
                })
        })?;
        schema = resolve(root, next);
    }
    Some(schema)
}

fn field_description(root: &Json, pointer: &str, property: &str) -> Option<String> {
    let full = if property.is_empty() {
        pointer.to_owned()
    } else {
        format!("{pointer}/{property}")
    };
    schema_at(root, &full)
        .and_then(|schema| schema.get("description"))
        .and_then(Json::as_str)
        .map(|text| text.split("\n\n").next().unwrap_or(text).replace('\n', " "))
}

fn range_help(root: &Json, pointer: &str) -> String {
    let schema = schema_at(root, pointer);
    let bound = |key: &str| {
        schema
            .and_then(|schema| schema.get(key))
            .map(Json::to_string)
    };
    match (bound("minimum"), bound("maximum")) {
        (Some(min), Some(max)) => format!("use a value from {min} to {max}"),
        (Some(min), None) => format!("use a value of at least {min}"),
        (None, Some(max)) => format!("use a value of at most {max}"),
        (None, None) => "use a value in the allowed range".to_owned(),
    }
}

/// Builds the document schema of a kind from the spec's and metadata's schemas.
pub(crate) fn document_schema(
    kind: Kind,
    mut generator: schemars::SchemaGenerator,
    spec: schemars::Schema,
) -> Json {
    let metadata = generator.subschema_for::<crate::metadata::Metadata>();
    let definitions: JsonMap<String, Json> = generator.take_definitions(true);
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("https://dbplan.io/schemas/{}.json", kind.as_str()),
        "title": kind.as_str(),
        "description": kind.description(),
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string", "const": kind.api_group().api_version()},
            "kind": {"type": "string", "const": kind.as_str()},
            "metadata": metadata,
            "spec": spec,
            "status": {"type": "object", "description": "Ignored on input (Project Planton stack outputs)."}
        },
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": false,
        "$defs": definitions,
    })
}

/// The apiVersions a kind's documents may also carry, accepted with a warning: Planton's
/// DigitalOcean group, in both spellings, for every DigitalOcean kind.
pub fn compatible_api_versions(kind: Kind) -> Vec<&'static str> {
    if !kind.as_str().starts_with("DigitalOcean") {
        return Vec::new();
    }
    [
        "digital-ocean.project-planton.org/v1",
        "digitalocean.project-planton.org/v1",
    ]
    .into_iter()
    .filter(|version| *version != kind.api_group().api_version())
    .collect()
}

/// A regular expression for every spelling of a kind's name that [`Kind`]'s parser accepts (any
/// case, with or without `-`/`_`), for the editor schema.
fn kind_spellings(kind: Kind) -> String {
    let mut pattern = String::from("[-_]*");
    for c in kind.as_str().chars() {
        let (lower, upper) = (c.to_ascii_lowercase(), c.to_ascii_uppercase());
        if lower == upper {
            pattern.push(c);
        } else {
            pattern.push_str(&format!("[{lower}{upper}]"));
        }
        pattern.push_str("[-_]*");
    }
    pattern
}

/// What the loader turns into a number where a field wants an integer (`i128` parse of the
/// trimmed text) or a number (`f64` parse, finite).
const INTEGER_TEXT: &str = r"^\s*[+-]?[0-9]+\s*$";
const NUMBER_TEXT: &str = r"^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$";

/// Derives the editor schema from a document schema the loader validates with, by the rules of
/// the loader's normalisation ([`Walker`]), so that an editor accepts what `dbplan validate`
/// reads, no more and no less, before the semantic checks (formats, cross-field rules), which a
/// JSON Schema cannot say:
///
/// - every field of an object with named fields may also be written in lowerCamelCase (where the
///   loader maps that spelling back to the field); a required field is satisfied by either
///   spelling, and both spellings at once are refused;
/// - where a field wants a number and no string, a string holding a number is accepted too
///   (protojson does the same); its range is checked by the loader only.
struct Exporter<'a> {
    root: &'a Json,
}

impl Exporter<'_> {
    /// `field`: whether `schema` is the schema of a field's value (a property, a list item, a map
    /// value), where the loader reads numeric strings as numbers.
    fn schema(&self, schema: &Json, field: bool) -> Json {
        let Json::Object(map) = schema else {
            return schema.clone();
        };
        let mut out = JsonMap::new();
        for (key, value) in map {
            let value = match key.as_str() {
                "properties" => self.schemas_in_map(value, true),
                "$defs" | "dependentSchemas" => self.schemas_in_map(value, false),
                "additionalProperties" | "items" => self.schema(value, true),
                "anyOf" | "oneOf" | "allOf" => match value {
                    Json::Array(options) => Json::Array(
                        options
                            .iter()
                            .map(|option| self.schema(option, false))
                            .collect(),
                    ),
                    other => other.clone(),
                },
                "not" | "if" | "then" | "else" => self.schema(value, false),
                _ => value.clone(),
            };
            out.insert(key.clone(), value);
        }
        add_spellings(&mut out);
        let exported = Json::Object(out);
        if field {
            self.with_numeric_text(schema, exported)
        } else {
            exported
        }
    }

    fn schemas_in_map(&self, value: &Json, field: bool) -> Json {
        match value {
            Json::Object(map) => Json::Object(
                map.iter()
                    .map(|(name, schema)| (name.clone(), self.schema(schema, field)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Adds the numeric-string form to a field's schema where the loader converts one (the same
    /// test as [`Walker::walk`]: some alternative wants a number, none a string).
    fn with_numeric_text(&self, original: &Json, mut exported: Json) -> Json {
        let options = alternatives(self.root, original);
        let wants = |name: &str| {
            options
                .iter()
                .any(|option| type_names(option).contains(&name))
        };
        let pattern = if wants("string") {
            return exported;
        } else if wants("number") {
            NUMBER_TEXT
        } else if wants("integer") {
            INTEGER_TEXT
        } else {
            return exported;
        };
        let description = exported
            .as_object_mut()
            .and_then(|map| map.remove("description"));
        let mut wrapper = JsonMap::new();
        if let Some(description) = description {
            wrapper.insert("description".to_owned(), description);
        }
        wrapper.insert(
            "anyOf".to_owned(),
            json!([exported, {"type": "string", "pattern": pattern}]),
        );
        Json::Object(wrapper)
    }
}

/// Adds the lowerCamelCase spelling of each field to an object schema (right after the
/// snake_case one), lets either spelling satisfy `required`, and refuses both at once.
fn add_spellings(schema: &mut JsonMap<String, Json>) {
    let Some(Json::Object(props)) = schema.get("properties") else {
        return;
    };
    // Only where the loader maps the spelling back to the field (`ipv4_cidrs` ↔ `ipv4Cidrs`, but
    // not `zone_1` ↔ `zone1`) and no field of that name exists.
    let pairs: Vec<(String, String)> = props
        .keys()
        .filter_map(|name| {
            let camel = camel_case(name);
            (camel != *name && snake_case(&camel) == *name && !props.contains_key(&camel))
                .then(|| (name.clone(), camel))
        })
        .collect();
    if pairs.is_empty() {
        return;
    }
    let camel_of = |name: &str| {
        pairs
            .iter()
            .find(|(snake, _)| snake == name)
            .map(|(_, camel)| camel.clone())
    };
    let mut spelled = JsonMap::new();
    for (name, field) in props {
        spelled.insert(name.clone(), field.clone());
        if let Some(camel) = camel_of(name) {
            spelled.insert(camel, field.clone());
        }
    }
    schema.insert("properties".to_owned(), Json::Object(spelled));
    let mut all_of: Vec<Json> = match schema.remove("allOf") {
        Some(Json::Array(items)) => items,
        Some(other) => vec![other],
        None => Vec::new(),
    };
    if let Some(Json::Array(required)) = schema.remove("required") {
        let mut plain = Vec::new();
        for name in required {
            match name.as_str().and_then(camel_of) {
                Some(camel) => all_of.push(json!({"anyOf": [
                    {"required": [name]},
                    {"required": [camel]},
                ]})),
                None => plain.push(name),
            }
        }
        if !plain.is_empty() {
            schema.insert("required".to_owned(), Json::Array(plain));
        }
    }
    if !all_of.is_empty() {
        schema.insert("allOf".to_owned(), Json::Array(all_of));
    }
    let mut dependent = match schema.remove("dependentSchemas") {
        Some(Json::Object(map)) => map,
        _ => JsonMap::new(),
    };
    for (snake, camel) in &pairs {
        dependent.insert(
            snake.clone(),
            // `errorMessage` is the YAML language server's message for the refused key.
            json!({
                "properties": {camel.as_str(): false},
                "errorMessage": format!("`{camel}` and `{snake}` name the same field; keep one of the two spellings"),
            }),
        );
    }
    schema.insert("dependentSchemas".to_owned(), Json::Object(dependent));
}

/// The exported (editor) form of a document schema; see `Exporter`.
pub fn export(schema: &Json) -> Json {
    Exporter { root: schema }.schema(schema, false)
}

/// The exported schema of one kind's documents: [`export`] of the schema the loader validates
/// with, and the envelope as the loader checks it (the kind in any spelling its parser accepts,
/// the apiVersions it accepts with a warning).
pub fn export_kind(kind: Kind) -> Json {
    let mut schema = export(&crate::kinds::kind_schema(kind).schema);
    let expected = kind.api_group().api_version();
    let mut versions = vec![expected];
    versions.extend(compatible_api_versions(kind));
    let api_version = if versions.len() == 1 {
        json!({"type": "string", "const": expected})
    } else {
        json!({
            "type": "string",
            "enum": versions,
            "description": format!("`{expected}`; the others are accepted with a warning (Project Planton's spellings)."),
        })
    };
    let kind_schema = json!({
        "anyOf": [
            {"const": kind.as_str()},
            {
                "type": "string",
                "pattern": format!("^{}$", kind_spellings(kind)),
                "description": format!("Another spelling of `{kind}` (any case, with `-` or `_`), accepted with a warning."),
            }
        ]
    });
    if let Some(Json::Object(props)) = schema.get_mut("properties") {
        props.insert("apiVersion".to_owned(), api_version);
        props.insert("kind".to_owned(), kind_schema);
    }
    schema
}

/// One schema for a manifest file of any kind: `kind` selects the kind's schema.
pub fn export_all() -> Json {
    let mut definitions = JsonMap::new();
    let mut branches = Vec::new();
    let mut spellings = Vec::new();
    for kind in Kind::ALL {
        let mut schema = export_kind(*kind);
        if let Some(Json::Object(defs)) = schema.as_object_mut().and_then(|map| map.remove("$defs"))
        {
            definitions.extend(defs);
        }
        if let Json::Object(map) = &mut schema {
            map.remove("$schema");
            map.remove("$id");
        }
        definitions.insert(kind.as_str().to_owned(), schema);
        let pattern = format!("^{}$", kind_spellings(*kind));
        branches.push(json!({
            "if": {"properties": {"kind": {"type": "string", "pattern": pattern}}, "required": ["kind"]},
            "then": {"$ref": format!("#/$defs/{}", kind.as_str())}
        }));
        spellings.push(format!("(?:{})", kind_spellings(*kind)));
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://dbplan.io/schemas/dbplan.json",
        "title": "dbplan manifest",
        "description": "A dbplan manifest document; `kind` selects the schema.",
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {"kind": {"anyOf": [
            {"enum": Kind::ALL.iter().map(|kind| kind.as_str()).collect::<Vec<_>>()},
            {
                "type": "string",
                "pattern": format!("^(?:{})$", spellings.join("|")),
                "description": "Another spelling of a kind (any case, with `-` or `_`), accepted with a warning.",
            }
        ]}},
        "allOf": branches,
        "$defs": definitions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_conversions() {
        assert_eq!(snake_case("fieldPath"), "field_path");
        assert_eq!(snake_case("enableHttpEndpoint"), "enable_http_endpoint");
        assert_eq!(snake_case("already_snake"), "already_snake");
        assert_eq!(
            camel_case("iam_database_authentication_enabled"),
            "iamDatabaseAuthenticationEnabled"
        );
        for snake in ["field_path", "a__b", "trailing_", "_leading", "plain", ""] {
            for key in [
                camel_case(snake),
                "fieldpath".to_owned(),
                "FieldPath".to_owned(),
            ] {
                assert_eq!(
                    is_camel_case_of(&key, snake),
                    camel_case(snake) == key,
                    "{key} {snake}"
                );
            }
        }
    }

    #[test]
    fn kind_spellings_match_what_the_kind_parser_accepts() {
        for kind in Kind::ALL {
            let pattern = regex_lite(&kind_spellings(*kind));
            let name = kind.as_str();
            let kebab: String = name
                .chars()
                .enumerate()
                .flat_map(|(index, c)| {
                    let dash = (index > 0 && c.is_ascii_uppercase()).then_some('-');
                    dash.into_iter()
                        .chain(std::iter::once(c.to_ascii_lowercase()))
                })
                .collect();
            for spelling in [
                name.to_owned(),
                kebab.clone(),
                kebab.replace('-', "_"),
                name.to_ascii_uppercase(),
            ] {
                assert_eq!(spelling.parse::<Kind>(), Ok(*kind), "{spelling}");
                assert!(pattern.is_valid(&json!(spelling)), "{spelling} ~ {kind}");
            }
            let wrong = format!("{name}s");
            assert!(wrong.parse::<Kind>().is_err());
            assert!(!pattern.is_valid(&json!(wrong)), "{wrong}");
        }
    }

    /// A validator for "a string matching this pattern, whole".
    fn regex_lite(pattern: &str) -> jsonschema::Validator {
        jsonschema::validator_for(&json!({"type": "string", "pattern": format!("^{pattern}$")}))
            .expect("a valid pattern")
    }

    #[test]
    fn suggestions_find_near_misses_only() {
        let candidates = vec![
            "engine".to_owned(),
            "engine_version".to_owned(),
            "port".to_owned(),
        ];
        assert_eq!(suggest("engin", &candidates), Some("engine"));
        assert_eq!(suggest("engineVersio", &candidates), Some("engine_version"));
        assert_eq!(suggest("zzz", &candidates), None);
    }
}
