use crate::Kind;
use serde::{Serialize, Serializer};
use std::fmt;

/// The address of a resource: `Kind/name`, and for the parts a component expands into,
/// `Kind/name/part` (e.g. `AwsRdsCluster/prod/subnet-group`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceAddress {
    pub kind: Kind,
    pub name: String,
    /// The part of a component, `None` for the resource a manifest document declares.
    pub part: Option<String>,
}

impl ResourceAddress {
    pub fn new(kind: Kind, name: impl Into<String>) -> Self {
        ResourceAddress {
            kind,
            name: name.into(),
            part: None,
        }
    }

    /// The address of one part of this component.
    #[must_use]
    pub fn part(&self, part: impl Into<String>) -> Self {
        ResourceAddress {
            kind: self.kind,
            name: self.name.clone(),
            part: Some(part.into()),
        }
    }

    /// The address of the declaring document (without the part).
    #[must_use]
    pub fn root(&self) -> Self {
        ResourceAddress::new(self.kind, self.name.clone())
    }
}

impl fmt::Display for ResourceAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)?;
        if let Some(part) = &self.part {
            write!(f, "/{part}")?;
        }
        Ok(())
    }
}

impl Serialize for ResourceAddress {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
