//! Checks a saved plan's values again, with the manifests' own rules, before apply sends any
//! of them to a provider.
//!
//! A plan file is authenticated, but a plan made by an older or buggy dbplan, or one whose key
//! leaked, must still not carry a value that no manifest could have. So the planned values of
//! each resource are put back into a manifest document (its spec fields, merged from every part
//! the plan creates or updates; references and `secretEnv` secrets as the manifest wrote them)
//! and loaded by the manifest loader itself: the same schema, formats and semantic checks, not
//! a second copy of them.

use crate::model::{Plan, SecretSource};
use dbplan_core::{Action, Kind, Value};
use dbplan_diagnostics::Severity;
use dbplan_manifest::codes;
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;

/// What is wrong with the plan's values: one sentence per mistake, naming the resource and
/// the field; empty when every value passes.
pub fn revalidate(plan: &Plan) -> Vec<String> {
    let mut documents: BTreeMap<(Kind, &str), Map<String, Json>> = BTreeMap::new();
    for change in &plan.changes {
        if !matches!(
            change.action,
            Action::Create | Action::Adopt | Action::Update | Action::Replace
        ) {
            continue;
        }
        let fields = spec_fields(change.kind());
        let spec = documents
            .entry((change.kind(), &change.address.name))
            .or_default();
        for (name, value) in &change.after {
            if !fields.contains(name) || spec.contains_key(name) {
                continue;
            }
            spec.insert(name.clone(), field_json(change, name, value));
        }
    }
    let mut loader = dbplan_manifest::Loader::default();
    for ((kind, name), spec) in &documents {
        let document = serde_json::json!({
            "apiVersion": kind.api_group().api_version(),
            "kind": kind.as_str(),
            "metadata": {"name": name},
            "spec": spec,
        });
        // JSON is YAML: the loader reads the document as it reads a manifest.
        loader.add_source(
            &format!("saved plan: {}/{name}", kind.as_str()),
            document.to_string(),
        );
    }
    let (_, diagnostics) = loader.finish();
    diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        // A plan narrowed with --target may leave out parts, and with them required fields.
        .filter(|diagnostic| diagnostic.code != codes::MISSING_FIELD)
        .map(|diagnostic| {
            format!(
                "{}: {}",
                diagnostic.resource.as_deref().unwrap_or("the plan"),
                diagnostic.message
            )
        })
        .collect()
}

/// The spec fields of a kind (snake_case), from its schema.
#[expect(
    clippy::expect_used,
    reason = "every kind's schema is generated from its spec type: a test checks each has fields"
)]
fn spec_fields(kind: Kind) -> Vec<String> {
    let schema = &dbplan_manifest::kind_schema(kind).schema;
    dbplan_manifest::schema::schema_at(schema, "/spec")
        .and_then(|spec| spec.get("properties"))
        .and_then(Json::as_object)
        .map(|properties| properties.keys().cloned().collect())
        .expect("a kind's schema lists the fields of its spec")
}

/// A planned value as the manifest wrote it: a reference where the plan has an unknown it
/// resolves at apply, `{secretEnv}` where it has a secret's fingerprint.
fn field_json(change: &crate::model::Change, name: &str, value: &Value) -> Json {
    if let Some(secret) = change.secrets.get(name) {
        return match &secret.source {
            SecretSource::Env(variable) => serde_json::json!({"secret_env": variable}),
            // A literal is never carried by a plan; any text stands for it.
            SecretSource::Literal => Json::String("(sensitive)".to_owned()),
        };
    }
    let mut json = value.to_json_exposed();
    for (pointer, reference) in &change.references {
        let Some(rest) = pointer
            .strip_prefix(name)
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        else {
            continue;
        };
        let placeholder = serde_json::json!({"value_from": {
            "kind": reference.address.kind.as_str(),
            "name": reference.address.name,
            "field_path": format!("status.outputs.{}", reference.output),
        }});
        if rest.is_empty() {
            json = placeholder;
        } else if let Some(slot) = json.pointer_mut(rest) {
            *slot = placeholder;
        }
    }
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_spec_fields() {
        for kind in Kind::ALL {
            assert!(!spec_fields(*kind).is_empty(), "{kind}");
        }
    }
}
