pub use crate::kinds::Kind;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The API group a kind belongs to, which fixes its `apiVersion`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApiGroup {
    /// Project Planton's DigitalOcean kinds.
    PlantonDigitalOcean,
    /// Project Planton's AWS kinds.
    PlantonAws,
    /// dbplan's own kinds.
    Dbplan,
}

impl ApiGroup {
    /// The exact `apiVersion` manifests of this group must carry.
    pub fn api_version(self) -> &'static str {
        match self {
            ApiGroup::PlantonDigitalOcean => "digital-ocean.project-planton.org/v1",
            ApiGroup::PlantonAws => "aws.project-planton.org/v1",
            ApiGroup::Dbplan => "dbplan.io/v1",
        }
    }
}

/// One output of a kind that a reference (`fieldPath: status.outputs.<name>`) may point at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputSpec {
    /// The proto (snake_case) name.
    pub name: &'static str,
    /// Secret values are carried as [`crate::Value::Sensitive`] and never shown.
    pub sensitive: bool,
    /// For list outputs, the fields of each item (`status.outputs.<name>.[*].<field>`).
    pub item_fields: &'static [&'static str],
}

impl Kind {
    /// The outputs other resources may reference, as declared by the kind (in its module of
    /// [`crate::kinds`]).
    pub fn outputs(self) -> &'static [OutputSpec] {
        crate::kinds::outputs(self)
    }

    /// Whether objects of the kind are only read (as Terraform's data sources): an existing
    /// cluster dbplan never creates, changes or deletes, read by `plan` as well as `apply`.
    pub fn only_read(self) -> bool {
        matches!(
            self,
            Kind::AwsRdsClusterReference | Kind::DigitalOceanDatabaseClusterReference
        )
    }

    /// The engine a referenced cluster's outputs (as read) report, and whether it runs
    /// PostgreSQL; `None` for another kind, or when no engine is reported.
    pub fn referenced_engine(
        self,
        outputs: &std::collections::BTreeMap<String, crate::Field>,
    ) -> Option<(&str, bool)> {
        let (name, postgres): (&str, fn(&str) -> bool) = match self {
            Kind::AwsRdsClusterReference => {
                ("rds_cluster_engine", |engine| engine.contains("postgres"))
            }
            Kind::DigitalOceanDatabaseClusterReference => ("engine", |engine| engine == "pg"),
            _ => return None,
        };
        let engine = outputs.get(name)?.value.as_str()?;
        Some((engine, postgres(engine)))
    }

    /// The output with the given proto (snake_case) name.
    pub fn output(self, name: &str) -> Option<&'static OutputSpec> {
        self.outputs().iter().find(|output| output.name == name)
    }

    /// The key dbplan compares kind names by, character by character: lower case, without `-`
    /// and `_`, as Project Planton's CLI does (`KindFromString`).
    fn lookup_key(name: &str) -> impl Iterator<Item = char> + '_ {
        name.chars()
            .filter(|c| *c != '-' && *c != '_')
            .flat_map(char::to_lowercase)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Kind {
    /// The kind's name (as [`Kind::as_str`] writes it, or a spelling [`FromStr`] accepts); an
    /// unknown one is an error that names it.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// A `kind:` value that names no kind dbplan knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseKindError(pub String);

impl fmt::Display for ParseKindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown kind `{}`", self.0)
    }
}

impl std::error::Error for ParseKindError {}

impl FromStr for Kind {
    type Err = ParseKindError;

    /// Accepts the exact name and the spellings Project Planton's CLI accepts (any case, with or
    /// without `-`/`_`).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        // The exact name is by far the most common spelling (manifests, addresses, state
        // records). No two kinds share a lookup key (a test checks it), so the kind whose name
        // matches exactly is the one the key comparison would find; the comparison itself
        // allocates nothing.
        Kind::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == name)
            .or_else(|| {
                Kind::ALL
                    .iter()
                    .copied()
                    .find(|kind| Kind::lookup_key(kind.as_str()).eq(Kind::lookup_key(name)))
            })
            .ok_or_else(|| ParseKindError(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_like_planton() {
        assert_eq!("AwsRdsCluster".parse(), Ok(Kind::AwsRdsCluster));
        assert_eq!("aws-rds-cluster".parse(), Ok(Kind::AwsRdsCluster));
        assert_eq!("digital_ocean_vpc".parse(), Ok(Kind::DigitalOceanVpc));
        assert!("AwsRdsClusters".parse::<Kind>().is_err());
    }

    #[test]
    fn no_two_kinds_share_a_lookup_key() {
        for (index, kind) in Kind::ALL.iter().enumerate() {
            for other in &Kind::ALL[index + 1..] {
                assert!(
                    !Kind::lookup_key(kind.as_str()).eq(Kind::lookup_key(other.as_str())),
                    "{kind} and {other}"
                );
            }
            assert_eq!(kind.as_str().parse(), Ok(*kind));
            assert_eq!(kind.as_str().to_lowercase().parse(), Ok(*kind));
        }
    }

    #[test]
    fn every_kind_declares_outputs_with_unique_names() {
        for kind in Kind::ALL {
            let outputs = kind.outputs();
            assert!(!outputs.is_empty(), "{kind} declares no outputs");
            for (index, output) in outputs.iter().enumerate() {
                assert!(
                    outputs[index + 1..]
                        .iter()
                        .all(|other| other.name != output.name),
                    "{kind} declares `{}` twice",
                    output.name
                );
            }
        }
    }
}
