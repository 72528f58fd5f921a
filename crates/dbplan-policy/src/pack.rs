//! Policy packs: which rules are enforced, how, and with which parameters.
//!
//! A pack is a YAML file; `--policies PATH` names a file or a directory whose `*.yaml` files are
//! read in name order (later files override earlier ones). Without `--policies`, `./policies/` is
//! used when it exists, else every rule's default enforcement.
//!
//! ```yaml
//! name: production
//! rules:
//!   DB402: mandatory                 # mandatory (error, blocks), advisory (warning) or disabled
//!   DB104:
//!     enforcement: advisory
//!     parameters: {minimum_days: 14}
//! ```

use crate::codes;
use crate::rules::{RULES, Rule, rule};
use dbplan_diagnostics::{Diagnostic, SourceMap};
use dbplan_manifest::input::{self, InputError, Roots};
use dbplan_manifest::node::{Node, NodeValue};
use dbplan_manifest::schema::suggest;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// How a rule is enforced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Enforcement {
    /// Findings are errors: they block `lint`, `plan` and `apply` (exit 3).
    Mandatory,
    /// Findings are warnings (blocking only with `--fail-on warning`).
    Advisory,
    /// The rule does not run.
    Disabled,
}

impl Enforcement {
    pub fn as_str(self) -> &'static str {
        match self {
            Enforcement::Mandatory => "mandatory",
            Enforcement::Advisory => "advisory",
            Enforcement::Disabled => "disabled",
        }
    }

    fn parse(text: &str) -> Option<Enforcement> {
        match text {
            "mandatory" => Some(Enforcement::Mandatory),
            "advisory" => Some(Enforcement::Advisory),
            "disabled" => Some(Enforcement::Disabled),
            _ => None,
        }
    }
}

impl fmt::Display for Enforcement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The merged packs of a run.
#[derive(Clone, Debug, Default)]
pub struct Pack {
    /// Names of the packs read, in order.
    pub names: Vec<String>,
    /// Files read, in order.
    pub files: Vec<PathBuf>,
    enforcement: BTreeMap<&'static str, Enforcement>,
    params: BTreeMap<&'static str, BTreeMap<String, i64>>,
}

impl Pack {
    /// Every rule at its default enforcement and parameters.
    pub fn builtin() -> Pack {
        Pack::default()
    }

    /// The enforcement of a rule in this pack.
    pub fn enforcement(&self, rule: &Rule) -> Enforcement {
        self.enforcement
            .get(rule.code.as_str())
            .copied()
            .unwrap_or(rule.default)
    }

    /// The parameters a pack sets for a rule (the rest take their defaults).
    pub fn params(&self, code: &str) -> &BTreeMap<String, i64> {
        static EMPTY: BTreeMap<String, i64> = BTreeMap::new();
        self.params.get(code).unwrap_or(&EMPTY)
    }

    /// Reads the packs at `path` (a file, or a directory's `*.yaml`/`*.yml` in name order).
    /// Every mistake is a diagnostic with its location; the valid settings are still applied.
    ///
    /// Packs are read like manifests (`dbplan_manifest::input`): `path` is the root, a symbolic
    /// link in the directory is followed only when its target is inside it, FIFOs, sockets and
    /// devices are reported without being opened, and files over `DBPLAN_MAX_INPUT_BYTES` are
    /// refused before they are read.
    pub fn load(path: &Path, sources: &mut SourceMap) -> (Pack, Vec<Diagnostic>) {
        let mut pack = Pack::default();
        let mut diagnostics = Vec::new();
        let cap = input::max_input_bytes().unwrap_or_else(|error| {
            diagnostics.push(error.to_diagnostic());
            input::DEFAULT_MAX_INPUT_BYTES
        });
        let mut roots = Roots::new();
        roots.add(path);
        let files: Vec<PathBuf> = if path.is_dir() {
            let mut files: Vec<PathBuf> = match std::fs::read_dir(path) {
                Ok(entries) => entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.path())
                    .filter(|file| {
                        matches!(
                            file.extension().and_then(|e| e.to_str()),
                            Some("yaml" | "yml")
                        ) && !file.is_dir()
                    })
                    .collect(),
                Err(error) => {
                    diagnostics.push(read_error(path, &error));
                    Vec::new()
                }
            };
            files.sort();
            // A link leading outside the directory is reported and never read.
            files.retain(|file| {
                let is_link = file
                    .symlink_metadata()
                    .is_ok_and(|metadata| metadata.file_type().is_symlink());
                match is_link.then(|| roots.check_link(file)) {
                    Some(Err(error)) => {
                        diagnostics.push(input_error(&error));
                        false
                    }
                    _ => true,
                }
            });
            files
        } else {
            vec![path.to_path_buf()]
        };
        for file in files {
            let text = match input::read_bounded_text(&file, cap) {
                Ok(text) => text,
                Err(error) => {
                    diagnostics.push(input_error(&error));
                    continue;
                }
            };
            let id = sources.add(file.display().to_string(), text);
            match dbplan_manifest::parse_yaml(sources, id) {
                Ok(node) => pack.merge(&node, &file, &mut diagnostics),
                Err(mut errors) => diagnostics.append(&mut errors),
            }
            pack.files.push(file);
        }
        (pack, diagnostics)
    }

    fn merge(&mut self, node: &Node, file: &Path, diagnostics: &mut Vec<Diagnostic>) {
        let error = |node: &Node, message: String, help: &str| {
            Diagnostic::error(codes::INVALID_PACK)
                .with_message(message)
                .with_help(help)
                .with_span(node.span)
        };
        let NodeValue::Map(entries) = &node.value else {
            diagnostics.push(error(
                node,
                format!("{} is not a policy pack (a mapping)", file.display()),
                "write `name:` and `rules:` keys",
            ));
            return;
        };
        for entry in entries {
            match entry.key.as_str() {
                "name" => match entry.value.as_str() {
                    Some(name) => self.names.push(name.to_owned()),
                    None => diagnostics.push(error(
                        &entry.value,
                        "`name` must be a string".to_owned(),
                        "e.g. `name: production`",
                    )),
                },
                "description" => {}
                "rules" => self.merge_rules(&entry.value, diagnostics),
                other => {
                    let help = match suggest(
                        other,
                        &[
                            "name".to_owned(),
                            "description".to_owned(),
                            "rules".to_owned(),
                        ],
                    ) {
                        Some(suggestion) => format!("did you mean `{suggestion}`?"),
                        None => "a pack has `name`, `description` and `rules`".to_owned(),
                    };
                    diagnostics.push(
                        Diagnostic::error(codes::INVALID_PACK)
                            .with_message(format!("`{other}` is not a field of a policy pack"))
                            .with_help(help)
                            .with_span(entry.key_span),
                    );
                }
            }
        }
    }

    fn merge_rules(&mut self, node: &Node, diagnostics: &mut Vec<Diagnostic>) {
        let NodeValue::Map(entries) = &node.value else {
            diagnostics.push(
                Diagnostic::error(codes::INVALID_PACK)
                    .with_message("`rules` must be a mapping from codes to settings")
                    .with_help("e.g. `rules: {DB402: mandatory}`")
                    .with_span(node.span),
            );
            return;
        };
        let codes: Vec<String> = RULES.iter().map(|rule| rule.code.to_string()).collect();
        for entry in entries {
            let Some(rule) = rule(&entry.key) else {
                let help = match suggest(&entry.key, &codes) {
                    Some(suggestion) => format!("did you mean `{suggestion}`?"),
                    None => "`dbplan policy list` shows every code".to_owned(),
                };
                diagnostics.push(
                    Diagnostic::error(codes::INVALID_PACK)
                        .with_message(format!("`{}` is not a policy code", entry.key))
                        .with_help(help)
                        .with_span(entry.key_span),
                );
                continue;
            };
            let value = &entry.value;
            let (enforcement_node, params_node) = match &value.value {
                NodeValue::String(_) => (Some(value), None),
                NodeValue::Map(_) => (value.get("enforcement"), value.get("parameters")),
                _ => (None, None),
            };
            if let NodeValue::Map(fields) = &value.value {
                for field in fields {
                    if field.key != "enforcement" && field.key != "parameters" {
                        diagnostics.push(
                            Diagnostic::error(codes::INVALID_PACK)
                                .with_message(format!("`{}` is not a rule setting", field.key))
                                .with_help("a rule takes `enforcement` and `parameters`")
                                .with_span(field.key_span),
                        );
                    }
                }
            }
            match enforcement_node {
                Some(node) => match node.as_str().and_then(Enforcement::parse) {
                    Some(enforcement) => {
                        self.enforcement.insert(rule.code.as_str(), enforcement);
                    }
                    None => diagnostics.push(
                        Diagnostic::error(codes::INVALID_PACK)
                            .with_message(format!(
                                "{} is not an enforcement",
                                node.display_scalar()
                            ))
                            .with_help("use mandatory, advisory or disabled")
                            .with_span(node.span),
                    ),
                },
                None if params_node.is_none() => diagnostics.push(
                    Diagnostic::error(codes::INVALID_PACK)
                        .with_message(format!("no setting for {}", rule.code))
                        .with_help("write `mandatory`, `advisory`, `disabled`, or `{enforcement: …, parameters: {…}}`")
                        .with_span(value.span),
                ),
                None => {}
            }
            if let Some(params) = params_node {
                self.merge_params(rule, params, diagnostics);
            }
        }
    }

    fn merge_params(&mut self, rule: &Rule, node: &Node, diagnostics: &mut Vec<Diagnostic>) {
        let NodeValue::Map(entries) = &node.value else {
            diagnostics.push(
                Diagnostic::error(codes::INVALID_PACK)
                    .with_message("`parameters` must be a mapping")
                    .with_help("e.g. `parameters: {minimum_days: 14}`")
                    .with_span(node.span),
            );
            return;
        };
        let names: Vec<String> = rule
            .params
            .iter()
            .map(|param| param.name.to_owned())
            .collect();
        for entry in entries {
            let Some(param) = rule.params.iter().find(|param| param.name == entry.key) else {
                let help = match suggest(&entry.key, &names) {
                    Some(suggestion) => format!("did you mean `{suggestion}`?"),
                    None if names.is_empty() => format!("{} takes no parameters", rule.code),
                    None => format!("{} takes: {}", rule.code, names.join(", ")),
                };
                diagnostics.push(
                    Diagnostic::error(codes::INVALID_PACK)
                        .with_message(format!(
                            "`{}` is not a parameter of {}",
                            entry.key, rule.code
                        ))
                        .with_help(help)
                        .with_span(entry.key_span),
                );
                continue;
            };
            let value = match &entry.value.value {
                NodeValue::Int(value) => i64::try_from(*value)
                    .ok()
                    .filter(|value| (param.min..=param.max).contains(value)),
                _ => None,
            };
            match value {
                Some(value) => {
                    self.params
                        .entry(rule.code.as_str())
                        .or_default()
                        .insert(param.name.to_owned(), value);
                }
                None => diagnostics.push(
                    Diagnostic::error(codes::INVALID_PACK)
                        .with_message(format!(
                            "`{}` of {} must be an integer from {} to {}, not {}",
                            param.name,
                            rule.code,
                            param.min,
                            param.max,
                            entry.value.display_scalar()
                        ))
                        .with_help(param.description)
                        .with_span(entry.value.span),
                ),
            }
        }
    }
}

/// A pack file that was not read: an I/O error as before (P001), a refusal of the input reader
/// with the reader's own code (M018 outside the path, M019 not a regular file, M020 too large).
fn input_error(error: &InputError) -> Diagnostic {
    match error {
        InputError::Io { path, source } => read_error(Path::new(path), source),
        _ => error.to_diagnostic(),
    }
}

fn read_error(path: &Path, error: &std::io::Error) -> Diagnostic {
    Diagnostic::error(codes::INVALID_PACK)
        .with_message(format!("cannot read {}: {error}", path.display()))
        .with_help("pass an existing policy pack file or directory to --policies")
}
