//! Names of dbplan resources and PostgreSQL objects, and the suggestions made from a wrong one.

use super::{FormatError, error};

/// `metadata.name`: 1–253 letters, digits, `-`, `_` or `.`, since it becomes part of resource
/// addresses (`Kind/name`), file names and cloud names.
pub fn check_resource_name(text: &str) -> Result<(), FormatError> {
    let valid = !text.is_empty()
        && text.len() <= 253
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(error(
            format!(
                "{text:?} is not a valid resource name: it must be 1 to 253 letters, digits, `-`, `_` or `.`"
            ),
            format!("e.g. `{}`", suggest_kubernetes_name(text)),
        ))
    }
}

/// Names PostgreSQL or dbplan keeps for itself, as database or role names.
const RESERVED_DATABASES: [&str; 3] = ["postgres", "template0", "template1"];
const RESERVED_ROLES: [&str; 6] = [
    "postgres",
    "public",
    "current_user",
    "session_user",
    "current_role",
    "none",
];

/// A database or role name dbplan creates: 1–63 bytes (PostgreSQL's `NAMEDATALEN - 1`; longer
/// names are silently truncated), lowercase letters, digits, `_` and `-`, a letter or `_` first;
/// not a name PostgreSQL keeps (`postgres`, `template0`, `template1`, `public`, roles starting
/// with `pg_`). dbplan always quotes identifiers, but a name outside this set is almost always a
/// mistake (or an attempt at injection) and is refused before it reaches a server.
pub fn check_postgres_identifier(text: &str, what: &str) -> Result<(), FormatError> {
    let lower = text.to_ascii_lowercase();
    let reserved = if what.contains("role") {
        RESERVED_ROLES.contains(&lower.as_str()) || lower.starts_with("pg_")
    } else {
        RESERVED_DATABASES.contains(&lower.as_str())
    };
    if reserved {
        return Err(error(
            format!("{text:?} is reserved by PostgreSQL and cannot be a {what} dbplan manages"),
            format!(
                "choose another {what}, e.g. `app_{}`",
                suggest_identifier(text)
            ),
        ));
    }
    if text.is_empty() || text.len() > 63 {
        return Err(error(
            format!(
                "the {what} {text:?} is {} bytes long; PostgreSQL names are 1 to 63 bytes",
                text.len()
            ),
            format!("shorten it, e.g. `{}`", suggest_identifier(text)),
        ));
    }
    let valid = text.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(error(
            format!(
                "{text:?} is not a valid {what}: use lowercase letters, digits, `_` and `-`, starting with a letter or `_`"
            ),
            format!("e.g. `{}`", suggest_identifier(text)),
        ))
    }
}

/// A lowercase identifier made from the letters and digits of `text`, for suggestions.
pub(super) fn suggest_identifier(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    let mut out = out.trim_end_matches('_').to_owned();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "db_");
    }
    out.truncate(63);
    out
}

/// A DNS-label form of `text`, for suggestions.
pub(super) fn suggest_kubernetes_name(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(63);
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() {
        "my-resource".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_identifiers() {
        assert!(check_postgres_identifier("billing", "database name").is_ok());
        assert!(check_postgres_identifier("billing_user", "role name").is_ok());
        assert!(check_postgres_identifier("orders-db", "database name").is_ok());
        for hostile in [
            "x\"; DROP DATABASE postgres; --",
            "Billing",
            "a b",
            "1db",
            "",
        ] {
            assert!(
                check_postgres_identifier(hostile, "database name").is_err(),
                "{hostile}"
            );
        }
        assert!(check_postgres_identifier(&"a".repeat(64), "database name").is_err());
        assert!(check_postgres_identifier(&"a".repeat(63), "database name").is_ok());
        for reserved in ["postgres", "template0", "template1"] {
            assert!(check_postgres_identifier(reserved, "database name").is_err());
        }
        for reserved in ["postgres", "public", "pg_monitor"] {
            assert!(check_postgres_identifier(reserved, "role name").is_err());
        }
        assert!(check_resource_name("prod-postgres").is_ok());
        assert!(check_resource_name("a/b").is_err());
        assert!(check_resource_name("").is_err());
    }
}
