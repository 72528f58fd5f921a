use std::fmt;
use std::str::FromStr;

/// What one object of a resource is: the whole resource, or one part of a component (an
/// `AwsRdsCluster`'s cluster, a `TenantDatabase`'s role). Addresses name a part by
/// [`Part::name`] (`Kind/name/part`); providers read it back with [`Part::of`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// A resource that is not a component.
    Whole,
    SecurityGroup,
    SubnetGroup,
    ParameterGroup,
    Cluster,
    Role,
    Database,
    ConnectionSecret,
    ScheduledBackup,
    /// A CNPG `Database` resource.
    CnpgDatabase(String),
}

impl Part {
    /// The part's name in addresses, `None` for a whole resource.
    pub fn name(&self) -> Option<String> {
        Some(match self {
            Part::Whole => return None,
            Part::SecurityGroup => "security-group".to_owned(),
            Part::SubnetGroup => "subnet-group".to_owned(),
            Part::ParameterGroup => "parameter-group".to_owned(),
            Part::Cluster => "cluster".to_owned(),
            Part::Role => "role".to_owned(),
            Part::Database => "database".to_owned(),
            Part::ConnectionSecret => "connection-secret".to_owned(),
            Part::ScheduledBackup => "scheduled-backup".to_owned(),
            Part::CnpgDatabase(name) => format!("database-{name}"),
        })
    }

    /// The part an address names (`None`: the whole resource).
    pub fn of(name: Option<&str>) -> Result<Part, ParsePartError> {
        match name {
            None => Ok(Part::Whole),
            Some(name) => name.parse(),
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(&name),
            None => f.write_str("(whole)"),
        }
    }
}

/// A part name that names no part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsePartError(pub String);

impl fmt::Display for ParsePartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown part `{}`", self.0)
    }
}

impl std::error::Error for ParsePartError {}

impl FromStr for Part {
    type Err = ParsePartError;

    /// A part's name as [`Part::name`] writes it.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Ok(match name {
            "security-group" => Part::SecurityGroup,
            "subnet-group" => Part::SubnetGroup,
            "parameter-group" => Part::ParameterGroup,
            "cluster" => Part::Cluster,
            "role" => Part::Role,
            "database" => Part::Database,
            "connection-secret" => Part::ConnectionSecret,
            "scheduled-backup" => Part::ScheduledBackup,
            other => match other.strip_prefix("database-") {
                Some(database) if !database.is_empty() => Part::CnpgDatabase(database.to_owned()),
                _ => return Err(ParsePartError(other.to_owned())),
            },
        })
    }
}

#[cfg(test)]
impl Part {
    /// One of every part (a CNPG database by example), for the tests that go over all of them.
    /// The match makes a new variant a compile error here, which brings its author to the list.
    pub(crate) fn examples() -> Vec<Part> {
        let examples = vec![
            Part::Whole,
            Part::SecurityGroup,
            Part::SubnetGroup,
            Part::ParameterGroup,
            Part::Cluster,
            Part::Role,
            Part::Database,
            Part::ConnectionSecret,
            Part::ScheduledBackup,
            Part::CnpgDatabase("app".to_owned()),
        ];
        for part in &examples {
            match part {
                Part::Whole
                | Part::SecurityGroup
                | Part::SubnetGroup
                | Part::ParameterGroup
                | Part::Cluster
                | Part::Role
                | Part::Database
                | Part::ConnectionSecret
                | Part::ScheduledBackup
                | Part::CnpgDatabase(_) => {}
            }
        }
        examples
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn part_names_read_back() {
        for part in Part::examples() {
            assert_eq!(Part::of(part.name().as_deref()).unwrap(), part);
        }
        assert!(Part::of(Some("database-")).is_err());
        assert!(Part::of(Some("instance")).is_err());
    }
}
