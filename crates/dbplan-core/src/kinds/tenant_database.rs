//! `TenantDatabase`: a component of a role, the database it owns and (when the manifest asks
//! for one) a connection secret file, on a `PostgresServer`.

use super::{SecretText, de, output, secret};
use crate::{OutputSpec, Part};
use serde::Deserialize;

pub const OUTPUTS: &[OutputSpec] = &[
    output("username"),
    secret("password"),
    output("endpoint"),
    output("port"),
    output("database"),
    secret("uri"),
];

/// No attribute holds a secret.
pub const SECRET_ATTRIBUTES: &[&str] = &[];

/// A tenant database on another server, or under another name, is another database. A role is
/// renamed in place (`ALTER ROLE … RENAME TO`): the databases it owns keep their owner, so the
/// old role never has to be dropped while it still owns them.
pub fn replaced_by(part: &Part) -> &'static [&'static str] {
    match part {
        Part::Database => &["name", "server"],
        Part::Role => &["server"],
        _ => &[],
    }
}

/// The database holds the data, and the role owns it.
pub fn holds_data(part: &Part) -> bool {
    matches!(part, Part::Database | Part::Role)
}

/// The attributes each part is planned with.
pub fn attribute_names(part: &Part) -> Option<&'static [&'static str]> {
    match part {
        Part::Role => Some(de::attribute_names::<Role>()),
        Part::Database => Some(de::attribute_names::<Database>()),
        Part::ConnectionSecret => Some(de::attribute_names::<ConnectionSecret>()),
        _ => None,
    }
}

/// The planned (or recorded) attributes of the role part.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Role {
    /// The owner's name (`owner`, else `<database>_user`).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    /// The server's address (`PostgresServer/<name>`).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub server: Option<String>,
    /// -1 (no limit) when not given.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub connection_limit: Option<i64>,
}

/// The planned (or recorded) attributes of the database part.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Database {
    /// `database_name`, else `metadata.name`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub owner: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub server: Option<String>,
    #[serde(default, deserialize_with = "de::texts")]
    pub extensions: Vec<String>,
    /// The owner's password (the role's output): a new one changes the URI output.
    #[serde(default)]
    pub owner_password: Option<SecretText>,
}

/// The planned (or recorded) attributes of the connection secret part: the file, and what it
/// holds (so that a renamed owner or database rewrites it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ConnectionSecret {
    #[serde(default)]
    pub connection_secret: Option<SecretFile>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub database: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub owner: Option<String>,
    /// The owner's password (the role's output): a new one rewrites the file.
    #[serde(default)]
    pub owner_password: Option<SecretText>,
}

/// `connection_secret`: where the secret is written, and how.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct SecretFile {
    /// Resolved against the manifest's directory.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub file: Option<String>,
    /// `env` when not given, or `json`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub format: Option<String>,
}
