//! The CEL `x-kubernetes-validations` rules of a CRD version, evaluated with kube-cel's own
//! schema walker; every outcome other than "true" and "false" is a violation of kind
//! `Unevaluated`, so a rule that was not evaluated never passes.

use crate::convert::type_name;
use crate::{RuleInfo, Violation, ViolationKind};
use kube_cel::cel::{Context, ExecutionError, Program};
use kube_cel::{CompiledSchema, ErrorKind, KubeCelExt, RootContext, ValidationError, Validator};
use serde_json::Value;
use std::collections::HashSet;

/// The compiled rules of one CRD version.
pub(crate) struct Rules {
    compiled: CompiledSchema,
    root: RootContext,
    /// The text of every rule that reads `oldSelf`.
    transition: HashSet<String>,
    /// Each rule's `message`, by rule text, for the API server's "evaluating rule" wording.
    messages: std::collections::HashMap<String, String>,
    /// Rules that call a function kube-cel does not provide, with the reason. Their programs are
    /// replaced by one that always fails to evaluate, so that short-circuiting (`has(x) && f(x)`)
    /// can never let such a rule pass.
    unevaluable: std::collections::HashMap<String, String>,
    /// Whether the version has any rule at all (the API server builds no CEL validator
    /// otherwise, so schema errors then add no "rules not checked" notice).
    any: bool,
}

/// What an unevaluable rule's program is replaced with: an identifier nothing declares.
const UNEVALUABLE: &str = "dbplan_unevaluable_rule";

impl Rules {
    pub(crate) fn compile(schema: &Value, group: &str, api_version: &str, kind: &str) -> Self {
        let mut compiled = kube_cel::compile_schema(schema);
        let probe = Context::default().with_all();
        let mut unevaluable = std::collections::HashMap::new();
        visit_mut(&mut compiled, &mut |node| {
            for result in &mut node.validations {
                if let Ok(rule) = result
                    && let Some(name) = unsupported_function(&rule.program, &probe)
                    && let Ok(never) = Program::compile(UNEVALUABLE)
                {
                    unevaluable.insert(
                        rule.rule.rule.clone(),
                        format!("rule references '{name}', which kube-cel does not provide"),
                    );
                    rule.program = never;
                }
            }
        });
        let mut transition = HashSet::new();
        let mut messages = std::collections::HashMap::new();
        let mut any = false;
        visit(&compiled, &mut |node| {
            for result in &node.validations {
                any = true;
                let Ok(rule) = result else { continue };
                if rule.is_transition_rule {
                    transition.insert(rule.rule.rule.clone());
                }
                if let Some(message) = &rule.rule.message {
                    messages.insert(rule.rule.rule.clone(), message.clone());
                }
            }
        });
        Self {
            compiled,
            root: RootContext {
                api_version: api_version.to_owned(),
                api_group: group.to_owned(),
                kind: kind.to_owned(),
            },
            transition,
            messages,
            unevaluable,
            any,
        }
    }

    pub(crate) fn any(&self) -> bool {
        self.any
    }

    /// Evaluates every rule on `object` (defaulted) with `old` (defaulted) for transition rules.
    pub(crate) fn check(&self, object: &Value, old: Option<&Value>, out: &mut Vec<Violation>) {
        let result = VALIDATOR.with(|validator| {
            validator.validate_compiled_with_context(&self.compiled, object, old, Some(&self.root))
        });
        if let Err(errors) = result {
            out.extend(errors.iter().map(|error| self.violation(error, object)));
        }
    }

    fn violation(&self, error: &ValidationError, object: &Value) -> Violation {
        let rule = (!error.rule.is_empty()).then(|| error.rule.clone());
        let shown = value_at(object, &error.field_path).map_or("object", type_name);
        if let Some(key) = missing_key(error) {
            // The API server's answer to the same error: the object is invalid, and the message
            // names the key and the rule's message.
            let named = self.messages.get(&error.rule).unwrap_or(&error.rule);
            return Violation {
                path: error.field_path.clone(),
                message: format!(
                    "Invalid value: {shown:?}: no such key: {key} evaluating rule: {named}"
                ),
                kind: self.kind_of(&error.rule),
                rule,
            };
        }
        if error.kind != ErrorKind::ValidationFailure {
            let named = if error.rule.is_empty() {
                "a validation rule".to_owned()
            } else {
                format!("rule {:?}", error.rule)
            };
            let why = self.unevaluable.get(&error.rule).unwrap_or(&error.message);
            return Violation {
                path: error.field_path.clone(),
                message: format!("Internal error: {named} was not evaluated: {why}"),
                kind: ViolationKind::Unevaluated,
                rule,
            };
        }
        let kind = self.kind_of(&error.rule);
        let message = match error.reason.as_deref() {
            Some("FieldValueForbidden") => format!("Forbidden: {}", error.message),
            Some("FieldValueRequired") => format!("Required value: {}", error.message),
            Some("FieldValueDuplicate") => format!("Duplicate value: {shown:?}"),
            _ => format!("Invalid value: {shown:?}: {}", error.message),
        };
        Violation {
            path: error.field_path.clone(),
            message,
            kind,
            rule,
        }
    }

    fn kind_of(&self, rule: &str) -> ViolationKind {
        if self.transition.contains(rule) {
            ViolationKind::Transition
        } else {
            ViolationKind::Rule
        }
    }

    /// Every rule of this version: where it is, whether it is a transition rule, and why it
    /// cannot be evaluated, if it cannot.
    pub(crate) fn infos(&self, version: &str) -> Vec<RuleInfo> {
        let mut infos = Vec::new();
        walk_paths(&self.compiled, &mut Vec::new(), &mut |node, path| {
            for result in &node.validations {
                let info = match result {
                    Ok(compiled) => RuleInfo {
                        version: version.to_owned(),
                        path: path.to_owned(),
                        rule: compiled.rule.rule.clone(),
                        transition: compiled.is_transition_rule,
                        unevaluable: self.unevaluable.get(&compiled.rule.rule).cloned(),
                    },
                    Err(error) => RuleInfo {
                        version: version.to_owned(),
                        path: path.to_owned(),
                        rule: compile_error_rule(error),
                        transition: false,
                        unevaluable: Some(error.to_string()),
                    },
                };
                infos.push(info);
            }
        });
        infos
    }
}

thread_local! {
    /// kube-cel's validator holds a CEL context with every function registered; building it
    /// costs more than most validations, so each thread builds one.
    static VALIDATOR: Validator = Validator::new();
}

/// Calls `f` on every node of the compiled tree.
fn visit(node: &CompiledSchema, f: &mut impl FnMut(&CompiledSchema)) {
    walk_paths(node, &mut Vec::new(), &mut |node, _| f(node));
}

/// Calls `f` on every node of the compiled tree, mutably.
fn visit_mut(node: &mut CompiledSchema, f: &mut impl FnMut(&mut CompiledSchema)) {
    f(node);
    for child in node.properties.values_mut() {
        visit_mut(child, f);
    }
    for child in node
        .items
        .iter_mut()
        .chain(node.additional_properties.iter_mut())
    {
        visit_mut(child, f);
    }
    for branch in node
        .all_of
        .iter_mut()
        .chain(node.one_of.iter_mut())
        .chain(node.any_of.iter_mut())
    {
        visit_mut(branch, f);
    }
}

/// Calls `f` on every node of the compiled tree with its field path (`[*]` for list items,
/// `[*]` for map values too).
fn walk_paths(
    node: &CompiledSchema,
    path: &mut Vec<String>,
    f: &mut impl FnMut(&CompiledSchema, &str),
) {
    f(node, &path.concat());
    let mut names: Vec<&String> = node.properties.keys().collect();
    names.sort();
    for name in names {
        let segment = if path.is_empty() {
            name.clone()
        } else {
            format!(".{name}")
        };
        path.push(segment);
        if let Some(child) = node.properties.get(name) {
            walk_paths(child, path, f);
        }
        path.pop();
    }
    for child in node.items.iter().chain(node.additional_properties.iter()) {
        path.push("[*]".to_owned());
        walk_paths(child, path, f);
        path.pop();
    }
    for branch in node.all_of.iter().chain(&node.one_of).chain(&node.any_of) {
        walk_paths(branch, path, f);
    }
}

/// The rule text a compile error names.
fn compile_error_rule(error: &kube_cel::CompilationError) -> String {
    match error {
        kube_cel::CompilationError::Parse { rule, .. }
        | kube_cel::CompilationError::MessageExpressionParse { rule, .. } => rule.clone(),
        _ => String::new(),
    }
}

/// The key a rule read that the object does not have, when that is why its evaluation failed
/// (`self.localeProvider` without `has(self.localeProvider)`): an error the API server reports
/// the same way, not a gap in kube-cel.
fn missing_key(error: &ValidationError) -> Option<String> {
    if error.kind != ErrorKind::EvaluationError {
        return None;
    }
    let source = std::error::Error::source(error)?;
    match source.downcast_ref::<ExecutionError>()? {
        ExecutionError::NoSuchKey(key) => Some(key.to_string()),
        _ => None,
    }
}

/// The first function a program calls that the CEL context does not provide. A call of a
/// function with no arguments fails with `UndeclaredReference` only when the name is unknown.
fn unsupported_function(program: &Program, probe: &Context<'_>) -> Option<String> {
    let references = program.references();
    let mut names: Vec<&str> = references.functions();
    names.sort_unstable();
    names.into_iter().find_map(|name| {
        if !name.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
            return None; // an operator: `_&&_`, `!_`, `@in`, ...
        }
        let call = Program::compile(&format!("{name}()")).ok()?;
        match call.execute(probe) {
            Err(ExecutionError::UndeclaredReference(missing)) if missing.as_str() == name => {
                Some(name.to_owned())
            }
            _ => None,
        }
    })
}

/// The value at a field path (`spec.managed.roles[0].name`), if there is one.
fn value_at<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = object;
    for part in path.split('.').filter(|part| !part.is_empty()) {
        let (name, indices) = match part.find('[') {
            Some(open) => (&part[..open], &part[open..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            current = current.get(name)?;
        }
        for index in indices.split(['[', ']']).filter(|index| !index.is_empty()) {
            current = current.get(index.parse::<usize>().ok()?)?;
        }
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_at_follows_fields_and_indices() {
        let object = serde_json::json!({"spec": {"roles": [{"name": "a"}, {"name": "b"}]}});
        assert_eq!(
            value_at(&object, "spec.roles[1].name"),
            Some(&Value::from("b"))
        );
        assert_eq!(value_at(&object, "spec.roles[2]"), None);
    }
}
