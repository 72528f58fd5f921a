use crate::{Kind, ParseKindError};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The address of a resource: `Kind/name`, and for the parts a component expands into,
/// `Kind/name/part` (e.g. `AwsRdsCluster/prod/subnet-group`). Written and read as that string
/// ([`fmt::Display`], [`FromStr`], serde).
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

/// Text that is not a resource address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseAddressError {
    /// Not `Kind/name` or `Kind/name/part` (a segment missing or empty).
    Shape(String),
    /// The first segment names no kind dbplan knows.
    Kind(ParseKindError),
}

impl fmt::Display for ParseAddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseAddressError::Shape(text) => write!(
                f,
                "{text:?} is not a resource address; write `Kind/name` or `Kind/name/part`, e.g. `TenantDatabase/billing/role`"
            ),
            ParseAddressError::Kind(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for ParseAddressError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ParseAddressError::Shape(_) => None,
            ParseAddressError::Kind(error) => Some(error),
        }
    }
}

impl FromStr for ResourceAddress {
    type Err = ParseAddressError;

    /// `Kind/name` or `Kind/name/part`; the kind in any spelling [`Kind`] accepts. A part may
    /// not hold another `/`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let shape = || ParseAddressError::Shape(text.to_owned());
        let mut segments = text.split('/');
        let (Some(kind), Some(name)) = (segments.next(), segments.next()) else {
            return Err(shape());
        };
        let part = segments.next();
        if kind.is_empty()
            || name.is_empty()
            || part.is_some_and(str::is_empty)
            || segments.next().is_some()
        {
            return Err(shape());
        }
        Ok(ResourceAddress {
            kind: kind.parse().map_err(ParseAddressError::Kind)?,
            name: name.to_owned(),
            part: part.map(str::to_owned),
        })
    }
}

impl Serialize for ResourceAddress {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ResourceAddress {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn addresses_round_trip_through_text_and_serde() {
        for text in ["TenantDatabase/billing", "AwsRdsCluster/prod/subnet-group"] {
            let address: ResourceAddress = text.parse().unwrap();
            assert_eq!(address.to_string(), text);
            let json = serde_json::to_string(&address).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(
                serde_json::from_str::<ResourceAddress>(&json).unwrap(),
                address
            );
        }
        let part: ResourceAddress = "TenantDatabase/billing/role".parse().unwrap();
        assert_eq!(part.kind, Kind::TenantDatabase);
        assert_eq!(part.name, "billing");
        assert_eq!(part.part.as_deref(), Some("role"));
        assert_eq!(part.root().to_string(), "TenantDatabase/billing");
    }

    #[test]
    fn what_is_not_an_address_says_why() {
        for text in [
            "",
            "TenantDatabase",
            "TenantDatabase/",
            "/x",
            "A/b/c/d",
            "K/a/",
        ] {
            let error = text.parse::<ResourceAddress>().unwrap_err();
            assert!(
                matches!(error, ParseAddressError::Shape(_)),
                "{text}: {error}"
            );
            assert!(error.to_string().contains("`Kind/name`"), "{error}");
        }
        let error = "Tenant/billing".parse::<ResourceAddress>().unwrap_err();
        assert_eq!(error.to_string(), "unknown kind `Tenant`");
        let error = serde_json::from_str::<ResourceAddress>("\"Nope/x\"").unwrap_err();
        assert!(error.to_string().contains("unknown kind `Nope`"), "{error}");
    }
}
