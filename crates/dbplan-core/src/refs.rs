//! Value-or-reference fields and secret fields.
//!
//! A field that Project Planton types `StringValueOrRef` accepts a literal (`{value: x}` or, as a
//! dbplan extension, a bare scalar) or a reference to another resource's output
//! (`{valueFrom: {kind, name, fieldPath, env}}`, also `value_from`/`field_path`, the seed
//! documents' `{ref: {kind, name, field_path}}`, and the resource form `{kind, name, fieldPath}`).
//! Each field declares the kind and output an omitted `kind`/`fieldPath` stands for
//! ([`RefTarget`]). The JSON Schema of these types carries an `x-dbplan-ref` annotation that the
//! loader uses to collect every reference with its span.
//!
//! A field that points at a whole resource ([`ResourceRef`], a tenant database's `server`)
//! accepts the same reference forms without a `fieldPath` — a bare name, `{kind, name}`,
//! `{valueFrom: {kind, name}}` and `{ref: {kind, name}}` — and carries `x-dbplan-resource-ref`.
//! The loader's walk maps every form to one internal shape (see `schema::Walker`): `{valueFrom}`
//! for a value-or-reference field, `{kind, name}` for a resource field.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value as Json;
use std::borrow::Cow;
use std::marker::PhantomData;

/// What an omitted `kind` and `fieldPath` of a reference in a field stand for.
pub trait RefTarget {
    /// Type name used in the JSON Schema.
    const NAME: &'static str;
    /// The kind an omitted `kind` means; `None` when the field has no default kind.
    const DEFAULT_KIND: Option<&'static str>;
    /// The field path an omitted `fieldPath` means.
    const DEFAULT_FIELD_PATH: Option<&'static str>;
}

macro_rules! ref_targets {
    ($($name:ident => $kind:expr, $path:expr;)*) => {$(
        #[doc = concat!("Reference target `", stringify!($name), "`.")]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name;

        impl RefTarget for $name {
            const NAME: &'static str = stringify!($name);
            const DEFAULT_KIND: Option<&'static str> = $kind;
            const DEFAULT_FIELD_PATH: Option<&'static str> = $path;
        }
    )*};
}

ref_targets! {
    DigitalOceanVpcId => Some("DigitalOceanVpc"), Some("status.outputs.vpc_id");
    DigitalOceanClusterId => Some("DigitalOceanDatabaseCluster"), Some("status.outputs.cluster_id");
    AwsVpcId => Some("AwsVpc"), Some("status.outputs.vpc_id");
    AwsPrivateSubnetIds => Some("AwsVpc"), Some("status.outputs.private_subnets.[*].id");
    AwsSecurityGroupId => Some("AwsSecurityGroup"), Some("status.outputs.security_group_id");
    AwsKmsKeyArn => Some("AwsKmsKey"), Some("status.outputs.key_arn");
    AwsRdsClusterId => Some("AwsRdsCluster"), Some("status.outputs.rds_cluster_id");
    NoDefault => None, None;
}

/// The forms a value-or-reference field accepts, for the help of an error about a wrong form.
pub const VALUE_OR_REF_FORMS: &str = "this field takes a literal (`x` or `{value: x}`) or a reference: `{valueFrom: {kind: K, name: N, fieldPath: F}}` (also spelt `value_from`, `field_path`), `{ref: {kind: K, name: N, fieldPath: F}}` or `{kind: K, name: N, fieldPath: F}`; `kind` and `fieldPath` may be left out where the field has defaults (`dbplan schema` names them)";

/// The forms a resource field (one that points at a whole resource) accepts, for the help of an
/// error about a wrong form.
pub const RESOURCE_REF_FORMS: &str = "this field names a resource: a bare name `N` (of the field's default kind), `{kind: K, name: N}`, `{valueFrom: {kind: K, name: N}}` (also spelt `value_from`) or `{ref: {kind: K, name: N}}`; it points at the whole resource, so no `fieldPath`";

/// A reference to another resource's output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// The referenced kind; the field's default kind when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Environment of the referenced resource (Project Planton); informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// `metadata.name` of the referenced resource.
    pub name: String,
    /// Dotted path into the referenced resource, e.g. `status.outputs.vpc_id`; the field's
    /// default when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_path: Option<String>,
}

/// A literal value or a reference to another resource's output.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueOrRef<T> {
    Value(String),
    Ref(Reference, PhantomData<T>),
}

impl<T> ValueOrRef<T> {
    /// The literal value, if this is not a reference.
    pub fn literal(&self) -> Option<&str> {
        match self {
            ValueOrRef::Value(value) => Some(value),
            ValueOrRef::Ref(..) => None,
        }
    }

    pub fn reference(&self) -> Option<&Reference> {
        match self {
            ValueOrRef::Ref(reference, _) => Some(reference),
            ValueOrRef::Value(_) => None,
        }
    }
}

/// Turns a scalar into its text form: a bare `5432` is the literal "5432".
fn scalar_text(value: &Json) -> Option<String> {
    match value {
        Json::String(text) => Some(text.clone()),
        Json::Number(number) => Some(number.to_string()),
        Json::Bool(value) => Some(value.to_string()),
        _ => None,
    }
}

impl<'de, T> Deserialize<'de> for ValueOrRef<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = Json::deserialize(deserializer)?;
        if let Some(text) = scalar_text(&value) {
            return Ok(ValueOrRef::Value(text));
        }
        let Json::Object(map) = value else {
            return Err(D::Error::custom("expected a value or a reference"));
        };
        if map.contains_key("name") {
            // The resource form `{kind, name, field_path}`: the same reference as `value_from`.
            return serde_json::from_value(Json::Object(map))
                .map(|reference| ValueOrRef::Ref(reference, PhantomData))
                .map_err(D::Error::custom);
        }
        if map.len() != 1 {
            return Err(D::Error::custom(
                "expected exactly one of `value`, `value_from` or `ref`",
            ));
        }
        let Some((key, inner)) = map.into_iter().next() else {
            return Err(D::Error::custom("expected a value or a reference"));
        };
        match key.as_str() {
            "value" => scalar_text(&inner)
                .map(ValueOrRef::Value)
                .ok_or_else(|| D::Error::custom("`value` must be a scalar")),
            "value_from" | "ref" => serde_json::from_value(inner)
                .map(|reference| ValueOrRef::Ref(reference, PhantomData))
                .map_err(D::Error::custom),
            other => Err(D::Error::custom(format!("unexpected key `{other}`"))),
        }
    }
}

impl<T> Serialize for ValueOrRef<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            ValueOrRef::Value(value) => map.serialize_entry("value", value)?,
            ValueOrRef::Ref(reference, _) => map.serialize_entry("value_from", reference)?,
        }
        map.end()
    }
}

/// The schema of a reference object, with `additionalProperties: false` so that the loader can
/// report unknown keys inside a reference.
fn reference_schema(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<Reference>()
}

impl<T: RefTarget> JsonSchema for ValueOrRef<T> {
    fn schema_name() -> Cow<'static, str> {
        Cow::Owned(format!("ValueOrRef{}", T::NAME))
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let reference = reference_schema(generator);
        let description = match (T::DEFAULT_KIND, T::DEFAULT_FIELD_PATH) {
            (Some(kind), Some(path)) => format!(
                "A literal value (`x`, `{{value: x}}`) or a reference to another resource's output (`{{valueFrom: {{kind, name, fieldPath}}}}`, `{{ref: {{…}}}}` or `{{kind, name, fieldPath}}`); an omitted kind means `{kind}`, an omitted fieldPath `{path}`."
            ),
            _ => "A literal value (`x`, `{value: x}`) or a reference (`{valueFrom: {kind, name, fieldPath}}`, `{ref: {…}}` or `{kind, name, fieldPath}`; kind and fieldPath required).".to_owned(),
        };
        json_schema!({
            "description": description,
            "x-dbplan-ref": {
                "defaultKind": T::DEFAULT_KIND,
                "defaultFieldPath": T::DEFAULT_FIELD_PATH,
            },
            "anyOf": [
                {"type": ["string", "number", "boolean"]},
                {
                    "type": "object",
                    "properties": {"value": {"type": ["string", "number", "boolean"]}},
                    "required": ["value"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "properties": {"value_from": reference},
                    "required": ["value_from"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "properties": {"ref": reference},
                    "required": ["ref"],
                    "additionalProperties": false
                },
                reference
            ]
        })
    }
}

/// A secret: a literal (which a policy flags) or `{secretEnv: NAME}`, read from the environment
/// at plan/apply time. Neither form is ever printed.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum SecretValue {
    /// The name of an environment variable that holds the secret.
    Env {
        /// Environment variable to read the secret from.
        secret_env: String,
    },
    /// A literal secret in the manifest (discouraged).
    Literal(String),
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretValue::Env { secret_env } => write!(f, "SecretValue::Env({secret_env})"),
            SecretValue::Literal(_) => f.write_str("SecretValue::Literal((sensitive))"),
        }
    }
}

/// A secret that may only come from the environment (`{secretEnv: NAME}`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretEnv {
    /// Environment variable to read the secret from.
    pub secret_env: String,
}

/// A reference to a whole resource (not to one of its outputs): a bare `name` (of the field's
/// default kind) or `{kind, name}`. The loader also accepts `{valueFrom: {kind, name}}` and
/// `{ref: {kind, name}}` and hands them over as `{kind, name}` (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ResourceRef {
    Name(String),
    Full {
        /// The referenced kind; the field's default kind when omitted.
        #[serde(default)]
        kind: Option<String>,
        /// Environment of the referenced resource (Project Planton); informational.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        env: Option<String>,
        /// `metadata.name` of the referenced resource.
        name: String,
    },
}

// Only the JSON Schema of this type is used: the loader reads the forms into `ResourceRef`.
/// The resource a reference names: `{kind, name}`, alone or inside `valueFrom`/`ref`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ResourceTarget {
    /// The referenced kind; the field's default kind when omitted.
    #[serde(default)]
    kind: Option<String>,
    /// Environment of the referenced resource (Project Planton); informational.
    #[serde(default)]
    env: Option<String>,
    /// `metadata.name` of the referenced resource.
    name: String,
}

impl JsonSchema for ResourceRef {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("ResourceRef")
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let target = generator.subschema_for::<ResourceTarget>();
        json_schema!({
            "description": "A reference to a whole resource (not to one of its outputs): a bare name (of the field's default kind), `{kind, name}`, `{valueFrom: {kind, name}}` or `{ref: {kind, name}}`.",
            "x-dbplan-resource-ref": true,
            "anyOf": [
                {"type": "string"},
                target,
                {
                    "type": "object",
                    "properties": {"value_from": target},
                    "required": ["value_from"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "properties": {"ref": target},
                    "required": ["ref"],
                    "additionalProperties": false
                }
            ]
        })
    }
}
