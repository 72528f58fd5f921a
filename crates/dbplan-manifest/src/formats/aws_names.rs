//! The names of AWS objects: Aurora cluster and instance identifiers, snapshots, parameter and
//! subnet groups, the initial database and the master user.

use super::names::suggest_identifier;
use super::{FormatError, error};

/// The shared AWS naming rule: letters, digits and hyphens, a letter first, no trailing hyphen
/// and no two hyphens in a row. Returns every broken rule, in a sentence.
fn aws_hyphenated_name(
    text: &str,
    what: &str,
    max: usize,
    example: &str,
) -> Result<(), FormatError> {
    let mut problems = Vec::new();
    if text.is_empty() || text.len() > max {
        problems.push(format!(
            "must be 1 to {max} characters (it has {})",
            text.len()
        ));
    }
    if !text.starts_with(|c: char| c.is_ascii_alphabetic()) {
        problems.push("must start with a letter".to_owned());
    }
    if let Some(bad) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        problems.push(format!(
            "may contain only letters, digits and hyphens, not {bad:?}"
        ));
    }
    if text.ends_with('-') {
        problems.push("must not end with a hyphen".to_owned());
    }
    if text.contains("--") {
        problems.push("must not contain two consecutive hyphens".to_owned());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(error(
            format!("{text:?} is not a valid {what}: it {}", problems.join(", ")),
            format!(
                "use letters, digits and single hyphens, starting with a letter, e.g. `{example}`"
            ),
        ))
    }
}

/// An Aurora DB cluster (or instance) identifier: 1–63 letters, digits or hyphens, a letter
/// first, no trailing hyphen, no `--`. AWS stores it lowercase.
pub fn check_aurora_cluster_identifier(text: &str) -> Result<(), FormatError> {
    aws_hyphenated_name(text, "DB cluster identifier", 63, "orders-db")
}

/// A final snapshot identifier: 1–255 letters, digits or hyphens, a letter first, no trailing
/// hyphen, no `--`.
pub fn check_final_snapshot_identifier(text: &str) -> Result<(), FormatError> {
    aws_hyphenated_name(text, "snapshot identifier", 255, "orders-db-final")
}

/// A DB cluster parameter group name: 1–255 letters, digits or hyphens, a letter first, no
/// trailing hyphen, no `--`. The groups AWS creates itself are named `default.<family>` (e.g.
/// `default.aurora-postgresql16`), with a period no user-made name may have; they are accepted.
pub fn check_parameter_group_name(text: &str) -> Result<(), FormatError> {
    if let Some(family) = text.strip_prefix("default.")
        && !family.is_empty()
        && family
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Ok(());
    }
    aws_hyphenated_name(text, "parameter group name", 255, "orders-db-params")
}

/// A DB subnet group name: at most 255 letters, digits, periods, underscores, spaces or hyphens,
/// a letter first, and not `default`.
pub fn check_db_subnet_group_name(text: &str) -> Result<(), FormatError> {
    let help = "use letters, digits, periods, underscores, spaces or hyphens, starting with a letter, e.g. `orders-db-subnets`";
    if text.eq_ignore_ascii_case("default") {
        return Err(error(
            "a DB subnet group cannot be named `default`",
            "choose another name, e.g. `orders-db-subnets`",
        ));
    }
    let valid = !text.is_empty()
        && text.len() <= 255
        && text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ' ' | '-'));
    if valid {
        Ok(())
    } else {
        Err(error(
            format!("{text:?} is not a valid DB subnet group name"),
            help,
        ))
    }
}

/// The initial database of an Aurora cluster: a letter, then letters, digits or underscores;
/// at most 64 characters for MySQL engines, 63 for PostgreSQL ones.
pub fn check_aurora_database_name(text: &str, engine: &str) -> Result<(), FormatError> {
    let max = if engine.contains("mysql") { 64 } else { 63 };
    let valid = !text.is_empty()
        && text.len() <= max
        && text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(error(
            format!(
                "{text:?} is not a valid database name for {engine}: it must start with a letter and have only letters, digits and underscores, at most {max} characters"
            ),
            format!("e.g. `{}`", suggest_identifier(text)),
        ))
    }
}

/// The master user name of an Aurora cluster: 1–16 letters or digits, a letter first, and not a
/// name RDS reserves.
pub fn check_aurora_master_username(text: &str) -> Result<(), FormatError> {
    const RESERVED: [&str; 3] = ["rdsadmin", "rdsrepladmin", "rds_superuser"];
    if RESERVED.contains(&text.to_ascii_lowercase().as_str()) {
        return Err(error(
            format!("{text:?} is reserved by RDS"),
            "choose another master user name, e.g. `dbadmin`",
        ));
    }
    let valid = !text.is_empty()
        && text.len() <= 16
        && text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text.chars().all(|c| c.is_ascii_alphanumeric());
    if valid {
        Ok(())
    } else {
        Err(error(
            format!(
                "{text:?} is not a valid master user name: it must be 1 to 16 letters or digits, starting with a letter"
            ),
            "e.g. `dbadmin`",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_names() {
        assert!(check_aurora_cluster_identifier("orders-db").is_ok());
        let error = check_aurora_cluster_identifier("Orders--DB-").err();
        assert!(error.is_some_and(
            |e| e.message.contains("end with a hyphen") && e.message.contains("consecutive")
        ));
        assert!(check_aurora_cluster_identifier("1db").is_err());
        assert!(check_aurora_cluster_identifier(&"a".repeat(64)).is_err());
        assert!(check_db_subnet_group_name("default").is_err());
        assert!(check_parameter_group_name("default.aurora-postgresql16").is_ok());
        assert!(check_parameter_group_name("default.aurora-mysql8.0").is_ok());
        assert!(check_parameter_group_name("orders.params").is_err());
        assert!(check_db_subnet_group_name("orders db_subnets.v1").is_ok());
        assert!(check_aurora_database_name("orders", "aurora-postgresql").is_ok());
        assert!(check_aurora_database_name("orders-db", "aurora-postgresql").is_err());
        assert!(check_aurora_database_name(&"a".repeat(64), "aurora-mysql").is_ok());
        assert!(check_aurora_database_name(&"a".repeat(64), "aurora-postgresql").is_err());
        assert!(check_aurora_master_username("dbadmin").is_ok());
        assert!(check_aurora_master_username("9admin").is_err());
        assert!(check_aurora_master_username("rdsadmin").is_err());
        assert!(check_aurora_master_username("a_b").is_err());
    }
}
