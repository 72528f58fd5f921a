//! CloudNativePG's CustomResourceDefinitions, vendored unchanged (`crds/`, Apache-2.0, see the
//! README there), and offline validation of a Kubernetes object against them as the API server
//! validates a custom resource with strict field validation:
//!
//! - the version's `openAPIV3Schema` as a JSON Schema (unknown fields rejected, int-or-string,
//!   `int32`/`int64` bounds, `nullable`, `apiVersion`/`kind` pinned, `metadata` required);
//! - `metadata.name` (a DNS subdomain) and `metadata.namespace` (a DNS label);
//! - `x-kubernetes-list-type: set`/`map` uniqueness;
//! - the CEL `x-kubernetes-validations` rules, transition rules against an old object.
//!
//! A CEL rule that cannot be evaluated is a [`Violation`] of kind
//! [`ViolationKind::Unevaluated`]: it is never a pass. No I/O, no async.
//!
//! ```
//! let crds = dbplan_crd::Crds::embedded();
//! let cluster = crds.find("postgresql.cnpg.io/v1", "Cluster").expect("vendored");
//! let object = serde_json::json!({
//!     "apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
//!     "metadata": {"name": "pg"}, "spec": {"instances": 0, "storage": {"size": "1Gi"}},
//! });
//! let violations = cluster.validate(&object, None);
//! assert_eq!(violations[0].path, "spec.instances");
//! ```

mod convert;
mod rules;
mod structural;

use serde_json::Value;
use std::sync::{LazyLock, OnceLock};

/// The vendored CRD files, by file name.
const EMBEDDED: [(&str, &str); 6] = [
    (
        "postgresql.cnpg.io_clusters.yaml",
        include_str!("../crds/postgresql.cnpg.io_clusters.yaml"),
    ),
    (
        "postgresql.cnpg.io_scheduledbackups.yaml",
        include_str!("../crds/postgresql.cnpg.io_scheduledbackups.yaml"),
    ),
    (
        "postgresql.cnpg.io_databases.yaml",
        include_str!("../crds/postgresql.cnpg.io_databases.yaml"),
    ),
    (
        "postgresql.cnpg.io_poolers.yaml",
        include_str!("../crds/postgresql.cnpg.io_poolers.yaml"),
    ),
    (
        "postgresql.cnpg.io_backups.yaml",
        include_str!("../crds/postgresql.cnpg.io_backups.yaml"),
    ),
    (
        "barmancloud.cnpg.io_objectstores.yaml",
        include_str!("../crds/barmancloud.cnpg.io_objectstores.yaml"),
    ),
];

static CRDS: LazyLock<Crds> = LazyLock::new(parse_embedded);

#[expect(
    clippy::expect_used,
    reason = "the embedded files are vendored in the crate and a test loads every one"
)]
fn parse_embedded() -> Crds {
    Crds::from_yaml(EMBEDDED.iter().map(|(_, text)| *text)).expect("the vendored CRDs parse")
}

/// A set of CustomResourceDefinitions.
#[derive(Debug)]
pub struct Crds {
    crds: Vec<Crd>,
}

impl Crds {
    /// The vendored CloudNativePG CRDs (Cluster, ScheduledBackup, Database, Pooler, Backup and
    /// the Barman Cloud plugin's ObjectStore), parsed once on first use.
    pub fn embedded() -> &'static Crds {
        &CRDS
    }

    /// The names and texts of the vendored CRD files, as they are in `crds/`.
    pub fn embedded_files() -> &'static [(&'static str, &'static str)] {
        &EMBEDDED
    }

    /// Parses CRDs from YAML texts (one CRD each). Validators are compiled on first use.
    pub fn from_yaml<'a>(texts: impl IntoIterator<Item = &'a str>) -> Result<Crds, CrdError> {
        let crds = texts
            .into_iter()
            .map(|text| {
                let definition: Value = serde_saphyr::from_str(text)
                    .map_err(|error| CrdError(format!("not YAML: {error}")))?;
                Crd::new(definition)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Crds { crds })
    }

    /// The CRD that serves `kind` in `api_version` (`group/version`).
    pub fn find(&self, api_version: &str, kind: &str) -> Option<&Crd> {
        let (group, version) = api_version.split_once('/')?;
        self.crds.iter().find(|crd| {
            crd.group == group && crd.kind == kind && crd.versions.iter().any(|v| v.name == version)
        })
    }

    /// Every CRD, in the order they were given.
    pub fn iter(&self) -> impl Iterator<Item = &Crd> {
        self.crds.iter()
    }
}

/// A CRD that is not one this crate can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrdError(String);

impl std::fmt::Display for CrdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid CustomResourceDefinition: {}", self.0)
    }
}

impl std::error::Error for CrdError {}

/// One CustomResourceDefinition and its served versions' validators.
pub struct Crd {
    definition: Value,
    group: String,
    kind: String,
    plural: String,
    singular: String,
    short_names: Vec<String>,
    namespaced: bool,
    versions: Vec<Version>,
}

impl std::fmt::Debug for Crd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crd")
            .field("group", &self.group)
            .field("kind", &self.kind)
            .field("versions", &self.versions())
            .finish_non_exhaustive()
    }
}

/// A served version of a CRD, its schema and its validators (compiled on first use).
struct Version {
    name: String,
    schema: Value,
    compiled: OnceLock<Compiled>,
}

/// A version's JSON Schema validator and its CEL rules.
struct Compiled {
    schema: Result<jsonschema::Validator, String>,
    rules: rules::Rules,
}

/// Where a CRD's object failed validation, in the API server's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field path, as the API server writes it: `spec.storage.size`,
    /// `spec.managed.roles[0].name`; empty for the object itself.
    pub path: String,
    /// The API server's message without the path: `Required value`, `Unsupported value: "x":
    /// supported values: ...`, `Invalid value: "string": name is immutable`.
    pub message: String,
    pub kind: ViolationKind,
    /// The CEL rule, for `Rule`, `Transition` and `Unevaluated` violations.
    pub rule: Option<String>,
}

impl Violation {
    /// The API server's cause type for this violation (`FieldValueRequired`, ...), read from
    /// the message's first words as the API server derives both from the same error type.
    pub fn reason(&self) -> &'static str {
        const REASONS: [(&str, &str); 8] = [
            ("Required value", "FieldValueRequired"),
            ("Unsupported value", "FieldValueNotSupported"),
            ("Duplicate value", "FieldValueDuplicate"),
            ("Forbidden", "FieldValueForbidden"),
            ("Too long", "FieldValueTooLong"),
            ("Too many", "FieldValueTooMany"),
            ("Internal error", "InternalError"),
            ("unknown field", "FieldValueInvalid"),
        ];
        REASONS
            .iter()
            .find(|(prefix, _)| self.message.starts_with(prefix))
            .map_or("FieldValueInvalid", |(_, reason)| reason)
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// What kind of check a [`Violation`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViolationKind {
    /// The OpenAPI schema, an unknown field, the object's name, a list's uniqueness.
    Schema,
    /// A CEL rule evaluated to false.
    Rule,
    /// A CEL transition rule (one that reads `oldSelf`) evaluated to false.
    Transition,
    /// A CEL rule that could not be evaluated (kube-cel does not support it, it does not
    /// compile, its evaluation failed), or the rules the API server skips when the schema
    /// already failed. Never a pass.
    Unevaluated,
}

/// One CEL rule of a CRD, as [`Crd::rules`] lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    pub version: String,
    /// Where the rule is, `[*]` standing for any list item or map value.
    pub path: String,
    pub rule: String,
    /// The rule reads `oldSelf`.
    pub transition: bool,
    /// Why the rule cannot be evaluated, when it cannot: every evaluation of it is then a
    /// violation of kind `Unevaluated`.
    pub unevaluable: Option<String>,
}

/// The API server's notice when schema errors keep it from running the CEL rules.
const RULES_NOT_CHECKED: &str = "Invalid value: \"null\": some validation rules were not checked \
    because the object was invalid; correct the existing errors to complete validation";

impl Crd {
    fn new(definition: Value) -> Result<Crd, CrdError> {
        let text = |pointer: &str| {
            definition
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let missing = |what: &str| CrdError(format!("no {what}"));
        if text("/kind").as_deref() != Some("CustomResourceDefinition") {
            return Err(missing("kind: CustomResourceDefinition"));
        }
        let group = text("/spec/group").ok_or_else(|| missing("spec.group"))?;
        let kind = text("/spec/names/kind").ok_or_else(|| missing("spec.names.kind"))?;
        let plural = text("/spec/names/plural").ok_or_else(|| missing("spec.names.plural"))?;
        let singular = text("/spec/names/singular").unwrap_or_else(|| kind.to_lowercase());
        let short_names = definition
            .pointer("/spec/names/shortNames")
            .and_then(Value::as_array)
            .map(|names| {
                names
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let namespaced = text("/spec/scope").as_deref() != Some("Cluster");
        let versions = definition
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .ok_or_else(|| missing("spec.versions"))?
            .iter()
            .filter(|version| version.get("served").and_then(Value::as_bool) == Some(true))
            .map(|version| {
                let name = version.get("name").and_then(Value::as_str);
                let schema = version.pointer("/schema/openAPIV3Schema");
                match (name, schema) {
                    (Some(name), Some(schema)) => Ok(Version {
                        name: name.to_owned(),
                        schema: schema.clone(),
                        compiled: OnceLock::new(),
                    }),
                    _ => Err(missing("name and openAPIV3Schema on a served version")),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Crd {
            definition,
            group,
            kind,
            plural,
            singular,
            short_names,
            namespaced,
            versions,
        })
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn plural(&self) -> &str {
        &self.plural
    }

    pub fn singular(&self) -> &str {
        &self.singular
    }

    pub fn short_names(&self) -> &[String] {
        &self.short_names
    }

    /// The served versions' names (`v1`).
    pub fn versions(&self) -> Vec<&str> {
        self.versions.iter().map(|v| v.name.as_str()).collect()
    }

    pub fn namespaced(&self) -> bool {
        self.namespaced
    }

    /// The whole CRD as JSON.
    pub fn definition(&self) -> &Value {
        &self.definition
    }

    /// Compiles every served version's validators now rather than on first use.
    pub fn prepare(&self) {
        for version in &self.versions {
            self.compiled(version);
        }
    }

    /// Every CEL rule of the served versions, and whether each can be evaluated.
    pub fn rules(&self) -> Vec<RuleInfo> {
        self.versions
            .iter()
            .flat_map(|version| self.compiled(version).rules.infos(&version.name))
            .collect()
    }

    fn compiled<'a>(&self, version: &'a Version) -> &'a Compiled {
        version.compiled.get_or_init(|| {
            let api_version = format!("{}/{}", self.group, version.name);
            let json = convert::json_schema(&version.schema, &api_version, &self.kind);
            let schema = jsonschema::draft4::options()
                .should_validate_formats(true)
                .build(&json)
                .map_err(|error| error.to_string());
            let rules =
                rules::Rules::compile(&version.schema, &self.group, &api_version, &self.kind);
            Compiled { schema, rules }
        })
    }

    /// The served version `object`'s `apiVersion` names, or the violation saying it is not one.
    fn version_of(&self, object: &Value) -> Result<&Version, Violation> {
        let given = object.get("apiVersion");
        let found = given
            .and_then(Value::as_str)
            .and_then(|api_version| api_version.split_once('/'))
            .filter(|(group, _)| *group == self.group)
            .and_then(|(_, name)| self.versions.iter().find(|v| v.name == name));
        found.ok_or_else(|| {
            let supported = self
                .versions
                .iter()
                .map(|v| format!("\"{}/{}\"", self.group, v.name))
                .collect::<Vec<_>>()
                .join(", ");
            let message = match given {
                None | Some(Value::Null) => "Required value".to_owned(),
                Some(other) => format!(
                    "Unsupported value: {}: supported values: {supported}",
                    convert::quoted(other)
                ),
            };
            Violation {
                path: "apiVersion".to_owned(),
                message,
                kind: ViolationKind::Schema,
                rule: None,
            }
        })
    }

    /// Validates `object` as the API server would on create (`old` is `None`) or update (`old`
    /// is the stored object): defaults applied first, then the name and namespace, the schema,
    /// list uniqueness and, unless those found a wrong type, a missing field, an unsupported
    /// value or a too long or too large value (the API server then skips them and says so), the
    /// CEL rules. An empty list is a pass.
    pub fn validate(&self, object: &Value, old: Option<&Value>) -> Vec<Violation> {
        let version = match self.version_of(object) {
            Ok(version) => version,
            Err(violation) => return vec![violation],
        };
        let compiled = self.compiled(version);
        let mut object = object.clone();
        structural::apply_defaults(&version.schema, &mut object);
        let old = old.map(|old| {
            let mut old = old.clone();
            structural::apply_defaults(&version.schema, &mut old);
            old
        });
        let mut violations = Vec::new();
        let mut blocking = false;
        structural::metadata_violations(&object, self.namespaced, &mut violations, &mut blocking);
        match &compiled.schema {
            Ok(validator) => {
                for error in validator.iter_errors(&object) {
                    violations.extend(convert::violations(&error, &mut blocking));
                }
            }
            Err(error) => {
                blocking = true;
                violations.push(Violation {
                    path: String::new(),
                    message: format!("Internal error: the schema does not compile: {error}"),
                    kind: ViolationKind::Unevaluated,
                    rule: None,
                });
            }
        }
        structural::list_violations(&version.schema, &object, "", &mut violations);
        if !compiled.rules.any() {
            return violations;
        }
        if blocking {
            violations.push(Violation {
                path: String::new(),
                message: RULES_NOT_CHECKED.to_owned(),
                kind: ViolationKind::Unevaluated,
                rule: None,
            });
        } else {
            compiled.rules.check(&object, old.as_ref(), &mut violations);
        }
        violations
    }

    /// Applies the schema's `default`s to `object` as the API server's structural defaulting
    /// does (a missing property with a default gets it, recursively, in objects present; a
    /// `null` field that is neither `nullable` nor defaulted is dropped). An
    /// object whose `apiVersion` is not a served version of this CRD is left unchanged.
    pub fn defaults(&self, object: &mut Value) {
        if let Ok(version) = self.version_of(object) {
            structural::apply_defaults(&version.schema, object);
        }
    }
}
